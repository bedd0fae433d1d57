"""Sending one webhook: resolve the target, refuse addresses the service must not reach (SSRF),
connect to the address that was checked (no second lookup a rebinding DNS server could answer
differently), POST once, never follow a redirect, short timeouts. Standard library only
(http.client never follows redirects; a client library would have to be told not to)."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from urllib.parse import urlsplit

from ..core import webhooks
from ..core.errors import Invalid


def vet(url: str, allowed_hosts=(), own: frozenset = frozenset()) -> list[str]:
    """The addresses ``url``'s host resolves to, each one allowed; Invalid (one line) naming the
    first refused address, a host that does not resolve, or one of the service's own endpoints
    (``own``: (address, port) pairs of the hub and of this server; refused even when allowed)."""
    _scheme, host, port = webhooks.parse_target(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Invalid(f"webhook target host {host!r} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        if (address, port) in own:
            raise Invalid(f"webhook target {host}:{port} is this service's own or the hub's endpoint")
        why = webhooks.refused(address)
        if why and not webhooks.allowed(host, address, allowed_hosts):
            raise Invalid(f"webhook target {host!r} resolves to {address}, a {why} address; the service "
                          f"sends only to public addresses unless webhook_allowed_hosts lists it")
    return addresses


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict, *, timeout: float = 5.0, allowed_hosts=(),
         own: frozenset = frozenset()) -> int:
    """POST ``body`` to ``url``; the HTTP status code (a redirect is returned as its 3xx code,
    not followed). ``timeout`` bounds each network operation, and twice it the whole exchange (a
    receiver dripping its answer a byte at a time is cut off). Raises Invalid if the target is
    refused now, OSError on network failures and timeouts (socket.timeout is an OSError)."""
    address = vet(url, allowed_hosts, own)[0]
    parts = urlsplit(url)
    scheme, host, port = webhooks.parse_target(url)
    cls = _PinnedTLS if scheme == "https" else _Pinned
    conn = cls(host, port, address, timeout)
    watchdog = threading.Timer(2 * timeout, _cut, args=[conn])
    watchdog.daemon = True
    watchdog.start()
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                       "User-Agent": "mlgov-jupyter", **headers})
        resp = conn.getresponse()
        resp.read(65536)  # drain a little; the body is not used
        return resp.status
    except (OSError, http.client.HTTPException) as exc:
        if getattr(conn, "mlgov_cut", False):
            raise TimeoutError(f"the receiver did not answer within {2 * timeout:g} s") from None
        if isinstance(exc, http.client.HTTPException):
            raise OSError(f"not an HTTP answer ({type(exc).__name__})") from None
        raise
    finally:
        watchdog.cancel()
        conn.close()


def _cut(conn) -> None:
    """End an exchange that outlived its deadline: the blocked read fails with an OSError."""
    conn.mlgov_cut = True
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
