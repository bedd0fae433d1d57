"""Several people on one server without a hub: API tokens mapped to user names.

    c.ServerApp.identity_provider_class = "mlgov_jupyter.server.identity.TokenIdentityProvider"
    c.ServerApp.authorizer_class = "mlgov_jupyter.server.identity.SharedServerAuthorizer"
    c.TokenIdentityProvider.tokens = {"<alice's token>": "alice", "<bob's token>": "bob"}
    c.TokenIdentityProvider.user_groups = {"bob": ["data-science"]}
    c.TokenIdentityProvider.login_lifetime_hours = 12     # default

What this protects, and what not. Every kernel, terminal and file operation of this server runs as
the operating-system account that owns the server, its cookie secret, this token map and the
governance store. So only the *owner* may run code or touch files: whoever authenticates with the
server's own token (``ServerApp.token`` / ``IdentityProvider.token``; mlgov user name
``TokenIdentityProvider.owner``, default: the OS user). Everyone else (a token of ``tokens``) may
use the governance API (``/api/mlgov/...``) and see JupyterLab's page read-only; kernels,
kernelspecs, sessions, terminals, contents, files, nbconvert, events, LSP, server config, lab's
workspaces and lab's settings/extension/build writes answer 403 (the one write left is lab's theme
setting, shared by all users).  A token in ``tokens`` never makes its user the
owner, even if it maps to the owner's name. For teams whose members run code, use JupyterHub (team
mode), where each user's code runs under their own account.

Two pieces do this:

- ``SharedServerAuthorizer`` (``c.ServerApp.authorizer_class``, required: mlgov refuses to start
  with ``TokenIdentityProvider`` and any other authorizer) decides (user, action, resource).
- ``TokenIdentityProvider`` puts *every* request through that decision once it knows the user,
  because JupyterLab's own handlers (settings, workspaces, extension manager, build) do not call
  the authorizer. Handlers without an ``auth_resource`` are named here (``handler_resource``);
  a handler nobody named is refused to non-owners (fail closed).

Browsers: ``/lab?token=...`` or the ``/login`` form (a user's token logs in as that user, the
server token as the owner) sets a login cookie that names the user and a fingerprint (HMAC with
the cookie secret) of the token that logged in. Each request accepts the cookie only while that
token is still configured for that user, so removing or changing a token logs its browsers out at
their next request. Cookies expire after ``login_lifetime_hours``.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import hmac
import json

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from tornado import web
from traitlets import Dict, Float, List, TraitError, Unicode, default, validate

# Resources a non-owner may read (GET/HEAD): what JupyterLab's page needs to render, none of which
# exposes a file of the server or starts a process.
READ_ONLY_RESOURCES = frozenset({
    "page",              # "/", trailing-slash redirects, /api version, the 404 page
    "static",            # jupyter-server's and lab's static assets, labextensions
    "api",               # /api/status, /api/spec.yaml, /api/me (reading one's own identity)
    "lab",               # the JupyterLab page
    "lab:settings",      # settings schemas and values (shared by all users: read only)
    "lab:themes",
    "lab:translations",
    "lab:listings",
    "lab:licenses",
    "lab:announcements",  # news / update check
})
# Resources a non-owner may use with any method.
OPEN_RESOURCES = frozenset({
    "login",  # /login, /logout
    # JupyterLab's theme (light/dark, font sizes): shared by all users of the server, so a user's
    # choice changes everyone's; harmless otherwise. Every other settings write is refused (a
    # shortcut or a sanitizer setting is a way into the owner's browser session and kernels).
    "lab:settings:@jupyterlab/apputils-extension:themes",
})

# Handlers that set no auth_resource (they call no authorizer), or whose auth_resource is too
# coarse, by qualified class name. Looked up along the class's MRO.
HANDLER_RESOURCES = {
    "jupyter_server.auth.login.LoginFormHandler": "login",
    "jupyter_server.auth.login.LegacyLoginHandler": "login",
    "jupyter_server.auth.logout.LogoutHandler": "login",
    "jupyter_server.base.handlers.MainHandler": "page",
    "jupyter_server.base.handlers.TrailingSlashHandler": "page",
    "jupyter_server.base.handlers.RedirectWithParams": "page",
    "jupyter_server.base.handlers.APIVersionHandler": "page",
    "jupyter_server.base.handlers.Template404": "page",
    "jupyter_server.base.handlers.FileFindHandler": "static",
    "jupyter_server.base.handlers.PublicStaticFileHandler": "static",
    "jupyter_server.base.handlers.PrometheusMetricsHandler": "metrics",
    "jupyter_server.base.handlers.FilesRedirectHandler": "contents",
    "jupyter_server.services.api.handlers.IdentityHandler": "api",
    # "api" by its own auth_resource, but answers whether a path exists on the server
    "jupyter_server.services.api.handlers.PathResolverHandler": "contents",
    "jupyter_server.services.contents.handlers.TrustNotebooksHandler": "contents",
    "jupyter_server.services.contents.handlers.NotebooksRedirectHandler": "contents",
    "jupyterlab_server.handlers.LabHandler": "lab",
    "jupyterlab_server.settings_handler.SettingsHandler": "lab:settings",
    "jupyterlab_server.workspaces_handler.WorkspacesHandler": "lab:workspaces",
    "jupyterlab_server.themes_handler.ThemesHandler": "lab:themes",
    "jupyterlab_server.translations_handler.TranslationsHandler": "lab:translations",
    "jupyterlab_server.listings_handler.ListingsHandler": "lab:listings",
    "jupyterlab_server.licenses_handler.LicensesHandler": "lab:licenses",
    "jupyterlab.handlers.announcements.CheckForUpdateHandler": "lab:announcements",
    "jupyterlab.handlers.announcements.NewsHandler": "lab:announcements",
    "jupyterlab.handlers.build_handler.BuildHandler": "lab:build",
    "jupyterlab.handlers.extension_manager_handler.ExtensionHandler": "lab:extensions",
    "jupyterlab.handlers.plugin_manager_handler.PluginHandler": "lab:plugins",
    "jupyterlab.handlers.error_handler.ErrorHandler": "page",
}
# These names win over the handler's own auth_resource.
_OVERRIDES = frozenset({"jupyter_server.services.api.handlers.PathResolverHandler"})


def handler_resource(handler) -> str:
    """The resource a request's handler serves, for the shared-server policy."""
    mro = type(handler).__mro__
    own = f"{mro[0].__module__}.{mro[0].__qualname__}"
    if own in _OVERRIDES:
        return HANDLER_RESOURCES[own]
    resource = getattr(handler, "auth_resource", None)
    if resource:
        return resource
    for cls in mro:
        name = HANDLER_RESOURCES.get(f"{cls.__module__}.{cls.__qualname__}")
        if name == "lab:settings":
            schema = (getattr(handler, "path_kwargs", None) or {}).get("schema_name")
            return f"lab:settings:{schema}" if schema else name
        if name:
            return name
    return f"unknown:{own}"


def is_owner(user) -> bool:
    """Did this user authenticate with the server's own token (now, or for their cookie)?"""
    return getattr(user, "is_owner", False) is True


def non_owner_may(action: str, resource: str) -> bool:
    """The policy for token users other than the owner."""
    if resource == "mlgov" or resource.startswith("mlgov:"):
        return True
    if resource in OPEN_RESOURCES:
        return True
    if resource.startswith("lab:settings:"):  # one plugin's settings: read as all settings
        return action == "read"
    return action == "read" and resource in READ_ONLY_RESOURCES


class SharedServerAuthorizer(Authorizer):
    """The owner (server token) may do everything; other token users only the governance API
    (``mlgov:*`` resources) and reading what JupyterLab's page needs. No kernels, terminals,
    files, contents, sessions, kernelspecs, nbconvert, events or settings writes."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        if user is None:
            return False
        if is_owner(user):
            return True
        allowed = non_owner_may(action, resource or "")
        if not allowed:
            self.log.info("shared server: %s may not %s %s (only the server's owner may)",
                          getattr(user, "username", user), action, resource)
        return allowed


_FALLBACK_AUTHORIZER = SharedServerAuthorizer()


@functools.lru_cache(maxsize=1024)
def _fingerprint(secret: bytes, token: str) -> str:
    """The HMAC of a configured token under the cookie secret (asked on every request of a token
    user and for every login cookie checked: remembered, it is a pure function of both)."""
    return hmac.new(secret, b"mlgov-shared-token:" + token.encode(), hashlib.sha256).hexdigest()[:32]


class SharedUser(User):
    """A user of the shared server. ``token_fingerprint`` names the token that authenticated
    them; ``is_owner`` is True only for the server's own token. Neither is a dataclass field, so
    neither reaches /api/me (identity_model) nor user equality."""

    token_fingerprint: str = ""
    is_owner: bool = False


class TokenIdentityProvider(IdentityProvider):
    tokens = Dict(key_trait=Unicode(), value_trait=Unicode(), config=True,
                  help="API token -> user name. Removing or changing a token logs its browsers "
                       "out at their next request.")
    owner = Unicode(config=True, help="User name for the server's own token (the only user who "
                                      "may run code); default: the OS user")
    user_groups = Dict(key_trait=Unicode(), value_trait=List(Unicode()), config=True,
                       help="User name -> groups, for role assignments to groups (as JupyterHub groups)")
    login_lifetime_hours = Float(12.0, config=True,
                                 help="A login cookie is accepted for this many hours after login")

    @default("owner")
    def _owner_default(self):
        return getpass.getuser()

    @validate("tokens")
    def _check_tokens(self, proposal):
        for token, name in proposal["value"].items():
            if not token or not name:
                raise TraitError("TokenIdentityProvider.tokens: empty token or user name")
        return proposal["value"]

    @validate("login_lifetime_hours")
    def _check_lifetime(self, proposal):
        if not proposal["value"] > 0:
            raise TraitError("TokenIdentityProvider.login_lifetime_hours must be positive")
        return proposal["value"]

    @property
    def auth_enabled(self) -> bool:
        return True

    # -- who is this? ------------------------------------------------------------------------

    def _user(self, name: str, fingerprint: str, owner: bool) -> SharedUser:
        user = SharedUser(username=name, name=name, display_name=name, initials=name[:2].upper())
        user.token_fingerprint = fingerprint
        user.is_owner = owner
        return user

    @staticmethod
    def _fingerprint(handler, token: str) -> str:
        secret = handler.settings.get("cookie_secret") or b""
        if isinstance(secret, str):
            secret = secret.encode()
        return _fingerprint(secret, token)

    def _user_for_token(self, handler, given: str) -> SharedUser | None:
        if not given:
            return None
        match = None
        for token, name in self.tokens.items():
            if hmac.compare_digest(given.encode(), token.encode()) and match is None:
                match = self._user(name, self._fingerprint(handler, token), owner=False)
        if match is not None:
            return match
        server_token = self.token
        if server_token and hmac.compare_digest(given.encode(), server_token.encode()):
            return self._user(self.owner, self._fingerprint(handler, server_token), owner=True)
        return None

    async def get_user_token(self, handler) -> User | None:
        return self._user_for_token(handler, self.get_token(handler) or "")

    def process_login_form(self, handler) -> User | None:
        """The /login form: a user's token logs in as that user, the server token as the owner;
        anything else is None (jupyter-server shows the login page again, with an error)."""
        return self._user_for_token(handler, handler.get_argument("password", default="").strip())

    async def _get_user(self, handler) -> User | None:
        user = await super()._get_user(handler)
        if user is not None and not is_owner(user):
            await self._enforce_policy(handler, user)
        return user

    async def _enforce_policy(self, handler, user) -> None:
        """Put every request of a non-owner through the shared-server policy, including handlers
        that call no authorizer (JupyterLab's settings, workspaces, extension manager, build)."""
        authorizer = handler.settings.get("authorizer")
        if not isinstance(authorizer, SharedServerAuthorizer):
            authorizer = _FALLBACK_AUTHORIZER  # fail closed whatever authorizer is configured
        method = (handler.request.method or "GET").upper()
        action = HTTP_METHOD_TO_AUTH_ACTION.get(method, "write")
        resource = handler_resource(handler)
        allowed = authorizer.is_authorized(handler, user, action, resource)
        if hasattr(allowed, "__await__"):
            allowed = await allowed
        if not allowed:
            message = (f"{user.username} may not {action} {resource} on this shared server: only "
                       f"its owner may").replace("%", "")
            raise web.HTTPError(403, message)

    # -- login cookie, bound to the token that logged in --------------------------------------

    def _authenticated_by_header(self, handler) -> bool:
        return not handler.get_query_argument("token", "") and \
            bool(self.auth_header_pat.match(handler.request.headers.get("Authorization", "")))

    def user_to_cookie(self, user: User) -> str:
        return json.dumps({"username": user.username,
                           "tfp": getattr(user, "token_fingerprint", "")})

    def user_from_cookie(self, cookie_value: str) -> User | None:
        """Parse only; get_user_cookie checks the fingerprint against the current tokens."""
        data = json.loads(cookie_value)
        name, fingerprint = data.get("username"), data.get("tfp")
        if not isinstance(name, str) or not isinstance(fingerprint, str) or not fingerprint:
            return None
        return self._user(name, fingerprint, owner=False)

    def get_user_cookie(self, handler) -> User | None:
        kwargs = dict(self.get_secure_cookie_kwargs)
        kwargs.setdefault("max_age_days", self.login_lifetime_hours / 24)
        raw = handler.get_secure_cookie(self.get_cookie_name(handler), **kwargs)
        if not raw:
            return None
        try:
            parsed = self.user_from_cookie(raw.decode())
        except (ValueError, AttributeError, UnicodeDecodeError):
            return None
        if parsed is None:
            return None
        name, fingerprint = parsed.username, parsed.token_fingerprint
        for token, token_user in self.tokens.items():
            if token_user == name and hmac.compare_digest(fingerprint, self._fingerprint(handler, token)):
                return self._user(name, fingerprint, owner=False)
        server_token = self.token
        if (server_token and name == self.owner
                and hmac.compare_digest(fingerprint, self._fingerprint(handler, server_token))):
            return self._user(name, fingerprint, owner=True)
        return None  # token removed or changed since login: jupyter-server clears the cookie

    def set_login_cookie(self, handler, user: User) -> None:
        """The login cookie of the /login form and of ``?token=`` URLs (browsers). None for a request
        that authenticated by its ``Authorization: token`` header: such a client (a kernel, a
        script) sends the token with every request and never uses a cookie, and signing one per
        request was ~6% of a small API request's CPU."""
        if self._authenticated_by_header(handler):
            return
        options = dict(self.cookie_options)
        options.setdefault("expires_days", self.login_lifetime_hours / 24)
        options.setdefault("httponly", True)
        secure = self.secure_cookie
        if secure is None:
            secure = handler.request.protocol == "https"
        if secure:
            options.setdefault("secure", True)
        options.setdefault("path", handler.base_url)
        handler.set_secure_cookie(self.get_cookie_name(handler), self.user_to_cookie(user), **options)
