#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Webhook delivery end to end: the real service with subscriptions created
through POST /v1/webhooks, pointing at an http.server receiver in this test.

Checks: a delivery arrives with a signature that verifies (HMAC computed
here, as README.md tells receivers to), the event headers and the request's
correlation id; a receiver answering 500 gets the delivery again and takes
it once (same delivery id); a receiver answering 400 yields a dead letter in
GET /v1/dead-letters (provider "@webhook") that POST /v1/dead-letters:replay
delivers once the receiver is fixed; a deleted subscription gets nothing
more. Absence is never shown by waiting: another subscription's delivery of
the same event proves the event was processed."""
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run, write_file  # noqa: E402

DEADLINE_S = 20


class Receiver:
    """An HTTP receiver on 127.0.0.1; each path answers from its own rule:
    /flaky 500 once then 200; /bad 400 until `fixed`; any other path 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []  # (path, headers dict lower-case, raw body bytes, status answered)
        self.flaky_failed = False
        self.fixed = False
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with owner.lock:
                    if self.path == "/flaky" and not owner.flaky_failed:
                        owner.flaky_failed = True
                        status = 500
                    elif self.path == "/bad" and not owner.fixed:
                        status = 400
                    else:
                        status = 200
                    owner.requests.append((self.path, {k.lower(): v for k, v in
                                                       self.headers.items()}, body, status))
                out = json.dumps({"status": status}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def got(self, path=None, status=None):
        with self.lock:
            return [r for r in self.requests
                    if (path is None or r[0] == path) and (status is None or r[3] == status)]

    def wait(self, pred, what):
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.05)
        raise AssertionError("timed out waiting for " + what)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def verify(secret, headers, body):
    """README.md's receiver check (without the freshness window's clock skew
    concerns: both ends share this machine's clock)."""
    ts = int(headers["x-assetbridge-timestamp"])
    if abs(time.time() - ts) > 300:
        return False
    mac = hmac.new(secret.encode(), str(ts).encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + mac.hexdigest(), headers["x-assetbridge-signature"])


class WebhookDeliveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rx = Receiver()
        cls.tmp_cfg = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                   "ab-webhook-%d.yaml" % os.getpid())
        write_file(os.path.dirname(cls.tmp_cfg), os.path.basename(cls.tmp_cfg),
                   "webhooks:\n  timeout: 5s\n  max_attempts: 12\n  allow_plain_http: true\n"
                   "tenants:\n  t1: {}\n")
        cls.s = Service(config=cls.tmp_cfg).start()
        p = run("apikey", "create", "--data-dir", cls.s.data_dir, "--tenant", "t1",
                "--scopes", "admin")
        if p.returncode != 0:
            raise RuntimeError("apikey create failed: " + p.stderr)
        cls.h = {"Authorization": "Bearer " + p.stdout.rstrip("\n").splitlines()[-1]}

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        cls.rx.close()
        os.unlink(cls.tmp_cfg)

    def subscribe(self, path, types):
        st, _, body = self.s.request("POST", "/v1/webhooks", headers=self.h,
                                     body={"url": self.rx.url(path), "event_types": types})
        self.assertEqual(st, 201, body)
        self.assertEqual(len(body["secret"]), 64)
        return body["id"], body["secret"]

    def put_asset(self, ref, corr=None, name=None):
        h = dict(self.h)
        if corr:
            h["X-Correlation-Id"] = corr
        st, _, body = self.s.request("PUT", "/v1/assets/" + ref, headers=h,
                                     body={"serial_number": "SN-" + ref, "name": name or ref,
                                           "type": "fixture", "site": "plant"})
        self.assertIn(st, (200, 201), body)

    def deliveries_of(self, path, ref, status=None):
        out = []
        for r in self.rx.got(path, status):
            ev = json.loads(r[2])
            if ev.get("subject") == "asset/" + ref:
                out.append(r)
        return out

    def test_1_delivered_signed(self):
        sub, secret = self.subscribe("/ok", ["asset.created"])
        self.put_asset("WH-1", corr="it-corr-wh-1")
        got = self.rx.wait(lambda: self.deliveries_of("/ok", "WH-1"), "a delivery to /ok")
        path, headers, body, status = got[0]
        self.assertEqual(status, 200)
        self.assertTrue(verify(secret, headers, body), headers)
        self.assertFalse(verify("0" * 64, headers, body))
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertEqual(headers["x-assetbridge-event"], "asset.created")
        self.assertEqual(headers["x-correlation-id"], "it-corr-wh-1")
        self.assertTrue(headers["x-assetbridge-delivery"].startswith("webhook:%s:" % sub))
        ev = json.loads(body)
        self.assertEqual(ev["type"], "asset.created")
        self.assertEqual(ev["correlation_id"], "it-corr-wh-1")
        # the body is the event as GET /v1/events shows it
        st, _, events = self.s.request("GET", "/v1/events?after=%d&limit=1" % (ev["seq"] - 1),
                                       headers=self.h)
        self.assertEqual(st, 200, events)
        self.assertEqual(events["items"][0], ev)

    def test_2_retried_then_delivered_once(self):
        self.subscribe("/flaky", ["asset.updated"])
        self.put_asset("WH-2")
        self.put_asset("WH-2", name="WH-2 renamed")  # asset.updated
        ok = self.rx.wait(lambda: self.deliveries_of("/flaky", "WH-2", 200),
                          "the retried delivery to /flaky")
        failed = self.deliveries_of("/flaky", "WH-2", 500)
        self.assertEqual(len(failed), 1)
        self.assertEqual(len(ok), 1)
        self.assertEqual(failed[0][1]["x-assetbridge-delivery"],
                         ok[0][1]["x-assetbridge-delivery"])
        self.assertEqual(json.loads(ok[0][2])["type"], "asset.updated")

    def test_3_dead_letter_then_replay_then_delete(self):
        sub_bad, secret_bad = self.subscribe("/bad", ["asset.created"])
        sub_ok, _ = self.subscribe("/ok3", ["asset.created"])
        self.put_asset("WH-3")
        self.rx.wait(lambda: self.deliveries_of("/bad", "WH-3", 400), "a 400 from /bad")

        def dead():
            st, _, body = self.s.request("GET", "/v1/dead-letters?provider=@webhook",
                                         headers=self.h)
            self.assertEqual(st, 200, body)
            return [d for d in body["items"] if d["subject"] == "webhook/" + sub_bad]
        letters = self.rx.wait(dead, "the dead letter")
        d = letters[0]
        self.assertEqual(d["provider"], "@webhook")
        self.assertEqual(d["error_class"], "http_400")
        self.assertIn("check the receiver at " + self.rx.url("/bad"), d["owner_action"])
        self.assertIn("HTTP 400", d["response"])
        self.assertNotIn(secret_bad, json.dumps(d))

        # fixed receiver, replay by provider: delivered
        self.rx.fixed = True
        st, _, body = self.s.request("POST", "/v1/dead-letters:replay", headers=self.h,
                                     body={"provider": "@webhook"})
        self.assertEqual(st, 200, body)
        self.assertGreaterEqual(body["replayed"], 1)
        got = self.rx.wait(lambda: self.deliveries_of("/bad", "WH-3", 200),
                           "the replayed delivery")
        self.assertTrue(verify(secret_bad, got[0][1], got[0][2]))

        # delete the /ok3 subscription: WH-4 reaches /bad (proof the event was
        # processed) and /ok3 never gets it
        self.rx.wait(lambda: self.deliveries_of("/ok3", "WH-3"), "/ok3's delivery of WH-3")
        st, _, body = self.s.request("DELETE", "/v1/webhooks/" + sub_ok, headers=self.h)
        self.assertIn(st, (200, 204), body)
        self.put_asset("WH-4")
        self.rx.wait(lambda: self.deliveries_of("/bad", "WH-4", 200), "/bad's delivery of WH-4")
        self.assertEqual(self.deliveries_of("/ok3", "WH-4"), [])

    def test_4_secret_never_logged(self):
        _, secret = self.subscribe("/ok", ["asset.created"])
        self.put_asset("WH-5")
        self.rx.wait(lambda: self.deliveries_of("/ok", "WH-5"), "a delivery of WH-5")
        text = self.s.stderr()
        self.assertNotIn(secret, text)
        self.assertIn("webhook delivery", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
