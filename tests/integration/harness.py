# SPDX-License-Identifier: Apache-2.0
"""Integration-test harness: starts the real assetbridge binary on 127.0.0.1
with a free port and a private data directory, and talks HTTP to it.

Python 3 standard library only. The binary comes from $ASSETBRIDGE_BIN (set
by CTest); the repository root from $AB_SOURCE_DIR.
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

BIN = os.environ.get("ASSETBRIDGE_BIN", "build/debug/assetbridge")
SOURCE_DIR = os.environ.get("AB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def run(*args, env=None, timeout=30, input=None):
    """Run `assetbridge ARGS...` to completion; returns CompletedProcess."""
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, input=input)


class Service:
    """One `assetbridge serve` process. Use as a context manager."""

    def __init__(self, *args, config=None, env=None, data_dir=None, listen="127.0.0.1:0"):
        self.tmp = tempfile.mkdtemp(prefix="ab-it-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.args = ["serve", "--listen", listen, "--data-dir", self.data_dir]
        if config:
            self.args += ["--config", config]
        self.args += list(args)
        self.env = env
        self.proc = None
        self.addr = None
        self.stderr_path = os.path.join(self.tmp, "stderr.log")

    def start(self, timeout=15):
        self._err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([BIN, *self.args], stdout=subprocess.PIPE, stderr=self._err,
                                     text=True, env=self.env)
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            raise RuntimeError("service did not start: %r, stderr: %s" % (line, self.stderr()))
        self.addr = line.split()[-1]
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)
        return self

    def stderr(self):
        """Everything the service wrote to stderr (kept after the context exits)."""
        if os.path.exists(self.stderr_path):
            with open(self.stderr_path) as f:
                self._stderr_text = f.read()
        return getattr(self, "_stderr_text", "")

    def log_lines(self):
        """The service's JSON log lines, parsed."""
        out = []
        for line in self.stderr().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def request(self, method, path, body=None, headers=None, timeout=30):
        """Send one request; returns (status, headers dict (lower-case), parsed JSON or text)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        h = {k.lower(): v for k, v in resp.getheaders()}
        conn.close()
        if h.get("content-type", "").startswith("application/json") and data:
            data = json.loads(data)
        return resp.status, h, data

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signal the service and wait; returns its exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        if self.proc:
            self.proc.stdout.close()
        if getattr(self, "_err", None):
            self._err.close()
            self._err = None
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop()
            self.stderr()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def write_file(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path
