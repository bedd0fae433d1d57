"""Connection hygiene for a jupyter server that hosts the service (personal and shared mode).

jupyter-server builds its tornado ``HTTPServer`` without a header timeout, so a connection that
sends half a request head (or idles after one) stays open for tornado's default hour: a stranger
without a token can hold every file descriptor of the server with such connections (red team
R11 F4). ``mlgov serve`` sets ``idle_connection_timeout`` itself; here the extension lowers the
server's header timeout once its ``HTTPServer`` exists (tornado reads ``conn_params`` for each
new connection). When descriptors do run out, the event loop's accept handler fails on every
turn and logs a traceback each time (787 MB of log in 4 minutes): ``OncePerMinute`` lets one such
record a minute through, and ``backoff_accept`` stops the busy loop: the listening socket is
left alone for a moment (doubling up to a second) instead of being retried on every turn.
``guard_connections`` adds ``peers.PeerGuard`` (per-peer cap on connections not yet signed in,
a short first-head timeout, small bodies for requests without credentials).
"""

from __future__ import annotations

import errno
import hmac
import json
import logging
import re
import time
from http.cookies import CookieError, SimpleCookie
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

from tornado.ioloop import IOLoop
from traitlets import Float, HasTraits, Int
from tornado.web import decode_signed_value

from .peers import OWNER, PeerGuard

EXHAUSTED = (errno.EMFILE, errno.ENFILE)
# identity providers whose credentials jupyter_credentials checks (jupyter-server's own: a token,
# a password login's cookie; mlgov's TokenIdentityProvider)
KNOWN_IDENTITY_PROVIDERS = ("jupyter_server.auth.", "mlgov_jupyter.server.identity")


class ConnectionLimits(HasTraits):
    """Traits of the apps that listen (``MlgovApp`` on a shared server, ``MlgovServe``)."""

    header_timeout = Float(10.0, config=True,
                           help="Seconds a new connection may take to send its first request head while "
                                "no request on it has been authenticated (0: none; idle keep-alive "
                                "connections keep the longer idle timeout)")
    unauthenticated_connections_per_peer = Int(
        256, config=True,
        help="Connections one peer address may hold before a request on them is authenticated; "
             "beyond it, a new connection closes that peer's oldest such one (the newcomer gets in, "
             "so honest users sharing an address are not locked out). All loopback addresses "
             "(127.0.0.0/8, ::1) are one peer. 0: no cap")
    unauthenticated_connections_total = Int(
        1024, config=True,
        help="Connections all peers together may hold before a request on them is authenticated; "
             "beyond it, a new connection closes the oldest such one. 0: no cap")
    connections_per_user = Int(
        64, config=True,
        help="Connections one signed-in user may hold (the server's owner is not counted); beyond it, "
             "a new one of theirs closes their oldest. 0: no cap")


def limit_idle_connections(serverapp, seconds: float) -> None:
    """New connections of ``serverapp``'s HTTP server close after ``seconds`` without a complete
    request head (idle keep-alive included), or with a body not all in after ``seconds``; 0
    leaves the server's own settings. Applied now if
    the server exists, else once the event loop runs. The log filters are installed either way."""
    quiet_exhaustion(getattr(serverapp, "log", None))
    if not seconds > 0:
        return

    def apply() -> None:
        params = getattr(getattr(serverapp, "http_server", None), "conn_params", None)
        if params is None:
            return
        if params.header_timeout is None or params.header_timeout > seconds:
            params.header_timeout = seconds
        # a body tornado reads before any handler runs (jupyter-server's own routes, unknown
        # paths) must arrive within the same time: a stranger's body held one byte short would
        # otherwise keep its connection and its buffered bytes for ever (red team R12 N1)
        if params.body_timeout is None or params.body_timeout > seconds:
            params.body_timeout = seconds

    if getattr(serverapp, "http_server", None) is not None:
        apply()
    else:
        IOLoop.current().add_callback(apply)


def guard_connections(serverapp, per_peer: int, header_timeout: float,
                      stranger_body: int | None, total: int = 0, per_user: int = 0) -> PeerGuard | None:
    """Installs a ``PeerGuard`` and ``backoff_accept`` on ``serverapp``'s HTTP server once the
    event loop runs (after it listens). A request head with the server's token, a token of the
    identity provider's ``tokens`` map, or a login cookie signed by this server vouches for its
    connection (counted against its user, ``per_user`` each, unless the owner); a body without
    them, or of a user who is not the owner, is capped at ``stranger_body`` bytes (None: not
    capped; a declared length over it is a JSON 413 at once) unless its handler raises the cap
    (the mlgov routes); ``total``: unvouched
    connections of all peers together (``PeerGuard``).
    With an identity provider whose credentials these are not (e.g. JupyterHub's, behind its
    proxy every user shares one address) only ``backoff_accept`` is installed, and None returned:
    the guard would count honest connections as strangers'."""
    idp = serverapp.identity_provider
    known = type(idp).__module__.startswith(KNOWN_IDENTITY_PROVIDERS)
    mlgov_paths = (serverapp.base_url.rstrip("/") + "/api/mlgov/",)
    guard = PeerGuard(per_peer, header_timeout, jupyter_credentials(serverapp), stranger_body, total=total,
                      per_user=per_user, streamed_paths=mlgov_paths) if known else None
    if not known:
        serverapp.log.info("mlgov: connections are not capped per peer: the credentials of %s are not "
                           "known to mlgov", type(idp).__qualname__)

    def apply() -> None:
        server = getattr(serverapp, "http_server", None)
        if server is not None:
            if guard is not None:
                guard.install(server)
            backoff_accept(server)

    IOLoop.current().add_callback(apply)
    return guard


def jupyter_credentials(serverapp):
    """``credentialed(start_line, headers)`` for a jupyter server: who a head's credentials name
    (one of the server's tokens: ``?token=``, ``Authorization: token|bearer ...``; or a login
    cookie, ``username-*``, this server signed): ``peers.OWNER`` for the server's own token, its
    login cookie, or a server without authentication; a user name for a token of the identity
    provider's ``tokens`` map (a shared server) or its login cookie; None without valid ones. It
    only checks that the credentials were issued; the handlers still decide who the user is."""

    def credentialed(start_line, headers) -> str | None:
        idp = serverapp.identity_provider
        if not getattr(idp, "auth_enabled", True):
            return OWNER
        shared = dict(getattr(idp, "tokens", {}) or {})
        given = parse_qs(urlsplit(start_line.path).query).get("token", [""])[0]
        if not given:
            match = idp.auth_header_pat.match(headers.get("Authorization", ""))
            given = match.group(2) if match else ""
        if given:
            own = getattr(idp, "token", "")
            if own and hmac.compare_digest(given.encode(), own.encode()):
                return OWNER
            return next((name for t, name in shared.items() if hmac.compare_digest(given.encode(), t.encode())),
                        None)
        secret = serverapp.web_app.settings.get("cookie_secret")
        try:
            cookies = SimpleCookie(headers.get("Cookie", ""))
        except CookieError:
            return None
        for name, morsel in cookies.items() if secret else ():
            value = decode_signed_value(secret, name, morsel.value) if name.startswith("username-") else None
            if value is not None:
                return _cookie_user(idp, secret, value)
        return None

    return credentialed


def _cookie_user(idp, secret, value: bytes) -> str:
    """Who a signed login cookie names: ``OWNER`` unless the identity provider is mlgov's
    TokenIdentityProvider and the cookie's token fingerprint is not the server token's."""
    from .identity import TokenIdentityProvider

    if not isinstance(idp, TokenIdentityProvider):
        return OWNER
    try:
        data = json.loads(value)
        fingerprint = data.get("tfp") if isinstance(data, dict) else None
    except ValueError:
        return "?"
    own = getattr(idp, "token", "")
    if own and isinstance(fingerprint, str) and hmac.compare_digest(
            fingerprint, idp._fingerprint(SimpleNamespace(settings={"cookie_secret": secret}), own)):
        return OWNER
    return str(data.get("username") or "?")


def backoff_accept(server, first: float = 0.05, most: float = 1.0) -> None:
    """Replaces tornado's accept handlers of ``server``'s listening sockets: while accept fails
    with "too many open files", the socket is not watched for ``first`` seconds, doubling up to
    ``most`` (tornado's own handler fails on every event-loop turn: a busy loop)."""
    for fd, sock in list(server._sockets.items()):
        server._handlers[fd]()  # tornado's: stop watching
        server._handlers[fd] = _accept_with_backoff(sock, server._handle_connection, first, most)


def _accept_with_backoff(sock, callback, first: float, most: float):
    loop, log = IOLoop.current(), logging.getLogger("tornado.general")
    state = {"removed": False, "watching": True, "pause": 0.0}

    def accept(fd, events) -> None:
        for _ in range(128):  # as tornado: bounded work per turn
            if state["removed"]:
                return
            try:
                connection, address = sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno not in EXHAUSTED:
                    raise
                state["pause"] = min(most, max(first, 2 * state["pause"]))
                log.error("accept: new connections wait %.2f s", state["pause"], exc_info=True)
                loop.remove_handler(sock)
                state["watching"] = False
                loop.call_later(state["pause"], rewatch)
                return
            state["pause"] = 0.0
            callback(connection, address)

    def rewatch() -> None:
        if not state["removed"] and not state["watching"]:
            loop.add_handler(sock, accept, IOLoop.READ)
            state["watching"] = True

    def remove() -> None:
        state["removed"] = True
        if state["watching"]:
            loop.remove_handler(sock)
            state["watching"] = False

    loop.add_handler(sock, accept, IOLoop.READ)
    return remove


def quiet_exhaustion(access_log: logging.Logger | None = None) -> None:
    """Let one "too many open files" record a minute through the event loop's loggers, and one
    line a minute about 4xx answers to callers not signed in (``StrangerErrorsPerMinute``) through
    STRANGER_LOGGERS and ``access_log`` (the server app's logger, whatever its name)."""
    for name in ("asyncio", "tornado.application", "tornado.general"):
        logger = logging.getLogger(name)
        if not any(type(f) is OncePerMinute for f in logger.filters):
            logger.addFilter(OncePerMinute())
    application = logging.getLogger("tornado.application")  # a handler's uncaught error (a 500)
    if not any(isinstance(f, SameErrorPerMinute) for f in application.filters):
        application.addFilter(SameErrorPerMinute())
    for logger in [logging.getLogger(n) for n in STRANGER_LOGGERS] + \
            ([access_log] if isinstance(access_log, logging.Logger) else []):
        if not any(isinstance(f, StrangerErrorsPerMinute) for f in logger.filters):
            logger.addFilter(StrangerErrorsPerMinute())


class OncePerMinute(logging.Filter):
    """Passes one record a minute whose exception is "too many open files"; others pass."""

    def __init__(self, every: float = 60.0):
        super().__init__()
        self.every, self.last, self.dropped = every, -float("inf"), 0

    def matches(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is one of those let through once a minute."""
        exc = record.exc_info[1] if record.exc_info else None
        return isinstance(exc, OSError) and exc.errno in EXHAUSTED

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.matches(record):
            return True
        now = time.monotonic()
        if now - self.last < self.every:
            self.dropped += 1
            return False
        if self.dropped:
            record.msg = f"{record.msg} ({self.dropped} more like it in the last minute not logged)"
        self.last, self.dropped = now, 0
        return True


# the loggers of access lines (jupyter-server's ServerApp, mlgov serve's) and of
# tornado's HTTPError warnings
STRANGER_LOGGERS = ("tornado.general", "ServerApp", "MlgovServe")
# jupyter-server's access line of a 3xx (the redirect to its login page) or 4xx to someone not
# signed in: "404 GET /x (@127.0.0.1) ..."
_JUPYTER_STRANGER = re.compile(r"^[34]\d\d \S+ \S+ \(@")


class SameErrorPerMinute(logging.Filter):
    """Passes one record a minute per kind of uncaught error (its type and the line that raised
    it); the next one passed says how many were held back. A 500 is a bug, but one any signed-in
    user can repeat wrote its whole traceback each time (red team R15 F6: 21 KB a request)."""

    def __init__(self, every: float = 60.0, kinds: int = 1024):
        super().__init__()
        self.every, self.kinds, self.seen = every, kinds, {}

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        key = (type(exc).__qualname__, tb.tb_frame.f_code.co_filename if tb else "", tb.tb_lineno if tb else 0)
        now = time.monotonic()
        last, held = self.seen.get(key, (-float("inf"), 0))
        if now - last < self.every:
            self.seen[key] = (last, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} ({held} more like it in the last minute not logged)"
        if len(self.seen) >= self.kinds:
            self.seen.clear()
        self.seen[key] = (now, 0)
        return True


class StrangerErrorsPerMinute(OncePerMinute):
    """Passes one record a minute about a 4xx answered to a caller not signed in; the one passed
    says how many were held back (red team R13: each unauthenticated 404 wrote two lines, 0.8 GB
    an hour under a flood of 2,000 a second). Such records are the access line of a request with
    no user (mlgov serve's ``"%d %s %s (%s) %.1fms"`` with user ``-``; jupyter-server's
    ``"404 GET /x (@ip) ..."``, and its 3xx to the login page) and tornado's warning of an ``HTTPError`` 4xx (``"%d %s: ..."``:
    a signed-in caller's request keeps its own access line, which is never held back)."""

    def matches(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if not (args and isinstance(args[0], int) and 400 <= args[0] < 500):
            return isinstance(record.msg, str) and not args \
                and bool(_JUPYTER_STRANGER.match(record.msg))
        if record.msg == "%d %s %s (%s) %.1fms":  # mlgov serve's access line
            return len(args) > 3 and args[3] == "-"
        return record.name == "tornado.general" and str(record.msg).startswith("%d %s: ")
