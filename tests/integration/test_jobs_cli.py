#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Jobs, reconciliation, provider health and the CLI that drives them, with
real processes only: `assetbridge serve` next to `assetbridge sim generic`
(its state in a file, so records can be deleted while it is stopped: the
simulator's API has no delete), and the CLI commands `sync`, `reconcile`,
`providers check` and `dead-letters` against the service's API.

Covered: a sync job through the CLI with progress lines (plain on a pipe, a
progress bar on a terminal); after records change at the provider (one
added, one deleted, one modified) a reconcile reports missing 1, extra 1,
different 1 and changes nothing; --repair fixes them and a second reconcile
finds nothing; a queued job cancelled never runs, a running one stops at
its next page; another tenant's jobs are 404 and invisible; providers check
says ok for the running simulator and failed (exit 1) for bad credentials
and for a stopped provider; dead-letters list and replay; usage errors."""
import json
import os
import pty
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Service, run, write_file  # noqa: E402

SIM_TOKEN = "sim-token"


def sim_start(tmp, state, listen="127.0.0.1:0"):
    err = open(os.path.join(tmp, "sim.err"), "a")
    p = subprocess.Popen([BIN, "sim", "generic", "--listen", listen, "--seed", "3", "--assets", "1000",
                          "--rate-limit", "0", "--state", state], stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    line = p.stdout.readline()
    assert line.startswith("listening on "), line
    return p, line.split()[-1]


def sim_stop(p):
    p.terminate()
    p.wait(timeout=10)
    p.stdout.close()


def sim_call(addr, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request("http://%s%s" % (addr, path), method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        data = r.read()
        return r.status, json.loads(data) if data else None


CONFIG = """
tenants:
  default:
    providers:
      generic:
        type: generic
        base_url: http://%(sim)s
        auth: {scheme: bearer, token: sim-token}
        entities:
          asset: {interval: 1000h}
      badauth:
        type: generic
        base_url: http://%(sim)s
        auth: {scheme: bearer, token: wrong-token}
      down:
        type: generic
        base_url: http://127.0.0.1:%(closed)d
        auth: {scheme: bearer, token: sim-token}
"""


def closed_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class JobsCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ab-jobs-")
        cls.state = os.path.join(cls.tmp, "sim.db")
        cls.sim, cls.sim_addr = sim_start(cls.tmp, cls.state)
        cfg = write_file(cls.tmp, "cfg.yaml", CONFIG % {"sim": cls.sim_addr, "closed": closed_port()})
        cls.cfg = cfg
        cls.s = Service(config=cfg).start()
        cls.key = cls.new_key("default", "admin")
        cls.url = "http://%s" % cls.s.addr
        # the job runner must be running: a sync of a provider without
        # entities (nothing to pull) succeeds within seconds (fail fast
        # instead of every CLI call waiting out its timeout)
        st, _, job = cls.s.request("POST", "/v1/providers/badauth:sync",
                                   headers={"Authorization": "Bearer " + cls.key})
        assert st == 202, job
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st, _, j = cls.s.request("GET", "/v1/jobs/" + job["id"], headers={"Authorization": "Bearer " + cls.key})
            if j["state"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.1)
        if j["state"] != "succeeded":
            cls.tearDownClass()
            raise AssertionError("the service's job runner did not finish a trivial sync job within "
                                 "30 s: %r" % j)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.s.__exit__(None, None, None)
        finally:
            if cls.sim.poll() is None:
                sim_stop(cls.sim)
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def new_key(cls, tenant, scopes):
        p = run("apikey", "create", "--config", cls.cfg, "--data-dir", cls.s.data_dir, "--tenant", tenant,
                "--scopes", scopes)
        assert p.returncode == 0, p.stderr
        return p.stdout.rstrip("\n").splitlines()[-1]

    def cli(self, *args, key=None, timeout=120):
        env = dict(os.environ, ASSETBRIDGE_API_KEY=key or self.key)
        env.pop("ASSETBRIDGE_URL", None)
        return subprocess.run([BIN, *args, "--url", self.url], capture_output=True, text=True, env=env,
                              timeout=timeout)

    def api(self, method, path, body=None, key=None):
        return self.s.request(method, path, body=body, headers={"Authorization": "Bearer " + (key or self.key)})

    def job(self, job_id, key=None):
        st, _, b = self.api("GET", "/v1/jobs/" + job_id, key=key)
        self.assertEqual(st, 200, b)
        return b

    def wait_job(self, job_id, check, what, limit=60):
        """Poll the job until check(job) holds; a liveness bound, not a timing test."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            j = self.job(job_id)
            if check(j):
                return j
            time.sleep(0.1)
        self.fail("timed out waiting for " + what + ": " + json.dumps(self.job(job_id)))

    def reconcile_json(self, *extra):
        p = self.cli("reconcile", "--provider", "generic", "--entity", "asset", "--json", *extra)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return json.loads(p.stdout)

    # ---- in order: the sync fills the hub that the reconciliations compare ----

    def test_1_sync_cli_with_progress(self):
        p = self.cli("sync", "--provider", "generic", "--entity", "asset")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"asset\s+succeeded\s+5 pages\s+1000 records")
        self.assertRegex(p.stderr, r"job \w+: succeeded: 5 pages, 1000 records")  # plain lines on a pipe
        rows = self.api("GET", "/v1/sync-state")[2]["items"]
        self.assertEqual([r["pulled"] for r in rows if r["entity"] == "asset"], [1000])
        # on a terminal: a progress bar
        master, slave = pty.openpty()
        env = dict(os.environ, ASSETBRIDGE_API_KEY=self.key)
        proc = subprocess.Popen([BIN, "sync", "--provider", "generic", "--url", self.url], stdout=subprocess.PIPE,
                                stderr=slave, env=env, text=True)
        os.close(slave)
        out, _ = proc.communicate(timeout=120)
        tty = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            tty += chunk
        os.close(master)
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn(b"\r[", tty)
        self.assertIn(b"rec/s", tty)
        self.assertIn(b"records", tty)

    def test_2_reconcile_finds_and_repairs(self):
        # delete A-000003 while the simulator is stopped (its API has no delete)
        sim_stop(self.sim)
        con = sqlite3.connect(self.state)
        self.assertEqual(con.execute("DELETE FROM assets WHERE n = 3").rowcount, 1)
        con.commit()
        con.close()
        type(self).sim, addr = sim_start(self.tmp, self.state, listen=self.sim_addr)
        self.assertEqual(addr, self.sim_addr)
        st, new = sim_call(self.sim_addr, "POST", "/api/v1/assets",
                           {"tag": "NEW-RECON-1", "name": "added at the provider", "type": "multimeter"}, SIM_TOKEN)
        self.assertEqual(st, 201)
        st, _ = sim_call(self.sim_addr, "PATCH", "/api/v1/assets/A-000005", {"name": "renamed at the provider"},
                         SIM_TOKEN)
        self.assertEqual(st, 200)
        audit_before = len(self.api("GET", "/v1/audit?limit=1000")[2]["items"])

        job = self.reconcile_json()
        self.assertEqual(job["state"], "succeeded", job)
        r = job["result"]
        self.assertEqual((r["missing"], r["extra"], r["different"]), (1, 1, 1), r)
        self.assertEqual(r["missing_ids"], [new["id"]])
        self.assertEqual(r["extra_ids"], ["A-000003"])
        self.assertEqual(r["different_ids"], ["A-000005"])
        self.assertEqual(r["same"], 998)
        self.assertIsNone(r["repaired"])
        # a report changes nothing
        self.assertEqual(len(self.api("GET", "/v1/audit?limit=1000")[2]["items"]), audit_before)
        st, _, b = self.api("GET", "/v1/assets:lookup?provider=generic&native_id=" + new["id"])
        self.assertEqual(st, 404, b)

        # the text report names them too
        p = self.cli("reconcile", "--provider", "generic", "--entity", "asset", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"missing\s+1\s+" + new["id"])
        self.assertRegex(p.stdout, r"extra\s+1\s+A-000003")
        self.assertRegex(p.stdout, r"different\s+1\s+A-000005")

        job = self.reconcile_json("--repair")
        self.assertEqual(job["state"], "succeeded", job)
        rep = job["result"]["repaired"]
        self.assertEqual((rep["created"], rep["updated"], rep["marked_missing"]), (1, 1, 1), rep)
        st, _, b = self.api("GET", "/v1/assets:lookup?provider=generic&native_id=" + new["id"])
        self.assertEqual(st, 200, b)
        audit = self.api("GET", "/v1/audit?limit=1000")[2]["items"]
        repair = [a for a in audit if a["action"] == "reconcile.repair"]
        self.assertEqual(len(repair), 1, repair)
        self.assertEqual(repair[0]["subject"], "job/" + job["id"])

        job = self.reconcile_json()
        r = job["result"]
        self.assertEqual((r["missing"], r["extra"], r["different"]), (0, 0, 0), r)

    def test_3_cancel(self):
        # every page of the provider is slow now: the job runs for seconds
        st, _ = sim_call(self.sim_addr, "POST", "/_sim/faults",
                         {"match": {"method": "GET", "path": "/api/v1/assets"}, "action": "latency", "ms": 1000})
        self.assertEqual(st, 201)
        try:
            p = self.cli("sync", "--provider", "generic", "--full", "--no-wait")
            self.assertEqual(p.returncode, 0, p.stderr)
            running = p.stdout.strip()
            p = self.cli("reconcile", "--provider", "generic", "--entity", "asset", "--no-wait")
            self.assertEqual(p.returncode, 0, p.stderr)
            queued = p.stdout.strip()
            self.wait_job(running, lambda j: j["state"] == "running" and j["progress"]["pages"] >= 1,
                          "the sync job to be running")
            st, _, b = self.api("POST", "/v1/jobs/%s:cancel" % queued)
            self.assertEqual((st, b["state"]), (200, "cancelled"), b)
            st, _, b = self.api("POST", "/v1/jobs/%s:cancel" % running)
            self.assertEqual(st, 200, b)
            self.assertTrue(b["cancel_requested"], b)
            j = self.wait_job(running, lambda j: j["state"] not in ("queued", "running"), "the job to stop")
            self.assertEqual(j["state"], "cancelled", j)
            self.assertLess(j["progress"]["pages"], 5, j)
            j = self.job(queued)
            self.assertEqual(j["state"], "cancelled")
            self.assertIsNone(j["started_at"])
            st, _, b = self.api("POST", "/v1/jobs/%s:cancel" % queued)
            self.assertEqual(st, 409, b)
            # listing with filters
            st, _, b = self.api("GET", "/v1/jobs?state=cancelled&limit=1")
            self.assertEqual(st, 200, b)
            self.assertEqual(len(b["items"]), 1)
            self.assertEqual(b["items"][0]["id"], queued)  # newest first
            self.assertIsNotNone(b["next_cursor"])
            st, _, b = self.api("GET", "/v1/jobs?state=cancelled&cursor=" + b["next_cursor"])
            self.assertEqual([x["id"] for x in b["items"]], [running])
        finally:
            sim_call(self.sim_addr, "DELETE", "/_sim/faults")

    def test_4_tenants_apart(self):
        st, _, jobs = self.api("GET", "/v1/jobs")
        self.assertEqual(st, 200)
        mine = jobs["items"][0]["id"]
        other = self.new_key("other-plant", "admin")
        st, _, b = self.api("GET", "/v1/jobs/" + mine, key=other)
        self.assertEqual((st, b["error"]["class"]), (404, "not_found"), b)
        st, _, b = self.api("POST", "/v1/jobs/%s:cancel" % mine, key=other)
        self.assertEqual(st, 404, b)
        st, _, b = self.api("GET", "/v1/jobs", key=other)
        self.assertEqual(b["items"], [])
        st, _, b = self.api("GET", "/v1/providers/generic/health", key=other)
        self.assertEqual(st, 404, b)
        p = self.cli("reconcile", "--provider", "generic", "--entity", "asset", key=other)
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 404", p.stderr)
        self.assertIn("(provider)", p.stderr)
        # a read-only key cannot start jobs
        reader = self.new_key("default", "read")
        p = self.cli("sync", "--provider", "generic", key=reader)
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 403", p.stderr)

    def test_5_errors_and_usage(self):
        p = self.cli("reconcile", "--provider", "generic")
        self.assertEqual(p.returncode, 2, p.stderr)
        p = self.cli("sync")
        self.assertEqual(p.returncode, 2, p.stderr)
        p = self.cli("reconcile", "--provider", "generic", "--entity", "work_order")
        self.assertEqual(p.returncode, 1)
        self.assertIn("(entity)", p.stderr)
        st, _, b = self.api("POST", "/v1/reconcile", {"provider": "generic", "entity": "asset", "bogus": 1})
        self.assertEqual((st, b["error"]["field"]), (422, "bogus"), b)
        st, h, b = self.api("POST", "/v1/reconcile", {"provider": "generic", "entity": "asset"})
        self.assertEqual(st, 202, b)
        self.assertEqual(h["location"], "/v1/jobs/" + b["id"])
        self.wait_job(b["id"], lambda j: j["state"] == "succeeded", "the reconcile job")
        env = dict(os.environ)
        env.pop("ASSETBRIDGE_API_KEY", None)
        p = subprocess.run([BIN, "providers", "check", "--url", self.url], capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 2)
        self.assertIn("ASSETBRIDGE_API_KEY", p.stderr)

    def test_6_providers_check(self):
        p = self.cli("providers", "check", "--provider", "generic")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"generic\s+generic\s+ok\s+ok\s+skipped\s+ok\s+ok\s+generic/v1")
        self.assertIn("verdict: ok (1 provider)", p.stdout)
        p = self.cli("providers", "check", "--provider", "badauth")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertRegex(p.stdout, r"badauth\s+generic\s+failed\s+ok\s+skipped\s+failed")
        self.assertIn("NOT OK", p.stdout)
        p = self.cli("providers", "check", "--json")
        self.assertEqual(p.returncode, 1, p.stdout)
        verdicts = {h["provider"]: h["verdict"] for h in json.loads(p.stdout)}
        self.assertIn("NOT OK (2 of 3 providers not ok)", p.stderr)
        self.assertEqual(verdicts, {"generic": "ok", "badauth": "failed", "down": "failed"})
        st, _, h = self.api("GET", "/v1/providers/down/health")
        self.assertEqual((st, h["verdict"], h["checks"]["dns"]), (200, "failed", "failed"), h)
        # the simulator stops: the provider that was ok fails
        sim_stop(self.sim)
        try:
            p = self.cli("providers", "check", "--provider", "generic")
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertRegex(p.stdout, r"generic\s+generic\s+failed")
        finally:
            type(self).sim, _ = sim_start(self.tmp, self.state, listen=self.sim_addr)

    def test_7_dead_letters_cli(self):
        now = int(time.time() * 1000)
        con = sqlite3.connect(os.path.join(self.s.data_dir, "assetbridge.db"))
        cur = con.execute(
            "INSERT INTO outbox(tenant, provider, entity, action, subject, payload, idempotency_key, state,"
            " next_attempt_at, created_at, updated_at, error_class, last_error, dead_at) VALUES ('default',"
            " 'legacy', 'work_order', 'update_work_order', 'work-order/X', '{}', 'jobs-cli-dead-1', 'dead',"
            " ?, ?, ?, 'validation', 'rejected by legacy', ?)", (now, now, now, now))
        dead_id = cur.lastrowid
        con.commit()
        con.close()
        p = self.cli("dead-letters", "list", "--provider", "legacy")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"%d\s+legacy\s+work_order\s+update_work_order\s+validation" % dead_id)
        p = self.cli("dead-letters", "list", "--error-class", "auth", "--json")
        self.assertEqual((p.returncode, json.loads(p.stdout)), (0, []))
        p = self.cli("dead-letters", "replay")
        self.assertEqual(p.returncode, 2)
        p = self.cli("dead-letters", "replay", "--id", "999999")
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 404", p.stderr)
        p = self.cli("dead-letters", "replay", "--id", str(dead_id))
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "replayed 1"), p.stderr)
        p = self.cli("dead-letters", "list", "--provider", "legacy", "--json")
        self.assertEqual(json.loads(p.stdout), [])
        pending = self.api("GET", "/v1/outbox?state=pending")[2]["items"]
        self.assertIn(dead_id, [i["id"] for i in pending])


if __name__ == "__main__":
    unittest.main(verbosity=2)
