"""What every service operation shares: the acting user, authorization, audit, lookups."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sqlalchemy import event as sa_event
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..core import audit as chain
from ..core import authz
from ..core.authz import Authorizer, Principal, Resource
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..store import tables as t
from ..store.db import Store

log = logging.getLogger("mlgov.audit")

if TYPE_CHECKING:
    from ..store.anchor import AuditAnchor
    from ..store.decode_worker import DecodePool
    from ..store.external import ExternalLocations
    from ..store.objects import ObjectStore

_DECODER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Actor:
    """Who is calling, as the identity provider says."""

    name: str
    groups: tuple = ()
    is_admin: bool = False
    display_name: str | None = None


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def chunks(ids: list, size: int = 500):
    """``ids`` in lists of at most ``size`` (an IN list per statement stays small)."""
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def preload(s: Session, table, ids) -> dict:
    """The rows of ``table`` with these ids (None ignored) by id, in one query per 500. While the
    caller holds the dict, ``s.get`` reads them from the session's (weak) identity map."""
    wanted = [i for i in ids if i is not None]
    rows = {}
    for chunk in chunks(wanted):
        rows.update((r.id, r) for r in s.execute(select(table).where(table.id.in_(chunk))).scalars())
    return rows


_HEAD = t.AuditHead.__table__
_HEAD_FOR_UPDATE = select(_HEAD.c.last_id, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()
_EVENTS = t.AuditEvent.__table__
_INSERT_EVENT = _EVENTS.insert()
_MOVE_HEAD = _HEAD.update().where(_HEAD.c.id == 1).values(last_id=bindparam("last_id"),
                                                           last_hash=bindparam("last_hash"))
# PostgreSQL: the event and the new head in one statement (a round trip less on every write)
_APPENDED = (_EVENTS.insert().values({c.name: bindparam("e_" + c.name) for c in _EVENTS.c})
             .returning(_EVENTS.c.id, _EVENTS.c.hash).cte("appended"))
_INSERT_EVENT_AND_MOVE_HEAD = (_HEAD.update().where(_HEAD.c.id == 1, _HEAD.c.last_id == _APPENDED.c.id - 1)
                               .values(last_id=_APPENDED.c.id, last_hash=_APPENDED.c.hash))

# s.info key: the policy version this transaction read (a role change in it drops it: roles._bump_policy)
POLICY_VERSION = "mlgov_policy_version"

# the caller's designations, and (stored roles) the policy version in the same round trip: a row
# per membership, or one row of NULLs beside the version for a user who has none
_DESIGNATIONS = (select(t.Project.name, t.Membership.designation)
                 .join(t.Membership, t.Membership.project_id == t.Project.id)
                 .where(t.Membership.user == bindparam("user")))
_PRINCIPAL_AND_VERSION = (select(t.PolicyState.version, t.Project.name, t.Membership.designation)
                          .select_from(t.PolicyState)
                          .outerjoin(t.Membership, t.Membership.user == bindparam("user"))
                          .outerjoin(t.Project, t.Project.id == t.Membership.project_id)
                          .where(t.PolicyState.id == 1))

_PROJECT_NAMES = select(t.Project.id, t.Project.name)

UNASSIGNED = "mlgov:unassigned"  # pseudo-group of users who hold no stored role
DEFAULT_ROLE = "mlgov-default"


def default_role():
    """What a user with no assigned role may do: every project-scoped activity, decided by their
    project designations (no cross-project audit, no role management)."""
    from ..core.roles import Role, activities

    return Role.from_persona(DEFAULT_ROLE, "custom",
                             add=[a.id for a in activities() if a.membership and a.actions],
                             description="users without an assigned role: project designations decide")


class DenialLimiter:
    """At most one denial event per (actor, action, resource) per ``window`` seconds and at most
    ``per_actor`` per actor per window; the refusals held back are counted into the next event."""

    def __init__(self, window: float = 60.0, per_actor: int = 30, max_keys: int = 10_000):
        self.window, self.per_actor, self.max_keys = window, per_actor, max_keys
        self._keys: dict = {}  # key -> [window start, suppressed]
        self._lock = threading.Lock()

    def admit(self, user: str, action: str, resource: Resource, now: float | None = None) -> int | None:
        """None: hold this one back; else write it, with the count held back before it."""
        now = time.monotonic() if now is None else now
        key = (user, action, resource.type, resource.name, resource.project)
        with self._lock:
            if len(self._keys) > self.max_keys:
                self._keys = {k: v for k, v in self._keys.items() if now - v[0] < self.window or v[1]}
            entry = self._keys.get(key)
            if entry is not None and now - entry[0] < self.window:
                entry[1] += 1
                return None
            mine = self._keys.get((user, "*"))
            if mine is None or now - mine[0] >= self.window:
                mine = self._keys[(user, "*")] = [now, mine[1] if mine else 0, 0]
            if mine[2] >= self.per_actor:
                mine[1] += 1
                return None
            held = (entry[1] if entry else 0) + mine[1]
            mine[1], mine[2] = 0, mine[2] + 1
            self._keys[key] = [now, 0]
            return held


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one request may cause (GovernanceSettings sets them from config)."""

    publish_max_rows: int = 1_000_000_000  # rows of one Parquet publish
    # what one Parquet publish may decompress to (CPU, not memory: it streams). Repeated int64 describe
    # at about 1.1 GiB/s of one core (1e8 x 2 columns: 1.3 s), so 16 GiB is about 15 s of a worker
    # (64 GiB was a minute); decode_timeout bounds content that is slower per byte
    publish_max_decoded_bytes: int = 16 << 30
    upload_max_bytes: int = 16 << 30  # bytes of one upload (all its parts), and of one user's unfinished uploads together
    staging_max_bytes: int = 64 << 30  # bytes all users' unfinished uploads may hold together
    staging_min_free_bytes: int = 2 << 30  # bytes a part may not take the staging disk's free space below
    upload_part_bytes: int = 16 << 20  # bytes a client sends per part (at most max_body_bytes)
    max_body_bytes: int = 256 * 1024 * 1024  # bytes of one request body (the HTTP hosts check it)
    json_max_body_bytes: int = 1 << 20  # bytes of a JSON body, unless its route declares more (api.Route.json_bytes)
    json_max_containers: int = 100_000  # JSON arrays and objects in one body (each ~70 bytes parsed)
    body_memory_per_user: int = 256 << 20  # request body bytes one user may have arriving at once (503 beyond)
    body_memory_total: int = 1 << 30  # request body bytes all users may have arriving at once (503 beyond)
    bodies_per_user: int = 8  # request bodies one user may send at once (503 beyond; each may hold one 64 KiB read)
    stream_per_user: int = 4  # responses streamed to one user at once (content downloads, use, audit export)
    stream_max: int = 32  # responses streamed at once, all users together (waits decode_wait, then 503)
    stream_min_rate: int = 64 << 10  # bytes/s a stream's reader must take, averaged over stream_rate_window
    stream_rate_window: float = 30.0  # seconds of waiting on a reader the rate is averaged over (and grace)
    stream_max_lease: float = 60.0  # seconds a stream or `use` read surely keeps its slot while others wait (0: off)
    decode_reserved: int = 2  # decode workers `use` reads never take (kept for publish, capture, describes)
    export_max_chars: int = 100_000  # characters of card content rendered as PDF
    export_max_rows: int = 1_000  # table rows of one card rendered as PDF
    export_max_charts: int = 40  # charts of one card rendered as PDF
    export_timeout: float = 60.0  # seconds a PDF render may take in its worker process
    export_workers: int = 2  # PDF renders at a time (each in its own process)
    export_cache_entries: int = 64  # rendered PDFs kept, per card version
    search_workers: int = 2  # threads of their own that serve catalog searches, one a user at a time (and one kept for light users)
    search_loop_ms: float = 20.0  # SQLite: ms a search may run on the host's event loop, then it goes to those threads
    decode_max_memory: int = 1 << 30  # bytes a worker decoding user-supplied Parquet may allocate (store/decode_worker.py)
    decode_workers: int = 8  # decode worker processes at once, all users together
    decode_per_user: int = 2  # decode workers one user may hold (or wait for) at once (503 beyond)
    decode_wait: float = 30.0  # seconds a call waits for a free decode worker (503 after)
    decode_drain_seconds: float = 60.0  # seconds a `use` reader may take no data before its read is dropped
    decode_timeout: float = 120.0  # seconds of CPU one describe (publish, register) may use (413 beyond)


@dataclass
class ServiceBase:
    store: Store
    authorizer: Authorizer | None = None  # None: the stored roles decide (PolicyAuthorizer)
    admin_users: frozenset = frozenset()
    unassigned: str = "designations"  # or "deny": users without a role may do nothing
    # SageMaker's alert rule: InAlert when checks with violations among the last
    # `alert_evaluation_period` reach `alert_datapoints`.
    alert_evaluation_period: int = 1
    alert_datapoints: int = 1
    # A model with an approved card whose last check is older than this (or that was never
    # checked) is "Unmonitored". None: off.
    monitor_max_age_days: float | None = None
    # Signs audit checkpoints (service/audit.py); None: no checkpoints, verification by links only.
    anchor: "AuditAnchor | None" = None
    limits: Limits = field(default_factory=Limits)
    # Where content lives (store/objects.py); None: a directory beside a SQLite store, else in
    # the Jupyter data dir. Blob rows of older stores move there on first use.
    objects: "ObjectStore | None" = None
    # Where registered external data may be read from, with the service's credentials (None: nowhere).
    external: "ExternalLocations | None" = None
    _policy: tuple | None = field(default=None, init=False, repr=False)

    def objects_store(self) -> "ObjectStore":
        """The object store, made on first use; content still in the database's blob rows (a
        store from before the object store) moves into it then."""
        if self.objects is None:
            from ..store.objects import default_objects

            self.objects = default_objects(self.store)
        if not self.__dict__.get("_blobs_moved"):
            from ..store.objects import move_blobs

            move_blobs(self.store, self.objects)
            self.__dict__["_blobs_moved"] = True
        return self.objects

    def decoder(self) -> "DecodePool":
        """The worker processes that decode user-supplied Parquet (store/decode_worker.py),
        started on first use, each limited to ``limits.decode_max_memory``."""
        pool = self.__dict__.get("_decoder")
        if pool is None:
            from ..store.decode_worker import DecodePool

            with _DECODER_LOCK:
                pool = self.__dict__.get("_decoder")
                if pool is None:
                    lim = self.limits
                    pool = DecodePool(self.objects_store(), self.external_locations(), lim.decode_max_memory,
                                      max_workers=lim.decode_workers, per_user=lim.decode_per_user,
                                      slot_wait=lim.decode_wait, drain_seconds=lim.decode_drain_seconds,
                                      timeout=lim.decode_timeout, reserved=lim.decode_reserved,
                                      lease=lim.stream_max_lease)
                    self.__dict__["_decoder"] = pool
        return pool

    @property
    def decode_executor(self):
        """The threads that serve calls which decode user data (publish, register, ``use``'s data,
        capture, ground truth) and the streaming of a scan: never the pool that serves every other
        call, so callers waiting for a decode worker (at most ``decode_wait`` seconds each, at most
        ``decode_per_user`` per user) cannot stall the rest of the API."""
        pool = self.__dict__.get("_decode_executor")
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            with _DECODER_LOCK:
                pool = self.__dict__.get("_decode_executor")
                if pool is None:
                    pool = self.__dict__["_decode_executor"] = ThreadPoolExecutor(
                        max_workers=2 * max(1, self.limits.decode_workers), thread_name_prefix="mlgov-decode")
        return pool

    def external_locations(self) -> "ExternalLocations":
        if self.external is None:
            from ..store.external import ExternalLocations

            self.external = ExternalLocations()
        return self.external

    def _authorizer(self, s: Session) -> Authorizer:
        """The configured authorizer, or one built from the stored roles (rebuilt when the
        policy version in the store moves, so every server copy sees a change at once)."""
        if self.authorizer is not None:
            return self.authorizer
        version = s.info.get(POLICY_VERSION)  # read once per transaction (with the memberships: _principal)
        if version is None:
            version = s.info[POLICY_VERSION] = s.connection().exec_driver_sql(
                "SELECT version FROM policy_state WHERE id = 1").scalar_one()
        if self._policy is None or self._policy[0] != version:
            try:
                built = self._build_policy(s)
            except Invalid as exc:
                # the store holds what no longer makes a policy (written before role changes were
                # checked whole, or by hand): decide by what still does, not fail every call (R15 F1)
                log.error("the stored roles do not make a valid policy (%s): deciding without the "
                          "roles and assignments that break it", exc.message)
                built = self._build_policy(s, lenient=True)
            self._policy = (version, *built)
        return self._policy[1]

    def _build_policy(self, s: Session, lenient: bool = False) -> tuple:
        """``(PolicyAuthorizer, (users, groups) holding a role)`` from the roles and assignments
        ``s`` sees. Invalid if they do not make a valid Cedar policy (a role change checks this
        before it commits: roles._bump_policy); ``lenient``: leave out each stored role that does
        not make one on its own and each assignment of a role left out or unknown."""
        from ..core.roles import Assignment, PolicyAuthorizer, Role

        roles, assignments = [], []
        for row in s.execute(select(t.RoleRow)).scalars():
            try:
                role = Role.from_dict(row.definition)
                if lenient:
                    PolicyAuthorizer([role])
                roles.append(role)
            except Invalid:
                if not lenient:
                    raise
        known = {r.name for r in roles}
        for a in s.execute(select(t.RoleAssignment)).scalars():
            if lenient and a.role not in known:
                continue
            assignments.append(Assignment(role=a.role, user=a.user, group=a.group_name, projects=a.projects))
        if self.unassigned == "designations":
            roles.append(default_role())
            assignments.append(Assignment(role=DEFAULT_ROLE, group=UNASSIGNED))
        holders = ({a.user for a in assignments if a.user}, {a.group for a in assignments
                                                             if a.group and a.group != UNASSIGNED})
        return PolicyAuthorizer(roles, assignments), holders

    def _holds_role(self, s: Session, name: str, groups: tuple) -> bool:
        self._authorizer(s)
        users, group_names = self._policy[2]
        return name in users or any(g in group_names for g in groups)

    # ---- plumbing -------------------------------------------------------------------------

    def _threads(self, key: str, size: int, prefix: str):
        """This service's pool of ``size`` threads named ``prefix``, kept under ``key`` (made on
        first use; a pool made by a racing caller is never used and starts no thread)."""
        from concurrent.futures import ThreadPoolExecutor

        pool = self.__dict__.get(key)
        if pool is None:
            pool = self.__dict__.setdefault(key, ThreadPoolExecutor(max_workers=max(1, size), thread_name_prefix=prefix))
        return pool

    def _principal(self, s: Session, actor: Actor) -> Principal:
        """The caller with their project designations; with stored roles, the policy version is
        read in the same statement (one round trip) and kept for the transaction (``_authorizer``).
        Read through the session's Core connection (same transaction, a third less CPU than the
        ORM's execute machinery: this runs on every request)."""
        if s.autoflush:  # as the ORM's execute would (a membership added in this transaction counts)
            s.flush()
        if self.authorizer is None and POLICY_VERSION not in s.info:
            rows = s.connection().execute(_PRINCIPAL_AND_VERSION, {"user": actor.name}).all()
            s.info[POLICY_VERSION] = rows[0][0]
            rows = [(p, d) for _, p, d in rows if p is not None]
        else:
            rows = s.connection().execute(_DESIGNATIONS, {"user": actor.name}).all()
        groups = tuple(actor.groups)
        if self.authorizer is None and not self._holds_role(s, actor.name, groups):
            groups += (UNASSIGNED,)
        return Principal(name=actor.name, groups=groups,
                         is_admin=actor.is_admin or actor.name in self.admin_users,
                         designations={p: d for p, d in rows})

    def _authorize(self, s: Session, actor: Actor, action: str, resource: Resource) -> Principal:
        principal = self._principal(s, actor)
        self._note_groups(s, actor)
        decision = self._authorizer(s).decide(principal, action, resource)
        if not decision.allowed:
            self._note_denial(s, actor, action, resource, decision.reason)
            raise Forbidden(decision.reason)
        return principal

    def _note_groups(self, s: Session, actor: Actor) -> None:
        """``actor`` is seen with their groups as the identity provider gives them now (the
        monitors they created keep reading under them: creator_groups.py)."""

    # ---- denials: audited in their own transaction, at most once per minute per key ------------

    def _note_denial(self, s: Session, actor: Actor, action: str, resource: Resource, reason: str) -> None:
        """Remember a refusal; it is written once this transaction has rolled back (the refused
        operation keeps nothing), by ``_write_denials``."""
        if "mlgov_denials" not in s.info:
            s.info["mlgov_denials"] = []
            sa_event.listen(s, "after_rollback", self._write_denials)
        s.info["mlgov_denials"].append((actor, action, resource, reason))

    def _write_denials(self, s: Session) -> None:
        for actor, action, resource, reason in s.info.pop("mlgov_denials", []):
            suppressed = self._denial_limiter().admit(actor.name, action, resource)
            if suppressed is None:
                continue
            detail = {"action": action, "reason": reason, "project": resource.project}
            if suppressed:
                detail["suppressed"] = suppressed
            try:
                with self.store.transaction() as own:
                    self._audit(own, actor, "access.denied", resource.type or "-",
                                resource.name or resource.project or "-", detail)
            except Exception:  # a refusal is still a refusal when its trace cannot be written
                log.exception("could not audit a denial of %s to %s", action, actor.name)

    def _denial_limiter(self) -> "DenialLimiter":
        limiter = self.__dict__.get("_denials")
        if limiter is None:
            limiter = self.__dict__["_denials"] = DenialLimiter()
        return limiter

    def _audit_head(self, s: Session) -> t.AuditHead:
        """The chain's head row, locked for this transaction; Conflict if someone deleted it."""
        head = s.execute(select(t.AuditHead).where(t.AuditHead.id == 1).with_for_update()).scalar_one_or_none()
        if head is None:
            raise Conflict(chain.HEAD_MISSING)
        return head

    def _audit(self, s: Session, actor: Actor, action: str, resource_type: str,
               resource_id, detail: dict | None = None) -> None:
        """Append an event to the chain in this transaction: the head is locked, the event and
        the new head written at once (one statement on PostgreSQL), as Core statements on the
        session's connection (no ORM objects or execute machinery: a publish's flushes were a third
        of its CPU); what this session had pending is flushed first, as before."""
        s.flush()
        conn = s.connection()
        head = conn.execute(_HEAD_FOR_UPDATE).first()
        if head is None:
            raise Conflict(chain.HEAD_MISSING)
        last_id, last_hash = head
        event = {"id": last_id + 1, "ts": datetime.now(timezone.utc).isoformat(),
                 "actor": actor.name, "action": action, "resource_type": resource_type,
                 "resource_id": str(resource_id), "detail": chain.canonical(detail or {})}
        digest = chain.event_hash(head.last_hash, event)
        # the project (when the change has one) is part of the hashed detail, and a column to filter on
        # signed at write time, so an event appended by someone without the key is caught even
        # before the next checkpoint covers it
        signature = self.anchor.sign(chain.event_statement(event["id"], digest)) if self.anchor else None
        row = dict(event, prev_hash=last_hash, hash=digest, signature=signature,
                   project=(detail or {}).get("project"))
        if self.store.is_sqlite:
            conn.execute(_INSERT_EVENT, row)
            conn.execute(_MOVE_HEAD, {"last_id": event["id"], "last_hash": digest})
        else:
            conn.execute(_INSERT_EVENT_AND_MOVE_HEAD, {"e_" + k: v for k, v in row.items()})
        loaded = s.identity_map.get(s.identity_key(t.AuditHead, 1))
        if loaded is not None:  # an ORM copy read earlier in this transaction (_audit_head) is stale
            s.expire(loaded)
        if self.anchor is not None:  # the new head goes to the anchor's head log once committed
            if "mlgov_head" not in s.info:
                sa_event.listen(s, "after_commit", self._append_head)
            s.info["mlgov_head"] = (event["id"], digest, signature)

    def _append_head(self, s: Session) -> None:
        head = s.info.pop("mlgov_head", None)
        if head is None:
            return
        try:
            self.anchor.append_head(*head)
        except OSError:  # the change is committed; the next checkpoint covers it
            log.exception("could not append the audit head to the anchor's head log")

    def _project(self, s: Session, name: str) -> t.Project:
        p = s.execute(select(t.Project).where(t.Project.name == name)).scalar_one_or_none()
        if p is None:
            raise NotFound(f"no project named {name!r} (see %mlgov projects)")
        return p

    def _model_revision(self, s: Session, model: t.Asset, number: int | None) -> t.AssetRevision:
        """Revision ``number`` of ``model`` (``None``: its latest), which a card describes or a
        deployment serves; NotFound."""
        number = number or model.latest_revision
        rev = s.execute(select(t.AssetRevision).where(t.AssetRevision.asset_id == model.id,
                                                      t.AssetRevision.revision == number)).scalar_one_or_none()
        if rev is None:
            raise NotFound(f"model {model.name!r} has no revision {number} (latest is {model.latest_revision})")
        return rev

    def _asset(self, s: Session, name: str) -> t.Asset:
        a = s.execute(select(t.Asset).where(t.Asset.name == name)).scalar_one_or_none()
        if a is None:
            raise NotFound(f"no asset named {name!r} in the catalog (see %mlgov search)")
        return a

    def _members(self, s: Session, project_id: int) -> list[t.Membership]:
        return list(s.execute(select(t.Membership).where(t.Membership.project_id == project_id)
                              .order_by(t.Membership.user)).scalars())

    def _active_grant(self, s: Session, asset_id: int, user: str) -> t.Grant | None:
        now = datetime.now(timezone.utc)
        for g in s.execute(select(t.Grant).where(t.Grant.asset_id == asset_id,
                                                 t.Grant.grantee == user,
                                                 t.Grant.status == "active")).scalars():
            if g.expires_at is None or aware(g.expires_at) > now:
                return g
        return None

    def _access(self, s: Session, principal: Principal, a: t.Asset, project_name: str) -> str:
        """The caller's access to an asset, one label: ``owner`` (owner of its project, or who
        published it), ``steward`` (steward of its project), ``member`` (contributor or consumer
        of its project: may use it without a request), ``granted`` (an active grant), ``pending``
        (a request awaits a decision), ``none``. The first three need no access request."""
        designation = principal.designations.get(project_name)
        if designation == "owner" or a.owner == principal.name:
            return "owner"
        if designation == "steward":
            return "steward"
        if designation in ("contributor", "consumer"):
            return "member"
        if self._active_grant(s, a.id, principal.name):
            return "granted"
        pending = s.execute(select(t.AccessRequest.id).where(
            t.AccessRequest.asset_id == a.id, t.AccessRequest.requester == principal.name,
            t.AccessRequest.status == "pending")).first()
        return "pending" if pending else "none"

    def _authorize_consume(self, s: Session, actor: Actor, a: t.Asset, pname: str) -> Principal:
        """The caller's principal if they may consume ``a``; else Forbidden saying the reason and
        what would help (a request, waiting for one, or a role: a grant never lifts a role's
        classification ceiling)."""
        try:
            return self._authorize(s, actor, authz.CATALOG_CONSUME, self._consume_resource(s, a, pname, actor.name))
        except Forbidden as exc:
            access = self._access(s, self._principal(s, actor), a, pname)
            if access != "none" and "classification ceiling" in str(exc):
                raise Forbidden(f"{exc}. Your {'grant' if access == 'granted' else access + ' access'}"
                                f" does not lift a role's ceiling: ask an administrator for a role "
                                f"(or a ceiling exception) that covers {a.classification} data") from None
            if access == "pending":
                raise Forbidden(f"{exc}. Your access request for {a.name} awaits a decision "
                                f"(%mlgov requests)") from None
            raise Forbidden(f"{exc}. Request access with: %mlgov subscribe {a.name} "
                            f"--reason \"why you need it\"") from None

    def _consume_resource(self, s: Session, a: t.Asset, project_name: str, user: str,
                          classification: str | None = None, whole: bool = False) -> Resource:
        """The asset as the consume decision sees it: with the caller's active grant, if any
        (``classification``: of the revision read, when it is higher than the asset's now;
        ``whole``: only a grant on the whole asset counts, not one scoped by an asset filter)."""
        grant = self._active_grant(s, a.id, user)
        if whole and grant is not None and grant.filter_id is not None:
            grant = None
        return self._asset_resource(
            a, project_name, classification=classification, granted=grant is not None,
            granted_at=grant.created_at.isoformat() if grant else None,
            grant_expires=grant.expires_at.isoformat() if grant and grant.expires_at else None)

    def _may_read_data(self, s: Session, principal: Principal, a: t.Asset, project_name: str) -> bool:
        """Whether the caller could read all of the asset's data now: only they may see what
        carries its values (column summaries, locations, monitoring charts). A grant scoped by an
        asset filter does not count: such results are computed on rows and columns outside it."""
        resource = self._consume_resource(s, a, project_name, principal.name, whole=True)
        return self._authorizer(s).decide(principal, authz.CATALOG_CONSUME, resource).allowed

    def _may_read_model_data(self, s: Session, principal: Principal, model: t.Asset, project_name: str,
                             lineage: dict | None = None) -> bool:
        """Whether the caller may see what was computed from a model's data (card evaluations of
        any version, exports, diffs): they must be able to read the model and every dataset named
        in the lineage of any version of its cards (and ``lineage``, if given). Lineage is declared
        per version and may come late or change: an evaluation written before it was declared (or
        on data a later version dropped) carries the same values, so every version is gated on the
        union. When no version names a dataset (no lineage), or a named one no longer exists,
        nothing vouches for the data: only the model's project and admins (like monitoring
        executions that do not say what they were computed on)."""
        if not self._may_read_data(s, principal, model, project_name):
            return False
        project_only = principal.is_admin or project_name in principal.designations
        lineages = [lineage] if isinstance(lineage, dict) else []
        lineages += [row[0] for row in s.execute(
            select(t.ModelCardVersion.lineage)
            .join(t.ModelCard, t.ModelCard.id == t.ModelCardVersion.card_id)
            .where(t.ModelCard.model_asset_id == model.id)).all()]
        names = {n for lin in lineages if isinstance(lin, dict)
                 for part in lin.values() if isinstance(part, list) for n in part if isinstance(n, str)}
        if not names:
            return project_only
        assets = list(s.execute(select(t.Asset).where(t.Asset.name.in_(names))).scalars())
        if {a.name for a in assets} != names:  # a dataset since removed: unknown
            return project_only
        projects = self._project_names(s)
        for a in assets:
            if not self._may_read_data(s, principal, a, projects[a.project_id]):
                return False
        return True

    def _asset_resource(self, a: t.Asset, project_name: str, classification: str | None = None,
                        **attrs) -> Resource:
        return Resource(type="asset", name=a.name, project=project_name,
                        classification=classification or a.classification, owner=a.owner, attrs=attrs)

    def _project_names(self, s: Session) -> dict[int, str]:
        if s.autoflush:
            s.flush()
        return dict(s.connection().execute(_PROJECT_NAMES).all())

