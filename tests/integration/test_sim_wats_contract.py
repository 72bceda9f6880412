# SPDX-License-Identifier: Apache-2.0
"""Contract test of `assetbridge sim wats`: runs every test of
test_sim_wats.py with its response recorder on, then validates each 200
answer of a documented operation against the response schema of the WATS
server's Swagger export (shared/specs/wats/openapi_public.json, found at
../shared relative to the repository; the test skips, saying so, when it is
absent: the export is never copied into the repository).

The validator (contract.py, shared with the SAP contract test) is a small
JSON-schema subset covering what the export uses: type, properties,
required, items, $ref, enum, format (date-time loosely, uuid, int32),
nullable / x-nullable. Two readings of the export:
- a Swagger 2.0 export has no nullability markers and the .NET server emits
  null for unset values, so null is accepted for a property that is not
  required (and wherever nullable / x-nullable is true);
- a bare {"type":"object"} is how the export renders an untyped
  IHttpActionResult, so it accepts any JSON; for those operations the
  contract sheet names the model, and OPERATION_MODELS checks it.
Properties the schema does not declare are reported: a simulator inventing
fields would mislead the connector written against the same contract."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import test_sim_wats  # noqa: E402
from contract import Validator, match_operation  # noqa: E402

REPO = os.environ.get("AB_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
SPEC = os.path.join(REPO, "..", "shared", "specs", "wats", "openapi_public.json")

# Operations typed as a bare object, with the model the sheet says they return.
MODEL = "Virinco.WATS.Web.Dashboard.Models.Mes.Asset."
OPERATION_MODELS = {
    ("GET", "/api/Asset/{assetId}"): MODEL + "Asset",
    ("PUT", "/api/Asset"): MODEL + "Asset",
    ("DELETE", "/api/Asset"): MODEL + "Asset",
    ("PUT", "/api/Asset/State"): MODEL + "Asset",
    ("POST", "/api/Asset/ResetRunningCount"): MODEL + "Asset",
    ("POST", "/api/Asset/Calibration"): MODEL + "Asset",
    ("POST", "/api/Asset/Maintenance"): MODEL + "Asset",
    ("PUT", "/api/Asset/Types"): MODEL + "OData.AssetType",
    ("POST", "/api/Asset/Message"): MODEL + "OData.AssetLog",
    ("GET", "/api/Asset/SubAssets"): {"type": "array",
                                      "items": {"$ref": "#/definitions/" + MODEL + "OData.Asset"}},
}

class TestSimWatsContract(unittest.TestCase):
    def test_every_response_matches_the_swagger_export(self):
        if not os.path.exists(SPEC):
            self.skipTest("skipped: the WATS Swagger export (../shared/specs/wats/"
                          "openapi_public.json) is not present")
        with open(SPEC) as f:
            spec = json.load(f)
        v = Validator(spec)
        # unit check of the validator itself: it must be able to fail
        asset = MODEL + "OData.Asset"
        self.assertEqual(v.errors({"assetId": "1", "state": 1}, asset), [])
        self.assertTrue(v.errors({"assetId": 1}, asset))
        self.assertTrue(v.errors({"state": 9}, asset))
        self.assertTrue(v.errors({"typeId": "nope"}, asset))
        self.assertTrue(v.errors({"firstSeenDate": "yesterday"}, asset))
        self.assertTrue(v.errors({"bogus": 1}, asset))
        self.assertTrue(v.errors({"typeName": None}, MODEL + "AssetType"))  # required

        recorded = []
        test_sim_wats.RECORDER = recorded
        try:
            suite = unittest.defaultTestLoader.loadTestsFromTestCase(test_sim_wats.TestSimWats)
            with open(os.devnull, "w") as devnull:
                result = unittest.TextTestRunner(stream=devnull).run(suite)
        finally:
            test_sim_wats.RECORDER = None
        self.assertTrue(result.wasSuccessful(),
                        "test_sim_wats failed under the recorder: %s"
                        % [str(t) for t, _ in result.failures + result.errors])
        checked, undocumented, problems = {}, set(), []
        for method, path, status, body in recorded:
            if status != 200 or path.startswith(("/_sim/", "/_test/")):
                continue
            template = match_operation(spec, method, path)
            if template is None:
                undocumented.add((method, path.split("?")[0]))
                continue
            op = spec["paths"][template][method.lower()]
            schema = op["responses"]["200"].get("schema", {})
            model = OPERATION_MODELS.get((method, template))
            for s in ([schema] + ([model] if model else [])):
                for e in v.errors(body, s):
                    problems.append("%s %s -> %s" % (method, path, e))
            checked[(method, template)] = checked.get((method, template), 0) + 1
        self.assertEqual(problems[:20], [], "%d schema violations" % len(problems))
        # every documented operation the simulator serves was exercised
        expected = {("GET", "/api/App/Version"), ("GET", "/api/Asset"), ("PUT", "/api/Asset"),
                    ("DELETE", "/api/Asset"), ("GET", "/api/Asset/Status"),
                    ("PUT", "/api/Asset/State"), ("PUT", "/api/Asset/Count"),
                    ("POST", "/api/Asset/ResetRunningCount"), ("POST", "/api/Asset/Calibration"),
                    ("POST", "/api/Asset/Maintenance"), ("GET", "/api/Asset/Log"),
                    ("POST", "/api/Asset/Message"), ("GET", "/api/Asset/SubAssets"),
                    ("GET", "/api/Asset/Types"), ("PUT", "/api/Asset/Types"),
                    ("GET", "/api/Asset/{assetId}"), ("POST", "/api/Report/WSJF"),
                    ("GET", "/api/Report/Query/Header")}
        self.assertEqual(expected - set(checked), set())
        # only the 25.3 routes (not in this export) may be undocumented
        self.assertEqual({p for _, p in undocumented} - {
            "/api/Asset/SetRunningCount", "/api/Asset/SetTotalCount",
            "/api/Asset/Calibration/External", "/api/Asset/Maintenance/External"}, set())
        print("\ncontract: %d responses of %d operations validated; not in the export: %s"
              % (sum(checked.values()), len(checked), sorted(undocumented)), file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
