"""The route table as tornado handlers, for any host: one class per path, errors mapped once.

Both hosts serve the same table with the same service: the jupyter-server extension (personal
mode, ``handlers.py``) and ``mlgov serve`` (team mode, ``hub_service.py``). A host supplies a base
class with an ``actor`` property and a decorator for its authentication.
"""

from __future__ import annotations

import inspect
import asyncio
import contextvars
import json
import re
import time
from typing import Callable
from urllib.parse import quote

import logging

import orjson
from tornado import web
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError

from .. import api
from ..core.errors import GovernanceError, Invalid, TooLarge, Unavailable
from ..service import Actor
from ..service.search import search_deadline
from ..store.db import OverDeadline
from ..store.decode_worker import decode_user
from .budgets import BodyBudget, budgets, mib, pool_turns, search_shares, search_turns
from .openapi import openapi_document

log = logging.getLogger("mlgov.server")

# routes that decode user data in decode workers: they run on the service's decode_executor
DECODE_ROUTES = {("assets", "POST"), ("data", "GET"), ("capture", "POST"), ("groundtruth", "POST")}

# routes whose answers hold no float (so no NaN, which orjson writes as null, json.dumps as NaN):
# their JSON is written by orjson (a search page: 0.08 -> 0.012 ms for a rare word's, 0.31 -> 0.07
# ms for the sidebar's open, of 1.5-3 ms of server CPU a request)
ORJSON_ROUTES = {("assets", "GET")}

BODY_TIMEOUT = 60.0  # seconds a request body may take to arrive (a sender that stalls is dropped)
BODY_SLACK = 64 << 10  # bytes over max_body_bytes at which tornado drops the connection itself
STREAM_TICK = 1.0  # seconds between checks of a streamed response's reader (drain deadline, minimum rate)


class RouteMixin:
    """Runs ``self.routes[method]`` on ``settings["mlgov_service"]`` as ``self.actor``."""

    routes: dict = {}

    @property
    def service(self):
        return self.settings["mlgov_service"]

    @property
    def actor(self) -> Actor:  # pragma: no cover - each host defines it
        raise NotImplementedError

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = str(exc) if isinstance(exc, GovernanceError) else (self._reason or "error")
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        self.set_header("Content-Type", "application/json")
        if self._refused_early:  # tornado closes a connection whose request it has not read: say so,
            self.set_header("Connection", "close")  # or a proxy reuses it (red team R20-2)
        self.finish(json.dumps({"message": message}))

    _refused_early = False  # refused in ``prepare``, before the request was read

    def _body_limit(self) -> tuple[int, str]:
        """(bytes, setting) this request's body may hold: ``max_body_bytes`` for a raw route
        (upload parts, captures), else its route's ``json_bytes`` or ``json_max_body_bytes``."""
        limits = self.service.limits
        route = self.routes.get(self.request.method)
        if route is not None and route.raw:
            return limits.max_body_bytes, "max_body_bytes"
        declared = route.json_bytes if route is not None and route.json_bytes else 0
        limit, setting = (declared, "JSON on this route") if declared > limits.json_max_body_bytes else \
            (limits.json_max_body_bytes, "json_max_body_bytes")
        return (limit, setting) if limit < limits.max_body_bytes else (limits.max_body_bytes, "max_body_bytes")

    def _declared_length(self) -> int:
        try:
            return max(0, int(self.request.headers.get("Content-Length") or 0))
        except ValueError:
            return 0

    def _check_body_size(self) -> None:
        """TooLarge (413) for a body over its limit (``_body_limit``), by its Content-Length, as
        soon as the headers are in (``prepare``), before a byte of the body is read."""
        limit, setting = self._body_limit()
        length = max(self._declared_length(), self._received)
        if length > limit:
            raise TooLarge(f"the request body is {mib(length)}; the mlgov server accepts at most "
                           f"{mib(limit)} ({setting})")

    def _small_body(self) -> bool:
        """A JSON body of at most json_max_body_bytes (what most routes take): it may use the part
        of body_memory_total kept for small bodies (``BodyBudget``)."""
        route = self.routes.get(self.request.method)
        return not (route is not None and route.raw) and \
            self._body_limit()[0] <= self.service.limits.json_max_body_bytes

    def _reserve_body(self, n: int) -> None:
        """Count ``n`` more body bytes against the caller's and everyone's budget (Unavailable,
        503, beyond); given back when the request ends (``on_finish``/``on_connection_close``)."""
        limits = self.service.limits
        user = self.__dict__.setdefault("_body_user", self.actor.name)
        held = getattr(self, "_body_reserved", 0)
        budgets(self.settings)[0].reserve(user, n, limits.body_memory_per_user, limits.body_memory_total,
                                          small=self._small_body(), own=held)
        self._body_reserved = held + n

    def _body_window(self, received: int) -> int:
        """What this body is charged once ``received`` bytes are in: those, never the declared
        length (red team R12 N2) nor a read ahead (R13 P2-2: a window charged per connection let
        idle connections fill the budget); what tornado read and has not handed over yet (at most
        ``BODY_WINDOW``) is bounded by ``bodies_per_user`` bodies per user (``_begin_body``)."""
        return received

    def _begin_body(self) -> None:
        """Count this request among the bodies its user is sending (``BodyBudget.begin``: 503 past
        ``bodies_per_user``), if it has one; ended with ``_release_body``."""
        headers = self.request.headers
        if self._declared_length() > 0 or "chunked" in headers.get("Transfer-Encoding", "").lower():
            user = self.__dict__.setdefault("_body_user", self.actor.name)
            budgets(self.settings)[0].begin(user, self.service.limits.bodies_per_user)
            self._body_sending = True

    def _reserve_parse(self, body: bytes) -> None:
        """Count what parsing this JSON body will take (``_parse_cost``) against the caller's
        body budget until the request ends: one body whose parse alone would pass
        ``body_memory_per_user`` is a 413; several at once beyond it a 503."""
        cost = _parse_cost(body)
        limit = self.service.limits.body_memory_per_user
        if cost + len(body) > limit:
            raise TooLarge(f"parsing this request body would take about {mib(cost)} of memory; one user may "
                           f"hold at most {mib(limit)} (body_memory_per_user): send fewer JSON values")
        self._reserve_body(cost)

    def _release_body(self) -> None:
        if getattr(self, "_body_sending", False):
            self._body_sending = False
            budgets(self.settings)[0].end(self._body_user)
        n, self._body_reserved = getattr(self, "_body_reserved", 0), 0
        if n:
            budgets(self.settings)[0].release(self._body_user, n)

    def on_finish(self):
        self._release_body()
        self._release_stream()
        parent = getattr(super(), "on_finish", None)
        if parent:
            parent()

    _job_running = False

    def on_connection_close(self):
        if not self._job_running:  # else the job gives it back when it ends
            self._release_body()
        self._release_stream()
        parent = getattr(super(), "on_connection_close", None)
        if parent:
            parent()

    # ---- the request body: streamed (tornado's @stream_request_body), bounded ------------------
    # tornado would otherwise read a whole body (up to its max_body_size) before the handler runs,
    # i.e. before authentication: strangers could hold gigabytes of memory. Streamed, prepare()
    # runs once the headers are in: it authenticates (the host's guard) and checks Content-Length;
    # data_received keeps at most max_body_bytes.

    _body: list | tuple = ()  # the body's chunks as read (call_route joins a JSON one; a raw one goes as they are)
    _received = 0  # bytes of the body received

    async def prepare(self):
        """The host's own preparation (jupyter-server: who is calling), then its guard (the route
        handlers' ``_guarded_prepare``), then the body's checks: all before the body is read."""
        try:
            parent = super().prepare()
            if inspect.isawaitable(parent):
                await parent
            if not self._finished:
                await self._guarded_prepare()
        except Exception:
            self._refused_early = True
            self._discard_body()
            raise

    async def _search(self, pool, run: tuple, words: str):
        """A search call (``run``: ``context.run`` and ``_parse_and_run``'s arguments): first on the
        event loop while it is quick (``search_loop_seconds``, stopped at the deadline) and its user
        has not taken more than their share of the loop (``SearchShares``), else on ``pool``, one
        search a user at a time (``Turns``), one thread kept for users who used little of them
        lately (``SearchShares.on_threads``); not run for a client already gone."""
        user = self.actor.name
        shares = search_shares(self.settings, self.service.limits.search_workers)
        budget = self.service.search_loop_seconds(words)
        if budget > 0 and shares.may_use_loop(user):
            in_context, _, *args = run
            began = time.perf_counter()
            try:
                return in_context(_run_until, time.monotonic() + budget, *args)
            except OverDeadline:
                pass
            finally:
                shares.charge_loop(user, time.perf_counter() - began)
        async with search_turns(self.settings).turn(user), shares.on_threads(user) as took:
            return await self._run_unless_gone(pool, _timed, took, *run)

    async def _run_unless_gone(self, pool, *call):
        """``call`` on ``pool``, unless the caller's connection is closed already (a call that
        waited its turn is then not run: red team R19 F3; Unavailable, which nobody reads)."""
        stream = getattr(self.request.connection, "stream", None)
        if stream is not None and stream.closed():
            raise Unavailable("the client closed the connection")
        return await IOLoop.current().run_in_executor(pool, *call)

    def _discard_body(self) -> None:
        """Let tornado read and drop a refused body until the answer is out (it then closes the
        connection), instead of dropping the connection before the answer (a declared length
        over the connection's cap would)."""
        connection = self.request.connection
        try:
            length = int(self.request.headers.get("Content-Length") or 0)
        except ValueError:
            return
        if hasattr(connection, "set_max_body_size") and length > 0:
            connection.set_max_body_size(length)

    async def _guarded_prepare(self) -> None:  # route_handlers wraps it in the host's guard
        await self.prepare_body()

    async def prepare_body(self) -> None:
        """Called by ``prepare`` after the host authenticated the caller: 413 for a declared
        length over the body's limit (``_body_limit``: small for JSON); the route's ``precheck``
        (an upload that is not the caller's is a 404 before its body is read); 503 when the declared
        length could never fit the budget of body bytes in flight (``body_memory_per_user``,
        ``body_memory_total``); 503 when its user sends ``bodies_per_user`` bodies already
        (``_begin_body``); the bytes are then charged as they arrive (``data_received``); the connection's
        own cap set to the limit (tornado drops a body that grows past it) and a stalled body
        dropped after ``BODY_TIMEOUT`` seconds."""
        self._body, self._received = [], 0
        connection = self.request.connection
        if hasattr(connection, "set_body_timeout"):
            connection.set_body_timeout(BODY_TIMEOUT)
        try:
            self._check_body_size()
            route = self.routes.get(self.request.method)
            if route is not None and route.precheck is not None:  # e.g. the upload is the caller's
                api.check_path(self.path_kwargs)
                await IOLoop.current().run_in_executor(None, route.precheck, self.service, self.actor,
                                                       self.path_kwargs)
            limits = self.service.limits
            most = BodyBudget.most(limits.body_memory_per_user, limits.body_memory_total, self._small_body())
            if self._declared_length() > most:  # could never be taken: not a matter of trying again
                raise TooLarge(f"the request body is {mib(self._declared_length())}; one user may send at most "
                               f"{mib(most)} at once (body_memory_per_user, body_memory_total)")
            self._begin_body()
        except GovernanceError as exc:
            self._refuse(exc)  # tornado discards what still arrives until the answer is out
            return
        if hasattr(connection, "set_max_body_size"):
            connection.set_max_body_size(self._body_limit()[0] + BODY_SLACK)

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return  # refused already: what still arrives is dropped with the connection
        limit, setting = self._body_limit()
        received = self._received + len(chunk)
        if received > limit:
            self._refuse(TooLarge(f"the request body is over {mib(limit)}; the mlgov server accepts at "
                                  f"most {mib(limit)} ({setting})"))
            return
        # charged as it arrives: what is in, and the next read (tornado holds a chunk before it
        # hands it over: that window was charged before it was read)
        beyond = self._body_window(received) - getattr(self, "_body_reserved", 0)
        if beyond > 0:
            try:
                self._reserve_body(beyond)
            except GovernanceError as exc:
                self._refuse(exc)
                return
        self._body.append(chunk)  # kept as read: no copy into one growing buffer
        self._received = received

    def _refuse(self, exc: GovernanceError) -> None:
        """Answer ``exc`` at once, without reading the rest of the body (tornado closes the
        connection once the answer is out, since the body was not read). What was kept of the body
        is dropped now: its reservation is given back with the answer (``on_finish``), while the
        connection may stay a while."""
        self._body, self._received = [], 0
        self._discard_body()
        self.set_status(exc.status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Connection", "close")
        self.finish(json.dumps({"message": exc.message}))

    async def call_route(self, method: str, path_args: dict) -> None:
        try:
            route = self.routes[method]
            query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
            if "Range" in self.request.headers and route.query is not None \
                    and "offset" in route.query.model_fields:  # a resumed download (bytes=N-); other
                query["offset"] = _range_start(self.request.headers["Range"])  # routes ignore Range
            self._check_body_size()
            # a raw body goes as its chunks (api.run joins them unless its route takes them as they
            # are); JSON is joined here (at most json_max_body_bytes; one chunk is itself, no copy)
            body = None if method == "GET" else self._body if route.raw else b"".join(self._body)
            self._body = []
            if body and not route.raw:
                self._reserve_parse(body)
            actor = self.actor
            search_shares(self.settings, self.service.limits.search_workers).seen(actor.name)  # who uses the service
            # The service is synchronous (database, rendering): run it off the event loop so one
            # slow call (a PDF export, a large publish) does not stall every other request.
            # Exports (PDF renders) have their own small pool: they never occupy this one.
            # Calls that decode user data have theirs: one waiting for a decode worker never holds
            # a thread every other route needs. Searches have theirs, and run first on the loop
            # when they are quick (``search_loop_seconds``). On the shared pool and the exports'
            # a user runs a few calls at a time, their others waiting on the loop (``Turns``).
            pool = _pool(self.service, route.resource, method)
            context = contextvars.copy_context()
            context.run(decode_user.set, actor.name)  # the decode workers' per-user cap counts this caller
            if route.binary:  # a streamed response holds a slot until it ends (_stream_slot)
                limits = self.service.limits
                self._stream_slot = await budgets(self.settings)[1].acquire(
                    actor.name, limits.stream_per_user, limits.stream_max, limits.decode_wait,
                    limits.stream_max_lease, self._cut)
            # JSON is parsed off the event loop too (a large body takes a while; nobody waits on it).
            # The body's reservation lasts as long as the job that holds the body and its parse,
            # whether or not the client stays connected (red team R12 N5).
            self._job_running = True
            try:
                run = (context.run, _parse_and_run, route, self.service, actor, path_args, query, body)
                if pool is self.service.search_executor:
                    result = await self._search(pool, run, query.get("q") or "")
                elif pool is None or pool is self.service.export_executor:  # a few at a time per user
                    async with pool_turns(self.settings, "shared" if pool is None else "export").turn(actor.name):
                        result = await self._run_unless_gone(pool, *run)
                else:
                    result = await IOLoop.current().run_in_executor(pool, *run)
            finally:
                self._job_running = False
                body = None
                self._release_body()
        except GovernanceError as exc:
            self._release_stream()
            self.set_status(exc.status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message}))
            return
        self.set_status(route.status)
        if route.binary:
            try:
                meta, data = result
                resumed = [(k, query[k]) for k in ("start", "offset") if query.get(k) not in (None, "", "0")]
                if resumed:  # the server log shows each resume
                    getattr(self, "log", log).info("mlgov: %s resumes %s from %s %s", actor.name, self.request.path,
                                                   "row" if resumed[0][0] == "start" else "byte", resumed[0][1])
                if meta.get("range"):
                    first, size = meta["range"]
                    self.set_status(206)
                    self.set_header("Content-Range", f"bytes {first}-{size - 1}/{size}" if first < size
                                    else f"bytes */{size}")
                self.set_header("X-Mlgov-Meta", quote(json.dumps(meta)))
                self.set_header("Content-Type", meta.get("media_type", "application/octet-stream"))
                if data is None or isinstance(data, (bytes, bytearray)):
                    self.finish(data or b"")
                else:
                    await self._stream(data)
            finally:
                self._release_stream()
        else:
            self.set_header("Content-Type", "application/json")
            self.finish(_encode(result, (route.resource, method) in ORJSON_ROUTES))


    def _release_stream(self) -> None:
        token, self._stream_slot = getattr(self, "_stream_slot", None), None
        if token is not None:
            budgets(self.settings)[1].release(token)

    def _cut(self) -> None:
        """Stop this stream (its slot's lease is over and others wait: ``StreamSlots``): the
        connection is closed, the reader sees the stream break off (the client says to retry)."""
        self.request.connection.close()

    async def _stream(self, chunks) -> None:
        """Send an iterator of byte chunks as they are made, each read off the event loop: the
        next one is read while one is sent, and the one after only once that send is done
        (memory stays at two chunks whatever the size; a scan's two buffers: ``reuse_buffer``).
        The reader is dropped when it takes no data for ``decode_drain_seconds``, or less than
        ``stream_min_rate`` bytes/s over ``stream_rate_window`` seconds of waiting on it."""
        loop = IOLoop.current()
        pool = self.service.decode_executor
        limits = self.service.limits
        drain = limits.decode_drain_seconds
        meter = _Meter(limits.stream_min_rate, limits.stream_rate_window)
        reuse = getattr(chunks, "reuse_buffer", None)
        if reuse is not None:  # a chunk is sent while the next is read into the other buffer
            reuse(2)
        ahead = None  # the read of the next chunk, under way while one is sent
        try:
            ahead = loop.run_in_executor(pool, next, chunks, None)
            while True:
                chunk = await ahead
                ahead = None
                if chunk is None:
                    break
                if not chunk:
                    ahead = loop.run_in_executor(pool, next, chunks, None)
                    continue
                sent = self._send_chunk(chunk)
                chunk = None  # not held while the next is read
                ahead = loop.run_in_executor(pool, next, chunks, None)
                await self._flush_within(drain, getattr(chunks, "touch", None), meter,
                                         getattr(chunks, "cut", None), sent)
        except StreamClosedError:
            pass  # the reader went away: stop reading
        except _Drained as exc:
            why = str(exc) or f"took no data for {drain:g} s"
            log.warning("streaming %s dropped: the reader %s", self.request.path, why)
            self.request.connection.close()
            ahead = await _settled(ahead)
            close = getattr(chunks, "close", None)
            chunks = None
            if close:
                await loop.run_in_executor(pool, close)
            return
        except Exception as exc:  # headers are out: a broken stream is all the reader can be told
            # the kind only: a decoding error can quote a value of the data, which a log must not hold
            log.error("streaming %s stopped: %s", self.request.path, type(exc).__name__)
            self.request.connection.close()
            return
        finally:
            ahead = await _settled(ahead)  # a read under way: the iterator is closed once it is done
            close = getattr(chunks, "close", None)
            if close:
                close()
        self.finish()

    def _send_chunk(self, chunk) -> "asyncio.Future":
        """Queue ``chunk`` (bytes or a memoryview) on the connection as one piece of the response
        and return the future of its send. Over HTTP/1.1 chunked encoding the piece's size line
        and end are written beside it: tornado's own ``write`` + ``flush`` would copy each 8 MiB
        frame twice (joining the frame into its chunk framing), three live copies of a frame at
        the peak of a large `use`. Elsewhere (an output transform, another connection kind)
        tornado's ``write`` + ``flush``."""
        connection = self.request.connection
        stream = getattr(connection, "stream", None)
        if not self._headers_written:
            self.flush()  # the headers (chunked encoding: no Content-Length)
        chunking = getattr(connection, "_chunking_output", None)
        if stream is None or chunking is None or getattr(self, "_transforms", None) or self._write_buffer:
            self.write(bytes(chunk))
            return self.flush()
        if chunking:
            stream.write(b"%x\r\n" % len(chunk))
            stream.write(chunk)
            return stream.write(b"\r\n")
        return stream.write(chunk)

    async def _flush_within(self, seconds: float, touch=None, meter: "_Meter | None" = None, cut=None,
                            flushed=None) -> None:
        """``flush()`` (or await ``flushed``, a send already queued), or _Drained when the reader
        takes no byte of it for ``seconds`` or is slower than ``meter`` allows, or ``cut()`` says
        why the data's producer was stopped (a read's lease); ``touch()`` (the scan's drain
        deadline) is called whenever some of it went out. StreamClosedError once the connection is
        closed (a stream slot's lease: ``_cut``; tornado then never resolves the flush)."""
        if flushed is None:
            flushed = self.flush()
        stream = getattr(self.request.connection, "stream", None)
        done = _delivered(stream)
        loop = asyncio.get_running_loop()
        since = started = loop.time()
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(flushed), timeout=max(0.1, min(seconds, STREAM_TICK)))
                if meter:
                    meter.waited(loop.time() - started, _delivered(stream))
                return
            except asyncio.TimeoutError:
                if stream is not None and stream.closed():
                    raise StreamClosedError() from None
                why = cut() if cut else None
                if why:
                    raise _Drained(why) from None
                now, moved = loop.time(), _delivered(stream)
                if meter:
                    meter.waited(now - started, moved)
                    started = now
                if moved != done:
                    done, since = moved, now
                    if touch:
                        touch()
                elif now - since >= seconds:
                    raise _Drained() from None


async def _settled(future) -> None:
    """Wait until ``future`` (a read of a stream's next chunk, or None) is done; its result or
    error is dropped (the stream is ending). None, for ``ahead = await _settled(ahead)``."""
    if future is not None:
        await asyncio.wait([future])
        if not future.cancelled():
            future.exception()  # retrieved: asyncio would log it as never retrieved
    return None


def _encode(result, fast: bool) -> bytes | str:
    """``result`` as JSON: by orjson when ``fast`` (non-string keys as json.dumps writes them),
    by json.dumps otherwise or for what orjson refuses (an int past 64 bits, a lone surrogate)."""
    if fast:
        try:
            return orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # orjson.JSONEncodeError
            pass
    return json.dumps(result)


def _pool(service, resource: str, method: str):
    """The threads a route's call runs on (None: the event loop's shared pool)."""
    if resource == "export":
        return service.export_executor
    if resource == "monitorrun":
        return service.monitor_request_executor
    if (resource, method) == ("assets", "GET"):
        return service.search_executor
    return service.decode_executor if (resource, method) in DECODE_ROUTES else None


def _timed(took: list, call, *args):
    """``call(*args)``, its seconds in ``took[0]`` (a search's time on its thread)."""
    began = time.perf_counter()
    try:
        return call(*args)
    finally:
        took[0] = time.perf_counter() - began


def _run_until(deadline: float, route, service, actor, path_args, query, body):
    """``_parse_and_run`` with the search's statements stopped at ``deadline`` (``OverDeadline``)."""
    token = search_deadline.set(deadline)
    try:
        return _parse_and_run(route, service, actor, path_args, query, body)
    finally:
        search_deadline.reset(token)


def _range_start(header: str) -> str:
    """N of a ``Range: bytes=N-`` header (a download resumed from byte N: the only form served);
    Invalid for any other."""
    match = re.fullmatch(r"\s*bytes=(\d{1,19})-\s*", header)
    if not match:
        raise Invalid("Range must be bytes=N- (resume from byte N); other ranges are not served")
    return match.group(1)


def _delivered(stream) -> int | None:
    """Bytes of a tornado IOStream the peer has taken: those written to the socket less those
    still in its kernel send queue (Linux SIOCOUTQ; elsewhere those written), None if unknown."""
    written = getattr(stream, "_total_write_done_index", None)
    if written is None:
        return None
    try:
        import fcntl
        import struct
        import termios

        queued = struct.unpack("i", fcntl.ioctl(stream.socket.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
    except (ImportError, OSError, AttributeError, ValueError):
        queued = 0
    return written - queued


class _Drained(Exception):
    """A reader took no data for the drain deadline (or took it too slowly: the message says)."""


class _Meter:
    """A reader's rate, on the clock of time spent waiting on it (a slow producer, e.g. a
    selective scan, never counts against the reader): ``waited(seconds, delivered)`` after each
    wait raises _Drained once the reader took less than ``min_rate`` bytes/s over the last
    ``window`` seconds of waiting (so not before ``window`` seconds of it). min_rate 0: off."""

    def __init__(self, min_rate: int, window: float):
        self.min_rate, self.window = min_rate, window
        self.clock = 0.0
        self.samples: list[tuple[float, int]] = []  # (clock, bytes delivered) at each wait's end

    def waited(self, seconds: float, delivered: int | None) -> None:
        if not self.min_rate or delivered is None:
            return
        self.clock += seconds
        self.samples.append((self.clock, delivered))
        while len(self.samples) > 1 and self.samples[1][0] <= self.clock - self.window:
            self.samples.pop(0)
        then, before = self.samples[0]
        if self.clock - then >= self.window and (delivered - before) < self.min_rate * (self.clock - then):
            rate = (delivered - before) / (self.clock - then)
            raise _Drained(f"took {rate:.0f} bytes/s over {self.clock - then:.0f} s, under stream_min_rate "
                           f"({self.min_rate} bytes/s)")


def route_handlers(base: type, guard: Callable, prefix: str = "",
                   prepare_guard: Callable | None = None) -> list[tuple[str, type]]:
    """One concrete handler class per path of ``api.ROUTES`` (each with its own auth_resource),
    plus the OpenAPI document. ``guard`` wraps every verb (the host's authentication);
    ``prepare_guard`` (default: ``guard``) wraps the checks made once the headers are in, before
    the body is read (every handler streams its body); ``base`` has ``base_url`` (where the API is
    served, for the OpenAPI document)."""
    early = guard(RouteMixin._guarded_prepare) if prepare_guard is None else \
        prepare_guard(RouteMixin._guarded_prepare)
    by_path: dict[str, list[api.Route]] = {}
    for route in api.ROUTES:
        by_path.setdefault(route.path, []).append(route)
    handlers = []
    for path, routes in by_path.items():
        attrs = {"auth_resource": f"mlgov:{routes[0].resource}", "routes": {r.method: r for r in routes}}
        for route in routes:
            attrs[route.method.lower()] = guard(_verb(route.method))
        attrs["_guarded_prepare"] = early
        cls = web.stream_request_body(type(f"{routes[0].resource.title()}Handler", (base,), attrs))
        handlers.append((prefix + api.BASE + path, cls))

    async def get_openapi(self):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(openapi_document(self.base_url)))

    openapi = web.stream_request_body(type("OpenAPIHandler", (base,), {
        "auth_resource": "mlgov:openapi", "get": guard(get_openapi),
        "_guarded_prepare": early}))
    handlers.append((prefix + api.BASE + "openapi.json", openapi))
    return handlers


def _parse_cost(body: bytes) -> int:
    """Bytes of memory a JSON body takes once parsed, estimated from its bytes (C-speed counts):
    ~72 per array or object, ~64 per other value (a short string with its list slot; numbers
    take less); measured: 17 MiB of ``"ab",`` parse to 262 MB, the estimate says 227 MB."""
    containers = body.count(b"[") + body.count(b"{")
    return 72 * containers + 64 * (body.count(b",") + 1)


def _parse_and_run(route: api.Route, service, actor: Actor, path_args: dict, query: dict, body: bytes | None):
    """``api.run`` of a body as sent: JSON parsed here (off the event loop), its arrays and objects
    counted first (``json_max_containers``); a raw route's bytes passed as they are."""
    if body is not None and not route.raw:
        body = api.parse_json(body, service.limits.json_max_containers)
    return api.run(route, service, actor, path_args, query, body)


def _verb(method: str):
    async def handle(self, **path_args):
        if not self._finished:  # a body refused while it arrived was answered then
            await self.call_route(method, path_args)

    handle.__name__ = method.lower()
    return handle
