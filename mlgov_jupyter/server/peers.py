"""Per-peer limits on connections that have not shown a user yet (red team R12 N4, N1).

A stranger with no token can open connections faster than any timeout closes them (R12: two
processes at 400 half-open connections a second held all 20,000 descriptors of ``mlgov serve``).
``PeerGuard`` counts, per peer address, the connections on which no request has been
authenticated yet ("unvouched"). Beyond ``per_peer`` of them, a new connection from that peer
closes that peer's *oldest* unvouched one: the newcomer is always let in, so an honest client
sharing the address (team mode: every kernel of a host reaches the service from one IP, often
127.0.0.1) still gets through, whose request is authenticated within milliseconds, while a
flood only pushes out its own connections. A connection leaves the count once a request on it
is authenticated (``vouch``); its user is then known, and the service's per-user budgets apply.

An unvouched connection must send its first request head within ``header_timeout`` seconds
(idle keep-alive connections keep the server's longer idle timeout), and, if ``stranger_body``
is given, a request whose head carries no valid credentials may send a body of at most that
many bytes unless its handler raises the cap (the mlgov routes do, once they have authenticated
the request): jupyter-server would otherwise buffer up to ``ServerApp.max_body_size`` (512 MiB)
per connection for anyone.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Callable

from tornado.httputil import HTTPHeaders, HTTPMessageDelegate, RequestStartLine
from tornado.ioloop import IOLoop

SWEEP_EVERY = 4096  # connections admitted between sweeps of closed ones from every peer


class PeerGuard:
    """Installed on a tornado ``HTTPServer`` with ``install``.

    ``per_peer``: unvouched connections one peer address may hold (0: no cap);
    ``header_timeout``: seconds until an unvouched connection's first request head must be in
    (0: none); ``credentialed(start_line, headers)``: whether a request head carries valid
    credentials (its connection is then vouched for at once; None: only ``vouch`` does it);
    ``stranger_body``: bytes a body of an unvouched connection without credentials may have
    unless its handler raises the cap (None: no cap).
    ``evicted``/``timed_out`` count the connections closed by each rule."""

    def __init__(self, per_peer: int, header_timeout: float = 0.0,
                 credentialed: Callable[[RequestStartLine, HTTPHeaders], bool] | None = None,
                 stranger_body: int | None = None):
        self.per_peer, self.header_timeout = per_peer, header_timeout
        self.credentialed, self.stranger_body = credentialed, stranger_body
        self.pending: dict[str, OrderedDict[int, object]] = {}
        self.evicted = self.timed_out = 0
        self._admitted = itertools.count(1)

    def install(self, server) -> None:
        """Wraps ``server.handle_stream`` (admission) and ``server.start_request`` (heads)."""
        handle_stream, start_request = server.handle_stream, server.start_request

        def guarded_stream(stream, address):
            self.admit(stream, address)
            return handle_stream(stream, address)

        def guarded_request(server_conn, request_conn):
            return _Head(self, start_request(server_conn, request_conn), request_conn)

        server.handle_stream, server.start_request = guarded_stream, guarded_request

    def admit(self, stream, address) -> None:
        peer = address[0] if isinstance(address, tuple) and address else "local"
        streams = self.pending.setdefault(peer, OrderedDict())
        if self.per_peer and len(streams) >= self.per_peer:
            for key in [k for k, s in streams.items() if s.closed()]:
                del streams[key]
            while len(streams) >= self.per_peer:
                _, oldest = streams.popitem(last=False)
                oldest.close()
                self.evicted += 1
        streams[id(stream)] = stream
        stream.mlgov_peer = (self, peer)
        if self.header_timeout > 0:
            IOLoop.current().call_later(self.header_timeout, self._head_due, stream)
        if next(self._admitted) % SWEEP_EVERY == 0:
            self._sweep()

    def vouch(self, stream) -> None:
        """A request on ``stream`` is authenticated: it no longer counts against its peer."""
        streams = self.pending.get(stream.mlgov_peer[1])
        if streams is not None:
            streams.pop(id(stream), None)
        stream.mlgov_peer = None

    def unvouched(self, peer: str) -> int:
        """Open unvouched connections of ``peer`` now."""
        return sum(not s.closed() for s in self.pending.get(peer, {}).values())

    def _head_due(self, stream) -> None:
        if getattr(stream, "mlgov_peer", None) and not getattr(stream, "mlgov_head", False) \
                and not stream.closed():
            stream.close()
            self.timed_out += 1

    def _sweep(self) -> None:
        for peer in list(self.pending):
            streams = self.pending[peer]
            for key in [k for k, s in streams.items() if s.closed()]:
                del streams[key]
            if not streams:
                del self.pending[peer]


def vouch(request) -> None:
    """Call once ``request`` (a tornado ``HTTPServerRequest``) is authenticated."""
    stream = getattr(getattr(request, "connection", None), "stream", None)
    entry = getattr(stream, "mlgov_peer", None)
    if entry:
        entry[0].vouch(stream)


class _Head(HTTPMessageDelegate):
    """Forwards to the server's delegate; notes the first head and applies the stranger cap."""

    def __init__(self, guard: PeerGuard, delegate, connection):
        self.guard, self.delegate, self.connection = guard, delegate, connection

    def headers_received(self, start_line, headers):
        stream = getattr(self.connection, "stream", None)
        if stream is not None:
            stream.mlgov_head = True
            guard = self.guard
            if getattr(stream, "mlgov_peer", None) and guard.credentialed is not None:
                if guard.credentialed(start_line, headers):
                    guard.vouch(stream)
                elif guard.stranger_body is not None and _body_over(headers, guard.stranger_body):
                    self.connection.set_max_body_size(guard.stranger_body)
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk):
        return self.delegate.data_received(chunk)

    def finish(self):
        return self.delegate.finish()

    def on_connection_close(self):
        return self.delegate.on_connection_close()


def _body_over(headers: HTTPHeaders, limit: int) -> bool:
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return True
    try:
        return int(headers.get("Content-Length", "0")) > limit
    except ValueError:
        return False  # tornado refuses it itself
