"""The governance service's configuration, shared by the jupyter-server extension (personal mode)
and by ``mlgov serve`` (team mode): the same traits build the same service.

    c.MlgovApp.db_url = "postgresql+psycopg://mlgov:...@db/mlgov"   # personal server
    c.MlgovServe.db_url = ...                                         # the team service
    c.GovernanceSettings.admin_users = ["ops"]                        # either
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from traitlets import Bool, Dict, Enum, Float, Int, List, TraitError, Type, Unicode, default, observe, validate
from traitlets.config import LoggingConfigurable

from ..core.authz import Authorizer
from ..service import GovernanceService
from ..service.base import Limits
from ..store.anchor import CHECKPOINT_DIR, KEY_FILE, AuditAnchor, private_dir
from ..store.external import ExternalLocations
from ..store.objects import ObjectStore


# Settings the service reads as attributes of the same name (its class gives the defaults).
SERVICE_TRAITS = ("monitor_engine", "monitor_dask_address", "monitor_workers", "monitor_failed_runs",
                  "monitor_max_per_project", "monitor_max_per_user", "monitor_ground_truth_rows",
                  "capture_max_rows", "presigned_urls", "presigned_url_seconds")


class GovernanceSettings(LoggingConfigurable):
    data_dir = Unicode(config=True,
                       help="The service's private directory (mode 0700): the SQLite store, the audit "
                            "signing key and checkpoints by default. Default: <Jupyter data dir>/mlgov")
    db_url = Unicode("", config=True,
                     help="SQLAlchemy URL of the governance store; default: a SQLite file in data_dir. "
                          "PostgreSQL: postgresql+psycopg://user:pw@host/db")
    objects_url = Unicode("", config=True,
                          help="Where published content lives: a directory, or a URL pyarrow.fs opens "
                               "(s3://bucket/prefix, gs://..., abfs://...). Default: <data_dir>/objects")
    objects_options = Dict(config=True,
                           help="Keyword arguments of the object store's pyarrow filesystem, e.g. for S3 "
                                "{'endpoint_override': 'http://minio:9000', 'access_key': ..., "
                                "'secret_key': ..., 'region': ...}. Held by the service only.")
    external_locations = Dict(config=True,
                              help="Where datasets may be registered in place (read with the service's "
                                   "credentials, streamed to grantees): prefix -> filesystem options, e.g. "
                                   "{'s3://lake/curated/': {'region': 'eu-west-1'}, '/data/shared/': {}}. "
                                   "Nothing outside them, and never the service's data_dir.")
    presigned_urls = Bool(False, config=True,
                          help="Vend short-lived presigned URLs to a dataset revision's Parquet files "
                               "(client.presigned_urls, %mlgov use --urls) to those who may read it whole: "
                               "an S3 object store only; never for grants scoped by an asset filter or for "
                               "registered external data; each vending audited. Off by default")
    presigned_url_seconds = Int(900, config=True,
                                help="Seconds a presigned URL lives (and the most a caller may ask for): "
                                     "1 to 3600, default 900 (15 minutes)")
    admin_users = List(Unicode(), config=True,
                       help="User names with global admin rights. Only this setting makes an admin.")
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

    monitor_tick_seconds = Float(15.0, config=True,
                                 help="Seconds between the scheduler's passes over stored monitors (due runs "
                                      "start, inactive monitors raise alerts); 0: monitors run only when asked")
    monitor_workers = Int(1, config=True, help="Monitor runs at a time, on threads apart from those serving requests")
    monitor_failed_runs = Int(3, config=True, help="Failed runs in a row that make a monitor inactive (alert)")
    monitor_max_per_project = Int(50, config=True, help="Most monitors one project may hold (409 beyond)")
    monitor_max_per_user = Int(100, config=True, help="Most monitors one person may create across projects "
                               "(409 beyond; admins are exempt)")
    monitor_ground_truth_rows = Int(5_000_000, config=True,
                                    help="Most labels a model-quality or bias run joins (the newest uploads)")
    capture_max_rows = Int(1_000_000, config=True,
                           help="Most rows one captured batch (or ground-truth upload) may hold (413 beyond)")
    monitor_engine = Enum(["inprocess", "dask"], "inprocess", config=True,
                          help="Where monitor runs compute: in the service process, or on the Dask cluster "
                               "at monitor_dask_address (each captured file a partition; statistics merge)")
    monitor_dask_address = Unicode("", config=True, help="The Dask scheduler's address, e.g. tcp://10.0.0.5:8786")

    audit_key_file = Unicode("", config=True,
                             help="Ed25519 private key (PEM) that signs audit checkpoints; created on first "
                                  "start if missing. Never in the database. Default: <data_dir>/audit-signing-key.pem")
    audit_checkpoint_dir = Unicode("", config=True,
                                   help="Append-only directory outside the database for signed checkpoint "
                                        "files. Default: <data_dir>/audit-checkpoints")
    audit_checkpoint_interval = Float(300.0, config=True,
                                      help="Seconds between scheduled audit checkpoints (made only when the "
                                           "chain has grown); 0 turns the schedule off")

    max_body_bytes = Int(Limits.max_body_bytes, config=True,
                         help="Largest request body (bytes) the REST API accepts; larger ones are "
                              "a 413 with a one-line message")
    json_max_body_bytes = Int(Limits.json_max_body_bytes, config=True,
                              help="Largest JSON request body (bytes) on routes that declare no more of their "
                                   "own (publish, cards, monitoring reports and monitors take up to 17 MiB: a "
                                   "16 MiB baseline); larger ones are a 413 before the body is read")
    json_max_containers = Int(Limits.json_max_containers, config=True,
                              help="Most JSON arrays and objects one request body may hold, counted before "
                                   "it is parsed (each costs ~70 bytes of memory for 2 of the body; 413 beyond)")
    body_memory_per_user = Int(Limits.body_memory_per_user, config=True,
                               help="Request body bytes one user may have arriving at once, over all their "
                                    "connections (charged as they arrive, plus one 64 KiB read each); beyond, a 503")
    body_memory_total = Int(Limits.body_memory_total, config=True,
                            help="Request body bytes all users may have arriving at once; large bodies take at "
                                 "most three quarters, the rest is kept for small JSON bodies (one per user); "
                                 "beyond, a 503")
    bodies_per_user = Int(Limits.bodies_per_user, config=True,
                          help="Request bodies one user may send at once, over all their connections (each "
                               "may hold one 64 KiB read not yet charged to body_memory_per_user); beyond, a 503")
    stream_per_user = Int(Limits.stream_per_user, config=True,
                          help="Responses streamed to one user at once (dataset, model and file downloads, "
                               "use, audit exports); beyond, a 503 at once")
    stream_max = Int(Limits.stream_max, config=True,
                     help="Responses streamed at once, all users together (more wait up to decode_wait "
                          "seconds, then a 503)")
    stream_min_rate = Int(Limits.stream_min_rate, config=True,
                          help="Bytes per second a streamed response's reader must take, averaged over "
                               "stream_rate_window seconds of waiting on it; a slower reader is dropped "
                               "(it resumes with a new request). 0: no minimum")
    stream_rate_window = Float(Limits.stream_rate_window, config=True,
                               help="Seconds of waiting on a reader over which stream_min_rate is averaged "
                                    "(also the grace before it applies)")
    stream_max_lease = Float(Limits.stream_max_lease, config=True,
                             help="While others wait for a slot, a streamed response (download, use read, "
                                  "audit export) of the user holding the most above a fair share is cut once it "
                                  "ran 5 s or this many seconds if shorter, whatever its age (its reader resumes "
                                  "where it was); a waiter's own older stream past this. 0: never cut")
    decode_reserved = Int(Limits.decode_reserved, config=True,
                          help="Decode workers that use reads never take: kept for publish, register, capture "
                               "and ground truth (reads hold at most decode_workers - decode_reserved, at least 1)")
    publish_max_rows = Int(Limits.publish_max_rows, config=True,
                           help="Most rows a published Parquet file may hold (413 beyond)")
    publish_max_decoded_bytes = Int(Limits.publish_max_decoded_bytes, config=True,
                                    help="Most bytes a published Parquet file may decompress to (413 beyond)")
    upload_max_bytes = Int(Limits.upload_max_bytes, config=True,
                           help="Most bytes one upload (all its parts) may hold, and one user's unfinished "
                                "uploads together (413 beyond). Default 16 GiB: a quarter of the default "
                                "staging_max_bytes, so one user cannot fill the staging area; larger data "
                                "is registered where it lives (external locations)")
    staging_max_bytes = Int(Limits.staging_max_bytes, config=True,
                            help="Most bytes all users' unfinished uploads may hold together in the "
                                 "staging directory (413 beyond)")
    staging_min_free_bytes = Int(Limits.staging_min_free_bytes, config=True,
                                 help="Free bytes a part may not take the staging disk below (413 beyond)")
    decode_max_memory = Int(Limits.decode_max_memory, config=True,
                            help="Most bytes a worker process decoding user-supplied Parquet (describe at "
                                 "publish and register, every scan for use) may allocate; beyond it the call is "
                                 "a 413 and the service's own memory does not move (min 64 MiB)")
    decode_workers = Int(Limits.decode_workers, config=True,
                         help="Decode worker processes at once, all users together (more calls wait up to "
                              "decode_wait seconds)")
    decode_per_user = Int(Limits.decode_per_user, config=True,
                          help="Decode workers one user may hold or wait for at once (publish, register, "
                               "use, capture); beyond, a 503 'you already have N reads in progress'")
    decode_wait = Float(Limits.decode_wait, config=True,
                        help="Seconds a call waits for a free decode worker before a 503 'busy decoding'")
    decode_drain_seconds = Float(Limits.decode_drain_seconds, config=True,
                                 help="Seconds a use's reader may take no data before its read is dropped "
                                      "(worker freed, connection closed)")
    decode_timeout = Float(Limits.decode_timeout, config=True,
                           help="Seconds of CPU one describe (publish, register) may use in its worker "
                                "(413 beyond)")
    upload_part_bytes = Int(Limits.upload_part_bytes, config=True,
                            help="Bytes per part clients send (kept at most max_body_bytes)")
    export_max_chars = Int(Limits.export_max_chars, config=True,
                           help="Most characters of card content a PDF export renders (400 beyond)")
    export_max_rows = Int(Limits.export_max_rows, config=True,
                          help="Most table rows (metrics, hyperparameters, details) a PDF export renders")
    export_max_charts = Int(Limits.export_max_charts, config=True,
                            help="Most charts a PDF export renders")
    export_timeout = Float(Limits.export_timeout, config=True,
                           help="Seconds a PDF export may take in its worker process before it is "
                                "stopped (503)")
    export_workers = Int(Limits.export_workers, config=True,
                         help="PDF exports rendered at a time, each in its own process, on threads "
                              "apart from those that serve other calls")

    search_workers = Int(Limits.search_workers, config=True,
                         help="Threads of their own that serve catalog searches, one a user at a time "
                              "(one more is kept for users who searched little in the last seconds)")
    search_loop_ms = Float(Limits.search_loop_ms, config=True,
                           help="SQLite store: milliseconds a search may run on the server's event loop "
                                "(no thread hand-over); one that runs longer is stopped and run again on "
                                "the search threads. 0: every search on the threads")

    smtp_host = Unicode("", config=True, help="SMTP server that sends notification emails (empty: email "
                                              "channels stay pending and their log says why)")
    smtp_port = Int(25, config=True, help="SMTP port")
    smtp_from = Unicode("mlgov@localhost", config=True, help="From address of notification emails")
    smtp_starttls = Bool(False, config=True, help="Upgrade the SMTP connection with STARTTLS")
    smtp_user = Unicode("", config=True, help="SMTP login user (empty: no login)")
    smtp_password = Unicode("", config=True, help="SMTP login password")
    webhook_allowed_hosts = List(Unicode(), config=True,
                                 help="Host names, addresses or networks (10.0.0.0/8) webhook targets may "
                                      "resolve to although private, loopback or link-local (refused by "
                                      "default: the service must not be a way into its own network). The "
                                      "hub's and this server's own endpoints stay refused.")
    email_domains = List(Unicode(), config=True,
                         help="Domains email channels may send to (empty: any, except under "
                              "email_domains_required)")
    email_domains_required = Bool(config=True,
                                  help="Refuse email channels while email_domains is empty (default: on "
                                       "for mlgov serve, the team service, whose SMTP relay would otherwise "
                                       "send users' event subjects to any outside address; off on a "
                                       "personal server)")
    delivery_workers = Int(4, config=True,
                           help="Deliveries (webhooks, emails) sent at a time; at most one at a time to "
                                "one person's channels")
    delivery_interval = Float(5.0, config=True, help="Seconds between runs of the delivery job (0: no job)")
    delivery_timeout = Float(5.0, config=True, help="Seconds one webhook request or SMTP conversation may take")
    delivery_max_attempts = Int(5, config=True, help="Attempts per delivery before it is failed")
    delivery_backoff = Float(30.0, config=True,
                             help="Seconds before a failed delivery's second attempt; doubled for each next one")
    grant_expiry_notice_days = Float(3.0, config=True,
                                     help="Tell grantees this many days before their grant ends (grant.expiring)")
    grant_expiry_check_interval = Float(86400.0, config=True,
                                        help="Seconds between runs of the grant expiry notice job (0: no job)")
    notification_retention_days = Float(90.0, config=True,
                                        help="Read notifications and finished deliveries older than this are "
                                             "deleted by the daily job (unread and pending ones stay)")

    card_organisation = Unicode("", config=True,
                                help="Organisation name printed at the top of exported model cards (PDF, HTML)")
    card_logo = Unicode("", config=True,
                        help="Logo (PNG, JPEG, GIF or SVG file, at most 512 kB) printed beside card_organisation "
                             "on exported model cards")

    @observe("card_organisation", "card_logo")
    def _card_branding(self, change):
        # the card renderer (and its PDF worker processes, and kernels started from here) read these
        os.environ["MLGOV_CARD_" + ("ORGANISATION" if change["name"] == "card_organisation" else "LOGO")] = \
            change["new"]

    @validate("card_logo")
    def _check_card_logo(self, proposal):
        path = proposal["value"]
        if path and not os.path.isfile(os.path.expanduser(path)):
            raise TraitError(f"card_logo {path!r}: no such file")
        return path

    def limits(self) -> Limits:
        """Every field of ``Limits`` that has a trait of the same name, from that trait."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(Limits) if self.has_trait(f.name)}
        values["upload_part_bytes"] = min(self.upload_part_bytes, self.max_body_bytes)
        return Limits(**values)

    @default("data_dir")
    def _data_dir_default(self):
        from jupyter_core.paths import jupyter_data_dir

        return os.path.join(jupyter_data_dir(), "mlgov")

    @default("email_domains_required")
    def _email_domains_required_default(self):
        from .serve import MlgovServe

        return isinstance(self, MlgovServe)

    @validate("decode_max_memory")
    def _check_decode_memory(self, proposal):
        if proposal["value"] < 64 << 20:
            raise TraitError("decode_max_memory must be at least 64 MiB (67108864)")
        return proposal["value"]

    @validate("json_max_body_bytes", "json_max_containers", "body_memory_per_user", "body_memory_total",
              "bodies_per_user", "stream_per_user", "stream_max")
    def _check_positive(self, proposal):
        if proposal["value"] < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1")
        return proposal["value"]

    @validate("stream_min_rate", "decode_reserved", "stream_max_lease")
    def _check_not_negative(self, proposal):
        if proposal["value"] < 0:
            raise TraitError(f"{proposal['trait'].name} must be at least 0")
        return proposal["value"]

    @validate("stream_rate_window")
    def _check_window(self, proposal):
        if not proposal["value"] > 0:
            raise TraitError("stream_rate_window must be more than 0 seconds")
        return proposal["value"]

    @validate("decode_workers", "decode_per_user")
    def _check_decode_counts(self, proposal):
        if proposal["value"] < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1")
        return proposal["value"]

    @validate("decode_wait", "decode_drain_seconds", "decode_timeout")
    def _check_decode_seconds(self, proposal):
        if not proposal["value"] > 0:
            raise TraitError(f"{proposal['trait'].name} must be more than 0 seconds")
        return proposal["value"]

    @validate("presigned_url_seconds")
    def _check_presigned_seconds(self, proposal):
        if not 1 <= proposal["value"] <= 3600:
            raise TraitError("presigned_url_seconds must be between 1 and 3600")
        return proposal["value"]

    @validate("alert_evaluation_period", "alert_datapoints_to_alert")
    def _check_alert_rule(self, proposal):
        if not 1 <= proposal["value"] <= 100:
            raise TraitError(f"{proposal['trait'].name} must be between 1 and 100")
        return proposal["value"]

    def delivery_config(self, *own_urls: str):
        """The DeliveryConfig of these settings; the hub's URLs (from the environment) and
        ``own_urls`` are endpoints webhooks never reach."""
        from ..service.notifications import DeliveryConfig, endpoints

        urls = [os.environ.get(v, "") for v in ("JUPYTERHUB_API_URL", "JUPYTERHUB_SERVICE_URL",
                                                "JUPYTERHUB_PUBLIC_URL", "JUPYTERHUB_PUBLIC_HUB_URL")]
        return DeliveryConfig(
            webhook_allowed_hosts=tuple(self.webhook_allowed_hosts), own_endpoints=endpoints(*urls, *own_urls),
            email_domains=tuple(self.email_domains), email_domains_required=self.email_domains_required,
            workers=max(1, self.delivery_workers), smtp_host=self.smtp_host, smtp_port=self.smtp_port,
            smtp_from=self.smtp_from, smtp_starttls=self.smtp_starttls, smtp_user=self.smtp_user,
            smtp_password=self.smtp_password, timeout=self.delivery_timeout,
            max_attempts=max(1, self.delivery_max_attempts), backoff=max(0.0, self.delivery_backoff),
            grant_notice_days=self.grant_expiry_notice_days, retention_days=self.notification_retention_days)

    def build_service(self) -> GovernanceService:
        """The service over its store, with its audit anchor. Raises TraitError on bad settings."""
        from ..store.db import Store

        if self.alert_datapoints_to_alert > self.alert_evaluation_period:
            raise TraitError("alert_datapoints_to_alert cannot exceed alert_evaluation_period")
        folder = private_dir(Path(self.data_dir))
        store = Store(self.db_url or f"sqlite:///{folder / 'mlgov.sqlite'}")
        anchor = AuditAnchor(Path(self.audit_key_file or folder / KEY_FILE),
                             Path(self.audit_checkpoint_dir or folder / CHECKPOINT_DIR))
        try:
            objects = ObjectStore(self.objects_url or str(folder / "objects"), staging=folder / "uploads",
                                  options=self.objects_options)
        except (ValueError, OSError) as exc:
            raise TraitError(f"objects_url {self.objects_url!r}: {exc}") from None
        service = self.service_class(store=store, authorizer=self.authorizer_class() if self.authorizer_class else None,
                                  unassigned=self.unassigned_users, admin_users=frozenset(self.admin_users),
                                  alert_evaluation_period=self.alert_evaluation_period,
                                  alert_datapoints=self.alert_datapoints_to_alert,
                                  monitor_max_age_days=self.monitor_max_age_days, anchor=anchor,
                                  limits=self.limits(), objects=objects,
                                  external=ExternalLocations(self.external_locations, private=self._private_paths(folder, store)))
        service.delivery_config = self.delivery_config()
        for name in SERVICE_TRAITS:
            setattr(service, name, getattr(self, name))
        return service

    def _private_paths(self, folder: Path, store) -> tuple:
        """Every path of the service's own that registered data must never reach: its data dir,
        a SQLite store (with its -wal/-shm) elsewhere, the audit key and checkpoints, a local
        object store."""
        paths = [str(folder)]
        if store.is_sqlite and store.engine.url.database:
            db = os.path.abspath(store.engine.url.database)
            paths += [db, db + "-wal", db + "-shm", db + "-journal"]
        paths += [p for p in (self.audit_key_file, self.audit_checkpoint_dir) if p]
        if self.objects_url and "://" not in self.objects_url:
            paths.append(self.objects_url)
        return tuple(os.path.abspath(os.path.expanduser(p)) for p in paths)

    def start_jobs(self, service: GovernanceService):
        """A checkpoint now (it covers events written before this key signed each event: a store
        from an older release), then the scheduler with every job module's jobs (jobs/scheduler.py)."""
        from ..jobs import run_checkpoint, start_scheduler

        run_checkpoint(service)
        return start_scheduler(service, self)
