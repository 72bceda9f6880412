#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""GET /v1/events (paging by sequence, long poll, tenant isolation, type
filter, validation), webhook subscriptions (create with the secret once,
list without it, delete, cross-tenant 404, validation, admin scope) and a
clean shutdown while a long poll is pending.

Events are produced through PUT /v1/assets/{asset_ref} (asset.created,
asset.updated). Where a test must know that a long poll is already waiting,
it holds the request open with a client timeout shorter than the poll's
`wait`: a poll that never wakes fails with a timeout instead of passing."""
import json
import os
import signal
import sys
import threading
import time
import unittest
import urllib.parse
import http.client

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run  # noqa: E402


def make_key(s, tenant, scopes):
    p = run("apikey", "create", "--data-dir", s.data_dir, "--tenant", tenant, "--scopes", scopes)
    if p.returncode != 0:
        raise RuntimeError("apikey create failed: " + p.stderr)
    return {"Authorization": "Bearer " + p.stdout.rstrip("\n").splitlines()[-1]}


class Poll(threading.Thread):
    """One GET on its own connection in a background thread. `sent` is set
    once the request bytes are written; result is (status, body) or the
    exception."""

    def __init__(self, s, path, headers, timeout):
        super().__init__(daemon=True)
        self.s, self.path, self.headers, self.timeout = s, path, headers, timeout
        self.sent = threading.Event()
        self.result = None
        self.returned_at = None

    def run(self):
        try:
            conn = http.client.HTTPConnection(self.s.host, self.s.port, timeout=self.timeout)
            # one round trip first, so the connection is accepted and served
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.request("GET", self.path, headers=self.headers)
            self.sent.set()
            resp = conn.getresponse()
            data = resp.read().decode()
            self.returned_at = time.monotonic()
            self.result = (resp.status, json.loads(data) if data else None)
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.sent.set()
            self.result = e


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Service().start()
        cls.tenant_no = 0
        h = make_key(cls.s, "probe", "write")
        st, _, _ = cls.s.request("PUT", "/v1/assets/PROBE-1", body=cls.asset("PROBE-1"), headers=h)
        cls.assets_api = st in (200, 201)
        if not cls.assets_api:
            print("PUT /v1/assets/{asset_ref} answered %d: event tests that need it are skipped"
                  % st, file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    @staticmethod
    def asset(ref, name="fixture"):
        return {"serial_number": "SN-" + ref, "name": name, "type": "fixture", "site": "plant"}

    def tenant(self, scopes="write"):
        """A fresh tenant (its event sequence starts at 1) and a key for it."""
        EventsTest.tenant_no += 1
        t = "t%d" % EventsTest.tenant_no
        return t, make_key(self.s, t, scopes)

    def put_asset(self, h, ref, name="fixture"):
        st, _, body = self.s.request("PUT", "/v1/assets/" + ref, body=self.asset(ref, name), headers=h)
        self.assertIn(st, (200, 201), body)

    def events(self, h, query="", timeout=30):
        st, _, body = self.s.request("GET", "/v1/events" + query, headers=h, timeout=timeout)
        self.assertEqual(st, 200, body)
        return body

    def need_assets(self):
        if not self.assets_api:
            self.skipTest("PUT /v1/assets/{asset_ref} is not available in this build")

    # ---- reading -------------------------------------------------------------

    def test_paging_is_gap_free_and_next_after_is_the_last_seq(self):
        self.need_assets()
        _, h = self.tenant()
        for i in range(3):
            self.put_asset(h, "FX-%d" % i)
        body = self.events(h, "?after=0")
        seqs = [e["seq"] for e in body["items"]]
        self.assertEqual(seqs, [1, 2, 3])
        self.assertEqual(body["next_after"], 3)
        e = body["items"][0]
        self.assertEqual(set(e), {"seq", "type", "subject", "payload", "correlation_id", "occurred_at"})
        self.assertEqual(e["type"], "asset.created")
        self.assertEqual(e["subject"], "asset/FX-0")
        self.assertIsInstance(e["payload"], dict)
        self.assertEqual(e["payload"]["asset_ref"], "FX-0")
        self.assertRegex(e["occurred_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        # page one at a time with next_after
        after, walked = 0, []
        for _ in range(5):
            page = self.events(h, "?limit=1&after=%d" % after)
            if not page["items"]:
                self.assertEqual(page["next_after"], after)
                break
            self.assertEqual(len(page["items"]), 1)
            self.assertEqual(page["next_after"], page["items"][-1]["seq"])
            walked.append(page["items"][0]["seq"])
            after = page["next_after"]
        self.assertEqual(walked, [1, 2, 3])

    def test_correlation_id_of_the_write(self):
        self.need_assets()
        _, h = self.tenant()
        hh = dict(h, **{"X-Correlation-Id": "corr-events-1"})
        st, _, _ = self.s.request("PUT", "/v1/assets/FX-C", body=self.asset("FX-C"), headers=hh)
        self.assertIn(st, (200, 201))
        items = self.events(h, "?after=0")["items"]
        self.assertEqual(items[-1]["correlation_id"], "corr-events-1")

    def test_after_beyond_the_last_seq(self):
        self.need_assets()
        _, h = self.tenant()
        self.put_asset(h, "FX-1")
        body = self.events(h, "?after=1000")
        self.assertEqual(body, {"items": [], "next_after": 1000})
        body = self.events(h, "?after=1&wait=0")
        self.assertEqual(body, {"items": [], "next_after": 1})

    def test_empty_tenant(self):
        _, h = self.tenant("read")
        self.assertEqual(self.events(h), {"items": [], "next_after": 0})

    def test_tenant_isolation(self):
        self.need_assets()
        _, ha = self.tenant()
        _, hb = self.tenant()
        self.put_asset(ha, "FX-A1")
        self.put_asset(ha, "FX-A2")
        self.assertEqual(self.events(hb, "?after=0"), {"items": [], "next_after": 0})
        self.put_asset(hb, "FX-B1")
        b = self.events(hb, "?after=0")["items"]
        self.assertEqual([(e["seq"], e["subject"]) for e in b], [(1, "asset/FX-B1")])
        a = self.events(ha, "?after=0")["items"]
        self.assertEqual([e["subject"] for e in a], ["asset/FX-A1", "asset/FX-A2"])

    def test_type_filter(self):
        self.need_assets()
        _, h = self.tenant()
        self.put_asset(h, "FX-1")
        self.put_asset(h, "FX-1", name="renamed")  # asset.updated
        self.put_asset(h, "FX-2")
        all_types = [e["type"] for e in self.events(h, "?after=0")["items"]]
        self.assertIn("asset.updated", all_types)
        body = self.events(h, "?after=0&type=asset.updated")
        self.assertTrue(body["items"])
        self.assertTrue(all(e["type"] == "asset.updated" for e in body["items"]))
        # events of other types are stepped over: next_after reaches the end
        self.assertEqual(body["next_after"], len(all_types))
        body = self.events(h, "?after=0&type=" + urllib.parse.quote("asset.created,asset.updated"))
        self.assertEqual(len(body["items"]), len(all_types))
        self.assertEqual(self.events(h, "?after=0&type=no.such_type"),
                         {"items": [], "next_after": len(all_types)})

    def test_validation(self):
        _, h = self.tenant("read")
        for q, field in [("?wait=61", "wait"), ("?wait=-1", "wait"), ("?wait=abc", "wait"),
                         ("?wait=1.5", "wait"), ("?wait=", "wait"), ("?after=-1", "after"),
                         ("?after=x", "after"), ("?limit=0", "limit"), ("?limit=1001", "limit"),
                         ("?type=,", "type")]:
            st, _, body = self.s.request("GET", "/v1/events" + q, headers=h)
            self.assertEqual(st, 422, q)
            self.assertEqual(body["error"]["class"], "validation", q)
            self.assertEqual(body["error"]["field"], field, q)
        for q in ("?wait=0", "?wait=0&after=5", "?limit=1000", "?after=0&limit=1"):
            st, _, _ = self.s.request("GET", "/v1/events" + q, headers=h)
            self.assertEqual(st, 200, q)

    def test_scopes(self):
        _, read = self.tenant("read")
        _, ingest = self.tenant("ingest")
        self.assertEqual(self.s.request("GET", "/v1/events", headers=read)[0], 200)
        st, _, body = self.s.request("GET", "/v1/events", headers=ingest)
        self.assertEqual(st, 403)
        self.assertEqual(body["error"]["class"], "authorization")
        self.assertEqual(self.s.request("GET", "/v1/events")[0], 401)

    # ---- long poll -------------------------------------------------------------

    def test_long_poll_answers_at_once_when_events_exist(self):
        self.need_assets()
        _, h = self.tenant()
        self.put_asset(h, "FX-1")
        # wait=60 with a 20 s client timeout: a poll that waited would fail
        body = self.events(h, "?after=0&wait=60", timeout=20)
        self.assertEqual([e["seq"] for e in body["items"]], [1])

    def test_wait_zero_answers_at_once(self):
        _, h = self.tenant("read")
        self.assertEqual(self.events(h, "?after=0&wait=0", timeout=20), {"items": [], "next_after": 0})

    def test_long_poll_times_out_empty(self):
        _, h = self.tenant("read")
        self.assertEqual(self.events(h, "?after=0&wait=1", timeout=20), {"items": [], "next_after": 0})

    def test_long_poll_wakes_on_commit(self):
        self.need_assets()
        _, h = self.tenant()
        _, other = self.tenant()
        self.put_asset(h, "FX-1")
        poll = Poll(self.s, "/v1/events?after=1&wait=60", h, timeout=30)
        poll.start()
        self.assertTrue(poll.sent.wait(20))
        # a commit of another tenant wakes the poll, which finds nothing and waits on
        self.put_asset(other, "FX-OTHER")
        self.put_asset(h, "FX-2")
        poll.join(40)
        self.assertFalse(poll.is_alive())
        if isinstance(poll.result, Exception):
            raise poll.result
        st, body = poll.result
        self.assertEqual(st, 200, body)
        self.assertEqual([(e["seq"], e["subject"]) for e in body["items"]], [(2, "asset/FX-2")])
        self.assertEqual(body["next_after"], 2)

    def test_follower_sees_every_event_of_concurrent_writers_once(self):
        self.need_assets()
        _, h = self.tenant()
        writers, per_writer = 4, 10

        def write(w):
            for i in range(per_writer):
                self.put_asset(h, "FX-W%d-%d" % (w, i))

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for t in threads:
            t.start()
        seen, after = [], 0
        while len(seen) < writers * per_writer:
            body = self.events(h, "?after=%d&wait=20&limit=7" % after, timeout=30)
            self.assertTrue(body["items"], "a long poll ran out with writers still writing")
            seen += [e["seq"] for e in body["items"]]
            after = body["next_after"]
        for t in threads:
            t.join()
        self.assertEqual(seen, list(range(1, writers * per_writer + 1)))
        subjects = {e["subject"] for e in self.events(h, "?after=0&limit=1000")["items"]}
        self.assertEqual(len(subjects), writers * per_writer)

    # ---- webhooks --------------------------------------------------------------

    def test_webhook_create_list_delete(self):
        _, admin = self.tenant("admin")
        _, admin_b = self.tenant("admin")
        st, hdr, created = self.s.request("POST", "/v1/webhooks", headers=admin, body={
            "url": "https://receiver.example.com/hook", "event_types": ["asset.created", "work_order.completed"]})
        self.assertEqual(st, 201, created)
        self.assertRegex(created["secret"], r"^[0-9a-f]{64}$")
        self.assertEqual(created["url"], "https://receiver.example.com/hook")
        self.assertEqual(created["event_types"], ["asset.created", "work_order.completed"])
        self.assertTrue(created["id"])
        self.assertEqual(hdr.get("location"), "/v1/webhooks/" + created["id"])
        st, _, second = self.s.request("POST", "/v1/webhooks", headers=admin,
                                       body={"url": "http://127.0.0.1:9/h", "event_types": ["*"]})
        self.assertEqual(st, 201)
        self.assertNotEqual(second["secret"], created["secret"])

        st, _, raw = self.s.request("GET", "/v1/webhooks", headers=admin)
        self.assertEqual(st, 200)
        self.assertNotIn(created["secret"], json.dumps(raw))
        self.assertNotIn(second["secret"], json.dumps(raw))
        self.assertEqual([w["id"] for w in raw["items"]], [created["id"], second["id"]])
        self.assertEqual(raw["next_cursor"], None)
        self.assertEqual(set(raw["items"][0]), {"id", "url", "event_types", "created_at"})
        # paging
        st, _, p1 = self.s.request("GET", "/v1/webhooks?limit=1", headers=admin)
        self.assertEqual([w["id"] for w in p1["items"]], [created["id"]])
        self.assertIsNotNone(p1["next_cursor"])
        st, _, p2 = self.s.request("GET", "/v1/webhooks?limit=1&cursor=" + p1["next_cursor"], headers=admin)
        self.assertEqual([w["id"] for w in p2["items"]], [second["id"]])
        self.assertIsNone(p2["next_cursor"])
        st, _, _ = self.s.request("GET", "/v1/webhooks?cursor=!!!!", headers=admin)
        self.assertEqual(st, 422)

        # another tenant neither sees nor deletes them
        st, _, b = self.s.request("GET", "/v1/webhooks", headers=admin_b)
        self.assertEqual(b["items"], [])
        st, _, body = self.s.request("DELETE", "/v1/webhooks/" + created["id"], headers=admin_b)
        self.assertEqual(st, 404)
        self.assertEqual(body["error"]["class"], "not_found")
        st, _, raw = self.s.request("GET", "/v1/webhooks", headers=admin)
        self.assertEqual(len(raw["items"]), 2)

        st, _, body = self.s.request("DELETE", "/v1/webhooks/" + created["id"], headers=admin)
        self.assertEqual(st, 204, body)
        st, _, _ = self.s.request("DELETE", "/v1/webhooks/" + created["id"], headers=admin)
        self.assertEqual(st, 404)
        st, _, _ = self.s.request("DELETE", "/v1/webhooks/no-such-id", headers=admin)
        self.assertEqual(st, 404)
        st, _, raw = self.s.request("GET", "/v1/webhooks", headers=admin)
        self.assertEqual([w["id"] for w in raw["items"]], [second["id"]])
        # creation and deletion are audited
        st, _, audit = self.s.request("GET", "/v1/audit?subject=webhook/" + created["id"], headers=admin)
        self.assertEqual(st, 200, audit)
        self.assertEqual(sorted(a["action"] for a in audit["items"]), ["webhook.create", "webhook.delete"])


    def test_webhook_validation(self):
        _, admin = self.tenant("admin")
        ok = {"url": "https://example.com/h", "event_types": ["asset.created"]}
        cases = [
            ({"event_types": ["asset.created"]}, 422, "url"),
            (dict(ok, url="ftp://example.com/h"), 422, "url"),
            (dict(ok, url="https://"), 422, "url"),
            (dict(ok, url="example.com"), 422, "url"),
            (dict(ok, url=5), 400, "url"),
            ({"url": "https://example.com/h"}, 422, "event_types"),
            (dict(ok, event_types=[]), 422, "event_types"),
            (dict(ok, event_types="asset.created"), 400, "event_types"),
            (dict(ok, event_types=["asset.created", "Asset.Created"]), 422, "event_types[1]"),
            (dict(ok, event_types=["asset"]), 422, "event_types[0]"),
            (dict(ok, event_types=[""]), 422, "event_types[0]"),
            (dict(ok, event_types=[7]), 400, "event_types[0]"),
            (dict(ok, secret="mine"), 422, "secret"),
        ]
        for body, status, field in cases:
            st, _, resp = self.s.request("POST", "/v1/webhooks", headers=admin, body=body)
            self.assertEqual(st, status, body)
            self.assertEqual(resp["error"]["field"], field, body)
            self.assertEqual(resp["error"]["class"], "validation", body)
        st, _, _ = self.s.request("POST", "/v1/webhooks", headers=admin, body="{not json")
        self.assertEqual(st, 400)
        st, _, raw = self.s.request("GET", "/v1/webhooks", headers=admin)
        self.assertEqual(raw["items"], [])  # nothing was stored

    def test_webhooks_need_admin(self):
        _, write = self.tenant("write")
        _, admin = self.tenant("admin")
        st, _, created = self.s.request("POST", "/v1/webhooks", headers=admin, body={
            "url": "https://example.com/h", "event_types": ["*"]})
        self.assertEqual(st, 201)
        for method, path, body in [("POST", "/v1/webhooks", {"url": "https://example.com/h", "event_types": ["*"]}),
                                   ("GET", "/v1/webhooks", None),
                                   ("DELETE", "/v1/webhooks/" + created["id"], None)]:
            st, _, resp = self.s.request(method, path, headers=write, body=body)
            self.assertEqual(st, 403, (method, path))
            self.assertEqual(resp["error"]["class"], "authorization")
            st, _, _ = self.s.request(method, path, body=body)
            self.assertEqual(st, 401, (method, path))


class ShutdownTest(unittest.TestCase):
    def test_pending_long_poll_does_not_hold_shutdown(self):
        s = Service()
        s.start()
        try:
            h = make_key(s, "plant-a", "read")
            poll = Poll(s, "/v1/events?after=0&wait=60", h, timeout=30)
            poll.start()
            self.assertTrue(poll.sent.wait(20))
            # one more round trip on another connection: the poll is being served
            self.assertEqual(s.request("GET", "/healthz")[0], 200)
            t0 = time.monotonic()
            s.proc.send_signal(signal.SIGTERM)
            rc = s.proc.wait(timeout=30)
            elapsed = time.monotonic() - t0
            self.assertEqual(rc, 0, s.stderr())
            # a liveness bound, not a benchmark: without the early exit the poll
            # would hold the 10 s grace period
            self.assertLess(elapsed, 8.0)
            poll.join(10)
            self.assertFalse(poll.is_alive())
            if not isinstance(poll.result, Exception):
                self.assertEqual(poll.result, (200, {"items": [], "next_after": 0}))
        finally:
            s.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main(verbosity=2)
