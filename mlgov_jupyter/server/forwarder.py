"""Team mode on a single-user server: ``/api/mlgov/*`` is forwarded to the governance service
with this server's own hub token, so the sidebar works unchanged and acts as its user only.

The single-user server holds no store, no key and no other user's token: only the token the hub
gave it (``$JUPYTERHUB_API_TOKEN``), which its kernels hold too.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httputil import HTTPHeaders

from .. import api

PASSED_BACK = ("Content-Type", "X-Mlgov-Meta", "Content-Disposition", "Content-Range")


class ForwardHandler(APIHandler):
    auth_resource = "mlgov"

    @property
    def target(self) -> dict:
        return self.settings["mlgov_forward"]  # {"url", "token", "owner"}

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = self._reason or "error"
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    async def _forward(self, path: str) -> None:
        target = self.target
        if self.current_user.username != target["owner"]:
            # someone this server is shared with: the forwarder would act as the owner
            raise web.HTTPError(403, f"this server forwards to mlgov as {target['owner']} only; "
                                     "open your own server")
        query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        query = urlencode(api.query_dict(query))
        headers = {"Authorization": f"token {target['token']}", "Accept": "application/json"}
        for name in ("Content-Type", "Range"):  # Range: a resumed download
            if self.request.headers.get(name):
                headers[name] = self.request.headers[name]
        method = self.request.method
        state = {"started": False, "status": None, "headers": HTTPHeaders()}

        def on_header(line: str) -> None:
            if line.startswith("HTTP/"):
                state["status"], state["headers"] = int(line.split()[1]), HTTPHeaders()
            elif line.strip():
                state["headers"].parse_line(line)

        def on_chunk(chunk: bytes) -> None:
            # a dataset streams through as it comes: never the whole body in this server
            if not state["started"]:
                self._start(state)
            self.write(chunk)
            self.flush()

        request = HTTPRequest(target["url"] + api.BASE + path + ("?" + query if query else ""),
                              method=method, headers=headers, follow_redirects=False,
                              body=self.request.body if method in ("POST", "PUT") else None,
                              header_callback=on_header, streaming_callback=on_chunk,
                              request_timeout=3600, allow_nonstandard_methods=True)
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 599 and not state["started"]:
            raise web.HTTPError(502, f"cannot reach the mlgov service at {target['url']}: {response.error}")
        if not state["started"]:
            self._start(state)
        self.finish()

    def _start(self, state: dict) -> None:
        state["started"] = True
        self.set_status(state["status"] or 502)
        for name in PASSED_BACK:
            if name in state["headers"]:
                self.set_header(name, state["headers"][name])

    @web.authenticated
    @authorized  # the action (read or write) follows the request's method
    async def get(self, path):
        await self._forward(path)

    post = put = patch = delete = get


def forward_handlers() -> list[tuple[str, type]]:
    return [(api.BASE + r"(.*)", ForwardHandler)]
