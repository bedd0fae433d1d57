"""Audit operations: read the log, verify the chain, sign checkpoints of its head.

A checkpoint (format in ``core.audit``) signs the hashes of the events written since the
previous one with the anchor's Ed25519 key; it is kept in ``audit_checkpoints`` and as a
write-once file in the anchor's directory, the way CloudTrail's digest files anchor its logs.
Checkpoints are not audit events (writing one would move the head they sign).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import views
from ..core import audit as chain
from ..core import authz
from ..core import models as m
from ..core.authz import Resource
from ..core.errors import Conflict, Forbidden, NotFound
from ..store import tables as t
from .base import Actor, ServiceBase

CHECKPOINT_ACTION = authz.ROLE_MANAGE  # who may sign a checkpoint on demand: administrators
NO_KEY = ("no audit signing key is configured (c.MlgovApp.audit_key_file): this service "
          "makes no checkpoints")


def _doc(row: t.AuditCheckpoint) -> dict:
    return {"payload": json.loads(row.payload), "signature": row.signature}


def _utc(value: datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def _event(e: t.AuditEvent) -> dict:
    return {"id": e.id, "ts": e.ts, "actor": e.actor, "action": e.action,
            "resource_type": e.resource_type, "resource_id": e.resource_id, "detail": e.detail,
            "prev_hash": e.prev_hash, "hash": e.hash, "project": e.project, "signature": e.signature}


class AuditService(ServiceBase):
    def audit_events(self, actor: Actor, q: m.AuditQuery) -> dict:
        """``{"events": [...], "next_before": id | None}`` newest first: one project's (its owners,
        stewards) or all; filtered; ``next_before`` pages back to the older ones."""
        with self.store.transaction(write=False) as s:
            stmt = self._audit_select(s, actor, q)
            rows = list(s.execute(stmt.order_by(t.AuditEvent.id.desc()).limit(q.limit)).scalars())
            more = len(rows) == q.limit and rows[-1].id > 1
            return {"events": [views.audit_event(e) for e in rows],
                    "next_before": rows[-1].id if more else None}

    def audit_export(self, actor: Actor, q: m.AuditExportQuery) -> tuple[dict, bytes]:
        """The matching events oldest first as JSON Lines (one event per line, with its hash and
        signature so the export can be checked); ``next_after`` in the meta continues it."""
        with self.store.transaction(write=False) as s:
            stmt = self._audit_select(s, actor, q)
            rows = s.execute(stmt.order_by(t.AuditEvent.id).limit(q.limit)
                             .execution_options(yield_per=1000)).scalars()
            lines, last, count = [], None, 0
            for e in rows:
                lines.append(json.dumps(_event(e), separators=(",", ":")).encode())
                last, count = e.id, count + 1
            data = b"\n".join(lines) + (b"\n" if lines else b"")
            meta = {"media_type": "application/x-ndjson", "count": count,
                    "next_after": last if count == q.limit else None}
            return meta, data

    def _audit_select(self, s: Session, actor: Actor, q: m.AuditQuery):
        self._authorize(s, actor, authz.AUDIT_READ, Resource(type="audit", project=q.project))
        stmt, e = select(t.AuditEvent), t.AuditEvent
        if q.project:  # owners and stewards read their project's events; the whole log needs more
            stmt = stmt.where(e.project == q.project)
        for column, value in ((e.actor, q.actor), (e.action, q.action),
                              (e.resource_type, q.resource_type), (e.resource_id, q.resource_id)):
            if value is not None:
                stmt = stmt.where(column == value)
        if q.before is not None:
            stmt = stmt.where(e.id < q.before)
        if q.after is not None:
            stmt = stmt.where(e.id > q.after)
        # ts is UTC ISO 8601 as written by _audit: compared as text in the same form
        if q.since is not None:
            stmt = stmt.where(e.ts >= _utc(q.since))
        if q.until is not None:
            stmt = stmt.where(e.ts < _utc(q.until))
        return stmt

    def audit_verify(self, actor: Actor) -> dict:
        """``{"ok", "checked", "first_broken", "message"}``; with an anchor also ``checkpoints``
        and ``covered`` (checked against the database's and the directory's checkpoints)."""
        # What lives outside the database is read first: every line and file there was written
        # after its event committed, so the database snapshot taken next holds all of them (read
        # the other way round, a write in between would look like a removed event).
        files = self.anchor.read() if self.anchor else []
        heads = self.anchor.heads() if self.anchor else []
        with self.store.transaction(write=False) as s:
            if not self.store.is_sqlite:  # one snapshot for head, events and checkpoint rows
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            self._authorize(s, actor, authz.AUDIT_VERIFY, Resource(type="audit"))
            head = s.get(t.AuditHead, 1)
            head = {"last_id": head.last_id, "last_hash": head.last_hash} if head else None
            rows = s.execute(select(t.AuditEvent).order_by(t.AuditEvent.id)
                             .execution_options(yield_per=1000)).scalars()
            events = (_event(e) for e in rows)
            if self.anchor is None:
                if head is None:
                    return chain.Verification(False, 0, None, chain.HEAD_MISSING).to_dict()
                return chain.verify(events, head=head).to_dict()
            sources = [("database", _doc(r)) for r in
                       s.execute(select(t.AuditCheckpoint).order_by(t.AuditCheckpoint.seq)).scalars()]
            return chain.verify_anchored(events, head, sources + files, self.anchor.public_key,
                                         heads=heads).to_dict()

    # ---- checkpoints ------------------------------------------------------------------------

    def audit_checkpoint(self, actor: Actor) -> dict:
        """Sign a checkpoint now (admins). ``{"checkpoint": {"payload", "signature"}, "message"}``,
        or ``{"checkpoint": None, "message": "head has not moved"}``. Conflict without a key or
        when the events since the last checkpoint do not verify (nothing is signed then)."""
        with self.store.transaction(write=False) as s:
            # administrators' business: those who may manage roles (no action of its own yet)
            try:
                self._authorize(s, actor, CHECKPOINT_ACTION, Resource(type="audit"))
            except Forbidden as exc:
                raise Forbidden(f"only administrators may sign audit checkpoints: {exc}") from None
        doc = self.checkpoint_now()
        if doc is None:
            return {"checkpoint": None, "message": "head has not moved"}
        p = doc["payload"]
        return {"checkpoint": doc, "message": f"checkpoint {p['seq']} signed events "
                                              f"{p['first_event']}-{p['last_event']}"}

    def checkpoint_now(self) -> dict | None:
        """The scheduler's call (the service itself acts): the new checkpoint document, or None
        when the head has not moved since the last one. Written to the database under the head
        lock (so two service copies never make the same seq), then to the anchor's directory."""
        if self.anchor is None:
            raise Conflict(NO_KEY)
        with self.store.transaction() as s:
            doc = self._sign_checkpoint(s)
        if doc is not None:
            self.anchor.write(doc["payload"], doc["signature"])
            self.anchor.rotate_heads(doc["payload"]["seq"])
        return doc

    def list_checkpoints(self, actor: Actor, q: m.CheckpointQuery) -> dict:
        """``{"checkpoints": [{"payload", "signature"}, ...]}`` newest first (admins, auditors)."""
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.AUDIT_READ, Resource(type="audit"))
            rows = s.execute(select(t.AuditCheckpoint).order_by(t.AuditCheckpoint.seq.desc())
                             .limit(q.limit)).scalars()
            return {"checkpoints": [_doc(r) for r in rows]}

    def audit_public_key(self, actor: Actor) -> dict:
        """``{"algorithm": "Ed25519", "key_id", "public_key": PEM}``: what a third party verifies
        checkpoints with. Every signed-in user. NotFound without a key."""
        if self.anchor is None:
            raise NotFound(NO_KEY)
        return {"algorithm": "Ed25519", "key_id": self.anchor.key_id,
                "public_key": self.anchor.public_key_pem}

    def _sign_checkpoint(self, s: Session) -> dict | None:
        head = self._audit_head(s)
        last = s.execute(select(t.AuditCheckpoint).order_by(t.AuditCheckpoint.seq.desc())
                         .limit(1)).scalar_one_or_none()
        prev = json.loads(last.payload) if last else None
        first = prev["last_event"] + 1 if prev else 1
        if head.last_id < first:
            return None
        rows = s.execute(select(t.AuditEvent).where(t.AuditEvent.id >= first,
                                                    t.AuditEvent.id <= head.last_id)
                         .order_by(t.AuditEvent.id)).scalars()
        # never sign what does not verify: re-check the new events' numbering, links and hashes
        prev_id, prev_hash, signed = first - 1, prev["head_hash"] if prev else chain.GENESIS, []
        for e in rows:
            ev = _event(e)
            if ev["id"] != prev_id + 1 or ev["prev_hash"] != prev_hash \
                    or chain.event_hash(prev_hash, ev) != ev["hash"]:
                raise Conflict(f"audit event {ev['id']} does not verify; no checkpoint signed "
                               f"(run mlgov audit-verify)")
            # after the first checkpoint every event carries the service's own signature: a forged
            # append is refused here instead of being signed into the next checkpoint
            problem = chain.signature_problem(ev, prev is not None, self.anchor.public_key)
            if problem:
                raise Conflict(f"{problem}; no checkpoint signed (run mlgov audit-verify)")
            signed.append((ev["id"], ev["hash"]))
            prev_id, prev_hash = ev["id"], ev["hash"]
        if prev_id != head.last_id or prev_hash != head.last_hash:
            raise Conflict(f"the audit head records event {head.last_id} but the chain ends at event "
                           f"{prev_id}; no checkpoint signed (run mlgov audit-verify)")
        payload = chain.checkpoint_payload((prev["seq"] + 1) if prev else 1, signed, prev,
                                           datetime.now(timezone.utc).isoformat(), self.anchor.key_id)
        signature = self.anchor.sign(payload)
        s.add(t.AuditCheckpoint(seq=payload["seq"], first_event=payload["first_event"],
                                last_event=payload["last_event"], payload=chain.canonical(payload),
                                signature=signature))
        s.flush()
        return {"payload": payload, "signature": signature}
