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
from typing import Callable
from urllib.parse import quote

import logging

from tornado import web
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError

from .. import api
from ..core.errors import GovernanceError, TooLarge
from ..service import Actor
from ..store.decode_worker import decode_user
from .openapi import openapi_document

log = logging.getLogger("mlgov.server")

# routes that decode user data in decode workers: they run on the service's decode_executor
DECODE_ROUTES = {("assets", "POST"), ("data", "GET"), ("capture", "POST"), ("groundtruth", "POST")}

BODY_TIMEOUT = 60.0  # seconds a request body may take to arrive (a sender that stalls is dropped)
BODY_SLACK = 64 << 10  # bytes over max_body_bytes at which tornado drops the connection itself


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
        self.finish(json.dumps({"message": message}))

    def _check_body_size(self) -> None:
        """TooLarge (413) for a body over ``max_body_bytes``, by its Content-Length, as soon as the
        headers are in (``prepare``), before a byte of the body is read."""
        limit = self.service.limits.max_body_bytes
        try:
            length = int(self.request.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        length = max(length, len(self._body))
        if length > limit:
            raise TooLarge(f"the request body is {_mib(length)}; the mlgov server accepts at most "
                           f"{_mib(limit)} (max_body_bytes)")

    # ---- the request body: streamed (tornado's @stream_request_body), bounded ------------------
    # tornado would otherwise read a whole body (up to its max_body_size) before the handler runs,
    # i.e. before authentication: strangers could hold gigabytes of memory. Streamed, prepare()
    # runs once the headers are in: it authenticates (the host's guard) and checks Content-Length;
    # data_received keeps at most max_body_bytes.

    _body: bytearray | bytes = b""

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
            self._discard_body()
            raise

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
        length over ``max_body_bytes``; the connection's own cap set to it (tornado drops a body
        that grows past it, e.g. a chunked one) and a stalled body dropped after
        ``BODY_TIMEOUT`` seconds."""
        self._body = bytearray()
        connection = self.request.connection
        if hasattr(connection, "set_body_timeout"):
            connection.set_body_timeout(BODY_TIMEOUT)
        try:
            self._check_body_size()
        except GovernanceError as exc:
            self._refuse(exc)  # tornado discards what still arrives until the answer is out
            return
        if hasattr(connection, "set_max_body_size"):
            connection.set_max_body_size(self.service.limits.max_body_bytes + BODY_SLACK)

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return  # refused already: what still arrives is dropped with the connection
        if len(self._body) + len(chunk) > self.service.limits.max_body_bytes:
            limit = self.service.limits.max_body_bytes
            self._refuse(TooLarge(f"the request body is over {_mib(limit)}; the mlgov server accepts at "
                                  f"most {_mib(limit)} (max_body_bytes)"))
            return
        self._body += chunk

    def _refuse(self, exc: GovernanceError) -> None:
        """Answer ``exc`` at once, without reading the rest of the body (tornado closes the
        connection once the answer is out, since the body was not read)."""
        self._discard_body()
        self.set_status(exc.status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Connection", "close")
        self.finish(json.dumps({"message": exc.message}))

    async def call_route(self, method: str, path_args: dict) -> None:
        try:
            route = self.routes[method]
            query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
            self._check_body_size()
            body = (bytes(self._body) if route.raw else api.parse_json(bytes(self._body))) \
                if method != "GET" else None
            actor = self.actor
            # The service is synchronous (database, rendering): run it off the event loop so one
            # slow call (a PDF export, a large publish) does not stall every other request.
            # Exports (PDF renders) have their own small pool: they never occupy this one.
            # Calls that decode user data have theirs: one waiting for a decode worker never holds
            # a thread every other route needs.
            pool = self.service.export_executor if route.resource == "export" else \
                self.service.monitor_request_executor if route.resource == "monitorrun" else \
                self.service.decode_executor if (route.resource, method) in DECODE_ROUTES else None
            context = contextvars.copy_context()
            context.run(decode_user.set, actor.name)  # the decode workers' per-user cap counts this caller
            result = await IOLoop.current().run_in_executor(
                pool, context.run, api.run, route, self.service, actor, path_args, query, body)
        except GovernanceError as exc:
            self.set_status(exc.status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message}))
            return
        self.set_status(route.status)
        if route.binary:
            meta, data = result
            self.set_header("X-Mlgov-Meta", quote(json.dumps(meta)))
            self.set_header("Content-Type", meta.get("media_type", "application/octet-stream"))
            if data is None or isinstance(data, (bytes, bytearray)):
                self.finish(data or b"")
            else:
                await self._stream(data)
        else:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(result))


    async def _stream(self, chunks) -> None:
        """Send an iterator of byte chunks as they are made, each read off the event loop, each
        flushed before the next is read (memory stays at a chunk or two whatever the size)."""
        loop = IOLoop.current()
        pool = self.service.decode_executor
        drain = self.service.limits.decode_drain_seconds
        try:
            while True:
                chunk = await loop.run_in_executor(pool, next, chunks, None)
                if chunk is None:
                    break
                if chunk:
                    self.write(chunk)
                    await self._flush_within(drain, getattr(chunks, "touch", None))
        except StreamClosedError:
            pass  # the reader went away: stop reading
        except _Drained:
            log.warning("streaming %s dropped: the reader took no data for %g s", self.request.path, drain)
            self.request.connection.close()
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
            close = getattr(chunks, "close", None)
            if close:
                close()
        self.finish()

    async def _flush_within(self, seconds: float, touch=None) -> None:
        """``flush()``, or _Drained when the reader takes no byte of it for ``seconds``; ``touch()``
        (the scan's drain deadline) is called whenever some of it went out."""
        flushed = self.flush()
        stream = getattr(self.request.connection, "stream", None)
        done = _delivered(stream)
        since = asyncio.get_running_loop().time()
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(flushed), timeout=max(0.1, min(seconds, 5.0)))
                return
            except asyncio.TimeoutError:
                now, moved = asyncio.get_running_loop().time(), _delivered(stream)
                if moved != done:
                    done, since = moved, now
                    if touch:
                        touch()
                elif now - since >= seconds:
                    raise _Drained() from None


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
    """A reader took no data for the drain deadline."""


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


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def _verb(method: str):
    async def handle(self, **path_args):
        if not self._finished:  # a body refused while it arrived was answered then
            await self.call_route(method, path_args)

    handle.__name__ = method.lower()
    return handle
