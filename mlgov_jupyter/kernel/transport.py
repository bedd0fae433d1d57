"""How the client reaches the service: HTTP to a Jupyter server, or in-process.

Both raise the same typed errors (NotFound, Forbidden, Conflict, Invalid) with the server's
one-line message, so notebooks see the same thing with or without a server.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .. import api
from ..core.errors import BY_STATUS, GovernanceError


class HttpTransport:
    def __init__(self, url: str, token: str | None):
        self.url = url.rstrip("/") + "/"
        self.token = token

    def __repr__(self):
        return f"<HTTP {self.url}>"

    def request(self, method: str, path: str, query: dict | None = None, body: Any = None):
        query = {k: _q(v) for k, v in (query or {}).items() if v is not None}
        url = self.url + api.BASE + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if self.token:
            req.add_header("Authorization", f"token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                payload = resp.read()
                meta = resp.headers.get("X-Mlgov-Meta")
        except urllib.error.HTTPError as exc:
            raise _error(exc) from None
        except urllib.error.URLError as exc:
            raise GovernanceError(f"cannot reach the mlgov server at {self.url}: {exc.reason}") from None
        if meta is not None:
            return json.loads(urllib.parse.unquote(meta)), payload
        return json.loads(payload)


class LocalTransport:
    """The service in this process, on the embedded store. Same routes, same validation."""

    def __init__(self, service, actor):
        self.service = service
        self.actor = actor

    def __repr__(self):
        return f"<in-process {self.service.store.url} as {self.actor.name}>"

    def request(self, method: str, path: str, query: dict | None = None, body: Any = None):
        query = {k: _q(v) for k, v in (query or {}).items() if v is not None}
        path = urllib.parse.unquote(path)
        _route, result = api.dispatch(self.service, self.actor, method, path, query, body)
        return json.loads(json.dumps(result)) if isinstance(result, dict) else result


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
