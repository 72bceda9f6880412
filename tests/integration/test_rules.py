#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The rules engine in the real service with the fake clock: a calibration
recorded in the hub with a due date, time moved with POST /_test/clock:
calibration.due once on entering due_soon and, since no provider owns the
calibration domain here, exactly one hub work order for it; a restart in
between repeats nothing; calibration.overdue once past the due date; the hub
work order open past its sla_due_at raises work_order.sla_breached once.

Needs the rules engine running inside `serve` (rules_start in cmd_serve.c):
the test skips, saying so, when the service does not log "rules engine
started"."""
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run, write_file  # noqa: E402

CONFIG = """\
tenants:
  plant-a:
    sites:
      plant-1: {time_zone: Europe/Oslo}
    rules:
      evaluate_every: 1m
      calibration: {due_soon_pct: 90, interval_days: 100}
"""


class RulesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ab-rules-")
        self.data = os.path.join(self.tmp, "data")
        self.cfg = write_file(self.tmp, "assetbridge.yaml", CONFIG)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def service(self, start):
        s = Service("--fake-clock", start, config=self.cfg, data_dir=self.data).start()
        deadline = time.monotonic() + 10
        while "rules engine started" not in s.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        if "rules engine started" not in s.stderr():
            s.__exit__(None, None, None)
            self.skipTest("the rules engine is not started by serve yet (rules_start)")
        return s

    def db(self, sql, *args):
        con = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data, "assetbridge.db"),
                              uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def count(self, sql, *args):
        return self.db(sql, *args)[0][0]

    def events(self, type_, subject="asset/CAL-1"):
        return self.count("SELECT COUNT(*) FROM events WHERE tenant = 'plant-a' AND type = ?"
                          " AND subject = ?", type_, subject)

    def wait_for(self, what, fn, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)

    def advance(self, s, key, duration):
        st, _, body = s.request("POST", "/_test/clock", body={"advance": duration},
                                headers={"Authorization": "Bearer " + key})
        self.assertEqual(st, 200, body)

    def watched(self, s, key, ref):
        """Record a calibration of a new asset and wait until a pass watches it."""
        auth = {"Authorization": "Bearer " + key}
        st, _, body = s.request("PUT", "/v1/assets/" + ref, body={"type": "instrument"},
                                headers=auth)
        self.assertIn(st, (200, 201), body)
        st, _, body = s.request("POST", "/v1/assets/%s/calibration:record" % ref, body={
            "performed_at": "2026-04-01T00:00:00Z", "result": "in_tolerance",
            "next_due_at": "2027-04-01T00:00:00Z"}, headers=auth)
        self.assertEqual(st, 200, body)
        self.wait_for(ref + " to be watched", lambda: self.count(
            "SELECT COUNT(*) FROM rule_state WHERE kind = 'calibration' AND subject = ?", ref))

    def hub_work_orders(self):
        return self.db("SELECT id, due_at FROM objects WHERE tenant = 'plant-a'"
                       " AND kind = 'work_order' AND asset_ref = 'CAL-1'"
                       " AND json_extract(doc, '$.provider_id') = 'hub'"
                       " AND json_extract(doc, '$.type') = 'calibration'")

    def test_calibration_falls_due_once(self):
        s = self.service("2026-01-01T00:00:00Z")
        try:
            p = run("apikey", "create", "--data-dir", self.data, "--tenant", "plant-a",
                    "--scopes", "admin")
            self.assertEqual(p.returncode, 0, p.stderr)
            key = p.stdout.rstrip("\n").splitlines()[-1]
            auth = {"Authorization": "Bearer " + key}
            st, _, body = s.request("PUT", "/v1/assets/CAL-1",
                                    body={"type": "instrument", "site": "plant-1"},
                                    headers=auth)
            self.assertIn(st, (200, 201), body)
            st, _, cal = s.request("POST", "/v1/assets/CAL-1/calibration:record", body={
                "performed_at": "2026-01-01T00:00:00Z", "result": "in_tolerance",
                "next_due_at": "2026-04-11T00:00:00Z"}, headers=auth)
            self.assertEqual(st, 200, cal)
            # 89 of 100 days: nothing yet. Prove a pass ran by waiting for the
            # rule state row the engine writes for the occurrence it watches.
            self.advance(s, key, "P89D")
            self.wait_for("the calibration to be watched", lambda: self.count(
                "SELECT COUNT(*) FROM rule_state WHERE kind = 'calibration'"
                " AND subject = 'CAL-1' AND state = 'ok'"))
            self.assertEqual(self.events("calibration.due"), 0)
            self.advance(s, key, "P2D")  # day 91: due soon
            self.wait_for("calibration.due", lambda: self.events("calibration.due"))
            self.wait_for("the hub work order", self.hub_work_orders)
        finally:
            s.__exit__(None, None, None)
        # a restart: nothing repeats
        s = self.service("2026-04-03T00:00:00Z")
        try:
            key = run("apikey", "create", "--data-dir", self.data, "--tenant", "plant-a",
                      "--scopes", "admin").stdout.rstrip("\n").splitlines()[-1]
            self.advance(s, key, "P9D")  # 2026-04-12: overdue
            self.wait_for("calibration.overdue", lambda: self.events("calibration.overdue"))
            wos = self.hub_work_orders()
            self.assertEqual(len(wos), 1, wos)
            self.assertEqual(self.events("calibration.due"), 1)
            self.assertEqual(self.events("calibration.overdue"), 1)
            # the hub work order's SLA was the due date: breached, once
            subject = "work-order/" + wos[0][0]
            self.wait_for("work_order.sla_breached",
                          lambda: self.events("work_order.sla_breached", subject))
            self.advance(s, key, "P1D")
            # two passes have run when a second new calibration is watched
            # after a first one (each is first seen by a later pass)
            for ref in ("MARK-1", "MARK-2"):
                self.watched(s, key, ref)
            self.assertEqual(self.events("work_order.sla_breached", subject), 1)
            self.assertEqual(len(self.hub_work_orders()), 1)
            # the watch shows in the metrics: one work order past its SLA,
            # one request (the hub work order) still open
            st, _, text = s.request("GET", "/metrics", headers={"Authorization": "Bearer " + key})
            self.assertEqual(st, 200, text)
            self.assertIn('assetbridge_work_orders_past_sla{tenant="plant-a"} 1\n', text)
            self.assertIn('assetbridge_rules_open_requests{tenant="plant-a"} 1\n', text)
            # completed in the hub: the loop closes, the calibration is
            # recorded (calibration.completed), nothing is past its SLA
            st, _, body = s.request("POST", "/v1/work-orders/%s:complete" % wos[0][0], body={},
                                    headers={"Authorization": "Bearer " + key})
            self.assertEqual(st, 200, body)
            self.wait_for("the request closed", lambda: self.count(
                "SELECT COUNT(*) FROM rule_state WHERE kind = 'calibration' AND subject = 'CAL-1'"
                " AND request_closed_at IS NOT NULL"))
            self.wait_for("calibration.completed by the rules", lambda: self.count(
                "SELECT COUNT(*) FROM events WHERE type = 'calibration.completed'"
                " AND json_extract(payload, '$.performed_by') IS NULL"
                " AND json_extract(payload, '$.due_at') > '2026-07-01'"))
            st, _, text = s.request("GET", "/metrics", headers={"Authorization": "Bearer " + key})
            self.assertIn('assetbridge_work_orders_past_sla{tenant="plant-a"} 0\n', text)
            self.assertIn('assetbridge_rules_open_requests{tenant="plant-a"} 0\n', text)
        finally:
            s.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
