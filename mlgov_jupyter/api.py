"""The REST API as data: each route names its method, path, inputs and the service call.

The server builds its handlers and OpenAPI document from ROUTES; the in-process client
dispatches the same table, so a request means the same thing with or without a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import ValidationError

from .core import authz as az
from .core import json_text
from .core import models as m
from .core.errors import Invalid, NotFound, TooLarge

BASE = "api/mlgov/"
ID = r"(?P<id>[0-9]{1,18})"
MAX_ID = m.MAX_NUMBER  # ids are 32-bit integers in the store
# JSON bodies that legitimately carry documents: a monitor's baseline (at most 16 MiB:
# service/monitors.py MAX_BASELINE_BYTES) with its envelope, inline content_b64 publishes, cards,
# monitoring reports. Other JSON routes take json_max_body_bytes (1 MiB by default).
LARGE_JSON = 17 << 20
NAME = r"(?P<name>[^/]{1,256})"
USER = r"(?P<user>[^/]{1,256})"
UPLOAD = r"(?P<upload>[0-9a-f]{32})"
FILTER = r"(?P<filter>[^/]{1,256})"
REVISION = r"(?P<revision>[0-9]{1,9})"
ALIAS = r"(?P<alias>[^/]{1,256})"


@dataclass(frozen=True)
class Route:
    resource: str  # auth_resource suffix and handler name
    method: str
    path: str  # regex below BASE
    summary: str
    call: Callable[..., Any]  # (service, actor, path_args, query, body) -> dict | (meta, bytes)
    query: type | None = None
    body: type | None = None
    binary: bool = False  # the result is (meta, bytes or an iterator of bytes)
    raw: bool = False  # the body is bytes as sent (application/octet-stream), not JSON
    # a raw body the HTTP hosts received in chunks is passed as their list, not joined (an upload
    # part is written chunk by chunk: no copy of 16 MiB per part on the event loop)
    chunks: bool = False
    # bytes this route's JSON body may hold when more than json_max_body_bytes (the HTTP hosts
    # refuse a larger one with 413 before reading it); None: json_max_body_bytes
    json_bytes: int | None = None
    # (service, actor, path_args) -> None, raising as the call would (NotFound, Forbidden): asked
    # by the HTTP hosts once the headers are in, before a raw body is read (an upload that is not
    # the caller's, a deployment they may not capture into: refused without reading megabytes)
    precheck: Callable[..., Any] | None = None
    status: int = 200
    action: str | None = None  # the policy action decided; None: open to every signed-in user
    scoped: bool = True  # decided on the resource's project (False: no project, e.g. roles)


def _int(args: dict, key: str = "id") -> int:
    value = int(args[key])
    if value > MAX_ID:
        raise NotFound(f"no record with id {value}")
    return value


ROUTES: list[Route] = [
    Route("whoami", "GET", "whoami", "The acting user, admin flag and project designations",
          lambda svc, a, p, q, b: svc.whoami(a)),
    Route("projects", "GET", "projects", "List projects with members",
          lambda svc, a, p, q, b: svc.list_projects(a),
          action=az.PROJECT_READ, scoped=False),
    Route("projects", "POST", "projects", "Create a project; the caller becomes its owner",
          lambda svc, a, p, q, b: svc.create_project(a, b), body=m.ProjectCreate, status=201,
          action=az.PROJECT_CREATE, scoped=False),
    Route("members", "POST", f"projects/{NAME}/members", "Add a member or change a designation",
          lambda svc, a, p, q, b: svc.set_member(a, p["name"], b), body=m.MemberSet,
          action=az.PROJECT_MANAGE),
    Route("member", "DELETE", f"projects/{NAME}/members/{USER}",
          "Remove a member (a project keeps at least one owner)",
          lambda svc, a, p, q, b: svc.remove_member(a, p["name"], p["user"]),
          action=az.PROJECT_MANAGE),
    Route("assets", "GET", "assets", "Search the catalog (full text, filters, facets, pages)",
          lambda svc, a, p, q, b: svc.search(a, q), query=m.SearchQuery,
          action=az.CATALOG_SEARCH, scoped=False),
    Route("assets", "POST", "assets", "Publish a dataset, model or feature group (new revision if it exists)",
          lambda svc, a, p, q, b: svc.publish(a, b), body=m.Publish, status=201, json_bytes=LARGE_JSON,
          action=az.CATALOG_PUBLISH),
    Route("asset", "GET", f"assets/{NAME}", "Asset detail: schema, summary, owner, revisions, access",
          lambda svc, a, p, q, b: svc.get_asset(a, p["name"]),
          action=az.CATALOG_READ),
    Route("data", "GET", f"assets/{NAME}/data",
          "The asset's content, for its project or a grant holder: a dataset as an Arrow IPC stream "
          "(columns and row filter pushed down) or its Parquet file; a model or file as stored",
          lambda svc, a, p, q, b: svc.read_data(a, p["name"], q.revision, columns=q.columns,
                                                row_filter=q.filter, form=q.format, start=q.start,
                                                offset=q.offset),
          query=m.DataQuery, binary=True, action=az.CATALOG_CONSUME),
    Route("urls", "GET", f"assets/{NAME}/urls",
          "Presigned URLs (short-lived) to a dataset revision's Parquet files, for those who may read it "
          "whole, when the server vends them (presigned_urls; S3 object store); audited",
          lambda svc, a, p, q, b: svc.presigned_urls_for(a, p["name"], q.revision, q.expires),
          query=m.PresignQuery, action=az.CATALOG_CONSUME),
    Route("filters", "GET", f"assets/{NAME}/filters", "A dataset's asset filters (named column and row scopes)",
          lambda svc, a, p, q, b: svc.list_filters(a, p["name"]), action=az.CATALOG_READ),
    Route("filters", "POST", f"assets/{NAME}/filters",
          "Define an asset filter: columns and/or a row filter a grant can be scoped to (owners, stewards)",
          lambda svc, a, p, q, b: svc.create_filter(a, p["name"], b), body=m.AssetFilterCreate, status=201,
          action=az.CATALOG_DECIDE),
    Route("filter", "DELETE", f"assets/{NAME}/filters/{FILTER}",
          "Delete an asset filter no active grant or pending request uses (owners, stewards)",
          lambda svc, a, p, q, b: svc.delete_filter(a, p["name"], p["filter"]), action=az.CATALOG_DECIDE),
    # lifecycle (service/lifecycle.py)
    Route("deprecation", "POST", f"assets/{NAME}/deprecation",
          "Deprecate an asset with a reason and optional replacement: hidden from search unless "
          "include_deprecated, still readable by holders, use warns (owners, stewards; audited)",
          lambda svc, a, p, q, b: svc.deprecate_asset(a, p["name"], b), body=m.AssetDeprecate,
          action=az.CATALOG_DECIDE),
    Route("deprecation", "DELETE", f"assets/{NAME}/deprecation", "Lift an asset's deprecation (owners, stewards)",
          lambda svc, a, p, q, b: svc.undeprecate_asset(a, p["name"]), action=az.CATALOG_DECIDE),
    Route("unpublish", "POST", f"assets/{NAME}/unpublish",
          "Unpublish an asset for good (owners): grants end, pending requests close, content no other "
          "asset shares is deleted; its name, revisions' metadata and audit trail stay",
          lambda svc, a, p, q, b: svc.unpublish_asset(a, p["name"], b), body=m.AssetUnpublish,
          action=az.CATALOG_REVOKE),
    Route("uploads", "POST", "uploads", "Start an upload of content to publish as the named asset",
          lambda svc, a, p, q, b: svc.start_upload(a, b), body=m.UploadStart, status=201,
          action=az.CATALOG_PUBLISH),
    # an upload is its starter's only (starting one needs the right to publish that asset)
    Route("upload", "PUT", f"uploads/{UPLOAD}", "Append a part (raw bytes) at ?offset= to an upload",
          lambda svc, a, p, q, b: svc.append_upload(a, p["upload"], q.offset, b), query=m.UploadPart,
          raw=True, chunks=True, action=None, precheck=lambda svc, a, p: svc.upload_status(a, p["upload"])),
    Route("upload", "GET", f"uploads/{UPLOAD}", "How many bytes an upload holds (to resume it)",
          lambda svc, a, p, q, b: svc.upload_status(a, p["upload"]), action=None),
    Route("upload", "DELETE", f"uploads/{UPLOAD}", "Abort an upload",
          lambda svc, a, p, q, b: svc.abort_upload(a, p["upload"]), action=None),
    Route("requests", "GET", "requests", "Access requests: mine, or incoming for projects I own",
          lambda svc, a, p, q, b: svc.list_requests(a, q), query=m.RequestQuery),
    Route("requests", "POST", "requests", "Request access to an asset with a reason",
          lambda svc, a, p, q, b: svc.request_access(a, b), body=m.AccessRequestCreate, status=201,
          action=az.CATALOG_SUBSCRIBE),
    Route("approve", "POST", f"requests/{ID}/approve", "Accept a request: creates subscription and grant",
          lambda svc, a, p, q, b: svc.decide(a, _int(p), b, accept=True), body=m.Decision,
          action=az.CATALOG_DECIDE),
    Route("reject", "POST", f"requests/{ID}/reject", "Reject a request",
          lambda svc, a, p, q, b: svc.decide(a, _int(p), b, accept=False), body=m.Decision,
          action=az.CATALOG_DECIDE),
    Route("subscriptions", "GET", "subscriptions", "Subscriptions: mine, or incoming for projects I own",
          lambda svc, a, p, q, b: svc.list_subscriptions(a, q), query=m.SubscriptionQuery),
    Route("revoke", "POST", f"subscriptions/{ID}/revoke", "Revoke a subscription and its grant",
          lambda svc, a, p, q, b: svc.end_subscription(a, _int(p), revoke=True), body=m.Empty,
          action=az.CATALOG_REVOKE),
    Route("cancel", "POST", f"subscriptions/{ID}/cancel", "Cancel my own subscription",
          lambda svc, a, p, q, b: svc.end_subscription(a, _int(p), revoke=False), body=m.Empty),
    Route("cards", "GET", "cards", "Model cards: model, status, risk rating, version, last change",
          lambda svc, a, p, q, b: svc.list_cards(a, q), query=m.CardListQuery,
          action=az.CARD_READ, scoped=False),
    Route("cards", "POST", "cards", "Create a model card (version 1, Draft) for a model asset",
          lambda svc, a, p, q, b: svc.create_card(a, b), body=m.CardCreate, status=201, json_bytes=LARGE_JSON,
          action=az.CARD_CREATE),
    Route("card", "GET", f"cards/{NAME}", "A card version (default: latest) with its versions",
          lambda svc, a, p, q, b: svc.get_card(a, p["name"], q.version), query=m.CardQuery,
          action=az.CARD_READ),
    Route("card", "PUT", f"cards/{NAME}", "Change the content: makes a new immutable Draft version",
          lambda svc, a, p, q, b: svc.update_card(a, p["name"], b), body=m.CardUpdate, json_bytes=LARGE_JSON,
          action=az.CARD_EDIT),
    Route("transition", "POST", f"cards/{NAME}/transition",
          "Submit, approve, send back or archive the latest version",
          lambda svc, a, p, q, b: svc.transition_card(a, p["name"], b), body=m.CardTransition,
          action=az.CARD_APPROVE),
    Route("diff", "GET", f"cards/{NAME}/diff", "What changed between two versions",
          lambda svc, a, p, q, b: svc.card_diff(a, p["name"], q), query=m.CardDiffQuery,
          action=az.CARD_READ),
    Route("export", "GET", f"cards/{NAME}/export", "A version as HTML, PDF, SageMaker JSON or Markdown",
          lambda svc, a, p, q, b: svc.export_card(a, p["name"], q), query=m.CardExportQuery,
          binary=True,
          action=az.CARD_READ),
    Route("executions", "GET", f"models/{NAME}/executions", "A model's monitoring history, newest first",
          lambda svc, a, p, q, b: svc.list_executions(a, p["name"], q), query=m.ExecutionQuery,
          action=az.MONITOR_READ),
    Route("executions", "POST", f"models/{NAME}/executions", "Store a monitoring check of a model",
          lambda svc, a, p, q, b: svc.record_execution(a, p["name"], b), body=m.ExecutionCreate,
          status=201, json_bytes=LARGE_JSON,
          action=az.MONITOR_RUN),
    Route("execution", "GET", f"models/{NAME}/executions/{ID}", "One execution with its full report",
          lambda svc, a, p, q, b: svc.get_execution(a, p["name"], _int(p)),
          action=az.MONITOR_READ),
    Route("execution", "DELETE", f"models/{NAME}/executions/{ID}",
          "Delete one execution (owners and stewards of the model's project; audited)",
          lambda svc, a, p, q, b: svc.delete_execution(a, p["name"], _int(p)),
          action=az.MONITOR_MANAGE),
    Route("ack", "POST", f"models/{NAME}/alerts/ack", "Acknowledge a model's alert with a comment",
          lambda svc, a, p, q, b: svc.acknowledge_alert(a, p["name"], b), body=m.Decision,
          action=az.ALERT_ACK),
    Route("modelversions", "GET", f"models/{NAME}/versions",
          "A model's revisions: approval status and history, aliases and their moves, cards describing each",
          lambda svc, a, p, q, b: svc.model_versions(a, p["name"]), action=az.CATALOG_READ),
    Route("modelapprove", "POST", f"models/{NAME}/versions/{REVISION}/approve",
          "Approve a model revision with a comment (owners, stewards; not its publisher)",
          lambda svc, a, p, q, b: svc.decide_model(a, p["name"], int(p["revision"]), b, approve=True),
          body=m.ModelDecision, action=az.CARD_APPROVE),
    Route("modelreject", "POST", f"models/{NAME}/versions/{REVISION}/reject",
          "Reject a model revision with a comment (owners, stewards; not its publisher)",
          lambda svc, a, p, q, b: svc.decide_model(a, p["name"], int(p["revision"]), b, approve=False),
          body=m.ModelDecision, action=az.CARD_APPROVE),
    Route("modelalias", "PUT", f"models/{NAME}/aliases/{ALIAS}",
          "Point an alias (champion, challenger, ...) at a model revision (owners, stewards; history kept)",
          lambda svc, a, p, q, b: svc.set_alias(a, p["name"], p["alias"], b), body=m.AliasSet,
          action=az.CATALOG_DECIDE),
    Route("projectsettings", "GET", f"projects/{NAME}/settings", "A project's governance settings",
          lambda svc, a, p, q, b: svc.project_settings(a, p["name"]), action=az.PROJECT_READ),
    Route("projectsettings", "PUT", f"projects/{NAME}/settings",
          "Set a project's model_approval: off, warn or refuse (owners; audited)",
          lambda svc, a, p, q, b: svc.set_project_settings(a, p["name"], b), body=m.ProjectSettings,
          action=az.PROJECT_MANAGE),
    # deployments, their captured data, stored monitors, alerts (issue 11)
    Route("deployments", "GET", "deployments", "Deployments: model revision, status, captured rows",
          lambda svc, a, p, q, b: svc.deployments(a), action=az.MONITOR_READ, scoped=False),
    Route("deployments", "POST", "deployments",
          "Deploy a model revision (records the endpoint and its capture dataset <name>-capture)",
          lambda svc, a, p, q, b: svc.deploy(a, b), body=m.DeploymentCreate, status=201,
          action=az.MONITOR_MANAGE),
    Route("deployment", "GET", f"deployments/{NAME}", "A deployment with its monitors",
          lambda svc, a, p, q, b: svc.get_deployment(a, p["name"]), action=az.MONITOR_READ),
    Route("deployment", "PATCH", f"deployments/{NAME}", "Change a deployment's status or model revision",
          lambda svc, a, p, q, b: svc.update_deployment(a, p["name"], b), body=m.DeploymentUpdate,
          action=az.MONITOR_MANAGE),
    Route("capture", "POST", f"deployments/{NAME}/capture",
          "Append a batch of captured inferences (a Parquet file with an inference_id column)",
          lambda svc, a, p, q, b: svc.append_capture(a, p["name"], "inference", b), raw=True, status=201,
          action=az.CATALOG_PUBLISH, precheck=lambda svc, a, p: svc.check_capture(a, p["name"])),
    Route("groundtruth", "POST", f"deployments/{NAME}/ground-truth",
          "Append ground truth (a Parquet file: inference_id and the label), joined to inferences by id",
          lambda svc, a, p, q, b: svc.append_capture(a, p["name"], "ground_truth", b), raw=True, status=201,
          action=az.CATALOG_PUBLISH, precheck=lambda svc, a, p: svc.check_capture(a, p["name"], "ground_truth")),
    Route("monitors", "GET", "monitors", "Stored monitors with status, schedule, last run, alert state",
          lambda svc, a, p, q, b: svc.monitors(a, q.deployment), query=m.MonitorQuery,
          action=az.MONITOR_READ, scoped=False),
    Route("monitors", "POST", "monitors",
          "Create a monitor (type, deployment or model and dataset, baseline, schedule, thresholds)",
          lambda svc, a, p, q, b: svc.create_monitor(a, b), body=m.MonitorCreate, status=201, json_bytes=LARGE_JSON,
          action=az.MONITOR_MANAGE),
    Route("monitor", "GET", f"monitors/{NAME}",
          "A monitor with its executions (window, timing, metrics over time) and alerts",
          lambda svc, a, p, q, b: svc.get_monitor(a, p["name"], q.limit), query=m.MonitorDetailQuery,
          action=az.MONITOR_READ),
    Route("monitor", "DELETE", f"monitors/{NAME}", "Delete a monitor (its executions stay in the history)",
          lambda svc, a, p, q, b: svc.delete_monitor(a, p["name"]), action=az.MONITOR_MANAGE),
    Route("monitorstart", "POST", f"monitors/{NAME}/start", "Start a monitor's schedule",
          lambda svc, a, p, q, b: svc.set_monitor_active(a, p["name"], True), body=m.Empty,
          action=az.MONITOR_MANAGE),
    Route("monitorstop", "POST", f"monitors/{NAME}/stop", "Stop a monitor's schedule",
          lambda svc, a, p, q, b: svc.set_monitor_active(a, p["name"], False), body=m.Empty,
          action=az.MONITOR_MANAGE),
    Route("monitorrun", "POST", f"monitors/{NAME}/run", "Run a monitor now; returns its execution",
          lambda svc, a, p, q, b: svc.run_monitor(a, p["name"]), body=m.Empty,
          action=az.MONITOR_MANAGE),
    Route("alerts", "GET", "alerts", "Alert episodes (violation, missing, inactive): open first",
          lambda svc, a, p, q, b: svc.alerts(a, q), query=m.AlertQuery, action=az.MONITOR_READ, scoped=False),
    Route("alertack", "POST", f"alerts/{ID}/ack", "Acknowledge an alert with a comment",
          lambda svc, a, p, q, b: svc.acknowledge(a, _int(p), b), body=m.Decision, action=az.ALERT_ACK),
    Route("dashboard", "GET", "dashboard", "Every model: card status, latest check, alert state",
          lambda svc, a, p, q, b: svc.dashboard(a),
          action=az.MONITOR_READ, scoped=False),
    Route("rolecatalog", "GET", "roles/catalog", "ML activities, personas, guardrails and project profiles",
          lambda svc, a, p, q, b: svc.role_catalog(a),
          action=az.ROLE_READ, scoped=False),
    Route("rolepreview", "POST", "roles/preview", "The mlgov policy and AWS IAM export of a role, unsaved",
          lambda svc, a, p, q, b: svc.preview_role(a, b), body=m.RoleBody,
          action=az.ROLE_READ, scoped=False),
    Route("roles", "GET", "roles", "Roles with their assignments",
          lambda svc, a, p, q, b: svc.list_roles(a),
          action=az.ROLE_READ, scoped=False),
    Route("roles", "POST", "roles", "Create a role (admins)",
          lambda svc, a, p, q, b: svc.save_role(a, b), body=m.RoleBody, status=201,
          action=az.ROLE_MANAGE, scoped=False),
    Route("role", "GET", f"roles/{NAME}", "A role with its mlgov policy and IAM export",
          lambda svc, a, p, q, b: svc.get_role(a, p["name"]),
          action=az.ROLE_READ, scoped=False),
    Route("role", "PUT", f"roles/{NAME}", "Replace a role (admins)",
          lambda svc, a, p, q, b: svc.save_role(a, b, name=p["name"]), body=m.RoleBody,
          action=az.ROLE_MANAGE, scoped=False),
    Route("role", "DELETE", f"roles/{NAME}", "Delete an unassigned role (admins)",
          lambda svc, a, p, q, b: svc.delete_role(a, p["name"]),
          action=az.ROLE_MANAGE, scoped=False),
    Route("assignments", "GET", "assignments", "Who holds which role, in which projects",
          lambda svc, a, p, q, b: svc.list_assignments(a),
          action=az.ROLE_READ, scoped=False),
    Route("assignments", "POST", "assignments", "Give a role to a user or group (admins)",
          lambda svc, a, p, q, b: svc.assign(a, b), body=m.AssignmentCreate, status=201,
          action=az.ROLE_MANAGE, scoped=False),
    Route("assignment", "DELETE", f"assignments/{ID}", "Take a role assignment away (admins)",
          lambda svc, a, p, q, b: svc.unassign(a, _int(p)),
          action=az.ROLE_MANAGE, scoped=False),
    Route("profiles", "POST", "projects/from-profile", "Create a governed project from a profile (admins)",
          lambda svc, a, p, q, b: svc.create_project_from_profile(a, b), body=m.ProjectFromProfile,
          status=201,
          action=az.ROLE_MANAGE, scoped=False),
    Route("audit", "GET", "audit", "Audit events newest first: filters, next_before pages back",
          lambda svc, a, p, q, b: svc.audit_events(a, q), query=m.AuditQuery,
          action=az.AUDIT_READ, scoped=False),
    Route("auditexport", "GET", "audit/export", "Audit events oldest first as JSON Lines (same filters)",
          lambda svc, a, p, q, b: svc.audit_export(a, q), query=m.AuditExportQuery, binary=True,
          action=az.AUDIT_READ, scoped=False),
    Route("verify", "GET", "audit/verify", "Verify the audit hash chain; names the first broken event",
          lambda svc, a, p, q, b: svc.audit_verify(a), action=az.AUDIT_VERIFY, scoped=False),
    Route("checkpoints", "GET", "audit/checkpoints", "Signed checkpoints of the audit chain, newest first",
          lambda svc, a, p, q, b: svc.list_checkpoints(a, q), query=m.CheckpointQuery,
          action=az.AUDIT_READ, scoped=False),
    Route("checkpoints", "POST", "audit/checkpoints", "Sign a checkpoint of the audit chain now (admins)",
          lambda svc, a, p, q, b: svc.audit_checkpoint(a), body=m.Empty,
          action=az.ROLE_MANAGE, scoped=False),
    Route("public_key", "GET", "audit/public-key", "The Ed25519 public key that verifies audit checkpoints",
          lambda svc, a, p, q, b: svc.audit_public_key(a)),
    # notifications and channels: each person's own (the service checks ownership)
    Route("notifications", "GET", "notifications",
          "My notifications, unread first then newest; unread count; after= for polling",
          lambda svc, a, p, q, b: svc.notifications(a, q), query=m.NotificationQuery),
    Route("notificationsread", "POST", "notifications/read", "Mark my notifications read (ids, or all)",
          lambda svc, a, p, q, b: svc.mark_read(a, b), body=m.NotificationsRead),
    Route("channels", "GET", "channels", "My channels and those of projects I own (no secrets)",
          lambda svc, a, p, q, b: svc.list_channels(a)),
    Route("channels", "POST", "channels",
          "Add a webhook or email channel (mine, or a project's: its owners); a webhook's secret is shown once",
          lambda svc, a, p, q, b: svc.add_channel(a, b), body=m.ChannelCreate, status=201),
    Route("channel", "DELETE", f"channels/{ID}", "Delete one of my channels (or my project's)",
          lambda svc, a, p, q, b: svc.delete_channel(a, _int(p))),
    Route("deliveries", "GET", f"channels/{ID}/deliveries",
          "A channel's delivery log: attempts, status codes, errors (its owner only)",
          lambda svc, a, p, q, b: svc.channel_deliveries(a, _int(p), q), query=m.DeliveryQuery),
]

IGNORED_QUERY = {"token", "_xsrf"}


def parse(model: type | None, data: Any, where: str):
    """Validate input against a contract model; Invalid with one line on any problem."""
    if model is None:
        return None
    if not isinstance(data, dict):
        raise Invalid(f"{where} must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or where
        raise Invalid(f"{where} field {loc!r}: {err['msg'].removeprefix('Value error, ')}") from None


def parse_json(raw: bytes, max_containers: int | None = None) -> Any:
    """The request body; Invalid for malformed JSON, NaN/Infinity, NUL characters, deep nesting;
    TooLarge (413) for more than ``max_containers`` arrays and objects, counted by their opening
    bytes before parsing (each costs ~60-80 bytes of memory for 2: ``[[],[],...]`` would amplify
    a body ~29 times; brackets inside strings count too, which only errs on the safe side)."""
    if not raw:
        return {}
    if max_containers is not None:
        containers = raw.count(b"[") + raw.count(b"{")
        if containers > max_containers:
            raise TooLarge(f"the request body holds {containers} JSON arrays and objects; the mlgov server "
                           f"accepts at most {max_containers} (json_max_containers)")
    return json_text.loads(raw, "request body")


def query_dict(pairs: dict) -> dict:
    """Drop the auth token and cache-busters (JupyterLab appends an empty all-digit key)."""
    return {k: v for k, v in pairs.items()
            if k not in IGNORED_QUERY and not (k.isdigit() and v in ("", None))}


_COMPILED = [(r, re.compile(f"^{r.path}$")) for r in ROUTES]


def match(method: str, path: str) -> tuple[Route, dict]:
    allowed = False
    for route, rx in _COMPILED:
        found = rx.match(path)
        if found:
            allowed = True
            if route.method == method:
                return route, found.groupdict()
    raise NotFound(f"{method} {path}: " + ("method not allowed" if allowed else "no such endpoint"))


def check_path(args: dict) -> None:
    """Invalid for a name in the path (decoded: ``%00``) holding a control character: no name
    holds one, and PostgreSQL cannot even compare text holding NUL (a 500, and the denial's audit
    event failed with it: red team R17-1)."""
    for key, value in args.items():
        if isinstance(value, str) and json_text.CONTROL.search(value):
            raise Invalid(f"the {key} in the path holds a control character")


def run(route: Route, service, actor, args: dict, query: dict | None, body: Any):
    """Validate the inputs of one call and run it on the service."""
    check_path(args)
    q = parse(route.query, query_dict(query or {}), "query")
    if route.raw:
        if isinstance(body, list):  # the HTTP hosts: the chunks as received
            return route.call(service, actor, args, q, body if route.chunks else b"".join(body))
        if not isinstance(body, (bytes, bytearray)):
            raise Invalid("request body: send the part's bytes as application/octet-stream")
        return route.call(service, actor, args, q, bytes(body))
    b = parse(route.body, body if body is not None else {}, "body")
    return route.call(service, actor, args, q, b)


def dispatch(service, actor, method: str, path: str, query: dict | None = None, body: Any = None):
    """Run one API call in-process, exactly as the server would."""
    route, args = match(method, path)
    return route, run(route, service, actor, args, query, body)
