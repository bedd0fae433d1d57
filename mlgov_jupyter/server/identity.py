"""Several people on one server without a hub: API tokens mapped to user names.

    c.ServerApp.identity_provider_class = "mlgov_jupyter.server.identity.TokenIdentityProvider"
    c.TokenIdentityProvider.tokens = {"<alice's token>": "alice", "<bob's token>": "bob"}
    c.TokenIdentityProvider.user_groups = {"bob": ["data-science"]}

The server's own token (``ServerApp.token``) still works and acts as ``owner``.
A browser opened with ``/lab?token=...`` keeps the user in its login cookie.
"""

from __future__ import annotations

import getpass
import hmac

from jupyter_server.auth.identity import IdentityProvider, User
from traitlets import Dict, List, Unicode, default


class TokenIdentityProvider(IdentityProvider):
    tokens = Dict(key_trait=Unicode(), value_trait=Unicode(), config=True,
                  help="API token -> user name")
    owner = Unicode(config=True, help="User name for the server's own token")
    user_groups = Dict(key_trait=Unicode(), value_trait=List(Unicode()), config=True,
                       help="User name -> groups, for role assignments to groups (as JupyterHub groups)")

    @default("owner")
    def _owner_default(self):
        return getpass.getuser()

    @property
    def auth_enabled(self) -> bool:
        return True

    def _user(self, name: str) -> User:
        return User(username=name, name=name, display_name=name, initials=name[:2].upper())

    async def get_user_token(self, handler) -> User | None:
        given = self.get_token(handler)
        if not given:
            return None
        for token, name in self.tokens.items():
            if hmac.compare_digest(given, token):
                return self._user(name)
        server_token = getattr(handler, "token", None)
        if server_token and hmac.compare_digest(given, server_token):
            return self._user(self.owner)
        return None
