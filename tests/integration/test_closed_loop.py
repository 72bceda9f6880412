#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The rules issue's story end to end, real processes only: `assetbridge
serve` with a `wats` provider on `assetbridge sim wats` and a `sap_pm`
provider on `assetbridge sim sap_pm`, all three on fake clocks moved
together (POST /_test/clock). SAP is the system of record for asset master
data, calibration, maintenance and work orders at plant 1010; WATS mirrors.

1. A multimeter (WATS type with an External calibration interval, linked to
   SAP equipment by its serial number) calibrated on day 0 with a 100-day
   interval: on day 91 calibration.due, and exactly one SAP notification,
   also across a SIGKILL of the service and a restart.
2. Day 101: calibration.overdue; the station lockout sets the WATS asset In
   Calibration (state 4); SAP's notification, past its required end date,
   raises work_order.sla_breached once.
3. The notification completed in SAP on day 103: the calibration is recorded
   in WATS with the next due date 100 days after the completion (External
   endpoint), the certificate reference in its comment and an asset-log
   message, the running count reset, the lockout lifted (state 1 again),
   calibration.completed once; the request is closed and nothing repeats.
4. Usage passing an SAP plan's next counter reading (in SAP's counter terms)
   opens a maintenance request: a second SAP notification.
5. A fixture failing most of its uses in WATS test reports: asset.out_of_spec
   and a corrective SAP notification whose long text names the reports.
6. Equipment created in SAP is registered in WATS and linked at creation.
Every test is skipped with a message when a simulator is missing."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Service, run, write_file  # noqa: E402

T0 = "2026-01-05T00:00:00Z"
WATS_TOKEN = "c2ltOnNpbS10b2tlbg=="  # the simulator's default API token (not a secret)
WATS_AUTH = {"Authorization": "Basic " + WATS_TOKEN}
SAP_AUTH = {"Authorization": "Basic U0lNVVNFUjpzaW0tcGFzc3dvcmQ=",  # SIMUSER:sim-password
            "Accept": "application/json"}
NOTIF = "/sap/opu/odata/sap/API_MAINTNOTIFICATION"
EQUIP = "/sap/opu/odata/sap/API_EQUIPMENT"
DMM = "MS-000001"      # SAP equipment 10000001; WATS Digital multimeter
FIXTURE = "MS-000003"  # SAP equipment 10000003; WATS ICT fixture
PLANNED = "MS-000002"  # SAP equipment 10000002; plan 2 every 10,000 EA on its counter

CONFIG = """
tenants:
  default:
    providers:
      wats:
        type: wats
        base_url: http://%(wats)s
        auth: {scheme: token, token: "%(token)s"}
        mode: write_back
        rate_limit: {requests_per_second: 200}
        entities:
          asset: {interval: 1s}
          report: {interval: 1s}
        wats:
          calibration_external_types: [Digital multimeter]
          register_types: ["station=Test station", "instrument=Digital multimeter"]
      sap_pm:
        type: sap_pm
        base_url: http://%(sap)s
        auth: {scheme: basic, user: SIMUSER, password: sim-password}
        mode: write_back
        rate_limit: {requests_per_second: 200}
        entities:
          asset: {interval: 1s}
          notification: {interval: 1s}
          maintenance_plan: {interval: 1s}
          meter: {interval: 1h}
        usage:
          flush_window: 1s
          meters:
            cycles: {target: CYCLES}
        sap_pm:
          sap_client: "100"
    system_of_record:
      plant-1010: {asset_master: sap_pm, calibration: sap_pm, maintenance: sap_pm,
                   work_orders: sap_pm}
    sites:
      plant-1010:
        value_maps:
          plant: {"1010": plant-1010}
          object_type: {MACH: station, TEST: station}
          meter: {CYCLES: cycles}
    rules:
      evaluate_every: 5s
      calibration: {interval_days: 100, due_soon_pct: 90, lockout: true,
                    reset_running_count: true}
      # min_uses 8: test 5 posts 8 reports and expects the evidence of all 8; with
      # fewer, a pull that lands mid-posting lets the rule fire early (rightly: 3 of 5)
      failure_rate: {enabled: true, window: 10, min_uses: 8, threshold_pct: 30,
                     asset_types: [station, fixture, instrument]}
      sla: {work_orders: true}
"""


def ext_ref(key):
    """The SAP connector's external reference of a request: "AB" + FNV-1a 64
    of its idempotency key (conn_sap_pm_ext_ref)."""
    h = 14695981039346656037
    for b in key.encode():
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "AB%016X" % h


def sims_available():
    if not os.path.exists(BIN):
        return "assetbridge binary %s not found" % BIN
    p = run("sim", "--list")
    if p.returncode != 0 or "wats" not in p.stdout or "sap_pm" not in p.stdout:
        return "`assetbridge sim wats` and `sim sap_pm` are not both in this build"
    return None


def http(addr, method, path, query=None, body=None, headers=None):
    url = "http://%s%s" % (addr, path)
    if query:
        url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    data = json.dumps(body).encode() if body is not None else None
    h = dict(headers or {})
    if data is not None:
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, dict(r.headers), json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")


def start_sim(tmp, kind, *args):
    err = open(os.path.join(tmp, kind + ".err"), "w")
    p = subprocess.Popen([BIN, "sim", kind, "--listen", "127.0.0.1:0", "--seed", "7",
                          "--fake-clock", T0] + list(args),
                         stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    line = p.stdout.readline()
    assert line.startswith("listening on "), line
    return p, line.split()[-1]


@unittest.skipIf(sims_available() is not None, sims_available() or "")
class ClosedLoop(unittest.TestCase):
    """One story in numbered steps (the class runs them in order)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ab-loop-")
        cls.wats_p, cls.wats = start_sim(cls.tmp, "wats", "--assets", "5")
        cls.sap_p, cls.sap = start_sim(cls.tmp, "sap_pm", "--assets", "6")
        cls.csrf = None
        # the WATS side of the shared equipment: same serial numbers as SAP's
        cls.wats_asset(DMM, "Digital multimeter")
        cls.wats_asset(FIXTURE, "ICT fixture")
        cls.cfg = write_file(cls.tmp, "cfg.yaml", CONFIG % {
            "wats": cls.wats, "sap": cls.sap, "token": WATS_TOKEN})
        cls.data = os.path.join(cls.tmp, "data")
        cls.s = None
        cls.start_service(T0)
        p = run("apikey", "create", "--config", cls.cfg, "--data-dir", cls.data, "--tenant",
                "default", "--scopes", "admin")
        assert p.returncode == 0, p.stderr
        cls.key = p.stdout.rstrip("\n").splitlines()[-1]
        cls.auth = {"Authorization": "Bearer " + cls.key}

    @classmethod
    def tearDownClass(cls):
        if cls.s:
            cls.s.__exit__(None, None, None)
        for p in (cls.wats_p, cls.sap_p):
            p.terminate()
            p.wait(timeout=10)
            p.stdout.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- plumbing -------------------------------------------------------------------

    @classmethod
    def start_service(cls, at):
        cls.s = Service("--fake-clock", at, config=cls.cfg, data_dir=cls.data).start()

    @classmethod
    def wats_asset(cls, serial, type_name):
        st, _, types = http(cls.wats, "GET", "/api/Asset/Types", headers=WATS_AUTH)
        assert st == 200, types
        tid = [t["typeId"] for t in types if t["typeName"] == type_name][0]
        st, _, b = http(cls.wats, "PUT", "/api/Asset", body={
            "serialNumber": serial, "typeId": tid, "assetName": serial,
            "location": "Plant 1010"}, headers=WATS_AUTH)
        assert st == 200, b

    def wats_get(self, serial):
        st, _, b = http(self.wats, "GET", "/api/Asset", query={
            "$filter": "serialNumber eq '%s'" % serial}, headers=WATS_AUTH)
        self.assertEqual(st, 200, b)
        return b[0] if b else None

    def wats_log(self, serial):
        st, _, b = http(self.wats, "GET", "/api/Asset/Log", query={
            "$filter": "serialNumber eq '%s'" % serial, "$orderby": "date desc"},
            headers=WATS_AUTH)
        self.assertEqual(st, 200, b)
        return b

    def sap_write(self, method, path, query=None, body=None):
        if not self.csrf:
            st, h, _ = http(self.sap, "GET", EQUIP + "/",
                            headers=dict(SAP_AUTH, **{"X-CSRF-Token": "Fetch"}))
            self.__class__.csrf = ({k.lower(): v for k, v in h.items()}.get("x-csrf-token"),
                                   h.get("Set-Cookie", "").split(";")[0])
        tok, cookie = self.csrf
        return http(self.sap, method, path, query, body,
                    dict(SAP_AUTH, **{"X-CSRF-Token": tok, "Cookie": cookie}))

    def sap_effects(self):
        return http(self.sap, "GET", "/_sim/effects")[2]

    def notifications(self, key):
        """SAP's notifications opened for the request of idempotency key."""
        st, _, b = http(self.sap, "GET", NOTIF + "/MaintenanceNotification", query={
            "$filter": "MaintNotifExtReferenceNumber eq '%s'" % ext_ref(key)}, headers=SAP_AUTH)
        self.assertEqual(st, 200, b)
        return b["d"]["results"] if isinstance(b.get("d"), dict) else b["d"]

    def request_key(self, kind, subject):
        rows = self.db("SELECT request_key FROM rule_state WHERE kind = ? AND subject = ?"
                       " AND request_key IS NOT NULL", kind, subject)
        return rows[0][0] if rows else None

    def db(self, sql, *args):
        con = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data, "assetbridge.db"),
                              uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def count(self, sql, *args):
        return self.db(sql, *args)[0][0]

    def events(self, type_, subject=None):
        if subject:
            return self.count("SELECT COUNT(*) FROM events WHERE type = ? AND subject = ?",
                              type_, subject)
        return self.count("SELECT COUNT(*) FROM events WHERE type = ?", type_)

    def wait_for(self, what, fn, limit=60):
        deadline = time.monotonic() + limit
        last = None
        while time.monotonic() < deadline:
            try:
                last = fn()
                if last:
                    return last
            except (sqlite3.Error, OSError, KeyError, IndexError, TypeError) as e:
                last = e
            time.sleep(0.2)
        self.fail("timed out waiting for %s (last: %r)\nservice log tail:\n%s" % (
            what, last, "\n".join(self.s.stderr().splitlines()[-30:])))

    def advance(self, duration):
        """Move the three clocks by duration (ISO 8601), the simulators first."""
        for addr in (self.wats, self.sap):
            st, _, b = http(addr, "POST", "/_test/clock", body={"advance": duration})
            self.assertEqual(st, 200, b)
        st, _, b = self.s.request("POST", "/_test/clock", body={"advance": duration},
                                  headers=self.auth)
        self.assertEqual(st, 200, b)
        return b["now"]

    def api(self, method, path, body=None):
        st, _, b = self.s.request(method, path, body=body, headers=self.auth)
        return st, b

    # ---- the story ----------------------------------------------------------------------

    def test_1_calibration_falls_due_one_notification_across_a_restart(self):
        self.wait_for("the multimeter linked to both", lambda: self.count(
            "SELECT COUNT(DISTINCT provider) FROM asset_links WHERE asset_ref = ?", DMM) == 2)
        self.wait_for("the fixture linked to both", lambda: self.count(
            "SELECT COUNT(DISTINCT provider) FROM asset_links WHERE asset_ref = ?", FIXTURE) == 2)
        st, b = self.api("POST", "/v1/assets/%s/calibration:record" % DMM, {
            "performed_at": T0, "result": "in_tolerance", "as_found": "in_tolerance"})
        self.assertEqual(st, 200, b)
        self.assertEqual(b["due_at"][:10], "2026-04-15", b)  # the rules' 100 days
        self.wait_for("the calibration watched", lambda: self.count(
            "SELECT COUNT(*) FROM rule_state WHERE kind = 'calibration' AND subject = ?", DMM))
        self.advance("P91D")
        self.wait_for("calibration.due", lambda: self.events("calibration.due", "asset/" + DMM))
        key = self.wait_for("the request", lambda: self.request_key("calibration", DMM))
        self.assertEqual(key, "rule:calibration:%s:calibration:2026-04-15T00:00:00Z" % DMM)
        self.__class__.cal_key = key
        self.wait_for("the SAP notification", lambda: len(self.notifications(key)) == 1)
        n = self.notifications(key)[0]
        self.assertEqual(n["TechnicalObject"], "10000001", n)
        self.assertEqual(n["NotifProcessingPhase"], "3", n)  # put in process (write_back)
        # SIGKILL and a restart: the state is in the store; nothing repeats
        now = self.s.request("GET", "/_test/clock", headers=self.auth)[2]["now"]
        self.s.stop(sig=signal.SIGKILL)
        self.__class__.s = None
        self.start_service(now)
        self.wait_for("the rules running again", lambda: "rules engine started"
                      in self.s.stderr())
        self.advance("PT1M")
        marker = self.count("SELECT COALESCE(MAX(seq), 0) FROM events")
        # two full passes since (evaluate_every 5 s of clock time)
        self.advance("PT10S")
        self.wait_for("a pass after the restart", lambda: self.count(
            "SELECT COUNT(*) FROM rule_state WHERE kind = 'calibration' AND subject = ?"
            " AND updated_at > 0", DMM))
        created = self.sap_effects().get("notifications_created")
        time.sleep(2.5)
        self.assertEqual(len(self.notifications(key)), 1)
        self.assertEqual(self.sap_effects().get("notifications_created"), created)
        self.assertEqual(self.events("calibration.due", "asset/" + DMM), 1)
        self.assertEqual(self.count("SELECT COUNT(*) FROM events WHERE seq > ? AND type ="
                                    " 'calibration.due'", marker), 0)

    def test_2_overdue_locks_the_station_and_breaches_the_sla(self):
        self.advance("P10D")  # day 101: past the due date (2026-04-15)
        self.wait_for("calibration.overdue",
                      lambda: self.events("calibration.overdue", "asset/" + DMM))
        self.wait_for("the WATS asset In Calibration", lambda: self.wats_get(DMM)["state"] == 4)
        self.assertEqual(self.count("SELECT COUNT(*) FROM audit WHERE action = 'asset.lockout'"
                                    " AND subject = ?", "asset/" + DMM), 1)
        # SAP's notification, pulled back with its required end date (the due
        # date), is open past it: work_order.sla_breached, once
        wo = self.wait_for("the notification in the hub", lambda: self.db(
            "SELECT id FROM objects WHERE kind = 'notification' AND asset_ref = ?"
            " AND json_extract(doc, '$.sap_external_reference') = ?", DMM,
            ext_ref(self.cal_key)))
        subject = "work-order/" + wo[0][0]
        self.wait_for("work_order.sla_breached",
                      lambda: self.events("work_order.sla_breached", subject))
        self.advance("PT30S")
        time.sleep(2)
        self.assertEqual(self.events("work_order.sla_breached", subject), 1)
        self.assertEqual(len(self.notifications(self.cal_key)), 1)
        st, _, text = self.s.request("GET", "/metrics", headers=self.auth)
        self.assertEqual(st, 200, text)
        self.assertRegex(text, r'assetbridge_work_orders_past_sla\{tenant="default"\} [1-9]')

    def test_3_completed_in_sap_recorded_in_wats_and_lockout_lifted(self):
        self.advance("P2D")  # day 103
        n = self.notifications(self.cal_key)[0]
        before = self.wats_get(DMM)
        resets = http(self.wats, "GET", "/_sim/effects")[2].get("running_count_resets", 0)
        st, _, b = self.sap_write("POST", NOTIF + "/CompleteMaintNotification", query={
            "MaintenanceNotification": "'%s'" % n["MaintenanceNotification"],
            "NotificationReferenceDate": "datetime'2026-04-18T00:00'",
            "NotificationReferenceTime": "time'PT09H30M00S'"})
        self.assertEqual(st, 200, b)
        self.wait_for("the request closed", lambda: self.count(
            "SELECT COUNT(*) FROM rule_state WHERE kind = 'calibration' AND subject = ?"
            " AND request_closed_at IS NOT NULL", DMM))
        # WATS: the calibration with SAP's completion and the next due date
        # 100 days later through the External endpoint
        after = self.wait_for("the calibration in WATS", lambda: (
            lambda a: a if (a.get("lastCalibrationDate") or "").startswith("2026-04-18")
            and a.get("lastCalibrationDate") != before.get("lastCalibrationDate") else None)(
                self.wats_get(DMM)))
        self.assertTrue(after["nextCalibrationDate"].startswith("2026-07-27"), after)
        log = self.wats_log(DMM)
        cal = [e for e in log if e.get("type") == 4]
        self.assertTrue(cal and n["MaintenanceNotification"] in cal[0].get("comment", ""), log)
        self.wait_for("the asset-log message", lambda: any(
            e.get("type") == 0 and n["MaintenanceNotification"] in (e.get("comment") or "")
            for e in self.wats_log(DMM)))
        self.wait_for("the running count reset", lambda: http(
            self.wats, "GET", "/_sim/effects")[2].get("running_count_resets", 0) == resets + 1)
        # the new due date: ok again, the station back In Operation
        self.wait_for("the lockout lifted", lambda: self.wats_get(DMM)["state"] == 1)
        self.assertEqual(self.count("SELECT COUNT(*) FROM audit WHERE action ="
                                    " 'asset.lockout_release' AND subject = ?", "asset/" + DMM), 1)
        self.assertEqual(self.count("SELECT COUNT(*) FROM events WHERE type ="
                                    " 'calibration.completed' AND json_extract(payload,"
                                    " '$.origin') = 'sap_pm'"), 1)
        # nothing repeats on later passes
        self.advance("PT1M")
        time.sleep(2)
        self.assertEqual(http(self.wats, "GET", "/_sim/effects")[2].get(
            "running_count_resets", 0), resets + 1)
        self.assertEqual(len([e for e in self.wats_log(DMM) if e.get("type") == 4]), len(cal))
        self.assertEqual(self.count("SELECT COUNT(*) FROM outbox WHERE state = 'dead'"), 0)

    def test_4_usage_past_the_plan_opens_maintenance(self):
        plan = self.wait_for("SAP's counter plan in the hub", lambda: self.db(
            "SELECT json_extract(doc, '$.next_due_reading'), json_extract(doc, '$.plan_id')"
            " FROM objects WHERE kind = 'maintenance_plan' AND asset_ref = ?"
            " AND json_extract(doc, '$.trigger') = 'usage'", PLANNED))
        next_reading, plan_id = plan[0]
        base = self.wait_for("the usage baseline at SAP", lambda: self.db(
            "SELECT baseline FROM usage_baselines WHERE provider = 'sap_pm' AND asset_ref = ?"
            " AND meter = 'cycles'", PLANNED))[0][0]
        # in SAP's counter terms: baseline + the hub's value; stop just short first
        st, b = self.api("POST", "/v1/readings", {"asset_ref": PLANNED, "meter": "cycles",
                                                   "value": next_reading - base - 1})
        self.assertEqual(st, 202, b)
        self.advance("PT10S")
        time.sleep(2)
        self.assertEqual(self.events("maintenance.due", "asset/" + PLANNED), 0)
        st, b = self.api("POST", "/v1/readings", {"asset_ref": PLANNED, "meter": "cycles",
                                                   "value": next_reading - base + 5})
        self.assertEqual(st, 202, b)
        self.wait_for("maintenance.due",
                      lambda: self.events("maintenance.due", "asset/" + PLANNED))
        key = self.wait_for("the request", lambda: self.request_key("maintenance", PLANNED))
        self.wait_for("the maintenance notification", lambda: self.notifications(key))
        self.assertTrue(key and key.startswith("rule:maintenance:%s:%s:reading:" % (
            PLANNED, plan_id)), key)
        ours = self.notifications(key)
        self.assertEqual(len(ours), 1, ours)
        self.assertEqual(ours[0]["TechnicalObject"], "10000002", ours)
        self.assertIn(plan_id, ours[0]["NotificationText"] + ours[0].get(
            "MaintNotifLongTextForEdit", ""))

    def test_5_failing_fixture_opens_a_corrective_request(self):
        self.wait_for("the report cursor", lambda: self.count(
            "SELECT COUNT(*) FROM sync_state WHERE provider = 'wats' AND entity = 'report'"
            " AND last_success_at IS NOT NULL"))
        created = self.sap_effects().get("notifications_created", 0)
        ids = []
        for i, result in enumerate("PPFFFPFF"):
            rid = str(uuid.uuid4())
            ids.append(rid)
            report = {"type": "T", "id": rid, "pn": "PCBA-100", "sn": "UUT-%d" % i, "rev": "A",
                      "processCode": 10, "processName": "ICT", "result": result,
                      "machineName": "ICT-01", "location": "Line 3", "purpose": "Production",
                      "start": "2026-04-18T10:%02d:00Z" % i,
                      "uut": {"fixtureId": FIXTURE, "user": "operator", "execTime": 12.5},
                      "assets": [{"assetSN": FIXTURE, "usageCount": 1}]}
            st, _, b = http(self.wats, "POST", "/api/Report/WSJF", body=report,
                            headers=WATS_AUTH)
            self.assertIn(st, (200, 201), b)
        self.wait_for("the uses in the hub", lambda: self.count(
            "SELECT COUNT(*) FROM objects WHERE kind = 'report' AND asset_ref = ?",
            FIXTURE) == 8)
        self.wait_for("asset.out_of_spec",
                      lambda: self.events("asset.out_of_spec", "asset/" + FIXTURE))
        ev = json.loads(self.db("SELECT payload FROM events WHERE type = 'asset.out_of_spec'")
                        [0][0])
        self.assertEqual((ev["uses"], ev["failures"]), (8, 5), ev)
        self.wait_for("the corrective notification", lambda: self.sap_effects().get(
            "notifications_created", 0) == created + 1)
        key = self.request_key("condition", FIXTURE)
        self.assertEqual(key, "rule:condition:%s:failure_rate:start" % FIXTURE)
        ours = self.notifications(key)
        self.assertEqual(len(ours), 1, ours)
        self.assertEqual(ours[0]["TechnicalObject"], "10000003", ours)
        text = ours[0]["NotificationText"] + (ours[0].get("MaintNotifLongTextForEdit") or "")
        failed = [rid for rid, r in zip(ids, "PPFFFPFF") if r == "F"]
        for rid in failed:
            self.assertIn(rid, text)

    def test_6_equipment_created_in_sap_is_registered_in_wats(self):
        st, _, b = self.sap_write("POST", EQUIP + "/Equipment", body={
            "EquipmentName": "Torque tool 9", "EquipmentCategory": "M", "MaintenancePlant": "1010",
            "SerialNumber": "MS-NEW-9", "TechnicalObjectType": "TEST"})
        self.assertIn(st, (200, 201), b)
        self.wait_for("the new equipment in the hub", lambda: self.count(
            "SELECT COUNT(*) FROM assets WHERE serial_number = 'MS-NEW-9'"))
        self.wait_for("the asset registered in WATS", lambda: self.wats_get("MS-NEW-9"))
        self.wait_for("the WATS link at creation", lambda: self.count(
            "SELECT COUNT(*) FROM asset_links WHERE provider = 'wats' AND native_id = 'MS-NEW-9'"))
        a = self.wats_get("MS-NEW-9")
        self.assertEqual(a["assetName"], "Torque tool 9", a)
        # the WATS pull of it later updates the same hub asset (no duplicate)
        self.advance("PT10S")
        time.sleep(2)
        self.assertEqual(self.count("SELECT COUNT(*) FROM assets WHERE serial_number ="
                                    " 'MS-NEW-9'"), 1)
        self.assertEqual(self.count("SELECT COUNT(*) FROM mapping_exceptions WHERE state ="
                                    " 'open' AND reason = 'native_id_conflict'"), 0)


if __name__ == "__main__":
    unittest.main()
