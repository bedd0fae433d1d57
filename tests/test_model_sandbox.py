"""Issue 9's open finding: the isolated model's worker ran as the kernel's own Unix user, so code
that runs in it (a loader exploit, memory corruption by a crafted model) could read the kernel's
token from /proc/<kernel>/environ, the user's files, write files, connect to the service and
signal or ptrace the kernel. The worker now sandboxes itself (kernel/sandbox.py) before it reads
the model. Here the attacker's code runs for real inside the worker: a model whose pipeline ends in
``builtins.exec`` (refused at publish and at use() unless the reader names it, so the test stores
it past the publish check and the reader names it), whose ``transform`` runs a probe there."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import mlgov_jupyter
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.kernel import sandbox
from mlgov_jupyter.kernel.isolated_model import IsolatedModel

TRUSTED = ["builtins.exec", "builtins.min", "builtins.object", "numpy.full_like", "numpy.ravel"]

# each attempt: "ok" if it worked, else the error's errno name; printed as one JSON line (in the
# worker it comes back as the model's error: "Invalid: model 'x': RuntimeError: PROBE {...}")
PROBE = textwrap.dedent('''
    import ctypes, errno, json, os, resource, signal, socket, subprocess
    T = __TARGETS__
    r = {}
    def attempt(name, fn):
        try:
            fn()
            r[name] = "ok"
        except OSError as exc:
            r[name] = errno.errorcode.get(exc.errno, str(exc.errno))
        except BaseException as exc:
            r[name] = type(exc).__name__
    def rd(path):
        with open(path, "rb") as f:
            return f.read(64)
    def wr(path):
        with open(path, "w") as f:
            f.write("pwned")
    def ptrace():
        libc = ctypes.CDLL(None, use_errno=True)  # PTRACE_SEIZE: traced, not stopped; let go at exit
        if libc.ptrace(0x4206, T["kernel"], 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "ptrace")
    def abstract():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(T["abstract"])
    attempt("environ", lambda: rd(f"/proc/{T['kernel']}/environ"))
    attempt("mem", lambda: open(f"/proc/{T['kernel']}/mem", "rb").close())  # opened: readable
    attempt("home file", lambda: rd(T["secret"]))
    attempt("home list", lambda: os.listdir(T["home"]))
    attempt("via /proc/self/root", lambda: rd("/proc/self/root" + T["secret"]))
    attempt("prlimit", lambda: resource.prlimit(T["kernel"], resource.RLIMIT_NOFILE,
                                                resource.prlimit(T["kernel"], resource.RLIMIT_NOFILE)))
    attempt("write", lambda: wr(T["write"]))
    attempt("tcp", lambda: socket.create_connection(("127.0.0.1", T["port"]), timeout=3).close())
    attempt("abstract unix", abstract)
    attempt("signal", lambda: os.kill(T["kernel"], 0))
    attempt("ptrace", ptrace)
    attempt("exec", lambda: subprocess.run(["/bin/true"], check=True))
    line = "PROBE " + json.dumps(r, separators=(",", ":"))
    if T["raise"]:
        raise RuntimeError(line)
    print(line)
''')

ATTEMPTS = ["environ", "mem", "home file", "home list", "via /proc/self/root", "prlimit", "write", "tcp",
            "abstract unix", "signal", "ptrace", "exec"]


def _evil(code: str) -> Pipeline:
    """A pipeline whose transform runs ``code``: fill an array with it, take it back, exec it."""
    return Pipeline([("fill", FunctionTransformer(np.full_like, kw_args={"fill_value": code, "dtype": object})),
                     ("flat", FunctionTransformer(np.ravel)), ("first", FunctionTransformer(builtins_min)),
                     ("run", FunctionTransformer(builtins_exec))])


builtins_min, builtins_exec = min, exec


@pytest.fixture
def victim(tmp_path, monkeypatch):
    """The kernel's secrets (this process plays the kernel): tokens in its environment, a key
    in its user's home, a service listening on localhost, an abstract UNIX socket."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE-KEY-0x5ec")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "SECRET-HUB")
    monkeypatch.setenv("MLGOV_TOKEN", "SECRET-MLGOV")
    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'sbx.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    monkeypatch.delenv("MLGOV_ISOLATED", raising=False)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(f"\0mlgov-sbx-{os.getpid()}")
    abstract.listen()
    abstract.settimeout(0.5)
    targets = {"kernel": os.getpid(), "home": str(home), "secret": str(home / ".ssh" / "id_ed25519"),
               "write": str(home / "pwned"), "port": listener.getsockname()[1],
               "abstract": f"\0mlgov-sbx-{os.getpid()}"}
    yield targets, listener, abstract
    listener.close()
    abstract.close()


def _probe(targets: dict, raise_: bool) -> str:
    """The probe as one statement that runs it in globals of its own (exec in a transformer
    runs it in a function's frame)."""
    return f"exec({PROBE.replace('__TARGETS__', repr({**targets, 'raise': raise_}))!r}, {{}})"


def _nobody_called(listener, abstract) -> bool:
    for s in (listener, abstract):
        try:
            s.accept()[0].close()
            return False
        except (TimeoutError, socket.timeout):
            pass
    return True


def test_the_probe_succeeds_without_the_sandbox(victim, tmp_path):
    """Honesty of the probe: run as an ordinary child of the kernel, every attempt works."""
    targets, listener, abstract = victim
    out = subprocess.run([sys.executable, "-I", "-c", _probe(targets, raise_=False)], capture_output=True,
                         text=True, timeout=60, env={**os.environ})
    got = json.loads(out.stdout.split("PROBE ", 1)[1])
    assert got == dict.fromkeys(ATTEMPTS, "ok"), got
    os.unlink(targets["write"])
    listener.accept()[0].close()
    abstract.accept()[0].close()


def test_attacker_code_in_the_worker_reaches_nothing_and_predict_still_works(victim):
    targets, listener, abstract = victim
    if sandbox.landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock (use() refuses here; see the fail-closed test)")
    mallory, alice = mlgov_jupyter.connect(user="mallory"), mlgov_jupyter.connect(user="alice")
    mallory.create_project("shop")
    mallory.add_member("shop", "alice", "consumer")
    # stored past the publish check (as bytes stored before it existed): the reader names the types
    from mlgov_jupyter.service import catalog

    check, catalog._check_skops = catalog._check_skops, lambda data: None
    try:
        mallory.publish(_evil(_probe(targets, raise_=True)), name="evil", project="shop")
    finally:
        catalog._check_skops = check
    mallory.publish(LogisticRegression().fit(np.array([[0.], [1.], [2.], [3.]]), [0, 0, 1, 1]),
                    name="honest", project="shop")

    model = alice.use("evil", trusted=TRUSTED)
    assert isinstance(model, IsolatedModel) and model.sandbox.startswith("landlock ABI ")
    with pytest.raises(Invalid, match="PROBE") as err:
        model.transform(np.zeros((1, 1)))  # the publisher's code runs, in the worker
    got = json.loads(str(err.value).split("PROBE ", 1)[1])
    assert set(got) == set(ATTEMPTS)
    assert all(v != "ok" for v in got.values()), got
    # refused by the file system rules, the ptrace rule (Landlock) or seccomp
    assert got["environ"] == got["mem"] == got["home file"] == got["home list"] == "EACCES", got
    assert got["via /proc/self/root"] == "EACCES" and got["prlimit"] == "EPERM", got
    assert got["write"] == "EACCES" and got["tcp"] == got["abstract unix"] == "EPERM", got
    assert got["signal"] == got["ptrace"] == got["exec"] == "EPERM", got
    assert not os.path.exists(targets["write"]) and _nobody_called(listener, abstract)
    # the worker lives on after the model's error; an honest model beside it predicts
    with pytest.raises(Invalid, match="PROBE"):
        model.transform(np.zeros((1, 1)))
    honest = alice.use("honest")
    assert honest.sandbox == model.sandbox
    assert [int(v) for v in honest.predict(np.array([[0.], [3.]]))] == [0, 1]


FAIL_CLOSED = textwrap.dedent('''
    import errno, sys
    import numpy as np, pyseccomp, skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from mlgov_jupyter.core.errors import Invalid
    from mlgov_jupyter.kernel.isolated_model import load_isolated
    data = sio.dumps(LogisticRegression().fit(np.array([[0.], [1.], [2.], [3.]]), [0, 0, 1, 1]))
    # this process and its children now run on a "kernel without Landlock"
    f = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    f.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "landlock_create_ruleset")
    f.load()
    try:
        load_isolated("lr", data, [])
        print("LOADED")
    except Invalid as exc:
        print("REFUSED", exc)
    m = load_isolated("lr", data, [], unsandboxed=True)
    print("OPTED", m.sandbox, [int(v) for v in m.predict(np.array([[0.], [3.]]))])
''')


def test_without_landlock_use_refuses_unless_the_user_opts_out(tmp_path):
    """Fail closed: where the worker cannot sandbox itself (here: a kernel whose Landlock
    answers ENOSYS), loading refuses with one line naming the opt-out; with it, the model runs."""
    out = subprocess.run([sys.executable, "-c", FAIL_CLOSED], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    refused, opted = [line for line in out.stdout.splitlines() if line.startswith(("REFUSED", "OPTED", "LOADED"))]
    assert refused.startswith("REFUSED model 'lr' cannot run sandboxed on this machine (the Linux kernel "
                              "offers no Landlock"), refused
    assert "isolated='unsandboxed'" in refused and "MLGOV_ISOLATED=unsandboxed" in refused
    assert opted.startswith("OPTED unsandboxed (the Linux kernel offers no Landlock") and opted.endswith("[0, 1]")


def test_use_names_the_opt_out_and_checks_its_value(victim):
    mallory, alice = mlgov_jupyter.connect(user="mallory"), mlgov_jupyter.connect(user="alice")
    mallory.create_project("shop")
    mallory.add_member("shop", "alice", "consumer")
    mallory.publish(LogisticRegression().fit(np.array([[0.], [1.]]), [0, 1]), name="lr", project="shop")
    with pytest.raises(Invalid, match="isolated must be True, False or 'unsandboxed', not 'yes'"):
        alice.use("lr", isolated="yes")
    m = alice.use("lr", isolated="unsandboxed")  # allowed to run without; sandboxed where it can be
    assert isinstance(m, IsolatedModel)
    assert m.sandbox.startswith("landlock ABI ") or m.sandbox.startswith("unsandboxed (")


def test_a_python_installed_over_the_home_directory_is_not_made_readable(tmp_path, monkeypatch):
    """The file rules grant the Python installation; if that is the home directory (or /), the
    sandbox would expose what it protects: refused (so use() refuses, naming the opt-out)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert str(home) not in sandbox.readable_paths()
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path))
    with pytest.raises(sandbox.Unavailable, match=f"would have to read {tmp_path}, which holds the home"):
        sandbox.readable_paths()
    monkeypatch.setattr(sys, "base_prefix", "/")
    with pytest.raises(sandbox.Unavailable, match="would have to read /, which holds the home"):
        sandbox.readable_paths()


PROCESS_PROBE = textwrap.dedent('''
    import ctypes, errno, json, os, threading, time
    from mlgov_jupyter.kernel import sandbox
    sandbox.enter()
    libc = ctypes.CDLL(None, use_errno=True)
    r = {}
    def attempt(name, fn):
        try:
            fn()
            r[name] = "ok"
        except OSError as exc:
            r[name] = errno.errorcode.get(exc.errno, str(exc.errno))
    def ioprio(which):
        if libc.syscall(251, which, 0, 3 << 13) != 0:  # ioprio_set(which, 0, class IDLE)
            raise OSError(ctypes.get_errno(), "ioprio_set")
    def rd(path):
        with open(path, "rb") as f:
            f.read(64)
    def fork():
        if os.fork() == 0:
            os._exit(0)
    def thread():
        t = threading.Thread(target=time.sleep, args=(0.01,))
        t.start()
        t.join()
    attempt("renice user", lambda: os.setpriority(os.PRIO_USER, 0, 19))
    attempt("renice group", lambda: os.setpriority(os.PRIO_PGRP, 0, 19))
    attempt("ioprio user", lambda: ioprio(3))
    attempt("ioprio group", lambda: ioprio(2))
    attempt("fork", fork)
    attempt("setsid", os.setsid)
    attempt("net/tcp", lambda: rd("/proc/self/net/tcp"))
    attempt("mountinfo", lambda: rd("/proc/self/mountinfo"))
    attempt("environ", lambda: rd("/proc/self/environ"))
    # what the worker itself does
    attempt("renice self", lambda: os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0)))
    attempt("ioprio self", lambda: ioprio(1))
    attempt("thread", thread)
    attempt("maps", lambda: rd("/proc/self/maps"))
    attempt("status", lambda: rd("/proc/self/status"))
    print("PROBE " + json.dumps(r))
''')


def test_code_in_the_sandbox_cannot_renice_others_start_processes_or_read_its_proc_entry(tmp_path):
    """The red team's F2: setpriority/ioprio_set on the process group or the user's processes
    reniced the kernel and the server; fork() left a CPU-burning grandchild after close();
    /proc/self/net/tcp and mountinfo were readable. Threads, its own priority and the /proc
    files the worker reads still work."""
    if sandbox.landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock")
    libc = __import__("ctypes").CDLL(None, use_errno=True)
    nice, io = os.getpriority(os.PRIO_PROCESS, 0), libc.syscall(252, 1, 0)
    # in a session of its own, as the worker runs: its process group is not the test's
    out = subprocess.run([sys.executable, "-I", "-c", PROCESS_PROBE], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, start_new_session=True)
    got = json.loads(out.stdout.split("PROBE ", 1)[1])
    assert got == {"renice user": "EPERM", "renice group": "EPERM", "ioprio user": "EPERM",
                   "ioprio group": "EPERM", "fork": "EPERM", "setsid": "EPERM", "net/tcp": "EACCES",
                   "mountinfo": "EACCES", "environ": "EACCES", "renice self": "ok", "ioprio self": "ok",
                   "thread": "ok", "maps": "ok", "status": "ok"}, got
    assert (os.getpriority(os.PRIO_PROCESS, 0), libc.syscall(252, 1, 0)) == (nice, io)


def test_the_worker_leads_a_process_group_that_close_kills(victim):
    from mlgov_jupyter.kernel.isolated_model import load_isolated

    data = sio.dumps(LogisticRegression().fit(np.array([[0.], [1.]]), [0, 1]))
    model = load_isolated("lr", data, [])
    pid = model._worker.proc.pid
    assert os.getsid(pid) == pid and os.getpgid(pid) == pid != os.getpgid(0)
    model.close()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


MEMORY_PROBE = textwrap.dedent('''
    import ctypes, errno, json, mmap, os, warnings
    from mlgov_jupyter.kernel import sandbox
    sandbox.enter()
    import numpy as np
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    r = {}
    def attempt(name, fn):
        try:
            fn()
            r[name] = "ok"
        except OSError as exc:
            r[name] = errno.errorcode.get(exc.errno, str(exc.errno))
    def raw_mmap(flags):
        if libc.mmap(None, 1 << 20, 3, flags, -1, 0) in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
    attempt("shared anonymous", lambda: mmap.mmap(-1, 1 << 20))                  # MAP_SHARED|MAP_ANONYMOUS
    attempt("shared_validate anonymous", lambda: raw_mmap(0x03 | 0x20))
    attempt("growsdown", lambda: raw_mmap(0x02 | 0x20 | 0x100))
    attempt("memfd_create", lambda: os.memfd_create("x"))
    attempt("private anonymous", lambda: mmap.mmap(-1, 1 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS))
    # R9c's P2: socket and pipe buffers are kernel memory outside RLIMIT_DATA
    import fcntl
    import socket
    attempt("socketpair", lambda: socket.socketpair())
    rd, wr = os.pipe()
    attempt("grow a pipe", lambda: fcntl.fcntl(wr, 1031, 1 << 20))  # F_SETPIPE_SZ
    # what scikit-learn, OpenBLAS, OpenMP and joblib threads do in the worker still works
    from sklearn.cluster import KMeans
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 8)); y = (X[:, 0] > 0).astype(int)
    for est in (RandomForestClassifier(20, n_jobs=-1), HistGradientBoostingClassifier(max_iter=20),
                KNeighborsClassifier(n_jobs=-1), SVC(), MLPClassifier(max_iter=50), KMeans(3, n_init=2)):
        attempt(type(est).__name__, lambda est=est: est.fit(X, y).predict(X))
    attempt("matmul", lambda: rng.normal(size=(600, 600)) @ rng.normal(size=(600, 600)))
    print("PROBE " + json.dumps(r))
''')


def test_code_in_the_sandbox_gets_no_memory_past_its_data_limit(tmp_path):
    """The red team's N2: a shared anonymous mapping (mmap.mmap(-1, 6 GiB)) or a memfd is not
    data memory, so RLIMIT_DATA let the worker touch 6 GiB under a 1 GiB limit. Both are refused
    (and MAP_GROWSDOWN mappings, counted as stack); estimators fit and predict as before."""
    if sandbox.landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock")
    out = subprocess.run([sys.executable, "-I", "-c", MEMORY_PROBE], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path, start_new_session=True)
    assert "PROBE " in out.stdout, out.stderr[-2000:]
    got = json.loads(out.stdout.split("PROBE ", 1)[1])
    assert got == {"shared anonymous": "EPERM", "shared_validate anonymous": "EPERM", "growsdown": "EPERM",
                   "memfd_create": "EPERM", "private anonymous": "ok", "socketpair": "EPERM",
                   "grow a pipe": "EPERM", "RandomForestClassifier": "ok",
                   "HistGradientBoostingClassifier": "ok", "KNeighborsClassifier": "ok", "SVC": "ok",
                   "MLPClassifier": "ok", "KMeans": "ok", "matmul": "ok"}, got


THREAD_BOMB = textwrap.dedent('''
    import numpy as np, skops.io as sio
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer
    from mlgov_jupyter.core.errors import Invalid
    from mlgov_jupyter.kernel.isolated_model import load_isolated, thread_allowance
    body = "\\n".join([
        "import threading",
        "threading.stack_size(64 * 1024)",
        "stop, started, err = threading.Event(), [], 'none'",
        "try:",
        "    for i in range(3000):",
        "        t = threading.Thread(target=stop.wait); t.start(); started.append(t)",
        "except RuntimeError as exc:",
        "    err = str(exc)",
        "stop.set(); [t.join() for t in started]",
        "raise RuntimeError('THREADS %d %s' % (len(started), err))"])
    code = "exec(%r, {})" % body
    evil = Pipeline([("fill", FunctionTransformer(np.full_like, kw_args={"fill_value": code, "dtype": object})),
                     ("flat", FunctionTransformer(np.ravel)), ("first", FunctionTransformer(min)),
                     ("run", FunctionTransformer(exec))])
    model = load_isolated("evil", sio.dumps(evil), ["builtins.exec", "builtins.min", "builtins.object",
                                                    "numpy.full_like", "numpy.ravel"])
    try:
        model.transform(np.zeros((1, 1)))
    except Invalid as exc:
        print(str(exc).split("THREADS ", 1)[1], "allowance", thread_allowance())
    X = np.random.default_rng(0).normal(size=(300, 4)); y = (X[:, 0] > 0).astype(int)
    data = sio.dumps(RandomForestClassifier(30, n_jobs=-1).fit(X, y))
    forest = load_isolated("forest", data, sio.get_untrusted_types(data=data))
    print("FOREST", (forest.predict(X) == y).mean())
''')


def test_the_worker_cannot_start_more_threads_than_its_allowance():
    """The red team's N3: the worker started 3,000 threads (64 KiB stacks), and its memory
    headroom allowed ~58k, past the machine's pid_max for every user. RLIMIT_NPROC (the user's
    count when the worker starts plus thread_allowance()) stops it; predict with n_jobs=-1
    works. As Unix user alice: the limit does not bind root."""
    import pwd

    if os.getuid() != 0:
        pytest.skip("needs root to run the worker as another Unix user")
    try:
        pwd.getpwnam("alice")
    except KeyError:
        pytest.skip("no Unix user alice")
    out = subprocess.run([sys.executable, "-I", "-c", THREAD_BOMB], capture_output=True, text=True, timeout=300,
                         cwd="/tmp", user="alice", group="alice", extra_groups=[], env={"PATH": os.environ.get("PATH", ""), "HOME": "/tmp"})
    assert "FOREST" in out.stdout, out.stdout + out.stderr[-2000:]
    threads, forest = out.stdout.splitlines()[-2:]
    started, allowance = int(threads.split()[0]), int(threads.split()[-1])
    assert "can't start new thread" in threads and started < allowance, threads
    assert float(forest.split()[1]) == 1.0


def test_a_root_kernels_worker_is_bounded_by_a_pids_cgroup():
    """Red team R12 N7: RLIMIT_NPROC does not bind root (2,000 threads in 0.1 s, no end in
    sight). As root, the worker runs in a pids cgroup of its own whose pids.max is its
    allowance, removed when the worker is closed; predict with n_jobs=-1 still works."""
    from mlgov_jupyter.kernel.pids_cgroup import _parent

    if os.getuid() != 0 or _parent() is None:
        pytest.skip("needs root and a pids cgroup")
    # other tests' workers (pytest-xdist runs files side by side) make and remove groups meanwhile:
    # what must not be left is an empty group that was not there before
    groups = lambda: {p.name for p in _parent().glob("mlgov-model-*")}  # noqa: E731
    before = groups()
    out = subprocess.run([sys.executable, "-I", "-W", "error::RuntimeWarning", "-c",
                          THREAD_BOMB + "model.close(); forest.close()\n"],
                         capture_output=True, text=True, timeout=300, cwd="/tmp")
    assert "FOREST" in out.stdout, out.stdout + out.stderr[-2000:]
    threads, forest = out.stdout.splitlines()[-2:]
    started, allowance = int(threads.split()[0]), int(threads.split()[-1])
    assert "can't start new thread" in threads and started < allowance, threads
    assert float(forest.split()[1]) == 1.0
    left = [g for g in groups() - before if not (_parent() / g / "cgroup.procs").read_text().strip()]
    assert left == []


# R11's F3 and F7, run by the model's code in the real worker: a read-only anonymous mapping is
# not data (RLIMIT_DATA), yet reading one byte per 2 MiB of it makes the kernel allocate a 4 KiB
# page-table page each time (1.2 GB of page tables under a 589 MB data limit); fcntl's 32-bit cmd
# with a high bit set passed the F_SETPIPE_SZ rule
ADDRESS_PROBE = textwrap.dedent('''
    import ctypes, errno, json, os
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mremap.restype = ctypes.c_void_p
    libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]
    libc.syscall.restype = ctypes.c_long
    FAILED, G, M = ctypes.c_void_p(-1).value, 1 << 30, 1 << 20
    PRIVATE_ANON_NORESERVE = 0x02 | 0x20 | 0x4000
    r = {}
    def attempt(name, fn):
        try:
            fn()
            r[name] = "ok"
        except OSError as exc:
            r[name] = errno.errorcode.get(exc.errno, str(exc.errno))
    def mm(size, prot):
        a = libc.mmap(None, size, prot, PRIVATE_ANON_NORESERVE, -1, 0)
        if a in (None, FAILED):
            raise OSError(ctypes.get_errno(), "mmap")
        return a
    def grow():
        a = mm(M, 1)  # read-only: RLIMIT_DATA would count a writable one
        if libc.mremap(a, M, 64 * G, 1) in (None, FAILED):  # MREMAP_MAYMOVE
            err = ctypes.get_errno()
            libc.munmap(a, M)
            raise OSError(err, "mremap")
    attempt("read-only 64 GiB", lambda: mm(64 * G, 1))
    attempt("no-access 64 GiB", lambda: mm(64 * G, 0))
    attempt("mremap to 64 GiB", grow)
    # page tables: read-only pieces of 256 MiB, one byte read per 2 MiB, until refused (or 64 GiB)
    pieces = []
    while len(pieces) < 256:
        try:
            a = mm(256 * M, 1)
        except OSError:
            break
        pieces.append(a)
        for off in range(0, 256 * M, 2 * M):
            ctypes.string_at(a + off, 1)
    r["mapped MiB"] = 256 * len(pieces)
    r["VmPTE kB"] = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmPTE")][0]
    for a in pieces:
        libc.munmap(a, 256 * M)
    rd, wr = os.pipe()
    for name, cmd in (("pipe", 1031), ("pipe, high bit", 1031 | 1 << 32)):  # F_SETPIPE_SZ to 1 MiB
        rc = libc.syscall(72, wr, ctypes.c_ulong(cmd), ctypes.c_ulong(M))
        r[name] = "ok" if rc >= 0 else errno.errorcode.get(ctypes.get_errno())
    r["pipe size"] = libc.syscall(72, wr, ctypes.c_ulong(1032), ctypes.c_ulong(0))  # F_GETPIPE_SZ
    raise RuntimeError("PROBE " + json.dumps(r))
''')


def test_code_in_the_worker_cannot_grow_page_tables_or_pipes_past_its_limits(monkeypatch):
    """The red team's F3: reading a byte per 2 MiB of a 600 GB read-only NORESERVE mapping gave
    the worker 1.2 GB of page tables (kernel memory no rlimit counted; hub kernels have no memory
    cgroup). Its address space is now bounded (RLIMIT_AS: the size at ready plus the data
    headroom plus ADDRESS_SLACK), so every mapping counts, whatever its protection or flags, and
    mremap growth too. F7: fcntl(F_SETPIPE_SZ | 1 << 32) grew a pipe to 1 MiB."""
    from mlgov_jupyter.kernel.isolated_model import ADDRESS_SLACK, load_isolated

    if sandbox.landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock")
    monkeypatch.setenv("MLGOV_ISOLATED_MAX_MEMORY", str(1 << 30))
    model = load_isolated("evil", sio.dumps(_evil(f"exec({ADDRESS_PROBE!r}, {{}})")), TRUSTED)
    with open(f"/proc/{model._worker.proc.pid}/status") as f:
        size = [int(line.split()[1]) << 10 for line in f if line.startswith("VmSize")][0]
    with pytest.raises(Invalid, match="PROBE") as err:
        model.transform(np.zeros((1, 1)))
    got = json.loads(str(err.value).split("PROBE ", 1)[1])
    assert got["read-only 64 GiB"] == got["no-access 64 GiB"] == got["mremap to 64 GiB"] == "ENOMEM", got
    # no more than the bound's worth of address space: page tables of a few MiB, not 128 MiB
    assert got["mapped MiB"] << 20 <= size + (1 << 30) + ADDRESS_SLACK, got
    assert got["VmPTE kB"] < 12 << 10, got
    assert got["pipe"] == got["pipe, high bit"] == "EPERM" and got["pipe size"] == 65536, got
    with pytest.raises(Invalid, match="PROBE"):  # the worker lives on, its mappings released
        model.transform(np.zeros((1, 1)))
    model.close()


def test_real_models_load_and_predict_under_the_address_space_bound(monkeypatch):
    """The bound leaves real models room: a random forest of a few MB predicting on every core,
    gradient boosting, a scaled logistic regression and an SVC answer what they answer in the
    kernel, with the default bounds and with a data headroom of 256 MiB. The limits are soft =
    hard (the model cannot raise them) and glibc keeps MALLOC_ARENAS arenas."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from mlgov_jupyter.kernel.isolated_model import MALLOC_ARENAS, load_isolated

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    models = [RandomForestClassifier(200, n_jobs=-1, random_state=0).fit(X, y),
              HistGradientBoostingClassifier(max_iter=50).fit(X, y),
              Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).fit(X, y),
              SVC().fit(X[:500], y[:500])]
    assert len(sio.dumps(models[0])) > 4 << 20  # a forest of a few MB
    for headroom in (None, 256 << 20):
        if headroom:
            monkeypatch.setenv("MLGOV_ISOLATED_MAX_MEMORY", str(headroom))
        for est in models:
            data = sio.dumps(est)
            model = load_isolated("m", data, sio.get_untrusted_types(data=data))
            pid = model._worker.proc.pid
            with open(f"/proc/{pid}/limits") as f:
                soft, hard = next(line[26:].split()[:2] for line in f if line.startswith("Max address space"))
            assert soft == hard != "unlimited", (soft, hard)
            with open(f"/proc/{pid}/environ", "rb") as f:
                assert f"MALLOC_ARENA_MAX={MALLOC_ARENAS}".encode() in f.read().split(b"\0")
            np.testing.assert_array_equal(model.predict(X), est.predict(X))
            scores = "predict_proba" if hasattr(est, "predict_proba") else "decision_function"
            np.testing.assert_allclose(getattr(model, scores)(X), getattr(est, scores)(X))
            model.close()
