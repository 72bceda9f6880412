#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The store as an operator sees it through the binary: `serve` creates and
migrates the SQLite database and closes it on shutdown; it refuses a
database whose schema is newer than it knows; `assetbridge backup` copies
the store while the service runs, and the copy can be restored."""
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run  # noqa: E402


class StoreOpsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ab-store-it-")
        self.data = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def db(self):
        return os.path.join(self.data, "assetbridge.db")

    def test_serve_creates_migrates_and_closes(self):
        with Service(data_dir=self.data) as s:
            self.assertTrue(os.path.exists(self.db()))
            con = sqlite3.connect(self.db())
            version = con.execute("PRAGMA user_version").fetchone()[0]
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            con.close()
            self.assertGreaterEqual(version, 1)
            self.assertEqual(mode, "wal")
            for t in ("assets", "asset_links", "meters", "readings", "idempotency_keys", "events",
                      "outbox", "audit", "mapping_exceptions", "sync_state"):
                self.assertIn(t, tables)
            self.assertEqual(s.stop(), 0)
        msgs = [l["msg"] for l in s.log_lines()]
        self.assertIn("store open", msgs)
        self.assertLess(msgs.index("store closed"), msgs.index("stopped"))
        # the WAL was folded back and truncated on close
        wal = self.db() + "-wal"
        self.assertTrue(not os.path.exists(wal) or os.path.getsize(wal) == 0)

    def test_refuses_newer_schema(self):
        with Service(data_dir=self.data):
            pass
        con = sqlite3.connect(self.db())
        con.execute("PRAGMA user_version=999")
        con.commit()
        con.close()
        p = run("serve", "--listen", "127.0.0.1:0", "--data-dir", self.data)
        self.assertEqual(p.returncode, 1, p.stderr)
        errors = [l for l in p.stderr.splitlines() if not l.startswith("{")]
        self.assertEqual(len(errors), 1, p.stderr)
        self.assertIn("newer", errors[0])
        self.assertEqual(p.stdout, "")

    def test_backup_while_serving_and_restore(self):
        target = os.path.join(self.tmp, "copy.db")
        with Service(data_dir=self.data) as s:
            con = sqlite3.connect(self.db())
            con.execute("INSERT INTO tenants(tenant, next_event_seq, created_at) VALUES ('plant-a', 1, 0)")
            con.commit()
            con.close()
            p = run("backup", "--data-dir", self.data, target)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("written to", p.stdout)
            self.assertEqual(s.request("GET", "/healthz")[0], 200)  # still serving
            # never overwrites
            p = run("backup", "--data-dir", self.data, target)
            self.assertEqual(p.returncode, 1)
            self.assertIn("exists", p.stderr)
        con = sqlite3.connect(target)
        self.assertEqual(con.execute("SELECT tenant FROM tenants").fetchall(), [("plant-a",)])
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        con.close()
        # restore: replace the store with the copy, start again
        os.remove(self.db())
        for side in ("-wal", "-shm"):
            if os.path.exists(self.db() + side):
                os.remove(self.db() + side)
        shutil.copy(target, self.db())
        with Service(data_dir=self.data) as s:
            self.assertEqual(s.request("GET", "/healthz")[0], 200)
        con = sqlite3.connect(self.db())
        self.assertEqual(con.execute("SELECT tenant FROM tenants").fetchall(), [("plant-a",)])
        con.close()

    def test_backup_of_missing_store_is_refused(self):
        p = run("backup", "--data-dir", os.path.join(self.tmp, "nowhere"), os.path.join(self.tmp, "x.db"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("no store at", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "nowhere")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
