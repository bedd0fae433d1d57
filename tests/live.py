"""A real `jupyter server` subprocess with the mlgov extension, and real kernels talking to it."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from jupyter_client.manager import KernelManager

TOKENS = {"alice-token": "alice", "bob-token": "bob", "carol-token": "carol", "root-token": "root"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``token``: the server owner's token, random per server and handed over in a 0600 config
    file, never on the command line (every process on the machine reads command lines, and the
    tests' servers run as root with --allow-root: a hub user's kernel beside them must not act
    as their owner)."""

    def __init__(self, root: Path, app: str = "server", extra_args=(), config: str = ""):
        self.root, self.port = root, free_port()
        self.db = root / "mlgov.sqlite"
        self.url = f"http://127.0.0.1:{self.port}/"
        self.token = secrets.token_urlsafe(32)
        for d in ("notebooks", "data", "runtime", "config"):
            (root / d).mkdir(parents=True, exist_ok=True)
        config_file = root / "config" / "jupyter_server_config.py"
        config_file.touch(mode=0o600)
        config_file.chmod(0o600)
        config_file.write_text(
            f"c.ServerApp.token = {self.token!r}\n"
            "c.ServerApp.identity_provider_class = 'mlgov_jupyter.server.identity.TokenIdentityProvider'\n"
            "c.ServerApp.authorizer_class = 'mlgov_jupyter.server.identity.SharedServerAuthorizer'\n"
            f"c.TokenIdentityProvider.tokens = {TOKENS!r}\n"
            f"c.MlgovApp.db_url = 'sqlite:///{self.db}'\n"
            "c.MlgovApp.admin_users = ['root']\n"
            "c.ServerApp.allow_unauthenticated_access = False\n" + config)
        env = dict(os.environ, JUPYTER_DATA_DIR=str(root / "data"),
                   JUPYTER_RUNTIME_DIR=str(root / "runtime"), JUPYTER_CONFIG_DIR=str(root / "config"))
        env.pop("MLGOV_SERVER_URL", None)
        self.log = open(root / "server.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", app, "--no-browser", "--allow-root", f"--port={self.port}",
             f"--ServerApp.root_dir={root / 'notebooks'}", *extra_args],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait()
        except BaseException:  # a server that did not come up is not left running (no one stops it)
            self.stop()
            raise

    def _wait(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter exited: {(self.root / 'server.log').read_text()[-2000:]}")
            try:
                req = urllib.request.Request(self.url + "api/mlgov/whoami",
                                             headers={"Authorization": "token alice-token"})
                urllib.request.urlopen(req, timeout=2).read()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("jupyter server did not start in time")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Kernel:
    """A real IPython kernel for one user, with the server's URL and that user's token."""

    def __init__(self, server: LiveServer | None, token: str | None, extra_env: dict | None = None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLGOV_")}
        if server is not None:
            env.update(MLGOV_SERVER_URL=server.url, MLGOV_TOKEN=token)
        env.update(extra_env or {})
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 120) -> dict:
        """Execute; return {'stdout', 'error' (ename, evalue, traceback) or None, 'data': [...]}."""
        out = {"stdout": "", "error": None, "data": []}

        def hook(msg):
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out["stdout"] += content["text"]
            elif kind == "error":
                out["error"] = (content["ename"], content["evalue"], content["traceback"])
            elif kind in ("execute_result", "display_data"):
                out["data"].append(content["data"])

        self.kc.execute_interactive(code, timeout=timeout, output_hook=hook)
        if out["error"] is None and out["stdout"].startswith("UsageError: "):
            # IPython reports a magic's UsageError as one printed line, with no traceback
            out["error"] = ("UsageError", out["stdout"][len("UsageError: "):].rstrip("\n"), [])
        return out

    def ok(self, code: str) -> dict:
        out = self.run(code)
        assert out["error"] is None, out["error"]
        return out

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
