"""HTTP only: parse, call the service through the route table, map errors once."""

from __future__ import annotations

import json
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.ioloop import IOLoop

from .. import api
from ..core.errors import GovernanceError
from ..service import Actor
from .openapi import openapi_document

SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)


class MlgovHandler(APIHandler):
    """Base: turns the identity provider's user into an Actor and GovernanceErrors into JSON."""

    auth_resource = "mlgov"

    @property
    def service(self):
        return self.settings["mlgov_service"]

    @property
    def actor(self) -> Actor:
        user = self.current_user
        if type(self.identity_provider) in SINGLE_USER_PROVIDERS:
            # a plain `jupyter lab` is one person's server: its anonymous browser users are the owner
            owner = self.settings["mlgov_owner"]
            return Actor(name=owner, display_name=owner)
        hub_user = getattr(user, "hub_user", None)  # JupyterHub: the hub's groups count for roles
        groups = list(hub_user.get("groups") or []) if isinstance(hub_user, dict) else []
        groups += getattr(self.identity_provider, "user_groups", {}).get(user.username, [])
        return Actor(name=user.username, display_name=user.display_name, groups=tuple(groups))

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = str(exc) if isinstance(exc, GovernanceError) else (self._reason or "error")
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        self.finish(json.dumps({"message": message}))

    async def _call_route(self, method: str, path_args: dict):
        route = self.routes[method]
        query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        body = api.parse_json(self.request.body) if method != "GET" else None
        # The service is synchronous (database, rendering): run it off the event loop so one slow
        # call (a PDF export, a large publish) does not stall every other request.
        result = await IOLoop.current().run_in_executor(
            None, api.run, route, self.service, self.actor, path_args, query, body)
        self.set_status(route.status)
        if route.binary:
            meta, data = result
            self.set_header("X-Mlgov-Meta", quote(json.dumps(meta)))
            self.finish(data or b"", set_content_type=meta.get("media_type", "application/octet-stream"))
        else:
            self.finish(json.dumps(result))

    async def _guard(self, method: str, path_args: dict):
        try:
            await self._call_route(method, path_args)
        except GovernanceError as exc:
            self.set_status(exc.status)
            self.finish(json.dumps({"message": exc.message}))


def _verb(method: str):
    @web.authenticated
    @authorized
    async def handle(self, **path_args):
        await self._guard(method, path_args)

    handle.__name__ = method.lower()
    return handle


def build_handlers() -> list[tuple[str, type]]:
    """One concrete handler class per path, each with its own auth_resource."""
    by_path: dict[str, list[api.Route]] = {}
    for route in api.ROUTES:
        by_path.setdefault(route.path, []).append(route)
    handlers = []
    for path, routes in by_path.items():
        attrs = {"auth_resource": f"mlgov:{routes[0].resource}",
                 "routes": {r.method: r for r in routes}}
        for route in routes:
            attrs[route.method.lower()] = _verb(route.method)
        cls = type(f"{routes[0].resource.title()}Handler", (MlgovHandler,), attrs)
        handlers.append((api.BASE + path, cls))
    handlers.append((api.BASE + "openapi.json", OpenAPIHandler))
    return handlers


class OpenAPIHandler(MlgovHandler):
    auth_resource = "mlgov:openapi"

    @web.authenticated
    @authorized
    def get(self):
        self.finish(json.dumps(openapi_document(self.base_url)))
