# SPDX-License-Identifier: Apache-2.0
"""Integration tests of `assetbridge sim wats` (docs/sim/wats.md), driving the
real binary over HTTP: Basic token auth, every asset endpoint, OData paging
and filters over 10,000 assets, counts from PUT Count and from WSJF reports,
warning/alarm status, servers before and after 25.3, throttling and faults.

test_sim_wats_contract.py re-runs these tests with RECORDER set and checks
every response against the server's Swagger export."""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, run  # noqa: E402

TOKEN = base64.b64encode(b"sim:sim-token").decode()
AUTH = {"Authorization": "Basic " + TOKEN}
CLOCK = "2026-01-01T00:00:00Z"

# test_sim_wats_contract.py sets this to a list: every response is appended
# as (method, path, status, body).
RECORDER = None


def q(path, **params):
    """path?params with OData option names: q('/api/Asset', top=5) -> $top=5."""
    if not params:
        return path
    items = [(("$" + k) if k in ("filter", "top", "skip", "orderby", "expand", "select",
                                 "count") else k, v) for k, v in params.items()]
    return path + "?" + urllib.parse.urlencode(items, quote_via=urllib.parse.quote)


class Sim:
    def __init__(self, *args):
        self.tmp = tempfile.mkdtemp(prefix="ab-wsim-")
        self.args = ["sim", "wats", "--listen", "127.0.0.1:0", *args]

    def __enter__(self):
        self.err = open(os.path.join(self.tmp, "stderr.log"), "w")
        self.proc = subprocess.Popen([BIN, *self.args], stdout=subprocess.PIPE, stderr=self.err,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.wait(timeout=10)
            raise RuntimeError("sim did not start: %r" % line)
        self.host, port = line.split()[-1].rsplit(":", 1)
        self.port = int(port)
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        self.rc = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.err.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def req(self, method, path, body=None, headers=None, auth=True, timeout=30):
        """(status, headers, parsed body); raises on a dropped connection."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        h = dict(AUTH if auth else {})
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read().decode()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        try:
            data = json.loads(data) if data else None
            parsed = True
        except ValueError:
            parsed = False
        if RECORDER is not None and parsed:
            RECORDER.append((method, path, resp.status, data))
        return resp.status, hdrs, data

    def ok(self, method, path, body=None):
        st, _, data = self.req(method, path, body)
        assert st == 200, (method, path, st, data)
        return data

    def outcome(self, method, path, body=None, timeout=5):
        try:
            st, _, data = self.req(method, path, body, timeout=timeout)
        except http.client.IncompleteRead:
            return "truncated"
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            return "dropped"
        except socket.timeout:
            return "timeout"
        if isinstance(data, str):
            return "malformed:%d" % st
        return "ok:%d" % st

    def effects(self):
        return self.req("GET", "/_sim/effects", auth=False)[2]

    def advance(self, duration):
        st, _, _ = self.req("POST", "/_test/clock", {"advance": duration}, auth=False)
        assert st == 200

    def type_named(self, name):
        types = self.ok("GET", q("/api/Asset/Types", filter="typeName eq '%s'" % name))
        assert len(types) == 1, types
        return types[0]

    def new_type(self, **fields):
        body = {"typeName": "T-" + uuid.uuid4().hex[:8]}
        body.update(fields)
        return self.ok("PUT", "/api/Asset/Types", body)

    def new_asset(self, serial, type_id, **fields):
        body = {"serialNumber": serial, "typeId": type_id}
        body.update(fields)
        return self.ok("PUT", "/api/Asset", body)


def wsjf(sn, assets, result="P", rid=None, **extra):
    r = {"type": "T", "id": rid or str(uuid.uuid4()), "pn": "PCBA-100", "sn": sn, "rev": "A",
         "processCode": 10, "processName": "ICT", "result": result, "machineName": "ICT-01",
         "location": "Line 3", "purpose": "Production",
         "start": "2026-01-01T08:00:00+01:00",
         "uut": {"fixtureId": "FX-1", "user": "operator", "execTime": 12.5},
         "assets": [{"assetSN": a, "usageCount": n} for a, n in assets]}
    r.update(extra)
    return r


class TestSimWats(unittest.TestCase):
    def test_cli_options(self):
        p = run("sim", "--list")
        self.assertEqual(p.returncode, 0)
        self.assertIn("wats", p.stdout)
        for bad in (["--server-version", "banana"], ["--set", "nosuch=1"],
                    ["--set", "skip=maybe"], ["--set", "noequals"]):
            p = run("sim", "wats", "--listen", "127.0.0.1:0", *bad)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("assetbridge sim", p.stderr)
        p = run("sim", "generic", "--listen", "127.0.0.1:0", "--server-version", "1.0")
        self.assertEqual(p.returncode, 2)

    def test_auth(self):
        with Sim("--assets", "3") as s:
            st, h, body = s.req("GET", "/api/Asset", auth=False)
            self.assertEqual(st, 401)
            self.assertEqual(body, {"Message": "Authorization has been denied for this request."})
            self.assertIn("Basic", h["www-authenticate"])
            for value in ("Bearer " + TOKEN, "Basic nope", "Basic " +
                          base64.b64encode(TOKEN.encode()).decode()):  # encoded twice
                self.assertEqual(s.req("GET", "/api/Asset",
                                       headers={"Authorization": value})[0], 401, value)
            self.assertEqual(s.req("GET", "/api/Asset")[0], 200)
            # username/password Basic auth ended with 2025.2 (P4)
            up = "Basic " + base64.b64encode(b"sim:sim-password").decode()
            self.assertEqual(s.req("GET", "/api/Asset", headers={"Authorization": up})[0], 401)
        with Sim("--assets", "1", "--server-version", "2024.1") as s:
            up = "Basic " + base64.b64encode(b"sim:sim-password").decode()
            self.assertEqual(s.req("GET", "/api/Asset", headers={"Authorization": up})[0], 200)
        with Sim("--assets", "1", "--token", "bXk6dG9rZW4=") as s:
            self.assertEqual(s.req("GET", "/api/Asset")[0], 401)
            self.assertEqual(s.req("GET", "/api/Asset", headers={
                "Authorization": "Basic bXk6dG9rZW4="})[0], 200)

    def test_asset_upsert_get_delete(self):
        with Sim("--assets", "4", "--fake-clock", CLOCK) as s:
            t = s.type_named("ICT fixture")["typeId"]
            st, _, e = s.req("PUT", "/api/Asset", {"typeId": t})
            self.assertEqual(st, 400)
            self.assertIn("serialNumber", e["Message"])
            self.assertEqual(s.req("PUT", "/api/Asset", {"serialNumber": "X"})[0], 400)
            st, _, e = s.req("PUT", "/api/Asset", {"serialNumber": "X", "typeId": "nope"})
            self.assertEqual(st, 400)
            st, _, e = s.req("PUT", "/api/Asset", {"serialNumber": "X",
                                                   "typeId": str(uuid.uuid4())})
            self.assertEqual(st, 400)
            self.assertIn("does not exist", e["Message"])
            self.assertEqual(s.req("PUT", "/api/Asset", "{bad")[0], 400)
            station = s.new_asset("ST-NEW", s.type_named("Test station")["typeId"])
            a = s.new_asset("FX-NEW", t.upper(), assetName="Fixture A", assetId="",
                            parentSerialNumber="ST-NEW", totalCount=999, runningCount=5,
                            lastCalibrationDate="2020-01-01T00:00:00Z",
                            tags=[{"key": "SAPEquipment", "value": "10004711"}])
            self.assertEqual(a["assetId"], "6")
            self.assertEqual(a["typeId"], t)
            self.assertEqual(a["parentSerialNumber"], "ST-NEW")
            self.assertEqual(a["parentAssetId"], station["assetId"])
            self.assertEqual((a["totalCount"], a["runningCount"]), (0, 0))  # not set by PUT
            self.assertIsNone(a["lastCalibrationDate"])
            self.assertEqual(a["firstSeenDate"], CLOCK)
            self.assertEqual(a["tags"], [{"key": "SAPEquipment", "value": "10004711",
                                          "change": 0}])
            # update by serial number; empty parentSerialNumber removes the parent
            b = s.new_asset("FX-NEW", t, assetName="Fixture B", parentSerialNumber="")
            self.assertEqual(b["assetId"], a["assetId"])
            self.assertEqual(b["assetName"], "Fixture B")
            self.assertIsNone(b["parentAssetId"])
            # by id and by serial number through the one route template
            self.assertEqual(s.ok("GET", "/api/Asset/" + a["assetId"])["serialNumber"], "FX-NEW")
            self.assertEqual(s.ok("GET", "/api/Asset/FX-NEW")["assetId"], a["assetId"])
            self.assertEqual(s.req("GET", "/api/Asset/NOPE")[0], 404)
            lst = s.ok("GET", q("/api/Asset", filter="serialNumber eq 'FX-NEW'"))
            self.assertEqual(lst[0]["xmlData"],
                             '<Tags><SAPEquipment Value="10004711" /></Tags>')
            # renaming to a serial number in use is refused
            st, _, e = s.req("PUT", "/api/Asset", {"assetId": a["assetId"],
                                                   "serialNumber": "ST-NEW", "typeId": t})
            self.assertEqual(st, 400)
            # a cycle is refused
            s.new_asset("ST-NEW", s.type_named("Test station")["typeId"],
                        parentSerialNumber="FX-NEW")
            st, _, e = s.req("PUT", "/api/Asset", {"serialNumber": "FX-NEW", "typeId": t,
                                                   "parentSerialNumber": "ST-NEW"})
            self.assertEqual(st, 400)
            log = s.ok("GET", q("/api/Asset/Log", filter="assetId eq '%s'" % a["assetId"],
                                orderby="logId asc"))
            self.assertEqual([x["type"] for x in log][:1], [1])
            self.assertIn("assetName", [x["property"] for x in log if x["type"] == 2])
            # delete: children move to the deleted asset's parent, log goes with it
            child = s.new_asset("PH-NEW", s.type_named("Pogo pin head")["typeId"],
                                parentSerialNumber="FX-NEW")
            self.assertEqual(child["parentSerialNumber"], "FX-NEW")
            gone = s.ok("DELETE", "/api/Asset?serialNumber=FX-NEW")
            self.assertEqual(gone["serialNumber"], "FX-NEW")
            self.assertEqual(s.ok("GET", "/api/Asset/PH-NEW")["parentSerialNumber"], None)
            self.assertEqual(s.ok("GET", q("/api/Asset/Log", filter="assetId eq '%s'"
                                           % a["assetId"])), [])
            self.assertEqual(s.req("DELETE", "/api/Asset?serialNumber=FX-NEW")[0], 404)
            self.assertEqual(s.req("DELETE", "/api/Asset")[0], 400)
            eff = s.effects()
            self.assertEqual(eff["assets_created"], 3)
            self.assertEqual(eff["assets_deleted"], 1)
            self.assertGreaterEqual(eff["assets_updated"], 2)
        with Sim("--assets", "2", "--set", "asset-path-lookup=ambiguous") as s:
            self.assertEqual(s.req("GET", "/api/Asset/1")[0], 500)
        with Sim("--assets", "2", "--set", "asset-path-lookup=id") as s:
            serial = s.ok("GET", "/api/Asset/1")["serialNumber"]
            self.assertEqual(s.req("GET", "/api/Asset/" + serial)[0], 404)

    def test_paging_10000_assets(self):
        with Sim("--assets", "10000") as s:
            s.req("DELETE", "/_sim/requests", auth=False)
            first = s.ok("GET", "/api/Asset")
            self.assertEqual(len(first), 1000)  # default $top
            self.assertEqual([a["assetId"] for a in first[:3]], ["1", "2", "3"])
            seen, skip = [], 0
            while True:
                page = s.ok("GET", q("/api/Asset", top=1000, skip=skip, orderby="assetId"))
                seen += [a["assetId"] for a in page]
                if len(page) < 1000:
                    break
                skip += 1000
            self.assertEqual(len(seen), 10000)
            self.assertEqual(len(set(seen)), 10000)
            log = s.req("GET", "/_sim/requests?method=GET&path=/api/Asset", auth=False)[2]
            self.assertEqual(len(log["items"]), 12)  # 1 + 11 pages
            newest = s.ok("GET", q("/api/Asset", top=1, orderby="firstSeenDate desc"))
            self.assertEqual(newest[0]["assetId"], "10000")
            by_two = s.ok("GET", q("/api/Asset", top=3, orderby="state desc, assetId desc"))
            self.assertEqual(len(by_two), 3)
            self.assertEqual(s.ok("GET", q("/api/Asset", top=0)), [])
            for bad in ({"top": "-1"}, {"top": "x"}, {"skip": "-5"},
                        {"orderby": "nosuch"}, {"orderby": "assetId sideways"}):
                st, _, e = s.req("GET", q("/api/Asset", **bad))
                self.assertEqual(st, 400, bad)
                self.assertIn("The query specified in the URI is not valid", e["Message"])
            self.assertEqual(s.effects()["seeded_assets"], 10000)
        with Sim("--assets", "30", "--set", "skip=off") as s:
            p1 = s.ok("GET", q("/api/Asset", top=10))
            p2 = s.ok("GET", q("/api/Asset", top=10, skip=10))
            self.assertEqual(p1, p2)  # the server ignores $skip

    def test_filters(self):
        with Sim("--assets", "60", "--fake-clock", CLOCK) as s:
            all_assets = s.ok("GET", "/api/Asset")
            fx = s.type_named("ICT fixture")["typeId"]
            one = all_assets[5]
            r = s.ok("GET", q("/api/Asset", filter="serialNumber eq '%s'" % one["serialNumber"]))
            self.assertEqual(r, [one])
            r = s.ok("GET", q("/api/Asset", filter="typeId eq %s" % fx.upper()))
            self.assertEqual(sorted(a["assetId"] for a in r),
                             sorted(a["assetId"] for a in all_assets if a["typeId"] == fx))
            self.assertTrue(r)
            st, _, e = s.req("GET", q("/api/Asset", filter="typeId eq '%s'" % fx))
            self.assertEqual(st, 400)
            self.assertIn("incompatible types", e["Message"])
            tagged = s.ok("GET", q("/api/Asset", filter="xmldata eq '//SAPEquipment'"))
            self.assertEqual(sorted(a["assetId"] for a in tagged),
                             sorted(a["assetId"] for a in all_assets if a["xmlData"]))
            v = tagged[0]["xmlData"].split('Value="')[1].split('"')[0]
            r = s.ok("GET", q("/api/Asset",
                              filter="xmlData eq '//SAPEquipment[@Value=''%s'']'" % v))
            self.assertEqual([a["assetId"] for a in r], [tagged[0]["assetId"]])
            st, _, e = s.req("GET", q("/api/Asset", filter="xmlData ne '//SAPEquipment'"))
            self.assertEqual(st, 400)
            self.assertIn("only supports the 'eq' operator", e["Message"])
            r = s.ok("GET", q("/api/Asset", filter="runningCount gt 1000 and not (state eq 6)"))
            self.assertEqual(sorted(a["assetId"] for a in r),
                             sorted(a["assetId"] for a in all_assets
                                    if a["runningCount"] > 1000 and a["state"] != 6))
            r = s.ok("GET", q("/api/Asset", filter="state eq 5 or state eq 3"))
            r2 = s.ok("GET", q("/api/Asset", filter="state in (5, 3)"))
            self.assertEqual(r, r2)
            r = s.ok("GET", q("/api/Asset", filter="startswith(serialNumber, 'FX-') and "
                              "contains(assetName, 'fixture')"))
            self.assertEqual(sorted(a["assetId"] for a in r),
                             sorted(a["assetId"] for a in all_assets
                                    if a["serialNumber"].startswith("FX-")))
            r = s.ok("GET", q("/api/Asset", filter="parentAssetId eq null and "
                              "nextCalibrationDate lt 2026-01-01T00:00:00Z"))
            self.assertTrue(all(a["nextCalibrationDate"] < "2026-01-01" for a in r))
            for bad, word in (("nosuch eq 1", "nosuch"), ("state eq", "ends"),
                              ("state eq 'x'", "incompatible"), ("(state eq 1", "')'"),
                              ("serialNumber eq 'open", "unterminated"),
                              ("state eq 1 garbage", "unexpected"), ("state $ 1", "'$'")):
                st, _, e = s.req("GET", q("/api/Asset", filter=bad))
                self.assertEqual(st, 400, bad)
                self.assertIn(word, e["Message"], bad)
            types = s.ok("GET", q("/api/Asset/Types", filter="calibrationInterval eq 365"))
            self.assertEqual(sorted(t["typeName"] for t in types),
                             ["Digital multimeter", "Oscilloscope"])
            names = [t["typeName"] for t in s.ok("GET", "/api/Asset/Types")]
            self.assertEqual(names, sorted(names))  # ordered by name
            logs = s.ok("GET", q("/api/Asset/Log", filter="type eq 4"))
            self.assertTrue(logs and all(x["type"] == 4 for x in logs))
            dates = [x["date"] for x in logs]
            self.assertEqual(dates, sorted(dates, reverse=True))  # newest first
            r = s.ok("GET", q("/api/Asset/Log", filter="date gt 2025-12-01T00:00:00Z",
                              orderby="date asc"))
            self.assertTrue(all(x["date"] > "2025-12-01" for x in r))

    def test_counts_and_status(self):
        with Sim("--assets", "2", "--fake-clock", CLOCK) as s:
            t = s.new_type(runningCountLimit=100, totalCountLimit=1000, warningThreshold=80,
                           alarmThreshold=100)
            s.new_asset("CNT-1", t["typeId"])
            s.new_asset("CNT-1-CHILD", t["typeId"], parentSerialNumber="CNT-1")
            self.assertEqual(s.ok("PUT", "/api/Asset/Count?serialNumber=CNT-1&incrementBy=50"), 0)
            st = s.ok("GET", "/api/Asset/Status?serialNumber=CNT-1")
            self.assertEqual(st["status"], 0)
            self.assertEqual(st["runningCountExceeded"], -50)  # negative while within
            self.assertEqual(st["totalCountExceeded"], -950)
            self.assertEqual(s.ok("PUT", "/api/Asset/Count?serialNumber=CNT-1&incrementBy=30"), 2)
            st = s.ok("GET", "/api/Asset/Status?serialNumber=CNT-1")
            self.assertEqual((st["status"], st["runningCount"]), (2, 80))
            self.assertIn("Running count", st["message"])
            # totalCount: the difference to the previous total is added to both
            self.assertEqual(s.ok("PUT", "/api/Asset/Count?serialNumber=CNT-1&totalCount=110"), 3)
            a = s.ok("GET", "/api/Asset/CNT-1")
            self.assertEqual((a["runningCount"], a["totalCount"]), (110, 110))
            self.assertEqual(s.ok("GET", "/api/Asset/Status?id=" + a["assetId"])
                             ["runningCountExceeded"], 10)
            for bad in ("totalCount=5", "incrementBy=-1", "incrementBy=1&totalCount=200", "",
                        "incrementBy=abc"):
                self.assertEqual(s.req("PUT", "/api/Asset/Count?serialNumber=CNT-1&" + bad)[0],
                                 400, bad)
            self.assertEqual(s.req("PUT", "/api/Asset/Count?serialNumber=NOPE&incrementBy=1")[0],
                             404)
            s.ok("PUT", "/api/Asset/Count?serialNumber=CNT-1&incrementBy=5&incrementChildren=true")
            self.assertEqual(s.ok("GET", "/api/Asset/CNT-1-CHILD")["totalCount"], 5)
            r = s.ok("POST", "/api/Asset/ResetRunningCount?serialNumber=CNT-1&comment=WO-1")
            self.assertEqual((r["runningCount"], r["totalCount"]), (0, 115))
            log = s.ok("GET", q("/api/Asset/Log", filter="serialNumber eq 'CNT-1' and type eq 3"))
            self.assertEqual([x["comment"] for x in log], ["WO-1"])
            eff = s.effects()
            self.assertEqual((eff["count_calls"], eff["usage_added"]), (4, 115))
            self.assertEqual(eff["running_count_resets"], 1)
        with Sim("--assets", "1", "--set", "status-enum=string") as s:
            t = s.new_type(runningCountLimit=10, warningThreshold=50)
            s.new_asset("S-1", t["typeId"])
            self.assertEqual(s.ok("PUT", "/api/Asset/Count?serialNumber=S-1&incrementBy=6"),
                             "Warning")
            self.assertEqual(s.ok("GET", "/api/Asset/Status?serialNumber=S-1")["status"],
                             "Warning")

    def test_calibration_maintenance_status(self):
        with Sim("--assets", "1", "--fake-clock", CLOCK) as s:
            t = s.new_type(calibrationInterval=30, maintenanceInterval=10, warningThreshold=80,
                           alarmThreshold=100)
            s.new_asset("CAL-1", t["typeId"])
            a = s.ok("POST", "/api/Asset/Calibration?serialNumber=CAL-1&dateTime="
                     "2026-01-01T00:00:00&comment=WO-77")  # no zone, as the .NET client sends
            self.assertEqual(a["lastCalibrationDate"], "2026-01-01T00:00:00Z")
            self.assertEqual(a["nextCalibrationDate"], "2026-01-31T00:00:00Z")
            self.assertEqual(s.ok("GET", "/api/Asset/Status?serialNumber=CAL-1")["status"], 0)
            # 25.3: the same date again adds no log entry
            s.ok("POST", "/api/Asset/Calibration?serialNumber=CAL-1&dateTime=2026-01-01T00:00:00Z")
            cal_log = s.ok("GET", q("/api/Asset/Log", filter="serialNumber eq 'CAL-1' and "
                                    "type eq 4"))
            self.assertEqual([x["comment"] for x in cal_log], ["WO-77"])
            s.advance("P25D")  # 25 of 30 days: past the 80% warning
            st = s.ok("GET", "/api/Asset/Status?serialNumber=CAL-1")
            self.assertEqual(st["status"], 2)
            self.assertAlmostEqual(st["calibrationDaysOverdue"], -5.0)
            s.advance("P6D")
            st = s.ok("GET", "/api/Asset/Status?serialNumber=CAL-1")
            self.assertEqual(st["status"], 3)
            self.assertAlmostEqual(st["calibrationDaysOverdue"], 1.0)
            self.assertIn("Calibration overdue", st["message"])
            m = s.ok("POST", "/api/Asset/Maintenance?serialNumber=CAL-1")  # default: now
            self.assertEqual(m["lastMaintenanceDate"], "2026-02-01T00:00:00Z")
            self.assertEqual(m["nextMaintenanceDate"], "2026-02-11T00:00:00Z")
            s.ok("POST", "/api/Asset/Calibration?serialNumber=CAL-1")
            self.assertEqual(s.ok("GET", "/api/Asset/Status?serialNumber=CAL-1")["status"], 0)
            self.assertEqual(s.req("POST", "/api/Asset/Calibration?serialNumber=CAL-1&"
                                   "dateTime=yesterday")[0], 400)
            eff = s.effects()
            self.assertEqual((eff["calibrations_recorded"], eff["maintenance_recorded"]), (2, 1))
        with Sim("--assets", "1", "--server-version", "2024.4") as s:
            t = s.new_type(calibrationInterval=30)
            s.new_asset("CAL-2", t["typeId"])
            for _ in range(2):
                s.ok("POST", "/api/Asset/Calibration?serialNumber=CAL-2&"
                     "dateTime=2025-06-01T00:00:00Z")
            log = s.ok("GET", q("/api/Asset/Log", filter="serialNumber eq 'CAL-2' and type eq 4"))
            self.assertEqual(len(log), 2)  # older servers log duplicates

    def test_versions_and_25_3_endpoints(self):
        with Sim("--assets", "1", "--fake-clock", CLOCK) as s:
            self.assertEqual(s.ok("GET", "/api/App/Version"), "2025.3.9.824")
            t = s.new_type(calibrationInterval=-2)  # External (25.3)
            s.new_asset("EXT-1", t["typeId"])
            a = s.ok("PUT", "/api/Asset/SetRunningCount?serialNumber=EXT-1&runningCount=42")
            self.assertEqual(a["runningCount"], 42)
            a = s.ok("PUT", "/api/Asset/SetTotalCount?serialNumber=EXT-1&totalCount=4200")
            self.assertEqual(a["totalCount"], 4200)
            a = s.ok("POST", "/api/Asset/Calibration/External?serialNumber=EXT-1&"
                     "fromDate=2025-12-01T00:00:00Z&toDate=2026-03-01T00:00:00Z&comment=SAP")
            self.assertEqual((a["lastCalibrationDate"], a["nextCalibrationDate"]),
                             ("2025-12-01T00:00:00Z", "2026-03-01T00:00:00Z"))
            a = s.ok("POST", "/api/Asset/Maintenance/External?serialNumber=EXT-1&"
                     "toDate=2026-02-01T00:00:00Z")
            self.assertEqual((a["lastMaintenanceDate"], a["nextMaintenanceDate"]),
                             (CLOCK, "2026-02-01T00:00:00Z"))
            self.assertEqual(s.req("POST", "/api/Asset/Calibration/External?serialNumber=EXT-1")
                             [0], 400)  # toDate required
            self.assertEqual(s.req("PUT", "/api/Asset/SetRunningCount?serialNumber=EXT-1")[0],
                             400)
            self.assertEqual(s.effects()["counts_set"], 2)
        with Sim("--assets", "1", "--server-version", "2025.2.1") as s:
            self.assertEqual(s.ok("GET", "/api/App/Version"), "2025.2.1")
            t = s.type_named("Test station")["typeId"]
            s.new_asset("OLD-1", t)
            for method, path in (("PUT", "SetRunningCount?runningCount=1"),
                                 ("PUT", "SetTotalCount?totalCount=1"),
                                 ("POST", "Calibration/External?toDate=2026-01-01"),
                                 ("POST", "Maintenance/External?toDate=2026-01-01")):
                sep = "&" if "?" in path else "?"
                st, _, e = s.req(method, "/api/Asset/%s%sserialNumber=OLD-1" % (path, sep))
                self.assertEqual(st, 404, path)
                self.assertIn("No HTTP resource was found", e["Message"])
            self.assertEqual(s.req("PUT", "/api/Asset/Types",
                                   {"typeName": "x", "calibrationInterval": -2})[0], 400)
            self.assertEqual(s.ok("PUT", "/api/Asset/Count?serialNumber=OLD-1&incrementBy=1"), 0)

    def test_state_message_subassets_types(self):
        with Sim("--assets", "1", "--fake-clock", CLOCK) as s:
            st_t = s.type_named("Test station")["typeId"]
            s.new_asset("P-1", st_t)
            s.new_asset("C-1", st_t, parentSerialNumber="P-1")
            s.new_asset("G-1", st_t, parentSerialNumber="C-1")
            self.assertEqual(s.ok("PUT", "/api/Asset/State?serialNumber=P-1&state=4")["state"], 4)
            for bad in ("state=7", "state=x", ""):
                self.assertEqual(s.req("PUT", "/api/Asset/State?serialNumber=P-1&" + bad)[0], 400)
            rec = s.ok("POST", "/api/Asset/Message?serialNumber=P-1", {"content": "hello"})
            self.assertEqual((rec["type"], rec["comment"], rec["serialNumber"]),
                             (0, "hello", "P-1"))
            self.assertEqual(s.req("POST", "/api/Asset/Message?serialNumber=P-1",
                                   {"comment": "wrong field"})[0], 400)
            direct = s.ok("GET", "/api/Asset/SubAssets?serialNumber=P-1&level=1")
            self.assertEqual([a["serialNumber"] for a in direct], ["C-1"])
            every = s.ok("GET", "/api/Asset/SubAssets?serialNumber=P-1&level=0")
            self.assertEqual(sorted(a["serialNumber"] for a in every), ["C-1", "G-1"])
            # types: validation, auto-adjusted total limit, update, read-only
            self.assertEqual(s.req("PUT", "/api/Asset/Types", {"runningCountLimit": 1})[0], 400)
            self.assertEqual(s.req("PUT", "/api/Asset/Types", {
                "typeName": "bad", "warningThreshold": 90, "alarmThreshold": 80})[0], 400)
            self.assertEqual(s.req("PUT", "/api/Asset/Types", {
                "typeName": "bad", "alarmThreshold": 101})[0], 400)
            t = s.new_type(runningCountLimit=500, totalCountLimit=100)
            self.assertEqual(t["totalCountLimit"], 500)  # P2: raised to the running limit
            t2 = s.ok("PUT", "/api/Asset/Types", dict(t, typeName="Renamed"))
            self.assertEqual((t2["typeId"], t2["typeName"]), (t["typeId"], "Renamed"))
            mine = str(uuid.uuid4()).upper()
            ro = s.ok("PUT", "/api/Asset/Types", {"typeId": mine, "typeName": "Fixed",
                                                  "isReadonly": True})
            self.assertEqual(ro["typeId"], mine.lower())
            self.assertEqual(s.req("PUT", "/api/Asset/Types", {"typeId": mine,
                                                               "typeName": "x"})[0], 400)
            r = s.ok("GET", q("/api/Asset/Types", filter="typeId eq %s" % mine))
            self.assertEqual([x["typeName"] for x in r], ["Fixed"])
            eff = s.effects()
            self.assertEqual((eff["types_created"], eff["types_updated"]), (2, 1))
            self.assertEqual((eff["states_set"], eff["messages_posted"]), (1, 1))

    def test_reports_count_usage(self):
        with Sim("--assets", "1", "--fake-clock", CLOCK) as s:
            t = s.new_type(runningCountLimit=100, totalCountLimit=1000, calibrationInterval=365)
            s.new_asset("DMM-1", t["typeId"])
            s.new_asset("FX-1", t["typeId"])
            s.new_asset("FX-1-PINS", t["typeId"], parentSerialNumber="FX-1")
            rid = str(uuid.uuid4())
            res = s.ok("POST", "/api/Report/WSJF",
                       wsjf("UUT-1", [("DMM-1", 1), ("FX-1", 2), ("DMM-1", 3), ("GHOST", 5)],
                            rid=rid))
            self.assertEqual((res["ID"], res["uuid"]), (rid, rid))
            self.assertIsInstance(res["Report_ID"], int)
            a = s.ok("GET", "/api/Asset/DMM-1")
            self.assertEqual((a["runningCount"], a["totalCount"]), (4, 4))
            self.assertEqual(s.ok("GET", "/api/Asset/FX-1")["runningCount"], 2)
            self.assertEqual(s.ok("GET", "/api/Asset/FX-1-PINS")["runningCount"], 0)
            self.assertEqual(s.effects()["report_usage_added"], 6)
            # a resubmitted report (same id) does not count again
            s.ok("POST", "/api/Report/WSJF", wsjf("UUT-1", [("DMM-1", 1)], rid=rid))
            self.assertEqual(s.ok("GET", "/api/Asset/DMM-1")["runningCount"], 4)
            s.ok("POST", "/api/Report/WSJF", wsjf("UUT-2", [("DMM-1", 10)], result="F"))
            heads = s.ok("GET", q("/api/Report/Query/Header", expand="assets"))
            self.assertEqual(len(heads), 2)
            by_sn = {h["serialNumber"]: h for h in heads}
            h1 = by_sn["UUT-1"]
            self.assertEqual((h1["result"], h1["receiveCount"], h1["stationName"]),
                             ("Passed", 2, "ICT-01"))
            self.assertEqual([x["serialNumber"] for x in h1["assets"]],
                             ["DMM-1", "FX-1", "DMM-1", "GHOST"])
            self.assertEqual(h1["assets"][0]["runningCount"], 1)  # snapshot after each use
            self.assertEqual(h1["assets"][2]["runningCount"], 4)
            self.assertEqual(h1["assets"][2]["runningCountExceeded"], -96)
            self.assertIsNone(h1["assets"][3]["runningCount"])  # unknown asset: ignored
            self.assertGreater(by_sn["UUT-2"]["timeStamp"], h1["timeStamp"])
            self.assertNotIn("assets", s.ok("GET", "/api/Report/Query/Header")[0])
            failed = s.ok("GET", q("/api/Report/Query/Header", filter="result eq 'Failed'"))
            self.assertEqual([h["serialNumber"] for h in failed], ["UUT-2"])
            since = s.ok("GET", q("/api/Report/Query/Header",
                                  filter="timeStamp gt %d" % h1["timeStamp"],
                                  orderby="timeStamp asc"))
            self.assertEqual([h["serialNumber"] for h in since], ["UUT-2"])
            sel = s.ok("GET", q("/api/Report/Query/Header", select="uuid,timeStamp",
                                expand="assets", top=1))
            self.assertEqual(sorted(sel[0]), ["assets", "timeStamp", "uuid"])
            for bad in ({"top": "10001"}, {"orderby": "partNumber"}, {"count": "true"},
                        {"expand": "nothing"}, {"filter": "result eq"}):
                self.assertEqual(s.req("GET", q("/api/Report/Query/Header", **bad))[0], 400, bad)
            for i in range(12):
                s.ok("POST", "/api/Report/WSJF", wsjf("UUT-X%d" % i, []))
            self.assertEqual(len(s.ok("GET", "/api/Report/Query/Header")), 10)  # default top
            page2 = s.ok("GET", q("/api/Report/Query/Header", top=10, skip=10))
            self.assertEqual(len(page2), 4)
            # invalid reports: 400 with a validation text, nothing counted
            before = s.ok("GET", "/api/Asset/DMM-1")["totalCount"]
            for broken, word in ((dict(wsjf("U", [("DMM-1", 1)]), pn=None), "'pn'"),
                                 (dict(wsjf("U", [("DMM-1", 1)]), result="X"), "'result'"),
                                 (dict(wsjf("U", [("DMM-1", 1)]), id="nope"), "'id'"),
                                 (dict(wsjf("U", [("DMM-1", 1)]), start="yesterday"), "start"),
                                 (wsjf("U", [("DMM-1", -1)]), "usageCount"),
                                 (wsjf("U", [("", 1)]), "assetSN")):
                st, _, e = s.req("POST", "/api/Report/WSJF", broken)
                self.assertEqual(st, 400, word)
                self.assertIn(word, e["Message"])
            self.assertEqual(s.req("POST", "/api/Report/WSJF", "not json")[0], 400)
            self.assertEqual(s.ok("GET", "/api/Asset/DMM-1")["totalCount"], before)
            self.assertEqual(s.effects()["reports_received"], 15)
        with Sim("--assets", "1", "--set", "report-unknown-asset=reject", "--set",
                 "report-children=on", "--set", "report-resubmit-counts=on") as s:
            t = s.type_named("Test station")["typeId"]
            s.new_asset("P-1", t)
            s.new_asset("C-1", t, parentSerialNumber="P-1")
            st, _, e = s.req("POST", "/api/Report/WSJF", wsjf("U", [("GHOST", 1)]))
            self.assertEqual(st, 400)
            self.assertIn("GHOST", e["Message"])
            rid = str(uuid.uuid4())
            for _ in range(2):
                s.ok("POST", "/api/Report/WSJF", wsjf("U", [("P-1", 2)], rid=rid))
            self.assertEqual(s.ok("GET", "/api/Asset/C-1")["runningCount"], 4)

    def test_throttling(self):
        with Sim("--assets", "2", "--rate-limit", "2", "--fake-clock", CLOCK) as s:
            statuses = [s.req("GET", "/api/Asset")[0] for _ in range(10)]
            self.assertEqual(statuses, [200] * 10)  # burst max(10, 2 * rate)
            st, h, body = s.req("GET", "/api/Asset")
            self.assertEqual((st, body), (429, {"Message": "Too many requests"}))
            self.assertGreaterEqual(int(h["retry-after"]), 1)
            s.advance("PT5S")
            self.assertEqual(s.req("GET", "/api/Asset")[0], 200)
        with Sim("--assets", "2", "--rate-limit", "1", "--fake-clock", CLOCK,
                 "--set", "retry-after=off") as s:
            for _ in range(10):
                s.req("GET", "/api/Asset")
            st, h, _ = s.req("GET", "/api/Asset")
            self.assertEqual(st, 429)
            self.assertNotIn("retry-after", h)

    def test_faults(self):
        with Sim("--assets", "5", "--fake-clock", CLOCK) as s:
            def add(rule):
                self.assertEqual(s.req("POST", "/_sim/faults", rule, auth=False)[0], 201)

            t = s.type_named("ICT fixture")["typeId"]
            s.new_asset("F-1", t)
            # reset_after_apply: the count is applied, the client sees a reset
            add({"match": {"method": "PUT", "path": "/api/Asset/Count"},
                 "action": "reset_after_apply", "count": 1})
            self.assertEqual(s.outcome("PUT", "/api/Asset/Count?serialNumber=F-1&incrementBy=3"),
                             "dropped")
            self.assertEqual(s.ok("GET", "/api/Asset/F-1")["totalCount"], 3)
            self.assertEqual(s.effects()["usage_added"], 3)
            # an absolute totalCount retry is safe: it applies the difference (0)
            self.assertEqual(s.outcome("PUT", "/api/Asset/Count?serialNumber=F-1&totalCount=3"),
                             "ok:200")
            self.assertEqual(s.ok("GET", "/api/Asset/F-1")["totalCount"], 3)
            add({"match": {"method": "POST", "path": "/api/Report/WSJF"}, "action": "status",
                 "status": 429, "count": 1})
            st, h, body = s.req("POST", "/api/Report/WSJF", wsjf("U", [("F-1", 1)]))
            self.assertEqual((st, h.get("retry-after")), (429, "1"))
            self.assertEqual(s.ok("GET", "/api/Asset/F-1")["totalCount"], 3)  # not applied
            add({"match": {"path": "/api/Asset/Types"}, "action": "status", "status": 503,
                 "count": 1})
            st, _, body = s.req("GET", "/api/Asset/Types")
            self.assertEqual(st, 503)
            self.assertIn("Message", body)
            add({"match": {"path": "/api/Asset"}, "action": "reset", "count": 1})
            self.assertEqual(s.outcome("GET", "/api/Asset"), "dropped")
            add({"match": {"path": "/api/Asset"}, "action": "truncate", "count": 1})
            self.assertEqual(s.outcome("GET", "/api/Asset"), "truncated")
            add({"match": {"path": "/api/Asset"}, "action": "malformed", "count": 1})
            self.assertEqual(s.outcome("GET", "/api/Asset"), "malformed:200")
            add({"match": {"path": "/api/Asset/Log"}, "action": "latency", "ms": 100,
                 "count": 1})
            self.assertEqual(s.outcome("GET", "/api/Asset/Log"), "ok:200")
            add({"match": {"path": "/api/Asset/Log"}, "action": "timeout", "ms": 3000,
                 "count": 1})
            self.assertEqual(s.outcome("GET", "/api/Asset/Log", timeout=1), "timeout")
            p1 = s.ok("GET", q("/api/Asset", top=2))
            add({"match": {"path": "/api/Asset"}, "action": "repeat_page", "count": 1})
            self.assertEqual(s.ok("GET", q("/api/Asset", top=2, skip=2)), p1)
            self.assertNotEqual(s.ok("GET", q("/api/Asset", top=2, skip=2)), p1)
            add({"match": {"path": "/api/Asset/Status"}, "action": "expire_token", "count": 1})
            self.assertEqual(s.req("GET", "/api/Asset/Status?serialNumber=F-1")[0], 401)
            self.assertEqual(s.req("GET", "/api/Asset/Status?serialNumber=F-1")[0], 200)
            log = s.req("GET", "/_sim/requests?path=/api/Asset", auth=False)[2]["items"]
            self.assertEqual([e["fault"] for e in log if e["fault"]],
                             ["reset", "truncate", "malformed", "repeat_page"])
            self.assertEqual(log[0]["headers"]["Authorization"], "Basic ***")
            self.assertNotIn(TOKEN, json.dumps(log))

    def test_seed_deterministic(self):
        dumps = []
        for _ in range(2):
            with Sim("--seed", "9", "--assets", "25", "--fake-clock", CLOCK) as s:
                dumps.append(s.req("GET", "/_sim/state", auth=False)[2])
        self.assertEqual(dumps[0], dumps[1])
        self.assertEqual(len(dumps[0]["assets"]), 25)
        self.assertEqual(dumps[0]["provider"], "wats")
        statuses = set()
        with Sim("--seed", "9", "--assets", "200", "--fake-clock", CLOCK) as s:
            for a in s.ok("GET", q("/api/Asset", top=200)):
                statuses.add(s.ok("GET", "/api/Asset/Status?id=" + a["assetId"])["status"])
        self.assertEqual(statuses, {0, 2, 3})  # the seed has OK, warning and alarm assets


if __name__ == "__main__":
    unittest.main(verbosity=2)
