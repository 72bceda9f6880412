#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""REST API v1: assets (PUT with ETag / If-Match, merge, list, filters and
paging, detail with links and meters, :move, :retire, lookup, links),
reference resolution, scopes and tenant isolation, mapping exceptions
(held changes written into the database, resolved through the API and the
`assetbridge exceptions` CLI) and the audit query, against the real binary."""
import json
import os
import re
import sqlite3
import sys
import time
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run  # noqa: E402


def q(s):
    return urllib.parse.quote(s, safe="")


class AssetsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Service().start()
        cls.write_a, cls.write_a_id = cls.key("plant-a", "write")
        cls.read_a, cls.read_a_id = cls.key("plant-a", "read")
        cls.ingest_a, _ = cls.key("plant-a", "ingest")
        cls.write_b, _ = cls.key("plant-b", "write")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    @classmethod
    def key(cls, tenant, scopes):
        p = run("apikey", "create", "--data-dir", cls.s.data_dir, "--tenant", tenant, "--scopes", scopes)
        assert p.returncode == 0, p.stderr
        key = p.stdout.rstrip("\n").splitlines()[-1]
        key_id = re.search(r"created API key (\S+)", p.stdout).group(1)
        return key, key_id

    def req(self, method, path, body=None, key=None, headers=None):
        h = dict(headers or {})
        k = key if key is not None else self.write_a
        if k:
            h["Authorization"] = "Bearer " + k
        return self.s.request(method, path, body=body, headers=h)

    def put(self, ref, body, key=None, headers=None):
        return self.req("PUT", "/v1/assets/" + q(ref), body, key=key, headers=headers)

    def assertError(self, resp, status, cls=None, field=None):
        st, _, body = resp
        self.assertEqual(st, status, body)
        self.assertIsInstance(body, dict, body)
        self.assertIn("error", body)
        if cls:
            self.assertEqual(body["error"]["class"], cls, body)
        if field:
            self.assertEqual(body["error"]["field"], field, body)
        self.assertTrue(body["error"]["correlation_id"])
        return body["error"]

    def db(self):
        return sqlite3.connect(os.path.join(self.s.data_dir, "assetbridge.db"), timeout=30)

    # ---- PUT -----------------------------------------------------------------

    def test_put_create_update_noop_etag(self):
        st, h, b = self.put("FX-PUT-1", {"name": "ICT fixture 7", "type": "fixture", "site": "plant-1",
                                         "serial_number": "SN-PUT-1"})
        self.assertEqual(st, 201, b)
        self.assertEqual(b["revision"], 1)
        self.assertEqual(b["asset_ref"], "FX-PUT-1")
        self.assertEqual(b["type"], "fixture")
        self.assertEqual(h["etag"], '"1"')
        # same body again: no-op, same revision
        st, h, b = self.put("FX-PUT-1", {"name": "ICT fixture 7", "type": "fixture"})
        self.assertEqual(st, 200, b)
        self.assertEqual(b["revision"], 1)
        self.assertEqual(h["etag"], '"1"')
        # change
        st, h, b = self.put("FX-PUT-1", {"name": "ICT fixture 7b"})
        self.assertEqual(st, 200, b)
        self.assertEqual(b["revision"], 2)
        self.assertEqual(h["etag"], '"2"')
        # stale If-Match -> 412; current -> 200
        self.assertError(self.put("FX-PUT-1", {"name": "x"}, headers={"If-Match": '"1"'}), 412, "conflict")
        self.assertError(self.put("FX-PUT-1", {"name": "x"}, headers={"If-Match": 'garbage'}), 412, "conflict")
        st, h, b = self.put("FX-PUT-1", {"name": "ICT fixture 7c"}, headers={"If-Match": '"2"'})
        self.assertEqual(st, 200, b)
        self.assertEqual(h["etag"], '"3"')
        self.assertEqual(b["name"], "ICT fixture 7c")
        # If-Match: * means it must exist
        st, _, b = self.put("FX-PUT-1", {"owner_org": "ops"}, headers={"If-Match": "*"})
        self.assertEqual(st, 200, b)
        self.assertError(self.put("FX-PUT-NEW", {"name": "n"}, headers={"If-Match": "*"}), 404, "not_found")
        st, h, b = self.req("GET", "/v1/assets/FX-PUT-1")
        self.assertEqual(st, 200)
        self.assertEqual(h["etag"], '"4"')

    def test_put_merge_and_null_clears(self):
        st, _, b = self.put("FX-MERGE", {"name": "M", "type": "tool", "site": "plant-2", "owner_org": "qa",
                                         "attributes": {"a": 1, "b": "x"}})
        self.assertEqual(st, 201, b)
        st, _, b = self.put("FX-MERGE", {"owner_org": None, "attributes": {"a": None, "c": True}})
        self.assertEqual(st, 200, b)
        self.assertEqual(b["name"], "M")
        self.assertEqual(b["type"], "tool")
        self.assertEqual(b["site"], "plant-2")
        self.assertNotIn("owner_org", b)
        self.assertEqual(b["attributes"], {"b": "x", "c": True})

    def test_get_edit_put_round_trip(self):
        st, h, b = self.put("FX-ROUND", {"name": "R", "type": "fixture", "site": "plant-1"})
        self.assertEqual(st, 201, b)
        st, h, detail = self.req("GET", "/v1/assets/FX-ROUND")
        self.assertEqual(st, 200)
        self.assertIn("links", detail)  # read-only parts of the detail view
        detail["name"] = "R2"
        st, h2, b = self.put("FX-ROUND", detail, headers={"If-Match": h["etag"]})
        self.assertEqual(st, 200, b)
        self.assertEqual(b["name"], "R2")
        self.assertEqual(b["revision"], 2)

    def test_put_validation(self):
        self.assertError(self.put("FX-VAL", {"type": "spaceship"}), 422, "validation", "type")
        self.assertError(self.put("FX-VAL", {"name": 5}), 400, "validation", "name")
        self.assertError(self.put("FX-VAL", "{not json"), 400, "validation")
        self.assertError(self.put("bad ref!", {"name": "x"}), 422, "validation", "asset_ref")
        self.assertError(self.put("x" * 65, {"name": "x"}), 422, "validation", "asset_ref")
        self.assertError(self.put("FX-VAL", {"parent": "NO-SUCH-PARENT"}), 422, "validation", "parent")
        self.assertError(self.put("FX-VAL", {"asset_ref": "OTHER"}), 422, "validation")
        st, _, _ = self.req("GET", "/v1/assets/FX-VAL")
        self.assertEqual(st, 404)

    def test_serial_collision(self):
        self.assertEqual(self.put("FX-SER-1", {"serial_number": "SN-COLL"})[0], 201)
        err = self.assertError(self.put("FX-SER-2", {"serial_number": "SN-COLL"}), 409, "conflict", "serial_number")
        self.assertIn("FX-SER-1", err["message"])

    # ---- list ----------------------------------------------------------------

    def test_list_filters_and_paging(self):
        key, _ = self.key("plant-list", "write")
        for i in range(250):
            body = {"type": "fixture" if i % 2 else "station", "site": "s%d" % (i % 3)}
            if i % 5 == 0:
                body["status"] = "in_repair"
            st, _, b = self.put("L-%03d" % i, body, key=key)
            self.assertEqual(st, 201, b)
        seen, cursor, pages = [], None, 0
        while True:
            path = "/v1/assets?limit=100" + ("&cursor=" + cursor if cursor else "")
            st, _, b = self.req("GET", path, key=key)
            self.assertEqual(st, 200, b)
            pages += 1
            self.assertLessEqual(len(b["items"]), 100)
            seen += [a["asset_ref"] for a in b["items"]]
            cursor = b["next_cursor"]
            if not cursor:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), 250)
        self.assertEqual(len(set(seen)), 250)
        self.assertEqual(seen, sorted(seen))
        st, _, b = self.req("GET", "/v1/assets?site=s1&type=fixture&limit=1000", key=key)
        self.assertEqual(st, 200)
        expect = sorted("L-%03d" % i for i in range(250) if i % 3 == 1 and i % 2)
        self.assertEqual([a["asset_ref"] for a in b["items"]], expect)
        self.assertIsNone(b["next_cursor"])
        st, _, b = self.req("GET", "/v1/assets?status=in_repair&limit=1000", key=key)
        self.assertEqual(len(b["items"]), 50)
        self.assertTrue(all(a["status"] == "in_repair" for a in b["items"]))
        # provider filter: only linked assets
        st, _, _ = self.req("POST", "/v1/assets/L-007/links", {"provider": "sap_pm", "native_id": "L7"}, key=key)
        self.assertEqual(st, 201)
        st, _, b = self.req("GET", "/v1/assets?provider=sap_pm", key=key)
        self.assertEqual([a["asset_ref"] for a in b["items"]], ["L-007"])
        st, _, b = self.req("GET", "/v1/assets?calibration_due_before=2030-01-01T00:00:00Z", key=key)
        self.assertEqual((st, b["items"]), (200, []))
        self.assertError(self.req("GET", "/v1/assets?type=spaceship", key=key), 422, "validation", "type")
        self.assertError(self.req("GET", "/v1/assets?calibration_due_before=soon", key=key), 422,
                         "validation", "calibration_due_before")
        self.assertError(self.req("GET", "/v1/assets?limit=0", key=key), 422, "validation", "limit")
        self.assertError(self.req("GET", "/v1/assets?cursor=%25%25", key=key), 422, "validation", "cursor")

    # ---- detail, links, lookup, resolution -------------------------------------

    def test_detail_links_meters_lookup(self):
        self.assertEqual(self.put("FX-DET", {"serial_number": "SN-DET", "name": "D"})[0], 201)
        st, _, b = self.req("POST", "/v1/assets/FX-DET/links", {"provider": "sap_pm", "native_id": "10000042"})
        self.assertEqual(st, 201, b)
        self.assertEqual(b["asset_ref"], "FX-DET")
        st, _, b = self.req("POST", "/v1/assets/FX-DET/links", {"provider": "sap_pm", "native_id": "10000042"})
        self.assertEqual(st, 200, b)  # same asset: no-op
        self.assertEqual(self.put("FX-DET-2", {"name": "other"})[0], 201)
        err = self.assertError(self.req("POST", "/v1/assets/FX-DET-2/links",
                                        {"provider": "sap_pm", "native_id": "10000042"}), 409, "conflict")
        self.assertIn("FX-DET", err["message"])
        self.assertError(self.req("POST", "/v1/assets/FX-DET/links", {"provider": "sap_pm"}), 422,
                         "validation", "native_id")
        self.assertError(self.req("POST", "/v1/assets/FX-DET/links", {"provider": 1, "native_id": "x"}), 400)
        # a meter through the store (readings API may not be there): insert directly
        con = self.db()
        now = int(time.time() * 1000)
        con.execute("INSERT INTO meters(tenant, asset_ref, type, unit, kind, value, reading_count, created_at,"
                    " updated_at) VALUES ('plant-a', 'FX-DET', 'cycles', '', 'counter', 42.0, 3, ?, ?)", (now, now))
        con.commit()
        con.close()
        for ref in ("FX-DET", "SN-DET", "sap_pm:10000042"):
            st, h, b = self.req("GET", "/v1/assets/" + q(ref), key=self.read_a)
            self.assertEqual(st, 200, (ref, b))
            self.assertEqual(b["asset_ref"], "FX-DET")
            self.assertEqual(h["etag"], '"%d"' % b["revision"])
            self.assertEqual([(l["provider"], l["native_id"]) for l in b["links"]], [("sap_pm", "10000042")])
            self.assertTrue(b["links"][0]["linked_at"].endswith("Z"))
            self.assertEqual(len(b["meters"]), 1)
            self.assertEqual(b["meters"][0]["meter_type"], "cycles")
            self.assertEqual(b["meters"][0]["value"], 42.0)
            self.assertIsNone(b["calibration"])
            self.assertEqual(b["plans"], [])
            self.assertEqual(b["open_work_orders"], [])
        st, _, b = self.req("GET", "/v1/assets:lookup?provider=sap_pm&native_id=10000042", key=self.read_a)
        self.assertEqual((st, b["asset_ref"]), (200, "FX-DET"))
        self.assertError(self.req("GET", "/v1/assets:lookup?provider=sap_pm&native_id=nope"), 404, "not_found")
        self.assertError(self.req("GET", "/v1/assets:lookup?provider=sap_pm"), 422, "validation", "native_id")
        self.assertError(self.req("GET", "/v1/assets:lookup?native_id=1"), 422, "validation", "provider")
        # unlink
        st, _, _ = self.req("DELETE", "/v1/assets/FX-DET/links/sap_pm/10000042")
        self.assertEqual(st, 204)
        self.assertError(self.req("DELETE", "/v1/assets/FX-DET/links/sap_pm/10000042"), 404, "not_found")
        self.assertError(self.req("GET", "/v1/assets:lookup?provider=sap_pm&native_id=10000042"), 404)
        self.assertError(self.req("GET", "/v1/assets/NOPE-NOPE"), 404, "not_found")

    def test_ambiguous_reference(self):
        # two assets with the same serial number can only come from a person's
        # decision (shared serial); make the second directly in the database
        self.assertEqual(self.put("FX-AMB-1", {"serial_number": "SN-AMB"})[0], 201)
        self.assertEqual(self.put("FX-AMB-2", {"name": "two"})[0], 201)
        con = self.db()
        con.execute("UPDATE assets SET serial_number = 'SN-AMB' WHERE tenant = 'plant-a' AND asset_ref = 'FX-AMB-2'")
        con.commit()
        con.close()
        err = self.assertError(self.req("GET", "/v1/assets/SN-AMB"), 422, "identity")
        self.assertIn("FX-AMB-1", err["message"])
        self.assertIn("FX-AMB-2", err["message"])

    # ---- move, retire, audit ---------------------------------------------------

    def test_move_retire_and_audit(self):
        self.assertEqual(self.put("ST-PARENT", {"type": "station", "site": "plant-9"})[0], 201)
        self.assertEqual(self.put("FX-MOVE", {"site": "plant-1", "serial_number": "SN-MOVE",
                                              "location": {"line": "L1", "cell": "C1"}})[0], 201)
        self.assertEqual(self.req("POST", "/v1/assets/FX-MOVE/links",
                                  {"provider": "fiix", "native_id": "F-1"})[0], 201)
        st, h, b = self.req("POST", "/v1/assets/SN-MOVE:move", {"site": "plant-9", "line": "L7", "parent": "ST-PARENT"})
        self.assertEqual(st, 200, b)
        self.assertEqual(b["site"], "plant-9")
        self.assertEqual(b["location"], {"line": "L7", "cell": "C1"})
        self.assertEqual(b["parent"], "ST-PARENT")
        self.assertEqual(h["etag"], '"%d"' % b["revision"])
        self.assertError(self.req("POST", "/v1/assets/FX-MOVE:move", {"parent": "NOPE"}), 422, "validation", "parent")
        self.assertError(self.req("POST", "/v1/assets/FX-MOVE:move", {}), 422, "validation")
        self.assertError(self.req("POST", "/v1/assets/FX-MOVE:move", {"site": 3}), 400, "validation", "site")
        self.assertError(self.req("POST", "/v1/assets/FX-MOVE:move", {"room": "x"}), 400, "validation", "room")
        con = self.db()
        types = [r[0] for r in con.execute("SELECT type FROM events WHERE tenant = 'plant-a' AND subject = 'asset/FX-MOVE'"
                                           " ORDER BY seq")]
        con.close()
        self.assertIn("asset.moved", types)
        st, _, b = self.req("POST", "/v1/assets/fiix:F-1:retire")
        self.assertEqual(st, 200, b)
        self.assertEqual(b["status"], "retired")
        st, _, b = self.req("POST", "/v1/assets/FX-MOVE:retire", {"status": "scrapped"})
        self.assertEqual((st, b["status"]), (200, "scrapped"))
        self.assertError(self.req("POST", "/v1/assets/FX-MOVE:retire", {"status": "active"}), 422,
                         "validation", "status")
        st, _, b = self.req("GET", "/v1/assets/FX-MOVE")
        self.assertEqual([(l["provider"], l["native_id"]) for l in b["links"]], [("fiix", "F-1")])
        con = self.db()
        types = [r[0] for r in con.execute("SELECT type FROM events WHERE tenant = 'plant-a' AND subject = 'asset/FX-MOVE'")]
        con.close()
        self.assertIn("asset.retired", types)
        # audit by subject, newest first, actor = key id
        st, _, b = self.req("GET", "/v1/audit?subject=asset/FX-MOVE", key=self.read_a)
        self.assertEqual(st, 200, b)
        actions = [i["action"] for i in b["items"]]
        self.assertEqual(actions[-1], "asset.create")
        self.assertIn("asset.link", actions)
        self.assertGreaterEqual(actions.count("asset.update"), 3)
        ids = [i["id"] for i in b["items"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        self.assertTrue(all(i["actor"] == self.write_a_id for i in b["items"]))
        self.assertTrue(all(i["at"].endswith("Z") for i in b["items"]))
        self.assertIsNone(b["next_cursor"])
        # paging with limit 1
        st, _, p1 = self.req("GET", "/v1/audit?subject=asset/FX-MOVE&limit=1")
        self.assertEqual(len(p1["items"]), 1)
        st, _, p2 = self.req("GET", "/v1/audit?subject=asset/FX-MOVE&limit=1&cursor=" + p1["next_cursor"])
        self.assertEqual([p1["items"][0]["id"], p2["items"][0]["id"]], ids[:2])
        # by actor
        st, _, b = self.req("GET", "/v1/audit?actor=" + self.write_a_id + "&limit=1000")
        self.assertTrue(b["items"])
        self.assertTrue(all(i["actor"] == self.write_a_id for i in b["items"]))
        st, _, b = self.req("GET", "/v1/audit?actor=nobody")
        self.assertEqual(b["items"], [])
        self.assertError(self.req("GET", "/v1/audit?from=yesterday"), 422, "validation", "from")
        st, _, b = self.req("GET", "/v1/audit?subject=asset/FX-MOVE&to=2000-01-01T00:00:00Z")
        self.assertEqual(b["items"], [])

    # ---- auth and tenants --------------------------------------------------------

    def test_auth_scopes(self):
        self.assertEqual(self.put("FX-AUTH", {"name": "a"})[0], 201)
        st, h, _ = self.req("GET", "/v1/assets/FX-AUTH", key="")
        self.assertEqual(st, 401)
        self.assertError(self.put("FX-AUTH", {"name": "b"}, key=self.ingest_a), 403, "authorization")
        self.assertError(self.put("FX-AUTH", {"name": "b"}, key=self.read_a), 403)
        self.assertEqual(self.req("GET", "/v1/assets/FX-AUTH", key=self.read_a)[0], 200)
        self.assertEqual(self.req("GET", "/v1/assets", key=self.read_a)[0], 200)
        self.assertError(self.req("POST", "/v1/assets/FX-AUTH:retire", key=self.read_a), 403)

    def test_tenant_isolation(self):
        self.assertEqual(self.put("FX-ISO", {"serial_number": "SN-ISO"})[0], 201)
        self.assertEqual(self.req("POST", "/v1/assets/FX-ISO/links", {"provider": "sap_pm", "native_id": "ISO-1"})[0], 201)
        b_key = self.write_b
        for path in ("/v1/assets/FX-ISO", "/v1/assets/SN-ISO", "/v1/assets/sap_pm:ISO-1",
                     "/v1/assets:lookup?provider=sap_pm&native_id=ISO-1"):
            self.assertError(self.req("GET", path, key=b_key), 404, "not_found")
        self.assertError(self.put("FX-ISO", {"name": "mine"}, key=b_key, headers={"If-Match": '"1"'}), 404)
        self.assertError(self.req("POST", "/v1/assets/FX-ISO:move", {"site": "b"}, key=b_key), 404)
        self.assertError(self.req("POST", "/v1/assets/FX-ISO:retire", key=b_key), 404)
        self.assertError(self.req("POST", "/v1/assets/FX-ISO/links", {"provider": "x", "native_id": "y"}, key=b_key), 404)
        self.assertError(self.req("DELETE", "/v1/assets/FX-ISO/links/sap_pm/ISO-1", key=b_key), 404)
        st, _, b = self.req("GET", "/v1/assets", key=b_key)
        self.assertNotIn("FX-ISO", [a["asset_ref"] for a in b["items"]])
        st, _, b = self.req("GET", "/v1/audit?subject=asset/FX-ISO", key=b_key)
        self.assertEqual((st, b["items"]), (200, []))
        st, _, b = self.req("GET", "/v1/audit?actor=" + self.write_a_id, key=b_key)
        self.assertEqual(b["items"], [])
        # B's own asset of the same name is separate; A's is untouched
        self.assertEqual(self.put("FX-ISO", {"name": "mine"}, key=b_key)[0], 201)
        st, _, b = self.req("GET", "/v1/assets/FX-ISO")
        self.assertNotIn("name", b)
        self.assertEqual(b["revision"], 1)

    # ---- mapping exceptions -------------------------------------------------------

    def hold(self, tenant, native_id, doc, reason="serial_collision"):
        """A held change, as the sync engine would write it."""
        ex_id = "01T" + uuid.uuid4().hex[:23].upper()
        change = {"provider": "sap_pm", "entity": "asset", "native_id": native_id, "doc": doc}
        con = self.db()
        con.execute("INSERT INTO mapping_exceptions(id, tenant, provider, entity, native_id, reason, message,"
                    " candidates, change, state, created_at) VALUES (?, ?, 'sap_pm', 'asset', ?, ?, ?, ?, ?, 'open', ?)",
                    (ex_id, tenant, native_id, reason, "held for a test", json.dumps(["FX-X"]), json.dumps(change),
                     int(time.time() * 1000)))
        con.commit()
        con.close()
        return ex_id

    def test_mapping_exceptions(self):
        self.assertEqual(self.put("FX-EXL", {"name": "target", "serial_number": "SN-EXL"})[0], 201)
        e_link = self.hold("plant-a", "N-LINK", {"serial_number": "SN-EXL", "name": "from sap"})
        e_create = self.hold("plant-a", "N-CREATE", {"asset_ref": "FX-EXC", "name": "new from sap"})
        e_ignore = self.hold("plant-a", "N-IGN", {"name": "ignored"})
        e_b = self.hold("plant-b", "N-B", {"name": "tenant b"})
        st, _, b = self.req("GET", "/v1/mapping-exceptions", key=self.read_a)
        self.assertEqual(st, 200, b)
        ids = [e["id"] for e in b["items"]]
        for e in (e_link, e_create, e_ignore):
            self.assertIn(e, ids)
        self.assertNotIn(e_b, ids)
        item = b["items"][ids.index(e_link)]
        self.assertEqual(item["state"], "open")
        self.assertEqual(item["change"]["native_id"], "N-LINK")
        self.assertEqual(item["candidates"], ["FX-X"])
        # paging
        st, _, p1 = self.req("GET", "/v1/mapping-exceptions?limit=2")
        self.assertEqual(len(p1["items"]), 2)
        st, _, p2 = self.req("GET", "/v1/mapping-exceptions?limit=2&cursor=" + p1["next_cursor"])
        got = [e["id"] for e in p1["items"] + p2["items"]]
        self.assertEqual(sorted(got), sorted(ids))
        self.assertEqual(len(set(got)), len(got))
        st, _, one = self.req("GET", "/v1/mapping-exceptions/" + e_link)
        self.assertEqual((st, one["id"]), (200, e_link))
        self.assertError(self.req("GET", "/v1/mapping-exceptions/" + e_b), 404, "not_found")
        self.assertError(self.req("GET", "/v1/mapping-exceptions?state=weird"), 422, "validation", "state")
        # resolve: validation
        path = "/v1/mapping-exceptions/%s:resolve"
        self.assertError(self.req("POST", path % e_link, {"action": "link"}), 422, "validation", "asset_ref")
        self.assertError(self.req("POST", path % e_link, {"action": "merge"}), 422, "validation", "action")
        self.assertError(self.req("POST", path % e_link, {"action": "link", "asset_ref": "NO-SUCH"}), 422,
                         "validation", "asset_ref")
        self.assertError(self.req("POST", path % e_link, {"action": "ignore"}, key=self.read_a), 403)
        self.assertError(self.req("POST", path % e_b, {"action": "ignore"}), 404, "not_found")
        # link
        st, _, b = self.req("POST", path % e_link, {"action": "link", "asset_ref": "FX-EXL"})
        self.assertEqual(st, 200, b)
        self.assertEqual(b["state"], "resolved")
        st, _, a = self.req("GET", "/v1/assets:lookup?provider=sap_pm&native_id=N-LINK")
        self.assertEqual((st, a["asset_ref"], a["name"]), (200, "FX-EXL", "from sap"))
        # twice -> 409
        self.assertError(self.req("POST", path % e_link, {"action": "link", "asset_ref": "FX-EXL"}), 409, "conflict")
        # create
        st, _, b = self.req("POST", path % e_create, {"action": "create"})
        self.assertEqual(st, 200, b)
        st, _, a = self.req("GET", "/v1/assets/sap_pm:N-CREATE")
        self.assertEqual(st, 200, a)
        self.assertEqual(a["name"], "new from sap")
        self.assertEqual(b["result"]["subject"], a["asset_ref"])
        # ignore
        st, _, b = self.req("POST", path % e_ignore, {"action": "ignore"})
        self.assertEqual((st, b["state"]), (200, "ignored"))
        self.assertError(self.req("GET", "/v1/assets:lookup?provider=sap_pm&native_id=N-IGN"), 404)
        self.assertError(self.req("POST", path % e_ignore, {"action": "ignore"}), 409)
        st, _, b = self.req("GET", "/v1/mapping-exceptions?state=resolved")
        self.assertEqual(sorted(e["id"] for e in b["items"] if e["id"] in (e_link, e_create)),
                         sorted([e_link, e_create]))
        st, _, b = self.req("GET", "/v1/mapping-exceptions")
        self.assertFalse({e_link, e_create, e_ignore} & {e["id"] for e in b["items"]})
        # audited by the key
        st, _, b = self.req("GET", "/v1/audit?subject=mapping-exception/" + e_ignore)
        self.assertEqual([(i["action"], i["actor"]) for i in b["items"]],
                         [("mapping_exception.ignore", self.write_a_id)])

    def test_exceptions_cli(self):
        e1 = self.hold("plant-a", "N-CLI", {"name": "cli"})
        url = "http://%s:%d" % (self.s.host, self.s.port)
        env = dict(os.environ, ASSETBRIDGE_API_KEY=self.write_a)
        p = run("exceptions", "list", "--url", url, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(e1, p.stdout)
        self.assertIn("N-CLI", p.stdout)
        self.assertNotIn(self.write_a, p.stdout + p.stderr)
        p = run("exceptions", "resolve", e1, "--action", "ignore", "--url", url, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run("exceptions", "resolve", e1, "--action", "ignore", "--url", url, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already", p.stderr)
        p = run("exceptions", "list", "--url", url, env=env)
        self.assertNotIn(e1, p.stdout)
        p = run("exceptions", "list", "--url", url, env=dict(env, ASSETBRIDGE_API_KEY="abk_" + "0" * 64))
        self.assertEqual(p.returncode, 1)
        self.assertNotIn("0" * 64, p.stdout + p.stderr)
        self.assertEqual(run("exceptions", "list", env=env).returncode, 2)
        self.assertEqual(run("exceptions", "resolve", e1, "--action", "merge", "--url", url, env=env).returncode, 2)
        self.assertEqual(run("exceptions", "bogus", "--url", url, env=env).returncode, 2)


if __name__ == "__main__":
    unittest.main()
