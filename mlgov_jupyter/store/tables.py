"""SQLAlchemy tables. The store owns the schema; migrations under store/migrations follow it."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("project_id", "user"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user: Mapped[str] = mapped_column(String(128), index=True)
    designation: Mapped[str] = mapped_column(String(16))


class Asset(Base):
    __tablename__ = "assets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    owner: Mapped[str] = mapped_column(String(128), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    glossary_terms: Mapped[list] = mapped_column(JSON, default=list)
    classification: Mapped[str] = mapped_column(String(16), index=True)
    search_text: Mapped[str] = mapped_column(Text, default="")  # full-text source (PostgreSQL index)
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    latest_revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # indexed: the sidebar's open lists the newest listed assets first (migration 0014)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # lifecycle (migration 0018): deprecated assets stay readable by holders and leave search
    # unless asked for; an unpublished one (listed False) is a tombstone: metadata, revisions'
    # metadata and audit trail stay, grants ended, content deleted unless shared
    deprecated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deprecated_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    deprecation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    replacement: Mapped[str | None] = mapped_column(String(128), nullable=True)
    unpublished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    unpublished_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    unpublish_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SearchGeneration(Base):
    """One row (id 1) whose value changes with every change to assets, in the same transaction
    (triggers, migration 0014): the key under which search caches totals and facets."""
    __tablename__ = "search_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class AssetTag(Base):
    """Each tag of each asset (triggers on assets keep it, migration 0019): a tag filter's index."""
    __tablename__ = "asset_tags"
    __table_args__ = ({"sqlite_with_rowid": False},)
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)
    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class SearchFacetCount(Base):
    """Listed assets per facet value, deprecated or not (triggers on assets, migration 0019):
    facet '' value '' counts them all; 'project' values are project ids as text."""
    __tablename__ = "search_facet_counts"
    __table_args__ = ({"sqlite_with_rowid": False},)
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)
    deprecated: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class AssetRevision(Base):
    __tablename__ = "asset_revisions"
    __table_args__ = (UniqueConstraint("asset_id", "revision"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))  # parquet | skops | file | uri
    content_hash: Mapped[str | None] = mapped_column(String(71), nullable=True)
    location: Mapped[str | None] = mapped_column(Text, nullable=True)
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    schema: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    row_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    features: Mapped[dict] = mapped_column(JSON, default=dict)
    # what the revision was published under (NULL: before migration 0010 filled it)
    classification: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Blob(Base):
    """Content kept in the database by releases before the object store (store/objects.py);
    rows move out on first use and the table stays empty."""

    __tablename__ = "blobs"
    content_hash: Mapped[str] = mapped_column(String(71), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AccessRequest(Base):
    __tablename__ = "access_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    requester: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(Text)
    # the requester's groups as the identity provider said at request time: group roles' guardrails
    # (max_grant_days) apply to the grant made on approval
    requester_groups: Mapped[list | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decision_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # the asset filter asked for (None: the whole asset)
    filter_id: Mapped[int | None] = mapped_column(ForeignKey("asset_filters.id"), nullable=True)


class AssetFilter(Base):
    """A named scope of a dataset (DataZone's asset filter): the columns a grantee sees (None:
    all) and the rows (a row filter, core/row_filters.py; None: all). Grants may carry one."""

    __tablename__ = "asset_filters"
    __table_args__ = (UniqueConstraint("asset_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    columns: Mapped[list | None] = mapped_column(JSON, nullable=True)
    row_filter: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    subscriber: Mapped[str] = mapped_column(String(128), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_requests.id"))
    status: Mapped[str] = mapped_column(String(16), default="approved")  # approved|revoked|cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Grant(Base):
    __tablename__ = "grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    grantee: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|revoked|expired
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # the asset filter the grant is scoped to (None: the whole asset)
    filter_id: Mapped[int | None] = mapped_column(ForeignKey("asset_filters.id"), nullable=True)


class AuditEvent(Base):
    """Append-only and hash-chained: hash = sha256(prev_hash + canonical event)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(256))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON
    project: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # = detail.project
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Ed25519 over {"event": id, "hash": hash} by the service's key at write time (core.audit)
    signature: Mapped[str | None] = mapped_column(String(128), nullable=True)


class AuditHead(Base):
    """One row: the chain's head. Locked by every writer so concurrent appends cannot fork."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed checkpoint of the audit chain (format: core.audit). Not an audit event; its copy
    outside the database is the anchor's checkpoint file of the same seq."""

    __tablename__ = "audit_checkpoints"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_event: Mapped[int] = mapped_column(Integer)
    last_event: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, the signed bytes
    signature: Mapped[str] = mapped_column(String(128))  # base64 Ed25519


class ModelCard(Base):
    """One card per model asset. Its versions are immutable; each carries its own status."""

    __tablename__ = "model_cards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    model_asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), unique=True)
    author: Mapped[str] = mapped_column(String(128))
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the latest version's searchable text (PostgreSQL's GIN index; SQLite: card_fts), migration 0018
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")


class ModelCardVersion(Base):
    __tablename__ = "model_card_versions"
    __table_args__ = (UniqueConstraint("card_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("model_cards.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON)
    lineage: Mapped[dict] = mapped_column(JSON, default=dict)  # {"training": [...], "evaluation": [...]}
    status: Mapped[str] = mapped_column(String(16), default="Draft")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the model revision (and its content hash) this version describes (NULL: before migration 0015)
    model_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model_content_hash: Mapped[str | None] = mapped_column(String(71), nullable=True)


class MonitoringExecution(Base):
    """One check of a model's data: what ran, when, by whom, and the full report (history)."""

    __tablename__ = "monitoring_executions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    monitor_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))  # Completed | CompletedWithViolations | Failed
    violations: Mapped[int] = mapped_column(Integer, default=0)
    dataset_drift: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    # the catalog datasets the check was computed on, [{"id": asset id, "name": ...}]; None: unknown
    datasets: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # a stored monitor's run (migration 0017): which monitor, the data it saw, how long, why it failed
    monitor_id: Mapped[int | None] = mapped_column(ForeignKey("monitors.id"), nullable=True, index=True)
    window: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class RoleRow(Base):
    """A role: persona + activities + guardrails + AWS settings, as Role.to_dict()."""

    __tablename__ = "roles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    definition: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(64), index=True)
    user: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    group_name: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    projects: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PolicyState(Base):
    """One row: bumped with every role or assignment change, so every server copy rebuilds."""

    __tablename__ = "policy_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class AlertAck(Base):
    """Someone saw a model's alert (its violating check) and says what is being done."""

    __tablename__ = "alert_acks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("monitoring_executions.id"), unique=True)
    acknowledged_by: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelApproval(Base):
    """A decision on a model revision (SageMaker model registry's ``ModelApprovalStatus``):
    one row per decision, never changed; a revision's status is its newest row's, and
    ``PendingManualApproval`` when it has none."""

    __tablename__ = "model_approvals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))  # Approved | Rejected | PendingManualApproval
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(128))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelAlias(Base):
    """A named pointer (``champion``, ``challenger``, ...) at one revision of a model."""

    __tablename__ = "model_aliases"
    __table_args__ = (UniqueConstraint("asset_id", "alias"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    alias: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    moved_by: Mapped[str] = mapped_column(String(128))
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelAliasMove(Base):
    """History of alias moves: who pointed which alias from which revision to which, when."""

    __tablename__ = "model_alias_moves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    alias: Mapped[str] = mapped_column(String(64))
    from_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_revision: Mapped[int] = mapped_column(Integer)
    moved_by: Mapped[str] = mapped_column(String(128))
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProjectSetting(Base):
    """A project's governance setting (``model_approval``: off | warn | refuse), set by its owners."""

    __tablename__ = "project_settings"
    __table_args__ = (UniqueConstraint("project_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(256))
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Channel(Base):
    """Where notifications go besides the in-Lab list: a ``webhook`` (URL, HMAC-signed with
    ``secret``) or an ``email`` address; ``in_lab`` only as a project channel (it makes every
    member of ``project`` a recipient of its events). ``project`` None: the user's own channel,
    for the events they receive; else a project channel, for every event of that project."""

    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook | email | in_lab
    target: Mapped[str | None] = mapped_column(Text, nullable=True)  # URL or address; None for in_lab
    events: Mapped[list] = mapped_column(JSON, default=list)  # event names; [] = every event
    user: Mapped[str] = mapped_column(String(128), index=True)  # who added it (its owner)
    project: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    secret: Mapped[str | None] = mapped_column(String(255), nullable=True)  # webhook signing key, sealed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NotificationEvent(Base):
    """One event of the outbox, written in the transaction of the change it tells about."""

    __tablename__ = "notification_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    project: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # at most one event per key (e.g. one grant.expiring notice per grant and expiry)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Notification(Base):
    """An event as one recipient's in-Lab notification."""

    __tablename__ = "notifications"
    # (user, read_at): the sidebar's poll counts a user's unread ones from the index alone
    __table_args__ = (UniqueConstraint("event_id", "user"), Index("ix_notifications_user_read", "user", "read_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("notification_events.id"), index=True)
    user: Mapped[str] = mapped_column(String(128))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Delivery(Base):
    """One event to one channel: pending until sent or out of attempts. The delivery job claims
    a row (``claimed_until``) before sending, so two service copies never send it twice."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("notification_events.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    log: Mapped[list] = mapped_column(JSON, default=list)  # [{at, status_code, error, ms}] per attempt
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Deployment(Base):
    """A deployed model (an endpoint): the exact model revision it serves, where, and the catalog
    dataset its captured inferences go to (migration 0017)."""

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    model_asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    model_revision: Mapped[int] = mapped_column(Integer)
    environment: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # InService | OutOfService
    capture_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaptureFile(Base):
    """One batch of captured inferences (or of ground truth) as a Parquet object in the object
    store; ids only grow, so a monitor's watermark is the last id it read."""

    __tablename__ = "capture_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # inference | ground_truth
    content_hash: Mapped[str] = mapped_column(String(71))
    rows: Mapped[int] = mapped_column(BigInteger)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[list] = mapped_column(JSON, default=list)
    # what a scan of the file needs to bound its memory (core.catalog): longest text per column
    text_max: Mapped[dict] = mapped_column(JSON, default=dict)
    batch_rows: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Monitor(Base):
    """A stored monitor (SageMaker's monitoring schedule): what it watches, its baseline (an
    object in the object store), its schedule and the state the scheduler keeps."""

    __tablename__ = "monitors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"), nullable=True, index=True)
    model_asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    dataset_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), nullable=True)
    monitor_type: Mapped[str] = mapped_column(String(32))
    baseline_hash: Mapped[str] = mapped_column(String(71))
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)
    schedule: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    evaluation_period: Mapped[int] = mapped_column(Integer, default=1)
    datapoints_to_alert: Mapped[int] = mapped_column(Integer, default=1)
    watermark: Mapped[int] = mapped_column(Integer, default=0)  # last capture file id read
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    running_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[str] = mapped_column(String(128))
    # the creator's groups as the identity provider said at creation or their last start: each
    # run checks the creator's read access with their group roles (service/monitors.py)
    created_by_groups: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Alert(Base):
    """An alert episode: raised when its condition starts, resolved when it ends. ``open_key``
    (kind:subject) is set while open and unique, so a condition is never raised twice at once."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # violation | missing | inactive
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"), nullable=True, index=True)
    monitor_id: Mapped[int | None] = mapped_column(ForeignKey("monitors.id"), nullable=True, index=True)
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_executions.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    open_key: Mapped[str | None] = mapped_column(String(160), nullable=True, unique=True)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ack_comment: Mapped[str] = mapped_column(Text, default="")
