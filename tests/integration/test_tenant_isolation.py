#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tenant isolation, operation by operation: every operation documented in
api/openapi.json is called with tenant B's admin key against tenant A's
objects. Operations that address an object of A answer 404 exactly as if it
did not exist; lists and searches show nothing of A; creations that name A's
objects fail to resolve them. Afterwards A's objects are unchanged. An
operation the table below does not cover fails the test, so every new route
must say how it keeps tenants apart."""
import base64
import json
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE_DIR, Service, run  # noqa: E402

WO_ACTION = {"assign": {"assignee": "mallory"}, "comment": {"text": "hi"}, "complete": {},
             "close": {}, "cancel": {}, "reopen": {}, "start": {}, "hold": {}, "submit": {}}


class TenantIsolationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Service().start()
        cls.a = cls.key("plant-a")
        cls.b = cls.key("plant-b")
        cls.seed()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    @classmethod
    def key(cls, tenant):
        p = run("apikey", "create", "--data-dir", cls.s.data_dir, "--tenant", tenant, "--scopes", "admin")
        assert p.returncode == 0, p.stderr
        return p.stdout.rstrip("\n").splitlines()[-1]

    @classmethod
    def call(cls, key, method, path, body=None, headers=None):
        h = {"Authorization": "Bearer " + key}
        h.update(headers or {})
        if isinstance(body, str):
            h.setdefault("Content-Type", "application/json")
        return cls.s.request(method, path, body=body, headers=h)

    @classmethod
    def seed(cls):
        """Tenant A's objects, one of each kind an operation can address."""
        A = cls.a
        st, _, b = cls.call(A, "PUT", "/v1/assets/ISO-A",
                            {"name": "A's fixture", "type": "fixture", "site": "plant-a", "serial_number": "SN-ISO-A"})
        assert st == 201, b
        st, _, b = cls.call(A, "POST", "/v1/readings", {"asset_ref": "ISO-A", "meter": "cycles", "increment": 5})
        assert st == 202, b
        st, _, b = cls.call(A, "POST", "/v1/assets/ISO-A/links", {"provider": "sap_pm", "native_id": "10001"})
        assert st in (200, 201), b
        st, _, wo = cls.call(A, "POST", "/v1/work-orders",
                             {"asset_ref": "ISO-A", "type": "corrective", "common_status": "open"})
        assert st == 201, wo
        cls.wo = wo["common_work_order_id"]
        cls.wo_rev = wo["revision"]
        st, _, b = cls.call(A, "POST", "/v1/assets/ISO-A/calibration:record",
                            {"performed_at": "2026-01-01T00:00:00Z", "result": "in_tolerance"})
        assert st == 200, b
        st, _, b = cls.call(A, "PUT", "/v1/status-mappings/sap_pm/status/E0001", {"common_value": "open"})
        assert st in (200, 201), b
        st, _, hook = cls.call(A, "POST", "/v1/webhooks",
                               {"url": "https://a.example.com/hook", "event_types": ["*"]})
        assert st == 201, hook
        cls.hook = hook["id"]
        cls.exception = "01JISOLATIONEXCEPTION0000A"
        con = sqlite3.connect(os.path.join(cls.s.data_dir, "assetbridge.db"))
        con.execute("INSERT INTO mapping_exceptions(id, tenant, provider, entity, native_id, reason, message,"
                    " candidates, change, state, created_at) VALUES (?, 'plant-a', 'sap_pm', 'asset', 'N-ISO',"
                    " 'serial_collision', 'held', '[]', ?, 'open', ?)",
                    (cls.exception, json.dumps({"provider": "sap_pm", "entity": "asset", "native_id": "N-ISO",
                                                "doc": {"name": "held"}}), int(time.time() * 1000)))
        now = int(time.time() * 1000)
        # a dead letter and a sync log line of tenant A (sync routes)
        cur = con.execute("INSERT INTO outbox(tenant, provider, entity, action, subject, payload, idempotency_key,"
                          " state, next_attempt_at, created_at, updated_at, error_class, last_error, dead_at)"
                          " VALUES ('plant-a', 'sap_pm', 'work_order', 'update_work_order', 'ISO-OUTBOX-A', '{}',"
                          " 'iso-key-a', 'dead', ?, ?, ?, 'validation', 'rejected', ?)", (now, now, now, now))
        cls.dead_id = cur.lastrowid
        con.execute("INSERT INTO sync_log(tenant, provider, entity, level, message, at)"
                    " VALUES ('plant-a', 'sap_pm', 'asset', 'error', 'ISO-SYNCLOG-A', ?)", (now,))
        con.execute("INSERT INTO sync_state(tenant, provider, entity, watermark) VALUES ('plant-a', 'sap_pm',"
                    " 'asset', 'ISO-WATERMARK-A')")
        # a job of tenant A (jobs routes)
        cls.job = "01JISOLATIONJOB0000000000A"
        con.execute("INSERT INTO jobs(id, tenant, kind, provider, entity, params, state, created_at, updated_at)"
                    " VALUES (?, 'plant-a', 'reconcile', 'sap_pm', 'asset', '{\"repair\":false}', 'queued', ?, ?)",
                    (cls.job, now, now))
        # an open interval suggestion of tenant A (suggestions routes)
        cls.suggestion = "01JISOLATIONSUGGESTION000A"
        con.execute("INSERT INTO suggestions(tenant, id, asset_ref, kind, state, current_days, suggested_days,"
                    " direction, reason, evidence, basis_at, created_at) VALUES ('plant-a', ?, 'ISO-A',"
                    " 'calibration_interval', 'open', 100, 125, 'increase', 'ISO-SUGGESTION-A', NULL, ?, ?)",
                    (cls.suggestion, now, now))
        con.commit()
        con.close()
        st, _, b = cls.call(A, "GET", "/v1/assets/ISO-A")
        cls.asset_rev = b["revision"]
        # what must never appear in tenant B's answers
        cls.secrets_of_a = ["ISO-A", "SN-ISO-A", cls.wo, cls.hook, cls.exception, "E0001", "a.example.com",
                            "ISO-OUTBOX-A", "ISO-SYNCLOG-A", "ISO-WATERMARK-A", "iso-key-a", cls.job,
                            cls.suggestion, "ISO-SUGGESTION-A"]

    def params(self, path):
        p = path.replace("{asset_ref}", "ISO-A").replace("{meter}", "cycles")
        p = p.replace("{provider}", "sap_pm").replace("{native_id}", "10001")
        p = p.replace("{kind}", "status").replace("{source_value}", "E0001")
        if p.startswith("/v1/work-orders/"):
            p = p.replace("{id}", self.wo)
        elif p.startswith("/v1/webhooks/"):
            p = p.replace("{id}", self.hook)
        elif p.startswith("/v1/mapping-exceptions/"):
            p = p.replace("{id}", self.exception)
        elif p.startswith("/v1/jobs/"):
            p = p.replace("{id}", self.job)
        elif p.startswith("/v1/suggestions/"):
            p = p.replace("{id}", self.suggestion)
        p = p.replace("{name}", "sap_pm")  # /v1/providers/{name}...: A's provider name
        assert "{" not in p, "no value for a parameter of " + path
        return p

    def expect_404(self, method, path, body=None, headers=None):
        st, _, b = self.call(self.b, method, self.params(path), body, headers)
        self.assertEqual(st, 404, "%s %s as tenant B: %s %s" % (method, path, st, b))
        self.assertEqual(b["error"]["class"], "not_found")

    def expect_nothing_of_a(self, method, path, query=""):
        st, _, b = self.call(self.b, method, path + query)
        self.assertEqual(st, 200, "%s %s: %s" % (method, path, b))
        text = json.dumps(b) if not isinstance(b, str) else b
        for s in self.secrets_of_a:
            self.assertNotIn(s, text, "%s %s shows %s of tenant A" % (method, path, s))

    def expect_unresolved(self, method, path, body, status=422):
        st, _, b = self.call(self.b, method, path, body)
        self.assertEqual(st, status, "%s %s as tenant B: %s" % (method, path, b))
        return b

    def rule(self, method, path):
        """Run the check for one operation; False when no rule covers it."""
        if path.startswith("/_test/") or path in ("/healthz", "/readyz", "/v1/openapi.json", "/metrics"):
            return True  # hold no tenant data (metrics are counts per route, not per tenant)
        if path in ("/v1/assets", "/v1/audit", "/v1/calibrations", "/v1/events", "/v1/mapping-exceptions",
                    "/v1/status-mappings", "/v1/webhooks", "/v1/work-orders") and method == "GET":
            q = {"/v1/events": "?after=0&wait=0"}.get(path, "")
            self.expect_nothing_of_a(method, path, q)
            return True
        if path in ("/v1/providers", "/v1/sync-state", "/v1/sync-logs", "/v1/dead-letters") and method == "GET":
            self.expect_nothing_of_a(method, path)
            return True
        if path == "/v1/jobs" and method == "GET":
            self.expect_nothing_of_a(method, path)
            return True
        if path == "/v1/suggestions" and method == "GET":
            for q in ("", "?state=open"):
                self.expect_nothing_of_a(method, path, q)
            return True
        if path == "/v1/reconcile":
            # B has no provider sap_pm: 404 naming it (and nothing is queued)
            st, _, b = self.call(self.b, "POST", path, {"provider": "sap_pm", "entity": "asset"})
            self.assertEqual((st, b["error"]["class"], b["error"]["field"]), (404, "not_found", "provider"), b)
            return True
        if path == "/v1/outbox" and method == "GET":
            for state in ("pending", "in_flight", "done", "dead", "suppressed"):
                self.expect_nothing_of_a(method, path, "?state=" + state)
            return True
        if path == "/v1/dead-letters:replay":
            st, _, b = self.call(self.b, "POST", path, {"id": self.dead_id})
            self.assertEqual(st, 404, b)
            st, _, b = self.call(self.b, "POST", path, {"provider": "sap_pm"})
            self.assertEqual((st, b.get("replayed")), (200, 0), b)
            return True
        if path == "/v1/assets:lookup":
            self.expect_404("GET", path + "?provider=sap_pm&native_id=10001")
            return True
        if path == "/v1/readings":
            b = self.expect_unresolved("POST", path, {"asset_ref": "ISO-A", "meter": "cycles", "increment": 1})
            self.assertEqual(b["error"]["class"], "identity")
            b = self.expect_unresolved("POST", path, {"asset_ref": "sap_pm:10001", "meter": "cycles", "increment": 1})
            self.assertEqual(b["error"]["class"], "identity")
            return True
        if path == "/v1/readings:batch":
            st, _, b = self.s.request("POST", path, body=json.dumps([{"asset_ref": "ISO-A", "meter": "cycles",
                                                                        "increment": 1}]),
                                      headers={"Authorization": "Bearer " + self.b, "Content-Type": "application/json"})
            self.assertEqual((st, b["accepted"], b["rejected"]), (202, 0, 1), b)
            return True
        if path == "/v1/work-orders" and method == "POST":
            b = self.expect_unresolved("POST", path, {"asset_ref": "ISO-A", "type": "corrective"})
            self.assertEqual(b["error"]["class"], "identity")
            return True
        if path == "/v1/webhooks" and method == "POST":
            return True  # creates tenant B's own subscription; GET/DELETE are checked separately
        if path == "/v1/assets/{asset_ref}" and method == "PUT":
            # without If-Match a PUT would create B's own ISO-A (namespaces are per tenant);
            # with it, A's asset is invisible
            self.expect_404("PUT", path, {"name": "mallory"}, {"If-Match": '"%d"' % self.asset_rev})
            return True
        if path == "/v1/status-mappings/{provider}/{kind}/{source_value}":
            if method == "DELETE":
                self.expect_404(method, path)
            else:
                # a PUT defines B's own mapping; A's stays as it was (checked at the end)
                st, _, b = self.call(self.b, "PUT", self.params(path), {"common_value": "cancelled"})
                self.assertIn(st, (200, 201), b)
            return True
        bodies = {
            ("POST", "/v1/assets/{asset_ref}/calibration:record"): {"performed_at": "2026-02-01T00:00:00Z",
                                                                   "result": "out_of_tolerance"},
            ("POST", "/v1/assets/{asset_ref}/links"): {"provider": "wats", "native_id": "W-1"},
            ("POST", "/v1/assets/{asset_ref}:move"): {"site": "elsewhere"},
            ("POST", "/v1/assets/{asset_ref}:retire"): {},
            ("POST", "/v1/mapping-exceptions/{id}:resolve"): {"action": "ignore"},
            ("PATCH", "/v1/work-orders/{id}"): {"notes": "mallory was here"},
            ("POST", "/v1/work-orders/{id}/attachments"): {
                "file_name": "x.txt", "media_type": "text/plain",
                "content_base64": base64.b64encode(b"x").decode()},
        }
        if path.startswith("/v1/work-orders/{id}:"):
            self.expect_404(method, path, WO_ACTION[path.split(":")[-1]])
            return True
        if "{" in path:  # every other operation on one of A's objects
            self.expect_404(method, path, bodies.get((method, path)))
            return True
        return False

    def test_every_documented_operation(self):
        with open(os.path.join(SOURCE_DIR, "api", "openapi.json")) as f:
            doc = json.load(f)
        uncovered, checked = [], 0
        for path, ops in sorted(doc["paths"].items()):
            # DELETE before PUT: a PUT as B defines B's own mapping of the same name
            for method in ("get", "delete", "post", "put", "patch"):
                if method not in ops:
                    continue
                with self.subTest(op="%s %s" % (method.upper(), path)):
                    if self.rule(method.upper(), path):
                        checked += 1
                    else:
                        uncovered.append("%s %s" % (method.upper(), path))
        self.assertEqual(uncovered, [], "operations without an isolation rule")
        self.assertGreaterEqual(checked, 40)
        print("tenant isolation checked for %d operations" % checked)

        # tenant A's objects did not change
        A = self.a
        st, _, asset = self.call(A, "GET", "/v1/assets/ISO-A")
        self.assertEqual((st, asset["revision"], asset["site"]), (200, self.asset_rev, "plant-a"))
        self.assertEqual(asset["status"], "active")
        st, _, wo = self.call(A, "GET", "/v1/work-orders/" + self.wo)
        self.assertEqual((st, wo["revision"], wo["common_status"]), (200, self.wo_rev, "open"))
        st, _, m = self.call(A, "GET", "/v1/status-mappings?provider=sap_pm")
        self.assertEqual([(x["source_value"], x["common_value"]) for x in m["items"]], [("E0001", "open")])
        st, _, hooks = self.call(A, "GET", "/v1/webhooks")
        self.assertEqual([h["id"] for h in hooks["items"]], [self.hook])
        st, _, ex = self.call(A, "GET", "/v1/mapping-exceptions/" + self.exception)
        self.assertEqual((st, ex["state"]), (200, "open"))
        st, _, dead = self.call(A, "GET", "/v1/dead-letters")
        self.assertEqual([d["id"] for d in dead["items"]], [self.dead_id])
        st, _, job = self.call(A, "GET", "/v1/jobs/" + self.job)
        self.assertEqual((st, job["state"], job["cancel_requested"]), (200, "queued", False))
        st, _, meters = self.call(A, "GET", "/v1/assets/ISO-A/meters")
        self.assertEqual(meters["items"][0]["value"], 5)
        st, _, sg = self.call(A, "GET", "/v1/suggestions/" + self.suggestion)
        self.assertEqual((st, sg["state"], sg["decided_by"]), (200, "open", None))


if __name__ == "__main__":
    unittest.main(verbosity=2)
