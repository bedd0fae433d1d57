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
Before it imports pyarrow it confines itself (``_sandbox``: kernel/sandbox.py's Landlock and
seccomp, as an isolated model's worker does; red team R13 P1-5): it may read Python's own files,
the local object store and its staging directory and the allowed local external prefixes, and
write nothing anywhere (its answers go out on its stdout pipe); so a memory-safety bug in the
Parquet reader cannot open the database file, the audit signing key or the cookie secret beside
them. It opens no socket unless the object store or an allowed prefix is remote (then TCP over IPv4/IPv6
only, to the endpoints' ports: store/endpoints.py; no UDP, no UNIX socket, so not a database's
either, no bind; red team R14 finding 4). Where the sandbox
is unavailable (no Landlock, no libseccomp) the worker runs as before and the service logs why,
once.

Protocol: the parent writes one JSON line of settings, then one JSON line per request; the worker
answers in frames ``kind (1 byte) + length (8 bytes, big-endian) + payload``: ``R`` ready, ``J`` a
JSON result, ``H`` a scan's header (JSON), then ``D`` data frames and ``E`` the end; ``X`` an error
(JSON ``kind``, ``message``, ``fatal``: the worker then exits). After ``H`` the parent writes ``go`` or ``stop``.
"""

from __future__ import annotations

import contextvars
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
from ..core.catalog import size_text, unreadable
from .fair_slots import FairSlots, preempt_by_share

FRAME = 8 << 20  # most bytes of one data frame (what the service holds of a stream at once)
DEFAULT_MAX_MEMORY = 1 << 30
IDLE_SECONDS = 600  # an idle worker exits after this long unused
IDLE_EXIT = 3  # its exit status then
_KEPT_ENV = {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME", "ARROW_DEFAULT_MEMORY_POOL",
             "OMP_NUM_THREADS"}
_CLOUD_ENV = ("AWS_", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_")  # credentials the filesystems may read
# files a worker reading over the network needs (CA certificates, name resolution)
_NETWORK_FILES = ("/etc/ssl", "/etc/pki", "/etc/ca-certificates", "/etc/resolv.conf", "/etc/hosts",
                  "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf")
_CREDENTIAL_FILE_ENV = ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "GOOGLE_APPLICATION_CREDENTIALS")
_unconfined_logged = False  # "the decode workers run without a sandbox" is logged once per process
DEFAULT_PER_USER = 2  # workers one user may hold (or wait for) at once
DEFAULT_SLOT_WAIT = 30.0  # seconds a call waits for a free worker before it is a 503
DEFAULT_DRAIN_SECONDS = 60.0  # seconds a scan's reader may leave its data unread before it is dropped
DEFAULT_TIMEOUT = 120.0  # seconds of CPU one describe may take (RLIMIT_CPU in the worker)

# Who the current call decodes for (the hosts set it per request: server/routes.py); None: the
# service itself (scheduled monitor runs), counted against the pool's size only.
decode_user: contextvars.ContextVar = contextvars.ContextVar("mlgov_decode_user", default=None)


# ---- the service's side -----------------------------------------------------------------------

class DecodePool:
    """Worker processes that decode Parquet for the service.

    objects: the ``ObjectStore`` (its url, options and staging directory are sent to workers);
    external: the ``ExternalLocations`` (prefixes with options, private directories) or None;
    max_memory: bytes a worker may allocate beyond what it holds once warm (its data segment,
    ``RLIMIT_DATA``); idle: workers kept started once used (the first call starts one; each stays
    ``idle_seconds`` unused at most); max_workers: workers at once (more callers wait, at most
    ``slot_wait`` seconds, then Unavailable, 503); per_user: workers one user (``decode_user``) may
    hold or wait for at once (Unavailable beyond: "you already have N reads in progress");
    drain_seconds: a scan whose reader takes no data for this long is dropped (its worker stopped,
    the slot freed; the reader sees a broken stream); timeout: seconds of CPU one describe may use
    in its worker (TooLarge beyond, 413); reserved: workers scans (``use`` reads, held as long as
    their reader reads) never take, kept for describes and captures (scans hold at most
    ``max_workers - reserved``, at least 1; one more waits as for a slot, then Unavailable; waiters
    are served by how many reads their user holds, fewest first: ``FairSlots``); lease: while
    callers wait for a read slot, a scan of the user holding the most above a fair share that
    ran ``fair_slots.MIN_RUN`` seconds (or the lease if shorter) is stopped, one per waiter,
    never a user's only one (its reader sees the stream break off and resumes; 0: never); a read then waits up to
    ``lease`` + 5 s if that is longer than ``slot_wait``.
    """

    def __init__(self, objects, external=None, max_memory: int = DEFAULT_MAX_MEMORY, idle: int = 2,
                 max_workers: int = 8, idle_seconds: float = IDLE_SECONDS, per_user: int = DEFAULT_PER_USER,
                 slot_wait: float = DEFAULT_SLOT_WAIT, drain_seconds: float = DEFAULT_DRAIN_SECONDS,
                 timeout: float = DEFAULT_TIMEOUT, reserved: int = 0, lease: float = 0.0):
        self.settings = {"objects": {"url": objects.url, "options": objects.options,
                                     "staging": str(objects.staging)},
                         "external": {"prefixes": dict(external.prefixes) if external else {},
                                      "private": list(external.private) if external else []},
                         "max_memory": int(max_memory), "idle_seconds": idle_seconds}
        self.max_memory, self.idle_target, self.idle_seconds = int(max_memory), idle, idle_seconds
        self.max_workers, self.per_user, self.slot_wait = max_workers, max(1, per_user), slot_wait
        self.drain_seconds, self.timeout, self.lease = drain_seconds, timeout, lease
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_workers)
        self.max_reads = max(1, max_workers - max(0, reserved))
        self._read_slots = FairSlots(self.max_reads)  # scans: reads held by their reader, granted fairly by user
        self._held: dict[str, int] = {}  # per user: workers held or waited for
        self._streaming: "weakref.WeakSet[RemoteScan]" = weakref.WeakSet()
        self._watchdog: threading.Thread | None = None
        self._closed = False
        # idle workers stop with the pool (a service that is dropped) and by themselves after
        # IDLE_SECONDS unused (a pool nobody calls any more holds no process for long)
        weakref.finalize(self, _stop_all, self._idle)

    # ---- calls ----

    def describe_parquet(self, path: str, max_rows: int | None, max_decoded_bytes: int | None) -> tuple:
        """``core.catalog.describe_parquet`` of a staged local file, in a worker (which may read
        files in the staging directory and the object store only: PermissionError, Invalid,
        elsewhere)."""
        request = {"op": "describe", "path": str(path), "max_rows": max_rows,
                   "max_decoded_bytes": max_decoded_bytes, "cpu_seconds": self.timeout}
        first = self._lease()
        try:
            spare = self._lease_spare()
        except BaseException:
            self._release(first, True)
            raise
        if spare is None:
            result = self._ask([first], [request])[0]
            return result["schema"], result["summary"], result["rows"]
        # two idle workers: each describes every other column (the same batches, so the same
        # statistics), side by side on two cores; joined in schema order (core.catalog.merge_parts)
        from ..core.catalog import merge_parts

        parts = self._ask([first, spare], [dict(request, part=[i, 2]) for i in range(2)])
        return merge_parts(parts, max_decoded_bytes)

    def describe_external(self, location: str, file_format: str, max_decoded_bytes: int | None) -> tuple:
        """``((schema, summary, rows), listing)`` of registered data (``listing``: its file
        listing's hash, ``ExternalLocations.listing_hash``), in a worker."""
        result = self._call({"op": "describe_external", "location": location, "format": file_format,
                             "max_decoded_bytes": max_decoded_bytes, "cpu_seconds": self.timeout})
        return (result["schema"], result["summary"], result["rows"]), result["listing"]

    def lease_read(self) -> "_Worker":
        """A worker for one scan, leased ahead (a read waits for a read slot, up to decode_wait or
        the lease): callers lease before their database transaction, so that no transaction is
        held open while they wait. Give it to ``scan(worker=...)`` or back to ``release_unused``."""
        return self._lease(read=True)

    def release_unused(self, worker: "_Worker") -> None:
        """A worker from ``lease_read`` that no scan took (the read was refused)."""
        self._release(worker, ok=True)

    def scan(self, source: dict, columns: list | None, terms, batch_rows: int,
             text_max: dict | None = None, worker: "_Worker | None" = None, start: int = 0) -> "RemoteScan":
        """A scan prepared in a worker: ``source`` is ``{"digest"}`` (a stored Parquet object, or a
        list of digests scanned as one dataset: ``ObjectStore.dataset``) or
        ``{"location", "format", "listing"}`` (registered data; Conflict when its listing hash is
        no longer ``listing``); ``terms``: normalised row filter terms (core/row_filters.py).
        Errors of the data (unknown columns, a filter that does not fit, a row group too large,
        the first batch beyond the memory limit) are raised here, before anything is sent.
        ``start``: rows of the output to skip (a resumed read)."""
        request = {"op": "scan", "source": source, "columns": columns, "terms": terms,
                   "batch_rows": batch_rows, "text_max": text_max or {}, "start": start}
        worker = worker or self._lease(read=True)
        try:
            worker.send(request)
            kind, payload = worker.frame()
            if kind != b"H":
                self._fail(worker, kind, payload)
        except BaseException:
            self._release(worker, ok=False)
            raise
        scan = RemoteScan(self, worker, json.loads(payload))
        self._watch(scan)
        return scan

    def prewarm(self, count: int = 1) -> None:
        """Start workers now until ``count`` are idle (an upload began: its publish describes the
        file when the last part is in, and a cold worker's start, about 1 s, would come on top; a
        monitor run began: its workers start while it reads its plan and baseline). Idle workers
        hold no slot; at most ``idle`` are kept, each retiring unused as usual."""
        for _ in range(max(0, min(count, self.idle_target))):
            with self._lock:
                if self._closed or sum(w.alive() for w in self._idle) >= min(count, self.idle_target):
                    return
            try:
                fresh = _Worker(self.settings)  # starts the process; it warms up on its own
            except errors.Unavailable:
                return  # the caller starts one (or says why it cannot)
            with self._lock:
                if not self._closed and len(self._idle) < self.idle_target:
                    self._idle.append(fresh)
                    continue
            fresh.kill()
            return

    def leased(self, optional: bool = False) -> "Leased | None":
        """A worker held for several calls (a monitor run's worker: ``Leased.partial``), given
        back by ``Leased.close`` (or ``with``). ``optional``: None instead of waiting when no worker
        is free at once or the caller (``decode_user``) holds its ``per_user`` already: a run's
        second worker is a bonus, never a reason to wait or to fail."""
        worker = self._lease(optional=optional)
        return None if worker is None else Leased(self, worker)

    def close(self) -> None:
        """Stop every idle worker (those streaming stop when their stream ends)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.kill()

    # ---- workers ----

    def _call(self, request: dict) -> dict:
        return self._ask([self._lease()], [request])[0]

    def _ask(self, workers: list, requests: list) -> list:
        """Each worker's JSON answer to its request (all sent first: they work side by side);
        every worker is given back, stopped if its call failed or its answer was not read."""
        oks = [False] * len(workers)
        try:
            for worker, request in zip(workers, requests):
                worker.send(request)
            answers = []
            for i, worker in enumerate(workers):
                kind, payload = worker.frame()
                if kind != b"J":
                    self._fail(worker, kind, payload)
                oks[i] = True
                answers.append(json.loads(payload))
            return answers
        finally:
            for worker, ok in zip(workers, oks):
                self._release(worker, ok)

    def _lease_spare(self) -> "_Worker | None":
        """A second worker for a call that can be split, only if an idle one has warmed up (its
        ready frame is in) and the caller and the pool have a slot free at once; else None
        (never started or waited for: the call then runs in one worker)."""
        with self._lock:
            warm = [w for w in self._idle if w.alive() and w.warm()]
            if not warm:
                return None
            self._idle.remove(warm[-1])
            self._idle.append(warm[-1])  # _lease takes the last
        return self._lease(optional=True)

    def _lease(self, optional: bool = False, read: bool = False) -> "_Worker | None":
        user = decode_user.get()
        with self._lock:
            held = self._held.get(user, 0) if user is not None else 0
            if user is not None and held >= self.per_user:
                if optional:
                    return None
                raise errors.Unavailable(f"you already have {held} reads in progress (the most one user may "
                                         f"have at once: decode_per_user); try again when one ends")
            if user is not None:
                self._held[user] = held + 1
        started = time.monotonic()
        # with a lease, a read waits until some read's lease is over (the watchdog checks every <= 5 s)
        if read and not self._read_slots.acquire(user, max(self.slot_wait, self.lease + 5.0) if self.lease
                                                 else self.slot_wait):
            self._unhold(user)
            raise errors.Unavailable(f"the service is busy decoding ({self.max_reads} read"
                                     f"{'s' if self.max_reads != 1 else ''} in progress; "
                                     f"decode_reserved workers are kept for publish and capture); try again")
        wait = max(0.0, self.slot_wait - (time.monotonic() - started))
        if not self._slots.acquire(timeout=0 if optional else wait):
            if read:
                self._read_slots.release(user)
            self._unhold(user)
            if optional:
                return None
            raise errors.Unavailable(f"the service is busy decoding ({self.max_workers} reads in progress); "
                                     f"try again")
        try:
            with self._lock:
                while self._idle:
                    worker = self._idle.pop()
                    # one close to retiring by itself is not used: it could exit as it is asked
                    margin = min(60.0, self.idle_seconds / 10)
                    if worker.alive() and time.monotonic() - worker.idle_since < self.idle_seconds - margin:
                        worker.user, worker.read = user, read
                        return worker
                    worker.kill()
            worker = _Worker(self.settings)
            worker.user = user
            worker.read = read
            return worker
        except BaseException:
            self._slots.release()
            if read:
                self._read_slots.release(user)
            self._unhold(user)
            raise

    def _unhold(self, user) -> None:
        if user is None:
            return
        with self._lock:
            left = self._held.get(user, 0) - 1
            if left > 0:
                self._held[user] = left
            else:
                self._held.pop(user, None)

    def _watch(self, scan: "RemoteScan") -> None:
        """Drop scans whose reader leaves data unread for ``drain_seconds`` (one thread per pool,
        started with the first scan, checking every few seconds)."""
        with self._lock:
            self._streaming.add(scan)
            if self._watchdog is None or not self._watchdog.is_alive():
                self._watchdog = threading.Thread(target=_watch_scans, args=(weakref.ref(self),),
                                                  name="mlgov-decode-drain", daemon=True)
                self._watchdog.start()

    def _release(self, worker: "_Worker", ok: bool) -> None:
        """Back to the idle list after a call that ended well; else stopped, and a fresh one
        started in its place (a worker that failed may hold a damaged or swollen heap)."""
        ok, worker.reusable = ok or worker.reusable, False
        user, worker.user = getattr(worker, "user", None), None
        read, worker.read = getattr(worker, "read", False), False
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
            if read:
                self._read_slots.release(user)
            self._unhold(user)

    def _fail(self, worker: "_Worker", kind: bytes | None, payload: bytes, doing: str = "describing this content",
              per: str = ""):
        """Raise what the worker reported (``X``), or what its end tells (no frame: it died);
        ``doing``, ``per``: what took too long, in the message of a CPU limit."""
        if kind == b"X":
            try:
                info = json.loads(payload)
            except (ValueError, RecursionError):
                info = None
            if not isinstance(info, dict) or not isinstance(info.get("message", ""), str):
                raise errors.Invalid("the decode worker's answer is malformed")
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
        if code == -signal.SIGXCPU:
            raise errors.TooLarge(f"{doing} takes longer than decode_timeout "
                                  f"({self.timeout:g} s of CPU{' ' + per if per else ''})")
        if worker.drained == "lease":
            raise errors.Unavailable("the read was cut while others waited for a decode worker "
                                     "(stream_max_lease): try again")
        if worker.drained:
            raise errors.Unavailable(f"the reader took no data for {self.drain_seconds:g} s: the read was dropped")
        if code == -signal.SIGKILL or code == -signal.SIGABRT:  # the kernel's OOM killer; C++ out of memory
            raise errors.TooLarge(f"reading this Parquet content {how}: it needs more than "
                                  f"{size_text(self.max_memory)} of memory (decode_max_memory)")
        raise errors.Invalid(f"reading this Parquet content {how}: the file is corrupt")


class Leased:
    """A worker leased for a series of calls; a call that fails gives it back at once (it is
    discarded: its heap may be damaged) and so does ``close``."""

    def __init__(self, pool: DecodePool, worker: "_Worker"):
        self.pool, self.worker, self.done = pool, worker, False

    def partial(self, request: dict, max_answer: int) -> bytes:
        """A monitor run's statistics over stored Parquet objects, computed where the worker
        decodes them (``core.monitoring.check.scan_partial``): ``request`` holds ``digests``
        (scanned as one dataset), ``columns``, ``names`` (the columns as the check sees them),
        ``batch_rows``, ``text_max``, ``baseline`` (the stored baseline's digest) and
        ``cpu_seconds`` (its RLIMIT_CPU: TooLarge beyond). Returns the worker's JSON answer
        unparsed (``core.monitoring.partial_codec.decode`` checks it: the worker is not
        trusted); an answer longer than ``max_answer`` bytes is refused unread (Invalid) and its
        worker stopped."""
        if self.done:
            raise errors.Unavailable("this decode worker was given back")
        ok = False
        try:
            self.worker.send({"op": "partial", **request})
            kind, payload = self.worker.frame(limit=max_answer)
            if kind == b"L":
                raise errors.Invalid(f"the decode worker's statistics ({int(payload):,} bytes) are larger than "
                                     f"statistics of this baseline can be ({max_answer:,} bytes): refused")
            if kind != b"J":
                self.pool._fail(self.worker, kind, payload, doing="computing these statistics", per="a file")
            ok = True
            return payload
        finally:
            if not ok:
                self._give_back(False)

    def close(self) -> None:
        self._give_back(True)

    def _give_back(self, ok: bool) -> None:
        if not self.done:
            self.done = True
            self.pool._release(self.worker, ok)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self._give_back(False)
        except Exception:
            pass


class RemoteScan:
    """A scan running in a worker: ``schema_rows`` known, data to forward with ``ipc_chunks``."""

    def __init__(self, pool: DecodePool, worker: "_Worker", header: dict):
        self.pool, self.worker, self._rows = pool, worker, header.get("rows")
        self._done = False
        self.buffers: list = []  # buffers data frames are read into, in turn (ScanChunks.reuse_buffer)
        self.progress = self.started = time.monotonic()  # when the reader last took data; when the scan began

    def rows(self) -> int | None:
        """Rows the scan yields (from the footers); None when a row filter applies."""
        return self._rows

    def ipc_chunks(self) -> "ScanChunks":
        """The Arrow IPC stream, frame by frame as the worker sends them (an iterator with
        ``close`` and ``touch``). A worker that fails part-way raises (the headers are out: the
        reader sees a broken stream)."""
        return ScanChunks(self, self._frames())

    def _frames(self) -> Iterator[bytes]:
        if self._done:
            return
        ok = False
        try:
            self.worker.send_line(b"go")
            turn = 0
            while True:
                self.progress = time.monotonic()
                into = self.buffers[turn % len(self.buffers)] if self.buffers else None
                kind, payload = self.worker.frame(into=into)
                turn += 1
                self.progress = time.monotonic()
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
        with self.pool._lock:
            if self._done:
                return
            self._done = True
        self.buffers = []  # unmapped once the last frame's view is gone (not with the handler)
        self.pool._release(self.worker, ok)

    def drop(self) -> None:
        """Stop the scan now (its worker is killed and its slot freed), whatever its reader does."""
        self._finish(False)

    def __del__(self):  # a scan never read nor closed must not keep its worker
        try:
            if not self._done:
                self._finish(False)
        except Exception:
            pass


class ScanChunks:
    """A scan's frames as an iterator; ``touch()`` tells the drain deadline its reader is still
    taking data (a host whose send of one frame is slow but moving calls it), ``close()`` gives
    the worker back."""

    def __init__(self, scan: RemoteScan, frames: Iterator[bytes]):
        self.scan, self._frames = scan, frames

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self._frames)

    def reuse_buffer(self, count: int = 1) -> None:
        """From now on yield each data frame as a view into one of ``count`` mappings of ``FRAME``
        bytes, in turn: a frame is valid only until ``count`` more are asked for (server/routes.py
        takes two: it reads the next frame while it sends one, and asks for the one after only
        once that send is done). The service then allocates nothing per frame: fresh 8 MiB
        frames, freed on another thread than the one that read them, kept ~50 MB of the C
        allocator's arenas in the service after a large `use` (its peak RSS)."""
        if not self.scan.buffers:  # its own mappings: unmapped, not kept by the allocator, when the scan goes
            import mmap

            self.scan.buffers = [mmap.mmap(-1, FRAME, flags=mmap.MAP_PRIVATE) for _ in range(max(1, count))]

    def touch(self) -> None:
        self.scan.progress = time.monotonic()

    def cut(self) -> str | None:
        """Why the scan was stopped under its reader (its lease was over while others waited),
        or None: the host then closes the connection at once, without waiting for the socket."""
        if getattr(self.scan.worker, "drained", None) == "lease":
            return f"was cut after stream_max_lease ({self.scan.pool.lease:g} s): others waited for a read"
        return None

    def close(self) -> None:
        self._frames.close()
        if not self.scan._done:  # never started: the generator's close does not reach its finally
            self.scan.close()


class _Worker:
    """One worker process, started at once (it imports pyarrow and warms up in the background)."""

    argv = ["-I", "-m", "mlgov_jupyter.store.decode_worker"]  # after the interpreter

    def __init__(self, settings: dict):
        env = {k: v for k, v in os.environ.items() if k in _KEPT_ENV or k.startswith(_CLOUD_ENV)}
        try:
            self.proc = subprocess.Popen([sys.executable, *self.argv],
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
        self.ready = self.reusable = self.drained = False
        self.user = None
        self.idle_since = time.monotonic()
        self.send_line(json.dumps(settings).encode())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def warm(self) -> bool:
        """Whether it is ready (its ready frame came, or is waiting in its pipe), without waiting."""
        if not self.ready:
            try:
                self.ready_waiting = self.ready_waiting or bool(select.select([self.proc.stdout], [], [], 0)[0])
            except (OSError, ValueError):
                return False
        return self.ready or self.ready_waiting

    ready_waiting = False

    def send(self, request: dict) -> None:
        if not self.ready:
            kind, payload = self.frame()
            if kind != b"R":
                raise errors.Unavailable("the service's Parquet reader process did not start; try again")
            self.ready = True
            _note_confinement(payload)
        self.send_line(json.dumps(request).encode())

    def send_line(self, line: bytes) -> None:
        try:
            self.proc.stdin.write(line + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it died: the next frame() reports how

    def frame(self, limit: int | None = None, into=None) -> tuple[bytes | None, bytes]:
        """The next frame, or ``(None, b"")`` when the worker is gone; ``(b"L", size)`` when its
        payload is longer than ``limit`` (the worker is then stopped, the payload never read).
        ``into``: a writable buffer; a data frame that fits is read into it, its payload then a
        memoryview of it."""
        out = self.proc.stdout
        try:
            head = out.read(9)
            if len(head) < 9:
                return None, b""
            size = int.from_bytes(head[1:], "big")
            if limit is not None and size > limit:
                self.kill_only()
                return b"L", str(size).encode()
            if into is not None and head[:1] == b"D" and 0 < size <= len(into):
                payload = memoryview(into)[:size]
                got = 0
                while got < size:
                    n = out.readinto(payload[got:])
                    if not n:
                        return None, b""
                    got += n
                return head[:1], payload
            payload = out.read(size) if size else b""
        except (ValueError, OSError):  # its pipe was closed (a scan dropped by the drain deadline)
            return None, b""
        if len(payload) < size:
            return None, b""
        return head[:1], payload

    def wait(self) -> int | None:
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def kill_only(self) -> None:
        """SIGKILL without waiting or closing the pipes (another thread may be reading them)."""
        if self.proc.poll() is None:
            self.proc.kill()

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


def _note_confinement(payload: bytes) -> None:
    """Log, once per process, that decode workers run unconfined and why (the worker's ready
    frame says), or what an allowed prefix lets them read of the service's own files."""
    global _unconfined_logged
    try:
        info = json.loads(payload) if payload else {}
    except ValueError:
        info = {}
    if _unconfined_logged or not isinstance(info, dict) or not (info.get("unconfined") or info.get("note")):
        return
    _unconfined_logged = True
    import logging

    if info.get("unconfined"):
        logging.getLogger("mlgov").warning(
            "mlgov: decode workers run without a sandbox (%s): a memory-safety bug in the Parquet reader "
            "would reach every file of the service's account", str(info["unconfined"])[:300])
    else:
        logging.getLogger("mlgov").warning("mlgov: decode workers %s", str(info["note"])[:300])


def _watch_scans(pool_ref) -> None:
    """The drain deadline: every few seconds, stop the worker of each scan whose reader has taken
    no data for ``drain_seconds`` (its pipe is full, so it would wait for ever holding a slot).
    Ends when no scan is left to watch (the next scan starts it again) or the pool is gone."""
    while True:
        pool = pool_ref()
        if pool is None:
            return
        step = max(0.2, min(5.0, pool.drain_seconds / 4, (pool.lease or 20.0) / 4))
        now = time.monotonic()
        with pool._lock:
            scans = [s for s in pool._streaming if not s._done]
            if not scans:
                pool._watchdog = None
                return
        for scan in scans:
            if now - scan.progress > pool.drain_seconds:
                scan.worker.drained = True
                scan.worker.kill_only()  # the reader's next read ends the stream and frees the slot
                scan.drop()
        _preempt_reads(pool, [s for s in scans if not s._done], now)
        del pool, scans
        time.sleep(step)


def _preempt_reads(pool, scans: list, now: float) -> None:
    """The read lease (red team R12 N3): while callers wait for a read slot, stop reads of the
    user holding the most above a fair share, each run at least MIN_RUN (5 s) or ``pool.lease``
    seconds if shorter, whatever its age (R14 finding 5), one per waiter, never a user's only read (``fair_slots.preempt_by_share``; by age alone, attackers
    restarting their own reads aimed it at an honest long one: R13 P2-3). Their readers see the
    stream break off."""
    if not pool.lease:
        return
    waiters = pool._read_slots.waiting_users()
    if not waiters:
        return
    streams = [(i, scan.worker.user, scan.started) for i, scan in enumerate(scans)]
    for i in preempt_by_share(streams, waiters, pool.max_reads, pool.lease, now, len(waiters)):
        scans[i].worker.drained = "lease"
        scans[i].worker.kill_only()
        scans[i].drop()


def _stop_all(workers: list) -> None:
    for w in list(workers):
        w.kill()


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
    confinement = _sandbox(settings)  # before pyarrow starts a thread or opens a file
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
    _write(out, b"R", json.dumps(confinement).encode())
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


def _sandbox(settings: dict) -> dict:
    """Confine this worker for good (kernel/sandbox.py): read-only access to Python's files, the
    local object store and staging directory, the allowed local external prefixes (and, for a
    remote store or prefix, CA certificates, name resolution and cloud credential files), no
    writes, TCP only when something is remote. ``{"sandbox": what}``, or ``{"unconfined": why}``
    where it cannot be set up; ``note``: an allowed prefix holds one of the service's private
    paths (Landlock cannot carve them out; the per-open check of external.py still applies)."""
    from ..kernel import sandbox

    objects, external = settings["objects"], settings["external"]
    local = [p.removeprefix("file://") for p in external["prefixes"] if "://" not in p or p.startswith("file://")]
    tcp = ("://" in objects["url"] and not objects["url"].startswith("file://")) or \
        len(local) < len(external["prefixes"])
    readable = [objects["staging"], *local]
    if "://" not in objects["url"] or objects["url"].startswith("file://"):
        readable.append(objects["url"].removeprefix("file://"))
    ports = set()
    if tcp:
        readable += [*_NETWORK_FILES, os.path.expanduser("~/.aws"),
                     *(os.environ[k] for k in _CREDENTIAL_FILE_ENV if os.environ.get(k))]
        ports = _remote_ports(objects, external)
    readable = [os.path.realpath(p) for p in readable]
    held = sorted({p for p in external["private"] for r in map(os.path.realpath, local)
                   if os.path.realpath(p) == r or os.path.realpath(p).startswith(r.rstrip("/") + "/")})
    try:
        info = {"sandbox": sandbox.enter(readable, tcp=tcp, ports=ports)}
    except sandbox.Unavailable as exc:
        return {"unconfined": str(exc)}
    if held:
        info["note"] = (f"can read {', '.join(held)}: an allowed external prefix holds "
                        f"{'it' if len(held) == 1 else 'them'}")
    return info


def _remote_ports(objects: dict, external: dict) -> set[int]:
    """The TCP ports the remote object store and prefixes are reached on (store/endpoints.py);
    with a host name among them, also 53 with the C library's resolver set to ask over TCP
    (``RES_OPTIONS=use-vc``): the worker may open no UDP socket (red team R14 finding 4)."""
    from .endpoints import endpoints, needs_dns

    found = endpoints(objects["url"], objects["options"], os.environ)
    for prefix, options in external["prefixes"].items():
        found |= endpoints(prefix, options, os.environ)
    ports = {port for _, port in found}
    if needs_dns(host for host, _ in found):
        os.environ["RES_OPTIONS"] = " ".join(filter(None, (os.environ.get("RES_OPTIONS"), "use-vc")))
        ports.add(53)
    return ports


def _serve(request: dict, objects, external, inp, out, max_memory: int) -> bool:
    import pyarrow as pa

    try:
        if request["op"] == "scan":
            return _scan(request, objects, external, inp, out)
        _limit_cpu(request.get("cpu_seconds"))
        try:
            if request["op"] == "partial":
                _write(out, b"J", _partial(request, objects))
                return True
            answer = _describe(request, objects, external)
        finally:
            _limit_cpu(None)
        _write(out, b"J", json.dumps(answer).encode())
        return True
    except errors.GovernanceError as exc:  # a refusal (bounds, columns, limits): the worker stays
        _write(out, b"X", json.dumps({"kind": type(exc).__name__, "message": exc.message, "fatal": False}).encode())
        return True
    except (pa.ArrowMemoryError, MemoryError):
        _write(out, b"X", json.dumps({"kind": "TooLarge", "message":
                                      f"reading this Parquet content needs more than {size_text(max_memory)} "
                                      f"of memory (decode_max_memory)"}).encode())
    except (pa.ArrowException, OSError, ValueError) as exc:
        _write(out, b"X", json.dumps({"kind": "Invalid", "message": unreadable(exc)}).encode())
    return False


def _limit_cpu(seconds: float | None) -> None:
    """At most ``seconds`` more CPU time (all threads) from now: past it the kernel sends SIGXCPU,
    which ends the worker (the pool answers 413). None: no limit."""
    import resource

    if seconds is None:
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        return
    used = resource.getrusage(resource.RUSAGE_SELF)
    limit = int(used.ru_utime + used.ru_stime + max(1.0, seconds)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (limit, resource.RLIM_INFINITY))


def _describe(request: dict, objects, external) -> dict:
    from ..core.catalog import describe_dataset, describe_parquet, describe_parquet_part

    if request["op"] == "describe" and request.get("part"):  # one of two workers' columns
        i, k = (int(x) for x in request["part"])
        return describe_parquet_part(request["path"], (i, k), request["max_rows"], request["max_decoded_bytes"])
    if request["op"] == "describe":
        schema, summary, rows = describe_parquet(request["path"], request["max_rows"],
                                                 request["max_decoded_bytes"])
        return {"schema": schema, "summary": summary, "rows": rows}
    data = external.dataset(request["location"], request["format"])
    schema, summary, rows = describe_dataset(data, request["format"], request["max_decoded_bytes"],
                                             request["location"])
    return {"schema": schema, "summary": summary, "rows": rows, "listing": external.listing_hash(data)}


_baselines: dict = {}  # the last baseline a partial used (digest: Baseline), parsed once per run


def _partial(request: dict, objects) -> bytes:
    """A run's statistics over ``request["digests"]`` (``DecodePool.partial``), one batch of the
    scan in memory at a time, as JSON (``core.monitoring.partial_codec``)."""
    from ..core.monitoring import Baseline
    from ..core.monitoring.arrow_pass import batch_partial
    from ..core.monitoring.partial_codec import encode
    from .scan import Scan

    digest = request["baseline"]
    baseline = _baselines.get(digest)
    if baseline is None:
        _baselines.clear()
        baseline = _baselines[digest] = Baseline.from_dict(json.loads(b"".join(objects.chunks(digest))))
    import pyarrow.dataset as ds

    from ..core.monitoring.stats import CategoricalRef

    # text the baseline counts as categories is read as Parquet stores it, a dictionary (pandas
    # categorical: counted from its codes), not as one string per row; the counts are the same
    texts = [c for c in request["columns"] if isinstance(baseline.columns.get(c), CategoricalRef)]
    fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=texts),
                               default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))
    dataset = ds.dataset([objects.path(d) for d in request["digests"]], format=fmt, filesystem=objects.fs)
    scan = Scan(dataset, request["columns"], batch_rows=request["batch_rows"], text_max=request["text_max"])
    scan.use_threads = False  # a run computes on several workers at once: one core each
    meta = scan.schema.metadata  # as the IPC stream a scan sends (no pandas metadata when columns are chosen)
    batches = _file_batches(scan, objects, request["digests"], texts) or scan._batches()
    # number columns straight from the Arrow buffers, the others through pandas (as scan_partial)
    return json.dumps(encode(batch_partial(baseline, request["names"], batches, metadata=meta))).encode()


def _file_batches(scan, objects, digests: list, texts: list):
    """The batches ``scan._batches()`` yields (row group by row group, ``scan.batch_rows`` rows at
    most), read file by file with ``pyarrow.parquet`` (a third less CPU than the dataset scanner),
    when every file has the dataset's types for the columns read; else None (the scan casts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    want = [scan.schema.field(c).type for c in scan.columns]
    # those the dataset reads as dictionaries (text; never a nested column, which has no such name)
    texts = [c for c, t in zip(scan.columns, want) if c in texts and pa.types.is_dictionary(t)]

    def open_(d):
        if objects.is_local:  # mapped, read-only: pages decoded from the page cache, not copied into buffers first
            return pq.ParquetFile(objects.path(d), memory_map=True, read_dictionary=texts)
        return pq.ParquetFile(objects.path(d), filesystem=objects.fs, read_dictionary=texts)

    for d in digests:  # footers only, each file closed again (a task may hold thousands)
        try:
            with open_(d) as pfile:
                schema = pfile.schema_arrow
        except (pa.ArrowException, OSError, KeyError, ValueError):
            return None  # the scan says what is wrong with it
        if [schema.field(c).type if schema.get_field_index(c) >= 0 else None for c in scan.columns] != want:
            return None

    def batches():
        for d in digests:
            with open_(d) as pfile:
                for i in range(pfile.num_row_groups):
                    yield from pfile.iter_batches(batch_size=scan.batch_rows, row_groups=[i], columns=scan.columns,
                                                  use_threads=False)

    return batches()


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
                batch_rows=request["batch_rows"], text_max=request["text_max"], start=request.get("start", 0))
    chunks = scan.ipc_pieces()  # each a list of the batch's buffers (views) and small metadata pieces
    first = [next(chunks, []), next(chunks, [])]  # the schema and the first batch: an error there is a clean answer
    _write(out, b"H", json.dumps({"rows": scan.rows()}).encode())
    if inp.readline().strip() != b"go":
        _write(out, b"E")
        return True
    for pieces in _chain(first, chunks):
        for frame in _frames_of(pieces):
            _write_pieces(out, b"D", frame)
    _write(out, b"E")
    return True


def _frames_of(pieces: list) -> Iterator[list]:
    """``pieces`` (bytes-like) cut into frames of at most FRAME bytes, each a list of pieces or
    slices of them (memoryviews: nothing is copied)."""
    frame, held = [], 0
    for piece in pieces:
        view, at = memoryview(piece), 0
        while at < len(view):
            take = min(len(view) - at, FRAME - held)
            frame.append(view[at:at + take] if take < len(view) else view)
            held, at = held + take, at + take
            if held == FRAME:
                yield frame
                frame, held = [], 0
    if frame:
        yield frame


def _write_pieces(out, kind: bytes, pieces: list) -> None:
    """One frame whose payload is ``pieces`` one after the other (``_write`` of their join)."""
    out.write(kind + sum(len(p) for p in pieces).to_bytes(8, "big"))
    for piece in pieces:
        out.write(piece)
    out.flush()


def _chain(first: list, rest) -> Iterator:
    yield from (c for c in first if c)
    yield from rest


if __name__ == "__main__":
    main()
