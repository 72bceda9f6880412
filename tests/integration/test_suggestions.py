#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Calibration interval suggestions through the real service: three
in-tolerance as-found results recorded for an instrument make the rules
engine open one suggestion (100 -> 125 days, with its reasoning); nothing
changes until it is approved (with `assetbridge suggestions approve`), which
sets the hub calibration record's interval and due date, audited with the
key's id; an out-of-tolerance result opens a shortening suggestion that
`reject` closes without change; a decided suggestion cannot be decided again;
`assetbridge suggestions list` shows the open ones; a tenant whose policy is
apply_suggestions gets the change applied by the engine.

Needs the rules engine running inside `serve`: skips, saying so, when the
service does not log "rules engine started"."""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Service, run, write_file  # noqa: E402

CONFIG = """\
tenants:
  plant-a:
    rules:
      calibration: {interval_days: 100}
  plant-auto:
    rules:
      calibration: {interval_days: 100, apply_suggestions: true}
"""


class SuggestionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ab-suggest-")
        cfg = write_file(cls.tmp, "assetbridge.yaml", CONFIG)
        cls.s = Service(config=cfg).start()
        deadline = time.monotonic() + 10
        while "rules engine started" not in cls.s.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        if "rules engine started" not in cls.s.stderr():
            cls.s.__exit__(None, None, None)
            raise unittest.SkipTest("the rules engine is not started by serve (rules_start)")
        cls.key = cls.create_key("plant-a")
        cls.auto_key = cls.create_key("plant-auto")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def create_key(cls, tenant):
        p = run("apikey", "create", "--data-dir", cls.s.data_dir, "--tenant", tenant, "--scopes", "admin")
        assert p.returncode == 0, p.stderr
        return p.stdout.rstrip("\n").splitlines()[-1]

    def call(self, method, path, body=None, key=None):
        return self.s.request(method, path, body=body,
                              headers={"Authorization": "Bearer " + (key or self.key)})

    def cli(self, *args):
        env = dict(os.environ, ASSETBRIDGE_API_KEY=self.key)
        return run("suggestions", *args, "--url", "http://" + self.s.addr, env=env)

    def asset(self, ref, key=None):
        st, _, b = self.call("PUT", "/v1/assets/" + ref, {"name": ref, "type": "instrument", "site": "plant-1"},
                             key)
        self.assertEqual(st, 201, b)

    def record(self, ref, day, as_found, key=None):
        st, _, b = self.call("POST", "/v1/assets/%s/calibration:record" % ref,
                             {"performed_at": day + "T00:00:00Z", "result": "in_tolerance", "as_found": as_found,
                              "as_left": "in_tolerance"}, key)
        self.assertEqual(st, 200, b)
        return b

    def hub_cal(self, ref, key=None):
        st, _, page = self.call("GET", "/v1/assets/%s/calibration" % ref, key=key)
        self.assertEqual(st, 200, page)
        return [c for c in page["items"] if c.get("provider_id", "hub") == "hub"][0]

    def wait_for(self, what, fn, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)

    def suggestions(self, ref, state="open", key=None):
        st, _, page = self.call("GET", "/v1/suggestions?state=" + state, key=key)
        self.assertEqual(st, 200, page)
        return [x for x in page["items"] if x["asset_ref"] == ref]

    def test_lengthen_then_approve(self):
        self.asset("INST-1")
        for day in ("2025-01-01", "2025-04-11"):
            self.record("INST-1", day, "in_tolerance")
        last = self.record("INST-1", "2025-07-20", "in_tolerance")
        (sg,) = self.wait_for("a suggestion for INST-1", lambda: self.suggestions("INST-1"))
        self.assertEqual((sg["kind"], sg["direction"], sg["current_interval_days"], sg["suggested_interval_days"]),
                         ("calibration_interval", "increase", 100, 125))
        self.assertIn("last 3 as-found results (2025-01-01 to 2025-07-20) were in tolerance", sg["reason"])
        self.assertEqual(sg["evidence"]["method"], "fixed_step")
        self.assertEqual([r["as_found"] for r in sg["evidence"]["results"]], ["in_tolerance"] * 3)
        self.assertEqual((sg["state"], sg["decided_by"]), ("open", None))
        # one open suggestion per asset: another pass changes nothing
        st, _, one = self.call("GET", "/v1/suggestions/" + sg["id"])
        self.assertEqual((st, one["id"]), (200, sg["id"]))
        # nothing changed before approval
        cal = self.hub_cal("INST-1")
        self.assertEqual(cal["revision"], last["revision"])
        self.assertNotIn("interval_days", cal)

        p = self.cli("list")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(sg["id"], p.stdout)
        self.assertIn("INST-1", p.stdout)
        p = self.cli("approve", sg["id"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("approved", p.stdout)

        cal = self.hub_cal("INST-1")
        self.assertEqual(cal["interval_days"], 125)
        self.assertEqual(cal["due_at"], "2025-11-22T00:00:00Z")  # 2025-07-20 + 125 days
        self.assertEqual(cal["revision"], last["revision"] + 1)
        st, _, done = self.call("GET", "/v1/suggestions/" + sg["id"])
        self.assertEqual(done["state"], "approved")
        self.assertTrue(done["decided_by"] and done["decided_by"] != "rules")
        st, _, audit = self.call("GET", "/v1/audit?subject=suggestion/" + sg["id"])
        self.assertEqual(st, 200, audit)
        self.assertEqual([(a["action"], a["actor"]) for a in audit["items"]],
                         [("suggestion.approve", done["decided_by"])])
        # decided once only
        st, _, err = self.call("POST", "/v1/suggestions/%s:approve" % sg["id"])
        self.assertEqual((st, err["error"]["class"]), (409, "conflict"))
        p = self.cli("reject", sg["id"])
        self.assertEqual(p.returncode, 1)
        st, _, err = self.call("POST", "/v1/suggestions/01JNOSUCHSUGGESTION0000000:reject")
        self.assertEqual(st, 404)

    def test_shorten_then_reject(self):
        self.asset("INST-2")
        self.record("INST-2", "2025-01-01", "in_tolerance")
        last = self.record("INST-2", "2025-04-11", "out_of_tolerance")
        (sg,) = self.wait_for("a suggestion for INST-2", lambda: self.suggestions("INST-2"))
        self.assertEqual((sg["direction"], sg["current_interval_days"], sg["suggested_interval_days"]),
                         ("decrease", 100, 50))
        self.assertIn("on 2025-04-11 was out of tolerance", sg["reason"])
        st, _, done = self.call("POST", "/v1/suggestions/%s:reject" % sg["id"])
        self.assertEqual((st, done["state"]), (200, "rejected"), done)
        cal = self.hub_cal("INST-2")
        self.assertEqual(cal["revision"], last["revision"])
        self.assertNotIn("interval_days", cal)
        self.assertEqual(self.suggestions("INST-2"), [])
        self.assertEqual([x["id"] for x in self.suggestions("INST-2", "rejected")], [sg["id"]])
        st, _, err = self.call("GET", "/v1/suggestions?state=maybe")
        self.assertEqual((st, err["error"]["field"]), (422, "state"))

    def test_policy_applies(self):
        self.asset("AUTO-1", self.auto_key)
        for day in ("2025-01-01", "2025-04-11", "2025-07-20"):
            self.record("AUTO-1", day, "in_tolerance", self.auto_key)
        (sg,) = self.wait_for("an applied suggestion for AUTO-1",
                              lambda: self.suggestions("AUTO-1", "approved", self.auto_key))
        self.assertEqual((sg["decided_by"], sg["suggested_interval_days"]), ("rules", 125))
        self.assertEqual(self.hub_cal("AUTO-1", self.auto_key)["interval_days"], 125)
        # tenant plant-a sees none of it
        self.assertEqual(self.suggestions("AUTO-1", "approved"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
