"""Decoding user-supplied Parquet in worker processes with a hard memory limit.

A Parquet file's footer says how its pages are encoded and how large they are, but the reader
trusts the pages themselves: a footer that lies (a delta-encoded column declared plain, sizes
declared small) made a file of a few kB decode to gigabytes inside the service. No check of the
footer can close that, so every decoding of content a user supplied runs here instead: the
describe at publish and register, and every scan for ``use``. A lie then costs at most the
worker's limit (``decode_max_memory``, an ``RLIMIT_DATA`` set in the worker), answers 413 or 400
with one line, and the service's own memory does not move.

The workers stay started between calls (``DecodePool``: up to two idle ones with pyarrow imported
and its thread pools warm, each for up to ten minutes unused), so a small ``use`` pays a pipe
round trip, not an interpreter start. A scan
streams Arrow IPC from the worker through its stdout pipe in frames of at most ``FRAME`` bytes;
the service forwards each frame and holds no more. A worker that fails (a memory limit, a crash
on a corrupt file) is discarded and replaced; the next call gets a fresh one.

What a worker holds: the object store's and the registered locations' filesystem settings (it
reads their bytes), sent on its stdin, never in its arguments or environment; nothing else of the
service (no database URL, no audit key, no hub token): a fresh interpreter (``python -I``) with
an allow-listed environment, no inherited descriptors, no new privileges and no core dumps.

Protocol: the parent writes one JSON line of settings, then one JSON line per request; the worker
answers in frames ``kind (1 byte) + length (8 bytes, big-endian) + payload``: ``R`` ready, ``J`` a
JSON result, ``H`` a scan's header (JSON), then ``D`` data frames and ``E`` the end; ``X`` an error
(JSON ``kind``, ``message``, ``fatal``: the worker then exits). After ``H`` the parent writes ``go`` or ``stop``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from typing import Iterator

from ..core import errors

FRAME = 8 << 20  # most bytes of one data frame (what the service holds of a stream at once)
DEFAULT_MAX_MEMORY = 1 << 30
IDLE_SECONDS = 600  # an idle worker exits after this long unused
IDLE_EXIT = 3  # its exit status then
_KEPT_ENV = {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME", "ARROW_DEFAULT_MEMORY_POOL",
             "OMP_NUM_THREADS"}
_CLOUD_ENV = ("AWS_", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_")  # credentials the filesystems may read


# ---- the service's side -----------------------------------------------------------------------

class DecodePool:
    """Worker processes that decode Parquet for the service.

    objects: the ``ObjectStore`` (its url, options and staging directory are sent to workers);
    external: the ``ExternalLocations`` (prefixes with options, private directories) or None;
    max_memory: bytes a worker may allocate beyond what it holds once warm (its data segment,
    ``RLIMIT_DATA``); idle: workers kept started once used (the first call starts one; each stays
    ``idle_seconds`` unused at most); max_workers: workers at once (more callers wait).
    """

    def __init__(self, objects, external=None, max_memory: int = DEFAULT_MAX_MEMORY, idle: int = 2,
                 max_workers: int = 8, idle_seconds: float = IDLE_SECONDS):
        self.settings = {"objects": {"url": objects.url, "options": objects.options,
                                     "staging": str(objects.staging)},
                         "external": {"prefixes": dict(external.prefixes) if external else {},
                                      "private": list(external.private) if external else []},
                         "max_memory": int(max_memory), "idle_seconds": idle_seconds}
        self.max_memory, self.idle_target, self.idle_seconds = int(max_memory), idle, idle_seconds
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_workers)
        self._closed = False
        # idle workers stop with the pool (a service that is dropped) and by themselves after
        # IDLE_SECONDS unused (a pool nobody calls any more holds no process for long)
        weakref.finalize(self, _stop_all, self._idle)

    # ---- calls ----

    def describe_parquet(self, path: str, max_rows: int | None, max_decoded_bytes: int | None) -> tuple:
        """``core.catalog.describe_parquet`` of a staged local file, in a worker."""
        result = self._call({"op": "describe", "path": str(path), "max_rows": max_rows,
                             "max_decoded_bytes": max_decoded_bytes})
        return result["schema"], result["summary"], result["rows"]

    def describe_external(self, location: str, file_format: str, max_decoded_bytes: int | None) -> tuple:
        """``((schema, summary, rows), listing)`` of registered data (``listing``: its file
        listing's hash, ``ExternalLocations.listing_hash``), in a worker."""
        result = self._call({"op": "describe_external", "location": location, "format": file_format,
                             "max_decoded_bytes": max_decoded_bytes})
        return (result["schema"], result["summary"], result["rows"]), result["listing"]

    def scan(self, source: dict, columns: list | None, terms, batch_rows: int,
             text_max: dict | None = None) -> "RemoteScan":
        """A scan prepared in a worker: ``source`` is ``{"digest"}`` (a stored Parquet object, or a
        list of digests scanned as one dataset: ``ObjectStore.dataset``) or
        ``{"location", "format", "listing"}`` (registered data; Conflict when its listing hash is
        no longer ``listing``); ``terms``: normalised row filter terms (core/row_filters.py).
        Errors of the data (unknown columns, a filter that does not fit, a row group too large,
        the first batch beyond the memory limit) are raised here, before anything is sent."""
        request = {"op": "scan", "source": source, "columns": columns, "terms": terms,
                   "batch_rows": batch_rows, "text_max": text_max or {}}
        worker = self._lease()
        try:
            worker.send(request)
            kind, payload = worker.frame()
            if kind != b"H":
                self._fail(worker, kind, payload)
        except BaseException:
            self._release(worker, ok=False)
            raise
        return RemoteScan(self, worker, json.loads(payload))

    def close(self) -> None:
        """Stop every idle worker (those streaming stop when their stream ends)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.kill()

    # ---- workers ----

    def _call(self, request: dict) -> dict:
        worker = self._lease()
        ok = False
        try:
            worker.send(request)
            kind, payload = worker.frame()
            if kind != b"J":
                self._fail(worker, kind, payload)
            ok = True
            return json.loads(payload)
        finally:
            self._release(worker, ok)

    def _lease(self) -> "_Worker":
        self._slots.acquire()
        try:
            with self._lock:
                while self._idle:
                    worker = self._idle.pop()
                    # one close to retiring by itself is not used: it could exit as it is asked
                    margin = min(60.0, self.idle_seconds / 10)
                    if worker.alive() and time.monotonic() - worker.idle_since < self.idle_seconds - margin:
                        return worker
                    worker.kill()
            return _Worker(self.settings)
        except BaseException:
            self._slots.release()
            raise

    def _release(self, worker: "_Worker", ok: bool) -> None:
        """Back to the idle list after a call that ended well; else stopped, and a fresh one
        started in its place (a worker that failed may hold a damaged or swollen heap)."""
        ok, worker.reusable = ok or worker.reusable, False
        try:
            with self._lock:
                if ok and not self._closed and len(self._idle) < self.idle_target and worker.alive():
                    worker.idle_since = time.monotonic()
                    self._idle.append(worker)
                    return
                replace = not ok and not self._closed and len(self._idle) < self.idle_target
            worker.kill()
            if replace:
                try:
                    fresh = _Worker(self.settings)
                except errors.Unavailable:
                    return  # the next call starts one (or says why it cannot)
                with self._lock:
                    self._idle.append(fresh)
        finally:
            self._slots.release()

    def _fail(self, worker: "_Worker", kind: bytes | None, payload: bytes):
        """Raise what the worker reported (``X``), or what its end tells (no frame: it died)."""
        if kind == b"X":
            info = json.loads(payload)
            worker.reusable = not info.get("fatal", True)  # a refusal before decoding: it lives on
            cls = getattr(errors, info.get("kind", ""), None)
            if not (isinstance(cls, type) and issubclass(cls, errors.GovernanceError)):
                cls = errors.Invalid
            raise cls(info.get("message") or "the data could not be read")
        code = worker.wait()
        if code == IDLE_EXIT:
            raise errors.Unavailable("the service's Parquet reader process retired as it was asked; try again")
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            how = f"was stopped by {name}"
        else:
            how = f"ended (exit status {code})"
        if code == -signal.SIGKILL or code == -signal.SIGABRT:  # the kernel's OOM killer; C++ out of memory
            raise errors.TooLarge(f"reading this Parquet content {how}: it needs more than "
                                  f"{_size(self.max_memory)} of memory (decode_max_memory)")
        raise errors.Invalid(f"reading this Parquet content {how}: the file is corrupt")


class RemoteScan:
    """A scan running in a worker: ``schema_rows`` known, data to forward with ``ipc_chunks``."""

    def __init__(self, pool: DecodePool, worker: "_Worker", header: dict):
        self.pool, self.worker, self._rows = pool, worker, header.get("rows")
        self._done = False

    def rows(self) -> int | None:
        """Rows the scan yields (from the footers); None when a row filter applies."""
        return self._rows

    def ipc_chunks(self) -> Iterator[bytes]:
        """The Arrow IPC stream, frame by frame as the worker sends them. A worker that fails
        part-way raises (the headers are out: the reader sees a broken stream)."""
        if self._done:
            return
        ok = False
        try:
            self.worker.send_line(b"go")
            while True:
                kind, payload = self.worker.frame()
                if kind == b"D":
                    yield payload
                elif kind == b"E":
                    ok = True
                    return
                else:
                    self.pool._fail(self.worker, kind, payload)
        finally:
            self._finish(ok)

    def close(self) -> None:
        """Give the worker back without reading the data (a check after the header refused)."""
        if self._done:
            return
        try:
            self.worker.send_line(b"stop")
            ok = self.worker.frame()[0] == b"E"
        except OSError:
            ok = False
        self._finish(ok)

    def _finish(self, ok: bool) -> None:
        if not self._done:
            self._done = True
            self.pool._release(self.worker, ok)

    def __del__(self):  # a scan never read nor closed must not keep its worker
        try:
            if not self._done:
                self._finish(False)
        except Exception:
            pass


class _Worker:
    """One worker process, started at once (it imports pyarrow and warms up in the background)."""

    def __init__(self, settings: dict):
        env = {k: v for k, v in os.environ.items() if k in _KEPT_ENV or k.startswith(_CLOUD_ENV)}
        try:
            self.proc = subprocess.Popen([sys.executable, "-I", "-m", "mlgov_jupyter.store.decode_worker"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         env=env, close_fds=True, cwd="/", start_new_session=True)
        except OSError as exc:
            raise errors.Unavailable(f"the service cannot start a Parquet reader process ({exc.strerror}); "
                                     f"try again") from None
        try:  # a larger pipe: fewer switches between worker and service per frame
            import fcntl

            fcntl.fcntl(self.proc.stdout.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
        except (ImportError, OSError):
            pass
        self.ready = self.reusable = False
        self.idle_since = time.monotonic()
        self.send_line(json.dumps(settings).encode())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, request: dict) -> None:
        if not self.ready:
            kind, _ = self.frame()
            if kind != b"R":
                raise errors.Unavailable("the service's Parquet reader process did not start; try again")
            self.ready = True
        self.send_line(json.dumps(request).encode())

    def send_line(self, line: bytes) -> None:
        try:
            self.proc.stdin.write(line + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it died: the next frame() reports how

    def frame(self) -> tuple[bytes | None, bytes]:
        """The next frame, or ``(None, b"")`` when the worker is gone."""
        out = self.proc.stdout
        head = out.read(9)
        if len(head) < 9:
            return None, b""
        size = int.from_bytes(head[1:], "big")
        payload = out.read(size) if size else b""
        if len(payload) < size:
            return None, b""
        return head[:1], payload

    def wait(self) -> int | None:
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


def _stop_all(workers: list) -> None:
    for w in list(workers):
        w.kill()


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


# ---- the worker's side ------------------------------------------------------------------------

def _write(out, kind: bytes, payload: bytes = b"") -> None:
    out.write(kind + len(payload).to_bytes(8, "big"))
    if payload:
        out.write(payload)
    out.flush()


def _warm_up() -> None:
    """Start pyarrow's thread pools and allocator before the limit: a thread cannot be started
    under it (its stack counts), and the limit is counted from what a warm worker holds."""
    import io

    import pyarrow as pa
    import pyarrow.compute  # noqa: F401
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from ..core.catalog import describe_parquet

    buf = io.BytesIO()
    pq.write_table(pa.table({"n": list(range(50_000)), "s": ["x", "y"] * 25_000}), buf, row_group_size=10_000)
    data = buf.getvalue()
    describe_parquet(pa.BufferReader(data))
    fragment = ds.ParquetFileFormat().make_fragment(pa.BufferReader(data))
    for _ in fragment.to_batches(batch_size=1_000, use_threads=True):
        pass


def _confine(max_memory: int) -> None:
    """No new privileges, no core dumps, and at most ``max_memory`` more bytes of data segment
    (heap and anonymous mappings) than the warm worker holds."""
    import ctypes
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except (OSError, AttributeError):
        pass
    held = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                held = int(line.split()[1]) * 1024
    limit = held + max_memory
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def main() -> None:
    """The worker: settings, warm-up, limit, then requests until its stdin closes."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed by a library can break the frames
    settings = json.loads(inp.readline())
    from .external import ExternalLocations
    from .objects import ObjectStore

    objects = ObjectStore(settings["objects"]["url"], settings["objects"]["staging"],
                          settings["objects"]["options"])
    external = ExternalLocations(None, ())
    external.prefixes = {p: dict(o) for p, o in settings["external"]["prefixes"].items()}
    external.private = tuple(settings["external"]["private"])
    _warm_up()
    max_memory = settings["max_memory"]
    _confine(max_memory)
    _write(out, b"R")
    while True:
        if not select.select([inp], [], [], settings.get("idle_seconds", IDLE_SECONDS))[0]:
            sys.exit(IDLE_EXIT)  # unused for long: its pool starts another when needed
        line = inp.readline()
        if not line:
            return
        request = json.loads(line)
        ok = _serve(request, objects, external, inp, out, max_memory)
        if not ok:  # after an error the heap may be swollen or damaged: the pool starts another
            return


def _serve(request: dict, objects, external, inp, out, max_memory: int) -> bool:
    import pyarrow as pa

    try:
        if request["op"] == "scan":
            return _scan(request, objects, external, inp, out)
        _write(out, b"J", json.dumps(_describe(request, objects, external)).encode())
        return True
    except errors.GovernanceError as exc:  # a refusal (bounds, columns, limits): the worker stays
        _write(out, b"X", json.dumps({"kind": type(exc).__name__, "message": exc.message, "fatal": False}).encode())
        return True
    except (pa.ArrowMemoryError, MemoryError):
        _write(out, b"X", json.dumps({"kind": "TooLarge", "message":
                                      f"reading this Parquet content needs more than {_size(max_memory)} "
                                      f"of memory (decode_max_memory)"}).encode())
    except (pa.ArrowException, OSError, ValueError) as exc:
        _write(out, b"X", json.dumps({"kind": "Invalid", "message":
                                      f"content is not a readable Parquet file: "
                                      f"{(str(exc).splitlines() or [type(exc).__name__])[0]}"}).encode())
    return False


def _describe(request: dict, objects, external) -> dict:
    from ..core.catalog import describe_dataset, describe_parquet

    if request["op"] == "describe":
        schema, summary, rows = describe_parquet(request["path"], request["max_rows"],
                                                 request["max_decoded_bytes"])
        return {"schema": schema, "summary": summary, "rows": rows}
    data = external.dataset(request["location"], request["format"])
    schema, summary, rows = describe_dataset(data, request["format"], request["max_decoded_bytes"],
                                             request["location"])
    return {"schema": schema, "summary": summary, "rows": rows, "listing": external.listing_hash(data)}


def _scan(request: dict, objects, external, inp, out) -> bool:
    from ..core import row_filters
    from .scan import Scan

    source = request["source"]
    if "digest" in source:
        dataset = objects.dataset(source["digest"])
    else:
        dataset = external.dataset(source["location"], source["format"])
        if external.listing_hash(dataset) != source["listing"]:
            raise errors.Conflict("the data at this location changed since it was registered (files added, "
                                  "removed or rewritten): its owner registers it again")
    scan = Scan(dataset, request["columns"], row_filters.to_expression(request["terms"], dataset.schema),
                batch_rows=request["batch_rows"], text_max=request["text_max"])
    chunks = scan.ipc_chunks()
    first = [next(chunks, b""), next(chunks, b"")]  # the schema and the first batch: an error there is a clean answer
    _write(out, b"H", json.dumps({"rows": scan.rows()}).encode())
    if inp.readline().strip() != b"go":
        _write(out, b"E")
        return True
    for chunk in _chain(first, chunks):
        for at in range(0, len(chunk), FRAME):
            _write(out, b"D", chunk[at:at + FRAME])
    _write(out, b"E")
    return True


def _chain(first: list, rest) -> Iterator[bytes]:
    yield from (c for c in first if c)
    yield from rest


if __name__ == "__main__":
    main()
