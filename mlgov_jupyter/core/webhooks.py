"""Webhook signing and the address rules a webhook target must pass (pure: no I/O).

A receiver checks a delivery with ``verify(secret, body, header)``: the ``X-Mlgov-Signature``
header is ``sha256=`` and the hex HMAC-SHA256 of the raw body under the channel's secret. The body
holds the event id and timestamp (also sent as ``X-Mlgov-Event-Id`` / ``X-Mlgov-Timestamp``), so a
receiver drops replays by id and stale deliveries by time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import urlsplit

from .errors import Invalid

SIGNATURE_HEADER = "X-Mlgov-Signature"
EVENT_ID_HEADER = "X-Mlgov-Event-Id"
EVENT_HEADER = "X-Mlgov-Event"
TIMESTAMP_HEADER = "X-Mlgov-Timestamp"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=<64 hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant time)."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


def parse_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL; Invalid unless http(s) with a host and no credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Invalid(f"webhook target {url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"webhook target {url!r} must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise Invalid("webhook target must not carry a user name or password (the body is signed instead)")
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def allowed(host: str, address: str, allowed_hosts) -> bool:
    """Whether an allow-list entry (a host name, an address or a network such as 10.0.0.0/8)
    covers ``host`` or its resolved ``address``."""
    ip = ipaddress.ip_address(address)
    for entry in allowed_hosts:
        entry = entry.strip().lower()
        if entry == host:
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def refused(address: str) -> str | None:
    """Why a service must not send to ``address`` unless allowed (loopback, private, link-local
    such as the cloud metadata address 169.254.169.254, multicast, reserved, shared), or None for
    a global address. IPv4 inside IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, why in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                      ("is_link_local", "link-local"), ("is_private", "private"),
                      ("is_multicast", "multicast"), ("is_reserved", "reserved")):
        if getattr(ip, test):
            return why
    if not ip.is_global:
        return "not a public address"
    return None
