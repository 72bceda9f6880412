# SPDX-License-Identifier: Apache-2.0
"""The test rig shared by the reliability suites (tests/crash, tests/security,
scripts/soak, scripts/reliability): provider simulators as processes, the
service started on a data directory that survives restarts, an API client that
reports a dropped connection instead of raising, and a table printer.

Python 3 standard library only. It builds on tests/integration (harness.py for
the service; test_sync_faults.py, test_conn_wats.py and test_conn_sap_pm.py for
the providers' paths, the WATS token and SAP's session client), imported
through sys.path and never modified. The simulator handles here add what
those helpers fix (credentials of our choosing, for the security suite).

AB_RELIABILITY=full selects the full suites (`make reliability`); anything
else (unset) the fast subsets that `make test` runs."""
import base64
import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.normpath(os.path.join(HERE, "..", "integration"))
if INTEGRATION not in sys.path:
    sys.path.insert(0, INTEGRATION)

from harness import BIN, SOURCE_DIR, Service, run, write_file  # noqa: E402,F401
import test_sync_faults as tsf  # noqa: E402  (generic simulator handle)
import test_conn_wats as tcw  # noqa: E402  (WATS helpers)
import test_conn_sap_pm as tcs  # noqa: E402  (SAP helpers)

FULL = os.environ.get("AB_RELIABILITY", "") == "full"

GENERIC_WO = tsf.WO_PATH
GENERIC_ASSETS = tsf.ASSETS_PATH
WATS_TOKEN = tcw.TOKEN
SAP_NOTIF = tcs.NOTIF
SAP_MD = tcs.MD
SAP_MP = tcs.MP
SAP_EQ = tcs.EQ


class Unreachable(Exception):
    """The service did not answer (connection refused, reset or dropped)."""


def log(*parts):
    """Print a line now (CTest shows the output of a test when it fails, and
    the reliability tables are read from it)."""
    print(*parts, flush=True)


# ---- simulators -----------------------------------------------------------------


def _start_sim(tmp, kind, *args):
    err = open(os.path.join(tmp, "sim-%s.err" % kind), "w")
    proc = subprocess.Popen([BIN, "sim", kind, "--listen", "127.0.0.1:0", *args],
                            stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        proc.wait()
        raise RuntimeError("simulator %s did not start: %r" % (kind, line))
    return proc, line.split()[-1]


class SimProc:
    """One `assetbridge sim KIND` process with its /_sim/ handles."""

    def __init__(self, tmp, kind, *args):
        self.kind = kind
        self.proc, self.addr = _start_sim(tmp, kind, *args)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()

    def raw(self, method, path, body=None, headers=None, timeout=30):
        """(status, parsed JSON or text) of one request to the simulator."""
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        req = urllib.request.Request("http://%s%s" % (self.addr, path), data=data, headers=hdrs,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
                st = r.status
        except urllib.error.HTTPError as e:
            text = e.read()
            st = e.code
        try:
            return st, json.loads(text) if text else None
        except ValueError:
            return st, text.decode("utf-8", "replace")

    def get(self, path):
        st, b = self.raw("GET", path)
        if st != 200:
            raise AssertionError("%s %s: %s %r" % (self.kind, path, st, b))
        return b

    def fault(self, **rule):
        st, b = self.raw("POST", "/_sim/faults", rule)
        if st != 201:
            raise AssertionError("fault rule refused: %s %r" % (st, b))
        return b["items"][0]["id"]

    def fired(self, rule_id):
        for r in self.get("/_sim/faults")["items"]:
            if r["id"] == rule_id:
                return r["fired"]
        raise AssertionError("no fault rule %d" % rule_id)

    def clear_faults(self):
        self.raw("DELETE", "/_sim/faults")

    def effects(self):
        return self.get("/_sim/effects")

    def requests(self, method=None, path=None):
        q = {}
        if method:
            q["method"] = method
        if path:
            q["path"] = path
        return self.get("/_sim/requests" + ("?" + urllib.parse.urlencode(q) if q else ""))["items"]

    def requests_text(self):
        """The whole request log as the simulator serves it (for secret scans)."""
        st, b = self.raw("GET", "/_sim/requests")
        return json.dumps(b)


class GenericSim(SimProc):
    """`assetbridge sim generic` (Bearer token auth)."""

    def __init__(self, tmp, assets=40, seed=3, token="sim-token", extra=()):
        super().__init__(tmp, "generic", "--seed", str(seed), "--assets", str(assets),
                         "--rate-limit", "0", "--token", token, *extra)
        self.token = token

    def provider(self, method, path, body=None):
        return self.raw(method, path, body, {"Authorization": "Bearer " + self.token})

    def all_pages(self, path):
        items, offset = [], 0
        while offset is not None:
            sep = "&" if "?" in path else "?"
            st, page = self.provider("GET", "%s%slimit=200&offset=%d" % (path, sep, offset))
            if st != 200:
                raise AssertionError("%s: %s %r" % (path, st, page))
            items += page["items"]
            offset = page.get("next_offset")
        return items

    def work_order_titles(self):
        return [w["title"] for w in self.all_pages(GENERIC_WO)]


class WatsSim(SimProc):
    """`assetbridge sim wats` (token auth)."""

    def __init__(self, tmp, assets=5, seed=7, token=WATS_TOKEN, extra=()):
        super().__init__(tmp, "wats", "--seed", str(seed), "--assets", str(assets),
                         "--token", token, *extra)
        self.token = token

    def call(self, method, path, query=None, body=None):
        url = path + ("?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else "")
        return self.raw(method, url, body, {"Authorization": "Basic " + self.token})

    def seed_asset(self, serial, type_name, interval=None, total=None):
        """A type (created when missing) and an asset of it (tcw.seed_asset with our token)."""
        st, types = self.call("GET", "/api/Asset/Types")
        assert st == 200, types
        hit = [t for t in types if t.get("typeName") == type_name]
        if hit:
            type_id = hit[0]["typeId"]
        else:
            body = {"typeName": type_name}
            if interval is not None:
                body["calibrationInterval"] = interval
            st, t = self.call("PUT", "/api/Asset/Types", body=body)
            assert st == 200, t
            type_id = t["typeId"]
        st, b = self.call("PUT", "/api/Asset", body={"serialNumber": serial, "typeId": type_id,
                                                     "assetName": serial})
        assert st == 200, b
        if total is not None:
            st, b = self.call("PUT", "/api/Asset/Count", {"serialNumber": serial,
                                                          "totalCount": str(total)})
            assert st == 200, b
        return self.asset(serial)

    def asset(self, serial):
        st, b = self.call("GET", "/api/Asset", {"$filter": "serialNumber eq '%s'" % serial})
        assert st == 200, b
        return b[0] if b else None


class SapSim(SimProc):
    """`assetbridge sim sap_pm` (Basic auth, CSRF tokens); .sap is a session client."""

    def __init__(self, tmp, assets=20, seed=7, user="SIMUSER", password="sim-password", extra=()):
        super().__init__(tmp, "sap_pm", "--seed", str(seed), "--assets", str(assets),
                         "--user", user, "--password", password, *extra)
        self.user, self.password = user, password
        # test_conn_sap_pm's session client (cookies, CSRF token), with these credentials
        self.sap = tcs.Sim(self.addr, {"Authorization": "Basic " + base64.b64encode(
            ("%s:%s" % (user, password)).encode()).decode()})


def sim_available(kind):
    """None when `assetbridge sim KIND` exists in this build, else why not."""
    if not os.path.exists(BIN):
        return "assetbridge binary %s not found" % BIN
    p = run("sim", "--list")
    if p.returncode != 0 or kind not in p.stdout:
        return "`assetbridge sim %s` is not available in this build" % kind
    return None


# ---- the service -------------------------------------------------------------------


class Hub:
    """The service on one data directory, restartable (also after SIGKILL).
    .key is an admin API key, created once (the keys live in the store)."""

    def __init__(self, tmp, config_text, name="hub"):
        self.tmp = tmp
        self.cfg = write_file(tmp, name + ".yaml", config_text)
        self.data_dir = os.path.join(tmp, name + "-data")
        self.svc = None
        self.key = None
        self.starts = 0
        self.logs = []  # stderr text of every stopped instance

    # -- process ---------------------------------------------------------------------

    def start(self, crash_at=None, extra_args=(), timeout=30):
        """Start an instance; with crash_at, ASSETBRIDGE_CRASH_AT is set. Returns
        True when it serves, False when it died while starting (a crash point)."""
        env = dict(os.environ)
        env.pop("ASSETBRIDGE_CRASH_AT", None)
        if crash_at:
            env["ASSETBRIDGE_CRASH_AT"] = crash_at
        self.svc = Service(*extra_args, config=self.cfg, data_dir=self.data_dir, env=env)
        self.starts += 1
        try:
            self.svc.start(timeout=timeout)
        except RuntimeError:
            if self.svc.proc.poll() is not None and crash_at:
                return False
            raise
        if not self.key:
            p = run("apikey", "create", "--config", self.cfg, "--data-dir", self.data_dir,
                    "--tenant", "default", "--scopes", "admin")
            if p.returncode != 0:
                raise RuntimeError("apikey create: " + p.stderr)
            self.key = p.stdout.rstrip("\n").splitlines()[-1]
        return True

    @property
    def pid(self):
        return self.svc.proc.pid if self.svc and self.svc.proc else None

    def alive(self):
        return bool(self.svc and self.svc.proc and self.svc.proc.poll() is None)

    def kill(self):
        """SIGKILL (a power cut); returns the exit code."""
        return self._finish(signal.SIGKILL)

    def stop(self):
        """SIGTERM (a clean stop); returns the exit code."""
        return self._finish(signal.SIGTERM)

    def wait_exit(self, timeout):
        """Wait until the instance exits by itself; its exit code or None."""
        try:
            return self.svc.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def _finish(self, sig):
        if not self.svc:
            return None
        rc = self.svc.stop(sig=sig)
        self.logs.append(self.svc.stderr())
        shutil.rmtree(self.svc.tmp, ignore_errors=True)
        self.svc = None
        return rc

    def reap(self):
        """After the instance died by itself: collect its log."""
        return self._finish(signal.SIGKILL)

    def stderr(self):
        """Every instance's stderr so far, the running one's included."""
        cur = self.svc.stderr() if self.svc else ""
        return "".join(self.logs) + cur

    # -- API ---------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, key=True, timeout=20):
        """(status, headers, body); raises Unreachable when the connection fails."""
        if not self.svc:
            raise Unreachable("no instance")
        h = dict(headers or {})
        if key:
            h["Authorization"] = "Bearer " + (key if isinstance(key, str) else self.key)
        try:
            return self.svc.request(method, path, body=body, headers=h, timeout=timeout)
        except (OSError, http.client.HTTPException) as e:
            raise Unreachable(repr(e))

    def api(self, method, path, body=None, expect=200, headers=None):
        st, _, b = self.request(method, path, body=body, headers=headers)
        if st != expect:
            raise AssertionError("%s %s: %s (expected %s): %r" % (method, path, st, expect, b))
        return b

    def all_items(self, path):
        items, cursor = [], None
        sep = "&" if "?" in path else "?"
        while True:
            page = self.api("GET", path + sep + "limit=200" +
                            ("&cursor=" + urllib.parse.quote(cursor) if cursor else ""))
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def outbox(self, state):
        return self.all_items("/v1/outbox?state=" + state)

    def sync_state(self, provider, entity):
        for r in self.api("GET", "/v1/sync-state")["items"]:
            if r["provider"] == provider and r["entity"] == entity:
                return r
        return None

    def db(self, sql, args=()):
        """A read-only query of the service's SQLite file."""
        path = os.path.join(self.data_dir, "assetbridge.db")
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
        try:
            con.execute("PRAGMA busy_timeout = 30000")
            return con.execute(sql, args).fetchall()
        finally:
            con.close()


def wait_for(what, check, limit=60, interval=0.2, on_timeout=None):
    """Poll check() until it returns a true value (returned); a liveness
    bound, never a timing assertion."""
    deadline = time.monotonic() + limit
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() >= deadline:
            extra = on_timeout() if on_timeout else ""
            raise AssertionError("timed out after %ds waiting for %s%s" % (limit, what,
                                                                         "\n" + extra if extra else ""))
        time.sleep(interval)


def table(headers, rows):
    """A fixed-width text table (a list of lines)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    out = [fmt % tuple(headers), fmt % tuple("-" * w for w in widths)]
    out += [fmt % tuple(r) for r in cells]
    return out


def tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)

