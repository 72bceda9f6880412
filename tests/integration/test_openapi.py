#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""GET /v1/openapi.json: public (no key), valid JSON, OpenAPI 3.1.x, every
operation carries x-required-scope with a matching `security`, and the
served document is the one in the repository (api/openapi.json).

The route-by-route comparison with the route table is the unit test
tests/unit/api/test_openapi.c."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE_DIR, Service  # noqa: E402

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
SCOPES = {"none", "read", "ingest", "write", "admin"}


class OpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Service().start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def get_doc(self, headers=None):
        st, h, body = self.s.request("GET", "/v1/openapi.json", headers=headers)
        self.assertEqual(st, 200, body)
        self.assertTrue(h["content-type"].startswith("application/json"))
        self.assertIsInstance(body, dict, "not a JSON object")
        return body

    def test_public_valid_31(self):
        doc = self.get_doc()  # no key at all
        self.assertRegex(doc["openapi"], r"^3\.1\.\d+$")
        self.assertIn("title", doc["info"])
        self.assertEqual(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer")
        # a key, even a bad one, is not needed and not refused
        self.assertEqual(self.get_doc({"Authorization": "Bearer nonsense"}), doc)

    def test_every_operation_has_a_scope(self):
        doc = self.get_doc()
        ops = 0
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method not in METHODS:
                    continue
                ops += 1
                where = "%s %s" % (method.upper(), path)
                self.assertIn(op.get("x-required-scope"), SCOPES, where)
                self.assertIn("responses", op, where)
                sec = op.get("security")
                self.assertIsInstance(sec, list, where)
                if op["x-required-scope"] == "none":
                    self.assertEqual(sec, [], where)
                else:
                    self.assertIn({"bearer": []}, sec, where)
        self.assertGreater(ops, 0)
        # the families documented here
        self.assertEqual(doc["paths"]["/v1/events"]["get"]["x-required-scope"], "read")
        self.assertEqual(doc["paths"]["/v1/webhooks"]["post"]["x-required-scope"], "admin")
        self.assertEqual(doc["paths"]["/v1/webhooks/{id}"]["delete"]["x-required-scope"], "admin")
        self.assertEqual(doc["paths"]["/v1/openapi.json"]["get"]["x-required-scope"], "none")
        self.assertEqual(doc["paths"]["/healthz"]["get"]["x-required-scope"], "none")
        self.assertTrue(doc["paths"]["/_test/clock"]["post"].get("x-test-only"))

    def test_served_document_is_the_repository_file(self):
        with open(os.path.join(SOURCE_DIR, "api", "openapi.json")) as f:
            repo = json.load(f)
        self.assertEqual(self.get_doc(), repo,
                         "the binary embeds an older api/openapi.json: rebuild")


if __name__ == "__main__":
    unittest.main(verbosity=2)
