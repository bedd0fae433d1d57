"""Connection hygiene for a jupyter server that hosts the service (personal and shared mode).

jupyter-server builds its tornado ``HTTPServer`` without a header timeout, so a connection that
sends half a request head (or idles after one) stays open for tornado's default hour: a stranger
without a token can hold every file descriptor of the server with such connections (red team
R11 F4). ``mlgov serve`` sets ``idle_connection_timeout`` itself; here the extension lowers the
server's header timeout once its ``HTTPServer`` exists (tornado reads ``conn_params`` for each
new connection). When descriptors do run out, the event loop's accept handler fails on every
turn and logs a traceback each time (787 MB of log in 4 minutes): ``OncePerMinute`` lets one such
record a minute through.
"""

from __future__ import annotations

import errno
import logging
import time

from tornado.ioloop import IOLoop

EXHAUSTED = (errno.EMFILE, errno.ENFILE)


def limit_idle_connections(serverapp, seconds: float) -> None:
    """New connections of ``serverapp``'s HTTP server close after ``seconds`` without a complete
    request head (idle keep-alive included), or with a body not all in after ``seconds``; 0
    leaves the server's own settings. Applied now if
    the server exists, else once the event loop runs. The log filter is installed either way."""
    quiet_exhaustion()
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


def quiet_exhaustion() -> None:
    """Let one "too many open files" record a minute through the event loop's loggers."""
    for name in ("asyncio", "tornado.application", "tornado.general"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, OncePerMinute) for f in logger.filters):
            logger.addFilter(OncePerMinute())


class OncePerMinute(logging.Filter):
    """Passes one record a minute whose exception is "too many open files"; others pass."""

    def __init__(self, every: float = 60.0):
        super().__init__()
        self.every, self.last, self.dropped = every, -float("inf"), 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not (isinstance(exc, OSError) and exc.errno in EXHAUSTED):
            return True
        now = time.monotonic()
        if now - self.last < self.every:
            self.dropped += 1
            return False
        if self.dropped:
            record.msg = f"{record.msg} ({self.dropped} more like it in the last minute not logged)"
        self.last, self.dropped = now, 0
        return True
