"""A `jupyter server` with the mlgov extension in its own process, for benchmarks: one user by
token (``token``, random per server), a store at ``db_url``, and the process's memory and I/O
counters. The tokens are handed over in a 0600 config file, never on the command line, which every
local user can read in /proc (red team R20-1: the constant server token of a benchmark run as root
let another Unix user's kernel list the root server's kernels; R13 had fixed tests/live.py)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchServer:
    def __init__(self, root: Path, user: str = "bench", db_url: str | None = None, timeout: float = 90):
        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.token = secrets.token_urlsafe(24)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for d in ("data", "runtime", "config", "notebooks"):
            (root / d).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = root / "mlgov.sqlite"
        config = root / "config" / "jupyter_server_config.py"
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text(
            "c.ServerApp.identity_provider_class = 'mlgov_jupyter.server.identity.TokenIdentityProvider'\n"
            "c.ServerApp.authorizer_class = 'mlgov_jupyter.server.identity.SharedServerAuthorizer'\n"
            f"c.ServerApp.token = {secrets.token_urlsafe(32)!r}\n"
            f"c.TokenIdentityProvider.tokens = {{{self.token!r}: {user!r}}}\n"
            f"c.MlgovApp.db_url = {(db_url or f'sqlite:///{self.db}')!r}\n"
            "c.ServerApp.log_level = 'WARN'\n")
        env = dict(os.environ, JUPYTER_DATA_DIR=str(root / "data"), JUPYTER_RUNTIME_DIR=str(root / "runtime"),
                   JUPYTER_CONFIG_DIR=str(root / "config"))
        self.log = open(root / "server.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
                                      f"--port={self.port}",
                                      f"--ServerApp.root_dir={root / 'notebooks'}"],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while True:
            try:
                req = urllib.request.Request(self.url + "api/mlgov/whoami",
                                             headers={"Authorization": f"token {self.token}"})
                urllib.request.urlopen(req, timeout=5).read()
                return
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"server did not start (see {root / 'server.log'})")
                time.sleep(0.3)

    def status(self) -> dict:
        """VmHWM, VmRSS, RssAnon, RssFile of the server process, in MB."""
        out = {}
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith(("VmHWM", "VmRSS", "RssAnon", "RssFile")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
        return out

    def rchar(self) -> int:
        """Bytes the server process has read (its /proc io rchar)."""
        for line in open(f"/proc/{self.proc.pid}/io"):
            if line.startswith("rchar"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
