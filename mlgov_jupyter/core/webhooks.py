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


GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated (RFC 3879), still routed inside sites
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)
# special-purpose blocks newer than the Python's ipaddress tables know (IANA IPv6 special registry)
NOT_GLOBAL_V6 = (ipaddress.ip_network("3fff::/20"),)  # documentation, RFC 9637 (2024)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for: IPv4-mapped (::ffff:0:0/96), 6to4
    (2002::/16), Teredo (2001::/32: its server and client) and NAT64 (64:ff9b::/96); [] else."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    if ip in NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def refused(address: str) -> str | None:
    """Why a service must not send to ``address`` unless allowed (loopback, private, link-local
    such as the cloud metadata address 169.254.169.254, multicast, reserved, shared, site-local),
    or None for a public address. IPv6: only global unicast (2000::/3) that is also global by
    the IANA registries; an address embedding an IPv4 one (IPv4-mapped, 6to4, Teredo, NAT64) is
    judged by that IPv4 address (each of them, for Teredo)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner:
            return next((why for why in map(_refused_ip, inner) if why), None)
        if ip in SITE_LOCAL:
            return "site-local"
        if any(ip in net for net in NOT_GLOBAL_V6):
            return "documentation"
    return _refused_ip(ip)


def _refused_ip(ip) -> str | None:
    for test, why in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                      ("is_link_local", "link-local"), ("is_private", "private"),
                      ("is_multicast", "multicast"), ("is_reserved", "reserved")):
        if getattr(ip, test):
            return why
    if isinstance(ip, ipaddress.IPv6Address) and ip not in GLOBAL_UNICAST:
        return "not a global unicast"
    if not ip.is_global:
        return "not a public address"
    return None
