# SPDX-License-Identifier: Apache-2.0
"""Contract test of `assetbridge sim sap_pm`: runs every test of
test_sim_sap.py with its response recorder on, then validates each JSON
answer of a documented operation (2xx, and the 4XX error body) against the
SAP OpenAPI 3.0 files of the eight services (shared/specs/sap/OP_API_*.json,
found at ../shared relative to the repository; the test skips, saying so,
when they are absent: the files are never copied into the repository).

Readings of the files (docs/sim/sap_pm.md):
- nullability is explicit (OpenAPI 3.0): null only where nullable is true;
- V2 entries carry the Gateway's __metadata and V2 collections may carry
  __next (server paging, [inferred] in the contract sheet, switchable); V4
  collections may carry @odata.nextLink (behind a switch) and the service
  document @odata.context: the files leave these protocol annotations out,
  so they are the only undeclared names accepted;
- V4 error bodies carry message as a string by default (contract sheet §12,
  v4-error-message=string): those are checked for code and message only.
Validator and path matching are shared with the WATS contract test
(contract.py)."""
import glob
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import test_sim_sap  # noqa: E402
from contract import Validator, match_operation  # noqa: E402

REPO = os.environ.get("AB_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
SPECS = os.path.join(REPO, "..", "shared", "specs", "sap")
IGNORE = ("__metadata", "__next", "@odata.nextLink", "@odata.context")


def load_specs():
    """[(base path, spec)] for every OP_API_*.json, longest base first."""
    out = []
    for f in glob.glob(os.path.join(SPECS, "OP_API_*.json")):
        with open(f) as fh:
            spec = json.load(fh)
        url = spec["servers"][0]["url"]
        out.append((urllib.parse.urlparse(url.replace("{host}:{port}", "h")).path, spec))
    return sorted(out, key=lambda x: -len(x[0]))


def response_schema(op, status):
    r = op["responses"].get(str(status)) or (op["responses"].get("4XX") if 400 <= status < 500
                                             else None)
    if r is None:
        return None
    if "$ref" in r:
        return r  # resolved by the caller
    return r.get("content", {}).get("application/json", {}).get("schema")


class TestSimSapContract(unittest.TestCase):
    def test_every_response_matches_the_openapi_files(self):
        if not os.path.isdir(SPECS) or not glob.glob(os.path.join(SPECS, "OP_API_*.json")):
            self.skipTest("skipped: the SAP OpenAPI files (../shared/specs/sap/OP_API_*.json) "
                          "are not present")
        specs = load_specs()
        self.assertEqual(len(specs), 8)
        eq_spec = [s for b, s in specs if b.endswith("/API_EQUIPMENT")][0]
        v = Validator(eq_spec, lenient_nulls=False, ignore=IGNORE)
        # the validator must be able to fail
        eq = "cds_api_equipment.EquipmentType"
        self.assertEqual(v.errors({"Equipment": "1", "EquipmentName": None}, eq), [])
        self.assertTrue(v.errors({"Equipment": None}, eq))  # not nullable
        self.assertTrue(v.errors({"Equipment": "1" * 19}, eq))  # maxLength
        self.assertTrue(v.errors({"EquipmentIsInactive": "no"}, eq))
        self.assertTrue(v.errors({"MaintenanceOrderSystemStatus": "REL"}, eq))
        self.assertTrue(v.errors({"GrossWeight": "heavy"}, eq))  # decimal string

        recorded = []
        test_sim_sap.RECORDER = recorded
        try:
            suite = unittest.defaultTestLoader.loadTestsFromTestCase(test_sim_sap.TestSimSap)
            with open(os.devnull, "w") as devnull:
                result = unittest.TextTestRunner(stream=devnull).run(suite)
        finally:
            test_sim_sap.RECORDER = None
        self.assertTrue(result.wasSuccessful(),
                        "test_sim_sap failed under the recorder: %s"
                        % [str(t) for t, _ in result.failures + result.errors])
        checked, undocumented, problems = {}, set(), []
        for method, full, status, body in recorded:
            if full.startswith(("/_sim/", "/_test/")) or status >= 500:
                continue
            path = urllib.parse.unquote(full.split("?", 1)[0])
            base, spec = next(((b, s) for b, s in specs if path.startswith(b)), (None, None))
            if spec is None:
                if status < 400:
                    undocumented.add((method, path))
                continue
            sub = path[len(base):] or "/"
            if sub.startswith("/") is False:
                sub = "/" + sub.split("/", 1)[-1]  # ;v=0001 suffix
            template = match_operation(spec, method, sub, allow_empty=True)
            if template is None and status < 400:
                undocumented.add((method, sub))
                continue
            v = Validator(spec, lenient_nulls=False, ignore=IGNORE)
            if status >= 400:
                schema = {"$ref": "#/components/schemas/error"}
                err = body.get("error", {}) if isinstance(body, dict) else {}
                if "/odata4/" in base and isinstance(err.get("message"), str):
                    if not isinstance(err.get("code"), str) or not err["message"]:
                        problems.append("%s %s -> V4 error without code/message" % (method, full))
                    continue
            else:
                op = spec["paths"][template][method.lower()]
                schema = response_schema(op, status)
                if schema is None:
                    problems.append("%s %s -> status %d is not documented" % (method, full, status))
                    continue
                checked[(base.rsplit("/", 1)[-1] if "/odata/" in base else base.split("/")[5],
                         method, template)] = 1
            for e in v.errors(body, schema):
                problems.append("%s %s (%d) -> %s" % (method, full, status, e))
        self.assertEqual(problems[:20], [], "%d schema violations" % len(problems))
        expected = {
            ("API_EQUIPMENT", "GET", "/Equipment"), ("API_EQUIPMENT", "POST", "/Equipment"),
            ("API_EQUIPMENT", "GET",
             "/Equipment(Equipment='{Equipment}',ValidityEndDate=datetime'{ValidityEndDate}')"),
            ("API_MAINTNOTIFICATION", "GET", "/MaintenanceNotification"),
            ("API_MAINTNOTIFICATION", "POST", "/MaintenanceNotification"),
            ("API_MAINTNOTIFICATION", "GET",
             "/MaintenanceNotification('{MaintenanceNotification}')"),
            ("API_MAINTNOTIFICATION", "POST", "/SetMaintNotifToInProcess"),
            ("API_MAINTNOTIFICATION", "POST", "/CompleteMaintNotification"),
            ("API_MAINTENANCEORDER", "GET", "/MaintenanceOrder"),
            ("API_MAINTENANCEORDER", "GET", "/MaintenanceOrder('{MaintenanceOrder}')"),
            ("API_MAINTENANCEORDER", "GET",
             "/MaintenanceOrder('{MaintenanceOrder}')/to_MaintenanceOrderOperation"),
            ("API_MAINTENANCEPLAN", "GET", "/MaintenancePlan"),
            ("API_MAINTENANCEPLAN", "GET", "/MaintenancePlan('{MaintenancePlan}')/to_Schedules"),
            ("API_MAINTENANCEPLAN", "GET",
             "/MaintenancePlan('{MaintenancePlan}')/to_MaintenanceCycle"),
            ("API_MAINTENANCEPLAN", "GET", "/MaintenancePlanCycle"),
            ("API_MAINTENANCEPLAN", "GET", "/MaintenanceItem"),
            ("API_MAINTENANCEITEM", "GET", "/MaintenanceItem"),
            ("API_MAINTORDERCONFIRMATION", "POST", "/MaintOrderConfirmation"),
            ("api_measuringpoint", "GET", "/MeasuringPoint"),
            ("api_measuringpoint", "GET", "/MeasuringPoint('{MeasuringPoint}')"),
            ("api_measurementdocument", "GET", "/MeasurementDocument"),
            ("api_measurementdocument", "POST", "/MeasurementDocument"),
            ("api_measurementdocument", "GET", "/MeasurementDocument('{MeasurementDocument}')"),
        }
        self.assertEqual(expected - set(checked), set())
        # only service documents (GET <service>/) are outside the files
        self.assertEqual({p for _, p in undocumented if p != "/"}, set(),
                         sorted(undocumented))
        print("\ncontract: %d responses, %d operations validated"
              % (len(recorded), len(checked)), file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
