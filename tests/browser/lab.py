"""A real `jupyter lab` subprocess with the installed mlgov extension and several users by
token (mlgov's TokenIdentityProvider), for the browser tests."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
TOKENS = {"alice-token": "alice", "bob-token": "bob", "root-token": "root"}
ADMINS = ["root"]
# the owner's token of these root-run servers: random per test run, in a 0600 config file (a
# constant in the source would let any local user's process act as root through them)
SERVER_TOKEN = secrets.token_urlsafe(32)


def installed_labextension() -> Path | None:
    """Where the mlgov-jupyter labextension is installed (wheel, editable or develop)."""
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path("labextensions"):
        if (Path(root) / "mlgov-jupyter" / "package.json").exists():
            return Path(root) / "mlgov-jupyter"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp: Path, mlgov: dict | None = None) -> dict:
    return {
        "ServerApp": {
            "jpserver_extensions": {"mlgov_jupyter": True},
            "identity_provider_class": "mlgov_jupyter.server.identity.TokenIdentityProvider",
            "authorizer_class": "mlgov_jupyter.server.identity.SharedServerAuthorizer",
            "allow_unauthenticated_access": False,
            "root_dir": str(tmp / "root"),
            "open_browser": False,
            "allow_root": True,
        },
        "IdentityProvider": {"token": SERVER_TOKEN},
        "TokenIdentityProvider": {"tokens": TOKENS},
        "MlgovApp": {"db_url": f"sqlite:///{tmp / 'mlgov.sqlite'}", "admin_users": ADMINS, **(mlgov or {})},
        "LabApp": {"user_settings_dir": str(tmp / "settings"),
                   "workspaces_dir": str(tmp / "workspaces"),
                   "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
    }


class LabServer:
    """`python -m jupyterlab` on a free port with its own config, data and runtime dirs."""

    def __init__(self, tmp: Path, mlgov: dict | None = None):
        """``mlgov``: more MlgovApp settings (e.g. an S3 object store)."""
        self.tmp, self.mlgov = tmp, mlgov
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = ARTIFACTS / "lab-server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "LabServer":
        tmp = self.tmp
        for d in ("config", "data", "runtime", "root", "settings"):
            (tmp / d).mkdir(parents=True, exist_ok=True)
        # No news toast over the panel; otherwise JupyterLab's defaults.
        news = tmp / "settings" / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True, exist_ok=True)
        (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
        config = tmp / "config" / "jupyter_server_config.json"
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text(json.dumps(_config(tmp, self.mlgov), indent=1))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLGOV_")}
        env.update(JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DATA_DIR=str(tmp / "data"),
                   JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), IPYTHONDIR=str(tmp / "ipython"))
        ARTIFACTS.mkdir(exist_ok=True)
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                 f"--port={self.port}"],
                cwd=tmp / "root", env=env, stdout=out, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        req = urllib.request.Request(self.url + "api/mlgov/whoami",
                                     headers={"Authorization": "token alice-token"})
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n"
                                   f"{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"jupyter lab not ready after {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
