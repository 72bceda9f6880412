#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Security suite, real processes only: one service (log level debug, so that
every log line that can be written is) with providers against
`assetbridge sim generic|wats|sap_pm`, a provider of our own that echoes its
credentials back in its error answers, two TLS providers against a local TLS
server, and webhook subscriptions to a receiver in this test. setUpClass
drives the service through successes and every kind of failure (validation,
authentication, an expired token, an echoing provider, refused webhook
deliveries), keeping every API answer; the tests then prove:

- API keys are never logged or echoed: not in the service's log, not in any
  API answer (also for a wrong or malformed key, or a key sent in the query
  string), not in the audit trail or `apikey list`;
- configuration secrets (a bearer token, a WATS token, SAP's Basic password,
  their base64 forms, a wrong token that the provider refuses, an OAuth2
  client secret, the webhook secrets) are never in the log, an API answer
  (errors, dead letters, sync logs, provider health), `check-config --print`,
  `dead-letters list`, or the simulators' /_sim/requests, even when a
  provider echoes them (the engine scrubs registered secrets from a
  provider's texts before it stores them);
- oversize bodies get 413 (JSON, batch, chunked) without the body being
  buffered (RSS grows less than 8 MiB for a 32 MiB body), and the service
  keeps serving;
- slow clients: stalled requests are dropped after limits.header_timeout
  while others are served; a client trickling its headers is dropped too
  (the server's header watchdog: a deadline, not an inactivity timeout);
- header floods (thousands of headers, one huge header, many at once) get
  431/400 or a closed connection, never a crash, and others are served;
- webhook signatures verify as README.md tells receivers (HMAC-SHA256 of
  timestamp + "." + raw body with the subscription's secret), differ per
  secret, break on a changed body, and a receiver's 401 is a dead letter;
- TLS peer verification is on by default (a self-signed provider fails its
  health check at the TLS step, and no request reaches it), a ca_file
  trusts it, and only an explicit `tls.verify: false` turns verification
  off, with a start-up warning naming the provider.

Cross-tenant access is proven per documented operation by
tests/integration/test_tenant_isolation.py (not repeated here).

Known product issues (KNOWN_ISSUES) are checked and reported without failing
the suite; one that no longer fails is reported as fixed."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crash"))
import rig  # noqa: E402

HEADER_TIMEOUT_S = 1
# check name -> what is wrong (reported, not failed, while it fails)
KNOWN_ISSUES = {}  # none open: every check below fails the suite


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---- a provider that echoes its credentials ----------------------------------------------


class EchoProvider:
    """A generic-API provider that answers every write with 422 and an error
    message quoting the request's Authorization header and body, as a
    careless provider might."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, status, obj):
                out = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self):  # noqa: N802 - http.server's name
                with owner.lock:
                    owner.seen.append(("GET", self.path, self.headers.get("Authorization")))
                tag = "ECHO-1"
                if "tag=" in self.path:
                    tag = self.path.split("tag=", 1)[1].split("&", 1)[0]
                item = {"id": "E-1", "tag": tag, "name": "echo", "type": "multimeter",
                        "status": "active", "created_at": "2026-01-01T00:00:00Z",
                        "updated_at": "2026-01-01T00:00:00Z", "version": 1}
                self._answer(200, {"items": [item], "next_cursor": None,
                                   "watermark": "2026-01-01T00:00:00Z"})

            def _refuse(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode("utf-8", "replace")
                auth = self.headers.get("Authorization", "")
                with owner.lock:
                    owner.seen.append((self.command, self.path, auth))
                self._answer(422, {"error": "validation_failed", "field": "title",
                                   "message": "refused for %s: %s" % (auth, body[:200]),
                                   "token": auth.split(" ", 1)[-1]})

            do_POST = do_PATCH = do_PUT = _refuse  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.addr = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- a TLS server with a self-signed certificate -----------------------------------------


def make_cert(tmp):
    """A self-signed certificate for 127.0.0.1 (None when openssl is missing)."""
    if not shutil.which("openssl"):
        return None
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True)
    return (cert, key) if p.returncode == 0 else None


class TlsServer:
    """HTTPS on 127.0.0.1 answering 200 {} to anything; counts the requests
    that got through the handshake."""

    def __init__(self, cert, key):
        self.requests = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                owner.requests.append(self.path)
                out = b'{"items":[],"next_cursor":null}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # handshakes refused by a verifying client

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- a webhook receiver that checks signatures as README.md says -------------------------------


def readme_verify(secret, headers, body):
    """README.md's receiver check, verbatim in substance."""
    try:
        timestamp = int(headers["x-assetbridge-timestamp"])
        signature = headers["x-assetbridge-signature"]
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > 300:
        return False
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + mac.hexdigest(), signature)


class Receiver:
    """/good checks with the subscription's secret; /forged with another
    secret (as a receiver would see a forged delivery): 401."""

    def __init__(self):
        self.secrets = {}
        self.got = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                h = {k.lower(): v for k, v in self.headers.items()}
                ok = readme_verify(owner.secrets.get(self.path, ""), h, body)
                owner.got.append((self.path, h, body, ok))
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- the suite ---------------------------------------------------------------------------------


CONFIG = """
server:
  limits:
    header_timeout: %(ht)ds
    max_body: 16KiB
    max_batch_body: 64KiB
log:
  level: debug
sync:
  retry: {base: 100ms, cap: 1s}
  breaker: {cooldown: 1s}
webhooks:
  timeout: 5s
  max_attempts: 2
tenants:
  default:
    providers:
      generic:
        type: generic
        base_url: http://%(generic)s
        auth: {scheme: bearer, token: "%(gen)s"}
        mode: write_back
        entities:
          asset: {interval: 1s}
      generic_bad:
        type: generic
        base_url: http://%(generic)s
        auth: {scheme: bearer, token: "%(bad)s"}
        mode: write_back
        entities:
          asset: {interval: 1s}
      echo:
        type: generic
        base_url: http://%(echo)s
        auth: {scheme: bearer, token: "%(echo_token)s"}
        mode: write_back
      wats:
        type: wats
        base_url: http://%(wats)s
        auth: {scheme: token, token: "%(wats_token)s"}
        mode: write_back
        entities:
          asset: {interval: 1s}
        usage:
          flush_window: 200ms
          meters:
            cycles: {target: count}
      sap_pm:
        type: sap_pm
        base_url: http://%(sap)s
        auth: {scheme: basic, user: SIMUSER, password: "%(sap_password)s"}
        mode: write_back
        timeouts: {request: 3s}
        entities:
          asset: {interval: 1s}
        sap_pm:
          sap_client: "100"
      cmms:
        type: maximo
        base_url: http://127.0.0.1:9
        auth: {scheme: oauth2_client_credentials, client_id: assetbridge, client_secret: "%(oauth)s",
               token_url: "http://127.0.0.1:9/token"}
%(tls)s
    sites:
      plant-1010:
        value_maps:
          plant: {"1010": plant-1010}
          object_type: {MACH: station, TEST: station}
"""

TLS_PROVIDERS = """
      tls_default:
        type: generic
        base_url: https://127.0.0.1:%(port)d
        auth: {scheme: bearer, token: tls-token}
      tls_ca:
        type: generic
        base_url: https://127.0.0.1:%(port)d
        auth: {scheme: bearer, token: tls-token}
        tls: {ca_file: "%(cert)s"}
      tls_off:
        type: generic
        base_url: https://127.0.0.1:%(port)d
        auth: {scheme: bearer, token: tls-token}
        tls: {verify: false}
"""


class SecuritySuite(unittest.TestCase):
    responses = []

    @classmethod
    def setUpClass(cls):
        why = rig.sim_available("sap_pm") or rig.sim_available("wats")
        if why:
            raise unittest.SkipTest(why)
        cls.tmp = rig.tmpdir("ab-security-")
        cls.secret = {
            "generic token": "gen-" + secrets.token_hex(16),
            "wrong token": "bad-" + secrets.token_hex(16),
            "echo token": "echo-" + secrets.token_hex(16),
            "WATS token": base64.b64encode(("wats:" + secrets.token_hex(12)).encode()).decode(),
            "SAP password": "sap-" + secrets.token_hex(12),
            "OAuth2 client secret": "oauth-" + secrets.token_hex(16),
        }
        cls.secret["SAP Basic credentials"] = base64.b64encode(
            ("SIMUSER:" + cls.secret["SAP password"]).encode()).decode()
        cls.closers = []
        try:
            cls._start()
            cls._drive()
        except BaseException:
            cls._close()
            raise

    @classmethod
    def _start(cls):
        s = cls.secret
        cls.gsim = rig.GenericSim(cls.tmp, assets=5, token=s["generic token"])
        cls.closers.append(cls.gsim.close)
        cls.wsim = rig.WatsSim(cls.tmp, assets=2, token=s["WATS token"])
        cls.closers.append(cls.wsim.close)
        cls.wsim.seed_asset("AB-SEC-U1", "Security fixture", total=0)
        cls.ssim = rig.SapSim(cls.tmp, assets=5, password=s["SAP password"])
        cls.closers.append(cls.ssim.close)
        cls.echo = EchoProvider()
        cls.closers.append(cls.echo.close)
        cls.rx = Receiver()
        cls.closers.append(cls.rx.close)
        cls.cert = make_cert(cls.tmp)
        tls = ""
        if cls.cert:
            cls.tls = TlsServer(*cls.cert)
            cls.closers.append(cls.tls.close)
            tls = TLS_PROVIDERS % {"port": cls.tls.port, "cert": cls.cert[0]}
        cls.config_text = CONFIG % {
            "ht": HEADER_TIMEOUT_S, "generic": cls.gsim.addr, "gen": s["generic token"],
            "bad": s["wrong token"], "echo": cls.echo.addr, "echo_token": s["echo token"],
            "wats": cls.wsim.addr, "wats_token": s["WATS token"], "sap": cls.ssim.addr,
            "sap_password": s["SAP password"], "oauth": s["OAuth2 client secret"], "tls": tls}
        cls.hub = rig.Hub(cls.tmp, cls.config_text, name="security")
        cls.hub.start()
        cls.closers.append(cls.hub.stop)

    @classmethod
    def _close(cls):
        for c in reversed(cls.closers):
            try:
                c()
            except Exception:  # best effort at teardown
                pass
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls._close()

    # -- recording every answer ---------------------------------------------------------

    @classmethod
    def call(cls, method, path, body=None, headers=None, key=True):
        st, h, b = cls.hub.request(method, path, body=body, headers=headers, key=key)
        # the answer only (status, headers, body): the request line is ours
        cls.responses.append(("%s %s" % (method, path.split("?", 1)[0]), "%d %s %s" % (
            st, json.dumps(h), b if isinstance(b, str) else json.dumps(b))))
        return st, h, b

    @classmethod
    def ok(cls, method, path, body=None, expect=(200,)):
        st, _, b = cls.call(method, path, body)
        if st not in expect:
            raise AssertionError("%s %s: %s %r" % (method, path, st, b))
        return b

    @classmethod
    def wait_dead(cls, provider, n=1, limit=60):
        return rig.wait_for("%d dead letters of %s" % (n, provider), lambda: len(
            [d for d in cls.ok("GET", "/v1/dead-letters?limit=200")["items"]
             if d["provider"] == provider]) >= n, limit=limit,
            on_timeout=lambda: cls.hub.stderr()[-3000:])

    @classmethod
    def _drive(cls):
        hub = cls.hub
        rig.wait_for("the pulls", lambda: all((hub.sync_state(p, "asset") or {}).get("pulled", 0) >= 1
                                              for p in ("generic", "wats", "sap_pm")), limit=60)
        rig.wait_for("the WATS asset linked", lambda: bool(cls.ok("GET", "/v1/assets/AB-SEC-U1")
                                                           .get("links")), limit=60)
        gref = cls.ok("GET", "/v1/assets?provider=generic")["items"][0]["asset_ref"]
        # generic: refused for good (422) -> dead letter
        cls.gsim.fault(match={"method": "POST", "path": rig.GENERIC_WO}, action="status", status=422,
                       count=1)
        cls.ok("POST", "/v1/work-orders", {"asset_ref": gref, "type": "corrective", "provider_id": "generic",
                                           "provider": "generic", "common_status": "open",
                                           "notes": "security probe"},
               expect=(201,))
        # a provider whose token is wrong: 401 on pulls and pushes
        cls.ok("POST", "/v1/work-orders", {"asset_ref": gref, "type": "corrective",
                                           "provider_id": "generic", "provider": "generic_bad", "common_status": "open",
                                           "notes": "security probe bad"}, expect=(201,))
        # a provider that echoes the credentials in its answer
        cls.ok("POST", "/v1/work-orders", {"asset_ref": gref, "type": "corrective", "provider_id": "generic", "provider": "echo",
                                           "common_status": "open", "notes": "security probe echo"},
               expect=(201,))
        # WATS: an expired token on the usage push (401: permanent, a dead letter)
        cls.wsim.fault(match={"method": "PUT", "path": "/api/Asset/Count"}, action="expire_token", count=1)
        cls.ok("POST", "/v1/readings", {"asset_ref": "AB-SEC-U1", "meter": "cycles", "increment": 2},
               expect=(202,))
        # SAP: a 400 on the notification, and an expired CSRF token first
        path = rig.SAP_NOTIF + "/MaintenanceNotification"
        cls.ssim.fault(match={"method": "POST", "path": path}, action="expire_token", count=1)
        cls.ssim.fault(match={"method": "POST", "path": path}, action="status", status=400, count=1)
        sref = cls.ok("GET", "/v1/assets?provider=sap_pm")["items"][0]["asset_ref"]
        cls.ok("POST", "/v1/work-orders", {"asset_ref": sref, "type": "corrective", "provider_id": "sap_pm",
                                           "common_status": "open", "notes": "security probe sap"},
               expect=(201,))
        for p in ("generic", "generic_bad", "echo", "wats", "sap_pm"):
            cls.wait_dead(p)
        # webhooks: one receiver path that verifies, one that sees a forgery
        for path in ("/good", "/forged"):
            sub = cls.ok("POST", "/v1/webhooks", {"url": cls.rx.url(path), "event_types": ["asset.created", "asset.updated"]},
                         expect=(201,))
            cls.rx.secrets[path] = sub["secret"] if path == "/good" else secrets.token_hex(32)
            cls.secret["webhook secret " + path] = sub["secret"]
        cls.ok("PUT", "/v1/assets/SEC-WH-1", {"name": "webhook probe", "type": "fixture", "site": "plant-1010"},
               expect=(200, 201))
        cls.wait_dead("@webhook")
        # everything an operator would look at
        for p in ("generic", "generic_bad", "echo", "wats", "sap_pm", "cmms"):
            cls.call("GET", "/v1/providers/%s/health" % p)
        for path in ("/v1/dead-letters?limit=200", "/v1/sync-logs?limit=1000", "/v1/sync-state",
                     "/v1/providers", "/v1/outbox?state=dead", "/v1/outbox?state=done", "/v1/audit?limit=1000",
                     "/v1/webhooks", "/v1/events?after=0&limit=1000", "/v1/mapping-exceptions", "/metrics",
                     "/v1/jobs"):
            cls.call("GET", path)

    # -- helpers ---------------------------------------------------------------------------

    def answers(self):
        """Every API answer but the one that hands out a webhook's secret
        (POST /v1/webhooks shows it once, by design)."""
        return "\n".join("%s -> %s" % (label, text) for label, text in self.responses
                         if label != "POST /v1/webhooks")

    def where(self, needle, texts):
        """The names of the texts that contain needle."""
        return [name for name, text in texts.items() if needle and needle in text]

    def cli_texts(self):
        env = dict(os.environ, ASSETBRIDGE_API_KEY=self.hub.key)
        out = {}
        p = rig.run("check-config", "--print", self.hub.cfg)
        out["check-config --print"] = p.stdout + p.stderr
        p = rig.run("dead-letters", "list", "--json", "--url", "http://" + self.hub.svc.addr, env=env)
        out["dead-letters list"] = p.stdout + p.stderr
        p = rig.run("apikey", "list", "--config", self.hub.cfg, "--data-dir", self.hub.data_dir)
        out["apikey list"] = p.stdout + p.stderr
        return out

    def known(self, name, problem):
        """A check of a known issue: reported, not failed, while it fails."""
        if name in KNOWN_ISSUES:
            rig.log("KNOWN ISSUE %s: %s%s" % (name, KNOWN_ISSUES[name],
                                              " (observed: %s)" % problem if problem else
                                              " -- NOT observed any more: remove it from KNOWN_ISSUES"))
            return
        self.assertIsNone(problem)

    # -- API keys ---------------------------------------------------------------------------

    def test_api_key_never_logged_or_echoed(self):
        key = self.hub.key
        # also a wrong key, a malformed one, and the key where it does not belong
        wrong = key[:-4] + ("0000" if not key.endswith("0000") else "1111")
        for k in (wrong, key + "x", "abk_short"):
            st, _, b = self.call("GET", "/v1/assets", key=k)
            self.assertEqual(st, 401, b)
        self.call("GET", "/v1/assets?api_key=" + key, key=False)
        self.call("GET", "/v1/assets?key=" + key)
        self.call("GET", "/v1/assets", headers={"X-Api-Key": key}, key=False)
        self.call("POST", "/v1/readings", "{not json " + key, headers={"Content-Type": "application/json"})
        texts = {"service log": self.hub.stderr(), "API answers": self.answers()}
        texts.update(self.cli_texts())
        secret_part = key[-32:]
        for needle in (key, secret_part, wrong[-32:]):
            found = self.where(needle, texts)
            detail = [l[:300] for name in found for l in texts[name].splitlines() if needle in l]
            self.assertEqual(found, [], "an API key (…%s) appears in %s:\n%s" % (
                needle[-6:], found, "\n".join(detail)))
        rig.log("\nAPI key: not in %d log lines, %d API answers, audit, apikey list, CLI output" % (
            len(texts["service log"].splitlines()), len(self.responses)))

    # -- configuration secrets ----------------------------------------------------------------

    def test_config_secrets_never_leak(self):
        texts = {"service log": self.hub.stderr(), "API answers": self.answers()}
        texts.update(self.cli_texts())
        for sim in (self.gsim, self.wsim, self.ssim):
            texts["%s /_sim/requests" % sim.kind] = sim.requests_text()
        # the dead letters the scan must cover are there (it proves nothing otherwise)
        dead = self.ok("GET", "/v1/dead-letters?limit=200")["items"]
        classes = {d["provider"]: d["error_class"] for d in dead}
        self.assertEqual(classes.get("generic"), "validation", classes)
        self.assertEqual(classes.get("generic_bad"), "auth", classes)
        self.assertEqual(classes.get("wats"), "auth", classes)
        self.assertIn("sap_pm", classes)
        self.assertIn("@webhook", classes)
        echo = [d for d in dead if d["provider"] == "echo"]
        self.assertEqual(len(echo), 1, classes)
        # the echoing provider did put the token in its answer
        self.assertTrue(any(self.secret["echo token"] in (a or "") for _, _, a in self.echo.seen))
        rows = []
        for name, value in sorted(self.secret.items()):
            found = self.where(value, texts)
            rows.append((name, "…" + value[-6:], ", ".join(found) or "nowhere"))
        rig.log("\nconfiguration secrets (searched in: %s)" % ", ".join(sorted(texts)))
        for line in rig.table(["secret", "value", "found in"], rows):
            rig.log(line)
        echoed = [r for r in rows if r[0] == "echo token" and r[2] != "nowhere"]
        self.known("echoed_secret", "the echoed token is in " + echoed[0][2] if echoed else None)
        leaks = [r for r in rows if r[2] != "nowhere" and r[0] != "echo token"]
        detail = []
        for name, value in self.secret.items():
            if name == "echo token":
                continue  # a known issue, reported above
            for where in self.where(value, texts):
                detail += ["%s in %s: %s" % (name, where, l[:400]) for l in texts[where].splitlines()
                           if value in l]
        self.assertEqual(leaks, [], "secrets leaked:\n" + "\n".join(detail))

    # -- limits -----------------------------------------------------------------------------------

    def raw(self, data, body_chunks=(), timeout=10):
        """Send raw bytes; returns the answer's head (b'' when the connection
        was closed without one)."""
        s = socket.create_connection((self.hub.svc.host, self.hub.svc.port), timeout=timeout)
        out = b""
        try:
            try:
                s.sendall(data)
                for c in body_chunks:
                    s.sendall(c)
            except (ConnectionResetError, BrokenPipeError):
                pass  # the server answered and closed early: read what it said
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk
                if b"\r\n\r\n" in out:
                    return out  # the status line and headers are all the checks need
        except (ConnectionResetError, BrokenPipeError):
            return out
        except socket.timeout:
            return out
        finally:
            s.close()

    def assert_serving(self):
        self.assertTrue(self.hub.alive(), "the service died")
        st, _, _ = self.hub.request("GET", "/healthz", key=False)
        self.assertEqual(st, 200)
        st, _, _ = self.hub.request("GET", "/v1/assets?limit=1")
        self.assertEqual(st, 200)

    def test_oversize_bodies(self):
        key = self.hub.key.encode()
        hdr = b"Authorization: Bearer " + key + b"\r\nContent-Type: application/json\r\n"
        body = b'{"asset_ref":"' + b"x" * 20000 + b'","meter":"cycles","increment":1}'
        st, _, b = self.hub.request("POST", "/v1/readings", body=body.decode(),
                                    headers={"Content-Type": "application/json"})
        self.assertEqual(st, 413, b)
        self.assertEqual(b["error"]["class"], "too_large")
        batch = "\n".join(json.dumps({"asset_ref": "A", "meter": "cycles", "increment": 1, "key": "k%d" % i})
                          for i in range(2000))
        st, _, b = self.hub.request("POST", "/v1/readings:batch", body=batch,
                                    headers={"Content-Type": "application/x-ndjson"})
        self.assertEqual(st, 413, b)
        # chunked, no length announced
        out = self.raw(b"POST /v1/readings HTTP/1.1\r\nHost: x\r\n" + hdr + b"Transfer-Encoding: chunked\r\n\r\n",
                       [b"4000\r\n" + b"a" * 0x4000 + b"\r\n" for _ in range(4)] + [b"0\r\n\r\n"])
        chunked = out.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 413"), out[:80])
        # 32 MiB over a 16 KiB limit: refused, not buffered
        before = rss_kib(self.hub.pid)
        big = 32 * 1024 * 1024
        out = self.raw(b"POST /v1/readings HTTP/1.1\r\nHost: x\r\n" + hdr + b"Content-Length: %d\r\n\r\n" % big,
                       [b"a" * 65536] * (big // 65536))
        big_answer = out.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 413"), out[:80])
        grew = rss_kib(self.hub.pid) - before
        rig.log("\noversize: 413 for a JSON body and a batch; chunked: %s; a 32 MiB body: %s, RSS grew %d KiB"
                % (chunked, big_answer, grew))
        self.assertLess(grew, 8192, "the oversize body was buffered")
        self.assert_serving()

    def test_slow_clients(self):
        addr = (self.hub.svc.host, self.hub.svc.port)
        stalled = []
        for _ in range(20):
            s = socket.create_connection(addr, timeout=10)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finish
            stalled.append(s)
        t0 = time.monotonic()
        # others are served meanwhile
        for _ in range(5):
            self.assert_serving()
        dropped = []
        for s in stalled:
            try:
                data = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                data = b""
            dropped.append((data, time.monotonic() - t0))
            s.close()
        worst = max(t for _, t in dropped)
        self.assertTrue(all(d == b"" or d.startswith(b"HTTP/1.1 408") for d, _ in dropped), dropped[:2])
        self.assertLess(worst, HEADER_TIMEOUT_S + 5, "stalled clients were not dropped")
        # a client trickling its headers, one byte every 0.25 s
        s = socket.create_connection(addr, timeout=10)
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 400 + b"\r\n\r\n"
        t1, closed_after = time.monotonic(), None
        try:
            for i in range(len(req)):
                s.sendall(req[i:i + 1])
                time.sleep(0.25)
                if i % 8 == 0:
                    self.assertEqual(self.hub.request("GET", "/healthz", key=False)[0], 200)
                if time.monotonic() - t1 > HEADER_TIMEOUT_S + 4:
                    break
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.monotonic() - t1
        s.close()
        rig.log("\nslow clients: 20 stalled requests dropped within %.1f s (header_timeout %d s); a "
                "trickling client %s" % (worst, HEADER_TIMEOUT_S, "dropped after %.1f s" % closed_after
                                         if closed_after else "still connected after %.1f s" %
                                         (time.monotonic() - t1)))
        self.known("trickling_client", None if closed_after else
                   "still connected after %.0f s" % (time.monotonic() - t1))
        self.assert_serving()

    def test_header_floods(self):
        results = {}
        many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-F%d: v\r\n" % i for i in range(5000)) + b"\r\n"
        huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200000 + b"\r\n\r\n"
        long_uri = b"GET /healthz?" + b"q" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        for name, req in (("5000 headers", many), ("one 200 KB header", huge), ("200 KB URI", long_uri)):
            out = self.raw(req)
            status = out.split(b"\r\n", 1)[0].decode(errors="replace") if out else "closed"
            results[name] = status
            self.assertTrue(status == "closed" or " 431 " in status or " 400 " in status
                            or " 414 " in status, (name, status))
        # fifty floods at once
        errs = []

        def flood():
            try:
                self.raw(many)
            except OSError as e:
                errs.append(e)
        threads = [threading.Thread(target=flood) for _ in range(50)]
        for t in threads:
            t.start()
        self.assert_serving()
        for t in threads:
            t.join(30)
        rig.log("\nheader floods: %s; 50 at once, then served" % results)
        self.assert_serving()

    # -- webhooks -----------------------------------------------------------------------------------

    def test_webhook_signatures(self):
        got = rig.wait_for("deliveries to both receivers", lambda: (
            [g for g in self.rx.got if g[0] == "/good"] and [g for g in self.rx.got if g[0] == "/forged"]),
            limit=30)
        good = [g for g in self.rx.got if g[0] == "/good"]
        forged = [g for g in self.rx.got if g[0] == "/forged"]
        self.assertTrue(got)
        self.assertTrue(all(ok for _, _, _, ok in good), "a delivery failed README.md's check")
        self.assertTrue(all(not ok for _, _, _, ok in forged))
        path, h, body, _ = good[0]
        secret = self.rx.secrets["/good"]
        self.assertTrue(h["x-assetbridge-signature"].startswith("v1="))
        self.assertLessEqual(abs(time.time() - int(h["x-assetbridge-timestamp"])), 300)
        # the signature binds the body, the timestamp and the secret
        self.assertFalse(readme_verify(secret, h, body + b" "))
        self.assertFalse(readme_verify(secret, h, body.replace(b"SEC-WH-1", b"SEC-WH-2")))
        h2 = dict(h, **{"x-assetbridge-timestamp": str(int(h["x-assetbridge-timestamp"]) + 1)})
        self.assertFalse(readme_verify(secret, h2, body))
        # the same event signed for the other subscription differs (its own secret)
        same = [g for g in forged if g[1].get("x-assetbridge-event") == h.get("x-assetbridge-event")]
        if same:
            self.assertNotEqual(same[0][1]["x-assetbridge-signature"], h["x-assetbridge-signature"])
        # the receiver's 401 made a dead letter, and the secret is not in it
        dead = [d for d in self.ok("GET", "/v1/dead-letters?limit=200")["items"] if d["provider"] == "@webhook"]
        self.assertTrue(dead)
        self.assertNotIn(secret, json.dumps(dead))
        self.assertNotIn(self.secret["webhook secret /forged"], json.dumps(dead))
        listed = json.dumps(self.ok("GET", "/v1/webhooks"))
        self.assertNotIn(secret, listed)
        rig.log("\nwebhooks: %d deliveries verified by README.md's check, %d refused with 401 -> %d dead "
                "letters" % (len(good), len(forged), len(dead)))

    # -- TLS ----------------------------------------------------------------------------------------

    def test_tls_verification(self):
        if not self.cert:
            self.skipTest("openssl is not installed: no certificate for the TLS provider")
        before = len(self.tls.requests)
        st, _, d = self.call("GET", "/v1/providers/tls_default/health")
        self.assertEqual(st, 200, d)
        self.assertEqual(d["verdict"], "failed", d)
        self.assertEqual(d["checks"].get("tls"), "failed", d)
        self.assertEqual(len(self.tls.requests), before, "a request got through an unverified TLS session")
        st, _, d = self.call("GET", "/v1/providers/tls_ca/health")
        self.assertEqual(d["checks"].get("tls"), "ok", d)
        st, _, d = self.call("GET", "/v1/providers/tls_off/health")
        self.assertEqual(d["checks"].get("tls"), "ok", d)
        self.assertGreater(len(self.tls.requests), before)
        # only the explicit setting turns it off, and it is logged, naming the provider
        warned = [l for l in self.hub.svc.log_lines() if "TLS VERIFICATION IS OFF" in l.get("msg", "")]
        self.assertTrue(warned, "no warning for tls.verify: false")
        self.assertEqual({l.get("provider") for l in warned}, {"tls_off"}, warned)
        self.assertEqual(warned[0].get("level"), "warn")
        # something that is not a boolean does not turn it off
        bad = rig.write_file(self.tmp, "tls-bad.yaml", "tenants:\n  default:\n    providers:\n      p:\n"
                             "        type: generic\n        base_url: https://127.0.0.1:1\n"
                             "        tls: {verify: sometimes}\n")
        p = rig.run("check-config", bad)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        rig.log("\nTLS: default verify refuses a self-signed provider (health tls=failed, no request "
                "reached it); ca_file trusts it; verify: false is logged: %s" % warned[0].get("msg"))

    def test_cross_tenant_access_is_covered(self):
        """Cross-tenant denial on every documented operation is the job of
        tests/integration/test_tenant_isolation.py; this only makes sure it
        is there."""
        path = os.path.join(rig.SOURCE_DIR, "tests", "integration", "test_tenant_isolation.py")
        self.assertTrue(os.path.exists(path), path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
