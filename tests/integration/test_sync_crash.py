#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SIGKILL of the service between an outbox item's claim and its outcome,
real processes only (the service and `assetbridge sim generic`).

The simulator holds the item's POST /work-orders (a latency or timeout fault
rule); the test waits until the rule has fired (the provider has the request),
kills the service with SIGKILL, lets the provider either apply the request
(latency: it is served after the client is gone) or drop it unapplied
(timeout), and restarts the service on the same data directory. The item was
left in_flight under its lease; the restarted service claims it again once
the lease has expired and must end with the item done and the work order
created exactly once at the provider.

The lease (5 min) has no configuration key or environment variable (only
sync_engine_opts.lease_ms, which `serve` does not expose), so the restart
runs on a fake clock set past the lease instead of waiting it out.
"""
import os
import signal
import sys
import unittest
from datetime import timedelta

sys.path.insert(0, os.path.dirname(__file__))
from test_sync_faults import WO_PATH, SyncCase, utc  # noqa: E402


class CrashBetweenClaimAndCompletion(SyncCase):
    def crash(self, action):
        """Kill the service while the provider holds the push; returns
        (restarted service, outbox id, effects before, the held rule's id)."""
        data_dir = os.path.join(self.tmp, "data")
        cfg = self.config()
        s1 = self.start(cfg, data_dir=data_dir, clock=utc())
        self.wait_assets(self.sim_assets)
        ref = self.asset_refs()[0]
        created = self.sim.effects()["work_orders_created"]
        rid = self.sim.fault(match={"method": "POST", "path": WO_PATH}, action=action, ms=1500, count=1)
        subject = self.open_wo(ref, "crash probe")
        # the provider has received the push and holds it (the rule fired)
        self.wait_for("the provider holding the push", lambda: self.sim.fired(rid) == 1, tick=None)
        s1.stop(sig=signal.SIGKILL)
        self.assertEqual(s1.proc.returncode, -signal.SIGKILL)
        rows = self.db("SELECT id, state, attempts, lease_until FROM outbox WHERE subject = ?", (subject,), s=s1)
        self.assertEqual(len(rows), 1)
        oid, state, attempts, _ = rows[0]
        self.assertEqual((state, attempts), ("in_flight", 1), "the kill did not land between claim and outcome")
        # the provider finishes the held request without a client
        if action == "latency":
            self.wait_for("the provider applying the held push",
                          lambda: self.sim.effects()["work_orders_created"] == created + 1, tick=None)
        else:
            self.wait_for("the provider dropping the held push",
                          lambda: any(r.get("fault") == "timeout" for r in self.sim.requests("POST", WO_PATH)),
                          tick=None)
            self.assertEqual(self.sim.effects()["work_orders_created"], created)
        # restart on the same data, the clock past the 5-minute lease
        s2 = self.start(cfg, data_dir=data_dir, clock=utc(timedelta(minutes=10)))
        self.wait_for("the item done after the restart", lambda: len(self.outbox("done", s=s2)) == 1, s=s2)
        self.assert_delivered_once(["crash probe"], created, s=s2)
        self.assertEqual(self.api("GET", "/v1/dead-letters", s=s2)["items"], [])
        return s2, oid

    def test_provider_applied_before_the_restart(self):
        s2, oid = self.crash("latency")
        posts = self.sim.requests("POST", WO_PATH)
        self.assertEqual([p["status"] for p in posts], [201, 201])  # the second is a keyed replay
        self.assertEqual(self.outbox("done", s=s2)[0]["id"], oid)

    def test_provider_did_not_apply(self):
        s2, oid = self.crash("timeout")
        posts = self.sim.requests("POST", WO_PATH)
        self.assertEqual([p["status"] for p in posts], [None, 201])
        self.assertEqual(self.outbox("done", s=s2)[0]["id"], oid)

    def test_reclaimed_item_is_resolved_before_any_resend(self):
        """An item whose lease expired mid-call has an unknown outcome, like a
        timeout after sending: docs/internals/sync.md says such an item is
        resolved (conn_resolve) before any resend, so that a provider without
        idempotency keys never gets a blind resend. The restarted worker must
        log the resolve for it."""
        s2, oid = self.crash("latency")
        resolves = [l for l in s2.log_lines()
                    if l.get("msg") == "sync: resolving an unknown outcome" and l.get("outbox_id") == oid]
        pushes = [l for l in s2.log_lines() if l.get("msg") == "sync: outbox item pushed" and l.get("outbox_id") == oid]
        self.assertEqual(len(resolves), 1, "the reclaimed item was sent again without a resolve "
                         "(pushes after the restart: %r)" % pushes)


if __name__ == "__main__":
    unittest.main(verbosity=2)
