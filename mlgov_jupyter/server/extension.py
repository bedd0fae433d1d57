"""The jupyter-server extension: wires traitlets config into settings, nothing else.

Personal mode (default): the server hosts the governance service on its own store.
Team mode (``service_url`` set, on a JupyterHub single-user server): the server holds no store;
``/api/mlgov/*`` is forwarded to ``mlgov serve`` with this server's own hub token, and kernels
call the service directly with the same token.
"""

from __future__ import annotations

import getpass
import os

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int, Unicode, default

from .connections import ConnectionLimits
from .settings import GovernanceSettings


class MlgovApp(ExtensionApp, GovernanceSettings, ConnectionLimits):
    name = "mlgov_jupyter"
    load_other_extensions = True

    owner = Unicode("", config=True,
                    help="On a single-user server (no hub, no token map): the user acting; "
                         "default: the operating-system user running the server")
    service_url = Unicode(config=True,
                          help="Team mode: the URL of the mlgov service, e.g. "
                               "http://127.0.0.1:10101/services/mlgov/ (default: $MLGOV_SERVICE_URL). "
                               "Empty: personal mode, the service runs in this server")

    idle_connection_timeout = Float(60.0, config=True,
                                    help="Seconds a connection to this server may take to send a request's "
                                         "headers, or stay idle between requests, before it is closed "
                                         "(jupyter-server's own default is an hour: strangers could hold "
                                         "every file descriptor with half-sent requests). 0: leave it")

    unauthenticated_body_bytes = Int(
        64 << 10, config=True,
        help="Bytes of a request body this server reads for a request without credentials (no token, "
             "no login cookie of this server), or of a shared server's user who is not its owner, to "
             "any path but the mlgov routes (which authenticate before reading); jupyter-server "
             "reads up to ServerApp.max_body_size (512 MiB) before any handler runs. -1: no cap")

    @default("service_url")
    def _service_url_default(self):
        return os.environ.get("MLGOV_SERVICE_URL", "")

    _scheduler = None

    def initialize_settings(self):
        if self.service_url:
            self._team_mode()
        else:
            self._personal_mode()

    def _team_mode(self):
        token, owner = os.environ.get("JUPYTERHUB_API_TOKEN"), os.environ.get("JUPYTERHUB_USER")
        if not (token and owner):
            raise RuntimeError("mlgov team mode (service_url / $MLGOV_SERVICE_URL) runs on a JupyterHub "
                               "single-user server: $JUPYTERHUB_API_TOKEN and $JUPYTERHUB_USER are not set")
        url = self.service_url.rstrip("/") + "/"
        self.settings["mlgov_forward"] = {"url": url, "token": token, "owner": owner}
        # kernels inherit these and call the service themselves, with their user's own hub token
        os.environ["MLGOV_SERVER_URL"] = url
        os.environ.pop("MLGOV_TOKEN", None)
        self.log.info("mlgov: team mode, forwarding to the governance service at %s as %s", url, owner)

    def _personal_mode(self):
        from .identity import SharedServerAuthorizer, TokenIdentityProvider

        shared = isinstance(self.serverapp.identity_provider, TokenIdentityProvider)
        if shared and not isinstance(self.serverapp.authorizer, SharedServerAuthorizer):
            # several people on one server: only its owner may run code (fail closed)
            raise RuntimeError("TokenIdentityProvider needs c.ServerApp.authorizer_class = "
                               "'mlgov_jupyter.server.identity.SharedServerAuthorizer'")
        service = self.build_service()
        # webhooks never reach this server itself
        service.delivery_config = self.delivery_config(self.serverapp.connection_url)
        self.settings["mlgov_service"] = service
        self.settings["mlgov_owner"] = self.owner or getpass.getuser()
        self._scheduler = self.start_jobs(service)
        from .connections import guard_connections, limit_idle_connections

        limit_idle_connections(self.serverapp, self.idle_connection_timeout)
        guard_connections(self.serverapp, self.unauthenticated_connections_per_peer, self.header_timeout,
                          None if self.unauthenticated_body_bytes < 0 else self.unauthenticated_body_bytes,
                          total=self.unauthenticated_connections_total, per_user=self.connections_per_user)
        # Kernels started by this server inherit these and talk to it over HTTP. Only the owner
        # runs kernels (on a shared server too), so they may act with the owner's token.
        os.environ["MLGOV_SERVER_URL"] = self.serverapp.connection_url
        token = getattr(self.serverapp.identity_provider, "token", "")
        if token:
            os.environ["MLGOV_TOKEN"] = token
        if shared:
            # ... but the owner's token must reach no other browser
            self.serverapp.web_app.settings.setdefault("page_config_data", {})["token"] = ""
        self.log.info("mlgov: governance store at %s", service.store.engine.url.render_as_string())

    def initialize_handlers(self):
        if self.service_url:
            from .forwarder import forward_handlers

            self.handlers.extend(forward_handlers())
        else:
            from .handlers import build_handlers

            self.handlers.extend(build_handlers())

    async def stop_extension(self):
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        if "mlgov_service" in self.settings:
            from ..jobs import run_checkpoint

            run_checkpoint(self.settings["mlgov_service"])
