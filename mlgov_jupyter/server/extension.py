"""The jupyter-server extension: wires traitlets config into settings, nothing else."""

from __future__ import annotations

import getpass
import os

from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Float, Int, List, TraitError, Type, Unicode, validate

from ..core.authz import Authorizer
from ..service import GovernanceService
from ..store.db import Store
from .handlers import build_handlers
from .identity import TokenIdentityProvider


class MlgovApp(ExtensionApp):
    name = "mlgov_jupyter"
    load_other_extensions = True

    db_url = Unicode("", config=True,
                     help="SQLAlchemy URL of the governance store; default: a SQLite file in the "
                          "Jupyter data dir. PostgreSQL: postgresql+psycopg://user:pw@host/db")
    owner = Unicode("", config=True,
                    help="On a single-user server (no hub, no token map): the user acting; "
                         "default: the operating-system user running the server")
    admin_users = List(Unicode(), config=True, help="User names with global admin rights")
    authorizer_class = Type(None, klass=Authorizer, allow_none=True, config=True,
                            help="A fixed policy for every service call; default (None): the roles "
                                 "stored by the role manager decide, through Cedar")
    unassigned_users = Enum(["designations", "deny"], "designations", config=True,
                            help="Users holding no role: act by their project designations, or "
                                 "may do nothing until an admin assigns them a role")
    service_class = Type(GovernanceService, klass=GovernanceService, config=True,
                         help="The governance service facade")

    alert_evaluation_period = Int(1, config=True, help="Alert rule: how many recent checks are looked at (1-100)")
    alert_datapoints_to_alert = Int(1, config=True, help="Alert rule: how many of them with violations make "
                                                         "a model InAlert (1-100, at most the period)")

    monitor_max_age_days = Float(None, allow_none=True, config=True,
                                 help="Flag models with an approved card and no check within this many "
                                      "days as Unmonitored (default: off)")

    @validate("alert_evaluation_period", "alert_datapoints_to_alert")
    def _check_alert_rule(self, proposal):
        if not 1 <= proposal["value"] <= 100:
            raise TraitError(f"{proposal['trait'].name} must be between 1 and 100")
        return proposal["value"]

    def initialize_settings(self):
        store = Store(self.db_url or None)
        authorizer = self.authorizer_class() if self.authorizer_class else None
        if self.alert_datapoints_to_alert > self.alert_evaluation_period:
            raise TraitError("alert_datapoints_to_alert cannot exceed alert_evaluation_period")
        service = self.service_class(store=store, authorizer=authorizer, unassigned=self.unassigned_users,
                                     admin_users=frozenset(self.admin_users),
                                     alert_evaluation_period=self.alert_evaluation_period,
                                     alert_datapoints=self.alert_datapoints_to_alert,
                                     monitor_max_age_days=self.monitor_max_age_days)
        self.settings["mlgov_service"] = service
        self.settings["mlgov_owner"] = self.owner or getpass.getuser()
        # Kernels started by this server inherit these and talk to it over HTTP.
        os.environ["MLGOV_SERVER_URL"] = self.serverapp.connection_url
        if isinstance(self.serverapp.identity_provider, TokenIdentityProvider):
            # Several people share this server: the owner's token must reach no browser and no
            # kernel. Browsers authenticate by their login cookie; kernels by the user's own token
            # (%mlgov login TOKEN, or MLGOV_TOKEN in the kernel's environment).
            self.serverapp.web_app.settings.setdefault("page_config_data", {})["token"] = ""
            os.environ.pop("MLGOV_TOKEN", None)
        else:
            token = getattr(self.serverapp.identity_provider, "token", "")
            if token:
                os.environ["MLGOV_TOKEN"] = token
        self.log.info("mlgov: governance store at %s", store.engine.url.render_as_string())

    def initialize_handlers(self):
        self.handlers.extend(build_handlers())
