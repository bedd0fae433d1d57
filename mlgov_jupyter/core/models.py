"""The API contract: request bodies and query parameters, validated once (unknown fields,
wrong types and over-long strings are 400s). Responses are the plain dicts the service returns."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=128)]
ProjectName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
UserName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Text = Annotated[str, StringConstraints(max_length=2048)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Kind = Literal["dataset", "model", "feature_group"]
Classification = Literal["public", "internal", "confidential", "pii"]
Designation = Literal["owner", "steward", "contributor", "consumer", "viewer"]
CLASSIFICATIONS = ("public", "internal", "confidential", "pii")

# the largest revision, version or id a request may name (PostgreSQL INTEGER): a larger one is a
# 400, not an overflow in the database
MAX_NUMBER = 2**31 - 1


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2048)


class ProjectCreate(Body):
    name: ProjectName
    description: Text = ""


class MemberSet(Body):
    user: UserName
    designation: Designation


class FeatureDefinitions(Body):
    record_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    event_time: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    descriptions: dict[Annotated[str, StringConstraints(max_length=255)], Text] = {}


class Publish(Body):
    name: Name
    kind: Kind = "dataset"
    project: ProjectName | None = None
    # None (not given): a new asset gets "", [], [], "internal"; a new revision keeps what the asset has
    description: Text | None = None
    tags: list[Tag] | None = Field(None, max_length=50)
    glossary_terms: list[Tag] | None = Field(None, max_length=50)
    classification: Classification | None = None
    # external-parquet / external-csv: registered data read in place at ``location``
    format: Literal["parquet", "skops", "file", "uri", "external-parquet", "external-csv"] = "parquet"
    # the content: an upload's id (POST uploads, then its parts), or small content as base64
    upload: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] | None = None
    content_b64: Annotated[str, StringConstraints(max_length=2_000_000_000)] | None = None
    location: Text | None = None
    filename: Annotated[str, StringConstraints(max_length=255)] | None = None
    features: FeatureDefinitions | None = None


SEARCH_MAX_WORDS = 8  # words of a catalog search: FTS5 expands each into the index terms it begins


def _few_words(q: str) -> str:
    """``q`` with at most ``SEARCH_MAX_WORDS`` words, and at most twice as many tokens as FTS5 may
    split them into: runs of ASCII letters and digits (``id_col`` is two), and each other character
    that Python counts as a word character (FTS5's unicode61 splits on some of them, e.g. U+19B0:
    red team R22 F1). A search's cost grows with its tokens, each a prefix or a phrase step no
    deadline stops: at 100k assets 8 one-letter words took 9 ms, 16 took 39 ms, 100 took 0.42 s,
    and 85 tokens joined by U+19B0 in one "word" 0.34 s (R21 F2: accounts taken in turn kept the
    search threads busy with them)."""
    tokens = re.findall(r"[A-Za-z0-9]+|[^\W\x00-\x7f]", q)
    if len(re.findall(r"\w+", q)) > SEARCH_MAX_WORDS or len(tokens) > 2 * SEARCH_MAX_WORDS:
        raise ValueError(f"a search takes at most {SEARCH_MAX_WORDS} words of {2 * SEARCH_MAX_WORDS} "
                         "letter-or-digit runs (a character beyond ASCII counts as one)")
    return q


class SearchQuery(Body):
    q: Annotated[str, StringConstraints(max_length=256), AfterValidator(_few_words)] = ""
    kind: Kind | None = None
    tag: Tag | None = None
    project: ProjectName | None = None
    owner: UserName | None = None
    classification: Classification | None = None
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)
    include_deprecated: bool = False  # deprecated assets are left out unless asked for


Reason = Annotated[str, StringConstraints(min_length=1, max_length=2048, strip_whitespace=True)]


class AssetDeprecate(Body):
    """Mark an asset deprecated: why, and optionally the asset to use instead."""
    reason: Reason
    replacement: Name | None = None


class AssetUnpublish(Body):
    """Take an asset out of the catalog for good (a tombstone): why."""
    reason: Reason


class AccessRequestCreate(Body):
    asset: Name
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2048, strip_whitespace=True)]
    filter: Name | None = None  # an asset filter of the dataset: ask for that scope only


class Decision(Body):
    comment: Text = ""
    # on approval: the asset filter the grant is scoped to (default: what the request asked for);
    # it may narrow the request, never widen it
    filter: Name | None = None


ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class AssetFilterCreate(Body):
    """A named scope of a dataset: ``columns`` a grantee sees (None: all) and ``rows``, a row
    filter as core/row_filters.py reads it (None: all rows). At least one of them."""
    name: Name
    description: Text = ""
    columns: list[ColumnName] | None = Field(None, min_length=1, max_length=1000)
    rows: list | None = Field(None, min_length=1, max_length=100)


class RequestQuery(Body):
    incoming: bool = False
    status: Literal["pending", "accepted", "rejected", "closed"] | None = None  # closed: its asset was unpublished


class SubscriptionQuery(Body):
    incoming: bool = False


# JSON text in a query string as the client sends it (json.dumps: ASCII, other characters escaped),
# short enough that both together, percent-encoded (3 bytes a character at most), stay within the
# 64 KiB request head tornado reads (a longer head is closed without an answer)
QueryJSON = Annotated[str, StringConstraints(max_length=9_000, pattern=r"^[\x20-\x7e]*$")]


class DataQuery(Body):
    revision: int | None = Field(None, ge=1, le=MAX_NUMBER)
    # datasets: a JSON list of column names, a JSON row filter (core/row_filters.py), and the
    # form: an Arrow IPC stream of the scan, or the stored Parquet file as it is
    columns: QueryJSON | None = None
    filter: QueryJSON | None = None
    format: Literal["arrow", "parquet"] = "arrow"
    # a resumed read (the client's retry after a cut or a dropped connection): ``start``, rows of
    # a scan's output already received (the same revision, columns and filter give the same rows
    # in the same order); ``offset``, bytes of a whole file (format=parquet, a model, a file)
    # already received, also as the header ``Range: bytes=N-``
    start: int | None = Field(None, ge=0, le=MAX_NUMBER)
    offset: int | None = Field(None, ge=0, le=2**62)


class PresignQuery(Body):
    """Presigned URLs of a dataset revision (service/vending.py): which revision, and seconds
    the URLs live (at most the server's presigned_url_seconds, and an hour)."""
    revision: int | None = Field(None, ge=1, le=MAX_NUMBER)
    expires: int | None = Field(None, ge=1, le=3600)


class UploadStart(Body):
    name: Name
    project: ProjectName | None = None


class UploadPart(Body):
    offset: int | None = Field(None, ge=0, le=2**62)  # where the part starts; None: at the end


EventId = Annotated[int, Field(ge=0, le=2**31 - 1)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class AuditQuery(Body):
    """Newest first; page back with ``before`` (the previous page's ``next_before``)."""
    limit: int = Field(50, ge=1, le=1000)
    project: ProjectName | None = None
    before: EventId | None = None  # events with a smaller id
    after: EventId | None = None  # events with a greater id
    actor: Short | None = None
    action: Short | None = None
    resource_type: Short | None = None
    resource_id: Short | None = None
    since: datetime | None = None  # events at or after (ISO 8601; no zone: UTC)
    until: datetime | None = None  # events before


class AuditExportQuery(AuditQuery):
    """The same filters, oldest first, as JSON Lines; continue with ``after`` (``next_after``)."""
    limit: int = Field(10_000, ge=1, le=100_000)


class CheckpointQuery(Body):
    limit: int = Field(50, ge=1, le=1000)


class Empty(Body):
    pass


CardName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]


class Lineage(Body):
    training: list[Name] = Field(default_factory=list, max_length=15)
    evaluation: list[Name] = Field(default_factory=list, max_length=10)


class CardCreate(Body):
    model_config = ConfigDict(extra="forbid")  # content strings are limited by the card schema
    name: CardName
    model: Name
    content: dict
    lineage: Lineage = Field(default_factory=Lineage)
    # the model revision the card describes (default: the model's latest revision)
    model_revision: int | None = Field(None, ge=1, le=MAX_NUMBER)


class CardUpdate(Body):
    model_config = ConfigDict(extra="forbid")
    content: dict
    lineage: Lineage | None = None
    # the model revision the new version describes (default: the one the latest version describes)
    model_revision: int | None = Field(None, ge=1, le=MAX_NUMBER)


class CardTransition(Body):
    action: Literal["submit", "approve", "send_back", "archive"]
    comment: Text = ""


class CardQuery(Body):
    version: int | None = Field(None, ge=1, le=MAX_NUMBER)


CardStatus = Literal["Draft", "PendingReview", "Approved", "Archived"]
RiskRating = Literal["High", "Medium", "Low", "Unknown"]


class CardListQuery(Body):
    """Filters of the card list: words of the card (all, as prefixes, stemmed: names, model
    description, intended uses, risk, business details), the latest version's status, its risk rating."""
    text: Annotated[str, StringConstraints(max_length=256)] = ""
    status: CardStatus | None = None
    risk: RiskRating | None = None


class CardDiffQuery(Body):
    a: int = Field(..., ge=1, le=MAX_NUMBER)
    b: int = Field(..., ge=1, le=MAX_NUMBER)


class CardExportQuery(Body):
    format: Literal["html", "pdf", "json", "markdown"] = "html"
    version: int | None = Field(None, ge=1, le=MAX_NUMBER)


# Model versions (issue 13): approval of model revisions, aliases, the project's gate on use
ALIAS_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
Alias = Annotated[str, StringConstraints(pattern=ALIAS_PATTERN)]
ModelApprovalPolicy = Literal["off", "warn", "refuse"]


class ModelDecision(Body):
    """Approve or reject a model revision: the comment says why (required)."""
    comment: Annotated[str, StringConstraints(min_length=1, max_length=2048, strip_whitespace=True)]


class AliasSet(Body):
    """Point ``alias`` (lower-case letters, digits, ``-``/``_``, at most 64) at ``revision``."""
    revision: int = Field(..., ge=1, le=MAX_NUMBER)


class ProjectSettings(Body):
    """A project's governance settings (owners): ``model_approval`` decides what ``use`` of a
    model revision that is not Approved with an Approved card does: nothing (``off``), a
    warning (``warn``) or a 403 (``refuse``)."""
    model_approval: ModelApprovalPolicy


MonitorType = Literal["data_quality", "model_quality", "bias", "attribution"]


class ExecutionCreate(Body):
    model_config = ConfigDict(extra="forbid")  # the report is a computed document, not free text
    monitor_type: MonitorType = "data_quality"
    report: dict
    # the catalog datasets the report was computed on (its charts carry their values): the report is
    # shown to those who may read the model and each of them; None (not known): the model's project
    datasets: list[Name] | None = Field(None, max_length=100)


class ExecutionQuery(Body):
    limit: int = Field(50, ge=1, le=500)


class RoleBody(Body):
    """A role as the role manager defines it (Role.to_dict()); validated by the Role type."""

    model_config = ConfigDict(extra="forbid", str_max_length=4096)
    role: dict


class AssignmentCreate(Body):
    role: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    user: UserName | None = None
    group: UserName | None = None
    projects: list[ProjectName] = Field(default_factory=list, max_length=50)


class ProjectFromProfile(Body):
    name: ProjectName
    description: Text = ""
    profile: Annotated[str, StringConstraints(min_length=1, max_length=64)]


# ---- notifications and channels (service/notifications.py) ------------------------------------

NotificationEventName = Literal["alert.raised", "alert.resolved", "monitor.missing", "monitor.inactive",
                                "access.requested", "access.decided", "card.review_requested",
                                "grant.expiring"]


class ChannelCreate(Body):
    """A channel: ``webhook`` (target: an http(s) URL), ``email`` (target: an address), or, for a
    project only, ``in_lab`` (no target: every member gets the project's events in-Lab).
    ``events``: which events it carries ([]: all). ``project``: a project channel (its owners)."""

    kind: Literal["webhook", "email", "in_lab"]
    target: Annotated[str, StringConstraints(min_length=3, max_length=2048)] | None = None
    events: list[NotificationEventName] = Field(default_factory=list, max_length=8)
    project: ProjectName | None = None


class NotificationQuery(Body):
    unread: bool = False  # only unread ones
    after: int | None = Field(None, ge=0, le=2**31 - 1)  # only those newer than this id (polling)
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


class NotificationsRead(Body):
    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default_factory=list, max_length=500)
    all: bool = False  # every notification of mine


class DeliveryQuery(Body):
    limit: int = Field(50, ge=1, le=500)


# ---- deployments, monitors, alerts (issue 11) -------------------------------------------------

Environment = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]


class DeploymentCreate(Body):
    name: Name
    model: Name
    revision: int | None = Field(None, ge=1, le=MAX_NUMBER)
    environment: Environment = "production"
    capture: bool = True


class DeploymentUpdate(Body):
    status: Literal["InService", "OutOfService"] | None = None
    revision: int | None = Field(None, ge=1, le=MAX_NUMBER)


class MonitorCreate(Body):
    model_config = ConfigDict(extra="forbid")  # the baseline is a computed document, not free text
    name: Name
    deployment: Name | None = None
    model: Name | None = None
    data: Name | None = None  # a catalog dataset read at each new revision (instead of captured data)
    monitor_type: MonitorType = "data_quality"
    baseline: dict
    schedule: Annotated[str, StringConstraints(min_length=1, max_length=128)] = "hourly"
    thresholds: dict = {}
    evaluation_period: int = Field(1, ge=1, le=100)  # SageMaker/CloudWatch EvaluationPeriods
    datapoints_to_alert: int = Field(1, ge=1, le=100)  # DatapointsToAlert


class MonitorQuery(Body):
    deployment: Name | None = None


class MonitorDetailQuery(Body):
    limit: int = Field(50, ge=1, le=500)


class AlertQuery(Body):
    state: Literal["open", "resolved", "all"] = "open"
    limit: int = Field(100, ge=1, le=1000)
