"""Notifications: a transactional outbox that carries every event concerning a person.

A change that concerns someone calls ``_notify`` inside its own transaction: the event, one in-Lab
notification per recipient and one delivery per matching channel are written with the change or
not at all. The delivery job (jobs/delivery.py) sends pending deliveries afterwards, outside the
request pool, claiming each row first so two service copies never send it twice.

Channels: everyone has the in-Lab list. A user adds ``webhook`` and ``email`` channels for the
events they receive; an owner of a project adds project channels, which carry every event of that
project (``in_lab``: every member of the project receives it in-Lab).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import views
from ..core import models as m
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..store import tables as t
from ..store.anchor import SEALED
from .base import Actor, ServiceBase, aware
from .locks import advisory_lock

EVENTS = ("alert.raised", "alert.resolved", "monitor.missing", "monitor.inactive", "access.requested",
          "access.decided", "card.review_requested", "grant.expiring")
MAX_CHANNELS = 20  # per user
SERVICE_ACTOR = Actor("mlgov-service")  # who the scheduled jobs' audit events name


@dataclass(frozen=True)
class DeliveryConfig:
    """How the service delivers (GovernanceSettings builds it from traits)."""

    webhook_allowed_hosts: tuple = ()  # host names, addresses or networks private targets may use
    own_endpoints: frozenset = frozenset()  # (address, port) of the hub and this server: never targets
    email_domains: tuple = ()  # () = any domain, unless email_domains_required
    email_domains_required: bool = False  # team mode: no email channels until email_domains is set
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "mlgov@localhost"
    smtp_starttls: bool = False
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    timeout: float = 5.0  # seconds per webhook request or SMTP conversation
    max_attempts: int = 5
    backoff: float = 30.0  # seconds before the 2nd attempt; doubled for each next one
    lease: float = 120.0  # seconds a claimed delivery stays claimed
    workers: int = 4  # deliveries sent at a time (threads of the delivery job)
    per_owner: int = 1  # of them, at most this many to the channels of one person
    slow_after: int = 3  # a channel whose last this many attempts timed out is slow:
    slow_backoff: float = 600.0  # its pending deliveries wait at least this many seconds
    grant_notice_days: float = 3.0
    retention_days: float = 90.0  # read notifications and finished deliveries older than this go


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _matches(channel: t.Channel, event: str) -> bool:
    return not channel.events or event in channel.events


class NotificationService(ServiceBase):
    delivery_config: DeliveryConfig = DeliveryConfig()

    # ---- the outbox ------------------------------------------------------------------------

    def _notify(self, s: Session, event: str, *, subject: str, payload: dict, project: str | None = None,
                users: Iterable[str] = (), dedupe_key: str | None = None) -> int | None:
        """Write ``event`` into the outbox inside the caller's transaction ``s``: an in-Lab
        notification for each recipient (``users``, plus every member of ``project`` when one of
        its in_lab channels carries the event) and a pending delivery for each webhook/email
        channel of a recipient or of ``project`` that carries it. ``payload``: JSON-able dict sent
        as is. Returns the event id, or None when nobody and nothing receives it. ValueError for
        an event name not in EVENTS."""
        if event not in EVENTS:
            raise ValueError(f"unknown notification event {event!r}")
        recipients = {u for u in users if u}
        project_channels: list[t.Channel] = []
        if project:
            project_channels = [c for c in s.execute(select(t.Channel).where(t.Channel.project == project))
                                .scalars() if _matches(c, event)]
            if any(c.kind == "in_lab" for c in project_channels):
                recipients |= set(s.execute(select(t.Membership.user).join(
                    t.Project, t.Project.id == t.Membership.project_id).where(t.Project.name == project)).scalars())
        channels = [c for c in project_channels if c.kind != "in_lab"]
        if recipients:
            channels += [c for c in s.execute(select(t.Channel).where(
                t.Channel.project.is_(None), t.Channel.user.in_(sorted(recipients)))).scalars()
                if _matches(c, event)]
        if not recipients and not channels:
            return None
        row = t.NotificationEvent(event=event, subject=subject[:1000], payload=payload, project=project,
                                  dedupe_key=dedupe_key, created_at=_now())
        s.add(row)
        s.flush()
        s.add_all([t.Notification(event_id=row.id, user=u) for u in sorted(recipients)])
        s.add_all([t.Delivery(event_id=row.id, channel_id=c.id, status="pending", attempts=0,
                              next_attempt_at=row.created_at, log=[]) for c in channels])
        return row.id

    def _deciders(self, s: Session, project_id: int, *extra: str) -> list[str]:
        """Owners and stewards of a project (who decide requests and review cards), plus ``extra``."""
        rows = s.execute(select(t.Membership.user).where(t.Membership.project_id == project_id,
                                                         t.Membership.designation.in_(("owner", "steward"))))
        return sorted(set(rows.scalars()) | {u for u in extra if u})

    # ---- channels --------------------------------------------------------------------------

    def add_channel(self, actor: Actor, body: m.ChannelCreate) -> dict:
        """Add a channel; the result holds ``secret`` (webhooks), shown this once. Invalid for a
        refused target (see jobs.webhook.vet) or an email domain not allowed; Forbidden for a
        project channel by someone who does not own the project; Conflict beyond MAX_CHANNELS."""
        cfg = self.delivery_config
        target = (body.target or "").strip() or None
        if body.kind == "in_lab":
            if not body.project:
                raise Conflict("in-Lab notifications are on for everyone; an in_lab channel is for a "
                               "project (--project P): every member then gets its events")
            if target:
                raise Invalid("an in_lab channel has no target")
        elif not target:
            raise Invalid(f"a {body.kind} channel needs a target "
                          f"({'an https:// URL' if body.kind == 'webhook' else 'an email address'})")
        elif body.kind == "webhook":
            from ..jobs.webhook import vet

            try:
                vet(target, cfg.webhook_allowed_hosts, cfg.own_endpoints, cfg.timeout)
            except TimeoutError as exc:
                raise Invalid(f"webhook target: {exc}; try again") from None
        else:
            target = check_email_target(cfg, target)
        with self.store.transaction() as s:
            if body.project:
                p = self._project(s, body.project)
                principal = self._principal(s, actor)
                if not principal.is_admin and principal.designations.get(p.name) != "owner":
                    raise Forbidden(f"only owners of project {p.name} add its channels")
            advisory_lock(s, f"channels-of:{actor.name}")  # adds at the same instant count one by one
            count = s.execute(select(func.count()).select_from(t.Channel)
                              .where(t.Channel.user == actor.name)).scalar_one()
            if count >= MAX_CHANNELS:
                raise Conflict(f"you have {count} channels, the most one person may add; delete one first")
            secret = secrets.token_hex(32) if body.kind == "webhook" else None
            row = t.Channel(kind=body.kind, target=target, events=list(dict.fromkeys(body.events)),
                            user=actor.name, project=body.project, created_at=_now(),
                            secret=self.anchor.seal(secret) if secret and self.anchor else secret)
            s.add(row)
            s.flush()
            self._audit(s, actor, "channel.create", "channel", row.id,
                        {"kind": row.kind, "target": _redacted(row), "events": row.events,
                         "project": row.project})
            out = _channel_view(row)
            if secret:
                out["secret"] = secret
                out["note"] = ("the signing secret is shown once: the X-Mlgov-Signature header is "
                               "sha256=HMAC-SHA256(secret, body)")
            return out

    def _own_channel(self, s: Session, actor: Actor, channel_id: int, lock: bool = False) -> t.Channel:
        """A channel the actor added, or a channel of a project they own; else NotFound (whether
        another's channel exists is not told). ``lock``: its row, until commit."""
        row = s.get(t.Channel, channel_id, with_for_update=lock)
        if row is not None and row.user != actor.name:
            principal = self._principal(s, actor)
            if not (row.project and (principal.is_admin or principal.designations.get(row.project) == "owner")):
                row = None
        if row is None:
            raise NotFound(f"you have no channel {channel_id} (see %mlgov channels list)")
        return row

    def list_channels(self, actor: Actor) -> dict:
        """{"channels": [...]}: the caller's channels and those of projects they own."""
        with self.store.transaction(write=False) as s:
            owned = [p for p, d in self._principal(s, actor).designations.items() if d == "owner"]
            rows = s.execute(select(t.Channel).where(or_(t.Channel.user == actor.name,
                                                         t.Channel.project.in_(owned)))
                             .order_by(t.Channel.id)).scalars()
            return {"channels": [_channel_view(c) for c in rows]}

    def delete_channel(self, actor: Actor, channel_id: int) -> dict:
        """Delete a channel with its deliveries (pending ones are not sent). Audited."""
        with self.store.transaction() as s:
            row = self._own_channel(s, actor, channel_id, lock=True)  # a second delete: 404
            view = _channel_view(row)
            s.query(t.Delivery).filter(t.Delivery.channel_id == row.id).delete(synchronize_session=False)
            self._audit(s, actor, "channel.delete", "channel", row.id,
                        {"kind": row.kind, "target": _redacted(row), "project": row.project})
            s.delete(row)
            return {**view, "deleted": True}

    def channel_deliveries(self, actor: Actor, channel_id: int, q: m.DeliveryQuery) -> dict:
        """A channel's delivery log, newest first: each delivery's event, status, attempts and,
        per attempt, time, HTTP status code (webhooks), error and milliseconds."""
        with self.store.transaction(write=False) as s:
            row = self._own_channel(s, actor, channel_id)
            rows = s.execute(select(t.Delivery, t.NotificationEvent)
                             .join(t.NotificationEvent, t.NotificationEvent.id == t.Delivery.event_id)
                             .where(t.Delivery.channel_id == row.id)
                             .order_by(t.Delivery.id.desc()).limit(q.limit)).all()
            return {"channel": _channel_view(row), "deliveries": [
                {"id": d.id, "event_id": e.id, "event": e.event, "subject": e.subject, "status": d.status,
                 "attempts": d.attempts, "next_attempt_at": views.iso(d.next_attempt_at) if d.status == "pending" else None,
                 "delivered_at": views.iso(d.delivered_at), "log": d.log} for d, e in rows]}

    # ---- in-Lab ----------------------------------------------------------------------------

    def notifications(self, actor: Actor, q: m.NotificationQuery) -> dict:
        """The caller's notifications, unread first then newest first, a page at a time:
        {"notifications": [{id, event, subject, payload, project, created_at, read}], "unread": n,
        "total": n, "latest": highest id or null}. ``after``: only newer than that id (polling)."""
        with self.store.transaction(write=False) as s:
            mine = t.Notification.user == actor.name
            unread = s.execute(select(func.count()).select_from(t.Notification)
                               .where(mine, t.Notification.read_at.is_(None))).scalar_one()
            latest = s.execute(select(func.max(t.Notification.id)).where(mine)).scalar_one()
            stmt = select(t.Notification, t.NotificationEvent).join(
                t.NotificationEvent, t.NotificationEvent.id == t.Notification.event_id).where(mine)
            if q.unread:
                stmt = stmt.where(t.Notification.read_at.is_(None))
            if q.after is not None:
                stmt = stmt.where(t.Notification.id > q.after)
            total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
            rows = s.execute(stmt.order_by(t.Notification.read_at.is_not(None), t.Notification.id.desc())
                             .offset((q.page - 1) * q.page_size).limit(q.page_size)).all()
            return {"notifications": [
                {"id": n.id, "event_id": e.id, "event": e.event, "subject": e.subject, "payload": e.payload,
                 "project": e.project, "created_at": views.iso(e.created_at), "read": n.read_at is not None}
                for n, e in rows], "unread": unread, "total": total, "latest": latest,
                "page": q.page, "page_size": q.page_size}

    def mark_read(self, actor: Actor, body: m.NotificationsRead) -> dict:
        """Mark some (``ids``) or ``all`` of the caller's notifications read; ids of others'
        notifications are ignored. {"read": marked now, "unread": left}. Audited."""
        if not body.ids and not body.all:
            raise Invalid("name the notifications to mark read (ids) or all=true")
        with self.store.transaction() as s:
            stmt = select(t.Notification).where(t.Notification.user == actor.name,
                                                t.Notification.read_at.is_(None))
            if not body.all:
                stmt = stmt.where(t.Notification.id.in_(body.ids))
            rows = list(s.execute(stmt.with_for_update()).scalars())  # each marked read once
            now = _now()
            for n in rows:
                n.read_at = now
            if rows:
                self._audit(s, actor, "notifications.read", "notification", rows[0].id, {"count": len(rows)})
            s.flush()
            unread = s.execute(select(func.count()).select_from(t.Notification).where(
                t.Notification.user == actor.name, t.Notification.read_at.is_(None))).scalar_one()
            return {"read": len(rows), "unread": unread}

    # ---- what the delivery job calls (no actor: the service itself) -------------------------

    def claim_deliveries(self, limit: int = 20, *, exclude_owners: Iterable[str] = (),
                         per_owner: int | None = None) -> list[dict]:
        """Claim up to ``limit`` due deliveries for a lease (``lease`` seconds, or longer than
        sending them all may take); each as {id, claim, kind, owner (who added the channel),
        channel_id, target, secret, attempt, event: {id, event, subject, payload, project,
        timestamp}}. Fair: round-robin across channel owners (each owner's oldest due first), at
        most ``per_owner`` per owner (None: no cap), none of ``exclude_owners`` (those the caller
        is still sending for), so one person's many or slow channels do not hold another's
        deliveries back. A claimed row is not handed to anyone else until its lease runs out
        (PostgreSQL: SKIP LOCKED; SQLite: writers are serialised)."""
        now, token = _now(), uuid.uuid4().hex
        cfg = self.delivery_config
        # the lease outlasts sending the whole batch (each send ends within twice the timeout)
        lease = timedelta(seconds=max(cfg.lease, limit * 2 * cfg.timeout + 30))
        due = (t.Delivery.status == "pending", t.Delivery.next_attempt_at <= now,
               or_(t.Delivery.claimed_until.is_(None), t.Delivery.claimed_until < now))
        with self.store.transaction(write=False) as s:  # most runs find nothing: no write lock then
            if s.execute(select(t.Delivery.id).where(*due).limit(1)).first() is None:
                return []
        excluded = set(exclude_owners)
        with self.store.transaction() as s:
            # a window of the oldest due rows, then round-robin across their channels' owners
            window = s.execute(select(t.Delivery.id, t.Channel.user).join(t.Channel, t.Channel.id == t.Delivery.channel_id)
                               .where(*due).order_by(t.Delivery.next_attempt_at, t.Delivery.id)
                               .limit(max(limit * 25, 500))).all()
            lanes: dict[str, list[int]] = {}
            for delivery_id, owner in window:
                if owner not in excluded:
                    lanes.setdefault(owner, []).append(delivery_id)
            picked: list[int] = []
            depth = 0
            while len(picked) < limit and any(len(ids) > depth for ids in lanes.values()):
                if per_owner is not None and depth >= per_owner:
                    break
                picked += [ids[depth] for ids in lanes.values() if len(ids) > depth][:limit - len(picked)]
                depth += 1
            if not picked:
                return []
            stmt = select(t.Delivery).where(t.Delivery.id.in_(picked), *due)
            if not self.store.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = {d.id: d for d in s.execute(stmt).scalars().all()}
            out = []
            for d in (rows[i] for i in picked if i in rows):
                c, e = s.get(t.Channel, d.channel_id), s.get(t.NotificationEvent, d.event_id)
                d.claim, d.claimed_until = token, now + lease
                if self.anchor and c.secret and not c.secret.startswith(SEALED):  # stored before 0021
                    c.secret = self.anchor.seal(c.secret)
                out.append({"id": d.id, "claim": token, "kind": c.kind, "owner": c.user, "channel_id": c.id,
                            "target": c.target, "attempt": d.attempts + 1,
                            "secret": self.anchor.unseal(c.secret) if self.anchor else c.secret,
                            "event": event_body(e)})
            return out

    def finish_delivery(self, delivery_id: int, claim: str, *, ok: bool, status_code: int | None = None,
                        error: str | None = None, retry: bool = True, ms: float = 0.0,
                        timed_out: bool = False) -> str | None:
        """Record one attempt of a claimed delivery: delivered, or pending again after the backoff
        (``backoff * 2**(attempts-1)`` seconds), or failed once out of attempts or not ``retry``.
        ``timed_out``: the receiver (or its name lookup) was too slow; when the channel's last
        ``slow_after`` attempts all timed out, every pending delivery of the channel waits at
        least ``slow_backoff`` seconds (a tarpit costs a worker once per that time, not per event).
        Returns the new status; None if the claim was lost (the lease ran out, someone else holds it)."""
        cfg = self.delivery_config
        with self.store.transaction() as s:
            d = s.get(t.Delivery, delivery_id)
            if d is None or d.claim != claim:
                return None
            now = _now()
            d.attempts += 1
            d.log = [*d.log, {"attempt": d.attempts, "at": now.isoformat(), "status_code": status_code,
                              "error": (error or None) and error[:300], "ms": round(ms, 1),
                              **({"timeout": True} if timed_out else {})}][-20:]
            d.claim, d.claimed_until = None, None
            if ok:
                d.status, d.delivered_at = "delivered", now
            elif not retry or d.attempts >= cfg.max_attempts:
                d.status = "failed"
            else:
                d.next_attempt_at = now + timedelta(seconds=cfg.backoff * 2 ** (d.attempts - 1))
            if timed_out and cfg.slow_after > 0:
                s.flush()
                self._slow_channel(s, d.channel_id, now)
            return d.status

    def _slow_channel(self, s: Session, channel_id: int, now: datetime) -> None:
        """If the channel's last ``slow_after`` attempts (over all its deliveries) timed out, move
        its unclaimed pending deliveries to ``slow_backoff`` seconds from now at the earliest."""
        cfg = self.delivery_config
        recent = s.execute(select(t.Delivery.log).where(t.Delivery.channel_id == channel_id, t.Delivery.attempts > 0)
                           .order_by(t.Delivery.id.desc()).limit(50)).scalars().all()
        attempts = sorted((a for log in recent for a in log or []), key=lambda a: a.get("at") or "")
        last = attempts[-cfg.slow_after:]
        if len(last) < cfg.slow_after or not all(a.get("timeout") for a in last):
            return
        later = now + timedelta(seconds=cfg.slow_backoff)
        s.query(t.Delivery).filter(t.Delivery.channel_id == channel_id, t.Delivery.status == "pending",
                                   t.Delivery.claim.is_(None), t.Delivery.next_attempt_at < later) \
            .update({t.Delivery.next_attempt_at: later}, synchronize_session=False)

    def notify_expiring_grants(self, days: float | None = None) -> int:
        """Tell each grantee whose active grant ends within ``days`` (default: grant_notice_days)
        once per grant and expiry (grant.expiring). Returns how many were told. Each notice is
        written and audited in its own transaction."""
        days = self.delivery_config.grant_notice_days if days is None else days
        now = _now()
        with self.store.transaction(write=False) as s:
            due = [(g.id, aware(g.expires_at)) for g in s.execute(select(t.Grant).where(
                t.Grant.status == "active", t.Grant.expires_at.is_not(None),
                t.Grant.expires_at <= now + timedelta(days=days))).scalars() if aware(g.expires_at) > now]
        told = 0
        for grant_id, expires in due:
            key = f"grant.expiring:{grant_id}:{expires.isoformat()}"
            try:
                with self.store.transaction() as s:
                    if s.execute(select(t.NotificationEvent.id).where(t.NotificationEvent.dedupe_key == key)).first():
                        continue
                    g = s.get(t.Grant, grant_id)
                    a = s.get(t.Asset, g.asset_id)
                    pname = self._project_names(s)[a.project_id]
                    hours = (expires - now).total_seconds() / 3600
                    self._notify(s, "grant.expiring", project=None, users=[g.grantee], dedupe_key=key,
                                 subject=f"your grant on {a.name} ends in {hours / 24:.1f} days "
                                         f"({expires:%Y-%m-%d %H:%M} UTC)",
                                 payload={"asset": a.name, "grant": g.id, "expires_at": expires.isoformat(),
                                          "asset_project": pname})
                    self._audit(s, SERVICE_ACTOR, "notification.grant_expiring", "grant", g.id,
                                {"grantee": g.grantee, "asset": a.name, "expires_at": expires.isoformat(),
                                 "project": pname})
                    told += 1
            except Conflict:  # another service copy wrote this notice at the same time
                continue
        return told


    def purge_notifications(self, days: float | None = None) -> dict:
        """Delete read notifications and finished (delivered, failed) deliveries of events older
        than ``days`` (default: retention_days), then those events nothing refers to any more.
        Unread notifications and pending deliveries stay. {"notifications": n, "deliveries": n,
        "events": n} deleted."""
        days = self.delivery_config.retention_days if days is None else days
        cutoff = _now() - timedelta(days=days)
        with self.store.transaction() as s:
            old = select(t.NotificationEvent.id).where(t.NotificationEvent.created_at < cutoff)
            gone_n = s.query(t.Notification).filter(t.Notification.event_id.in_(old),
                                                    t.Notification.read_at.is_not(None)).delete(synchronize_session=False)
            gone_d = s.query(t.Delivery).filter(t.Delivery.event_id.in_(old), t.Delivery.status != "pending") \
                .delete(synchronize_session=False)
            gone_e = s.query(t.NotificationEvent).filter(
                t.NotificationEvent.created_at < cutoff,
                ~t.NotificationEvent.id.in_(select(t.Notification.event_id)),
                ~t.NotificationEvent.id.in_(select(t.Delivery.event_id))).delete(synchronize_session=False)
            return {"notifications": gone_n, "deliveries": gone_d, "events": gone_e}


def event_body(e: t.NotificationEvent) -> dict:
    """What a webhook receives (JSON) and an email shows: the event as stored."""
    return {"id": e.id, "event": e.event, "subject": e.subject, "payload": e.payload, "project": e.project,
            "timestamp": views.iso(e.created_at)}


def body_bytes(event: dict) -> bytes:
    """The exact bytes a webhook receives and the signature covers."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), default=str).encode()


def _channel_view(c: t.Channel) -> dict:
    return {"id": c.id, "kind": c.kind, "target": c.target, "events": c.events or [], "project": c.project,
            "user": c.user, "created_at": views.iso(c.created_at)}


def _redacted(c: t.Channel) -> str | None:
    """What the audit trail keeps of a target: a webhook's scheme and host (a URL's path can be a
    credential, e.g. a chat webhook), an email address whole."""
    if c.kind != "webhook" or not c.target:
        return c.target
    from urllib.parse import urlsplit

    parts = urlsplit(c.target)
    return f"{parts.scheme}://{parts.netloc}/..."


def check_email_target(cfg: DeliveryConfig, address: str) -> str:
    """The plain address an email channel may send to under ``cfg``; Invalid (one line) for a
    malformed address, a domain outside ``email_domains``, or any address while the service
    requires email_domains (team mode) and none is set."""
    if cfg.email_domains_required and not cfg.email_domains:
        raise Invalid("email channels are off until an administrator sets email_domains "
                      "(c.MlgovServe.email_domains = ['example.org']): the service's SMTP relay "
                      "sends only to the organisation's own domains")
    return _check_address(address, cfg.email_domains)


def _check_address(address: str, domains) -> str:
    """A plain address (local@domain), its domain among ``domains`` when set; Invalid otherwise."""
    from email.utils import parseaddr

    import re

    name, addr = parseaddr(address)
    local, _, domain = addr.rpartition("@")
    # the local part: letters, digits and . _ + - only (a relay may route "x%evil.com@" or
    # "evil.com!x@" elsewhere: the percent hack and bang paths)
    if not local or not domain or addr != address or not re.fullmatch(r"[A-Za-z0-9._+-]{1,64}", local) \
            or not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", domain) or "." not in domain:
        raise Invalid(f"email target {address!r} is not a plain address like name@example.org")
    if domains and domain.lower() not in {d.lower().lstrip("@") for d in domains}:
        raise Invalid(f"email target domain {domain!r} is not allowed here (email_domains: {', '.join(domains)})")
    return addr


def endpoints(*urls: str) -> frozenset:
    """(address, port) pairs the given URLs' hosts resolve to (unresolvable ones are skipped)."""
    import socket
    from urllib.parse import urlsplit

    out = set()
    for url in urls:
        try:
            parts = urlsplit(url)
            if not parts.hostname:
                continue
            port = parts.port or (443 if parts.scheme == "https" else 80)
            out |= {(info[4][0], port) for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
        except (OSError, ValueError, UnicodeError):
            continue
    return frozenset(out)
