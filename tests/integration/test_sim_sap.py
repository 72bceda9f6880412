# SPDX-License-Identifier: Apache-2.0
"""Integration tests of `assetbridge sim sap_pm` (docs/sim/sap_pm.md), driving
the real binary over HTTP: Basic auth and sap-client, the Gateway's CSRF flow
(403 + x-csrf-token: Required, Fetch, session cookie, expiry), the V2 dialect
(d.results, string __count, __next paging, /Date()/ values, datetime'...'
filters, SAP's error body) on equipment, orders, notifications (create,
update, status actions), plans, schedules, cycles and items, order
confirmations, the V4 dialect (value, @count, ISO dates, @odata.nextLink
behind a switch) on measuring points and measurement documents with counter
readings, faults, effects, the request log and seeding 10,000 assets.

test_sim_sap_contract.py re-runs these tests with RECORDER set and checks
every response against the SAP OpenAPI files."""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, run  # noqa: E402

AUTH = {"Authorization": "Basic " + base64.b64encode(b"SIMUSER:sim-password").decode()}
CLOCK = "2026-01-01T00:00:00Z"
V2 = "/sap/opu/odata/sap/"
EQ = V2 + "API_EQUIPMENT/Equipment"
NOTIF = V2 + "API_MAINTNOTIFICATION/"
ORD = V2 + "API_MAINTENANCEORDER/"
PLAN = V2 + "API_MAINTENANCEPLAN/"
CONF = V2 + "API_MAINTORDERCONFIRMATION/MaintOrderConfirmation"
MP = "/sap/opu/odata4/sap/api_measuringpoint/srvd_a2x/sap/measuringpoint/0001/MeasuringPoint"
MD = ("/sap/opu/odata4/sap/api_measurementdocument/srvd_a2x/sap/measurementdocument/0001/"
      "MeasurementDocument")
END = "datetime'9999-12-31T00:00:00'"

# test_sim_sap_contract.py sets this to a list: every response with a JSON
# body is appended as (method, path with query, status, body).
RECORDER = None


def q(path, **params):
    """path?params with OData option names: q(EQ, top=5) -> $top=5 (V2 adds $format=json)."""
    items = []
    for k, v in params.items():
        name = ("$" + k) if k in ("filter", "top", "skip", "orderby", "expand", "select",
                                  "count", "inlinecount", "format", "skiptoken") else k
        items.append((name, v))
    if "/sap/opu/odata/" in path and "format" not in params:
        items.append(("$format", "json"))
    if not items:
        return path
    return path + "?" + urllib.parse.urlencode(items, quote_via=urllib.parse.quote, safe="'$,")


def key(path, k):
    return path + "(" + k + ")"


class Sim:
    def __init__(self, *args):
        self.tmp = tempfile.mkdtemp(prefix="ab-sapsim-")
        self.args = ["sim", "sap_pm", "--listen", "127.0.0.1:0", *args]
        self.cookies = {}
        self.token = None

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

    def req(self, method, path, body=None, headers=None, auth=True, timeout=30, session=True):
        """(status, headers, parsed body or text); raises on a dropped connection.
        With session, cookies are kept and sent as a browser would; writes carry
        the fetched CSRF token (self.token) unless headers say otherwise."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        h = dict(AUTH if auth else {})
        if session and self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if session and self.token and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.token
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read().decode()
            hdrs = {}
            for k, v in resp.getheaders():
                hdrs.setdefault(k.lower(), v)
                if k.lower() == "set-cookie" and session:
                    name, _, rest = v.partition("=")
                    self.cookies[name] = rest.split(";")[0]
        finally:
            conn.close()
        try:
            data = json.loads(data) if data else None
            parsed = data is not None
        except ValueError:
            parsed = False
        if RECORDER is not None and parsed:
            RECORDER.append((method, path, resp.status, data))
        return resp.status, hdrs, data

    def ok(self, method, path, body=None, status=200):
        st, _, data = self.req(method, path, body)
        assert st == status, (method, path, st, data)
        return data

    def fetch_token(self, path=V2 + "API_MAINTNOTIFICATION/", method="GET"):
        st, h, _ = self.req(method, q(path) if method == "GET" else path,
                            headers={"X-CSRF-Token": "Fetch"})
        assert st == 200, st
        self.token = h.get("x-csrf-token")
        return self.token

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
        return self.req("GET", "/_sim/effects", auth=False, session=False)[2]

    def faults(self, rules):
        st, _, _ = self.req("POST", "/_sim/faults", rules, auth=False, session=False)
        assert st == 201

    def advance(self, duration):
        st, _, _ = self.req("POST", "/_test/clock", {"advance": duration}, auth=False,
                            session=False)
        assert st == 200

    def v2_all(self, path, **params):
        """Every entity of a V2 collection, following __next."""
        out, url = [], q(path, **params)
        while url:
            d = self.ok("GET", url)["d"]
            out += d["results"]
            nxt = d.get("__next")
            url = nxt[nxt.index("/sap/"):] if nxt else None
        return out


DATE = re.compile(r"^/Date\(-?\d+\)/$")
DATE_OFFSET = re.compile(r"^/Date\(-?\d+\+0000\)/$")
TIME = re.compile(r"^PT\d\dH\d\dM\d\dS$")


def assert_v2_error(tc, body, code=None):
    tc.assertIsInstance(body["error"]["code"], str)
    tc.assertEqual(body["error"]["message"]["lang"], "en")
    tc.assertTrue(body["error"]["message"]["value"])
    tc.assertIn("transactionid", body["error"]["innererror"])
    if code:
        tc.assertEqual(body["error"]["code"], code)


class TestSimSap(unittest.TestCase):
    def test_cli_options(self):
        p = run("sim", "--list")
        self.assertEqual(p.returncode, 0)
        self.assertIn("sap_pm", p.stdout)
        for bad in (["--server-version", "2023"], ["--set", "nosuch=1"],
                    ["--set", "v2-page-size=-1"], ["--set", "sap-client=1000"],
                    ["--set", "csrf-fetch=never"], ["--set", "noequals"]):
            p = run("sim", "sap_pm", "--listen", "127.0.0.1:0", *bad)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("assetbridge sim", p.stderr)

    def test_basic_auth_and_sap_client(self):
        with Sim("--assets", "3") as s:
            st, h, body = s.req("GET", q(EQ), auth=False)
            self.assertEqual(st, 401)
            self.assertIn("Basic realm=", h["www-authenticate"])
            assert_v2_error(self, body)
            bad = {"Authorization": "Basic " + base64.b64encode(b"SIMUSER:nope").decode()}
            self.assertEqual(s.req("GET", q(EQ), headers=bad)[0], 401)
            self.assertEqual(s.req("GET", q(EQ, **{"sap-client": "200"}))[0], 401)
            self.assertEqual(s.req("GET", q(EQ), headers={"sap-client": "200"})[0], 401)
            self.assertEqual(s.req("GET", q(EQ, **{"sap-client": "100"}))[0], 200)
        with Sim("--assets", "1", "--set", "sap-client=300", "--user", "RFC_PM",
                 "--password", "pw") as s:
            h = {"Authorization": "Basic " + base64.b64encode(b"RFC_PM:pw").decode()}
            self.assertEqual(s.req("GET", q(EQ, **{"sap-client": "300"}), headers=h)[0], 200)
            self.assertEqual(s.req("GET", q(EQ, **{"sap-client": "100"}), headers=h)[0], 401)

    def test_v2_equipment_collection_and_paging(self):
        with Sim("--assets", "30", "--set", "v2-page-size=10") as s:
            d = s.ok("GET", q(EQ, inlinecount="allpages"))["d"]
            self.assertEqual(d["__count"], "30")  # a string, as in V2
            self.assertEqual(len(d["results"]), 10)
            self.assertIn("$skiptoken=10", d["__next"])
            self.assertTrue(d["__next"].startswith("http://"))
            e = d["results"][0]
            self.assertEqual(e["Equipment"], "10000001")
            self.assertEqual(e["ValidityEndDate"], "/Date(253402214400000)/")
            self.assertRegex(e["LastChangeDateTime"], DATE_OFFSET)
            self.assertRegex(e["CreationDate"], DATE)
            self.assertRegex(e["ValidityEndTime"], TIME)
            self.assertEqual(e["__metadata"]["type"], "API_EQUIPMENT.EquipmentType")
            self.assertIn("ValidityEndDate=datetime'9999-12-31T00:00:00'", e["__metadata"]["uri"])
            self.assertNotIn("SystemStatus", json.dumps(e))  # no such field in the spec
            everything = s.v2_all(EQ)
            self.assertEqual([x["Equipment"] for x in everything],
                             ["%d" % (10000001 + i) for i in range(30)])
            # $top within a page: no __next; $top across pages: __next carries the rest
            d = s.ok("GET", q(EQ, top=5, skip=3))["d"]
            self.assertEqual([x["Equipment"] for x in d["results"]],
                             ["%d" % (10000004 + i) for i in range(5)])
            self.assertNotIn("__next", d)
            self.assertNotIn("__count", d)
            got = s.v2_all(EQ, top=15)
            self.assertEqual(len(got), 15)
            # $select, $orderby, $filter with keys and datetime literals
            d = s.ok("GET", q(EQ, select="Equipment,EquipmentName", orderby="Equipment desc",
                              top=2))["d"]
            self.assertEqual(set(d["results"][0]), {"__metadata", "Equipment", "EquipmentName"})
            self.assertEqual(d["results"][0]["Equipment"], "10000030")
            d = s.ok("GET", q(EQ, filter="Equipment eq '10000007'"))["d"]
            self.assertEqual([x["Equipment"] for x in d["results"]], ["10000007"])
            stamps = sorted(int(x["LastChangeDateTime"][6:-7]) for x in everything)
            mid = stamps[14]
            iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(mid / 1000))
            for lit in ("datetime'%s'" % iso, "datetimeoffset'%sZ'" % iso):
                got = s.v2_all(EQ, filter="LastChangeDateTime gt " + lit)
                self.assertEqual(len(got), len([t for t in stamps if t > (mid // 1000) * 1000]),
                                 lit)
            d = s.ok("GET", q(EQ, filter="EquipmentIsMarkedForDeletion eq false",
                              inlinecount="allpages"))["d"]
            self.assertEqual(d["__count"], "30")
        with Sim("--assets", "30", "--set", "v2-page-size=0") as s:
            d = s.ok("GET", q(EQ))["d"]
            self.assertEqual(len(d["results"]), 30)
            self.assertNotIn("__next", d)

    def test_v2_single_entity_and_errors(self):
        with Sim("--assets", "5") as s:
            e = s.ok("GET", q(key(EQ, "Equipment='10000003',ValidityEndDate=" + END)))["d"]
            self.assertEqual(e["Equipment"], "10000003")
            # the client may percent-encode the predicate
            enc = EQ + urllib.parse.quote("(Equipment='10000003',ValidityEndDate=%s)" % END)
            self.assertEqual(s.ok("GET", q(enc))["d"]["Equipment"], "10000003")
            st, _, body = s.req("GET", q(key(EQ, "Equipment='99',ValidityEndDate=" + END)))
            self.assertEqual(st, 404)
            assert_v2_error(self, body)
            self.assertEqual(body["error"]["innererror"]["application"]["service_id"],
                             "API_EQUIPMENT")
            st, _, body = s.req("GET", q(key(EQ, "'10000003'")))  # needs both keys
            self.assertEqual(st, 400)
            st, _, body = s.req("GET", q(key(EQ, "Equipment='1',ValidityEndDate='x'")))
            self.assertEqual(st, 400)
            for bad in ({"filter": "Nope eq 1"}, {"filter": "Equipment eq"},
                        {"filter": "lastchangedatetime gt datetime'2020-01-01T00:00'"},
                        {"filter": "LastChangeDateTime gt datetime'garbage'"},
                        {"top": "-1"}, {"skip": "x"}, {"inlinecount": "yes"},
                        {"select": "Nope"}, {"orderby": "Nope"}, {"$search": "x"}):
                st, _, body = s.req("GET", q(EQ, **bad))
                self.assertEqual(st, 400, bad)
                assert_v2_error(self, body)
            st, _, body = s.req("GET", EQ)  # Atom XML is the V2 default: JSON must be asked for
            self.assertEqual(st, 406)
            st, _, body = s.req("GET", EQ, headers={"Accept": "application/json"})
            self.assertEqual(st, 200)
            self.assertEqual(s.req("GET", q(V2 + "API_NOSUCH/Thing"))[0], 404)
            self.assertEqual(s.req("GET", q(V2 + "API_EQUIPMENT/NoSuchSet"))[0], 404)
            self.assertEqual(s.req("GET", q(V2 + "API_MAINTENANCEORDER;v=0002/MaintenanceOrder"))[0],
                             404)
            self.assertEqual(s.req("GET", q(EQ, expand="to_Partner"))[0], 501)
            d = s.ok("GET", q(V2 + "API_EQUIPMENT/"))["d"]
            self.assertEqual(d["EntitySets"], ["Equipment"])
        with Sim("--assets", "2", "--set", "v2-default-format=json") as s:
            self.assertEqual(s.req("GET", EQ)[0], 200)

    def test_csrf_flow(self):
        body = {"NotificationText": "Leak at flange"}
        with Sim("--assets", "3", "--fake-clock", CLOCK, "--set", "csrf-token-ttl=60") as s:
            st, h, text = s.req("POST", NOTIF + "MaintenanceNotification", body)
            self.assertEqual(st, 403)
            self.assertEqual(h["x-csrf-token"], "Required")
            self.assertEqual(text, "CSRF token validation failed")
            tok = s.fetch_token()
            self.assertTrue(tok and tok != "Required")
            self.assertTrue(any(k.startswith("SAP_SESSIONID_") for k in s.cookies))
            # the token is bound to the session cookie
            st, h, _ = s.req("POST", NOTIF + "MaintenanceNotification", body, session=False,
                             headers={"X-CSRF-Token": tok})
            self.assertEqual((st, h.get("x-csrf-token")), (403, "Required"))
            st, _, _ = s.req("POST", NOTIF + "MaintenanceNotification", body,
                             headers={"X-CSRF-Token": "wrong"})
            self.assertEqual(st, 403)
            self.assertEqual(s.effects()["notifications_created"], 0)
            self.assertEqual(s.req("POST", NOTIF + "MaintenanceNotification", body)[0], 201)
            # a second Fetch in the same session returns the same token
            self.assertEqual(s.fetch_token(), tok)
            s.advance("PT2M")  # past csrf-token-ttl
            st, h, _ = s.req("POST", NOTIF + "MaintenanceNotification", body)
            self.assertEqual((st, h.get("x-csrf-token")), (403, "Required"))
            tok2 = s.fetch_token()
            self.assertNotEqual(tok2, tok)
            self.assertEqual(s.req("POST", NOTIF + "MaintenanceNotification", body)[0], 201)
            self.assertEqual(s.effects()["notifications_created"], 2)
        with Sim("--assets", "1", "--set", "csrf-fetch=head") as s:
            self.assertIsNone(s.fetch_token())
            self.assertEqual(s.fetch_token(NOTIF, method="HEAD") is not None, True)
            self.assertEqual(s.req("POST", NOTIF + "MaintenanceNotification", body)[0], 201)

    def test_notification_lifecycle(self):
        with Sim("--assets", "4", "--fake-clock", CLOCK) as s:
            s.fetch_token()
            n = s.ok("POST", NOTIF + "MaintenanceNotification", {
                "NotificationText": "Cycle limit reached", "NotificationType": "M2",
                "TechnicalObject": "10000002", "TechObjIsEquipOrFuncnlLoc": "EAMS_EQUI",
                "MaintNotifExtReferenceNumber": "AB-01HZX", "MaintPriority": "2",
                "MalfunctionStartDate": "/Date(1767225600000)/",
                "MalfunctionStartTime": "PT08H30M00S"}, status=201)["d"]
            nid = n["MaintenanceNotification"]
            self.assertEqual((n["NotifProcessingPhase"], n["ConcatenatedActiveSystStsName"]),
                             ("1", "OSNO"))
            self.assertEqual(n["MalfunctionStartDate"], "/Date(1767225600000)/")
            self.assertEqual(n["MalfunctionStartTime"], "PT08H30M00S")
            self.assertRegex(n["LastChangeDateTime"], DATE_OFFSET)
            got = s.ok("GET", q(NOTIF + "MaintenanceNotification",
                                filter="MaintNotifExtReferenceNumber eq 'AB-01HZX'"))["d"]["results"]
            self.assertEqual([x["MaintenanceNotification"] for x in got], [nid])
            path = key(NOTIF + "MaintenanceNotification", "'%s'" % nid)
            st, _, _ = s.req("PATCH", path, {"NotificationText": "Cycle limit reached (2)"})
            self.assertEqual(st, 204)
            self.assertEqual(s.ok("GET", q(path))["d"]["NotificationText"],
                             "Cycle limit reached (2)")
            self.assertEqual(s.req("PATCH", path, {"Bogus": 1})[0], 400)
            self.assertEqual(s.req("PATCH", path, {"NotificationText": "x" * 41})[0], 400)
            act = NOTIF + "SetMaintNotifToInProcess?MaintenanceNotification='%s'" % nid
            d = s.ok("POST", act)["d"]
            self.assertEqual((d["NotifProcessingPhase"], d["ConcatenatedActiveSystStsName"]),
                             ("3", "NOPR"))
            done = (NOTIF + "CompleteMaintNotification?MaintenanceNotification='%s'"
                    "&NotificationReferenceDate=datetime'2026-01-02T00:00'"
                    "&NotificationReferenceTime=time'PT10H15M00S'" % nid)
            d = s.ok("POST", done)["d"]
            self.assertEqual((d["NotifProcessingPhase"], d["ConcatenatedActiveSystStsName"]),
                             ("4", "NOCO"))
            self.assertEqual(d["NotificationCompletionDate"], "/Date(1767312000000)/")
            self.assertEqual(d["CompletionTime"], "PT10H15M00S")
            st, _, body = s.req("POST", done)
            self.assertEqual(st, 400)
            assert_v2_error(self, body)
            # parameter syntax: the key must be quoted
            self.assertEqual(s.req("POST", NOTIF + "SetMaintNotifToInProcess?"
                                   "MaintenanceNotification=%s" % nid)[0], 400)
            self.assertEqual(s.req("POST", NOTIF + "SetMaintNotifToInProcess?"
                                   "MaintenanceNotification='999'")[0], 404)
            self.assertEqual(s.req("GET", q(NOTIF + "SetMaintNotifToInProcess"))[0], 405)
            for bad in ({}, {"NotificationText": "x", "TechnicalObject": "123",
                             "TechObjIsEquipOrFuncnlLoc": "EAMS_EQUI"},
                        {"NotificationText": "x", "NotifProcessingPhase": 1}):
                self.assertEqual(s.req("POST", NOTIF + "MaintenanceNotification", bad)[0], 400,
                                 bad)
            eff = s.effects()
            self.assertEqual((eff["notifications_created"], eff["notifications_updated"],
                              eff["notifications_in_process"], eff["notifications_completed"]),
                             (1, 1, 1, 1))

    def test_equipment_create_and_update(self):
        with Sim("--assets", "2") as s:
            s.fetch_token(V2 + "API_EQUIPMENT/")
            e = s.ok("POST", EQ, {"EquipmentName": "Fixture 7", "EquipmentCategory": "M",
                                  "MaintenancePlant": "1010"}, status=201)["d"]
            self.assertEqual(e["Equipment"], "10000003")
            self.assertEqual(e["ValidityEndDate"], "/Date(253402214400000)/")
            path = key(EQ, "Equipment='10000003',ValidityEndDate=" + END)
            self.assertEqual(s.req("PATCH", path, {"EquipmentName": "Fixture 7b"})[0], 204)
            self.assertEqual(s.ok("GET", q(path))["d"]["EquipmentName"], "Fixture 7b")
            self.assertEqual(s.req("PATCH", path, {"Equipment": "1"})[0], 400)
            self.assertEqual(s.req("POST", EQ, {"EquipmentName": "no category"})[0], 400)
            self.assertEqual(s.req("DELETE", path)[0], 405)
            eff = s.effects()
            self.assertEqual((eff["equipment_created"], eff["equipment_updated"]), (1, 1))

    def test_v4_measuring_points_and_documents(self):
        with Sim("--assets", "6", "--fake-clock", CLOCK) as s:
            pts = s.ok("GET", q(MP, filter="Equipment eq '10000002'", count="true"))
            self.assertEqual(pts["@count"], 1)
            cnt = pts["value"][0]
            self.assertTrue(cnt["MeasuringPointIsCounter"])
            self.assertEqual(cnt["SAP__Messages"], [])
            temp = s.ok("GET", q(MP, filter="Equipment eq '10000001' and "
                                            "MeasuringPointIsCounter eq false"))["value"][0]
            one = s.ok("GET", MP + "('%s')" % cnt["MeasuringPoint"])
            self.assertEqual(one["MeasuringPoint"], cnt["MeasuringPoint"])  # bare entity in V4
            docs = s.ok("GET", q(MD, filter="MeasuringPoint eq '%s'" % cnt["MeasuringPoint"],
                                 orderby="MsmtRdngDate desc"))["value"]
            self.assertEqual(len(docs), 2)
            self.assertRegex(docs[0]["MsmtRdngDate"], r"^\d{4}-\d\d-\d\d$")
            self.assertRegex(docs[0]["MsmtRdngTime"], r"^\d\d:\d\d:\d\d$")
            last = docs[0]["MeasurementCounterReading"]
            self.assertIsInstance(last, float)
            # writes need the CSRF token on V4 as well
            body = {"MeasuringPoint": cnt["MeasuringPoint"], "MsmtRdngDate": "2026-01-01",
                    "MsmtRdngTime": "15:51:04", "MeasurementReadingInEntryUoM": last + 100,
                    "MeasurementReadingEntryUoM": "EA", "MeasurementDocumentText": "sync"}
            st, h, _ = s.req("POST", MD, body)
            self.assertEqual((st, h.get("x-csrf-token")), (403, "Required"))
            s.fetch_token()
            d = s.ok("POST", MD, body, status=201)
            self.assertTrue(d["MeasurementDocument"])  # assigned by the server
            self.assertEqual(d["MeasurementCounterReading"], last + 100)
            self.assertEqual(d["MsmtCounterReadingDifference"], 100)
            self.assertEqual((d["MsmtRdngDate"], d["MsmtRdngTime"]), ("2026-01-01", "15:51:04"))
            d2 = s.ok("POST", MD, {"MeasuringPoint": cnt["MeasuringPoint"],
                                   "MsmtRdngDate": "2026-01-01", "MsmtRdngTime": "16:00:00",
                                   "MsmtCounterReadingDifference": 50,
                                   "MsmtCntrReadingDiffIsEntered": True}, status=201)
            self.assertEqual(d2["MeasurementCounterReading"], last + 150)
            self.assertEqual(s.ok("GET", MD + "('%s')" % d2["MeasurementDocument"])
                             ["MeasurementCounterReading"], last + 150)
            st, _, err = s.req("POST", MD, dict(body, MeasurementReadingInEntryUoM=1.0))
            self.assertEqual(st, 400)  # a counter does not run backwards
            self.assertIsInstance(err["error"]["message"], str)  # V4: a string message
            t = s.ok("POST", MD, {"MeasuringPoint": temp["MeasuringPoint"],
                                  "MeasurementReadingInEntryUoM": 71.5}, status=201)
            self.assertEqual(t["MeasurementReading"], 71.5)
            self.assertEqual(t["MsmtRdngDate"], "2026-01-01")  # defaults to today
            for bad in ({"MeasuringPoint": "nope", "MeasurementReadingInEntryUoM": 1},
                        {"MeasurementReadingInEntryUoM": 1},
                        {"MeasuringPoint": temp["MeasuringPoint"]},
                        {"MeasuringPoint": temp["MeasuringPoint"], "MsmtReadingEntryUoM": "CEL",
                         "MeasurementReadingInEntryUoM": 1},  # the naming trap
                        {"MeasuringPoint": temp["MeasuringPoint"],
                         "MeasurementReadingEntryUoM": "FAH", "MeasurementReadingInEntryUoM": 1},
                        {"MeasuringPoint": temp["MeasuringPoint"], "MsmtRdngDate": "01.01.2026",
                         "MeasurementReadingInEntryUoM": 1}):
                self.assertEqual(s.req("POST", MD, bad)[0], 400, bad)
            got = s.ok("GET", q(MD, filter="MsmtRdngDate ge 2026-01-01", count="true"))
            self.assertEqual(got["@count"], 3)
            self.assertNotIn("@odata.nextLink", s.ok("GET", q(MD, top=1000)))
            eff = s.effects()
            self.assertEqual((eff["measurement_documents_created"],
                              eff["counter_readings_posted"]), (3, 2))
            self.assertEqual(s.req("PATCH", MP + "('%s')" % cnt["MeasuringPoint"],
                                   {"MeasuringPointDescription": "x"})[0], 405)
        with Sim("--assets", "6", "--set", "counter-precedence=difference",
                 "--set", "measurement-document-key=require", "--set", "v4-page-size=4",
                 "--set", "v4-error-message=object") as s:
            s.fetch_token()
            cnt = s.ok("GET", q(MP, filter="Equipment eq '10000002'"))["value"][0]
            st, _, err = s.req("POST", MD, {"MeasuringPoint": cnt["MeasuringPoint"],
                                            "MeasurementReadingInEntryUoM": 1e9})
            self.assertEqual(st, 400)
            self.assertEqual(err["error"]["message"]["lang"], "en")
            prev = s.ok("GET", q(MD, filter="MeasuringPoint eq '%s'" % cnt["MeasuringPoint"],
                                 orderby="MsmtRdngDate desc", top=1))["value"][0]
            d = s.ok("POST", MD, {"MeasurementDocument": "77", "MeasuringPoint":
                                  cnt["MeasuringPoint"], "MeasurementCounterReading": 1e9,
                                  "MsmtCounterReadingDifference": 5,
                                  "MsmtCntrReadingDiffIsEntered": True}, status=201)
            self.assertEqual(d["MeasurementCounterReading"],
                             prev["MeasurementCounterReading"] + 5)
            page = s.ok("GET", q(MD, count="true"))
            self.assertEqual(len(page["value"]), 4)
            seen = [x["MeasurementDocument"] for x in page["value"]]
            nxt = page["@odata.nextLink"]
            self.assertTrue(nxt.startswith("MeasurementDocument?"))
            while nxt:
                page = s.ok("GET", MD.rsplit("/", 1)[0] + "/" + nxt)
                seen += [x["MeasurementDocument"] for x in page["value"]]
                nxt = page.get("@odata.nextLink")
            self.assertEqual(len(seen), len(set(seen)))
            self.assertEqual(len(seen), s.ok("GET", q(MD, count="true"))["@count"])

    def test_plans_schedules_cycles_items_orders(self):
        with Sim("--assets", "6") as s:
            plans = s.ok("GET", q(PLAN + "MaintenancePlan", inlinecount="allpages"))["d"]
            self.assertEqual(plans["__count"], "6")
            p2 = plans["results"][1]["MaintenancePlan"]
            sch = s.ok("GET", q(PLAN + "MaintenancePlan('%s')/to_Schedules" % p2))["d"]["results"]
            self.assertEqual([x["MaintenancePlanCallNumber"] for x in sch], [1, 2])
            self.assertRegex(sch[1]["MaintenanceCallNextPlannedDate"], DATE)
            cyc = s.ok("GET", q(PLAN + "MaintenancePlan('%s')/to_MaintenanceCycle" % p2))
            c = cyc["d"]["results"][0]
            self.assertIn("LASTCHANGEDATETIME", c)  # upper case, as in the spec
            self.assertNotIn("LastChangeDateTime", c)
            self.assertTrue(c["MeasuringPoint"])  # counter-based: tied to the counter
            self.assertIsInstance(c["MaintPlanCycRcrrcIntervalQty"], str)  # V2 Edm.Double
            self.assertEqual(s.req("GET", q(PLAN + "MaintenancePlanCycle",
                                            filter="LastChangeDateTime gt "
                                                   "datetime'2000-01-01T00:00'"))[0], 400)
            self.assertEqual(len(s.ok("GET", q(PLAN + "MaintenancePlanCycle",
                                               filter="LASTCHANGEDATETIME gt "
                                                      "datetime'2000-01-01T00:00'"))
                                 ["d"]["results"]), 6)
            one = s.ok("GET", q(PLAN + "MaintenancePlanSchedule(MaintenancePlan='%s',"
                                "MaintenancePlanCallNumber=2,MaintenancePackage='')" % p2))["d"]
            self.assertEqual(one["MaintenancePlanCallNumber"], 2)
            for svc in (PLAN, V2 + "API_MAINTENANCEITEM/"):
                items = s.ok("GET", q(svc + "MaintenanceItem",
                                      filter="Equipment eq '10000002'"))["d"]["results"]
                self.assertEqual(len(items), 1)
            self.assertEqual(s.req("GET", q(PLAN + "MaintenancePlan('nope')/to_Schedules"))[0],
                             404)
            orders = s.ok("GET", q(ORD + "MaintenanceOrder"))["d"]["results"]
            self.assertEqual(len(orders), 2)
            o = orders[0]
            self.assertTrue(o["MaintOrdProcessPhaseCode"])
            self.assertNotIn("MaintenanceOrderSystemStatus", o)
            self.assertRegex(o["MaintOrdBasicStartDateTime"], DATE_OFFSET)
            ops = s.ok("GET", q(ORD + "MaintenanceOrder('%s')/to_MaintenanceOrderOperation"
                                % o["MaintenanceOrder"]))["d"]["results"]
            self.assertEqual(ops[0]["MaintenanceOrderOperation"], "0010")
            s.fetch_token(ORD)
            self.assertEqual(s.req("POST", ORD + "MaintenanceOrder", {"x": 1})[0], 405)
            self.assertEqual(s.req("POST", PLAN + "StartMaintPlnSchedule?MaintenancePlan='1'")[0],
                             501)

    def test_final_confirmation_completes_the_order(self):
        with Sim("--assets", "4", "--fake-clock", CLOCK) as s:
            o = s.ok("GET", q(ORD + "MaintenanceOrder", top=1))["d"]["results"][0]
            oid = o["MaintenanceOrder"]
            self.assertNotEqual(o["MaintOrdProcessPhaseCode"], "08")
            s.fetch_token(V2 + "API_MAINTORDERCONFIRMATION/")
            c1 = s.ok("POST", CONF, {"MaintenanceOrder": oid, "MaintenanceOrderOperation": "0010",
                                     "ActualWorkQuantity": "1.5", "ActualWorkQuantityUnit": "H",
                                     "ConfirmationText": "partial"}, status=201)["d"]
            self.assertEqual(c1["MaintOrderConfCntrValue"], "1")
            self.assertEqual(c1["ActualWorkQuantity"], "1.5")
            o = s.ok("GET", q(ORD + "MaintenanceOrder('%s')" % oid))["d"]
            self.assertNotEqual(o["MaintOrdProcessPhaseCode"], "08")
            c2 = s.ok("POST", CONF, {"MaintenanceOrder": oid, "MaintenanceOrderOperation": "0010",
                                     "ActualWorkQuantity": "0.5", "ActualWorkQuantityUnit": "H",
                                     "IsFinalConfirmation": True,
                                     "OperationConfirmedEndDate": "/Date(1767225600000)/"},
                      status=201)["d"]
            self.assertEqual((c2["MaintOrderConf"], c2["MaintOrderConfCntrValue"]),
                             (c1["MaintOrderConf"], "2"))
            o = s.ok("GET", q(ORD + "MaintenanceOrder('%s')" % oid))["d"]
            self.assertEqual(o["MaintOrdProcessPhaseCode"], "08")
            op = s.ok("GET", q(ORD + "MaintenanceOrder('%s')/to_MaintenanceOrderOperation"
                               % oid))["d"]["results"][0]
            self.assertEqual(op["ActualWorkQuantity"], "2")
            self.assertEqual(op["OpActualExecutionEndDate"], "/Date(1767225600000)/")
            got = s.ok("GET", q(key(CONF, "MaintOrderConf='%s',MaintOrderConfCntrValue='2'"
                                    % c1["MaintOrderConf"])))["d"]
            self.assertTrue(got["IsFinalConfirmation"])
            st, _, body = s.req("POST", CONF, {"MaintenanceOrder": oid,
                                               "MaintenanceOrderOperation": "0010"})
            self.assertEqual(st, 400)
            assert_v2_error(self, body)
            self.assertEqual(s.req("POST", CONF, {"MaintenanceOrder": "1",
                                                  "MaintenanceOrderOperation": "0010"})[0], 400)
            eff = s.effects()
            self.assertEqual((eff["confirmations_posted"], eff["final_confirmations_posted"]),
                             (2, 1))
        with Sim("--assets", "4", "--set", "final-confirmation-phase=07") as s:
            o = s.ok("GET", q(ORD + "MaintenanceOrder", filter="MaintOrdProcessPhaseCode eq '05'"
                              ))["d"]["results"][0]
            s.fetch_token()
            s.ok("POST", CONF, {"MaintenanceOrder": o["MaintenanceOrder"],
                                "MaintenanceOrderOperation": "0010",
                                "IsFinalConfirmation": True}, status=201)
            self.assertEqual(s.ok("GET", q(ORD + "MaintenanceOrder('%s')" % o["MaintenanceOrder"])
                                  )["d"]["MaintOrdProcessPhaseCode"], "07")

    def test_faults_throttling_and_effects(self):
        with Sim("--assets", "25", "--set", "v2-page-size=10", "--seed", "3") as s:
            s.faults({"match": {"path": EQ}, "action": "status", "status": 429, "count": 1})
            st, h, body = s.req("GET", q(EQ))
            self.assertEqual(st, 429)
            self.assertEqual(h["retry-after"], "1")
            assert_v2_error(self, body)
            self.assertEqual(s.req("GET", q(EQ))[0], 200)
            s.faults({"match": {"path": EQ}, "action": "status", "status": 503, "count": 1})
            st, _, body = s.req("GET", q(EQ))
            self.assertEqual(st, 503)
            assert_v2_error(self, body)
            # repeat_page: the second page is the first again
            first = s.ok("GET", q(EQ))["d"]
            s.faults({"match": {"path": EQ}, "action": "repeat_page", "count": 1})
            nxt = first["__next"]
            again = s.ok("GET", nxt[nxt.index("/sap/"):])["d"]
            self.assertEqual(again["results"], first["results"])
            s.faults({"match": {"method": "GET", "path": EQ}, "action": "malformed", "count": 1})
            self.assertTrue(s.outcome("GET", q(EQ)).startswith("malformed"))
            # reset_after_apply: the caller sees a reset, the notification exists
            s.fetch_token()
            s.faults({"match": {"method": "POST", "path": NOTIF + "MaintenanceNotification"},
                      "action": "reset_after_apply", "count": 1})
            self.assertEqual(s.outcome("POST", NOTIF + "MaintenanceNotification",
                                       {"NotificationText": "once"}), "dropped")
            self.assertEqual(s.effects()["notifications_created"], 1)
            s.faults({"match": {"method": "POST"}, "action": "reset", "count": 1})
            self.assertEqual(s.outcome("POST", NOTIF + "MaintenanceNotification",
                                       {"NotificationText": "never"}), "dropped")
            self.assertEqual(s.effects()["notifications_created"], 1)
            # expire_token: the CSRF token is gone; fetch once more and retry
            s.faults({"match": {"method": "POST"}, "action": "expire_token", "count": 1})
            st, h, _ = s.req("POST", NOTIF + "MaintenanceNotification", {"NotificationText": "a"})
            self.assertEqual((st, h.get("x-csrf-token")), (403, "Required"))
            self.assertEqual(s.req("POST", NOTIF + "MaintenanceNotification",
                                   {"NotificationText": "a"})[0], 403)
            s.fetch_token()
            self.assertEqual(s.req("POST", NOTIF + "MaintenanceNotification",
                                   {"NotificationText": "a"})[0], 201)
            s.faults({"match": {"method": "GET"}, "action": "expire_token", "count": 1})
            self.assertEqual(s.req("GET", q(EQ))[0], 401)
            self.assertEqual(s.req("GET", q(EQ))[0], 200)
            s.faults({"match": {"path": MP}, "action": "timeout", "ms": 300, "count": 1})
            self.assertEqual(s.outcome("GET", MP, timeout=5), "dropped")
            eff = s.effects()
            self.assertEqual(eff["notifications_created"], 2)
            self.assertEqual(eff["seeded_equipment"], 25)
            log = s.req("GET", "/_sim/requests?method=POST&path=" + NOTIF + "*", auth=False,
                        session=False)[2]["items"]
            self.assertTrue(log)
            self.assertEqual(log[-1]["headers"]["Authorization"], "Basic ***")
            self.assertEqual(log[-1]["headers"]["X-CSRF-Token"], "***")
        with Sim("--assets", "2", "--rate-limit", "1", "--fake-clock", CLOCK) as s:
            codes = [s.req("GET", q(EQ))[0] for _ in range(15)]
            self.assertIn(429, codes)

    def test_seed_10000_assets(self):
        with Sim("--assets", "10000", "--set", "v2-page-size=5000") as s:
            d = s.ok("GET", q(EQ, inlinecount="allpages", select="Equipment", top=1))["d"]
            self.assertEqual(d["__count"], "10000")
            got = s.v2_all(EQ, select="Equipment")
            self.assertEqual(len(got), 10000)
            self.assertEqual(got[-1]["Equipment"], "10010000")
            pts = s.ok("GET", q(MP, filter="Equipment eq '10010000'"))["value"]
            self.assertEqual(len(pts), 1)
            self.assertEqual(s.ok("GET", q(MD, count="true", top=0))["@count"], 25000)
            self.assertEqual(s.effects()["seeded_equipment"], 10000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
