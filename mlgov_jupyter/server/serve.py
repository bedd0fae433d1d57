"""``mlgov serve``: the governance service as its own process, a JupyterHub service (team mode).

It alone holds the store URL and its credentials, the data, the audit signing key and the jobs.
Run it as its own OS account (the hub starts it with ``"user": "mlgov"``; see
``mlgov_jupyter.hub.configure_mlgov``), with its data directory mode 0700.

Configuration: the traits of ``GovernanceSettings`` and of this class, from ``--config FILE``
(a traitlets Python file: ``c.MlgovServe.db_url = ...``) or the command line.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from pathlib import Path
from urllib.parse import urlparse

from traitlets import Bool, Float, Int, Unicode, default
from traitlets.config import Application

from ..store.anchor import private_dir
from .connections import ConnectionLimits
from .settings import GovernanceSettings


UNROUTED_BODY_BYTES = 64 << 10  # bytes of a body sent to anything but a route handler


class MlgovServe(Application, GovernanceSettings, ConnectionLimits):
    name = "mlgov-serve"
    description = "The mlgov governance service for a JupyterHub (team mode)"

    config_file = Unicode("", config=True, help="A traitlets config file (Python) to load")
    ip = Unicode(config=True, help="Address to listen on (default: the host of $JUPYTERHUB_SERVICE_URL, "
                                   "else 127.0.0.1)")
    port = Int(config=True, help="Port (default: the port of $JUPYTERHUB_SERVICE_URL, else 10101)")
    prefix = Unicode(config=True, help="URL prefix (default: $JUPYTERHUB_SERVICE_PREFIX, "
                                       "else /services/<service_name>/)")
    service_name = Unicode(config=True, help="The hub's name for this service (default: "
                                             "$JUPYTERHUB_SERVICE_NAME, else mlgov)")
    hub_token_cache_seconds = Float(60.0, config=True,
                                    help="How long a checked hub token is trusted before the hub is asked "
                                         "again (a revoked token stops working within this time)")
    allow_root = Bool(False, config=True, help="Run as root (not recommended: give the service its own account)")

    aliases = {"config": "MlgovServe.config_file", "port": "MlgovServe.port", "ip": "MlgovServe.ip",
               "data-dir": "MlgovServe.data_dir", "db-url": "MlgovServe.db_url",
               "log-level": "Application.log_level"}
    flags = {"allow-root": ({"MlgovServe": {"allow_root": True}}, "run as root")}

    @default("log_level")
    def _log_level_default(self):
        return "INFO"

    def _service_url(self):
        return urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", ""))

    @default("ip")
    def _ip_default(self):
        return self._service_url().hostname or "127.0.0.1"

    @default("port")
    def _port_default(self):
        return self._service_url().port or 10101

    @default("service_name")
    def _name_default(self):
        return os.environ.get("JUPYTERHUB_SERVICE_NAME", "mlgov")

    @default("prefix")
    def _prefix_default(self):
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or f"/services/{self.service_name}/"

    def initialize(self, argv=None):
        super().initialize(argv)
        if self.config_file:
            if not os.path.isfile(self.config_file):
                self.exit(f"mlgov serve: no config file at {self.config_file}")
            self.load_config_file(self.config_file)
        if hasattr(os, "geteuid") and os.geteuid() == 0 and not self.allow_root:
            self.exit("mlgov serve: refusing to run as root; run it as the service's own account "
                      "(or pass --allow-root)")
        for var in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL"):
            if not os.environ.get(var):
                self.exit(f"mlgov serve runs as a JupyterHub service: ${var} is not set "
                          "(see the README, Team mode)")

    def _cookie_secret(self) -> bytes:
        """The OAuth cookie secret, kept in the private data dir so service copies and restarts share it."""
        path = private_dir(Path(self.data_dir)) / "cookie-secret"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return bytes.fromhex(path.read_text().strip())

    def start(self):
        from .hub_service import HubServiceAuth, build_app

        service = self.build_service()
        hub_auth = HubServiceAuth(parent=self, cache_max_age=int(self.hub_token_cache_seconds),
                                  base_url=self.prefix)
        if not hub_auth.access_scopes:  # never "any hub user or service": only those granted access
            hub_auth.access_scopes = {f"access:services!service={self.service_name}"}
        app = build_app(service, hub_auth, self.prefix, self.service_name, self._cookie_secret(),
                        log_function=self._log_request)
        scheduler = self.start_jobs(service)
        asyncio.run(self._serve(app, scheduler))
        from ..jobs import run_checkpoint

        run_checkpoint(service)  # what was written since the last scheduled one

    async def _serve(self, app, scheduler):
        # The route handlers stream their bodies: they authenticate once the headers are in and
        # only then raise their connection's cap to max_body_bytes (a one-line 413 above it).
        # Every other body (the OAuth callback, unknown paths) is dropped beyond UNROUTED_BODY_BYTES
        # before it is read into memory. A body that stalls, or a connection idle between
        # requests, is dropped after BODY_TIMEOUT seconds. Per peer address, connections on which
        # no request was authenticated yet are capped (the oldest goes) and must send their first
        # head within header_timeout (red team R12 N4); all loopback addresses are one peer, all
        # peers together hold at most unauthenticated_connections_total, and a signed-in user at
        # most connections_per_user (R13 P2-1); accept backs off while fds run out.
        from .connections import backoff_accept, quiet_exhaustion
        from .peers import PeerGuard
        from .routes import BODY_TIMEOUT

        quiet_exhaustion()
        server = app.listen(self.port, self.ip, xheaders=True, max_body_size=UNROUTED_BODY_BYTES,
                            body_timeout=BODY_TIMEOUT, idle_connection_timeout=BODY_TIMEOUT)
        self.peer_guard = PeerGuard(self.unauthenticated_connections_per_peer, self.header_timeout,
                                    total=self.unauthenticated_connections_total,
                                    per_user=self.connections_per_user)
        self.peer_guard.install(server)
        backoff_accept(server)
        self.log.info("mlgov serve: %s at http://%s:%d%s", self.service_name, self.ip, self.port, self.prefix)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        self.log.info("mlgov serve: stopped")

    def _log_request(self, handler):
        status = handler.get_status()
        log = self.log.warning if status >= 500 else self.log.info if status >= 400 else self.log.debug
        user = getattr(handler, "_hub_auth_user_cache", None) or {}
        log("%d %s %s (%s) %.1fms", status, handler.request.method, handler.request.path,
            user.get("name", "-"), 1000 * handler.request.request_time())


main = MlgovServe.launch_instance


if __name__ == "__main__":
    main()
