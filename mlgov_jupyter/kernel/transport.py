"""How the client reaches the service: HTTP to a Jupyter server, or in-process.

Both raise the same typed errors (NotFound, Forbidden, Conflict, Invalid) with the server's
one-line message, so notebooks see the same thing with or without a server.
"""

from __future__ import annotations

import http.client
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..core.chunks import ChunkReader
from ..core.errors import BY_STATUS, GovernanceError, TooLarge

BASE = "api/mlgov/"  # = api.BASE; the HTTP client does not import the API contract (pydantic)


class HttpTransport:
    def __init__(self, url: str, token: str | None):
        self.url = url.rstrip("/") + "/"
        self.token = token

    def __repr__(self):
        return f"<HTTP {self.url}>"

    def request(self, method: str, path: str, query: dict | None = None, body: Any = None,
                stream: bool = False, headers: dict | None = None):
        """The JSON result; for a binary route ``(meta, bytes)``, or with ``stream`` ``(meta,
        file)`` (read it, then close it). ``body``: JSON, or bytes sent as they are; ``headers``:
        more request headers (``Range: bytes=N-``: a resumed download)."""
        query = {k: _q(v) for k, v in (query or {}).items() if v is not None}
        url = self.url + BASE + path + ("?" + urllib.parse.urlencode(query) if query else "")
        raw = isinstance(body, (bytes, bytearray, memoryview, list))  # a list: buffers sent one after the other
        data = (body if isinstance(body, list) else bytes(body)) if raw else \
            json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        size = sum(map(len, data)) if isinstance(data, list) else len(data or b"")
        if isinstance(data, list):  # else urllib would send it chunked
            req.add_header("Content-Length", str(size))
        if self.token:
            req.add_header("Authorization", f"token {self.token}")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        if data is not None:
            req.add_header("Content-Type", "application/octet-stream" if raw else "application/json")
        try:
            resp = urllib.request.urlopen(req, timeout=300)
            meta = resp.headers.get("X-Mlgov-Meta")
            if stream and meta is not None:
                return json.loads(urllib.parse.unquote(meta)), resp
            with resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            raise _error(exc) from None
        except urllib.error.URLError as exc:
            if data is not None and size > 2**20 and isinstance(exc.reason, (ConnectionError, OSError)):
                # a server drops a body over its transport cap before it can answer 413
                raise TooLarge(f"the mlgov server at {self.url} closed the connection while receiving "
                               f"{size / 2**20:.0f} MiB: the request is larger than it accepts "
                               f"(max_body_bytes)") from None
            raise GovernanceError(f"cannot reach the mlgov server at {self.url}: {exc.reason}") from None
        except (ConnectionError, http.client.HTTPException) as exc:
            if data is not None and size > 2**20:
                raise TooLarge(f"the mlgov server at {self.url} closed the connection while receiving "
                               f"{size / 2**20:.0f} MiB: the request is larger than it accepts "
                               f"(max_body_bytes)") from None
            raise GovernanceError(f"the mlgov server at {self.url} closed the connection: {exc}") from None
        if meta is not None:
            return json.loads(urllib.parse.unquote(meta)), payload
        return json.loads(payload)


_STORES: dict = {}


class LocalTransport:
    """The service in this process, on the embedded store. Same routes, same validation.
    The store opens on the first request, so creating a client costs nothing."""

    def __init__(self, db_url: str | None, user: str, admins: frozenset = frozenset()):
        self.db_url, self.user, self.admins = db_url, user, admins
        self._service = None

    def __repr__(self):
        return f"<in-process {self.db_url or 'default store'} as {self.user}>"

    @property
    def service(self):
        if self._service is None:
            from ..service import GovernanceService
            from ..store.db import Store

            key = self.db_url or ""
            if key not in _STORES:
                _STORES[key] = Store(self.db_url)
            self._service = GovernanceService(store=_STORES[key], admin_users=self.admins,
                                              anchor=_default_anchor() if not self.db_url else None)
        return self._service

    def request(self, method: str, path: str, query: dict | None = None, body: Any = None,
                stream: bool = False, headers: dict | None = None):
        from .. import api
        from ..service import Actor

        query = {k: _q(v) for k, v in (query or {}).items() if v is not None}
        wanted = (headers or {}).get("Range", "")
        if wanted.startswith("bytes=") and wanted.endswith("-"):  # as the HTTP handler reads it
            query["offset"] = wanted[6:-1]
        path = urllib.parse.unquote(path)
        route, result = api.dispatch(self.service, Actor(self.user), method, path, query, body)
        if route.binary:
            meta, data = result
            if data is not None and not isinstance(data, (bytes, bytearray)):
                data = ChunkReader(data) if stream else b"".join(data)
            elif stream:
                data = io.BytesIO(data or b"")
            return meta, data
        return json.loads(json.dumps(result)) if isinstance(result, dict) else result


def _default_anchor():
    """The personal store's signing key, where the personal server keeps it (its default
    ``audit_key_file`` and ``audit_checkpoint_dir``): events written in-process are signed too."""
    from pathlib import Path

    from jupyter_core.paths import jupyter_data_dir

    from ..store.anchor import default_anchor

    return default_anchor(Path(jupyter_data_dir()) / "mlgov")


def _q(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _error(exc: urllib.error.HTTPError) -> GovernanceError:
    try:
        message = json.loads(exc.read())["message"]
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {exc.code} {exc.reason}"
    if exc.code == 401:
        return GovernanceError("the mlgov server did not accept the token (HTTP 401)")
    cls = BY_STATUS.get(exc.code, GovernanceError)
    return cls(message)
