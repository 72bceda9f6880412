#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""REST API v1, readings and meters: POST /v1/readings (increment and value,
idempotency by body key and by Idempotency-Key header, identity errors,
validation, the future limit, a counter going backwards), POST
/v1/readings:batch (NDJSON and JSON array with good, duplicate and bad items,
framing errors, the item and size ceilings, admission of at most two batch
bodies in flight), GET .../meters and .../meters/{meter}/readings (paging),
authentication, scopes and tenant isolation. Drives the real binary.

Assets are created with PUT /v1/assets/{ref} when that route answers; while
it does not exist yet (404 "no such route"), or when it refuses what the
test needs (two assets sharing a serial number), they are inserted into the
service's SQLite database directly."""
import json
import os
import socket
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run  # noqa: E402

CYCLES = "cycles"


def ndjson(items):
    return "".join((json.dumps(i) if not isinstance(i, str) else i) + "\n" for i in items)


class ReadingsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service().start()
        cls.keys = {}
        for name, tenant, scopes in [("write", "plant-a", "write"),
                                     ("ingest", "plant-a", "ingest"),
                                     ("read", "plant-a", "read"),
                                     ("b", "plant-b", "write")]:
            p = run("apikey", "create", "--data-dir", cls.svc.data_dir, "--tenant", tenant,
                    "--scopes", scopes)
            assert p.returncode == 0, p.stderr
            cls.keys[name] = p.stdout.rstrip("\n").splitlines()[-1]

    @classmethod
    def tearDownClass(cls):
        cls.svc.__exit__(None, None, None)

    # ---- helpers ------------------------------------------------------------

    def req(self, method, path, body=None, key="write", headers=None):
        h = dict(headers or {})
        if key:
            h["Authorization"] = "Bearer " + self.keys[key]
        return self.svc.request(method, path, body=body, headers=h)

    def db(self):
        con = sqlite3.connect(os.path.join(self.svc.data_dir, "assetbridge.db"), timeout=30)
        con.execute("PRAGMA busy_timeout = 30000")
        return con

    def insert_asset(self, tenant, ref, serial):
        now = int(time.time() * 1000)
        doc = {"asset_ref": ref, "tenant": tenant, "type": "fixture", "status": "active"}
        if serial:
            doc["serial_number"] = serial
        con = self.db()
        with con:
            con.execute("INSERT OR IGNORE INTO tenants(tenant, next_event_seq, created_at)"
                        " VALUES (?, 1, ?)", (tenant, now))
            con.execute("INSERT INTO assets(tenant, asset_ref, site, serial_number, type, status,"
                        " parent_ref, doc, digest, revision, created_at, updated_at)"
                        " VALUES (?, ?, NULL, ?, 'fixture', 'active', NULL, ?, ?, 1, ?, ?)",
                        (tenant, ref, serial, json.dumps(doc), "0" * 64, now, now))
        con.close()

    def asset(self, ref, serial=None, key="write"):
        """Create asset ref in the tenant of key: through the API when it answers."""
        body = {"asset_ref": ref, "type": "fixture"}
        if serial:
            body["serial_number"] = serial
        st, _, b = self.req("PUT", "/v1/assets/" + ref, body, key=key)
        if st in (200, 201):
            return
        no_route = (st == 404 and isinstance(b, dict)
                    and b["error"]["class"] == "not_found"
                    and b["error"]["message"] == "no such route")
        if not no_route:
            # the route exists but refuses this (a shared serial number): do it by hand
            sys.stderr.write("PUT /v1/assets/%s answered %s %r; inserting directly\n"
                             % (ref, st, b))
        self.insert_asset("plant-b" if key == "b" else "plant-a", ref, serial)

    def meters(self, ref, key="read"):
        st, _, b = self.req("GET", "/v1/assets/%s/meters" % ref, key=key)
        self.assertEqual(st, 200, b)
        return {m["meter"]: m for m in b["items"]}

    def post(self, body, key="ingest", headers=None):
        return self.req("POST", "/v1/readings", body, key=key, headers=headers)

    def batch(self, text, ctype, key="ingest"):
        return self.req("POST", "/v1/readings:batch", text, key=key,
                        headers={"Content-Type": ctype})

    def assert_error(self, resp, status, cls, field=None):
        st, h, b = resp
        self.assertEqual(st, status, b)
        self.assertEqual(b["error"]["class"], cls, b)
        if field is not None:
            self.assertEqual(b["error"].get("field"), field, b)
        return b["error"]

    # ---- POST /v1/readings --------------------------------------------------

    def test_increment_and_value(self):
        self.asset("FX-1001", "SN-1001")
        st, _, b = self.post({"asset_ref": "FX-1001", "meter": CYCLES, "increment": 1})
        self.assertEqual(st, 202, b)
        self.assertEqual(b["status"], "accepted")
        self.assertEqual(b["asset_ref"], "FX-1001")
        self.assertEqual(b["meter"], CYCLES)
        self.assertEqual(b["total"], 1)
        self.assertIsInstance(b["reading_id"], int)
        st, _, b = self.post({"asset_ref": "FX-1001", "meter": CYCLES, "increment": 4,
                              "source": "tester"})
        self.assertEqual((st, b["total"]), (202, 5), b)
        st, _, b = self.post({"asset_ref": "FX-1001", "meter": CYCLES, "value": 1234,
                              "source": "plc"})
        self.assertEqual((st, b["total"]), (202, 1234), b)
        # by serial number: resolves to the asset
        st, _, b = self.post({"asset_ref": "SN-1001", "meter": "run_hours", "value": 7.5})
        self.assertEqual(st, 202, b)
        self.assertEqual((b["asset_ref"], b["total"]), ("FX-1001", 7.5))
        m = self.meters("FX-1001")
        self.assertEqual(m[CYCLES]["value"], 1234)
        self.assertEqual(m[CYCLES]["reading_count"], 3)
        self.assertEqual(m[CYCLES]["kind"], "counter")
        self.assertRegex(m[CYCLES]["last_read_at"], r"^\d{4}-\d\d-\d\dT.*Z$")
        self.assertEqual(m["run_hours"]["unit"], "h")
        self.assertEqual(m["run_hours"]["reading_count"], 1)
        # the counter metric moved (loopback /metrics needs no key)
        st, _, text = self.svc.request("GET", "/metrics")
        self.assertEqual(st, 200)
        line = [x for x in text.splitlines()
                if x.startswith("assetbridge_readings_ingested_total")]
        self.assertTrue(line and float(line[0].split()[-1]) >= 4, text[:2000])

    def test_duplicate_by_body_key_and_header(self):
        self.asset("FX-DUP")
        r = {"asset_ref": "FX-DUP", "meter": CYCLES, "increment": 3, "key": "k-body-1"}
        st, _, first = self.post(r)
        self.assertEqual((st, first["status"], first["total"]), (202, "accepted", 3), first)
        st, _, again = self.post(r)
        self.assertEqual(st, 202, again)
        self.assertEqual(again["status"], "duplicate")
        self.assertEqual(again["reading_id"], first["reading_id"])
        self.assertEqual(again["total"], 3)
        self.assertEqual(again["asset_ref"], "FX-DUP")
        m = self.meters("FX-DUP")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (3, 1))

        hdr = {"Idempotency-Key": "k-hdr-1"}
        r2 = {"asset_ref": "FX-DUP", "meter": CYCLES, "increment": 2}
        st, _, first = self.post(r2, headers=hdr)
        self.assertEqual((st, first["status"], first["total"]), (202, "accepted", 5), first)
        st, _, again = self.post(r2, headers=hdr)
        self.assertEqual((st, again["status"]), (202, "duplicate"), again)
        self.assertEqual((again["reading_id"], again["total"]), (first["reading_id"], 5))
        # the header key and the same key in the body are one key
        st, _, again = self.post(dict(r2, key="k-hdr-1"))
        self.assertEqual((st, again["status"]), (202, "duplicate"), again)
        m = self.meters("FX-DUP")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (5, 2))
        # a body key that differs from the header
        self.assert_error(self.post(dict(r2, key="other"), headers=hdr), 422, "validation", "key")
        m = self.meters("FX-DUP")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (5, 2))

    def test_identity_errors(self):
        self.asset("FX-AMB-1", "SN-SHARED")
        self.asset("FX-AMB-2", "SN-SHARED")
        e = self.assert_error(self.post({"asset_ref": "NOPE-1", "meter": CYCLES, "increment": 1}),
                              422, "identity", "asset_ref")
        self.assertIn("NOPE-1", e["message"])
        e = self.assert_error(self.post({"asset_ref": "SN-SHARED", "meter": CYCLES,
                                         "increment": 1}), 422, "identity", "asset_ref")
        self.assertIn("FX-AMB-1", e["message"])
        self.assertIn("FX-AMB-2", e["message"])
        self.assertEqual(self.meters("FX-AMB-1"), {})
        self.assertEqual(self.meters("FX-AMB-2"), {})
        # ambiguous path reference on reads: identity too; unknown: 404
        self.assert_error(self.req("GET", "/v1/assets/SN-SHARED/meters", key="read"), 422,
                          "identity", "asset_ref")
        self.assert_error(self.req("GET", "/v1/assets/NOPE-1/meters", key="read"), 404,
                          "not_found")

    def test_validation(self):
        self.asset("FX-VAL")
        base = {"asset_ref": "FX-VAL", "meter": CYCLES}
        self.assert_error(self.post(dict(base, meter="warp_drive", increment=1)), 422,
                          "validation", "meter")
        self.assert_error(self.post('{"asset_ref": "FX-VAL", '), 400, "validation")
        self.assert_error(self.post(dict(base, increment="x")), 400, "validation", "increment")
        e = self.assert_error(self.post(dict(base, increment=1, value=2)), 422, "validation")
        self.assertIn(e["field"], ("increment", "value"))
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
        self.assert_error(self.post(dict(base, increment=1, read_at=future)), 422, "validation",
                          "read_at")
        self.assert_error(self.post(dict(base, increment=1, source="psychic")), 422,
                          "validation", "source")
        self.assert_error(self.post(dict(base, increment=-1)), 422, "validation", "increment")
        self.assert_error(self.post(dict(base, meter_type=CYCLES, increment=1)), 400,
                          "validation", "meter_type")
        self.assertEqual(self.meters("FX-VAL"), {})

    def test_counter_backwards(self):
        self.asset("FX-BACK")
        base = {"asset_ref": "FX-BACK", "meter": CYCLES}
        st, _, b = self.post(dict(base, value=100))
        self.assertEqual(st, 202, b)
        self.assert_error(self.post(dict(base, value=50)), 409, "conflict", "value")
        m = self.meters("FX-BACK")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (100, 1))

    def test_auth_and_scopes(self):
        self.asset("FX-AUTH")
        r = {"asset_ref": "FX-AUTH", "meter": CYCLES, "increment": 1}
        self.assert_error(self.post(r, key=None), 401, "authentication")
        self.assert_error(self.post(r, key="read"), 403, "authorization")
        self.assert_error(self.batch(ndjson([r]), "application/x-ndjson", key="read"), 403,
                          "authorization")
        st, _, b = self.post(r, key="ingest")
        self.assertEqual(st, 202, b)
        self.assert_error(self.req("GET", "/v1/assets/FX-AUTH/meters", key=None), 401,
                          "authentication")
        self.assertEqual(self.meters("FX-AUTH", key="read")[CYCLES]["reading_count"], 1)

    def test_tenant_isolation(self):
        self.asset("FX-TEN-A")
        self.assertEqual(self.post({"asset_ref": "FX-TEN-A", "meter": CYCLES, "value": 10})[0],
                         202)
        # tenant B: the asset does not exist
        self.assert_error(self.post({"asset_ref": "FX-TEN-A", "meter": CYCLES, "value": 20},
                                    key="b"), 422, "identity", "asset_ref")
        st, _, b = self.batch(ndjson([{"asset_ref": "FX-TEN-A", "meter": CYCLES, "value": 30}]),
                              "application/x-ndjson", key="b")
        self.assertEqual((st, b["accepted"], b["rejected"]), (202, 0, 1), b)
        self.assertEqual(b["items"][0]["error"]["class"], "identity")
        self.assert_error(self.req("GET", "/v1/assets/FX-TEN-A/meters", key="b"), 404,
                          "not_found")
        self.assert_error(self.req("GET", "/v1/assets/FX-TEN-A/meters/cycles/readings",
                                   key="b"), 404, "not_found")
        m = self.meters("FX-TEN-A")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (10, 1))
        # B's own asset of the same name is B's alone
        self.asset("FX-TEN-A", key="b")
        st, _, b = self.post({"asset_ref": "FX-TEN-A", "meter": CYCLES, "value": 5}, key="b")
        self.assertEqual((st, b.get("total")), (202, 5), b)
        self.assertEqual(self.meters("FX-TEN-A", key="b")[CYCLES]["value"], 5)
        self.assertEqual(self.meters("FX-TEN-A")[CYCLES]["value"], 10)

    # ---- POST /v1/readings:batch -------------------------------------------

    def mixed_batch(self, ref):
        return [
            {"asset_ref": ref, "meter": CYCLES, "increment": 1, "key": ref + "-b1"},   # accepted
            {"asset_ref": ref, "meter": CYCLES, "increment": 2, "key": ref + "-b2"},   # accepted
            {"asset_ref": ref, "meter": CYCLES, "increment": 1, "key": ref + "-b1"},   # duplicate
            "this is not json",                                                        # rejected
            {"asset_ref": ref, "meter": "warp_drive", "increment": 1},                 # rejected
            {"asset_ref": "NOPE-2", "meter": CYCLES, "increment": 1},                  # rejected
            {"asset_ref": ref, "meter": CYCLES, "increment": "x"},                     # rejected
            {"asset_ref": ref, "meter": CYCLES, "increment": 4},                       # accepted
        ]

    def check_mixed(self, b, replay=False):
        if replay:
            self.assertEqual((b["accepted"], b["duplicates"], b["rejected"]), (1, 3, 4), b)
        else:
            self.assertEqual((b["accepted"], b["duplicates"], b["rejected"]), (3, 1, 4), b)
        items = {i["index"]: i for i in b["items"]}
        want = {2: "duplicate", 3: "rejected", 4: "rejected", 5: "rejected", 6: "rejected"}
        if replay:
            want.update({0: "duplicate", 1: "duplicate"})
        self.assertEqual({k: v["status"] for k, v in items.items()}, want, b)
        self.assertEqual([i["index"] for i in b["items"]], sorted(items))
        self.assertNotIn("error", items[2])
        self.assertEqual(items[3]["error"]["class"], "validation")
        self.assertNotIn("field", items[3]["error"])
        self.assertEqual((items[4]["error"]["class"], items[4]["error"]["field"]),
                         ("validation", "meter"))
        self.assertEqual((items[5]["error"]["class"], items[5]["error"]["field"]),
                         ("identity", "asset_ref"))
        self.assertIn("NOPE-2", items[5]["error"]["message"])
        self.assertEqual((items[6]["error"]["class"], items[6]["error"]["field"]),
                         ("validation", "increment"))

    def test_batch_ndjson(self):
        self.asset("FX-BN")
        text = ndjson(self.mixed_batch("FX-BN"))
        st, _, b = self.batch(text, "application/x-ndjson")
        self.assertEqual(st, 202, b)
        self.check_mixed(b)
        m = self.meters("FX-BN")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (7, 3))
        # the same batch again: keyed items are duplicates, the unkeyed one is new
        st, _, b = self.batch(text.replace("\n", "\r\n"), "application/x-ndjson; charset=utf-8")
        self.assertEqual(st, 202, b)
        self.check_mixed(b, replay=True)
        m = self.meters("FX-BN")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (11, 4))

    def test_batch_json_array(self):
        self.asset("FX-BA")
        items = self.mixed_batch("FX-BA")
        # item 3: framing is fine (an object) but its content is not JSON
        bad = '{"asset_ref": "x", "y"}'
        text = "[\n" + ",\n".join(bad if isinstance(i, str) else json.dumps(i)
                                  for i in items) + "\n]"
        st, _, b = self.batch(text, "application/json")
        self.assertEqual(st, 202, b)
        self.check_mixed(b)
        m = self.meters("FX-BA")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (7, 3))
        st, _, b = self.batch("[]", "application/json")
        self.assertEqual((st, b), (202, {"accepted": 0, "duplicates": 0, "rejected": 0,
                                         "items": []}))

    def test_batch_refused_whole(self):
        self.asset("FX-BR")
        good = json.dumps({"asset_ref": "FX-BR", "meter": CYCLES, "increment": 1})
        # bad array framing: 400, nothing stored
        for text in ["[" + good + ", " + good, "[" + good + " " + good + "]",
                     "[" + good + ",]", good, "[" + good + "] trailing", "[" + good + "]]"]:
            self.assert_error(self.batch(text, "application/json"), 400, "validation")
        # other content types: 415
        self.assert_error(self.batch("[" + good + "]", "text/plain"), 415, "validation")
        self.assert_error(self.req("POST", "/v1/readings:batch", "[" + good + "]", key="ingest"),
                          415, "validation")
        # more than 10,000 items: 413 too_large, nothing stored (NDJSON and array)
        self.assert_error(self.batch((good + "\n") * 10001, "application/x-ndjson"), 413,
                          "too_large")
        self.assert_error(self.batch("[" + ",".join([good] * 10001) + "]", "application/json"),
                          413, "too_large")
        self.assertEqual(self.meters("FX-BR"), {})
        # exactly 10,000 is fine
        st, _, b = self.batch((good + "\n") * 10000, "application/x-ndjson")
        self.assertEqual((st, b["accepted"], b["items"]), (202, 10000, []))
        self.assertEqual(self.meters("FX-BR")[CYCLES]["reading_count"], 10000)

    def test_batch_body_limit(self):
        body = b" " * (17 * 1024 * 1024)
        st, _, b = self.req("POST", "/v1/readings:batch", body, key="ingest",
                            headers={"Content-Type": "application/x-ndjson"})
        self.assertEqual(st, 413, b)
        self.assertEqual(b["error"]["class"], "too_large")

    def test_batch_admission(self):
        """Three slow uploads: two are held, the third is refused with 503."""
        self.asset("FX-SLOW")
        bodies = [ndjson([{"asset_ref": "FX-SLOW", "meter": CYCLES, "increment": n + 1,
                           "key": "slow-%d" % n}]).encode() for n in range(3)]

        def start(body, expect):
            s = socket.create_connection((self.svc.host, self.svc.port), timeout=30)
            head = ("POST /v1/readings:batch HTTP/1.1\r\nHost: test\r\n"
                    "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"
                    "Content-Length: %d\r\n%s\r\n"
                    % (self.keys["ingest"], len(body),
                       "Expect: 100-continue\r\n" if expect else ""))
            s.sendall(head.encode())
            return s

        def read_response(s):
            f = s.makefile("rb")
            status = int(f.readline().split()[1])
            while status == 100:  # interim response, then the real one
                while f.readline() not in (b"\r\n", b""):
                    pass
                status = int(f.readline().split()[1])
            headers = {}
            for line in iter(f.readline, b"\r\n"):
                k, v = line.decode().split(":", 1)
                headers[k.strip().lower()] = v.strip()
            data = f.read(int(headers.get("content-length", "0")))
            f.close()
            return status, headers, json.loads(data) if data else None

        held = []
        try:
            for body in bodies[:2]:
                s = start(body, expect=True)
                # "100 Continue" comes after the middleware admitted the request
                f = s.makefile("rb")
                self.assertTrue(f.readline().startswith(b"HTTP/1.1 100"))
                self.assertEqual(f.readline(), b"\r\n")
                f.close()
                s.sendall(body[:10])
                held.append(s)
            third = start(bodies[2], expect=False)
            third.sendall(bodies[2])
            st, h, b = read_response(third)
            third.close()
            self.assertEqual(st, 503, b)
            self.assertIn("retry-after", h)
            self.assertEqual(b["error"]["class"], "provider_unavailable")
            for s, body in zip(held, bodies):
                s.sendall(body[10:])
                st, _, b = read_response(s)
                self.assertEqual((st, b["accepted"]), (202, 1), b)
        finally:
            for s in held:
                s.close()
        m = self.meters("FX-SLOW")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (3, 2))
        # the slots were released: another batch gets in
        st, _, b = self.batch(bodies[2].decode(), "application/x-ndjson")
        self.assertEqual((st, b["accepted"]), (202, 1), b)

    def test_batch_slot_released_when_client_disconnects(self):
        """Clients admitted to a batch slot that hang up mid-body give their
        slot back: a batch afterwards is admitted, repeatedly."""
        self.asset("FX-GONE")
        body = ndjson([{"asset_ref": "FX-GONE", "meter": CYCLES, "increment": 1}]).encode()
        for _ in range(3):
            gone = []
            for _ in range(2):
                # a slot the last round's hang-ups still hold is refused at once with
                # 503 (Expect: 100-continue gets its answer before the body): retry
                deadline = time.monotonic() + 30  # a liveness bound, not a timing test
                while True:
                    s = socket.create_connection((self.svc.host, self.svc.port), timeout=30)
                    s.sendall(("POST /v1/readings:batch HTTP/1.1\r\nHost: test\r\n"
                               "Authorization: Bearer %s\r\n"
                               "Content-Type: application/x-ndjson\r\n"
                               "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                               % (self.keys["ingest"], len(body))).encode())
                    f = s.makefile("rb")
                    line = f.readline()
                    f.close()
                    if not line.startswith(b"HTTP/1.1 503") or time.monotonic() > deadline:
                        break
                    s.close()
                    time.sleep(0.05)
                self.assertTrue(line.startswith(b"HTTP/1.1 100"), line)  # admitted
                s.sendall(body[:5])
                gone.append(s)
            for s in gone:
                s.close()  # hang up with the slot taken
            # the service notices the closed connections; a batch must get a slot
            # again (it would get 503 forever if the slots leaked)
            deadline = time.monotonic() + 30  # a liveness bound, not a timing test
            while True:
                st, _, b = self.batch(body.decode(), "application/x-ndjson")
                if st != 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual((st, b["accepted"]), (202, 1), b)

    # ---- GET ---------------------------------------------------------------

    def test_history_paging(self):
        self.asset("FX-HIST")
        lines = [{"asset_ref": "FX-HIST", "meter": CYCLES, "value": 10 * (i + 1),
                  "read_at": "2025-03-01T00:%02d:00Z" % i, "source": "tester"}
                 for i in range(25)]
        # two readings at the same instant: the cursor must keep them apart
        lines.append({"asset_ref": "FX-HIST", "meter": CYCLES, "increment": 1,
                      "read_at": "2025-03-01T00:24:00Z"})
        st, _, b = self.batch(ndjson(lines), "application/x-ndjson")
        self.assertEqual((st, b["accepted"]), (202, 26), b)
        seen, cursor, pages = [], None, 0
        while True:
            path = "/v1/assets/FX-HIST/meters/cycles/readings?limit=5"
            if cursor:
                path += "&cursor=" + cursor
            st, _, page = self.req("GET", path, key="read")
            self.assertEqual(st, 200, page)
            pages += 1
            self.assertLessEqual(len(page["items"]), 5)
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            self.assertLess(pages, 10)
        self.assertEqual(pages, 6)
        ids = [x["id"] for x in seen]
        self.assertEqual(len(ids), 26)
        self.assertEqual(len(set(ids)), 26)
        self.assertEqual([x["read_at"] for x in seen], sorted(x["read_at"] for x in seen))
        self.assertEqual(seen[0]["value"], 10)
        self.assertEqual(seen[0]["total"], 10)
        self.assertEqual(seen[0]["source"], "tester")
        self.assertIs(seen[0]["reset"], False)
        self.assertEqual(seen[-1]["increment"], 1)
        self.assertEqual(seen[-1]["total"], 251)
        self.assertEqual(seen[-1]["source"], "manual")
        m = self.meters("FX-HIST")[CYCLES]
        self.assertEqual((m["value"], m["reading_count"]), (251, 26))
        # one page for all, bad limit and cursor, unknown meter
        st, _, page = self.req("GET", "/v1/assets/FX-HIST/meters/cycles/readings?limit=1000",
                               key="read")
        self.assertEqual(([x["id"] for x in page["items"]], page["next_cursor"]), (ids, None))
        self.assert_error(self.req("GET", "/v1/assets/FX-HIST/meters/cycles/readings?limit=0",
                                   key="read"), 422, "validation", "limit")
        self.assert_error(self.req("GET", "/v1/assets/FX-HIST/meters/cycles/readings?cursor=%25",
                                   key="read"), 422, "validation", "cursor")
        self.assert_error(self.req("GET", "/v1/assets/FX-HIST/meters/shots/readings",
                                   key="read"), 404, "not_found", "meter")


if __name__ == "__main__":
    unittest.main()
