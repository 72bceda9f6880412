#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The SAP PM connector end to end, real processes only: `assetbridge serve`
with a `sap_pm` provider pointing at `assetbridge sim sap_pm`
(docs/sim/sap_pm.md, docs/connectors/sap-pm.md).

- a full pull of the seeded equipment (with the counter totals behind the
  usage baselines), orders, notifications, plans and measuring points, with
  the requests each cost printed and bounded;
- an incremental pull: equipment renamed at SAP reaches the hub through a
  LastChangeDateTime filter, without another sweep;
- 1,000 usage increments through /v1/readings:batch become a handful of
  measurement documents (one absolute counter reading per measuring point
  per flush window) with the exact total, while the simulator expires the
  CSRF token mid-run (403 x-csrf-token: Required, fetched again once);
- 100,000 usage increments (10 NDJSON requests of 10,000 readings over a few
  flush windows) become a few measurement documents, SAP's counter ending at
  exactly baseline + 100,000;
- a maintenance request from POST /v1/work-orders becomes exactly one SAP
  notification (carrying the hub's key in MaintNotifExtReferenceNumber, put
  in process) although the notification POST answers 429, 503, times out
  and drops the connection after applying;
- orders in a phase the configured map lacks become mapping exceptions.
Every test is skipped with a message when `assetbridge sim sap_pm` is missing."""
import base64
import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Service, run, write_file  # noqa: E402

AUTH = {"Authorization": "Basic " + base64.b64encode(b"SIMUSER:sim-password").decode()}
ASSETS = 300
EQ = "/sap/opu/odata/sap/API_EQUIPMENT"
NOTIF = "/sap/opu/odata/sap/API_MAINTNOTIFICATION"
MD = "/sap/opu/odata4/sap/api_measurementdocument/srvd_a2x/sap/measurementdocument/0001"
MP = "/sap/opu/odata4/sap/api_measuringpoint/srvd_a2x/sap/measuringpoint/0001"

CONFIG = """
tenants:
  default:
    providers:
      sap_pm:
        type: sap_pm
        base_url: http://%s
        auth: {scheme: basic, user: SIMUSER, password: sim-password}
        mode: write_back
        rate_limit: {requests_per_second: 500}
        timeouts: {request: 3s}
        entities:
          asset: {interval: 1s}
          work_order: {interval: 2s}
          notification: {interval: 5s}
          maintenance_plan: {interval: 5s}
          meter: {interval: 1h}
        usage:
          flush_window: 1s
          meters:
            cycles: {target: CYCLES}
        sap_pm:
          sap_client: "100"
          # phase 07 deliberately missing: such orders are mapping exceptions
          order_phase_map: "01=open, 02=open, 03=open, 04=open, 05=assigned, 06=assigned"
    sites:
      plant-1010:
        value_maps:
          plant: {"1010": plant-1010}
          object_type: {MACH: station, TEST: station}
          meter: {CYCLES: cycles}
"""


def sim_available():
    if not os.path.exists(BIN):
        return "assetbridge binary %s not found" % BIN
    p = run("sim", "--list")
    if p.returncode != 0 or "sap_pm" not in p.stdout:
        return "`assetbridge sim sap_pm` is not available in this build"
    return None


def ext_ref(key):
    """conn_sap_pm_ext_ref: "AB" + FNV-1a 64 of the idempotency key."""
    h = 14695981039346656037
    for b in key.encode():
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "AB%016X" % h


class Sim:
    """A client of the simulator with a session (cookies + CSRF token)."""

    def __init__(self, addr, auth=None):
        self.addr = addr
        self.auth = auth or AUTH  # the headers of an authenticated call
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = None

    def call(self, method, path, query=None, body=None, auth=True, hdrs=None):
        url = "http://%s%s" % (self.addr, path)
        if query:
            url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        data = json.dumps(body).encode() if body is not None else None
        h = dict(self.auth) if auth else {}
        h["Accept"] = "application/json"
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(hdrs or {})
        req = urllib.request.Request(url, data=data, headers=h, method=method)
        try:
            with self.opener.open(req, timeout=30) as r:
                text = r.read()
                return r.status, dict(r.headers), json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode(errors="replace")

    def write(self, method, path, query=None, body=None):
        if not self.token:
            st, h, _ = self.call("GET", EQ + "/", hdrs={"X-CSRF-Token": "Fetch"})
            self.token = {k.lower(): v for k, v in h.items()}.get("x-csrf-token")
        return self.call(method, path, query, body, hdrs={"X-CSRF-Token": self.token})

    def sim(self, method, path, query=None, body=None):
        st, _, b = self.call(method, path, query, body, auth=False)
        return st, b


@unittest.skipIf(sim_available() is not None, sim_available() or "")
class SapPmConnectorEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ab-sap-")
        err = open(os.path.join(cls.tmp, "sim.err"), "w")
        cls.proc = subprocess.Popen([BIN, "sim", "sap_pm", "--listen", "127.0.0.1:0", "--seed",
                                     "7", "--assets", str(ASSETS)],
                                    stdout=subprocess.PIPE, stderr=err, text=True)
        err.close()
        line = cls.proc.stdout.readline()
        assert line.startswith("listening on "), line
        cls.addr = line.split()[-1]
        cls.sap = Sim(cls.addr)
        cfg = write_file(cls.tmp, "cfg.yaml", CONFIG % cls.addr)
        cls.s = Service(config=cfg).start()
        p = run("apikey", "create", "--config", cfg, "--data-dir", cls.s.data_dir, "--tenant",
                "default", "--scopes", "admin")
        assert p.returncode == 0, p.stderr
        cls.key = p.stdout.rstrip("\n").splitlines()[-1]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.proc.stdout.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ---------------------------------------------------------------------

    def api(self, method, path, body=None, headers=None):
        h = {"Authorization": "Bearer " + self.key}
        h.update(headers or {})
        return self.s.request(method, path, body=body, headers=h)

    def get(self, path):
        st, _, b = self.api("GET", path)
        self.assertEqual(st, 200, b)
        return b

    def wait_for(self, what, check, limit=120):
        """Poll check() until it is true; a liveness bound, not a timing test."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.25)
        self.fail("timed out waiting for " + what + "\n" + self.s.stderr()[-4000:])

    def requests(self, path=None, method=None):
        q = {}
        if path:
            q["path"] = path
        if method:
            q["method"] = method
        st, b = self.sap.sim("GET", "/_sim/requests", q)
        self.assertEqual(st, 200, b)
        return b["items"]

    def effects(self):
        st, b = self.sap.sim("GET", "/_sim/effects")
        self.assertEqual(st, 200, b)
        return b

    def fault(self, rule):
        st, b = self.sap.sim("POST", "/_sim/faults", body=rule)
        self.assertEqual(st, 201, b)

    def state(self, entity):
        for r in self.get("/v1/sync-state")["items"]:
            if r["entity"] == entity:
                return r
        return None

    def full_pass_done(self, entity="asset", n=ASSETS):
        r = self.state(entity)
        return bool(r and r["pulled"] >= n and r.get("watermark") and not r.get("page_token"))

    def counter_point(self, eq):
        st, _, b = self.sap.call("GET", MP + "/MeasuringPoint", {
            "$filter": "Equipment eq '%s' and MeasuringPointPositionNumber eq 'CYCLES'" % eq})
        self.assertEqual(st, 200, b)
        return b["value"][0]["MeasuringPoint"]

    def latest_total(self, mp):
        st, _, b = self.sap.call("GET", MD + "/MeasurementDocument", {
            "$filter": "MeasuringPoint eq '%s'" % mp,
            "$orderby": "MsmtRdngDate desc,MeasurementDocument desc", "$top": "1"})
        self.assertEqual(st, 200, b)
        d = b["value"][0]
        return d["MeasurementCounterReading"], d["MeasurementDocument"]

    # ---- tests -------------------------------------------------------------------------

    def test_1_full_and_incremental_pull(self):
        self.wait_for("the full pass of %d equipment" % ASSETS, self.full_pass_done, limit=180)
        first_pass = []
        for r in self.requests():
            if r["path"].endswith("/Equipment") and "LastChangeDateTime gt" in urllib.parse.unquote(
                    r.get("query") or ""):
                break  # the first incremental pull
            first_pass.append(r)
        by_path = {}
        for r in first_pass:
            if "/Equipment" in r["path"] or "measur" in r["path"].lower():
                key = r["path"].rsplit("/", 1)[-1]
                by_path[key] = by_path.get(key, 0) + 1
        print("\nsap_pm full pass of %d equipment with counter totals: %d requests %s" %
              (ASSETS, sum(by_path.values()), by_path))
        # 1 head + 1 page + points by batches of 40 + one latest document per counter
        # (MeasuringPoint also counts the meter pull and the plans' counter points)
        self.assertEqual(by_path.get("Equipment"), 2)
        self.assertLessEqual(by_path.get("MeasuringPoint", 0), ASSETS // 40 + ASSETS // 80 + 4)
        self.assertLessEqual(by_path.get("MeasurementDocument", 0), ASSETS)
        page = self.get("/v1/assets?limit=5")["items"]
        self.assertEqual(len(page), 5)
        a = self.get("/v1/assets/" + page[0]["asset_ref"])
        self.assertEqual(a["links"][0]["provider"], "sap_pm")
        self.assertEqual(a.get("site"), "plant-1010")
        self.assertEqual(a.get("type"), "station")
        self.assertEqual(a["attributes"]["sap_equipment"], a["links"][0]["native_id"])
        self.assertEqual(a["attributes"]["sap_plant"], "1010")
        # incremental: rename one equipment at SAP
        eq = a["links"][0]["native_id"]
        seq = self.requests()[-1]["seq"]
        st, _, b = self.sap.write("PATCH", EQ + "/Equipment(Equipment='%s',ValidityEndDate="
                                  "datetime'9999-12-31T00:00:00')" % eq,
                                  body={"EquipmentName": "renamed at SAP"})
        self.assertIn(st, (200, 204), b)

        def renamed():
            return self.get("/v1/assets/" + a["asset_ref"]).get("name") == "renamed at SAP"
        self.wait_for("the rename in the hub", renamed, limit=60)
        later = [r for r in self.requests(path=EQ + "/Equipment") if r["seq"] > seq]
        self.assertTrue(later)
        for r in later:
            self.assertIn("LastChangeDateTime", urllib.parse.unquote(r.get("query") or ""),
                          "a sweep ran instead of an incremental pull")
        # orders, notifications, plans pulled too
        for entity in ("work_order", "notification", "maintenance_plan"):
            self.wait_for(entity + " pulled", lambda e=entity: (self.state(e) or {}).get("pulled", 0) > 0,
                          limit=60)

    def test_2_usage_documents_exact_under_csrf_expiry(self):
        self.wait_for("the full pass", self.full_pass_done, limit=180)
        ref = "MS-000002"
        a = self.get("/v1/assets/" + ref)
        eq = a["links"][0]["native_id"]
        mp = self.counter_point(eq)
        base, _ = self.latest_total(mp)
        docs_before = self.effects().get("measurement_documents_created", 0)
        total = 0

        def send_batch():
            items = [{"asset_ref": ref, "meter": "cycles", "increment": 1} for _ in range(50)]
            st, _, b = self.api("POST", "/v1/readings:batch", items)
            self.assertEqual(st, 202, b)
            self.assertEqual(b["accepted"], 50, b)
            return 50
        total += send_batch()
        self.wait_for("the first document", lambda: self.latest_total(mp)[0] > base, limit=60)
        # mid-run the session's CSRF token expires on the next document post
        self.fault({"match": {"method": "POST", "path": MD + "/MeasurementDocument"},
                    "action": "expire_token", "count": 1})
        for _ in range(19):
            total += send_batch()
            time.sleep(0.15)  # spread over a few flush windows (not an assertion)

        def settled():
            return self.latest_total(mp)[0] == base + total
        self.wait_for("SAP's counter to reach %d + %d" % (base, total), settled, limit=120)
        time.sleep(2.5)  # nothing more may arrive (two flush windows)
        self.assertEqual(self.latest_total(mp)[0], base + total)
        docs = self.effects().get("measurement_documents_created", 0) - docs_before
        print("\nsap_pm usage: %d increments -> %d measurement documents (total %d + %d)" %
              (total, docs, base, total))
        self.assertGreaterEqual(docs, 1)
        self.assertLessEqual(docs, 25)
        st, faults = self.sap.sim("GET", "/_sim/faults")
        fired = [f for f in faults["items"] if f.get("action") == "expire_token"]
        self.assertTrue(fired and fired[0]["fired"] >= 1, faults)
        posts = self.requests(path=MD + "/MeasurementDocument", method="POST")
        self.assertTrue(any(r["status"] == 403 for r in posts))
        self.assertEqual(self.get("/v1/dead-letters")["items"], [])

    def test_3_notification_once_under_faults(self):
        self.wait_for("the full pass", self.full_pass_done, limit=180)
        before = self.effects().get("notifications_created", 0)
        path = NOTIF + "/MaintenanceNotification"
        for rule in ({"match": {"method": "POST", "path": path}, "action": "status", "status": 429,
                      "count": 1},
                     {"match": {"method": "POST", "path": path}, "action": "status", "status": 503,
                      "count": 1},
                     {"match": {"method": "POST", "path": path}, "action": "timeout", "ms": 5000,
                      "count": 1},
                     {"match": {"method": "POST", "path": path}, "action": "reset_after_apply",
                      "count": 1}):
            self.fault(rule)
        st, _, wo = self.api("POST", "/v1/work-orders", {
            "asset_ref": "MS-000003", "provider_id": "sap_pm", "type": "corrective",
            "common_status": "open",
            "priority": "high", "notes": "Spindle vibration\nseen by the tester"})
        self.assertEqual(st, 201, wo)
        wid = wo["common_work_order_id"]

        def synced():
            w = self.get("/v1/work-orders/" + wid)
            return w.get("sync_state") == "synchronized" and w.get("source_work_order_id")
        self.wait_for("the work order delivered", synced, limit=180)
        nid = self.get("/v1/work-orders/" + wid)["source_work_order_id"]
        ref = ext_ref("wo:%s:create" % wid)
        st, _, b = self.sap.call("GET", path, {"$filter": "MaintNotifExtReferenceNumber eq '%s'" % ref})
        self.assertEqual(st, 200, b)
        self.assertEqual(len(b["d"]["results"]), 1, b)
        n = b["d"]["results"][0]
        self.assertEqual(n["MaintenanceNotification"], nid)
        acts = [(r["method"], r["path"].rsplit("/", 1)[-1], r["status"]) for r in self.requests()
                if "MAINTNOTIFICATION" in r["path"]]
        self.assertEqual(n["NotifProcessingPhase"], "3", acts)  # put in process (write_back)
        self.assertEqual(n["MaintPriority"], "2")
        self.assertEqual(n["NotificationText"], "Spindle vibration")
        self.assertEqual(self.effects().get("notifications_created", 0) - before, 1)
        st, faults = self.sap.sim("GET", "/_sim/faults")
        for f in faults["items"]:
            if f["match"].get("path") == path:
                self.assertGreaterEqual(f["fired"], 1, f)
        # completing it in the hub completes it at SAP
        st, _, b = self.api("POST", "/v1/work-orders/%s:complete" % wid, {})
        self.assertIn(st, (200, 202), b)

        def completed():
            st2, _, x = self.sap.call("GET", path + "('%s')" % nid)
            return st2 == 200 and x["d"]["NotifProcessingPhase"] == "4"
        self.wait_for("the notification completed at SAP", completed, limit=60)

    def test_5_draft_request_waits_for_approval(self):
        self.wait_for("the full pass", self.full_pass_done, limit=180)
        st, _, wo = self.api("POST", "/v1/work-orders", {
            "asset_ref": "MS-000004", "provider_id": "sap_pm", "type": "corrective",
            "notes": "Check the clamp"})
        self.assertEqual(st, 201, wo)
        self.assertEqual(wo["common_status"], "draft")
        wid = wo["common_work_order_id"]
        path = NOTIF + "/MaintenanceNotification"

        def phase():
            w = self.get("/v1/work-orders/" + wid)
            if not w.get("source_work_order_id") or w.get("sync_state") != "synchronized":
                return None
            st2, _, x = self.sap.call("GET", path + "('%s')" % w["source_work_order_id"])
            return x["d"]["NotifProcessingPhase"] if st2 == 200 else None
        self.wait_for("the draft delivered", lambda: phase() is not None, limit=60)
        self.assertEqual(phase(), "1")  # created, not put in process
        st, _, b = self.api("POST", "/v1/work-orders/%s:submit" % wid, {})
        self.assertIn(st, (200, 202), b)
        self.wait_for("the approved request in process", lambda: phase() == "3", limit=60)

    def test_4_unmapped_phase_is_a_mapping_exception(self):
        def exceptions():
            st, _, b = self.api("GET", "/v1/mapping-exceptions?limit=200")
            self.assertEqual(st, 200, b)
            return [e for e in b["items"] if "phase '07'" in json.dumps(e)]
        self.wait_for("a mapping exception for phase 07", lambda: bool(exceptions()), limit=90)
        e = exceptions()[0]
        self.assertEqual(e["state"], "open")
        self.assertIn("order_phase_map", json.dumps(e))

    def test_6_hundred_thousand_increments(self):
        """100,000 increments of 1 in 10 NDJSON batches of 10,000 readings, over
        a few 1 s flush windows: SAP's counter ends at exactly baseline +
        100,000, in at most a few documents (one per flush window)."""
        self.wait_for("the full pass", self.full_pass_done, limit=180)
        ref, n_req, per_req = "MS-000006", 10, 10000
        eq = self.get("/v1/assets/" + ref)["links"][0]["native_id"]
        mp = self.counter_point(eq)
        base, _ = self.latest_total(mp)
        seq = self.requests()[-1]["seq"]
        line = json.dumps({"asset_ref": ref, "meter": "cycles", "increment": 1})
        body = "\n".join([line] * per_req) + "\n"
        t0 = time.monotonic()
        for _ in range(n_req):
            st, _, b = self.api("POST", "/v1/readings:batch", body,
                                {"Content-Type": "application/x-ndjson"})
            self.assertEqual(st, 202, b)
            self.assertEqual(b["accepted"], per_req, b)
            time.sleep(0.3)  # spread over a few flush windows (not an assertion)
        total = n_req * per_req

        def settled():
            return self.latest_total(mp)[0] >= base + total
        self.wait_for("SAP's counter to reach %d + %d" % (base, total), settled, limit=120)
        secs = time.monotonic() - t0
        time.sleep(2.5)  # nothing more may arrive (two flush windows)
        self.assertEqual(self.latest_total(mp)[0], base + total)
        posts = [r for r in self.requests(path=MD + "/MeasurementDocument", method="POST") if r["seq"] > seq]
        mine = [r for r in posts if isinstance(r.get("body"), dict)
                and r["body"].get("MeasuringPoint") == mp and r["status"] == 201]
        print("\nsap_pm usage: %d increments -> %d measurement documents in %.1f s (total %d + %d)" %
              (total, len(mine), secs, base, total))
        self.assertGreaterEqual(len(mine), 1)
        # one absolute reading per measuring point per 1 s flush window
        self.assertLessEqual(len(mine), int(secs) + 3, [r["body"] for r in mine])
        self.assertEqual(self.get("/v1/dead-letters")["items"], [])


if __name__ == "__main__":
    unittest.main()
