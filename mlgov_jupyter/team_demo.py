"""A real JupyterHub in team mode on this machine: ``make team-demo``, and the hub tests' harness.

Needs root (it creates Unix users and the hub spawns their servers as them), JupyterHub in this
Python environment and ``configurable-http-proxy`` on the PATH.

    with Hub() as hub:                       # users alice, bob, mallory; service account mlgov
        hub.start_server("alice")
        out, error = hub.run_in_kernel("alice", "import mlgov_jupyter as mg; print(mg.connect().whoami())")

The governance service (``mlgov serve``) runs as ``mlgov`` with its store in a private 0700
directory; the hub, its config and the harness's admin token stay in a root-only 0700 directory.
Login users get 0700 homes (Debian's default is 0755: anyone could read their IPython history).
``python -m mlgov_jupyter.team_demo`` starts one and waits for Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

LOGIN_USERS = ("alice", "bob", "mallory")
SERVICE_USER = "mlgov"
SERVICE_NAME = "mlgov"
HARNESS_SERVICE = "mlgov-harness"
# the hub's scopes the harness itself needs: users' tokens, their servers, their kernels
HARNESS_SCOPES = ["admin:users", "admin:servers", "tokens", "access:servers"]


class HubError(RuntimeError):
    """The hub, a server, a kernel or the service did not do what was asked in time."""


@dataclass
class Proc:
    """A process of the hub's tree: pid, owner, command line, start time (jiffies; tells pid reuse)."""

    pid: int
    ppid: int
    user: str
    cmdline: list[str]
    started: int


# --- the machine: users, permissions, ports, processes -------------------------------------------

def ensure_user(name: str, login: bool = True) -> pwd.struct_passwd:
    """The Unix user ``name`` (``useradd -m`` if missing; no login shell unless ``login``), home 0700."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        shell = "/bin/bash" if login else "/usr/sbin/nologin"
        result = subprocess.run(["useradd", "-m", "-s", shell, name], capture_output=True, text=True)
        try:
            entry = pwd.getpwnam(name)  # another harness may have just created it
        except KeyError:
            raise HubError(f"useradd {name} failed: {result.stderr.strip()}") from None
    home = Path(entry.pw_dir)
    if home.is_dir() and home.stat().st_mode & 0o077:
        home.chmod(0o700)
    return entry


def untraversable_parents(path: str | Path, user: str) -> list[Path]:
    """The directories above ``path`` (symlinks resolved) that ``user``, neither owner nor in the
    group, cannot traverse (no o+x)."""
    entry = pwd.getpwnam(user)
    blocked = []
    for parent in Path(os.path.realpath(path)).parents:
        st = parent.stat()
        if st.st_uid != entry.pw_uid and st.st_gid != entry.pw_gid and not st.st_mode & stat.S_IXOTH:
            blocked.append(parent)
    return sorted(blocked)


def check_environment_usable(python: str, user: str) -> None:
    """Fail clearly unless ``user`` can run ``python`` and import mlgov_jupyter from it."""
    result = subprocess.run(["runuser", "-u", user, "--", python, "-c", "import mlgov_jupyter"],
                            capture_output=True, text=True, cwd="/", timeout=60)
    if result.returncode == 0:
        return
    import mlgov_jupyter

    blocked = set(untraversable_parents(python, user))
    blocked |= set(untraversable_parents(os.path.realpath(sys.executable), user))
    blocked |= set(untraversable_parents(Path(mlgov_jupyter.__file__).parent, user))
    hint = (f"these directories are not traversable by others: {' '.join(map(str, sorted(blocked)))}; "
            f"allow traversal only with: chmod o+x {' '.join(map(str, sorted(blocked)))}"
            if blocked else "see the error above")
    raise HubError(f"user {user} cannot use this Python environment ({python} -c 'import mlgov_jupyter' "
                   f"failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}); {hint}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        uid = os.stat(f"/proc/{pid}").st_uid
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    return Proc(pid=pid, ppid=int(fields[1]), user=user, cmdline=cmdline, started=int(fields[19]))


def process_tree(root: int) -> list[Proc]:
    """``root`` and every process below it (by parent pid), root first."""
    procs = [p for p in map(_proc, (int(d) for d in os.listdir("/proc") if d.isdigit())) if p]
    children: dict[int, list[Proc]] = {}
    for p in procs:
        children.setdefault(p.ppid, []).append(p)
    tree = [p for p in procs if p.pid == root]
    for p in tree:
        tree.extend(children.get(p.pid, []))
    return tree


def _alive(p: Proc) -> bool:
    now = _proc(p.pid)
    return now is not None and now.started == p.started


def wait_until(check, timeout: float, what: str, interval: float = 0.25, log=None):
    """Call ``check()`` until it returns something true (returned) or ``timeout`` seconds pass (HubError).
    ``log()`` is called for the error message."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except HubError:
            raise
        except Exception as exc:  # noqa: BLE001 - not there yet; say what if it never is
            last_error = exc
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise HubError(f"timed out after {timeout:.0f}s waiting for {what}{detail}" + (log() if log else ""))


def run_coroutine(coro, timeout: float):
    """Run ``coro`` on a fresh event loop in a thread of its own: callers may already be inside an
    event loop (pytest-jupyter, Playwright's sync API)."""
    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(asyncio.wait_for(coro, timeout))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout + 10)
    if "error" in result:
        if isinstance(result["error"], asyncio.TimeoutError):
            raise HubError(f"timed out after {timeout:.0f}s") from None
        raise result["error"]
    if "value" not in result:
        raise HubError(f"timed out after {timeout:.0f}s")
    return result["value"]


# --- the hub -----------------------------------------------------------------------------------

class Hub:
    """A JupyterHub (DummyAuthenticator, LocalProcessSpawner, CHP on 127.0.0.1) with ``mlgov serve``
    as a managed service running as ``mlgov``.

    ``db_url``: the service's store (default: SQLite in its data dir); its password, if any, lives
    only in the service's own 0600 config file. ``admin_users``: mlgov admins (service config).
    ``python``: the environment users' servers, kernels and the service run from (default: this one).
    ``service_config``: more lines for the service's config file (``c.MlgovServe.x = ...``).
    """

    def __init__(self, db_url: str = "", admin_users=("mlgov-admin",), python: str | None = None,
                 users=LOGIN_USERS, password: str | None = None, start_timeout: float = 90,
                 service_config: tuple[str, ...] = ()):
        self.db_url = db_url
        self.service_config = tuple(service_config)
        self.admin_users = list(admin_users)
        self.python = python or sys.executable
        self.bin = Path(self.python).parent
        self.users = tuple(users)
        self.password = password or secrets.token_urlsafe(9)
        self.start_timeout = start_timeout
        self.admin_token = secrets.token_hex(32)
        self.workdir: Path | None = None
        self.service_dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._tokens: dict[str, str] = {}
        self._kernels: dict[str, str] = {}
        self._log_file = None

    # paths and URLs
    @property
    def url(self) -> str:
        """The hub's public URL (the proxy), ending in '/'."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def data_dir(self) -> Path:
        return self.service_dir / "data"

    @property
    def config_file(self) -> Path:
        return self.service_dir / "mlgov_config.py"

    @property
    def log_path(self) -> Path:
        return self.workdir / "jupyterhub.log"

    @property
    def service_url(self) -> str:
        """Where kernels and single-user servers reach the service directly."""
        return f"http://127.0.0.1:{self.service_port}/services/{SERVICE_NAME}/"

    def log_tail(self, lines: int = 80) -> str:
        if not self.workdir or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"\n--- last {len(text)} lines of {self.log_path} ---\n" + "\n".join(text)

    # life cycle
    def __enter__(self) -> "Hub":
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> "Hub":
        """Users, directories, config; then the hub (proxy, service) until the hub API and the
        service answer. Raises HubError (with the hub's log) if anything is not up in time."""
        if os.geteuid() != 0:
            raise HubError("the team-mode hub needs root (it creates users and spawns servers as them)")
        for tool in ("useradd", "runuser"):
            if not shutil.which(tool):
                raise HubError(f"{tool} is not installed")
        self.chp = shutil.which("configurable-http-proxy")
        if not self.chp:
            raise HubError("configurable-http-proxy is not installed (npm install -g configurable-http-proxy)")
        if not (self.bin / "jupyterhub").exists():
            raise HubError(f"jupyterhub is not installed in {self.bin.parent} (pip install -e '.[test]')")
        for name in self.users:
            ensure_user(name)
        ensure_user(SERVICE_USER, login=False)
        check_environment_usable(self.python, self.users[0])
        self.port, self.hub_port, self.proxy_api_port, self.service_port = (free_port() for _ in range(4))
        self._make_service_dir()
        self._make_workdir()
        self._launch()
        try:
            wait_until(self._hub_up, self.start_timeout, "the hub API", log=self.log_tail)
            wait_until(self._service_up, self.start_timeout, f"the {SERVICE_NAME} service at "
                       f"{self.service_url}", log=self.log_tail)
        except BaseException:
            self.stop()
            raise
        return self

    def _make_service_dir(self) -> None:
        """The service's private directory (mlgov, 0700): data/ and its 0600 config file."""
        mlgov = pwd.getpwnam(SERVICE_USER)
        self.service_dir = Path(tempfile.mkdtemp(prefix="mlgov-service-"))
        self.data_dir.mkdir(mode=0o700)
        lines = [f"c.MlgovServe.admin_users = {self.admin_users!r}"]
        if self.db_url:
            lines.append(f"c.MlgovServe.db_url = {self.db_url!r}")
        lines.extend(self.service_config)
        fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        for path in (self.service_dir, self.data_dir, self.config_file):
            os.chown(path, mlgov.pw_uid, mlgov.pw_gid)
        self.service_dir.chmod(0o700)

    def _serve_command(self) -> list[str] | None:
        """``mlgov serve`` (configure_mlgov's default) if the CLI has it, else the module itself."""
        probe = subprocess.run([self.python, "-m", "mlgov_jupyter.cli", "serve", "--help"],
                               capture_output=True, timeout=60)
        if probe.returncode == 0:
            return None
        return [self.python, "-m", "mlgov_jupyter.server.serve", f"--data-dir={self.data_dir}",
                f"--config={self.config_file}"]

    def config_text(self) -> str:
        """jupyterhub_config.py: everything on 127.0.0.1, random ports, the three users, mlgov."""
        users = set(self.users)
        return f"""\
# written by mlgov_jupyter.team_demo.Hub
from mlgov_jupyter.hub import configure_mlgov

c.JupyterHub.bind_url = "http://127.0.0.1:{self.port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{self.hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{self.chp!r}]
c.JupyterHub.db_url = "sqlite:///{self.workdir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{self.workdir}/jupyterhub_cookie_secret"
c.JupyterHub.cleanup_servers = True

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {self.password!r}
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.load_groups = {{"data-science": {{"users": ["bob"]}}}}

c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [{str(self.bin / "jupyterhub-singleuser")!r}]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90

# the harness: creates users' tokens, starts their servers (test and demo only)
c.JupyterHub.services = [{{"name": {HARNESS_SERVICE!r}, "api_token": {self.admin_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "mlgov-harness", "scopes": {HARNESS_SCOPES!r},
                            "services": [{HARNESS_SERVICE!r}]}}]

configure_mlgov(c, name={SERVICE_NAME!r}, port={self.service_port}, user={SERVICE_USER!r},
                data_dir={str(self.data_dir)!r}, config_file={str(self.config_file)!r},
                command={self._serve_command()!r})
"""

    def _make_workdir(self) -> None:
        """The hub's directory (root, 0700): its config (holds the harness token), db, log."""
        self.workdir = Path(tempfile.mkdtemp(prefix="mlgov-hub-"))
        self.workdir.chmod(0o700)
        fd = os.open(self.workdir / "jupyterhub_config.py", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.config_text())

    def _launch(self) -> None:
        # a clean environment: nothing of the caller's (a test store URL, say) reaches the hub,
        # and so nothing reaches the service or users' servers but what the config gives them
        path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        env = {"PATH": f"{self.bin}:{Path(self.chp).parent}:{path}", "LANG": "C.UTF-8",
               "HOME": os.environ.get("HOME", "/root")}
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(self.bin / "jupyterhub"), "-f", "jupyterhub_config.py"],
                                     cwd=self.workdir, env=env, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def _check_running(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise HubError(f"jupyterhub is not running (exit status {code})" + self.log_tail())

    def _hub_up(self) -> bool:
        self._check_running()
        return self.api("GET", "").status_code == 200

    def _service_up(self) -> bool:
        """Up when its port answers HTTP; fails at once if the hub says the service exited."""
        self._check_running()
        if f"Service {SERVICE_NAME} exited" in self.log_path.read_text(errors="replace"):
            raise HubError(f"the {SERVICE_NAME} service exited" + self.log_tail())
        import requests

        requests.get(self.service_url, timeout=5)
        return True

    def stop(self) -> None:
        """Stop the hub, which stops users' servers, its service and its proxy; kill whatever of the
        hub's process tree is left after a bounded wait. Removes the temporary directories."""
        if self.proc is None:
            return
        tree = process_tree(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # cleanup_servers: the hub stops them all at once
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in tree) and time.monotonic() < deadline:
            time.sleep(0.2)
        for p in tree:
            if _alive(p):
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None
        if self._log_file:
            self._log_file.close()
        for path in (self.workdir, self.service_dir):
            if path and path.exists():
                shutil.rmtree(path, ignore_errors=True)

    def processes(self) -> list[Proc]:
        """The hub's live process tree: the hub, proxy, service, servers, kernels."""
        self._check_running()
        return process_tree(self.proc.pid)

    # the hub's REST API
    def api(self, method: str, path: str, body=None, token: str | None = None, timeout: float = 30):
        """A call to ``/hub/api/<path>`` as the harness (or with ``token``); the requests Response."""
        import requests

        return requests.request(method, f"{self.url}hub/api/{path}", timeout=timeout,
                                headers={"Authorization": f"token {token or self.admin_token}"},
                                data=None if body is None else json.dumps(body))

    def user_token(self, name: str) -> str:
        """A hub API token of ``name``: their own server and the mlgov service, nothing else."""
        if name not in self._tokens:
            response = self.api("POST", f"users/{name}/tokens", body={
                "note": "mlgov hub harness", "expires_in": 3600,
                "scopes": [f"access:servers!user={name}", f"access:services!service={SERVICE_NAME}"]})
            if response.status_code != 201:
                raise HubError(f"cannot create a token for {name}: {response.status_code} {response.text}")
            self._tokens[name] = response.json()["token"]
        return self._tokens[name]

    def start_server(self, name: str, timeout: float = 90) -> str:
        """Start ``name``'s single-user server (if not running) and wait until it is ready; its URL."""
        self._check_running()

        def ready():
            self._check_running()
            model = self.api("GET", f"users/{name}").json()
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return True
            if not server or not server.get("pending"):
                response = self.api("POST", f"users/{name}/server")
                if response.status_code not in (201, 202, 400):  # 400: already running or pending
                    raise HubError(f"cannot start {name}'s server: {response.status_code} {response.text}")
            return False

        wait_until(ready, timeout, f"{name}'s server", interval=0.5, log=self.log_tail)
        return f"{self.url}user/{name}/"

    def start_servers(self, names=None, timeout: float = 120) -> None:
        """Start several users' servers at once (all of ``self.users`` by default) and wait for them."""
        for name in names or self.users:
            response = self.api("POST", f"users/{name}/server")
            if response.status_code not in (201, 202, 400):
                raise HubError(f"cannot start {name}'s server: {response.status_code} {response.text}")
        for name in names or self.users:
            self.start_server(name, timeout)

    # kernels
    def _user_api(self, name: str, method: str, path: str, body=None, timeout: float = 60):
        import requests

        return requests.request(method, f"{self.url}user/{name}/api/{path}", timeout=timeout,
                                headers={"Authorization": f"token {self.user_token(name)}"},
                                data=None if body is None else json.dumps(body))

    def kernel(self, name: str) -> str:
        """The id of ``name``'s kernel in their own server (started on first use, then reused)."""
        self.start_server(name)
        kernel_id = self._kernels.get(name)
        if kernel_id and self._user_api(name, "GET", f"kernels/{kernel_id}").status_code == 200:
            return kernel_id
        response = self._user_api(name, "POST", "kernels", body={"name": "python3"})
        if response.status_code != 201:
            raise HubError(f"cannot start a kernel for {name}: {response.status_code} {response.text}"
                           + self.log_tail())
        self._kernels[name] = response.json()["id"]
        return self._kernels[name]

    def run_in_kernel(self, name: str, code: str, timeout: float = 60) -> tuple[str, str | None]:
        """Execute ``code`` in ``name``'s kernel (their own server, as their Unix user) over the
        kernel websocket through the hub's proxy, with their token. Returns (stdout, error): the
        streams and results printed, and ``"EName: message"`` if the code raised (else None)."""
        kernel_id = self.kernel(name)
        url = (f"ws://127.0.0.1:{self.port}/user/{name}/api/kernels/{kernel_id}/channels"
               f"?session_id={uuid.uuid4().hex}")
        try:
            return run_coroutine(_execute(url, self.user_token(name), name, code), timeout)
        except HubError as exc:
            raise HubError(f"{name}'s kernel: {exc} running {code!r}" + self.log_tail(30)) from None


async def _execute(url: str, token: str, user: str, code: str) -> tuple[str, str | None]:
    """One execute_request over a kernel's websocket (Jupyter's JSON message protocol)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    request = HTTPRequest(url, headers={"Authorization": f"token {token}"})
    conn = await websocket_connect(request)
    msg_id = uuid.uuid4().hex
    conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    out, error, replied, idle = [], None, False, False
    try:
        while not (replied and idle):
            raw = await conn.read_message()
            if raw is None:
                raise HubError(f"the kernel's websocket closed ({conn.close_code} {conn.close_reason})")
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind in ("execute_result", "display_data") and "text/plain" in content.get("data", {}):
                out.append(content["data"]["text/plain"] + "\n")
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
    finally:
        conn.close()
    return "".join(out), error


def main() -> None:
    """``make team-demo``: a hub with alice, bob and mallory, mlgov serve as mlgov; Ctrl-C stops it."""
    # the store URL (with its password) comes from the environment, never the command line,
    # which every user of the machine can read in ps
    hub = Hub(db_url=os.environ.pop("MLGOV_TEAM_DB_URL", ""))
    print("starting JupyterHub with mlgov serve (team mode)...", flush=True)
    try:
        hub.start()
    except HubError as exc:
        sys.exit(f"team demo: {exc}")
    try:
        print(f"\nJupyterHub: {hub.url}\n"
              f"  log in as alice, bob or mallory, password: {hub.password}\n"
              f"  (bob is in the hub group data-science)\n"
              f"  mlgov serve runs as {SERVICE_USER} at {hub.service_url}, data in {hub.data_dir}\n"
              f"  hub log: {hub.log_path}\n\nCtrl-C stops everything.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while hub.proc.poll() is None:
            time.sleep(1)
        print("jupyterhub exited" + hub.log_tail(), file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping...", flush=True)
        hub.stop()


if __name__ == "__main__":
    main()
