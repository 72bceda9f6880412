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
