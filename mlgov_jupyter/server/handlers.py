"""The REST API on a jupyter-server (personal mode, and the shared-token server): the identity
provider says who is calling; jupyter-server's authorizer guards each handler."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..service import Actor
from .routes import RouteMixin, route_handlers

SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)


class MlgovHandler(RouteMixin, APIHandler):
    """Turns the identity provider's user into an Actor."""

    auth_resource = "mlgov"

    def finish(self, *args, **kwargs):
        # APIHandler.finish would set application/json over a binary route's content type
        kwargs.setdefault("set_content_type", self._headers.get("Content-Type", "application/json"))
        return super().finish(*args, **kwargs)

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


def _jupyter_guard(func):
    # @web.authenticated outside @authorized: jupyter-server caches the resource on first call
    return web.authenticated(authorized(func))


def build_handlers() -> list[tuple[str, type]]:
    # authentication (not the per-verb authorization, whose jupyter-server decorator keeps the
    # action of its first call) before the body is read; the verbs are authorized as before
    return route_handlers(MlgovHandler, _jupyter_guard, prepare_guard=web.authenticated)
