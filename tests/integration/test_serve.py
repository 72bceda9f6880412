#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`assetbridge serve` and the CLI surface: listening, /healthz, errors,
correlation ids, the fake clock, body limits, clean shutdown, and the
one-line failures for bad input (exit codes 1 and 2)."""
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, SOURCE_DIR, Service, run, write_file  # noqa: E402


class ServeTest(unittest.TestCase):
    def test_healthz_and_correlation_id(self):
        with Service() as s:
            status, h, body = s.request("GET", "/healthz")
            self.assertEqual(status, 200)
            self.assertEqual(body["status"], "ok")
            self.assertFalse(body["fake_clock"])
            self.assertEqual(len(h["x-correlation-id"]), 26)  # a ULID
            status, h, _ = s.request("GET", "/healthz", headers={"X-Correlation-Id": "line7-run42"})
            self.assertEqual(h["x-correlation-id"], "line7-run42")
            # an unsafe correlation id is replaced, not echoed
            status, h, _ = s.request("GET", "/healthz", headers={"X-Correlation-Id": "a b<script>"})
            self.assertEqual(len(h["x-correlation-id"]), 26)
            self.assertEqual(s.stop(), 0)

    def test_unknown_route_and_method(self):
        with Service() as s:
            status, h, body = s.request("GET", "/nope")
            self.assertEqual(status, 404)
            self.assertEqual(body["error"]["class"], "not_found")
            self.assertEqual(body["error"]["correlation_id"], h["x-correlation-id"])
            status, h, body = s.request("DELETE", "/healthz")
            self.assertEqual(status, 405)
            self.assertIn("GET", h["allow"])

    def test_test_clock_absent_without_fake_clock(self):
        with Service() as s:
            status, _, _ = s.request("GET", "/_test/clock")
            self.assertEqual(status, 404)
            status, _, _ = s.request("POST", "/_test/clock", body={"advance": "P1D"})
            self.assertEqual(status, 404)

    def test_fake_clock_moves(self):
        with Service("--fake-clock", "2026-01-01T00:00:00Z") as s:
            status, _, body = s.request("GET", "/_test/clock")
            self.assertEqual(status, 200)
            self.assertTrue(body["now"].startswith("2026-01-01T00:00"), body)
            status, _, body = s.request("POST", "/_test/clock", body={"advance": "P30D"})
            self.assertEqual(status, 200, body)
            self.assertTrue(body["now"].startswith("2026-01-31T00:0"), body)
            self.assertEqual(body["advanced_ms"], 30 * 86400000)
            status, _, health = s.request("GET", "/healthz")
            self.assertTrue(health["fake_clock"])
            self.assertTrue(health["time"].startswith("2026-01-31"))
            # bad input: malformed JSON, wrong type, bad duration, unknown field
            status, _, body = s.request("POST", "/_test/clock", body="{nope",
                                        headers={"Content-Type": "application/json"})
            self.assertEqual(status, 400)
            self.assertEqual(body["error"]["class"], "validation")
            status, _, body = s.request("POST", "/_test/clock", body={"advance": 5})
            self.assertEqual((status, body["error"]["field"]), (400, "advance"))
            status, _, body = s.request("POST", "/_test/clock", body={"advance": "P1Y"})
            self.assertEqual((status, body["error"]["field"]), (422, "advance"))
            status, _, body = s.request("POST", "/_test/clock", body={"advance": "P1D", "x": 1})
            self.assertEqual((status, body["error"]["field"]), (422, "x"))
            # the clock did not move on rejected requests
            _, _, body = s.request("GET", "/_test/clock")
            self.assertTrue(body["now"].startswith("2026-01-31T00:0"), body)
        logs = s.log_lines()
        self.assertTrue(any(l["level"] == "warn" and "FAKE CLOCK" in l["msg"] for l in logs), logs)

    def test_body_limit(self):
        with Service("--fake-clock", "2026-01-01T00:00:00Z") as s:
            status, _, body = s.request("POST", "/_test/clock", body="x" * 5000,
                                        headers={"Content-Type": "application/json"})
            self.assertEqual(status, 413)
            self.assertEqual(body["error"]["class"], "too_large")

    def test_in_flight_request_finishes_on_sigterm(self):
        with Service("--fake-clock", "2026-01-01T00:00:00Z") as s:
            body = b'{"advance":"PT1H"}'
            sock = socket.create_connection((s.host, s.port), timeout=10)
            sock.sendall(b"POST /_test/clock HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body[:5])
            time.sleep(0.3)
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertIsNone(s.proc.poll(), "service exited with a request in flight")
            # new connections are refused while draining
            with self.assertRaises(OSError):
                socket.create_connection((s.host, s.port), timeout=2).recv(1)
            sock.sendall(body[5:])
            reply = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
            sock.close()
            self.assertTrue(reply.startswith(b"HTTP/1.1 200"), reply)
            self.assertEqual(s.proc.wait(timeout=15), 0)
        logs = s.log_lines()
        self.assertTrue(any(l["msg"] == "stopped" for l in logs))

    def test_sigint_is_clean(self):
        s = Service().start()
        try:
            self.assertEqual(s.stop(signal.SIGINT), 0)
        finally:
            shutil.rmtree(s.tmp, ignore_errors=True)

    def test_two_instances_side_by_side(self):
        with Service() as a, Service() as b:
            self.assertNotEqual(a.port, b.port)
            self.assertEqual(a.request("GET", "/healthz")[0], 200)
            self.assertEqual(b.request("GET", "/healthz")[0], 200)
            self.assertTrue(os.path.isdir(a.data_dir) and os.path.isdir(b.data_dir))


class BadInputTest(unittest.TestCase):
    def one_line_error(self, proc, code, needle):
        self.assertEqual(proc.returncode, code, proc.stderr)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn(needle, lines[0])
        self.assertEqual(proc.stdout, "")

    def test_port_in_use(self):
        with Service() as s:
            tmp = tempfile.mkdtemp()
            try:
                p = run("serve", "--listen", s.addr, "--data-dir", tmp, timeout=10)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            self.one_line_error(p, 1, "Address already in use")
            self.assertEqual(s.request("GET", "/healthz")[0], 200)  # the first one is unharmed

    def test_bad_listen(self):
        p = run("serve", "--listen", "nonsense", "--data-dir", tempfile.gettempdir())
        self.one_line_error(p, 2, "invalid listen address")
        p = run("serve", "--listen", "127.0.0.1:99999", "--data-dir", tempfile.gettempdir())
        self.one_line_error(p, 2, "invalid listen address")

    def test_missing_config(self):
        p = run("serve", "--config", "/nonexistent/assetbridge.yaml")
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent/assetbridge.yaml", p.stderr)
        self.assertEqual(len([l for l in p.stderr.splitlines() if l.strip()]), 1, p.stderr)

    def test_malformed_config(self):
        tmp = tempfile.mkdtemp()
        try:
            path = write_file(tmp, "bad.yaml", "server:\n  listen: [unclosed\n")
            p = run("serve", "--config", path)
            self.assertEqual(p.returncode, 2)
            self.assertIn("bad.yaml:", p.stderr)
            self.assertEqual(p.stdout, "")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_unreadable_secret_file(self):
        tmp = tempfile.mkdtemp()
        try:
            path = write_file(tmp, "c.yaml",
                              "tenants:\n  default:\n    providers:\n      wats:\n        type: wats\n"
                              "        base_url: https://wats.example.com\n"
                              "        auth:\n          scheme: token\n"
                              "          token: ${file:%s/missing-token}\n" % tmp)
            p = run("serve", "--config", path, "--listen", "127.0.0.1:0", "--data-dir", tmp)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("missing-token", p.stderr)
            self.assertEqual(p.stdout, "")  # nothing started
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_bad_fake_clock(self):
        p = run("serve", "--fake-clock", "yesterday")
        self.one_line_error(p, 2, "--fake-clock")

    def test_unusable_data_dir(self):
        tmp = tempfile.mkdtemp()
        try:
            blocker = write_file(tmp, "file", "x")
            p = run("serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(blocker, "sub"))
            self.one_line_error(p, 1, "cannot create data directory")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_unknown_option_and_command(self):
        p = run("serve", "--bogus")
        self.one_line_error(p, 2, "--bogus")
        p = run("frobnicate")
        self.one_line_error(p, 2, "unknown command")

    def test_help_and_version(self):
        p = run("help")
        self.assertEqual(p.returncode, 0)
        for word in ("serve", "check-config", "version", "exit codes", "2  usage"):
            self.assertIn(word, p.stdout)
        for cmd in ("serve", "check-config", "version", "help"):
            p = run(cmd, "--help")
            self.assertEqual(p.returncode, 0, cmd)
            self.assertIn("usage: assetbridge", p.stdout + p.stderr)
        p = run("version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^assetbridge \d+\.\d+\.\d+")
        p = run()
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
