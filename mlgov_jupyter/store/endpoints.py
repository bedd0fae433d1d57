"""Where a remote filesystem connects: the TCP endpoints (host, port) of an object store or an
allowed external prefix, from its URL and filesystem options, so that a confined decode worker
may connect to those ports only (kernel/sandbox.py; red team R14 finding 4).

Native pyarrow filesystems (``s3://``, ``gs://``, ``abfs://``) take ``endpoint_override`` (or
Azure's ``blob_storage_authority``/``dfs_storage_authority``) and ``scheme``; fsspec drivers
take ``endpoint_url`` (also inside ``client_kwargs``, as s3fs does); ``http(s)://`` URLs name
their host. Without an explicit endpoint a cloud store is reached over HTTPS, port 443 (its
credential and token services too: AWS STS, Google OAuth, Azure AD); and when neither the options
nor the environment hold credentials, the machine's metadata service on port 80 too (EC2, ECS,
GCE and Azure instance roles: 169.254.169.254, 169.254.170.2), where its credentials come from.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

DEFAULT_HOSTS = {"s3": "s3.amazonaws.com", "gs": "storage.googleapis.com", "gcs": "storage.googleapis.com"}
_OPTION_KEYS = ("endpoint_override", "endpoint_url", "blob_storage_authority", "dfs_storage_authority")
CLOUD = ("s3", "gs", "gcs", "abfs", "abfss")
# options and environment variables that hold credentials (else they come from the metadata service)
_CREDENTIAL_OPTIONS = ("access_key", "secret_key", "key", "secret", "token", "session_token", "credentials",
                       "account_key", "sas_token", "client_secret", "anonymous", "anon", "role_arn",
                       "access_token", "target_service_account")
_CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                   "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_CLIENT_SECRET", "AZURE_STORAGE_KEY")
METADATA = ("169.254.169.254", 80)


def endpoints(url: str, options: dict | None, environ: dict | None = None) -> set[tuple[str, int]]:
    """``{(host, port)}`` a filesystem for ``url`` (with ``options``; ``environ``: the process's
    environment, for credentials) connects to; empty for a local path (no scheme, or
    ``file://``). A host is ``""`` where the library picks it (a cloud default: only its port is
    known)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("", "file", "local"):
        return set()
    options = options or {}
    wire = str(options.get("scheme") or options.get("blob_storage_scheme") or "https").lower()
    found = set()
    for value in [options.get(k) for k in _OPTION_KEYS] + \
            [(options.get("client_kwargs") or {}).get("endpoint_url")]:
        if isinstance(value, str) and value:
            found.add(_host_port(value, wire))
    if not found and scheme in ("http", "https"):
        found.add(_host_port(url, scheme))
    if not found:
        found.add((DEFAULT_HOSTS.get(scheme, ""), 80 if wire == "http" else 443))
        environ = environ or {}
        if scheme in CLOUD and not any(options.get(k) for k in _CREDENTIAL_OPTIONS) \
                and not any(environ.get(k) for k in _CREDENTIAL_ENV):
            found.add(METADATA)
    return found


def needs_dns(hosts) -> bool:
    """Whether any of ``hosts`` is a name to resolve (not an IP address, not ``localhost``, not
    a cloud default, which is a name too: True when one is ``""``)."""
    for host in hosts:
        if host == "localhost":
            continue
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return True
    return False


def _host_port(value: str, default_scheme: str) -> tuple[str, int]:
    parts = urlsplit(value if "://" in value else f"{default_scheme}://{value}")
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "", port or (80 if scheme == "http" else 443)
