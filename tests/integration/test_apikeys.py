#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""API keys through the CLI while the service runs: create prints the key
alone on its last line and stores only its hash; list; revoke; bad usage.
Also the operations endpoints /readyz and /metrics."""
import hashlib
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run  # noqa: E402


class ApiKeyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ab-keys-")
        self.data = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def create(self, tenant, scopes):
        p = run("apikey", "create", "--data-dir", self.data, "--tenant", tenant, "--scopes", scopes)
        self.assertEqual(p.returncode, 0, p.stderr)
        key = p.stdout.rstrip("\n").splitlines()[-1]
        self.assertRegex(key, r"^abk_[0-9a-f]{64}$")
        key_id = re.search(r"created API key (\S+)", p.stdout).group(1)
        return key, key_id

    def test_create_list_revoke_while_serving(self):
        with Service(data_dir=self.data) as s:
            key, key_id = self.create("plant-a", "read,ingest")
            key2, _ = self.create("plant-b", "admin")
            self.assertNotEqual(key, key2)
            # only the hash is stored
            con = sqlite3.connect(os.path.join(self.data, "assetbridge.db"))
            rows = con.execute("SELECT id, tenant, hash, scopes FROM api_keys ORDER BY created_at").fetchall()
            dump = "\n".join(con.iterdump())
            con.close()
            self.assertNotIn(key, dump)
            self.assertEqual(rows[0][2], hashlib.sha256(key.encode()).hexdigest())
            self.assertEqual(rows[0][3], "read,ingest")
            p = run("apikey", "list", "--data-dir", self.data, "--tenant", "plant-a")
            self.assertEqual(p.returncode, 0)
            self.assertIn(key_id, p.stdout)
            self.assertNotIn("plant-b", p.stdout)
            self.assertNotIn(key, p.stdout)
            # /metrics needs a key only off loopback; the key works with read scope
            st, _, _ = s.request("GET", "/metrics", headers={"Authorization": "Bearer " + key})
            self.assertEqual(st, 200)
            p = run("apikey", "revoke", "--data-dir", self.data, key_id)
            self.assertEqual(p.returncode, 0, p.stderr)
            p = run("apikey", "revoke", "--data-dir", self.data, key_id)
            self.assertEqual(p.returncode, 2)
            self.assertIn("revoked already", p.stderr)
            p = run("apikey", "list", "--data-dir", self.data)
            self.assertRegex(p.stdout, key_id + r".*revoked")

    def test_bad_usage(self):
        cases = [
            (["apikey", "create", "--tenant", "t"], "--scopes"),
            (["apikey", "create", "--tenant", "t", "--scopes", "read,root"], "'root'"),
            (["apikey", "create", "--scopes", "read"], "--tenant"),
            (["apikey", "create", "--tenant", "bad tenant!", "--scopes", "read"], "--tenant"),
            (["apikey", "revoke"], "key ID"),
            (["apikey", "frob"], "unknown action"),
        ]
        for args, needle in cases:
            p = run(*args, "--data-dir", self.data)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(needle, p.stderr, args)
        p = run("apikey", "revoke", "--data-dir", self.data, "01JNOSUCHKEY0000000000000")
        self.assertEqual(p.returncode, 2)
        self.assertIn("no key", p.stderr)


class OpsTest(unittest.TestCase):
    def test_readyz_and_metrics(self):
        with Service() as s:
            st, _, body = s.request("GET", "/readyz")
            self.assertEqual((st, body["status"]), (200, "ready"))
            self.assertGreaterEqual(body["schema_version"], 2)
            s.request("GET", "/healthz")
            s.request("GET", "/nope")
            st, h, text = s.request("GET", "/metrics")  # loopback: no key needed
            self.assertEqual(st, 200)
            self.assertTrue(h["content-type"].startswith("text/plain"))
            self.assertIn('assetbridge_http_requests_total{route="/healthz",method="GET",status="200"} 1', text)
            self.assertIn('route="unmatched",method="GET",status="404"', text)
            self.assertIn("assetbridge_store_commits_total", text)
            self.assertIn("assetbridge_http_request_duration_seconds_bucket", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
