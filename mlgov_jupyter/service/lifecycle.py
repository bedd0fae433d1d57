"""Catalog lifecycle: deprecate (and back), unpublish; model cards in the search index.

Deprecated: the asset stays readable by those who hold it (its project, grant holders), leaves
search unless ``include_deprecated``, and ``use`` warns, naming its replacement.
Unpublished: a tombstone. The asset row (listed false), its revisions' metadata and its audit
trail stay and its name is not reused; its active grants end (each subscription revoked and
audited), its pending requests are closed (audited), ``use`` is a 404 naming who unpublished it
when, and its content is deleted from the object store unless another asset's revision or a
captured batch holds the same bytes (content-addressed: then it stays for them).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.orm import Session

from .. import views
from ..core import authz
from ..core import models as m
from ..core.card_search import card_search_fields, card_search_text
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..store import tables as t
from .base import Actor, ServiceBase
from .content_refs import delete_unreferenced, held_elsewhere
from .locks import lock_listed

NO_CONTENT_FORMATS = ("uri", "capture", "external-parquet", "external-csv")  # nothing of ours to delete


def unpublished_message(a: t.Asset) -> str:
    """The one line a read of an unpublished asset answers with (a 404)."""
    day = views.iso(a.unpublished_at)[:10] if a.unpublished_at else "?"
    return f"asset {a.name!r} was unpublished by {a.unpublished_by} on {day}: {a.unpublish_reason}"


class LifecycleService(ServiceBase):
    # ---- deprecate ---------------------------------------------------------------------------

    def deprecate_asset(self, actor: Actor, name: str, body: m.AssetDeprecate) -> dict:
        """Mark ``name`` deprecated (owners, stewards of its project): ``reason`` and an optional
        ``replacement`` (a listed asset). Deprecating again replaces reason and replacement.
        Returns the asset detail with ``deprecated``: ``{"at", "by", "reason", "replacement"}``.
        NotFound (no such asset, replacement, or unpublished), Forbidden, Invalid (itself as
        replacement). Audited as ``asset.deprecate``."""
        with self.store.transaction() as s:
            a, pname, principal = self._lifecycle_asset(s, actor, name, authz.CATALOG_DECIDE)
            if body.replacement is not None:
                if body.replacement == a.name:
                    raise Invalid(f"asset {a.name!r} cannot replace itself")
                other = self._asset(s, body.replacement)
                if not other.listed:
                    raise NotFound(unpublished_message(other))
            a.deprecated_at, a.deprecated_by = datetime.now(timezone.utc), actor.name
            a.deprecation_reason, a.replacement = body.reason, body.replacement
            self._audit(s, actor, "asset.deprecate", "asset", a.name,
                        {"reason": body.reason, "replacement": body.replacement, "project": pname})
            s.flush()
            return views.asset_detail(a, pname, self._revisions(s, a.id), self._access(s, principal, a, pname))

    def undeprecate_asset(self, actor: Actor, name: str) -> dict:
        """Lift a deprecation (owners, stewards); Conflict when ``name`` is not deprecated.
        Audited as ``asset.undeprecate``."""
        with self.store.transaction() as s:
            a, pname, principal = self._lifecycle_asset(s, actor, name, authz.CATALOG_DECIDE)
            if a.deprecated_at is None:
                raise Conflict(f"asset {a.name!r} is not deprecated")
            self._audit(s, actor, "asset.undeprecate", "asset", a.name,
                        {"was": {"by": a.deprecated_by, "reason": a.deprecation_reason,
                                 "replacement": a.replacement}, "project": pname})
            a.deprecated_at = a.deprecated_by = a.deprecation_reason = a.replacement = None
            s.flush()
            return views.asset_detail(a, pname, self._revisions(s, a.id), self._access(s, principal, a, pname))

    # ---- unpublish ---------------------------------------------------------------------------

    def unpublish_asset(self, actor: Actor, name: str, body: m.AssetUnpublish) -> dict:
        """Take ``name`` out of the catalog for good (owners of its project, admins; not stewards).
        In one transaction: the asset is unlisted with who, when and why; each active grant ends
        (its subscription ``revoked``, one ``subscription.revoke`` event each, the subscriber
        notified); each pending request is ``closed`` (``access.close``); ``asset.unpublish``
        records the counts and the content hashes deleted and kept. Then the content no other
        asset, captured batch or baseline shares is deleted from the object store (in a second
        transaction, under each digest's lock: content_refs.py). Returns
        ``{"name", "unpublished": {...}, "grants_ended", "requests_closed", "content_deleted",
        "content_kept"}``. Conflict: already unpublished, a deployment in service serves the model
        (or captures into the dataset), or an active monitor watches it."""
        with self.store.transaction() as s:
            a, pname, principal = self._lifecycle_asset(s, actor, name, authz.CATALOG_REVOKE)
            if not principal.is_admin and principal.designations.get(pname) != "owner":
                raise Forbidden(f"only owners of project {pname} unpublish {a.name!r}; stewards may "
                                f"deprecate it (%mlgov deprecate {a.name} --reason ...)")
            self._refuse_in_use(s, a)
            now = datetime.now(timezone.utc)
            a.listed, a.unpublished_at, a.unpublished_by, a.unpublish_reason = False, now, actor.name, body.reason
            grants = self._end_grants(s, actor, a, pname, body.reason, now)
            closed = self._close_requests(s, actor, a, pname, body.reason, now)
            deleted, kept = self._unshared_content(s, a)
            self._audit(s, actor, "asset.unpublish", "asset", a.name,
                        {"reason": body.reason, "revisions": a.latest_revision, "grants_ended": grants,
                         "requests_closed": closed, "content_deleted": deleted, "content_kept": kept,
                         "project": pname})
            s.flush()
            out = {"name": a.name, "unpublished": views.lifecycle(a)["unpublished"], "grants_ended": grants,
                   "requests_closed": closed, "content_deleted": deleted, "content_kept": kept}
            asset_id = a.id
        if deleted:  # after the commit (a rollback must not have lost content), per digest under
            # its lock: a publish of the same bytes recording its revision meanwhile keeps them
            with self.store.transaction() as s:
                gone, kept = delete_unreferenced(s, self.objects_store(), deleted, asset_id)
                if kept:
                    self._audit(s, actor, "asset.unpublish.content", "asset", name,
                                {"content_kept": kept, "project": pname,
                                 "reason": "another revision or capture took the same content meanwhile"})
            out["content_deleted"], out["content_kept"] = gone, sorted(out["content_kept"] + kept)
        return out

    def _lifecycle_asset(self, s: Session, actor: Actor, name: str, action: str):
        a = self._asset(s, name)
        # its row locked (and re-read) until commit: deprecations and unpublishing of one asset
        # run one after the other, each reading the state the last one left
        lock_listed(s, a)
        pname = self._project_names(s)[a.project_id]
        principal = self._authorize(s, actor, action, self._asset_resource(a, pname))
        return a, pname, principal

    def _refuse_in_use(self, s: Session, a: t.Asset) -> None:
        serving = s.execute(select(t.Deployment.name).where(
            t.Deployment.status == "InService",
            (t.Deployment.model_asset_id == a.id) | (t.Deployment.capture_asset_id == a.id))).scalars().first()
        if serving:
            raise Conflict(f"deployment {serving!r} is in service with {a.name!r}: take it out of service "
                           f"first (%mlgov deploy ... --status OutOfService)")
        watching = s.execute(select(t.Monitor.name).where(
            t.Monitor.active.is_(True),
            (t.Monitor.model_asset_id == a.id) | (t.Monitor.dataset_asset_id == a.id))).scalars().first()
        if watching:
            raise Conflict(f"monitor {watching!r} watches {a.name!r}: stop it first (%mlgov monitor stop {watching})")

    def _end_grants(self, s: Session, actor: Actor, a: t.Asset, pname: str, reason: str, now) -> int:
        rows = s.execute(select(t.Subscription, t.Grant).join(t.Grant, t.Grant.subscription_id == t.Subscription.id)
                         .where(t.Subscription.asset_id == a.id, t.Subscription.status == "approved")
                         .order_by(t.Subscription.id).with_for_update()).all()
        for sub, g in rows:
            sub.status, sub.ended_by, sub.ended_at = "revoked", actor.name, now
            if g.status == "active":
                g.status, g.ended_at = "revoked", now
            self._audit(s, actor, "subscription.revoke", "subscription", sub.id,
                        {"asset": a.name, "subscriber": sub.subscriber, "grant": g.id, "project": pname,
                         "reason": f"asset unpublished: {reason}"})
            self._notify(s, "access.decided", users=[sub.subscriber],
                         subject=f"{a.name} was unpublished by {actor.name}: your subscription ended",
                         payload={"asset": a.name, "subscription": sub.id, "status": "revoked",
                                  "decided_by": actor.name, "comment": reason})
        return len(rows)

    def _close_requests(self, s: Session, actor: Actor, a: t.Asset, pname: str, reason: str, now) -> int:
        rows = list(s.execute(select(t.AccessRequest).where(t.AccessRequest.asset_id == a.id,
                                                            t.AccessRequest.status == "pending")
                                  .with_for_update()).scalars())  # one waits for a decision in flight
        for r in rows:
            r.status, r.decided_by, r.decided_at = "closed", actor.name, now
            r.decision_comment = f"asset unpublished: {reason}"[:2048]
            self._audit(s, actor, "access.close", "request", r.id,
                        {"asset": a.name, "requester": r.requester, "comment": r.decision_comment,
                         "project": pname})
            self._notify(s, "access.decided", users=[r.requester],
                         subject=f"your request for {a.name} was closed: {actor.name} unpublished it",
                         payload={"request": r.id, "asset": a.name, "status": "closed",
                                  "decided_by": actor.name, "comment": reason})
        return len(rows)

    def _unshared_content(self, s: Session, a: t.Asset) -> tuple[list[str], list[str]]:
        """The asset's stored content hashes: those nothing else holds (to delete) and those
        another asset's revision or a captured batch shares (kept)."""
        mine = sorted({d for d, fmt in s.execute(select(t.AssetRevision.content_hash, t.AssetRevision.format)
                                                 .where(t.AssetRevision.asset_id == a.id)).all()
                       if d and fmt not in NO_CONTENT_FORMATS})
        if not mine:
            return [], []
        shared = held_elsewhere(s, mine, a.id)  # decided again under the digests' locks
        return [d for d in mine if d not in shared], [d for d in mine if d in shared]

    # ---- model cards in search ----------------------------------------------------------------

    def _index_card(self, s: Session, card: t.ModelCard, model_name: str, content: dict) -> None:
        """Keep the card's search text current (its latest version): model_cards.search_text
        under PostgreSQL's GIN index, SQLite's FTS5 table card_fts (migration 0018)."""
        card.search_text = card_search_text(card.name, model_name, content)
        if self.store.is_sqlite:
            s.flush()
            s.execute(text("DELETE FROM card_fts WHERE rowid = :id"), {"id": card.id})
            s.execute(text("INSERT INTO card_fts (rowid, name, model, description, uses, risk, other) "
                           "VALUES (:id, :name, :model, :description, :uses, :risk, :other)"),
                      {"id": card.id, **card_search_fields(card.name, model_name, content)})

    def _card_only_models(self, s: Session, words: tuple[str, ...], match: str) -> list[int]:
        """Ids of the models whose card holds every word while the asset index does not find
        them (``match``: the asset index's FTS5 query): what catalog search adds to the asset
        index's matches. Cards are few; a query no card matches costs one small index read."""
        if self.store.is_sqlite:
            models = set(s.execute(text(
                "SELECT model_cards.model_asset_id FROM card_fts JOIN model_cards ON model_cards.id = "
                "card_fts.rowid WHERE card_fts MATCH :q"), {"q": match}).scalars())
            if not models:
                return []
            found = set(s.execute(text(
                "SELECT rowid FROM asset_fts WHERE asset_fts MATCH :q AND rowid IN (SELECT value FROM "
                "json_each(:ids))"), {"q": match, "ids": json.dumps(sorted(models))}).scalars())
            return sorted(models - found)
        vector, query = _card_tsquery(words)
        models = set(s.execute(select(t.ModelCard.model_asset_id).where(vector.op("@@")(query))).scalars())
        if not models:
            return []
        english = literal_column("'english'")
        found = set(s.execute(select(t.Asset.id).where(
            t.Asset.id.in_(models),
            func.to_tsvector(english, t.Asset.search_text).op("@@")(query))).scalars())
        return sorted(models - found)

    def _card_ids_matching(self, s: Session, words: tuple[str, ...]) -> set[int]:
        """Ids of the cards whose text holds every word (as a prefix, stemmed)."""
        if self.store.is_sqlite:
            return set(s.execute(text("SELECT rowid FROM card_fts WHERE card_fts MATCH :q"),
                                 {"q": " ".join(f'"{w}"*' for w in words)}).scalars())
        vector, query = _card_tsquery(words)
        return set(s.execute(select(t.ModelCard.id).where(vector.op("@@")(query))).scalars())


def _card_tsquery(words: tuple[str, ...]):
    english = literal_column("'english'")
    return (func.to_tsvector(english, t.ModelCard.search_text),
            func.to_tsquery(english, " & ".join(f"{w}:*" for w in words)))
