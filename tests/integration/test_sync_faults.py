#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The sync engine's fault matrix, real processes only: the service (sync
engine + generic connector) against `assetbridge sim generic`, with the
simulator's fault rules (/_sim/faults) on the provider calls.

Pushes: work orders opened in the hub become `open_request` outbox items. For
every fault kind (429 with Retry-After, 5xx, provider timeout, reset before
apply, reset after apply, malformed 2xx body, expired token) and for all of
them at once (the only place for a truncated body, 500 and 502), the end
state is checked: every item done, the simulator's effect counter and its
state show each work order created exactly once, every attempt carried the
item's one Idempotency-Key, and no dead letters. Permanent refusals (a 422,
an asset the provider does not have) are dead letters with their class; a
replay after the cause is fixed brings them through, exactly once. read_only
gives suppressed items and no provider write at all.

Pulls: the simulator holds more assets than one page (the connector asks for
200), so a pass is a cursor chain; a 5xx, reset, timeout, malformed body,
expired token or repeated page on page two leaves the hub with every asset
exactly once and a clean sync state; a 429 and a truncated page are among the
faults of a later incremental pass.

The service runs on a ticking fake clock (--fake-clock) that the polling loop
moves forward, so retry backoff, Retry-After pauses and the breaker's
cool-down pass without real waiting; every wait is a liveness deadline, not
a timing assertion. The engine's tuning (lease, backoff, poll interval) has
no configuration key yet, which is why the clock is moved instead.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Service, run, write_file  # noqa: E402

WO_PATH = "/api/v1/work-orders"
ASSETS_PATH = "/api/v1/assets"


def utc(delta=timedelta(0)):
    """An RFC 3339 UTC time for --fake-clock."""
    return (datetime.now(timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


class Sim:
    """One `assetbridge sim generic` process and its /_sim/ handles."""

    def __init__(self, tmp, assets=40, seed=3):
        self.err = open(os.path.join(tmp, "sim.err"), "w")
        self.proc = subprocess.Popen([BIN, "sim", "generic", "--listen", "127.0.0.1:0", "--seed", str(seed),
                                      "--assets", str(assets), "--rate-limit", "0"],
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.close()
            raise RuntimeError("simulator did not start: %r" % line)
        self.addr = line.split()[-1]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.err.close()

    def call(self, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        req = urllib.request.Request("http://%s%s" % (self.addr, path), data=data, headers=hdrs,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                text = r.read()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, json.loads(text) if text else None

    def get(self, path):
        st, body = self.call("GET", path)
        assert st == 200, (path, st, body)
        return body

    def fault(self, **rule):
        """Add one fault rule; returns its id."""
        st, body = self.call("POST", "/_sim/faults", rule)
        assert st == 201, (st, body)
        return body["items"][0]["id"]

    def fired(self, rule_id):
        for r in self.get("/_sim/faults")["items"]:
            if r["id"] == rule_id:
                return r["fired"]
        raise AssertionError("no fault rule %d" % rule_id)

    def effects(self):
        return self.get("/_sim/effects")

    def requests(self, method=None, path=None):
        q = []
        if method:
            q.append("method=" + method)
        if path:
            q.append("path=" + path)
        return self.get("/_sim/requests" + ("?" + "&".join(q) if q else ""))["items"]

    def provider(self, method, path, body=None):
        """A request to the provider API itself (as an operator would make it)."""
        return self.call(method, path, body, {"Authorization": "Bearer sim-token"})

    def work_order_titles(self):
        """Titles of every work order the provider holds (all pages)."""
        titles, offset = [], 0
        while offset is not None:
            st, page = self.provider("GET", "%s?limit=200&offset=%d" % (WO_PATH, offset))
            assert st == 200, (st, page)
            titles += [w["title"] for w in page["items"]]
            offset = page["next_offset"]
        return titles


CONFIG = """
tenants:
  default:
    providers:
      generic:
        type: generic
        base_url: http://%(addr)s
        auth: {scheme: bearer, token: sim-token}
        mode: %(mode)s
        concurrency: %(concurrency)d
        entities:
          asset: {interval: %(interval)s}
"""


class SyncCase(unittest.TestCase):
    """Helpers shared by the fault and crash tests (no tests of its own)."""

    sim_assets = 40

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ab-sync-faults-")
        self.sim = Sim(self.tmp, assets=self.sim_assets)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.sim.close)
        self.svc = None

    # ---- the service ------------------------------------------------------------

    def config(self, mode="write_back", interval="1s", concurrency=4):
        return write_file(self.tmp, "cfg-%s-%d.yaml" % (mode, concurrency),
                          CONFIG % {"addr": self.sim.addr, "mode": mode, "interval": interval,
                                    "concurrency": concurrency})

    def start(self, cfg, data_dir=None, clock=None):
        """Start a service on cfg with a fake clock (a new admin key as .key)."""
        s = Service("--fake-clock", clock or utc(), config=cfg,
                    data_dir=data_dir).start()
        self.addCleanup(self._stop, s)
        p = run("apikey", "create", "--config", cfg, "--data-dir", s.data_dir, "--tenant", "default",
                "--scopes", "admin")
        self.assertEqual(p.returncode, 0, p.stderr)
        s.key = p.stdout.rstrip("\n").splitlines()[-1]
        self.svc = s
        return s

    @staticmethod
    def _stop(s):
        if s.proc and s.proc.poll() is None:
            s.__exit__(None, None, None)
        elif s.proc and not s.proc.stdout.closed:
            s.proc.stdout.close()

    def api(self, method, path, body=None, expect=200, s=None):
        s = s or self.svc
        st, _, b = s.request(method, path, body=body, headers={"Authorization": "Bearer " + s.key})
        self.assertEqual(st, expect, (method, path, b))
        return b

    def all_items(self, path, s=None):
        """Every item of a paged /v1 list."""
        items, cursor = [], None
        sep = "&" if "?" in path else "?"
        while True:
            page = self.api("GET", path + sep + "limit=200" + ("&cursor=" + cursor if cursor else ""), s=s)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def outbox(self, state, s=None):
        return self.all_items("/v1/outbox?state=" + state, s=s)

    def advance(self, s=None, by="PT10S"):
        s = s or self.svc
        st, _, b = s.request("POST", "/_test/clock", body={"advance": by})
        self.assertEqual(st, 200, b)

    def wait_for(self, what, check, limit=40, s=None, tick="PT10S"):
        """Poll check() until it is true, moving the service's clock on by tick
        each round (retry delays, Retry-After and the breaker's cool-down are
        measured on it); a liveness bound, not a timing test."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if check():
                return
            if tick and (s or self.svc):
                self.advance(s, tick)
            time.sleep(0.2)
        self.fail("timed out waiting for " + what)

    def wait_assets(self, n, s=None):
        def pulled():
            rows = self.api("GET", "/v1/sync-state", s=s)["items"]
            return any(r["entity"] == "asset" and r["pulled"] >= n and r["watermark"] for r in rows)
        self.wait_for("%d assets pulled" % n, pulled, s=s)

    def asset_refs(self, s=None):
        return [a["asset_ref"] for a in self.all_items("/v1/assets", s=s)]

    def open_wo(self, ref, notes, s=None):
        """Open a work order for the generic provider; returns its outbox item id."""
        wo = self.api("POST", "/v1/work-orders", {"asset_ref": ref, "type": "corrective",
                                                  "provider_id": "generic", "common_status": "open",
                                                  "notes": notes}, expect=201, s=s)
        return "work-order/" + wo["common_work_order_id"]

    def db(self, sql, args=(), s=None):
        con = sqlite3.connect(os.path.join((s or self.svc).data_dir, "assetbridge.db"))
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    # ---- assertions ------------------------------------------------------------

    def assert_delivered_once(self, titles, created_before, s=None):
        """Every title's item is done, the provider created each exactly once,
        and all attempts of an item carried its one Idempotency-Key."""
        done = self.outbox("done", s=s)
        self.assertEqual(sorted(i["payload"]["notes"] for i in done), sorted(titles))
        self.assertEqual(self.sim.effects()["work_orders_created"], created_before + len(titles))
        held = self.sim.work_order_titles()
        for t in titles:
            self.assertEqual(held.count(t), 1, "work order %r held %d times" % (t, held.count(t)))
        keys = {}
        for r in self.sim.requests("POST", WO_PATH):
            title = r["body"].get("title") if isinstance(r["body"], dict) else None
            if title in titles:
                keys.setdefault(title, set()).add(r["headers"].get("Idempotency-Key"))
        for t in titles:
            self.assertEqual(len(keys.get(t, ())), 1, (t, keys.get(t)))
            self.assertNotIn(None, keys[t])
        for state in ("pending", "in_flight", "dead", "suppressed"):
            self.assertEqual(self.outbox(state, s=s), [], state)

    def assert_pulled_exactly(self, n, s=None):
        refs = self.asset_refs(s=s)
        self.assertEqual(len(refs), n)
        self.assertEqual(len(set(refs)), n)
        links = self.db("SELECT COUNT(*), COUNT(DISTINCT native_id) FROM source_records"
                        " WHERE provider = 'generic' AND entity = 'asset'", s=s)
        self.assertEqual(links, [(n, n)])


class PushFaults(SyncCase):
    """One fault kind per test on POST /work-orders; the item gets through once."""

    def push_through(self, rule, titles=("probe worn out",), limit=40):
        s = self.start(self.config())
        self.wait_assets(self.sim_assets)
        refs = self.asset_refs()
        created = self.sim.effects()["work_orders_created"]
        rid = self.sim.fault(**rule)
        for i, t in enumerate(titles):
            self.open_wo(refs[i % len(refs)], t)
        self.wait_for("delivery", lambda: len(self.outbox("done")) == len(titles), limit=limit)
        self.assertGreaterEqual(self.sim.fired(rid), 1, "the fault never fired")
        self.assert_delivered_once(list(titles), created)
        self.assertEqual(self.api("GET", "/v1/dead-letters")["items"], [])
        return s, rid

    def test_429_with_retry_after(self):
        self.push_through({"match": {"method": "POST", "path": WO_PATH}, "action": "status",
                           "status": 429, "count": 2})
        statuses = [r["status"] for r in self.sim.requests("POST", WO_PATH)]
        self.assertEqual(statuses, [429, 429, 201])
        # the 429 paused the adaptive limiter, it did not count against the breaker
        prov = self.api("GET", "/v1/providers")["items"][0]
        self.assertEqual(prov["breaker"]["state"], "closed")
        self.assertEqual(prov["breaker"]["trips"], 0)
        self.assertLess(prov["rate_limit"]["rate"], prov["rate_limit"]["configured"])
        done = self.outbox("done")[0]
        self.assertEqual(done["attempts"], 3)

    def test_5xx(self):
        self.push_through({"match": {"method": "POST", "path": WO_PATH}, "action": "status",
                           "status": 503, "count": 2})
        self.assertEqual([r["status"] for r in self.sim.requests("POST", WO_PATH)], [503, 503, 201])
        logs = self.api("GET", "/v1/sync-logs?provider=generic")["items"]
        self.assertGreaterEqual(sum(1 for l in logs if l["level"] == "warn"), 2, logs)

    def test_provider_timeout_nothing_applied(self):
        # the provider holds the request, then drops it without applying:
        # an unknown outcome, resolved (replay not found -> applied now) once
        self.push_through({"match": {"method": "POST", "path": WO_PATH}, "action": "timeout",
                           "ms": 300, "count": 1})

    def test_reset_before_apply(self):
        self.push_through({"match": {"method": "POST", "path": WO_PATH}, "action": "reset", "count": 1})

    def test_reset_after_apply(self):
        self.push_through({"match": {"method": "POST", "path": WO_PATH}, "action": "reset_after_apply",
                           "count": 2})
        posts = self.sim.requests("POST", WO_PATH)
        # applied by the first attempt; everything after it was an idempotent replay
        self.assertEqual(self.sim.effects()["work_orders_created"], 1)
        self.assertGreaterEqual(len(posts), 3)

    def test_malformed_json_after_apply(self):
        self.push_through({"match": {"method": "POST", "path": WO_PATH}, "action": "malformed", "count": 1})
        self.assertGreaterEqual(len(self.sim.requests("POST", WO_PATH)), 2)

    def test_expired_token_is_accepted_again(self):
        # the contract: 401 token_expired, the token works on the next request
        self.push_through({"match": {"method": "POST", "path": WO_PATH}, "action": "expire_token",
                           "count": 1})
        self.assertEqual([r["status"] for r in self.sim.requests("POST", WO_PATH)], [401, 201])

    def test_every_fault_at_once(self):
        """Twelve items through a provider failing in every way (more than the
        breaker's five consecutive failures: it opens and recovers)."""
        rules = [
            {"action": "status", "status": 429},
            {"action": "status", "status": 503},
            {"action": "status", "status": 500},
            {"action": "timeout", "ms": 200},
            {"action": "reset"},
            {"action": "reset_after_apply"},
            {"action": "malformed"},
            {"action": "truncate"},
            {"action": "expire_token"},
            {"action": "status", "status": 502},
        ]
        # one worker, so that the failures come in a row (four workers interleave
        # them with the resolves of earlier items)
        s = self.start(self.config(concurrency=1))
        self.wait_assets(self.sim_assets)
        refs = self.asset_refs()
        created = self.sim.effects()["work_orders_created"]
        ids = [self.sim.fault(match={"method": "POST", "path": WO_PATH}, count=1, **r) for r in rules]
        titles = ["storm item %d" % i for i in range(12)]
        for i, t in enumerate(titles):
            self.open_wo(refs[i], t)
        self.wait_for("delivery", lambda: len(self.outbox("done")) == len(titles), limit=50)
        self.assertEqual([self.sim.fired(i) for i in ids], [1] * len(ids))
        self.assert_delivered_once(titles, created)
        self.assertEqual(self.api("GET", "/v1/dead-letters")["items"], [])
        prov = self.api("GET", "/v1/providers")["items"][0]
        self.assertEqual(prov["queue_depth"], 0)
        self.assertEqual(prov["dead_letters"], 0)
        # nine provider failures in a row (the 429 does not count) opened it
        self.assertGreaterEqual(prov["breaker"]["trips"], 1)
        self.assertEqual(prov["breaker"]["state"], "closed")


class PermanentErrors(SyncCase):
    """Dead letters only for permanent refusals; replay after the fix."""

    def test_422_is_dead_lettered_then_replayed(self):
        s = self.start(self.config())
        self.wait_assets(self.sim_assets)
        refs = self.asset_refs()
        created = self.sim.effects()["work_orders_created"]
        rid = self.sim.fault(match={"method": "POST", "path": WO_PATH}, action="status", status=422, count=1)
        self.open_wo(refs[0], "refused once")
        self.open_wo(refs[1], "accepted")
        self.wait_for("one dead letter and one delivery", lambda: len(self.outbox("dead")) == 1
                      and len(self.outbox("done")) == 1)
        self.assertEqual(self.sim.fired(rid), 1)
        dead = self.api("GET", "/v1/dead-letters")["items"]
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["error_class"], "validation")
        self.assertEqual(dead[0]["attempts"], 1)  # permanent: never retried
        self.assertIn("replay", dead[0]["owner_action"])
        self.assertIn(dead[0]["payload"]["notes"], ("refused once", "accepted"))
        refused = dead[0]["payload"]["notes"]
        # nothing more is sent for it while it is dead
        posts = len(self.sim.requests("POST", WO_PATH))
        self.advance(by="PT1H")
        self.assertEqual(self.outbox("dead")[0]["id"], dead[0]["id"])
        # the cause is gone (the rule is spent): replay brings it through once
        r = self.api("POST", "/v1/dead-letters:replay", {"id": dead[0]["id"]})
        self.assertEqual(r["replayed"], 1)
        self.wait_for("the replayed item delivered", lambda: len(self.outbox("done")) == 2)
        self.assertEqual(len(self.sim.requests("POST", WO_PATH)), posts + 1)
        self.assert_delivered_once(["refused once", "accepted"], created)
        self.assertEqual(self.sim.work_order_titles().count(refused), 1)

    def test_unknown_asset_is_dead_lettered_until_the_provider_has_it(self):
        s = self.start(self.config())
        self.wait_assets(self.sim_assets)
        created = self.sim.effects()["work_orders_created"]
        # an asset the hub has and the provider does not
        self.api("PUT", "/v1/assets/FAULT-NEW-1", {"name": "new press", "type": "fixture", "site": "plant-1"},
                 expect=201)
        self.open_wo("FAULT-NEW-1", "for the new press")
        self.wait_for("a dead letter", lambda: len(self.outbox("dead")) == 1)
        dead = self.api("GET", "/v1/dead-letters")["items"][0]
        self.assertEqual(dead["error_class"], "not_found")
        self.assertEqual(self.sim.requests("POST", WO_PATH), [])  # nothing was sent
        # replaying before the fix: dead again, still nothing sent
        self.api("POST", "/v1/dead-letters:replay", {"id": dead["id"]})
        self.wait_for("dead again", lambda: len(self.outbox("dead")) == 1 and self.outbox("dead")[0]["attempts"] == 1
                      and len(self.outbox("pending")) == 0)
        self.assertEqual(self.sim.requests("POST", WO_PATH), [])
        # the owner fixes the cause at the provider, then replays
        st, body = self.sim.provider("POST", ASSETS_PATH, {"tag": "FAULT-NEW-1", "name": "new press",
                                                           "type": "ict_fixture"})
        self.assertEqual(st, 201, body)
        r = self.api("POST", "/v1/dead-letters:replay", {"provider": "generic", "error_class": "not_found"})
        self.assertEqual(r["replayed"], 1)
        self.wait_for("delivered", lambda: len(self.outbox("done")) == 1)
        self.assert_delivered_once(["for the new press"], created)
        wo = [w for w in self.sim.provider("GET", WO_PATH + "?limit=200")[1]["items"]
              if w["title"] == "for the new press"]
        self.assertEqual(wo[0]["asset_id"], body["id"])


class ReadOnly(SyncCase):
    def test_read_only_suppresses_and_writes_nothing(self):
        self.sim.fault(match={"method": "POST", "path": WO_PATH}, action="status", status=503, count=1)
        s = self.start(self.config(mode="read_only"))
        self.wait_assets(self.sim_assets)
        refs = self.asset_refs()
        for i in range(3):
            self.open_wo(refs[i], "read only %d" % i)
        self.wait_for("three suppressed items", lambda: len(self.outbox("suppressed")) == 3)
        # give the worker further rounds: nothing may leave the suppressed state
        for _ in range(3):
            self.advance(by="PT1M")
            time.sleep(0.3)
        self.assertEqual(len(self.outbox("suppressed")), 3)
        for state in ("pending", "in_flight", "done", "dead"):
            self.assertEqual(self.outbox(state), [], state)
        writes = [r for r in self.sim.requests() if r["method"] not in ("GET", "HEAD")]
        self.assertEqual(writes, [])
        eff = self.sim.effects()
        for k in ("assets_created", "assets_updated", "meters_created", "readings_posted",
                  "work_orders_created", "work_orders_updated"):
            self.assertEqual(eff[k], 0, k)
        prov = self.api("GET", "/v1/providers")["items"][0]
        self.assertEqual(prov["suppressed"], 3)


class PullFaults(SyncCase):
    """A pass is a chain of three pages (450 assets, 200 a page). The first
    page request is served normally (a no-op latency rule takes it) and the
    second, the first with a cursor, fails in one way; the pass stops at its
    checkpoint and a later tick resumes there. The hub ends with every asset
    exactly once and a clean sync state."""

    sim_assets = 450

    def pull_through(self, **fault):
        match = {"method": "GET", "path": ASSETS_PATH}
        self.sim.fault(match=match, action="latency", ms=0, count=1)
        rid = self.sim.fault(match=match, count=1, **fault)
        s = self.start(self.config())
        self.wait_for("the fault fired", lambda: self.sim.fired(rid) >= 1)
        self.wait_assets(self.sim_assets)
        self.assert_pulled_exactly(self.sim_assets)
        st = [r for r in self.api("GET", "/v1/sync-state")["items"] if r["entity"] == "asset"][0]
        self.assertIsNone(st["page_token"])
        self.assertIsNotNone(st["watermark"])
        self.assertIsNone(st["last_error"])
        gets = self.sim.requests("GET", ASSETS_PATH)
        self.assertNotIn("cursor=", gets[0]["query"] or "")
        self.assertIn("cursor=", gets[1]["query"], "the fault did not hit page two")
        self.assertEqual(gets[1]["fault"], fault["action"])
        # the pass resumed at its checkpoint: page one was not fetched again
        firsts = [g for g in gets if "cursor=" not in (g["query"] or "")
                  and "updated_since=" not in (g["query"] or "")]
        if fault["action"] != "repeat_page":
            self.assertEqual(len(firsts), 1, [g["query"] for g in gets])
        return s, rid, st

    def test_5xx_on_a_page(self):
        _, _, st = self.pull_through(action="status", status=503)
        self.assertGreaterEqual(st["failed"], 1)

    def test_reset_on_a_page(self):
        self.pull_through(action="reset")

    def test_timeout_on_a_page(self):
        self.pull_through(action="timeout", ms=300)

    def test_malformed_page(self):
        _, _, st = self.pull_through(action="malformed")
        self.assertGreaterEqual(st["failed"], 1)

    def test_expired_token_on_a_page(self):
        self.pull_through(action="expire_token")
        self.assertIn(401, [r["status"] for r in self.sim.requests("GET", ASSETS_PATH)])

    def test_repeated_page(self):
        # page two's request gets page one again (with page one's cursor)
        _, rid, st = self.pull_through(action="repeat_page")
        self.assertEqual(self.sim.fired(rid), 1)
        self.assertEqual(st["pulled"], self.sim_assets + 200)  # one page seen twice, stored once

    def test_faults_on_every_page_of_a_later_pass(self):
        """Faults during an incremental pass over new and changed assets
        (including a 429 and a truncated page, which have no test of their
        own to keep this file short)."""
        s = self.start(self.config())
        self.wait_assets(self.sim_assets)
        ids = [self.sim.fault(match={"method": "GET", "path": ASSETS_PATH}, count=1, **r) for r in (
            {"action": "status", "status": 500}, {"action": "reset"}, {"action": "malformed"},
            {"action": "repeat_page"}, {"action": "expire_token"}, {"action": "status", "status": 429},
            {"action": "truncate"})]
        for i in range(5):
            st, body = self.sim.provider("POST", ASSETS_PATH, {"tag": "LATE-%d" % i, "name": "late %d" % i,
                                                               "type": "multimeter"})
            self.assertEqual(st, 201, body)
        st, body = self.sim.provider("PATCH", ASSETS_PATH + "/A-000001", {"name": "renamed at the source"})
        self.assertEqual(st, 200, body)
        self.wait_for("every fault fired", lambda: all(self.sim.fired(i) == 1 for i in ids))
        self.wait_for("the late assets pulled",
                      lambda: len(self.asset_refs()) == self.sim_assets + 5)
        self.assert_pulled_exactly(self.sim_assets + 5)
        names = [a["name"] for a in self.all_items("/v1/assets")]
        self.assertIn("renamed at the source", names)


if __name__ == "__main__":
    unittest.main(verbosity=2)
