"""A catalog model run in a process of its own.

skops builds only the types the reader trusts and model_trust checks what every data node holds,
but no check per node knows every estimator's invariants: a standard ``OneHotEncoder`` whose
``_n_features_outs`` disagrees with its categories, a ``DictVectorizer`` whose ``vocabulary_``
points past its features, an ``SVC`` whose ``_n_support`` does not add up, a ``KMeans`` whose
centers are narrower than ``n_features_in_`` all load and then read or write out of bounds in
scikit-learn's, scipy's or libsvm's compiled code on ``predict``. So ``use()`` of a model the
reader did not publish returns an ``IsolatedModel``: the model is loaded only in a worker process
(``python -m mlgov_jupyter.kernel.isolated_model``), its read-only methods (``predict``,
``predict_proba``, ``predict_log_proba``, ``decision_function``, ``transform``, ``score``,
``get_feature_names_out``) run there, and a crash of the worker is one ``Invalid`` line; the
kernel lives on. The worker runs as the kernel's Unix user, so before it reads the model it enters
a sandbox (kernel/sandbox.py: Landlock and seccomp) in which code the model runs can read no file
but Python's own, write none, open no socket, and neither signal nor ptrace the kernel; where the
sandbox cannot be set up, loading refuses unless the user allowed an unsandboxed worker
(``use(name, isolated="unsandboxed")`` or ``MLGOV_ISOLATED=unsandboxed``).

What comes back is plain data, never an object the model built: the worker answers with a JSON
header and ``.npy`` arrays, read with ``json.loads`` and ``numpy.load(allow_pickle=False)``;
sparse results are rebuilt as CSR and pass scipy's full format check; a DataFrame comes back as
its columns. Inputs go to the worker pickled (the kernel's own objects). At load the worker also
describes the model (class, parameters, ``classes_``, ``n_features_in_``, ``feature_names_in_``,
``feature_importances_``, ``coef_``, pipeline steps) so that cards, monitoring and lineage see an
estimator-like object: ``type(proxy).__name__`` is the model's class name, ``get_params`` and
``steps`` read the snapshot.

Sizes are bounded on both sides. One answer may hold at most ``max_answer_bytes`` (default 256
MiB; ``use(..., max_answer_bytes=N)`` or ``MLGOV_ISOLATED_MAX_ANSWER_BYTES``; the JSON header at
most an eighth of it) in at most ``MAX_ANSWER_ARRAYS`` arrays: the worker sends the sizes of its
arrays before the arrays, and the kernel checks them before it reads a byte of them (an answer
over the limit is one ``Invalid`` naming the setting; a worker that sends one anyway is killed).
Each ``.npy`` array must hold exactly the bytes its header declares. What the kernel decodes is
bounded as well (``_Decoder``): each reference to an array counts its bytes against the limit,
an array backs at most one DataFrame column or sparse matrix, a DataFrame has at most
MAX_FRAME_COLUMNS columns, the header at most MAX_HEADER_BYTES. The worker may use at most
``MLGOV_ISOLATED_MAX_MEMORY`` bytes (default 4 GiB) more data memory than it held once ready
(``RLIMIT_DATA``; its sandbox refuses shared anonymous memory and memfds, which that limit does
not count), and at most that plus ADDRESS_SLACK (1 GiB) more address space (``RLIMIT_AS``:
read-only, ``PROT_NONE`` and ``MAP_NORESERVE`` mappings and ``mremap`` growth count there, so the
kernel's page tables for the worker stay within about 1/512 of it); a refused allocation is the
model's ``MemoryError``, one ``Invalid`` line naming the setting. glibc keeps MALLOC_ARENAS malloc
arenas in it (64 MiB of address space each; ``MALLOC_ARENA_MAX`` in the kernel's environment
overrides). It may
start at most ``thread_allowance()`` threads more than its user ran when it started
(``RLIMIT_NPROC``; Linux does not enforce it for root, so a root kernel's worker gets a pids
cgroup of that size instead, kernel/pids_cgroup.py, or a RuntimeWarning where none can be made).
The worker runs in a session of its own and cannot fork
(kernel/sandbox.py), and ``close()`` kills its whole process group, so nothing it starts
outlives it. Its CPU time is not limited unless ``MLGOV_ISOLATED_MAX_CPU_SECONDS`` is set
(``RLIMIT_CPU``: the worker is killed when its lifetime CPU time passes it): a call runs while
the user waits, and interrupting it stops the worker.
"""

from __future__ import annotations

import functools
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import threading
import weakref
from typing import Any

from ..core.errors import Invalid

REMOTE_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform",
                  "score", "get_feature_names_out")
SNAPSHOT_ATTRS = ("classes_", "n_features_in_", "feature_names_in_", "feature_importances_", "coef_",
                  "intercept_", "n_outputs_", "_estimator_type")
MAX_DEPTH = 8
MAX_ANSWER_BYTES = 256 << 20      # default bound of one answer (header and arrays), in bytes
MAX_ANSWER_ARRAYS = 65_536        # arrays in one answer
MAX_HEADER_BYTES = 8 << 20        # the JSON header of one answer at most (and an eighth of the answer)
MAX_FRAME_COLUMNS = 100_000       # columns of a DataFrame answered
THREAD_ALLOWANCE = 256            # threads the worker may start (at least; more on many-core machines)
MAX_MEMORY = 4 << 30              # default RLIMIT_DATA headroom of the worker, in bytes
# address space (RLIMIT_AS) the worker may take beyond MAX_MEMORY's data: mappings RLIMIT_DATA
# does not count that loading and predicting add (code of the extension modules a model imports,
# the PROT_NONE reserve of malloc arenas, 64 MiB each, thread stacks' guard pages): measured
# 20-80 MiB for scikit-learn forests, boosting, pipelines; a gigabyte leaves room to spare
ADDRESS_SLACK = 1 << 30
# glibc malloc arenas in the worker (unless the kernel's environment sets MALLOC_ARENA_MAX):
# each reserves 64 MiB of address space, and glibc's default is 8 per CPU
MALLOC_ARENAS = 4
ANSWER_ENV, MEMORY_ENV, CPU_ENV = ("MLGOV_ISOLATED_MAX_ANSWER_BYTES", "MLGOV_ISOLATED_MAX_MEMORY",
                                   "MLGOV_ISOLATED_MAX_CPU_SECONDS")


# --- framing --------------------------------------------------------------------------------
def _send(fp, blob: bytes) -> None:
    fp.write(struct.pack("<Q", len(blob)))
    fp.write(blob)
    fp.flush()


def _recv(fp, limit: int = 1 << 34) -> bytes:
    head = fp.read(8)
    if len(head) != 8:
        raise EOFError
    (n,) = struct.unpack("<Q", head)
    if n > limit:
        raise ValueError("answer too large")
    data = fp.read(n)
    if len(data) != n:
        raise EOFError
    return data


def _header_limit(max_bytes: int) -> int:
    """Bytes one answer's JSON header may take: an eighth of the answer, at most MAX_HEADER_BYTES
    (json.loads builds Python objects several times its size)."""
    return max(min(max_bytes // 8, MAX_HEADER_BYTES), 1 << 16)


# --- the worker's side: encode plain values ---------------------------------------------------
class _Encoder:
    def __init__(self):
        self.arrays: list[bytes] = []

    def array(self, value) -> dict:
        import numpy as np

        arr = np.asarray(value)
        if arr.dtype.hasobject:
            try:
                plain = np.asarray(arr.tolist())
            except Exception:  # noqa: BLE001
                plain = arr
            if plain.dtype.hasobject:
                return {"__list__": self.value(arr.tolist()), "shape": list(arr.shape)}
            arr = plain
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        self.arrays.append(buf.getvalue())
        return {"__array__": len(self.arrays) - 1}

    def value(self, value, depth: int = 0):
        import numpy as np

        if depth > MAX_DEPTH:
            return {"__repr__": "..."}
        if isinstance(value, _Described):
            return describe(value.model, self)
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value if isinstance(value, float) or abs(value) < 2 ** 63 else float(value)
        if isinstance(value, np.generic):
            return self.value(value.item(), depth)
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, (list, tuple)):
            return {"__seq__": [self.value(v, depth + 1) for v in value], "tuple": isinstance(value, tuple)}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": {k: self.value(v, depth + 1) for k, v in value.items()}}
        try:
            import scipy.sparse as sp

            if sp.issparse(value):
                m = sp.csr_matrix(value)
                return {"__sparse__": [self.array(m.data), self.array(m.indices), self.array(m.indptr)],
                        "shape": [int(n) for n in m.shape]}
        except ImportError:
            pass
        if type(value).__name__ == "DataFrame" and hasattr(value, "columns"):
            return {"__frame__": [str(c) for c in value.columns],
                    "data": [self.array(value[c].to_numpy()) for c in value.columns],
                    "index": self.array(value.index.to_numpy())}
        if type(value).__name__ == "Series" and hasattr(value, "to_numpy"):
            return self.array(value.to_numpy())
        if hasattr(value, "get_params") and not isinstance(value, type):
            return {"__estimator__": describe(value, self, depth + 1)}
        if callable(value):
            return {"__repr__": getattr(value, "__qualname__", None) or type(value).__name__}
        return {"__repr__": repr(value)[:1000]}


def describe(est, enc: _Encoder, depth: int = 0) -> dict:
    """A snapshot of an estimator: class, parameters, fitted attributes, steps."""
    cls = type(est)
    out = {"module": cls.__module__, "qualname": cls.__qualname__,
           "methods": [m for m in REMOTE_METHODS if hasattr(est, m)], "params": {}, "attrs": {}}
    try:
        out["params"] = {k: enc.value(v, depth + 1) for k, v in est.get_params(deep=False).items()}
    except Exception:  # noqa: BLE001
        pass
    for name in SNAPSHOT_ATTRS:
        try:
            value = getattr(est, name)
        except Exception:  # noqa: BLE001 - not fitted, a property that raises
            continue
        out["attrs"][name] = enc.value(value, depth + 1)
    try:
        from sklearn.base import is_classifier, is_regressor

        out["attrs"]["_estimator_type"] = "classifier" if is_classifier(est) else \
            "regressor" if is_regressor(est) else out["attrs"].get("_estimator_type")
    except Exception:  # noqa: BLE001
        pass
    steps = getattr(est, "steps", None)
    if isinstance(steps, list) and depth < MAX_DEPTH:
        out["steps"] = [[str(n), enc.value(s, depth + 1)] for n, s in steps if isinstance(n, str)]
    return out


def _answer(out, ok: bool, value=None, error: str = "", limit: int = MAX_ANSWER_BYTES) -> None:
    """One answer: the JSON header, the sizes of the arrays (count, then one ``<Q`` each), the
    arrays. Over ``limit`` bytes or MAX_ANSWER_ARRAYS arrays: an error answer saying how large
    it would have been (the kernel names its setting)."""
    enc = _Encoder()
    try:
        header = {"ok": ok, "error": error, "value": enc.value(value) if ok else None}
        blob = json.dumps(header).encode()
    except Exception as exc:  # noqa: BLE001 - MemoryError included
        enc = _Encoder()
        blob = json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500], "value": None}).encode()
    total = len(blob) + sum(len(a) for a in enc.arrays)
    if total > limit or len(blob) > _header_limit(limit) or len(enc.arrays) > MAX_ANSWER_ARRAYS:
        enc, blob = _Encoder(), json.dumps({"ok": False, "error": "", "value": None,
                                            "too_large": [total, len(enc.arrays)]}).encode()
    _send(out, blob)
    _send(out, struct.pack(f"<{len(enc.arrays) + 1}Q", len(enc.arrays), *(len(a) for a in enc.arrays)))
    for a in enc.arrays:
        _send(out, a)


def _limit_memory(headroom: int) -> tuple[int, int]:
    """At most ``headroom`` more bytes of data segment (heap, writable private mappings, thread
    stacks) than the worker holds now (``RLIMIT_DATA``), and at most ``headroom +
    ADDRESS_SLACK`` more bytes of address space (``RLIMIT_AS``: every mapping, whatever its
    protection or flags, so also read-only, ``PROT_NONE``, ``MAP_NORESERVE`` and file mappings
    and ``mremap`` growth, which RLIMIT_DATA does not count; this bounds the page tables the
    kernel allocates for the worker, about 1/512 of its address space, to tens of MiB); soft and
    hard, so the model cannot raise them; never above a hard limit already set. Returns the two
    limits in bytes (data, address space)."""
    import resource

    held = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmData:", "VmSize:")):
                held[line[:6]] = int(line.split()[1]) * 1024
    limits = []
    for which, now, extra in ((resource.RLIMIT_DATA, held.get("VmData", 0), headroom),
                              (resource.RLIMIT_AS, held.get("VmSize", 0), headroom + ADDRESS_SLACK)):
        hard = resource.getrlimit(which)[1]
        limit = now + extra if hard == resource.RLIM_INFINITY else min(now + extra, hard)
        resource.setrlimit(which, (limit, limit))
        limits.append(limit)
    return limits[0], limits[1]


def _serve(allow_unsandboxed: bool = False, max_answer: int = MAX_ANSWER_BYTES,
           max_memory: int = MAX_MEMORY) -> None:
    """The worker: it enters the sandbox (kernel/sandbox.py) before anything else, says so in its
    first answer (``{"sandbox": "landlock ABI 7 + seccomp"}``, or an error when it cannot and the
    user did not allow an unsandboxed worker), and only then imports scikit-learn and reads the
    model from stdin, with its data memory limited to ``max_memory`` bytes more than it then
    holds. The protocol runs on the process's original stdout; the model's own prints go to
    stderr; answers are bounded by ``max_answer`` bytes."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    from . import sandbox

    try:
        applied = sandbox.enter()
    except sandbox.Unavailable as exc:
        if not allow_unsandboxed:
            _answer(out, False, error=str(exc))
            return
        applied = f"unsandboxed ({exc})"
    try:
        import skops.io  # noqa: F401 - inside the sandbox; paid at use(), not on the first call
    except Exception as exc:  # noqa: BLE001 - a sandbox that hides what the worker needs
        _answer(out, False, error=f"the sandboxed worker cannot import skops: {type(exc).__name__}: {exc}")
        return
    try:
        _limit_memory(max_memory)
    except (OSError, ValueError) as exc:
        _answer(out, False, error=f"the worker's memory limit cannot be set: {exc}")
        return
    _answer(out, True, {"sandbox": applied})
    model = None
    while True:
        try:
            op, args = pickle.loads(_recv(inp))
        except EOFError:
            return
        try:
            if op == "load":
                import skops.io as sio

                data, trusted = args
                model = sio.loads(data, trusted=trusted)
                _answer(out, True, None, limit=max_answer)
                continue
            if op == "describe":
                _answer(out, True, _Described(model), limit=max_answer)
                continue
            if op == "call":
                method, a, kw = args
                if method not in REMOTE_METHODS:
                    raise AttributeError(method)
                _answer(out, True, getattr(model, method)(*a, **kw), limit=max_answer)
                continue
            raise ValueError(f"unknown operation {op!r}")
        except MemoryError as exc:
            model_error = (f"MemoryError: {str(exc)[:300]} (the isolated worker may use {max_memory} bytes "
                           f"more than when it started: {MEMORY_ENV})")
            _answer(out, False, error=model_error, limit=max_answer)
        except Exception as exc:  # noqa: BLE001 - the model's error, as one line
            _answer(out, False, error=f"{type(exc).__name__}: {str(exc)[:500]}", limit=max_answer)


class _Described:
    """The model's snapshot as an answer's value (``describe``), encoded when answered."""

    def __init__(self, model):
        self.model = model


# --- the kernel's side ----------------------------------------------------------------------
_KEPT_ENV = {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME", "OMP_NUM_THREADS",
             "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "SYSTEMROOT", "MALLOC_ARENA_MAX"}


def _user_tasks() -> int:
    """Processes and threads of this process's real user now (what RLIMIT_NPROC counts), from
    /proc; 0 where it cannot be read."""
    uid, total = os.getuid(), 0
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if line.startswith(("Uid:", "Threads:")))
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError, IndexError):  # gone meanwhile, or unreadable
            continue
    return total


def thread_allowance() -> int:
    """Threads the worker may start: THREAD_ALLOWANCE, more on a machine with many CPUs (BLAS,
    OpenMP and joblib pools of one thread per CPU each)."""
    return max(THREAD_ALLOWANCE, 4 * (os.cpu_count() or 1) + 64)


def _confine(cpu_seconds: int | None = None, nproc: int | None = None) -> None:
    """In the worker before it starts: no new privileges (setuid programs cannot raise it),
    no core dump of the model's memory, ``cpu_seconds`` of CPU time if given, and at most
    ``nproc`` processes and threads of its Unix user (RLIMIT_NPROC counts the whole user: the
    caller passes the user's count now plus the worker's allowance) so that it cannot take the
    machine's process ids; not enforced for root."""
    import ctypes
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if cpu_seconds:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        # open files bound what pipe and socketpair buffers (kernel memory, outside RLIMIT_DATA)
        # the worker can fill: the model's code needs a few
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        if nproc:
            hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
            nproc = nproc if hard == resource.RLIM_INFINITY else min(nproc, hard)
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except Exception:  # noqa: BLE001 - not Linux: the rest of the isolation stands
        pass


def _setting(name: str, env: str, value, default: int) -> int:
    """A positive byte count or number of seconds: ``value`` if given, else the environment's
    ``env``, else ``default``; Invalid naming it otherwise."""
    raw = value if value is not None else os.environ.get(env, "").strip() or default
    try:
        n = int(raw)
        if n <= 0 or isinstance(raw, bool):
            raise ValueError
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be a positive whole number, not {raw!r}") from None
    return n


class _TooLarge(Exception):
    def __init__(self, total: int, count: int, killed: bool):
        super().__init__(total, count)
        self.total, self.count, self.killed = total, count, killed


def _read_answer(fp, max_bytes: int) -> tuple[Any, list[bytes]]:
    """One answer (see _answer): the header, then the array sizes, checked against
    ``max_bytes`` and MAX_ANSWER_ARRAYS before any array is read. _TooLarge (``killed``: the
    stream is out of step and the worker must go) when over; EOFError, ValueError otherwise."""
    head = fp.read(8)
    if len(head) != 8:
        raise EOFError
    (n,) = struct.unpack("<Q", head)
    if n > _header_limit(max_bytes):
        raise _TooLarge(n, 0, killed=True)
    blob = fp.read(n)
    if len(blob) != n:
        raise EOFError
    try:
        header = json.loads(blob)
    except RecursionError:  # nested past the interpreter's depth
        raise ValueError("malformed header") from None
    sizes_blob = _recv(fp, 8 * (MAX_ANSWER_ARRAYS + 1))
    if len(sizes_blob) < 8 or len(sizes_blob) % 8:
        raise ValueError("malformed sizes")
    sizes = struct.unpack(f"<{len(sizes_blob) // 8}Q", sizes_blob)
    count, sizes = sizes[0], sizes[1:]
    if count != len(sizes):
        raise ValueError("malformed sizes")
    total = len(blob) + sum(sizes)
    if total > max_bytes:
        raise _TooLarge(total, count, killed=True)
    arrays = []
    for n in sizes:
        data = _recv(fp, n)
        if len(data) != n:
            raise ValueError("array size differs from the one announced")
        arrays.append(data)
    if isinstance(header, dict) and isinstance(header.get("too_large"), list) and len(header["too_large"]) == 2:
        total, count = header["too_large"]
        raise _TooLarge(int(total), int(count), killed=False)
    return header, arrays


_WARNED: list[bool] = []


def _warn_unbounded_threads() -> None:
    """Once per kernel: a root kernel's worker without a pids cgroup has no thread bound."""
    if not _WARNED:
        _WARNED.append(True)
        import warnings

        warnings.warn("mlgov: this kernel runs as root and no pids cgroup could be made for the model's "
                      "isolated process (cgroup v1 pids, or a cgroup v2 subtree delegating pids): "
                      "RLIMIT_NPROC does not bind root, so the model may start threads without bound. "
                      "Run kernels as an ordinary user", RuntimeWarning, stacklevel=3)


UNSANDBOXED = "unsandboxed"
SANDBOX_ENV = "MLGOV_ISOLATED"


class _Worker:
    def __init__(self, name: str, allow_unsandboxed: bool = False, max_answer_bytes: int = MAX_ANSWER_BYTES,
                 max_memory: int = MAX_MEMORY, cpu_seconds: int | None = None):
        self.name = name
        self.max_answer_bytes = max_answer_bytes
        self.lock = threading.Lock()
        # no credential of the reader's (tokens, store URLs, cloud keys) and no import path from
        # the kernel's working directory or environment (-I); no new privileges, no core dumps;
        # then the worker sandboxes itself (kernel/sandbox.py) and says how
        env = {k: v for k, v in os.environ.items() if k in _KEPT_ENV}
        env.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))  # its address space is bounded
        # in a session (and process group) of its own, which close() kills whole
        # at most thread_allowance() threads more than the user runs now (RLIMIT_NPROC)
        nproc = _user_tasks() + thread_allowance() if sys.platform.startswith("linux") else None
        argv = [sys.executable, "-I", "-m", "mlgov_jupyter.kernel.isolated_model",
                f"--max-answer-bytes={max_answer_bytes}", f"--max-memory={max_memory}"]
        self.proc = subprocess.Popen(argv + (["--allow-unsandboxed"] if allow_unsandboxed else []),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, close_fds=True,
                                     cwd=tempfile.gettempdir(), start_new_session=True,
                                     preexec_fn=functools.partial(_confine, cpu_seconds, nproc))
        self.dead = False
        self.sandbox = ""
        self.task_group = None
        if nproc and os.geteuid() == 0:  # RLIMIT_NPROC does not bind root: a pids cgroup instead
            from .pids_cgroup import limit_tasks

            self.task_group = limit_tasks(self.proc.pid, thread_allowance())
            if self.task_group is None:
                _warn_unbounded_threads()

    def handshake(self) -> str:
        """The worker's first answer: how it is sandboxed. Invalid, naming the opt-out, when it
        could not sandbox itself and was not allowed to run without."""
        try:
            with self.lock:
                header, _ = _read_answer(self.proc.stdout, 1 << 20)
        except (EOFError, OSError, ValueError, struct.error, _TooLarge):
            self.close()
            raise self._crashed() from None
        if not isinstance(header, dict) or not header.get("ok"):
            self.close()
            why = str(header.get("error") if isinstance(header, dict) else "")[:300]
            raise Invalid(f"model {self.name!r} cannot run sandboxed on this machine ({why}); to run it "
                          f"in an unsandboxed process anyway: use({self.name!r}, isolated={UNSANDBOXED!r}) "
                          f"or {SANDBOX_ENV}={UNSANDBOXED} in the kernel's environment")
        value = header.get("value") or {}
        self.sandbox = str(value.get("__dict__", {}).get("sandbox", "")) if isinstance(value, dict) else ""
        return self.sandbox

    def request(self, op: str, args, raw: bool = False) -> Any:
        """The worker's answer to ``op``: its value decoded, or (``raw``) the header's value
        and the arrays as bytes."""
        with self.lock:
            if self.dead:
                raise self._crashed()
            try:
                _send(self.proc.stdin, pickle.dumps((op, args), protocol=pickle.HIGHEST_PROTOCOL))
                header, arrays = _read_answer(self.proc.stdout, self.max_answer_bytes)
            except _TooLarge as big:
                if big.killed:
                    self.too_large = True
                    self.close()
                raise self._too_large(big) from None
            except (EOFError, OSError, ValueError, struct.error):
                self.close()
                raise self._crashed() from None
            except BaseException:  # interrupted mid-call: its answer would be read by the next call
                self.interrupted = True
                self.close()
                raise
        if not isinstance(header, dict) or not header.get("ok"):
            raise Invalid(f"model {self.name!r}: {str(header.get('error') if isinstance(header, dict) else '')[:500]}")
        if raw:
            return header.get("value"), arrays
        return _Decoder(arrays, self.max_answer_bytes).value(header.get("value"))

    def _too_large(self, big: _TooLarge) -> Invalid:
        again = "; its isolated process was stopped: use() it again" if big.killed else ""
        return Invalid(f"model {self.name!r} answered {big.total} bytes in {big.count} arrays, over the "
                       f"{self.max_answer_bytes} bytes (and {MAX_ANSWER_ARRAYS} arrays) one call may answer "
                       f"(use(..., max_answer_bytes=N) or {ANSWER_ENV}){again}")

    def _crashed(self) -> Invalid:
        if getattr(self, "too_large", False):
            return Invalid(f"model {self.name!r}: its isolated process was stopped after an answer over "
                           f"{self.max_answer_bytes} bytes; use() it again")
        if getattr(self, "interrupted", False):
            return Invalid(f"model {self.name!r}: its isolated process was stopped when a call was "
                           f"interrupted; use() it again")
        code = self.proc.poll()
        how = f" (exit {code})" if code not in (None, 0) else ""
        return Invalid(f"model {self.name!r} crashed its isolated process{how}; it may be malformed")

    def close(self) -> None:
        """Kill the worker's whole process group (it leads it) and reap the worker."""
        self.dead = True
        try:
            os.killpg(self.proc.pid, 9)
        except (OSError, AttributeError):  # gone already, or not POSIX
            try:
                self.proc.kill()
            except Exception:  # noqa: BLE001
                pass
        try:
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        for fp in (self.proc.stdin, self.proc.stdout):
            try:
                fp.close()
            except Exception:  # noqa: BLE001
                pass
        if self.task_group is not None:
            from .pids_cgroup import release

            release(self.task_group)
            self.task_group = None


def _npy(blob: bytes):
    """The .npy array in ``blob``, only if its header declares exactly the bytes that follow
    (numpy.load would first allocate what a header declares); Invalid otherwise."""
    import numpy as np
    from numpy.lib import format as npformat

    fp = io.BytesIO(blob)
    try:
        version = npformat.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = npformat.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = npformat.read_array_header_2_0(fp)
        else:
            raise ValueError(version)
        count = 1
        for n in shape:
            count *= n
        if dtype.hasobject or count * dtype.itemsize != len(blob) - fp.tell():
            raise ValueError("size")
        return np.load(io.BytesIO(blob), allow_pickle=False)
    except Exception:  # noqa: BLE001
        raise Invalid("the isolated model answered malformed data") from None


class _Decoder:
    """Plain values from the worker's answer: JSON and .npy arrays read without pickle. What is
    decoded is bounded, not only what was sent: every reference to an array counts its bytes
    against ``budget`` (the answer limit), an array is used by at most one DataFrame column or
    sparse matrix (pandas and scipy copy them), a DataFrame has at most MAX_FRAME_COLUMNS
    columns; Invalid otherwise."""

    def __init__(self, arrays: list[bytes], budget: int = MAX_ANSWER_BYTES):
        self.raw, self.cache = arrays, {}
        self.budget, self.spent, self.owned = budget, 0, set()

    def _spend(self, n: int) -> None:
        self.spent += n
        if self.spent > self.budget:
            raise Invalid(f"the isolated model answered more than {self.budget} bytes once decoded "
                          f"(one array referenced many times; use(..., max_answer_bytes=N) or {ANSWER_ENV})")

    def array(self, ref, owned: bool = False):
        i = ref if type(ref) is int else -1
        if not 0 <= i < len(self.raw):
            raise Invalid("the isolated model answered malformed data")
        if owned:  # copied by a DataFrame or sparse matrix: once only
            if i in self.owned:
                raise Invalid("the isolated model answered malformed data (an array used twice)")
            self.owned.add(i)
        if i not in self.cache:
            self.cache[i] = _npy(self.raw[i])
        self._spend(self.cache[i].nbytes)
        return self.cache[i]

    def _plain_array(self, ref):
        """A numeric array the worker sent (``{"__array__": i}``)."""
        if not isinstance(ref, dict) or "__array__" not in ref:
            raise Invalid("the isolated model answered malformed data")
        return self.array(ref["__array__"], owned=True)

    def _column(self, ref):
        """A column: a numeric array (used once), or an object array of plain values."""
        value = self.array(ref["__array__"], owned=True) if isinstance(ref, dict) and "__array__" in ref \
            else self.value(ref)
        import numpy as np

        if not isinstance(value, np.ndarray):
            raise Invalid("the isolated model answered malformed data")
        return value

    def value(self, v):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            raise Invalid("the isolated model answered malformed data")
        if "__array__" in v:
            return self.array(v["__array__"])
        if "__list__" in v:
            import numpy as np

            items = self.value(v["__list__"])
            if not isinstance(items, list):
                raise Invalid("the isolated model answered malformed data")
            self._spend(8 * len(items))
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out
        if "__seq__" in v:
            items = [self.value(x) for x in v["__seq__"]]
            return tuple(items) if v.get("tuple") else items
        if "__dict__" in v:
            return {str(k): self.value(x) for k, x in v["__dict__"].items()}
        if "__sparse__" in v:
            import scipy.sparse as sp

            data, indices, indptr = (self._plain_array(r) for r in v["__sparse__"])
            m = sp.csr_matrix((data, indices, indptr), shape=tuple(int(n) for n in v["shape"]))
            try:
                m.check_format(full_check=True)
            except Exception as exc:  # noqa: BLE001
                raise Invalid(f"the isolated model answered a malformed sparse matrix ({exc})") from None
            return m
        if "__frame__" in v:
            import pandas as pd

            if not isinstance(v["__frame__"], list) or not isinstance(v.get("data"), list) \
                    or len(v["data"]) != len(v["__frame__"]):
                raise Invalid("the isolated model answered malformed data")
            if len(v["__frame__"]) > MAX_FRAME_COLUMNS:
                raise Invalid(f"the isolated model answered a DataFrame of {len(v['__frame__'])} columns, "
                              f"over {MAX_FRAME_COLUMNS}")
            cols = [str(c) for c in v["__frame__"]]
            index = self._column(v["index"])
            data = {c: self._column(r) for c, r in zip(cols, v["data"])}
            # every column 1-D and as long as the index: pandas would stretch a 0-d or shorter
            # column to the index's length, copying past what the answer's size bound counted
            if index.ndim != 1 or any(col.ndim != 1 or len(col) != len(index) for col in data.values()):
                raise Invalid("the isolated model answered malformed data (a frame column unlike its index)")
            return pd.DataFrame(data, index=index, columns=cols)
        if "__estimator__" in v:
            return _view(v["__estimator__"], self, None)
        if "__repr__" in v:
            return str(v["__repr__"])
        raise Invalid("the isolated model answered malformed data")


class EstimatorView:
    """A read-only snapshot of an estimator described by the worker (a pipeline step, a
    parameter); the root, an IsolatedModel, runs its methods in the worker."""

    def __init__(self, desc: dict, decoder: _Decoder):
        self._desc = desc
        self._params = {k: decoder.value(v) for k, v in (desc.get("params") or {}).items()}
        self._attrs = {k: decoder.value(v) for k, v in (desc.get("attrs") or {}).items()}
        self._steps = [(str(n), decoder.value(s)) for n, s in desc["steps"]] if desc.get("steps") else None

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        attrs = self.__dict__.get("_attrs", {})
        if name in attrs and attrs[name] is not None:
            return attrs[name]
        if name == "steps" and self.__dict__.get("_steps") is not None:
            return list(self._steps)
        if name == "named_steps" and self.__dict__.get("_steps") is not None:
            return dict(self._steps)
        raise AttributeError(f"{type(self).__name__} (isolated) has no attribute {name!r}")

    def get_params(self, deep: bool = True) -> dict:
        out = dict(self._params)
        if deep:
            for key, value in self._params.items():
                if isinstance(value, EstimatorView):
                    out.update({f"{key}__{k}": v for k, v in value.get_params(deep=True).items()})
            for name, step in self._steps or []:
                out[name] = step
                if isinstance(step, EstimatorView):
                    out.update({f"{name}__{k}": v for k, v in step.get_params(deep=True).items()})
        return out

    def __repr__(self) -> str:
        return f"{self._desc.get('qualname', 'estimator')}(isolated)"


class IsolatedModel(EstimatorView):
    """A catalog model loaded only in a worker process (module docstring)."""

    def __init__(self, name: str, worker: _Worker, desc: dict, decoder: _Decoder):
        super().__init__(desc, decoder)
        self._name, self._worker = name, worker
        self.sandbox = worker.sandbox  # how the worker is confined (kernel/sandbox.py)
        self._finalizer = weakref.finalize(self, worker.close)

    def __getattr__(self, name: str):
        methods = self.__dict__.get("_desc", {}).get("methods") or []
        if name in methods:
            def remote(*args, **kwargs):
                return self._worker.request("call", (name, args, kwargs))
            remote.__name__ = name
            return remote
        return super().__getattr__(name)

    def fit(self, *args, **kwargs):
        """Read-only: an isolated catalog model is not refitted (scikit-learn's scorers look for
        ``fit`` to recognise an estimator)."""
        raise Invalid(f"model {self._name!r} is a catalog model run isolated; it cannot be refitted "
                      f"(use(..., isolated=False) if you trust its publisher)")

    def close(self) -> None:
        """Stop the worker process (also done when the proxy is garbage collected)."""
        self._finalizer()

    def __repr__(self) -> str:
        return f"<isolated {self._desc.get('qualname')} {self._name!r}>"


_CLASSES: dict[tuple, type] = {}


def _view(desc: dict, decoder: _Decoder, worker: _Worker | None, name: str = ""):
    """An EstimatorView (IsolatedModel at the root) whose class carries the model's class name
    and module, as cards and library versions read them."""
    module, qualname = str(desc.get("module", "")), str(desc.get("qualname", "Estimator"))
    base = IsolatedModel if worker is not None else EstimatorView
    key = (base, module, qualname)
    cls = _CLASSES.get(key)
    if cls is None:
        cls = _CLASSES[key] = type(qualname.rsplit(".", 1)[-1], (base,),
                                   {"__module__": module, "__qualname__": qualname})
    if worker is None:
        return cls(desc, decoder)
    return cls(name, worker, desc, decoder)


def load_isolated(name: str, data: bytes, trusted: list[str], unsandboxed: bool = False,
                  max_answer_bytes: int | None = None) -> IsolatedModel:
    """Start a sandboxed worker, load the skops bytes there (already checked by model_trust) and
    return its proxy (``proxy.sandbox`` says how it is confined, e.g. ``"landlock ABI 7 +
    seccomp"``). Invalid if the worker cannot sandbox itself (unless ``unsandboxed`` or
    ``MLGOV_ISOLATED=unsandboxed``: then it runs without, and ``proxy.sandbox`` says so), cannot
    load the model, or crashes. ``max_answer_bytes`` bounds one call's answer (module
    docstring); Invalid naming the setting if one is over it or the setting is not a positive
    whole number."""
    allow = unsandboxed or os.environ.get(SANDBOX_ENV, "").strip().lower() == UNSANDBOXED
    limit = _setting("max_answer_bytes", ANSWER_ENV, max_answer_bytes, MAX_ANSWER_BYTES)
    memory = _setting(MEMORY_ENV, MEMORY_ENV, None, MAX_MEMORY)
    cpu = _setting(CPU_ENV, CPU_ENV, None, 0) if os.environ.get(CPU_ENV, "").strip() else None
    worker = _Worker(name, allow_unsandboxed=allow, max_answer_bytes=limit, max_memory=memory, cpu_seconds=cpu)
    try:
        worker.handshake()
        worker.request("load", (data, trusted))
        desc, arrays = worker.request("describe", None, raw=True)
        if not isinstance(desc, dict):
            raise Invalid("the isolated model answered malformed data")
        return _view(desc, _Decoder(arrays, limit), worker, name)
    except BaseException:
        worker.close()
        raise


def _main(argv: list[str]) -> None:
    opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    _serve(allow_unsandboxed="--allow-unsandboxed" in argv,
           max_answer=int(opts.get("max-answer-bytes", MAX_ANSWER_BYTES)),
           max_memory=int(opts.get("max-memory", MAX_MEMORY)))


if __name__ == "__main__":
    _main(sys.argv[1:])
