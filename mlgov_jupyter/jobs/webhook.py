"""Sending one webhook: resolve the target, refuse addresses the service must not reach (SSRF),
connect to the address that was checked (no second lookup a rebinding DNS server could answer
differently), POST once, never follow a redirect, short timeouts. Standard library only
(http.client never follows redirects; a client library would have to be told not to)."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from ..core import webhooks
from ..core.errors import Invalid


def resolve(host: str, port: int, timeout: float = 5.0) -> list[str]:
    """The addresses ``host`` resolves to, within ``timeout`` seconds: getaddrinfo has no deadline
    of its own (a slow DNS server holds it for as long as it likes), so it runs on a daemon thread
    this call stops waiting for. Invalid if the host does not resolve; TimeoutError if too slow."""
    result: list = []
    done = threading.Event()

    def lookup():
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            result.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="mlgov-resolve", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"the name {host!r} did not resolve within {timeout:g} s")
    if isinstance(result[0], BaseException):
        raise Invalid(f"webhook target host {host!r} does not resolve ({result[0]})")
    return list(dict.fromkeys(info[4][0] for info in result[0]))


def vet(url: str, allowed_hosts=(), own: frozenset = frozenset(), timeout: float = 5.0) -> list[str]:
    """The addresses ``url``'s host resolves to (within ``timeout`` s), each one allowed; Invalid
    (one line) naming the first refused address, a host that does not resolve, or one of the
    service's own endpoints (``own``: (address, port) pairs of the hub and of this server;
    refused even when allowed); TimeoutError if the lookup takes longer."""
    _scheme, host, port = webhooks.parse_target(url)
    addresses = resolve(host, port, timeout)
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
    not followed). ``timeout`` bounds the name lookup and each network operation, and twice it
    the whole exchange, lookup included (a slow DNS server or a receiver dripping its answer a
    byte at a time is cut off). Raises Invalid if the target is refused now, OSError on network
    failures and timeouts (TimeoutError, socket.timeout, are OSErrors)."""
    started = time.monotonic()
    address = vet(url, allowed_hosts, own, timeout)[0]
    parts = urlsplit(url)
    scheme, host, port = webhooks.parse_target(url)
    cls = _PinnedTLS if scheme == "https" else _Pinned
    conn = cls(host, port, address, timeout)
    left = 2 * timeout - (time.monotonic() - started)
    watchdog = threading.Timer(max(left, 0.0), _cut, args=[conn])
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
