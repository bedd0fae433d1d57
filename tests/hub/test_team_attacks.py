"""Team mode as a hostile user tries it: every bypass that worked on the old shared server, run
from mallory's real kernel (Unix user mallory, her own single-user server under JupyterHub),
fails. Each attempt prints one line "name: refused ..." or "name: ALLOWED ..."; the test asserts
the verdict of every line, and a few lines that must be allowed keep the probe honest."""

from __future__ import annotations

import json
import subprocess

import pytest

PROBE = r'''
import json, os, sqlite3, glob, urllib.request, urllib.error, secrets
import pandas as pd
import mlgov_jupyter as mg
results = {}

def attempt(name, fn):
    try:
        value = fn()
        results[name] = "ALLOWED " + repr(value)[:300]
    except BaseException as exc:  # noqa: BLE001 - a probe records every outcome
        results[name] = f"refused {type(exc).__name__}: {str(exc)[:200]}"

T = __TARGETS__

def read(path, n=64):
    with open(path, "rb") as f:
        return f.read(n)

def http(url, headers=None, data=None, method=None):
    req = urllib.request.Request(url, headers=headers or {}, data=data, method=method)
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(req, timeout=30) as resp:
        return resp.status, resp.read()[:300]

me = os.environ["JUPYTERHUB_API_TOKEN"]
svc = os.environ["MLGOV_SERVER_URL"]

# 1. the store, the data, the key, the service's config, the hub's secrets: not readable
attempt("read store file", lambda: read(T["data_dir"] + "/mlgov.sqlite"))
attempt("sqlite open store", lambda: sqlite3.connect(f"file:{T['data_dir']}/mlgov.sqlite?mode=ro", uri=True)
        .execute("select count(*) from audit_events").fetchall())
attempt("list data dir", lambda: os.listdir(T["data_dir"]))
attempt("read signing key", lambda: read(T["data_dir"] + "/audit-signing-key.pem"))
attempt("read service config", lambda: read(T["config_file"]))
attempt("read hub cookie secret", lambda: read(T["hub_dir"] + "/jupyterhub_cookie_secret"))
attempt("read hub database", lambda: read(T["hub_dir"] + "/jupyterhub.sqlite"))
# 2. another user's token: environment, history, home
attempt("alice server environ", lambda: read(f"/proc/{T['alice_pid']}/environ", 4096))
attempt("alice home", lambda: os.listdir(T["alice_home"]))
attempt("alice history", lambda: read(T["alice_home"] + "/.ipython/profile_default/history.sqlite"))
attempt("service environ", lambda: read(f"/proc/{T['service_pid']}/environ", 4096))
# 3. acting as someone else through any client path
attempt("connect as alice", lambda: mg.connect(user="alice").whoami())
attempt("forged token header", lambda: http(svc + "api/mlgov/whoami", {"Authorization": "token alice"}))
attempt("no token", lambda: http(svc + "api/mlgov/whoami"))
attempt("forwarded-user header", lambda: json.loads(http(svc + "api/mlgov/whoami",
        {"Authorization": f"token {me}", "X-Forwarded-User": "alice", "X-Remote-User": "alice"})[1])["name"])
from tornado.web import create_signed_value  # a cookie signed with a guessed secret
forged = create_signed_value(secrets.token_bytes(32), T["cookie_name"], me).decode()
attempt("forged service cookie", lambda: http(svc + "api/mlgov/whoami", {"Cookie": f"{T['cookie_name']}={forged}"}))
attempt("alice's server forwarder", lambda: http(T["hub_url"] + "user/alice/api/mlgov/whoami",
        {"Authorization": f"token {me}"}))
attempt("alice's kernels", lambda: http(T["hub_url"] + "user/alice/api/kernels", {"Authorization": f"token {me}"}))
attempt("in-process on the team store", lambda: (os.environ.pop("MLGOV_SERVER_URL"),
        os.environ.__setitem__("MLGOV_DB_URL", f"sqlite:///{T['data_dir']}/mlgov.sqlite"),
        mg.connect(user="alice").add_member("clinical", "mallory", "owner")))
os.environ["MLGOV_SERVER_URL"] = svc
os.environ.pop("MLGOV_DB_URL", None)
# 4. becoming admin
os.environ["MLGOV_ADMINS"] = "mallory"
c = mg.connect()

def admin_flag():
    if not c.whoami()["is_admin"]:
        raise PermissionError("not admin")
    return True

from mlgov_jupyter.core.roles import Role
attempt("admin flag", admin_flag)
attempt("whole audit log", lambda: c.audit(limit=5))
attempt("create role", lambda: c._call("POST", "roles", body={"role": Role.from_persona("mallory-all", "admin").to_dict()}))
attempt("add herself to clinical", lambda: c.add_member("clinical", "mallory", "owner"))
# 5. the data she was not granted: no byte of it
attempt("use pii", lambda: c.use(T["pii"]))
attempt("data over REST", lambda: http(svc + f"api/mlgov/assets/{T['pii']}/data", {"Authorization": f"token {me}"}))

def leaked_values():
    text = json.dumps(c._call("GET", f"assets/{T['pii']}"))
    found = [v for v in T["pii_values"] if v in text]
    if not found:
        raise PermissionError("no value of the data in the asset's metadata")
    return found

attempt("values in asset detail", leaked_values)
# sanity: what mallory may do still works (the probe can tell allowed from refused)
attempt("ok: whoami", lambda: c.whoami()["name"])
attempt("ok: search finds pii", lambda: [a["name"] for a in c._call("GET", "assets", {"q": ""})["items"]])
attempt("ok: own kernel's home", lambda: os.listdir(os.path.expanduser("~")) is not None)
print("PROBE " + json.dumps(results))
'''


def _pid(user: str, needle: str) -> int:
    out = subprocess.run(["pgrep", "-u", user, "-f", needle], capture_output=True, text=True).stdout.split()
    assert out, f"no {needle} process of {user}"
    return int(out[0])


@pytest.fixture(scope="module")
def probe(hub):
    """alice owns a project with a pii dataset; mallory's kernel runs the probe; its verdicts."""
    for user in ("alice", "mallory"):
        hub.start_server(user)
    out, err = hub.run_in_kernel("alice", (
        "import pandas as pd, mlgov_jupyter as mg\n"
        "c = mg.connect()\n"
        "if 'clinical' not in [p['name'] for p in c.projects()]:\n"
        "    c.create_project('clinical')\n"
        "df = pd.DataFrame({'ssn': ['123-45-6789', '987-65-4321', '555-12-3456'],"
        " 'diagnosis': ['zx-rare-flu', 'zx-rare-flu', 'zx-asthma'], 'age': [41, 52, 63]})\n"
        "c.publish(df, name='patients-pii', project='clinical', classification='pii')\n"
        "print('published', c.whoami()['name'])\n"))
    assert err is None and "published alice" in out, (out, err, hub.log_tail())
    targets = {
        "data_dir": str(hub.data_dir), "config_file": str(hub.config_file), "hub_dir": str(hub.workdir),
        "alice_pid": _pid("alice", "jupyterhub-singleuser"), "service_pid": _pid("mlgov", "serve"),
        "alice_home": "/home/alice", "hub_url": hub.url, "cookie_name": "service-mlgov",
        "pii": "patients-pii", "pii_values": ["123-45-6789", "zx-rare-flu", "zx-asthma"],
    }
    out, err = hub.run_in_kernel("mallory", PROBE.replace("__TARGETS__", repr(targets)), timeout=120)
    assert err is None, (out, err)
    line = next(x for x in out.splitlines() if x.startswith("PROBE "))
    return json.loads(line[len("PROBE "):])


MUST_REFUSE = ["read store file", "sqlite open store", "list data dir", "read signing key", "read service config",
               "read hub cookie secret", "read hub database", "alice server environ", "alice home",
               "alice history", "service environ", "connect as alice", "forged token header", "no token",
               "forged service cookie", "alice's server forwarder", "alice's kernels",
               "in-process on the team store", "admin flag", "whole audit log", "create role",
               "add herself to clinical", "use pii", "data over REST", "values in asset detail"]


@pytest.mark.parametrize("attack", MUST_REFUSE)
def test_mallory_is_refused(probe, attack):
    assert probe[attack].startswith("refused"), f"{attack}: {probe[attack]}"


@pytest.mark.parametrize("attack", ["whole audit log", "create role", "add herself to clinical", "use pii"])
def test_the_service_says_forbidden(probe, attack):
    assert probe[attack].startswith("refused Forbidden"), f"{attack}: {probe[attack]}"


def test_forwarded_user_headers_do_not_change_who_she_is(probe):
    assert probe["forwarded-user header"] == "ALLOWED 'mallory'"


def test_probe_can_tell_allowed_from_refused(probe):
    assert probe["ok: whoami"] == "ALLOWED 'mallory'"
    assert "patients-pii" in probe["ok: search finds pii"]  # discoverable, not readable
    assert probe["ok: own kernel's home"].startswith("ALLOWED")


SUBSCRIBE = r'''
import pwd, zmq
uid = pwd.getpwnam("alice").pw_uid
ports = []
for path in ("/proc/net/tcp", "/proc/net/tcp6"):
    for f in (line.split() for line in open(path).read().splitlines()[1:]):
        if f[3] == "0A" and int(f[7]) == uid:  # LISTEN sockets of alice's processes
            ports.append(int(f[1].split(":")[-1], 16))
ctx = zmq.Context.instance()
socks = []
for p in ports:
    s = ctx.socket(zmq.SUB); s.setsockopt(zmq.SUBSCRIBE, b""); s.setsockopt(zmq.LINGER, 0)
    s.connect(f"tcp://127.0.0.1:{p}"); socks.append(s)
print("ports", sorted(ports))
'''

LISTEN = r'''
import time
poller = zmq.Poller()
for s in socks:
    poller.register(s, zmq.POLLIN)
heard, deadline = [], time.time() + 4
while time.time() < deadline:
    for s, _ in poller.poll(200):
        heard.append(b"".join(s.recv_multipart()))
print("HEARD", any(b"alice-secret-7f3a" in m for m in heard), len(heard))
'''


def test_mallory_cannot_listen_to_alices_kernel(hub):
    """With LocalProcessSpawner every user's kernel used to listen on localhost TCP, where any
    user could subscribe to its iopub channel (no key needed) and read its output and inputs.
    configure_mlgov puts kernels on IPC sockets in the user's private runtime directory."""
    hub.start_server("alice")
    hub.start_server("mallory")
    out, err = hub.run_in_kernel("alice", "import json, os\nfrom ipykernel.connect import get_connection_info\n"
                                          "print(json.loads(get_connection_info())['transport'])")
    assert err is None and out.strip() == "ipc", (out, err)
    out, err = hub.run_in_kernel("mallory", SUBSCRIBE)
    assert err is None, (out, err)
    out, err = hub.run_in_kernel("alice", "print('alice-secret-7f3a')")
    assert err is None and "alice-secret-7f3a" in out
    out, err = hub.run_in_kernel("mallory", LISTEN)
    assert err is None and "HEARD False" in out, out


MODEL_ATTACK = r'''
import json, os, socket, subprocess, sys, urllib.parse
import numpy as np, skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.kernel.isolated_model import load_isolated, IsolatedModel
honest = c.use(__MODEL__)  # bob's model: isolated, sandboxed, predicts
print("HONEST", isinstance(honest, IsolatedModel), honest.sandbox,
      [int(v) for v in honest.predict(np.array([[0.], [3.]]))])
home = os.path.expanduser("~")
os.makedirs(home + "/.ssh", exist_ok=True)
with open(home + "/.ssh/mlgov-test-key", "w") as f:
    f.write("alice-private")
abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
abstract.bind("\0mlgov-alice-" + __TAG__); abstract.listen()
targets = {"kernel": os.getpid(), "home": home, "secret": home + "/.ssh/mlgov-test-key",
           "write": home + "/pwned-" + __TAG__, "abstract": "\0mlgov-alice-" + __TAG__}
ports = {"hub": urllib.parse.urlsplit(os.environ["JUPYTERHUB_API_URL"]).port,
         "mlgov": urllib.parse.urlsplit(os.environ["MLGOV_SERVER_URL"]).port}
results = {}
for what, port in ports.items():
    def probe(raise_):
        code = __PROBE__.replace("__TARGETS__", repr({**targets, "port": port, "raise": raise_}))
        return f"exec({code!r}, {{}})"
    # outside the sandbox (a plain child of alice's kernel) every attempt works: the probe is honest
    plain = subprocess.run([sys.executable, "-I", "-c", probe(False)], capture_output=True, text=True,
                           timeout=60)
    assert "PROBE " in plain.stdout, plain.stderr[-1500:]
    results["plain " + what] = json.loads(plain.stdout.split("PROBE ", 1)[1])
    os.path.exists(targets["write"]) and os.unlink(targets["write"])
    # the same code run by a model's loader path inside the worker (the worker's own entry)
    evil = Pipeline([("fill", FunctionTransformer(np.full_like, kw_args={"fill_value": probe(True), "dtype": object})),
                     ("flat", FunctionTransformer(np.ravel)), ("first", FunctionTransformer(min)),
                     ("run", FunctionTransformer(exec))])
    data = sio.dumps(evil)
    m = load_isolated("evil", data, sio.get_untrusted_types(data=data))
    try:
        m.transform(np.zeros((1, 1)))
    except Invalid as exc:
        results["worker " + what] = json.loads(str(exc).split("PROBE ", 1)[1])
    m.close()
results["written"] = os.path.exists(targets["write"])
print("ATTACK " + json.dumps(results))
'''


def test_another_users_model_in_alices_kernel_reaches_none_of_her_secrets(hub):
    """Issue 9: alice's kernel uses bob's model; code run by a model inside the isolated worker
    (here: a pipeline whose transform execs a probe, loaded through the worker's own entry) cannot
    read her kernel's environment (her hub token) or memory, her files, write, connect to the hub
    or the mlgov service, use an abstract socket, or signal, ptrace or exec; the same probe run as
    a plain child of her kernel can."""
    import uuid

    from test_model_sandbox import ATTEMPTS, PROBE

    tag = uuid.uuid4().hex[:8]
    for user in ("alice", "bob"):
        hub.start_server(user)
    out, err = hub.run_in_kernel("bob", (
        "import numpy as np, mlgov_jupyter as mg\nfrom sklearn.linear_model import LogisticRegression\n"
        f"c = mg.connect()\nc.create_project('models-{tag}')\nc.add_member('models-{tag}', 'alice', 'consumer')\n"
        "c.publish(LogisticRegression().fit(np.array([[0.], [1.], [2.], [3.]]), [0, 0, 1, 1]),\n"
        f"          name='lr-{tag}', project='models-{tag}')\n"), timeout=120)
    assert err is None, (out, err)
    code = ("import mlgov_jupyter as mg\nc = mg.connect()\n" + MODEL_ATTACK.replace("__MODEL__", repr(f"lr-{tag}"))
            .replace("__TAG__", repr(tag)).replace("__PROBE__", repr(PROBE)))
    out, err = hub.run_in_kernel("alice", code, timeout=240)
    assert err is None, (out, err)
    honest = next(line for line in out.splitlines() if line.startswith("HONEST "))
    assert honest.startswith("HONEST True landlock ABI ") and honest.endswith("[0, 1]"), honest
    got = json.loads(next(line for line in out.splitlines() if line.startswith("ATTACK "))[len("ATTACK "):])
    for what in ("hub", "mlgov"):
        assert got["plain " + what] == dict.fromkeys(ATTEMPTS, "ok"), got
        assert set(got["worker " + what]) == set(ATTEMPTS), got
        refused = {k: v for k, v in got["worker " + what].items() if v != "ok"}
        assert refused == got["worker " + what], f"allowed in the worker: {got['worker ' + what]}"
    assert got["written"] is False


PAGE_TABLES = r'''
import json
import numpy as np, skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.kernel.isolated_model import load_isolated
code = "exec(%r, {})" % __PROBE__
evil = Pipeline([("fill", FunctionTransformer(np.full_like, kw_args={"fill_value": code, "dtype": object})),
                 ("flat", FunctionTransformer(np.ravel)), ("first", FunctionTransformer(min)),
                 ("run", FunctionTransformer(exec))])
data = sio.dumps(evil)
m = load_isolated("evil", data, sio.get_untrusted_types(data=data))
limit = [l.split()[3] for l in open(f"/proc/{m._worker.proc.pid}/limits") if l.startswith("Max address space")][0]
try:
    m.transform(np.zeros((1, 1)))
except Invalid as exc:
    print("PAGES " + json.dumps({**json.loads(str(exc).split("PROBE ", 1)[1]), "limit": limit}))
m.close()
'''


def test_a_model_in_mallorys_kernel_cannot_grow_page_tables_or_pipes(hub):
    """R11's F3 and F7 as Unix user mallory in her real hub kernel (no memory cgroup there): code
    run by a model in the isolated worker maps no 64 GiB read-only or PROT_NONE region and grows
    none by mremap (ENOMEM: RLIMIT_AS), reading a byte per 2 MiB of read-only pieces until refused
    gives page tables of a few MiB (1.2 GB before), and F_SETPIPE_SZ with a high bit is EPERM."""
    from test_model_sandbox import ADDRESS_PROBE

    hub.start_server("mallory")
    out, err = hub.run_in_kernel("mallory", PAGE_TABLES.replace("__PROBE__", repr(ADDRESS_PROBE)), timeout=240)
    assert err is None, (out, err)
    got = json.loads(next(line for line in out.splitlines() if line.startswith("PAGES "))[len("PAGES "):])
    assert got["limit"] != "unlimited", got
    assert got["read-only 64 GiB"] == got["no-access 64 GiB"] == got["mremap to 64 GiB"] == "ENOMEM", got
    assert got["mapped MiB"] << 20 <= int(got["limit"]) and got["VmPTE kB"] < 16 << 10, got
    assert got["pipe"] == got["pipe, high bit"] == "EPERM" and got["pipe size"] == 65536, got
