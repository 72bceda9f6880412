# SPDX-License-Identifier: Apache-2.0
#
# test_check_config.py: drives `assetbridge check-config` as an operator
# would: every planted mistake is reported with its line and column, the
# exit codes are 0 (valid) and 2 (invalid, missing file, bad usage), a YAML
# syntax error is located, and --print never shows a secret value.
# Needs ASSETBRIDGE_BIN (set by CTest); AB_SOURCE_DIR locates examples/.
import os
import re
import subprocess
import tempfile
import unittest

BIN = os.environ["ASSETBRIDGE_BIN"]
SRC = os.environ.get("AB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def run(*args, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([BIN, "check-config", *args], capture_output=True, text=True,
                          env=full_env, timeout=60)


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_three_unknown_keys_reported_together(self):
        path = self.write("bad.yaml",
                          "server:\n"
                          "  listn: 127.0.0.1:8440\n"
                          "store:\n"
                          "  data_dri: ./data\n"
                          "tenants:\n"
                          "  default:\n"
                          "    providers:\n"
                          "      sap:\n"
                          "        type: sap_pm\n"
                          "        auth:\n"
                          "          schme: basic\n")
        r = run(path)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertIn(f"{path}:2:3: error: unknown key 'server.listn'", lines)
        self.assertIn(f"{path}:4:3: error: unknown key 'store.data_dri'", lines)
        self.assertIn(f"{path}:11:11: error: unknown key "
                      "'tenants.default.providers.sap.auth.schme'", lines)
        self.assertIn("  hint: did you mean 'listen'?", lines)
        self.assertIn("  hint: did you mean 'data_dir'?", lines)
        self.assertIn("  hint: did you mean 'scheme'?", lines)
        self.assertEqual(lines[-1], f"{path}: 3 errors")
        # reported in file order
        positions = [int(m.group(1)) for m in
                     (re.match(re.escape(path) + r":(\d+):\d+: error", l) for l in lines) if m]
        self.assertEqual(positions, [2, 4, 11])

    def test_valid_files_exit_0(self):
        r = run(os.path.join(SRC, "examples", "minimal.yaml"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"minimal\.yaml: ok \(1 tenant, 0 providers\)")
        r = run("--config", os.path.join(SRC, "examples", "assetbridge.yaml"),
                env={"WATS_TOKEN": "t0ken-value", "SAP_PASSWORD": "pa55word-value"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"assetbridge\.yaml: ok \(1 tenant, 2 providers\)")

    def test_example_without_environment_names_variables(self):
        env = dict(os.environ)
        env.pop("WATS_TOKEN", None)
        env.pop("SAP_PASSWORD", None)
        r = subprocess.run([BIN, "check-config", os.path.join(SRC, "examples", "assetbridge.yaml")],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("environment variable WATS_TOKEN is not set", r.stderr)
        self.assertIn("environment variable SAP_PASSWORD is not set", r.stderr)

    def test_missing_file_one_line(self):
        path = os.path.join(self.tmp.name, "nope.yaml")
        r = run(path)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(path, lines[0])
        self.assertIn("No such file or directory", lines[0])

    def test_syntax_error_located(self):
        path = self.write("syntax.yaml", "server:\n  listen: [127.0.0.1:8440\nstore: {}\n")
        r = run(path)
        self.assertEqual(r.returncode, 2)
        m = re.search(re.escape(path) + r":(\d+):(\d+): error: YAML syntax error: (.+)", r.stderr)
        self.assertIsNotNone(m, r.stderr)
        self.assertGreaterEqual(int(m.group(1)), 2)
        self.assertTrue(r.stderr.rstrip().endswith(f"{path}: 1 error"))

    def test_print_never_shows_secrets(self):
        secret_file = self.write("client_secret", "file-secret-value-42\n")
        path = self.write("secrets.yaml",
                          "tenants:\n"
                          "  default:\n"
                          "    providers:\n"
                          "      wats:\n"
                          "        type: wats\n"
                          "        auth:\n"
                          "          scheme: token\n"
                          "          token: ${env:AB_IT_TOKEN}\n"
                          "      sap:\n"
                          "        type: sap_pm\n"
                          "        auth:\n"
                          "          scheme: basic\n"
                          "          user: ab\n"
                          "          password: literal-password-value\n"
                          "      sn:\n"
                          "        type: servicenow\n"
                          "        auth:\n"
                          "          scheme: oauth2_client_credentials\n"
                          "          client_id: ab\n"
                          f"          client_secret: \"${{file:{secret_file}}}\"\n"
                          "          token_url: https://sn.example.com/oauth_token.do\n")
        r = run(path, "--print", env={"AB_IT_TOKEN": "env-token-value-42"})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout + r.stderr
        for secret in ("env-token-value-42", "literal-password-value", "file-secret-value-42"):
            self.assertNotIn(secret, out)
        self.assertIn('token: "${env:AB_IT_TOKEN}"', r.stdout)
        self.assertIn('password: "[redacted]"', r.stdout)
        self.assertIn(f'client_secret: "${{file:{secret_file}}}"', r.stdout)
        self.assertIn("max_body: 1MiB", r.stdout)  # defaults are filled in

    def test_printed_configuration_loads_again(self):
        path = self.write("tuned.yaml",
                          "sync:\n"
                          "  lease: 1m\n"
                          "  batch: 50\n"
                          "  retry: {base: 2s, max_attempts: 5}\n"
                          "tenants:\n"
                          "  default:\n"
                          "    providers:\n"
                          "      g:\n"
                          "        type: generic\n"
                          "        base_url: http://127.0.0.1:9\n"
                          "        concurrency: 2\n"
                          "        timeouts: {connect: 3s}\n"
                          "      w: {type: wats, base_url: 'http://127.0.0.1:9', wats: {page_size: 500}}\n")
        first = run(path, "--print")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn("ok (1 tenant, 2 providers)", first.stderr)  # stdout is the file alone
        self.assertIn("  batch: 50\n", first.stdout)
        self.assertIn("        concurrency: 2\n", first.stdout)
        self.assertIn("          request: 1m\n", first.stdout)  # the default filled in
        again = self.write("printed.yaml", first.stdout)
        second = run(again, "--print")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertEqual(second.stdout, first.stdout)

    def test_unreadable_secret_file_does_not_leak(self):
        path = self.write("missing_secret.yaml",
                          "tenants:\n  default:\n    providers:\n      sap:\n"
                          "        type: sap_pm\n"
                          "        auth: {scheme: basic, user: u,"
                          " password: \"${file:/nonexistent/pw}\"}\n")
        r = run(path)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"{path}:6:", r.stderr)
        self.assertIn("cannot read file '/nonexistent/pw': No such file or directory", r.stderr)

    def test_usage_errors(self):
        r = run("--bogus")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.splitlines()), 1)
        r = run()
        self.assertEqual(r.returncode, 2)
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: assetbridge check-config", r.stdout)


if __name__ == "__main__":
    unittest.main()
