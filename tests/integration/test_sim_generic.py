# SPDX-License-Identifier: Apache-2.0
"""Integration tests of `assetbridge sim generic` (docs/sim/generic.md): auth,
paging across writes, fault rules and their determinism, inspection with
masked secrets, exact effect counts with Idempotency-Key, 429 + Retry-After,
state surviving a restart, and the fake clock moving due dates."""
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

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, run  # noqa: E402

TOKEN = "sim-token"
AUTH = {"Authorization": "Bearer " + TOKEN}


class Sim:
    def __init__(self, *args, tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="ab-sim-")
        self.own_tmp = tmp is None
        self.args = ["sim", "generic", "--listen", "127.0.0.1:0", *args]

    def __enter__(self):
        self.err = open(os.path.join(self.tmp, "stderr-%d.log" % id(self)), "w")
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
        if self.own_tmp:
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
        except ValueError:
            pass
        return resp.status, hdrs, data

    def outcome(self, method, path, body=None, headers=None):
        """'ok:STATUS', 'dropped', 'truncated', 'malformed:STATUS' or 'timeout'."""
        try:
            st, _, data = self.req(method, path, body, headers, timeout=5)
        except http.client.IncompleteRead:
            return "truncated"
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            return "dropped"
        except socket.timeout:
            return "timeout"
        if isinstance(data, str):
            return "malformed:%d" % st
        return "ok:%d" % st


def pages_cursor(sim, path, limit, between=None):
    items, url, n = [], "%s?limit=%d" % (path, limit), 0
    watermark = None
    while True:
        st, _, page = sim.req("GET", url)
        assert st == 200, page
        items += page["items"]
        watermark = page["watermark"]
        if between and n == 0:
            between()
        n += 1
        if not page["next_cursor"]:
            return items, watermark
        url = "%s?limit=%d&cursor=%s" % (path, limit, page["next_cursor"])


class TestSimGeneric(unittest.TestCase):
    def test_list_and_unknown_provider(self):
        p = run("sim", "--list")
        self.assertEqual(p.returncode, 0)
        self.assertIn("generic", p.stdout)
        p = run("sim", "nosuch", "--listen", "127.0.0.1:0")
        self.assertEqual(p.returncode, 2)

    def test_auth_failures(self):
        with Sim("--fake-clock", "2026-01-01T00:00:00Z") as s:
            st, h, body = s.req("GET", "/api/v1/assets", auth=False)
            self.assertEqual(st, 401)
            self.assertEqual(body["error"], "unauthorized")
            self.assertIn("message", body)
            self.assertIn("Bearer", h["www-authenticate"])
            st, _, body = s.req("GET", "/api/v1/assets", headers={"Authorization": "Bearer nope"})
            self.assertEqual((st, body["error"]), (401, "unauthorized"))
            st, _, body = s.req("GET", "/api/v1/assets", headers={"Authorization": "Basic eDp5"})
            self.assertEqual(st, 401)
            st, _, body = s.req("GET", "/api/v1/assets")
            self.assertEqual(st, 200)
            self.assertEqual(len(body["items"]), 50)  # default limit, 50 seeded assets
        with Sim("--token", "other") as s:
            self.assertEqual(s.req("GET", "/api/v1/assets")[0], 401)
            self.assertEqual(
                s.req("GET", "/api/v1/assets", headers={"Authorization": "Bearer other"})[0], 200)

    def test_offset_paging_disjoint_complete_across_writes(self):
        with Sim("--assets", "30", "--rate-limit", "0") as s:
            seen, off = [], 0
            while off is not None:
                st, _, page = s.req("GET", "/api/v1/assets?offset=%d&limit=7" % off)
                self.assertEqual(st, 200)
                seen += [a["id"] for a in page["items"]]
                if off == 7:  # writes between pages: an update and a create
                    self.assertEqual(s.req("PATCH", "/api/v1/assets/A-000001",
                                           {"location": "Line 9"})[0], 200)
                    self.assertEqual(s.req("POST", "/api/v1/assets", {
                        "tag": "NEW-1", "name": "New fixture", "type": "ict_fixture"})[0], 201)
                off = page["next_offset"]
            self.assertEqual(len(seen), len(set(seen)))
            self.assertEqual(len(seen), 31)

    def test_cursor_and_incremental_across_writes(self):
        with Sim("--assets", "25", "--rate-limit", "0", "--fake-clock",
                 "2026-01-01T00:00:00Z") as s:
            def writes():
                # update one already served and one not yet served, create one
                s.req("PATCH", "/api/v1/assets/A-000001", {"location": "Moved"})
                s.req("PATCH", "/api/v1/assets/A-000020", {"location": "Moved"})
                s.req("POST", "/api/v1/assets", {"tag": "INC-1", "name": "n", "type": "t"})
            items, wm = pages_cursor(s, "/api/v1/assets", 4, between=writes)
            ids = [a["id"] for a in items]
            self.assertEqual(len(ids), len(set(ids)), "a cursor chain never repeats a row")
            # the rows changed during the chain come in the next incremental pull
            st, _, inc = s.req("GET", "/api/v1/assets?limit=100&updated_since=" + wm)
            self.assertEqual(st, 200)
            inc_ids = sorted(a["id"] for a in inc["items"])
            self.assertEqual(inc_ids, ["A-000001", "A-000020", "A-000026"])
            self.assertTrue(all(a["location"] == "Moved" for a in inc["items"]
                                if a["id"] != "A-000026"))
            union = set(ids) | set(inc_ids)
            self.assertEqual(len(union), 26)
            # an incremental pull from the new watermark is empty
            st, _, again = s.req("GET", "/api/v1/assets?updated_since=" + inc["watermark"])
            self.assertEqual(again["items"], [])
            # filters survive the cursor chain
            st, _, p1 = s.req("GET", "/api/v1/work-orders?status=open&limit=1")
            chain = p1["items"]
            cur = p1["next_cursor"]
            while cur:
                _, _, p = s.req("GET", "/api/v1/work-orders?cursor=" + cur)
                chain += p["items"]
                cur = p["next_cursor"]
            self.assertTrue(all(w["status"] == "open" for w in chain))
            st, _, body = s.req("GET", "/api/v1/assets?cursor=zz")
            self.assertEqual((st, body["error"]), (400, "invalid_cursor"))
            st, _, body = s.req("GET", "/api/v1/assets?limit=0")
            self.assertEqual((st, body["field"]), (422, "limit"))

    def test_crud_and_readings(self):
        with Sim("--assets", "3", "--fake-clock", "2026-01-01T00:00:00Z") as s:
            st, h, a = s.req("POST", "/api/v1/assets", {
                "tag": "TQ-9", "name": "Torque", "type": "torque_tool",
                "calibration": {"interval_days": 180, "last_calibrated_at": "2025-12-01T00:00:00Z"}})
            self.assertEqual(st, 201)
            self.assertEqual(h["location"], "/api/v1/assets/" + a["id"])
            self.assertEqual(a["calibration"]["due_at"], "2026-05-30T00:00:00Z")
            self.assertEqual(s.req("POST", "/api/v1/assets", {"tag": "TQ-9", "name": "x",
                                                              "type": "y"})[0], 409)
            st, _, e = s.req("POST", "/api/v1/assets", {"tag": "T", "name": "x"})
            self.assertEqual((st, e["error"], e["field"]), (422, "validation_failed", "type"))
            self.assertEqual(s.req("POST", "/api/v1/assets", "{bad")[0], 400)
            self.assertEqual(s.req("GET", "/api/v1/assets/A-999999")[0], 404)
            st, _, m = s.req("POST", "/api/v1/meters", {"asset_id": a["id"], "name": "cycles",
                                                        "kind": "counter", "unit": "cycles"})
            self.assertEqual(st, 201)
            st, _, r = s.req("POST", "/api/v1/meters/%s/readings" % m["id"], {"value": 10})
            self.assertEqual(st, 201)
            self.assertEqual(s.req("POST", "/api/v1/meters/%s/readings" % m["id"],
                                   {"value": 5})[0], 422)
            _, _, m2 = s.req("GET", "/api/v1/meters/" + m["id"])
            self.assertEqual(m2["last_value"], 10)
            st, _, wo = s.req("POST", "/api/v1/work-orders", {"asset_id": a["id"],
                                                              "title": "Calibrate",
                                                              "type": "calibration"})
            self.assertEqual((st, wo["status"]), (201, "open"))
            st, _, wo2 = s.req("PATCH", "/api/v1/work-orders/" + wo["id"],
                               {"status": "completed"}, headers={"If-Match": '"1"'})
            self.assertEqual((st, wo2["status"]), (200, "completed"))
            self.assertEqual(s.req("PATCH", "/api/v1/work-orders/" + wo["id"],
                                   {"status": "open"})[0], 409)
            self.assertEqual(s.req("PATCH", "/api/v1/work-orders/" + wo["id"], {"title": "x"},
                                   headers={"If-Match": '"1"'})[0], 412)
            _, _, a2 = s.req("GET", "/api/v1/assets/" + a["id"])
            self.assertEqual(a2["calibration"]["last_calibrated_at"], "2026-01-01T00:00:00Z")
            _, _, eff = s.req("GET", "/_sim/effects")
            self.assertEqual(eff["assets_created"], 1)
            self.assertEqual(eff["readings_posted"], 1)
            self.assertEqual(eff["work_orders_updated"], 1)

    def run_fault_sequence(self, seed):
        with Sim("--seed", str(seed), "--assets", "10", "--rate-limit", "0") as s:
            st, _, _ = s.req("POST", "/_sim/faults", [
                {"match": {"method": "GET", "path": "/api/v1/assets*"}, "action": "status",
                 "status": 503, "probability": 0.3},
                {"match": {"method": "GET", "path": "/api/v1/work-orders"}, "action": "reset",
                 "probability": 0.5, "count": 3}], auth=False)
            self.assertEqual(st, 201)
            for i in range(20):
                s.outcome("GET", "/api/v1/assets?limit=2")
                s.outcome("GET", "/api/v1/work-orders")
            _, _, log = s.req("GET", "/_sim/requests")
            _, _, rules = s.req("GET", "/_sim/faults")
            return [(e["seq"], e["path"], e["fault"], e["status"]) for e in log["items"]], rules

    def test_faults_deterministic_for_a_seed(self):
        a, rules_a = self.run_fault_sequence(7)
        b, rules_b = self.run_fault_sequence(7)
        self.assertEqual(a, b)
        faulted = [x for x in a if x[2]]
        self.assertTrue(0 < len(faulted) < 40)
        self.assertEqual(sum(1 for x in a if x[2] == "reset"), 3)  # count limits firings
        self.assertEqual(rules_a["items"][1]["remaining"], 0)
        self.assertIsNone(rules_a["items"][0]["remaining"])
        self.assertTrue(all(x[3] == 503 for x in a if x[2] == "status"))
        c, _ = self.run_fault_sequence(8)
        self.assertNotEqual(a, c)

    def test_each_fault_action(self):
        faults = os.path.join(tempfile.mkdtemp(prefix="ab-sim-f-"), "faults.json")
        with open(faults, "w") as f:
            json.dump([{"match": {"method": "GET", "path": "/api/v1/plans"}, "action": "status",
                        "status": 502, "count": 1}], f)
        with Sim("--assets", "12", "--rate-limit", "0", "--faults", faults) as s:
            st, _, body = s.req("GET", "/api/v1/plans")
            self.assertEqual((st, body["error"]), (502, "bad_gateway"))
            self.assertEqual(s.req("GET", "/api/v1/plans")[0], 200)  # count 1: used up

            def add(rule):
                self.assertEqual(s.req("POST", "/_sim/faults", rule, auth=False)[0], 201)

            add({"match": {"path": "/api/v1/meters"}, "action": "latency", "ms": 200,
                 "count": 1})
            self.assertEqual(s.outcome("GET", "/api/v1/meters"), "ok:200")
            add({"match": {"path": "/api/v1/meters"}, "action": "timeout", "ms": 8000,
                 "count": 1})
            self.assertEqual(s.outcome("GET", "/api/v1/meters"), "timeout")  # client: 5 s
            add({"match": {"method": "POST", "path": "/api/v1/assets"}, "action": "reset",
                 "count": 1})
            self.assertEqual(s.outcome("POST", "/api/v1/assets",
                                       {"tag": "R-1", "name": "n", "type": "t"}), "dropped")
            self.assertEqual(s.req("GET", "/_sim/effects")[2]["assets_created"], 0)
            add({"match": {"path": "/api/v1/assets"}, "action": "truncate", "count": 1})
            self.assertEqual(s.outcome("GET", "/api/v1/assets"), "truncated")
            add({"match": {"path": "/api/v1/assets"}, "action": "malformed", "count": 1})
            self.assertEqual(s.outcome("GET", "/api/v1/assets"), "malformed:200")
            # repeat_page: page 2 answered with page 1 again
            _, _, p1 = s.req("GET", "/api/v1/assets?limit=5")
            add({"match": {"path": "/api/v1/assets"}, "action": "repeat_page", "count": 1})
            _, _, p2 = s.req("GET", "/api/v1/assets?limit=5&cursor=" + p1["next_cursor"])
            self.assertEqual(p2, p1)
            _, _, p2 = s.req("GET", "/api/v1/assets?limit=5&cursor=" + p1["next_cursor"])
            self.assertNotEqual(p2["items"][0]["id"], p1["items"][0]["id"])
            # expire_token: one 401 token_expired, then the token works again
            add({"match": {"path": "/api/v1/work-orders"}, "action": "expire_token", "count": 1})
            st, _, body = s.req("GET", "/api/v1/work-orders")
            self.assertEqual((st, body["error"]), (401, "token_expired"))
            self.assertEqual(s.req("GET", "/api/v1/work-orders")[0], 200)
            # listing and clearing rules
            _, _, rules = s.req("GET", "/_sim/faults")
            self.assertEqual(len(rules["items"]), 8)
            self.assertEqual(s.req("DELETE", "/_sim/faults")[0], 204)
            self.assertEqual(s.req("GET", "/_sim/faults")[2]["items"], [])
            # invalid rules are refused
            st, _, body = s.req("POST", "/_sim/faults", {"action": "explode"})
            self.assertEqual((st, body["error"]), (422, "invalid_fault_rule"))
            self.assertEqual(s.req("POST", "/_sim/faults", "[{")[0], 400)
            log = s.req("GET", "/_sim/requests?path=/api/v1/assets")[2]["items"]
            self.assertIn("reset", [e["fault"] for e in log])

    def test_reset_after_apply_and_idempotency_exactly_once(self):
        with Sim("--assets", "2", "--rate-limit", "0") as s:
            s.req("POST", "/_sim/faults", {"match": {"method": "POST",
                                                     "path": "/api/v1/meters/*"},
                                           "action": "reset_after_apply", "count": 1})
            key = {"Idempotency-Key": "reading-42"}
            path = "/api/v1/meters/M-000001/readings"
            _, _, m = s.req("GET", "/api/v1/meters/M-000001")
            value = (m["last_value"] or 0) + 100
            self.assertEqual(s.outcome("POST", path, {"value": value}, key), "dropped")
            self.assertEqual(s.req("GET", "/_sim/effects")[2]["readings_posted"], 1)
            st, h, first = s.req("POST", path, {"value": value}, key)  # the client retries
            self.assertEqual(st, 201)
            self.assertEqual(h.get("idempotent-replayed"), "true")
            st, _, again = s.req("POST", path, {"value": value}, key)
            self.assertEqual(again, first)
            self.assertEqual(s.req("GET", "/_sim/effects")[2]["readings_posted"], 1)
            st, _, body = s.req("POST", "/api/v1/assets", {"tag": "x", "name": "x", "type": "x"},
                                key)
            self.assertEqual((st, body["error"]), (422, "idempotency_key_reused"))
            # without a key, a retry applies twice: that is what the key is for
            s.req("POST", path, {"value": value + 1})
            self.assertEqual(s.req("GET", "/_sim/effects")[2]["readings_posted"], 2)

    def test_inspection_masks_secrets(self):
        with Sim("--assets", "2") as s:
            s.req("POST", "/api/v1/assets?api_key=abc&x=1",
                  {"tag": "S-1", "name": "n", "type": "t", "password": "hunter2"},
                  headers={"X-Api-Key": "k123"})
            st, _, log = s.req("GET", "/_sim/requests?method=POST")
            self.assertEqual(st, 200)
            self.assertEqual(len(log["items"]), 1)
            e = log["items"][0]
            text = json.dumps(e)
            for secret in (TOKEN, "hunter2", "abc", "k123"):
                self.assertNotIn(secret, text)
            self.assertEqual(e["headers"]["Authorization"], "Bearer ***")
            self.assertEqual(e["query"], "api_key=***&x=1")
            self.assertEqual(e["body"]["password"], "***")
            self.assertEqual(e["status"], 422)  # password is not an asset field
            self.assertEqual(s.req("DELETE", "/_sim/requests")[0], 204)
            self.assertEqual(s.req("GET", "/_sim/requests")[2]["items"], [])

    def test_rate_limit_429(self):
        with Sim("--assets", "2", "--rate-limit", "2", "--fake-clock",
                 "2026-01-01T00:00:00Z") as s:
            statuses = [s.req("GET", "/api/v1/plans")[0] for _ in range(12)]
            self.assertEqual(statuses[:10], [200] * 10)  # burst: max(10, 2 * rate)
            st, h, body = s.req("GET", "/api/v1/plans")
            self.assertEqual((st, body["error"]), (429, "rate_limited"))
            self.assertGreaterEqual(int(h["retry-after"]), 1)
            s.req("POST", "/_test/clock", {"advance": "PT5S"}, auth=False)
            self.assertEqual(s.req("GET", "/api/v1/plans")[0], 200)

    def test_state_survives_restart(self):
        tmp = tempfile.mkdtemp(prefix="ab-sim-st-")
        state = os.path.join(tmp, "sim.db")
        try:
            with Sim("--state", state, "--assets", "4", tmp=tmp) as s:
                st, _, a = s.req("POST", "/api/v1/assets", {"tag": "KEEP", "name": "k",
                                                            "type": "t"},
                                 headers={"Idempotency-Key": "k1"})
                self.assertEqual(st, 201)
            with Sim("--state", state, "--assets", "99", tmp=tmp) as s:
                _, _, b = s.req("GET", "/api/v1/assets/" + a["id"])
                self.assertEqual(b["tag"], "KEEP")
                _, _, page = s.req("GET", "/api/v1/assets?offset=0&limit=200")
                self.assertEqual(page["total"], 5)  # not reseeded
                st, _, c = s.req("POST", "/api/v1/assets", {"tag": "KEEP", "name": "k",
                                                            "type": "t"},
                                 headers={"Idempotency-Key": "k1"})
                self.assertEqual((st, c["id"]), (201, a["id"]))
                self.assertEqual(s.req("GET", "/_sim/effects")[2]["assets_created"], 1)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_seed_is_deterministic(self):
        dumps = []
        for _ in range(2):
            with Sim("--seed", "42", "--assets", "8", "--fake-clock",
                     "2026-01-01T00:00:00Z") as s:
                dumps.append(s.req("GET", "/_sim/state")[2])
        self.assertEqual(dumps[0], dumps[1])
        self.assertEqual(len(dumps[0]["assets"]), 8)

    def test_fake_clock_moves_due_dates(self):
        with Sim("--assets", "20", "--fake-clock", "2026-01-01T00:00:00Z") as s:
            st, _, a = s.req("POST", "/api/v1/assets", {
                "tag": "CAL-1", "name": "DMM", "type": "multimeter",
                "calibration": {"interval_days": 40, "last_calibrated_at": "2025-12-20T00:00:00Z"}})
            self.assertEqual(a["calibration"]["status"], "due_soon")
            self.assertEqual(s.req("POST", "/_test/clock", {"advance": "P30D"},
                                   auth=False)[0], 200)
            _, _, a2 = s.req("GET", "/api/v1/assets/" + a["id"])
            self.assertEqual(a2["calibration"]["status"], "overdue")
            state = s.req("GET", "/_sim/state")[2]
            mine = [x for x in state["assets"] if x["id"] == a["id"]][0]
            self.assertEqual(mine["calibration"]["status"], "overdue")
            self.assertEqual(state["now"], "2026-01-31T00:00:00Z")
        with Sim("--assets", "1") as s:  # no fake clock: no clock endpoint
            self.assertEqual(s.req("POST", "/_test/clock", {"advance": "P1D"})[0], 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
