"""The REST API as a JupyterHub service (team mode): the hub says who is calling.

Browsers sign in with HubOAuth (a cookie of this service); kernels and scripts send their user's
own hub API token (``Authorization: token ...``) carrying ``access:services!service=<name>``. The
hub's groups of the user count for role assignments. Admin is this service's configuration alone
(``admin_users``), never the hub's admin flag.
"""

from __future__ import annotations

import functools

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web

from ..service import Actor
from .peers import vouch
from .routes import RouteMixin, route_handlers


class HubServiceAuth(HubOAuth):
    """HubOAuth whose synchronous ``get_user`` (what ``current_user`` asks) takes the answer the
    handler already holds (``_hub_guard`` asked asynchronously first): HubAuth would otherwise run
    each request's lookup on its own thread and event loop, blocking this one until it returned
    (and for a token not in its cache, for the whole round trip to the hub)."""

    def get_user(self, handler, *, sync=True):
        if sync and hasattr(handler, "_cached_hub_user"):  # what HubAuth._get_user returns then
            return handler._cached_hub_user
        return super().get_user(handler, sync=sync)


class HubRouteHandler(HubOAuthenticated, RouteMixin, web.RequestHandler):
    """Base of every route handler of ``mlgov serve``."""

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings["hub_auth"]

    @property
    def base_url(self) -> str:
        return self.settings["mlgov_prefix"]

    @property
    def actor(self) -> Actor:
        user = self.current_user
        return Actor(name=user["name"], display_name=user["name"], groups=tuple(user.get("groups") or ()))


def _hub_guard(func):
    """Signed-in hub users only: a browser GET goes to the hub's login, anything else gets a 403."""

    @functools.wraps(func)
    async def guarded(self, *args, **kwargs):
        try:
            if not hasattr(self, "_hub_auth_user_cache"):  # not asked yet: ask without blocking the loop
                await self.hub_auth.get_user(self, sync=False)
            user = self.current_user
        except web.HTTPError as exc:  # the hub could not be asked about the token
            if exc.status_code < 500:
                raise
            raise web.HTTPError(503, "cannot check the token now: the hub did not answer") from None
        if user is None:
            if self.request.method == "GET" and "text/html" in self.request.headers.get("Accept", ""):
                self.redirect(self.get_login_url())
                return
            raise web.HTTPError(403, "sign in through JupyterHub: send your hub API token "
                                     "(Authorization: token ...) with the scope "
                                     f"access:services!service={self.settings['mlgov_service_name']}")
        if user.get("kind", "user") != "user":
            raise web.HTTPError(403, "only hub users act in mlgov, not services")
        vouch(self.request, user["name"])  # its connection no longer counts as a stranger's (peers.PeerGuard)
        return await func(self, *args, **kwargs)

    return guarded


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """The hub's OAuth callback with this service's HubOAuth (which holds the PKCE state), not
    a process-wide default instance."""

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings["hub_auth"]


@web.stream_request_body  # refused once its headers are in: no body is read
class NotFoundHandler(HubRouteHandler):
    def prepare(self):
        raise web.HTTPError(404, f"{self.request.method} {self.request.path}: no such endpoint")


def build_app(service, hub_auth: HubOAuth, prefix: str, service_name: str, cookie_secret: bytes,
              **settings) -> web.Application:
    """The tornado application of ``mlgov serve``: the route table under ``prefix``
    (e.g. ``/services/mlgov/``) and the OAuth callback."""
    handlers = route_handlers(HubRouteHandler, _hub_guard, prefix=prefix)
    handlers.append((prefix + "oauth_callback", OAuthCallbackHandler))
    handlers.append((r".*", NotFoundHandler))
    return web.Application(handlers, mlgov_service=service, hub_auth=hub_auth, mlgov_prefix=prefix,
                           mlgov_service_name=service_name, cookie_secret=cookie_secret,
                           xsrf_cookies=False, **settings)
