#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A maintenance request opened once at SAP although the service is killed
with SIGKILL mid-delivery and restarted, real processes only (the service
with a `sap_pm` provider and `assetbridge sim sap_pm`).

The simulator holds the notification POST (a `latency` fault rule: the request
is applied and answered after the delay, when the client is gone); the test
waits until the rule has fired (SAP has the request), kills the service, waits
for SAP to apply the held create, and restarts the service on the same data
directory with its fake clock past the outbox lease (5 min, no configuration
key: the approach of test_sync_crash.py). The restarted worker reclaims the
item, resolves it through MaintNotifExtReferenceNumber instead of creating a
second notification, and the work order ends synchronized with exactly one
notification at SAP, put in process.
Skipped with a message when `assetbridge sim sap_pm` is missing."""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
from datetime import timedelta

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Service, run, write_file  # noqa: E402
from test_conn_sap_pm import NOTIF, Sim, ext_ref, sim_available  # noqa: E402
from test_sync_faults import utc  # noqa: E402

ASSETS = 20
PATH = NOTIF + "/MaintenanceNotification"
CONFIG = """
tenants:
  default:
    providers:
      sap_pm:
        type: sap_pm
        base_url: http://%s
        auth: {scheme: basic, user: SIMUSER, password: sim-password}
        mode: write_back
        timeouts: {request: 30s}
        entities:
          asset: {interval: 1s}
          work_order: {interval: 1h}
          notification: {interval: 1h}
          maintenance_plan: {interval: 1h}
          meter: {interval: 1h}
        sap_pm:
          sap_client: "100"
    sites:
      plant-1010:
        value_maps:
          plant: {"1010": plant-1010}
          object_type: {MACH: station, TEST: station}
          meter: {CYCLES: cycles}
"""


@unittest.skipIf(sim_available() is not None, sim_available() or "")
class SapNotificationAcrossSigkill(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ab-sap-crash-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        err = open(os.path.join(self.tmp, "sim.err"), "w")
        self.proc = subprocess.Popen([BIN, "sim", "sap_pm", "--listen", "127.0.0.1:0", "--seed", "7",
                                      "--assets", str(ASSETS)], stdout=subprocess.PIPE, stderr=err, text=True)
        err.close()
        self.addCleanup(self._stop_sim)
        line = self.proc.stdout.readline()
        self.assertTrue(line.startswith("listening on "), line)
        self.sap = Sim(line.split()[-1])
        self.cfg = write_file(self.tmp, "cfg.yaml", CONFIG % self.sap.addr)
        self.data_dir = os.path.join(self.tmp, "data")

    def _stop_sim(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()

    def start(self, clock):
        s = Service("--fake-clock", clock, config=self.cfg, data_dir=self.data_dir).start()
        self.addCleanup(self._stop, s)
        p = run("apikey", "create", "--config", self.cfg, "--data-dir", self.data_dir, "--tenant",
                "default", "--scopes", "admin")
        self.assertEqual(p.returncode, 0, p.stderr)
        s.key = p.stdout.rstrip("\n").splitlines()[-1]
        return s

    @staticmethod
    def _stop(s):
        if s.proc and s.proc.poll() is None:
            s.__exit__(None, None, None)
        elif s.proc and not s.proc.stdout.closed:
            s.proc.stdout.close()

    def api(self, s, method, path, body=None, expect=200):
        st, _, b = s.request(method, path, body=body, headers={"Authorization": "Bearer " + s.key})
        self.assertEqual(st, expect, (method, path, b))
        return b

    def wait_for(self, what, check, s=None, limit=60):
        """Poll check(), moving the service's fake clock on 10 s a round (retry
        delays are measured on it); a liveness bound, not a timing test."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if check():
                return
            if s is not None:
                st, _, b = s.request("POST", "/_test/clock", body={"advance": "PT10S"})
                self.assertEqual(st, 200, b)
            time.sleep(0.2)
        self.fail("timed out waiting for " + what + ("\n" + s.stderr()[-3000:] if s else ""))

    def effects(self):
        st, b = self.sap.sim("GET", "/_sim/effects")
        self.assertEqual(st, 200, b)
        return b

    def fired(self, rid):
        st, b = self.sap.sim("GET", "/_sim/faults")
        self.assertEqual(st, 200, b)
        return [r for r in b["items"] if r["id"] == rid][0]["fired"]

    def test_notification_once_across_sigkill(self):
        s1 = self.start(utc())

        def pulled():
            rows = self.api(s1, "GET", "/v1/sync-state")["items"]
            return any(r["entity"] == "asset" and r["pulled"] >= ASSETS - 1 and r.get("watermark")
                       for r in rows)
        self.wait_for("the equipment pulled", pulled, s=s1)
        created = self.effects().get("notifications_created", 0)
        st, b = self.sap.sim("POST", "/_sim/faults", body={
            "match": {"method": "POST", "path": PATH}, "action": "latency", "ms": 2000, "count": 1})
        self.assertEqual(st, 201, b)
        rid = b["items"][0]["id"]
        wo = self.api(s1, "POST", "/v1/work-orders", {
            "asset_ref": "MS-000003", "provider_id": "sap_pm", "type": "corrective",
            "common_status": "open", "priority": "high", "notes": "Crash probe"}, expect=201)
        wid = wo["common_work_order_id"]
        # SAP has the notification POST and holds it
        self.wait_for("SAP holding the notification POST", lambda: self.fired(rid) == 1, limit=60)
        s1.stop(sig=signal.SIGKILL)
        self.assertEqual(s1.proc.returncode, -signal.SIGKILL)
        con = sqlite3.connect(os.path.join(self.data_dir, "assetbridge.db"))
        try:
            rows = con.execute("SELECT state, attempts FROM outbox WHERE subject = ?",
                               ("work-order/" + wid,)).fetchall()
        finally:
            con.close()
        self.assertEqual(rows, [("in_flight", 1)], "the kill did not land between claim and outcome")
        # SAP applies the held create after the client is gone
        self.wait_for("SAP applying the held POST",
                      lambda: self.effects().get("notifications_created", 0) == created + 1)
        # restart on the same data, the clock past the 5-minute lease
        s2 = self.start(utc(timedelta(minutes=10)))

        def synced():
            w = self.api(s2, "GET", "/v1/work-orders/" + wid)
            return w.get("sync_state") == "synchronized" and w.get("source_work_order_id")
        self.wait_for("the work order synchronized after the restart", synced, s=s2, limit=90)
        nid = self.api(s2, "GET", "/v1/work-orders/" + wid)["source_work_order_id"]
        self.assertEqual(self.effects().get("notifications_created", 0), created + 1)
        st, _, b = self.sap.call("GET", PATH, {"$filter": "MaintNotifExtReferenceNumber eq '%s'"
                                               % ext_ref("wo:%s:create" % wid)})
        self.assertEqual(st, 200, b)
        self.assertEqual([n["MaintenanceNotification"] for n in b["d"]["results"]], [nid])
        self.assertEqual(b["d"]["results"][0]["NotifProcessingPhase"], "3")  # put in process
        # the restarted worker resolved the held create (found by the key) instead of posting again
        st, b = self.sap.sim("GET", "/_sim/requests", {"method": "POST", "path": PATH})
        self.assertEqual(st, 200, b)
        self.assertEqual(len(b["items"]), 1, [(r["seq"], r["status"], r.get("fault")) for r in b["items"]])
        self.assertEqual(self.api(s2, "GET", "/v1/dead-letters")["items"], [])
        for state in ("pending", "in_flight", "dead"):
            self.assertEqual(self.api(s2, "GET", "/v1/outbox?state=" + state)["items"], [], state)


if __name__ == "__main__":
    unittest.main(verbosity=2)
