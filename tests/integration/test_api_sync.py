#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The sync engine's API against the real service: GET /v1/providers lists a
configured provider whose type has no connector (yet) as such; outbox rows a
work-order create writes for a provider show in GET /v1/outbox; a dead
letter (made with sqlite3 in the service's database) is listed with its
class, error and owner action, and POST /v1/dead-letters:replay (audited)
puts it back to pending; sync state and sync log rows show; scopes; another
tenant sees nothing and cannot replay."""
import os
import sqlite3
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run  # noqa: E402

CONFIG = """
tenants:
  plant-a:
    providers:
      sap_pm:
        # a provider type without a connector in this build
        type: maximo
        base_url: http://127.0.0.1:9/api
        mode:
          work_orders: write_back
        entities:
          asset: {interval: 1h}
  plant-b:
    providers: {}
"""


class SyncApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ab-sync-")
        cfg = os.path.join(cls.tmp, "assetbridge.yaml")
        with open(cfg, "w") as f:
            f.write(CONFIG)
        cls.s = Service(config=cfg).start()
        cls.read = cls.key("plant-a", "read")
        cls.write = cls.key("plant-a", "write")
        cls.admin = cls.key("plant-a", "admin")
        cls.other = cls.key("plant-b", "admin")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    @classmethod
    def key(cls, tenant, scopes):
        p = run("apikey", "create", "--data-dir", cls.s.data_dir, "--tenant", tenant, "--scopes", scopes)
        assert p.returncode == 0, p.stderr
        return p.stdout.rstrip("\n").splitlines()[-1]

    def call(self, key, method, path, body=None):
        return self.s.request(method, path, body=body, headers={"Authorization": "Bearer " + key})

    def db(self, sql, args=()):
        con = sqlite3.connect(os.path.join(self.s.data_dir, "assetbridge.db"))
        try:
            rows = con.execute(sql, args).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def make_outbox_row(self, serial):
        st, _, b = self.call(self.write, "PUT", "/v1/assets/" + serial,
                             {"name": "press", "type": "fixture", "site": "plant-a", "serial_number": serial})
        self.assertIn(st, (200, 201), b)
        st, _, wo = self.call(self.write, "POST", "/v1/work-orders",
                              {"asset_ref": serial, "type": "corrective", "provider_id": "sap_pm",
                               "source_work_order_id": "SRC-" + serial})
        self.assertEqual(st, 201, wo)
        rows = self.db("SELECT id FROM outbox WHERE tenant = 'plant-a' AND subject = ?",
                       ("work-order/" + wo["common_work_order_id"],))
        self.assertEqual(len(rows), 1)
        return rows[0][0]

    def test_providers_without_connector(self):
        st, _, b = self.call(self.read, "GET", "/v1/providers")
        self.assertEqual(st, 200, b)
        self.assertEqual(len(b["items"]), 1)
        p = b["items"][0]
        self.assertEqual((p["name"], p["type"], p["connector"]), ("sap_pm", "maximo", False))
        self.assertIsNone(p["breaker"])
        self.assertEqual(p["modes"]["work_orders"], "write_back")
        self.assertEqual(p["modes"]["asset_master"], "read_only")
        self.assertIsNone(p["lag_seconds"])
        self.assertIn("queue_depth", p)
        self.assertEqual(p["severity"], {"asset": "plant_critical"})
        self.assertEqual(p["refused"], 0)
        self.assertNotIn("deliveries", p)  # counted only where a connector runs
        st, _, b = self.call(self.other, "GET", "/v1/providers")
        self.assertEqual((st, b["items"]), (200, []))

    def test_sync_metrics(self):
        self.make_outbox_row("SN-SYNC-M")
        st, _, text = self.s.request("GET", "/metrics")
        self.assertEqual(st, 200, text)
        self.assertIn('assetbridge_sync_queue_depth{tenant="plant-a",provider="sap_pm"} ', text)
        self.assertIn('assetbridge_sync_dead_letters{tenant="plant-a",provider="sap_pm"} ', text)
        self.assertIn("# TYPE assetbridge_sync_deliveries_total counter", text)
        # the work order's item is queued under the provider's name here
        depth = [line for line in text.splitlines()
                 if line.startswith('assetbridge_sync_queue_depth{tenant="plant-a"')]
        self.assertEqual(len(depth), 1, depth)
        self.assertGreaterEqual(int(depth[0].rsplit(" ", 1)[1]), 1)

    def test_outbox_dead_letter_and_replay(self):
        oid = self.make_outbox_row("SN-SYNC-1")
        st, _, b = self.call(self.read, "GET", "/v1/outbox")
        self.assertEqual(st, 200, b)
        mine = [x for x in b["items"] if x["id"] == oid]
        self.assertEqual(len(mine), 1, b)
        self.assertEqual((mine[0]["state"], mine[0]["provider"], mine[0]["entity"]),
                         ("pending", "sap_pm", "work_order"))
        st, _, b = self.call(self.read, "GET", "/v1/providers")
        self.assertGreaterEqual(b["items"][0]["queue_depth"], 1)
        st, _, b = self.call(self.read, "GET", "/v1/outbox?state=nonsense")
        self.assertEqual(st, 422, b)
        self.assertEqual(b["error"]["field"], "state")

        # make it a dead letter behind the service's back
        now = int(time.time() * 1000)
        self.db("UPDATE outbox SET state = 'dead', error_class = 'validation', last_error = 'no such equipment',"
                " owner_action = 'fix the equipment number and replay', last_response = '{\"e\":1}',"
                " dead_at = ?, attempts = 3 WHERE id = ?", (now, oid))
        st, _, b = self.call(self.read, "GET", "/v1/outbox?state=dead")
        self.assertIn(oid, [x["id"] for x in b["items"]])
        st, _, b = self.call(self.read, "GET", "/v1/dead-letters")
        self.assertEqual(st, 200, b)
        d = [x for x in b["items"] if x["id"] == oid]
        self.assertEqual(len(d), 1, b)
        self.assertEqual((d[0]["error_class"], d[0]["last_error"], d[0]["owner_action"], d[0]["response"]),
                         ("validation", "no such equipment", "fix the equipment number and replay", '{"e":1}'))
        self.assertIsNotNone(d[0]["dead_at"])
        st, _, b = self.call(self.read, "GET", "/v1/dead-letters?error_class=auth")
        self.assertEqual([x["id"] for x in b["items"]], [])

        # scopes: replay needs admin
        st, _, b = self.call(self.write, "POST", "/v1/dead-letters:replay", {"id": oid})
        self.assertEqual(st, 403, b)
        # another tenant cannot replay it
        st, _, b = self.call(self.other, "POST", "/v1/dead-letters:replay", {"id": oid})
        self.assertEqual(st, 404, b)
        st, _, b = self.call(self.other, "POST", "/v1/dead-letters:replay", {})
        self.assertEqual((st, b["replayed"]), (200, 0))
        self.assertEqual(self.db("SELECT state FROM outbox WHERE id = ?", (oid,)), [("dead",)])
        # bad bodies
        st, _, b = self.call(self.admin, "POST", "/v1/dead-letters:replay", {"id": "x"})
        self.assertEqual(st, 400, b)
        st, _, b = self.call(self.admin, "POST", "/v1/dead-letters:replay", {"id": oid, "provider": "sap_pm"})
        self.assertEqual(st, 422, b)
        st, _, b = self.call(self.admin, "POST", "/v1/dead-letters:replay", {"bogus": 1})
        self.assertEqual(st, 422, b)

        st, _, b = self.call(self.admin, "POST", "/v1/dead-letters:replay", {"id": oid})
        self.assertEqual((st, b), (200, {"replayed": 1}))
        self.assertEqual(self.db("SELECT state, attempts FROM outbox WHERE id = ?", (oid,)), [("pending", 0)])
        st, _, b = self.call(self.admin, "POST", "/v1/dead-letters:replay", {"id": oid})
        self.assertEqual(st, 404, b)
        self.assertEqual(self.db("SELECT COUNT(*) FROM audit WHERE tenant = 'plant-a' AND action = 'outbox.replay'"
                                 " AND subject = ?", ("outbox/%d" % oid,)), [(1,)])

        # by filter
        oid2 = self.make_outbox_row("SN-SYNC-2")
        self.db("UPDATE outbox SET state = 'dead', error_class = 'auth', dead_at = ? WHERE id = ?", (now, oid2))
        st, _, b = self.call(self.admin, "POST", "/v1/dead-letters:replay",
                             {"provider": "sap_pm", "error_class": "validation"})
        self.assertEqual((st, b["replayed"]), (200, 0))
        st, _, b = self.call(self.admin, "POST", "/v1/dead-letters:replay",
                             {"provider": "sap_pm", "error_class": "auth"})
        self.assertEqual((st, b["replayed"]), (200, 1))
        self.assertEqual(self.db("SELECT state FROM outbox WHERE id = ?", (oid2,)), [("pending",)])

        # tenant B sees nothing of A's outbox
        for path in ("/v1/outbox", "/v1/outbox?state=dead", "/v1/dead-letters"):
            st, _, b = self.call(self.other, "GET", path)
            self.assertEqual((st, b["items"]), (200, []), path)

    def test_sync_state_and_logs(self):
        now = int(time.time() * 1000)
        self.db("INSERT INTO sync_state(tenant, provider, entity, watermark, last_success_at, pulled)"
                " VALUES ('plant-a', 'sap_pm', 'asset', 'wm-7', ?, 12)", (now - 5000,))
        for i in range(3):
            self.db("INSERT INTO sync_log(tenant, provider, entity, level, message, at)"
                    " VALUES ('plant-a', 'sap_pm', 'asset', 'error', ?, ?)", ("line %d" % i, now))
        st, _, b = self.call(self.read, "GET", "/v1/sync-state")
        self.assertEqual(st, 200, b)
        self.assertEqual([(x["provider"], x["entity"], x["watermark"], x["pulled"]) for x in b["items"]],
                         [("sap_pm", "asset", "wm-7", 12)])
        st, _, b = self.call(self.read, "GET", "/v1/providers")
        self.assertGreaterEqual(b["items"][0]["lag_seconds"], 4)
        # newest first, paged
        st, _, b = self.call(self.read, "GET", "/v1/sync-logs?limit=2")
        self.assertEqual(st, 200, b)
        self.assertEqual([x["message"] for x in b["items"]], ["line 2", "line 1"])
        self.assertIsNotNone(b["next_cursor"])
        st, _, b = self.call(self.read, "GET", "/v1/sync-logs?limit=2&cursor=" + b["next_cursor"])
        self.assertEqual([x["message"] for x in b["items"]], ["line 0"])
        self.assertIsNone(b["next_cursor"])
        st, _, b = self.call(self.read, "GET", "/v1/sync-logs?cursor=!!")
        self.assertEqual(st, 422, b)
        for path in ("/v1/sync-state", "/v1/sync-logs"):
            st, _, b = self.call(self.other, "GET", path)
            self.assertEqual((st, b["items"]), (200, []), path)
        # no key: 401
        st, _, b = self.s.request("GET", "/v1/sync-state")
        self.assertEqual(st, 401, b)


if __name__ == "__main__":
    unittest.main(verbosity=2)
