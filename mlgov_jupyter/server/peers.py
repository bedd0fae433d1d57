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

Red team R13 P2-1 and P2-4: every address of 127.0.0.0/8 (and ::1, IPv4-mapped ones too) is one
peer, "loopback" (a local user binding each socket to a random 127.x.y.z was a new peer each
time); all peers together may hold at most ``total`` unvouched connections (beyond, the oldest
one anywhere is closed); once vouched for, a connection counts against its user, who may hold
``per_user`` (beyond, the user's oldest connection is closed); the server's owner is not counted.
On a shared server a body of a signed-in user who is not the owner is capped as a stranger's
(only the mlgov routes raise it: jupyter-server's own routes refuse those users anyway).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
from collections import OrderedDict
from typing import Callable

from tornado.httputil import HTTPHeaders, HTTPMessageDelegate, RequestStartLine
from tornado.ioloop import IOLoop

SWEEP_EVERY = 4096  # connections admitted between sweeps of closed ones from every peer
LOOPBACK = "loopback"  # the one peer of every loopback address


def peer_of(address) -> str:
    """The peer a connection from ``address`` (a socket address) counts against: its IP, or
    ``LOOPBACK`` for any of 127.0.0.0/8, ::1 and IPv4-mapped loopback; "local" for a unix socket."""
    if not (isinstance(address, tuple) and address):
        return "local"
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
    except ValueError:
        return str(address[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return LOOPBACK if ip.is_loopback else str(ip)


class PeerGuard:
    """Installed on a tornado ``HTTPServer`` with ``install``.

    ``per_peer``: unvouched connections one peer (``peer_of``) may hold (0: no cap); ``total``:
    unvouched connections all peers together may hold, the oldest closed beyond (0: no cap);
    ``per_user``: connections one signed-in user may hold, the user's oldest closed beyond (0: no
    cap; the owner is not counted); ``header_timeout``: seconds until an unvouched connection's
    first request head must be in (0: none); ``credentialed(start_line, headers)``: the user a
    request head's valid credentials name, ``OWNER`` for the server's owner, None without them
    (its connection is then vouched for at once; the function None: only ``vouch`` does it);
    ``stranger_body``: bytes a body without credentials, or of a user who is not the owner, may
    have unless its handler raises the cap (None: no cap): a declared length over it is answered
    with a JSON 413 before any byte is read, except on ``streamed_paths`` (path prefixes whose
    handlers set their own limit, the mlgov routes), where a chunked one too is cut when over
    (tornado's bare 400). ``evicted``/``timed_out``/
    ``evicted_users`` count the connections closed by each rule."""

    def __init__(self, per_peer: int, header_timeout: float = 0.0,
                 credentialed: Callable[[RequestStartLine, HTTPHeaders], str | None] | None = None,
                 stranger_body: int | None = None, total: int = 0, per_user: int = 0,
                 streamed_paths: tuple[str, ...] = ()):
        self.per_peer, self.header_timeout, self.total, self.per_user = per_peer, header_timeout, total, per_user
        self.credentialed, self.stranger_body, self.streamed_paths = credentialed, stranger_body, streamed_paths
        self.pending: dict[str, OrderedDict[int, object]] = {}
        self.everyone: OrderedDict[int, object] = OrderedDict()  # every unvouched connection, oldest first
        self.users: dict[str, OrderedDict[int, object]] = {}  # signed-in connections by user
        self.evicted = self.timed_out = self.evicted_users = 0
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
        peer = peer_of(address)
        streams = self.pending.setdefault(peer, OrderedDict())
        if self.per_peer and len(streams) >= self.per_peer:
            _drop_closed(streams)
            while len(streams) >= self.per_peer:
                self._evict(streams.popitem(last=False)[1])
        if self.total and len(self.everyone) >= self.total:
            _drop_closed(self.everyone)
            while len(self.everyone) >= self.total:
                oldest = self.everyone.popitem(last=False)[1]
                entry = getattr(oldest, "mlgov_peer", None)
                if entry:
                    self.pending.get(entry[1], {}).pop(id(oldest), None)
                self._evict(oldest)
        streams[id(stream)] = stream
        self.everyone[id(stream)] = stream
        stream.mlgov_peer, stream.mlgov_guard = (self, peer), self
        if self.header_timeout > 0:
            IOLoop.current().call_later(self.header_timeout, self._head_due, stream)
        if next(self._admitted) % SWEEP_EVERY == 0:
            self._sweep()

    def _evict(self, stream) -> None:
        stream.mlgov_peer = None
        stream.close()
        self.evicted += 1

    def vouch(self, stream, user: str | None = None) -> None:
        """A request on ``stream`` is authenticated: it no longer counts against its peer, but
        against ``user`` (None or ``OWNER``: against nobody), once per connection."""
        entry = getattr(stream, "mlgov_peer", None)
        if entry:
            streams = self.pending.get(entry[1])
            if streams is not None:
                streams.pop(id(stream), None)
            self.everyone.pop(id(stream), None)
            stream.mlgov_peer = None
        if not (self.per_user and user and user != OWNER) or getattr(stream, "mlgov_user", None) == user:
            return
        stream.mlgov_user = user
        held = self.users.setdefault(user, OrderedDict())
        if len(held) >= self.per_user:
            _drop_closed(held)
            while len(held) >= self.per_user:
                held.popitem(last=False)[1].close()
                self.evicted_users += 1
        held[id(stream)] = stream

    def unvouched(self, peer: str) -> int:
        """Open unvouched connections of ``peer`` now."""
        return sum(not s.closed() for s in self.pending.get(peer, {}).values())

    def _head_due(self, stream) -> None:
        if getattr(stream, "mlgov_peer", None) and not getattr(stream, "mlgov_head", False) \
                and not stream.closed():
            stream.close()
            self.timed_out += 1

    def _sweep(self) -> None:
        for table in (self.pending, self.users):
            for key in list(table):
                _drop_closed(table[key])
                if not table[key]:
                    del table[key]
        _drop_closed(self.everyone)


OWNER = "\0owner"  # what ``credentialed`` returns for the server's owner (never a user's name)


def _drop_closed(streams: OrderedDict) -> None:
    for key in [k for k, s in streams.items() if s.closed()]:
        del streams[key]


def vouch(request, user: str | None = None) -> None:
    """Call once ``request`` (a tornado ``HTTPServerRequest``) is authenticated as ``user``."""
    stream = getattr(getattr(request, "connection", None), "stream", None)
    entry = getattr(stream, "mlgov_peer", None)
    if entry:
        entry[0].vouch(stream, user)
    elif stream is not None and getattr(stream, "mlgov_guard", None) is not None:
        stream.mlgov_guard.vouch(stream, user)


class _Head(HTTPMessageDelegate):
    """Forwards to the server's delegate; notes the first head and applies the stranger cap."""

    def __init__(self, guard: PeerGuard, delegate, connection):
        self.guard, self.delegate, self.connection = guard, delegate, connection

    def headers_received(self, start_line, headers):
        stream = getattr(self.connection, "stream", None)
        if stream is not None:
            stream.mlgov_head = True
            guard = self.guard
            if guard.credentialed is not None:
                user = guard.credentialed(start_line, headers)
                if user:
                    guard.vouch(stream, user)
                # a stranger's body, or (shared server) one of a user who is not the owner: jupyter-
                # server's routes would buffer it whole, and refuse such users anyway (R13 P2-4)
                if user != OWNER and guard.stranger_body is not None and _body_over(headers, guard.stranger_body):
                    if "Content-Length" in headers and "chunked" not in headers.get("Transfer-Encoding", "").lower() \
                            and not start_line.path.startswith(guard.streamed_paths):
                        _refuse_body(self.connection.detach(), guard.stranger_body)
                        return None  # detached: tornado reads nothing more of this connection
                    self.connection.set_max_body_size(guard.stranger_body)  # chunked: cut when over
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk):
        return self.delegate.data_received(chunk)

    def finish(self):
        return self.delegate.finish()

    def on_connection_close(self):
        return self.delegate.on_connection_close()


def _refuse_body(stream, limit: int) -> None:
    """Answer a declared body over ``limit`` with a one-line JSON 413 before reading any of it,
    then close the connection (tornado's own cut answers a bare 400)."""
    message = (f"a request body over {limit >> 10} KiB needs this server's credentials (a token or "
               "login cookie of its owner)")
    body = json.dumps({"message": message}).encode()
    head = ("HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    stream.write(head + body).add_done_callback(lambda _: stream.close())


def _body_over(headers: HTTPHeaders, limit: int) -> bool:
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return True
    try:
        return int(headers.get("Content-Length", "0")) > limit
    except ValueError:
        return False  # tornado refuses it itself
