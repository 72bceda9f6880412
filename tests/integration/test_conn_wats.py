#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The WATS connector end to end, real processes only: `assetbridge serve`
with a `wats` provider pointing at `assetbridge sim wats` (docs/sim/wats.md).

- a full pull of 10,000 seeded assets, with the number of requests the pass
  cost printed (and bounded: at most 15);
- an incremental pull through /api/Asset/Log: an asset renamed at WATS
  reaches the hub without another full sweep;
- usage from POST /v1/readings reaches the simulator's totalCount exactly
  although the simulator drops the connection after applying a count,
  answers 503 and throttles (429): totals, never increments, so resends are
  harmless.

- the usage baseline: an asset WATS had counted to 500 before the hub
  linked it gets exactly 503 after +3 in the hub (provider_baseline = 500),
  also when the simulator drops the connection after applying the count;
- calibration recorded through POST /v1/assets/{ref}/calibration:record
  reaches WATS: on the 25.3 simulator, for a type whose interval is
  External, WATS's next calibration date is the hub's; on a second, older
  simulator (2025.2) WATS computes its own next date from the type's
  interval, which differs from the hub's: the item is done, not retried,
  and a mapping exception (reason due_date_mismatch) waits for a person.
Every test is skipped with a message when `assetbridge sim wats` is missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Service, run, write_file  # noqa: E402

TOKEN = "c2ltOnNpbS10b2tlbg=="  # the simulator's default API token, sent as issued
AUTH = {"Authorization": "Basic " + TOKEN}

CONFIG = """
tenants:
  default:
    providers:
      wats:
        type: wats
        base_url: http://%s
        auth: {scheme: token, token: "%s"}
        mode: write_back
        rate_limit: {requests_per_second: 50}
        entities:
          asset: {interval: 1s}
          report: {interval: 1s}
        usage:
          flush_window: 1s
          meters:
            cycles: {target: count}
        wats:
          calibration_external_types: [External DMM]
      wats_old:
        type: wats
        base_url: http://%s
        auth: {scheme: token, token: "%s"}
        mode: write_back
        rate_limit: {requests_per_second: 50}
        entities:
          asset: {interval: 1s}
"""

BASELINE_SERIAL = "AB-BASE-1"   # counted to 500 at WATS before the hub links it
EXTERNAL_SERIAL = "AB-EXT-1"    # a type with an External calibration interval (25.3)
OLD_SERIAL = "AB-OLD-1"         # on the 2025.2 simulator, 365-day interval


def start_sim(tmp, name, *args):
    err = open(os.path.join(tmp, name + ".err"), "w")
    sim = subprocess.Popen([BIN, "sim", "wats", "--listen", "127.0.0.1:0", "--seed", "7"] +
                           list(args), stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    line = sim.stdout.readline()
    assert line.startswith("listening on "), line
    return sim, line.split()[-1]


def seed_asset(addr, serial, type_name, interval=None, total=None):
    """A type (created when missing) and an asset of it at the simulator."""
    st, types = sim_call(addr, "GET", "/api/Asset/Types")
    assert st == 200, types
    hit = [t for t in types if t.get("typeName") == type_name]
    if hit:
        type_id = hit[0]["typeId"]
    else:
        body = {"typeName": type_name}
        if interval is not None:
            body["calibrationInterval"] = interval
        st, t = sim_call(addr, "PUT", "/api/Asset/Types", body=body)
        assert st == 200, t
        type_id = t["typeId"]
    st, b = sim_call(addr, "PUT", "/api/Asset", body={
        "serialNumber": serial, "typeId": type_id, "assetName": serial})
    assert st == 200, b
    if total is not None:
        st, b = sim_call(addr, "PUT", "/api/Asset/Count", {"serialNumber": serial,
                                                           "totalCount": str(total)})
        assert st == 200, b


def sim_available():
    if not os.path.exists(BIN):
        return "assetbridge binary %s not found" % BIN
    p = run("sim", "--list")
    if p.returncode != 0 or "wats" not in p.stdout:
        return "`assetbridge sim wats` is not available in this build"
    return None


def sim_call(addr, method, path, query=None, body=None, auth=True):
    url = "http://%s%s" % (addr, path)
    if query:
        url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    data = json.dumps(body).encode() if body is not None else None
    hdrs = dict(AUTH) if auth else {}
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


@unittest.skipIf(sim_available() is not None, sim_available() or "")
class WatsConnectorEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ab-wats-")
        cls.sim, cls.addr = start_sim(cls.tmp, "sim", "--assets", "10000")
        cls.old, cls.old_addr = start_sim(cls.tmp, "old", "--assets", "1",
                                          "--server-version", "2025.2.0.1")
        # before the hub sees them: an asset WATS counted to 500, one of a
        # type with an External calibration interval (25.3), one on the old
        # server whose type has a 365-day interval
        seed_asset(cls.addr, BASELINE_SERIAL, "Baseline fixture", total=500)
        seed_asset(cls.addr, EXTERNAL_SERIAL, "External DMM", interval=-2)
        seed_asset(cls.old_addr, OLD_SERIAL, "Yearly DMM", interval=365)
        st, b = sim_call(cls.addr, "GET", "/_sim/requests", auth=False)
        assert st == 200, b
        cls.seed_seq = b["items"][-1]["seq"] if b["items"] else 0
        cfg = write_file(cls.tmp, "cfg.yaml", CONFIG % (cls.addr, TOKEN, cls.old_addr, TOKEN))
        cls.s = Service(config=cfg).start()
        p = run("apikey", "create", "--config", cfg, "--data-dir", cls.s.data_dir, "--tenant",
                "default", "--scopes", "admin")
        assert p.returncode == 0, p.stderr
        cls.key = p.stdout.rstrip("\n").splitlines()[-1]

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        for sim in (cls.sim, cls.old):
            sim.terminate()
            sim.wait(timeout=10)
            sim.stdout.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers -------------------------------------------------------------------

    def api(self, method, path, body=None):
        return self.s.request(method, path, body=body, headers={"Authorization": "Bearer " + self.key})

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
        self.fail("timed out waiting for " + what + "\n" + self.s.stderr()[-3000:])

    def requests(self, path=None, method=None):
        q = {}
        if path:
            q["path"] = path
        if method:
            q["method"] = method
        st, b = sim_call(self.addr, "GET", "/_sim/requests", q, auth=False)
        self.assertEqual(st, 200, b)
        return b["items"]

    def sim_asset(self, serial, addr=None):
        st, b = sim_call(addr or self.addr, "GET", "/api/Asset",
                         {"$filter": "serialNumber eq '%s'" % serial})
        self.assertEqual(st, 200, b)
        return b[0] if b else None

    def full_pass_done(self):
        rows = self.get("/v1/sync-state")["items"]
        return any(r["entity"] == "asset" and r["pulled"] >= 10000 and r.get("watermark")
                   for r in rows)

    # ---- tests ------------------------------------------------------------------------

    def test_1_full_pull_request_count(self):
        self.wait_for("10,000 assets pulled", self.full_pass_done, limit=300)
        page = self.get("/v1/assets?limit=5")
        self.assertEqual(len(page["items"]), 5)
        ref = page["items"][0]["asset_ref"]
        detail = self.get("/v1/assets/" + ref)
        self.assertEqual(detail["links"][0]["provider"], "wats")
        self.assertIn("wats_total_count", detail.get("attributes", {}))
        
        # the requests of the first pass: everything before the first log read
        # that carries a filter (the first incremental pull)
        reqs = self.requests()
        first_pass = []
        for r in reqs:
            if r["seq"] <= self.seed_seq:
                continue  # the test's own seeding
            if r["path"] == "/api/Asset/Log" and "filter" in (r.get("query") or ""):
                break
            if r["path"].startswith("/api/"):
                first_pass.append(r)
        by_path = {}
        for r in first_pass:
            by_path[r["path"]] = by_path.get(r["path"], 0) + 1
        print("\nwats full pass of 10,003 assets: %d requests %s" % (len(first_pass), by_path))
        self.assertLessEqual(len(first_pass), 15)
        self.assertLessEqual(by_path.get("/api/Asset", 0), 11)
        self.assertEqual(by_path.get("/api/Asset/Status", 0), 0)
        # (after the count: these queries are the test's own)
        # the hierarchy from parentSerialNumber, resolved through the links
        st, kids = sim_call(self.addr, "GET", "/api/Asset",
                            query={"$filter": "parentSerialNumber ne null", "$top": "3"})
        self.assertEqual(st, 200, kids)
        self.assertTrue(kids, "the simulator seeds sub-assets")
        for kid in kids:
            child = self.get("/v1/assets:lookup?provider=wats&native_id=" + kid["serialNumber"])
            parent = self.get("/v1/assets:lookup?provider=wats&native_id=" +
                              kid["parentSerialNumber"])
            self.assertEqual(self.get("/v1/assets/" + child["asset_ref"]).get("parent"),
                             parent["asset_ref"], kid)

    def test_2_incremental_through_the_log(self):
        self.wait_for("the full pass", self.full_pass_done, limit=300)
        serial = self.get("/v1/assets?limit=1")["items"][0]["serial_number"]
        a = self.sim_asset(serial)
        seq_before = self.requests()[-1]["seq"]
        st, b = sim_call(self.addr, "PUT", "/api/Asset", body={
            "assetId": a["assetId"], "serialNumber": serial, "typeId": a["typeId"],
            "assetName": "renamed at WATS"})
        self.assertEqual(st, 200, b)

        def renamed():
            items = self.get("/v1/assets?limit=200")["items"]
            hit = [x for x in items if x.get("serial_number") == serial]
            return hit and hit[0].get("name") == "renamed at WATS"
        self.wait_for("the rename in the hub", renamed, limit=60)
        later = [r for r in self.requests() if r["seq"] > seq_before]
        # it came through the log: a lookup by serial number, no sweep of the list
        sweeps = [r for r in later if r["path"] == "/api/Asset" and "orderby" in (r.get("query") or "")]
        self.assertEqual(sweeps, [], "a full sweep ran instead of the log")
        self.assertTrue(any(r["path"] == "/api/Asset/Log" for r in later))
        self.assertTrue(any(r["path"] == "/api/Asset/Status" for r in later))

    def test_3_usage_totals_under_faults(self):
        self.wait_for("the full pass", self.full_pass_done, limit=300)
        # a new asset at WATS (total 0), so the hub's total is WATS's total
        st, types = sim_call(self.addr, "GET", "/api/Asset/Types")
        self.assertEqual(st, 200, types)
        serial = "AB-USAGE-1"
        st, b = sim_call(self.addr, "PUT", "/api/Asset", body={
            "serialNumber": serial, "typeId": types[0]["typeId"], "assetName": "usage probe"})
        self.assertEqual(st, 200, b)

        def linked():
            st2, _, d = self.api("GET", "/v1/assets/" + serial)
            return st2 == 200
        self.wait_for("the new asset pulled", linked, limit=60)
        # the count is applied but the answer lost, then a 503, a 500, a reset
        # before anything is applied, and a 429
        for rule in ({"match": {"method": "PUT", "path": "/api/Asset/Count"},
                      "action": "reset_after_apply", "count": 1},
                     {"match": {"method": "PUT", "path": "/api/Asset/Count"},
                      "action": "status", "status": 503, "count": 1},
                     {"match": {"method": "PUT", "path": "/api/Asset/Count"},
                      "action": "status", "status": 500, "count": 1},
                     {"match": {"method": "PUT", "path": "/api/Asset/Count"},
                      "action": "reset", "count": 1},
                     {"match": {"method": "PUT", "path": "/api/Asset/Count"},
                      "action": "status", "status": 429, "count": 1}):
            st, b = sim_call(self.addr, "POST", "/_sim/faults", body=rule, auth=False)
            self.assertEqual(st, 201, b)
        total = 0
        for i in range(12):
            st, _, b = self.api("POST", "/v1/readings", {"asset_ref": serial, "meter": "cycles",
                                                        "increment": 1 + i % 3})
            self.assertEqual(st, 202, b)
            total += 1 + i % 3
            time.sleep(0.3)  # spread over several flush windows (not an assertion)

        def settled():
            a = self.sim_asset(serial)
            return a and a.get("totalCount") == total
        self.wait_for("WATS's total to reach the hub's %d" % total, settled, limit=120)
        self.assertEqual(self.get("/v1/dead-letters")["items"], [])
        counts = self.requests(path="/api/Asset/Count", method="PUT")
        self.assertTrue(counts)
        for r in counts:
            self.assertIn("totalCount=", r["query"])
            self.assertNotIn("incrementBy", r["query"])
        st, faults = sim_call(self.addr, "GET", "/_sim/faults", auth=False)
        self.assertTrue(all(f["fired"] >= 1 for f in faults["items"]), faults)
        # nothing more arrives: the total stays exact
        time.sleep(2)
        self.assertEqual(self.sim_asset(serial)["totalCount"], total)
        self.assertEqual(self.sim_asset(serial)["runningCount"], total)

    def linked(self, ref):
        st, _, d = self.api("GET", "/v1/assets/" + ref)
        return st == 200 and bool(d.get("links"))

    def test_4_usage_baseline(self):
        self.wait_for("the full pass", self.full_pass_done, limit=300)
        self.wait_for("the counted asset linked", lambda: self.linked(BASELINE_SERIAL), limit=60)
        self.assertEqual(self.sim_asset(BASELINE_SERIAL)["totalCount"], 500)
        # the count is applied but the answer is lost: resolve, then the same total again
        st, b = sim_call(self.addr, "POST", "/_sim/faults", body={
            "match": {"method": "PUT", "path": "/api/Asset/Count"},
            "action": "reset_after_apply", "count": 1}, auth=False)
        self.assertEqual(st, 201, b)
        seq_before = self.requests()[-1]["seq"]
        st, _, b = self.api("POST", "/v1/readings", {"asset_ref": BASELINE_SERIAL,
                                                    "meter": "cycles", "increment": 3})
        self.assertEqual(st, 202, b)

        def settled():
            return self.sim_asset(BASELINE_SERIAL)["totalCount"] == 503
        self.wait_for("WATS's total to reach 500 + 3", settled, limit=120)
        counts = [r for r in self.requests(path="/api/Asset/Count", method="PUT")
                  if r["seq"] > seq_before and BASELINE_SERIAL in (r.get("query") or "")]
        self.assertTrue(counts)
        for r in counts:
            self.assertIn("totalCount=503", r["query"])
        self.assertEqual(self.get("/v1/dead-letters")["items"], [])
        time.sleep(2)  # nothing more arrives (not a timing assertion)
        self.assertEqual(self.sim_asset(BASELINE_SERIAL)["totalCount"], 503)

    def record_calibration(self, ref, performed, due):
        st, _, b = self.api("POST", "/v1/assets/%s/calibration:record" % ref, {
            "performed_at": performed, "result": "in_tolerance", "next_due_at": due})
        self.assertEqual(st, 200, b)

    def test_5_calibration_external_on_25_3(self):
        self.wait_for("the External asset linked", lambda: self.linked(EXTERNAL_SERIAL), limit=300)
        self.record_calibration(EXTERNAL_SERIAL, "2026-01-10T09:00:00Z", "2026-04-10T09:00:00Z")

        def landed():
            a = self.sim_asset(EXTERNAL_SERIAL)
            return (a.get("nextCalibrationDate") or "").startswith("2026-04-10T09:00:00")
        self.wait_for("the next due date in WATS", landed, limit=60)
        self.assertTrue((self.sim_asset(EXTERNAL_SERIAL).get("lastCalibrationDate") or "")
                        .startswith("2026-01-10T09:00:00"))
        ext = self.requests(path="/api/Asset/Calibration/External", method="POST")
        self.assertEqual(len(ext), 1, ext)
        self.assertIn("toDate=2026-04-10T09%3A00%3A00Z", ext[0]["query"])
        self.assertEqual(self.get("/v1/dead-letters")["items"], [])

    def test_6_calibration_mismatch_on_old_server(self):
        self.wait_for("the old server's asset linked", lambda: self.linked(OLD_SERIAL), limit=120)
        self.record_calibration(OLD_SERIAL, "2026-01-10T09:00:00Z", "2026-02-10T09:00:00Z")

        def recorded():
            a = self.sim_asset(OLD_SERIAL, self.old_addr)
            return (a.get("lastCalibrationDate") or "").startswith("2026-01-10T09:00:00")
        self.wait_for("the calibration recorded at the old server", recorded, limit=60)
        # WATS computed its own next date (+365 d), not the hub's
        self.assertTrue(self.sim_asset(OLD_SERIAL, self.old_addr)["nextCalibrationDate"]
                        .startswith("2027-01-10"))

        def exception():
            items = self.get("/v1/mapping-exceptions?state=open")["items"]
            return [e for e in items if e.get("reason") == "due_date_mismatch"
                    and e.get("provider") == "wats_old"]
        self.wait_for("a due_date_mismatch mapping exception", exception, limit=60)
        e = exception()[0]
        self.assertEqual(e["native_id"], OLD_SERIAL)
        self.assertIn("2027-01-10", e["message"])
        self.assertIn("2026-02-10", e["message"])
        # done, not retried, not dead
        self.assertEqual(self.get("/v1/dead-letters")["items"], [])
        st, b = sim_call(self.old_addr, "GET", "/_sim/effects", auth=False)
        self.assertEqual(b.get("calibrations_recorded"), 1, b)


    def test_7_report_uses_without_double_counting(self):
        """A test report posted to WATS counts there (the server adds its
        asset usage); the hub takes it in as per-asset uses with the result,
        and neither counts it again nor pushes it back."""
        self.wait_for("the full pass", self.full_pass_done, limit=300)
        self.wait_for("the counted asset linked", lambda: self.linked(BASELINE_SERIAL), limit=60)
        self.wait_for("the report cursor", lambda: any(
            r["entity"] == "report" and r.get("last_success_at")
            for r in self.get("/v1/sync-state")["items"]), limit=60)
        total = self.sim_asset(BASELINE_SERIAL)["totalCount"]
        meters_before = self.get("/v1/assets/%s/meters" % BASELINE_SERIAL)["items"]
        report = {"type": "T", "id": str(uuid.uuid4()), "pn": "PCBA-100", "sn": "UUT-R1",
                  "rev": "A", "processCode": 10, "processName": "ICT", "result": "F",
                  "machineName": "ICT-01", "location": "Line 3", "purpose": "Production",
                  "start": "2026-01-01T08:00:00+01:00",
                  "uut": {"fixtureId": "FX-1", "user": "operator", "execTime": 12.5},
                  "assets": [{"assetSN": BASELINE_SERIAL, "usageCount": 7}]}
        st, b = sim_call(self.addr, "POST", "/api/Report/WSJF", body=report)
        self.assertIn(st, (200, 201), b)
        self.assertEqual(self.sim_asset(BASELINE_SERIAL)["totalCount"], total + 7)

        db = os.path.join(self.s.data_dir, "assetbridge.db")

        def uses():
            import sqlite3
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
            try:
                return con.execute("SELECT doc FROM objects WHERE kind = 'report'"
                                   " AND asset_ref = ?", (BASELINE_SERIAL,)).fetchall()
            finally:
                con.close()
        self.wait_for("the report's use of the asset in the hub", lambda: len(uses()) == 1,
                      limit=60)
        use = json.loads(uses()[0][0])
        self.assertEqual(use.get("counted_by"), "wats", use)
        self.assertIn("F", json.dumps(use))  # the result travels with the use
        # not a reading: the hub's meters are as they were, nothing is pushed
        time.sleep(2)  # a further pull and flush window (not a timing assertion)
        self.assertEqual(self.get("/v1/assets/%s/meters" % BASELINE_SERIAL)["items"],
                         meters_before)
        self.assertEqual(self.sim_asset(BASELINE_SERIAL)["totalCount"], total + 7)
        self.assertEqual(len(uses()), 1)


if __name__ == "__main__":
    unittest.main()
