#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Limits that protect the service: per-key rate limits (429 with
Retry-After, other keys unaffected), body limits (413), a client that stalls
in the middle of a request is disconnected after header_timeout, and a
stalled client does not hold up others."""
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run, write_file  # noqa: E402

CONFIG = """
server:
  limits:
    requests_per_second_per_key: 0.5
    burst_per_key: 3
    header_timeout: 1s
    idle_timeout: 30s
tenants:
  default: {}
"""


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ab-limits-")
        cls.cfg = write_file(cls.tmp, "limits.yaml", CONFIG)
        cls.s = Service(config=cls.cfg).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def key(self, scopes="write"):
        p = run("apikey", "create", "--config", self.cfg, "--data-dir", self.s.data_dir,
                "--tenant", "default", "--scopes", scopes)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.rstrip("\n").splitlines()[-1]

    def test_rate_limit_per_key(self):
        k1, k2 = self.key(), self.key()
        statuses = []
        for _ in range(5):
            st, h, b = self.s.request("GET", "/v1/assets", headers={"Authorization": "Bearer " + k1})
            statuses.append(st)
            if st == 429:
                self.assertEqual(b["error"]["class"], "rate_limited")
                self.assertGreaterEqual(int(h["retry-after"]), 1)
        self.assertEqual(statuses[:3], [200, 200, 200])  # the burst
        self.assertIn(429, statuses[3:])
        # another key has its own bucket
        st, _, _ = self.s.request("GET", "/v1/assets", headers={"Authorization": "Bearer " + k2})
        self.assertEqual(st, 200)

    def test_body_limit(self):
        k = self.key()
        big = '{"name":"' + "x" * (1024 * 1024 + 10) + '"}'
        st, _, b = self.s.request("PUT", "/v1/assets/BIG-1", body=big,
                                  headers={"Authorization": "Bearer " + k, "Content-Type": "application/json"})
        self.assertEqual(st, 413)
        self.assertEqual(b["error"]["class"], "too_large")

    def expect_continue(self, path, length, key):
        """Send a request's head with Expect: 100-continue and no body; return
        the first status line the server answers with."""
        c = socket.create_connection((self.s.host, self.s.port), timeout=10)
        c.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: %d\r\n"
                   "Expect: 100-continue\r\n\r\n" % (path, key, length)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        return c, data

    def test_expect_continue(self):
        k = self.key()
        # oversize: 413 at once, never "100 Continue", so the body is never sent
        c, data = self.expect_continue("/v1/assets/BIG-2", 64 * 1024 * 1024, k)
        c.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413 "), data)
        self.assertIn(b'"too_large"', data + b"")
        # an unknown route and a bad key: refused at once too
        c, data = self.expect_continue("/v1/nowhere", 100, k)
        c.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 404 "), data)
        c, data = self.expect_continue("/v1/assets/BIG-3", 100, "not-a-key")
        c.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 401 "), data)
        # within the limits: 100 Continue, then the body, then the answer
        body = b'{"name":"small","type":"fixture"}'
        c, data = self.expect_continue("/v1/assets/SMALL-1", len(body), k)
        self.assertTrue(data.startswith(b"HTTP/1.1 100 "), data)
        c.sendall(body)
        rest = c.recv(4096)
        c.close()
        self.assertTrue(rest.startswith(b"HTTP/1.1 201 "), rest)

    def test_stalled_request_is_dropped(self):
        slow = socket.create_connection((self.s.host, self.s.port), timeout=10)
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finish
        # meanwhile other clients are served
        self.assertEqual(self.s.request("GET", "/healthz")[0], 200)
        t0 = time.monotonic()
        data = slow.recv(4096)  # the server closes the connection
        waited = time.monotonic() - t0
        slow.close()
        self.assertEqual(data, b"")
        self.assertLess(waited, 8, "a stalled request was not dropped")


if __name__ == "__main__":
    unittest.main(verbosity=2)
