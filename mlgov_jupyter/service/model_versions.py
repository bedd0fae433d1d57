"""Model revisions under governance (SageMaker model registry's model package versions): each
revision of a model asset has an approval status, aliases point at revisions and move, and a
project may require an approved revision described by an approved card before ``use`` returns it.

- Status: ``PendingManualApproval`` (a new revision), ``Approved`` or ``Rejected``, decided with a
  comment by the owners and stewards of the model's project (``card:approve``, the activity that
  approves model cards and, in the IAM export, ``sagemaker:UpdateModelPackage``). Separation of
  duties: whoever published a revision never decides it, admins included (as with cards: a
  second person looks at every model that is approved). Every decision is a row kept as history.
- Aliases (``champion``, ``challenger``, any name matching ``core.models.ALIAS_PATTERN``) point at
  one revision; owners and stewards (``catalog:decide``) move them; every move is kept.
- The project setting ``model_approval`` (``off`` | ``warn`` | ``refuse``, owners): ``use`` of a
  model revision that is not Approved, or that no Approved card version describes, returns it
  (``off``), returns it with a warning (``warn``) or is a 403 (``refuse``).

Every write is authorized and audited in its transaction.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import views
from ..core import authz
from ..core import models as m
from ..core.authz import Resource
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..store import tables as t
from .base import Actor, ServiceBase
from .locks import lock_rows

PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
APPROVAL_POLICIES = ("off", "warn", "refuse")
_ALIAS = re.compile(m.ALIAS_PATTERN)


class ModelVersionService(ServiceBase):
    # ---- lookups shared with the catalog (use) and cards --------------------------------------

    def _model_asset(self, s: Session, name: str, lock: bool = False) -> t.Asset:
        """The model asset ``name``; ``lock``: its row locked for this transaction (PostgreSQL), so
        two decisions or alias moves on one model run one after the other."""
        a = self._asset(s, name)
        if lock:
            lock_rows(s, a)
        if a.kind != "model":
            raise Invalid(f"{name!r} is a {a.kind.replace('_', ' ')}; model versions are of models")
        if lock and not a.listed:  # a decision or an alias move on an unpublished model (R16 N4)
            from .lifecycle import unpublished_message

            raise NotFound(unpublished_message(a))
        return a

    def _model_ref(self, s: Session, name: str, revision: int | None) -> tuple[str, int | None, str | None]:
        """``name`` or ``name@alias`` -> (asset name, revision, alias). Invalid when both an alias
        and a revision are given, NotFound for an alias the model does not have."""
        if "@" not in name:
            return name, revision, None
        base, alias = name.split("@", 1)
        if revision is not None:
            raise Invalid(f"{name!r} names a revision by its alias; do not also give revision={revision}")
        a = self._model_asset(s, base)
        row = s.execute(select(t.ModelAlias).where(t.ModelAlias.asset_id == a.id,
                                                   t.ModelAlias.alias == alias)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"model {base!r} has no alias {alias!r} (see %mlgov model versions {base})")
        return base, row.revision, alias

    def _approval_history(self, s: Session, asset_id: int) -> dict[int, list[t.ModelApproval]]:
        out: dict[int, list[t.ModelApproval]] = {}
        for row in s.execute(select(t.ModelApproval).where(t.ModelApproval.asset_id == asset_id)
                             .order_by(t.ModelApproval.id)).scalars():
            out.setdefault(row.revision, []).append(row)
        return out

    def _approval_status(self, s: Session, asset_id: int, revision: int) -> str:
        row = s.execute(select(t.ModelApproval.status).where(
            t.ModelApproval.asset_id == asset_id, t.ModelApproval.revision == revision)
            .order_by(t.ModelApproval.id.desc()).limit(1)).first()
        return row[0] if row else PENDING

    def _describing_cards(self, s: Session, asset_id: int) -> dict[int, list[dict]]:
        """revision -> the card versions that describe it ``{"card", "version", "status", "content_hash"}``."""
        rows = s.execute(select(t.ModelCard.name, t.ModelCardVersion)
                         .join(t.ModelCardVersion, t.ModelCardVersion.card_id == t.ModelCard.id)
                         .where(t.ModelCard.model_asset_id == asset_id,
                                t.ModelCardVersion.model_revision.is_not(None))
                         .order_by(t.ModelCardVersion.version)).all()
        out: dict[int, list[dict]] = {}
        for card_name, v in rows:
            out.setdefault(v.model_revision, []).append(
                {"card": card_name, "version": v.version, "status": v.status,
                 "content_hash": v.model_content_hash})
        return out

    def _setting(self, s: Session, project_id: int, key: str, default: str) -> str:
        row = s.execute(select(t.ProjectSetting.value).where(t.ProjectSetting.project_id == project_id,
                                                             t.ProjectSetting.key == key)).first()
        return row[0] if row else default

    def _model_gate(self, s: Session, a: t.Asset, rev: t.AssetRevision, project_name: str,
                    actor: Actor | None = None, action: str = authz.CATALOG_CONSUME) -> dict:
        """What ``use`` (or a deployment: service/deployments.py) of model revision ``rev`` may
        return under its project's ``model_approval``: ``{"approval_status", "approved_card",
        "warning"}``; Forbidden under ``refuse`` when the revision is not Approved or no Approved
        card version describes it (same content), audited as a refusal of ``action`` when
        ``actor`` is given."""
        policy = self._setting(s, a.project_id, "model_approval", "off")
        status = self._approval_status(s, a.id, rev.revision)
        cards = [c for c in self._describing_cards(s, a.id).get(rev.revision, [])
                 if c["status"] == "Approved" and c["content_hash"] == rev.content_hash]
        card = f"{cards[-1]['card']} v{cards[-1]['version']}" if cards else None
        out = {"approval_status": status, "approved_card": card, "warning": None}
        if policy == "off" or (status == APPROVED and card):
            return out
        missing = []
        if status != APPROVED:
            missing.append(f"is {status}")
        if not card:
            missing.append("has no Approved model card describing it")
        message = (f"model {a.name!r} revision {rev.revision} {' and '.join(missing)}; project "
                   f"{project_name} requires both (model_approval={policy})")
        if policy == "refuse":
            message += f": see %mlgov model versions {a.name}"
            if actor is not None:  # audited as a refusal, like the authorizer's
                self._note_denial(s, actor, action, self._asset_resource(a, project_name), message)
            raise Forbidden(message)
        out["warning"] = message
        return out

    def _model_resource(self, s: Session, a: t.Asset, **attrs) -> Resource:
        return self._asset_resource(a, self._project_names(s)[a.project_id], **attrs)

    # ---- reads -------------------------------------------------------------------------------

    def model_versions(self, actor: Actor, name: str) -> dict:
        """A model's revisions, newest first: ``{"name", "project", "model_approval", "latest_revision",
        "may_decide", "revisions": [{"revision", "created_by", "created_at", "content_hash" (None
        unless you may read the model), "approval_status", "decided_by", "decided_at", "comment",
        "history": [{"status", "comment", "by", "at"}], "aliases": [names], "cards": [{"card",
        "version", "status"}]}], "aliases": [{"alias", "revision", "moved_by", "moved_at"}],
        "alias_history": [{"alias", "from_revision", "to_revision", "moved_by", "moved_at"}]}``.
        Open to every user who may read the catalog entry; NotFound, Invalid for a dataset."""
        with self.store.transaction(write=False) as s:
            a = self._model_asset(s, name)
            pname = self._project_names(s)[a.project_id]
            principal = self._authorize(s, actor, authz.CATALOG_READ, self._asset_resource(a, pname))
            reveal = self._may_read_data(s, principal, a, pname)
            history = self._approval_history(s, a.id)
            cards = self._describing_cards(s, a.id)
            aliases = list(s.execute(select(t.ModelAlias).where(t.ModelAlias.asset_id == a.id)
                                     .order_by(t.ModelAlias.alias)).scalars())
            moves = list(s.execute(select(t.ModelAliasMove).where(t.ModelAliasMove.asset_id == a.id)
                                   .order_by(t.ModelAliasMove.id.desc())).scalars())
            revisions = []
            for r in reversed(self._revisions(s, a.id)):
                rows = history.get(r.revision, [])
                last = rows[-1] if rows else None
                revisions.append({
                    "revision": r.revision, "created_by": r.created_by, "created_at": views.iso(r.created_at),
                    "content_hash": r.content_hash if reveal else None,
                    "approval_status": last.status if last else PENDING,
                    "decided_by": last.decided_by if last else None,
                    "decided_at": views.iso(last.decided_at) if last else None,
                    "comment": last.comment if last else None,
                    "history": [{"status": h.status, "comment": h.comment, "by": h.decided_by,
                                 "at": views.iso(h.decided_at)} for h in rows],
                    "aliases": [al.alias for al in aliases if al.revision == r.revision],
                    "cards": [{k: c[k] for k in ("card", "version", "status")}
                              for c in cards.get(r.revision, [])],
                })
            may_decide = self._authorizer(s).decide(
                principal, authz.CARD_APPROVE, self._asset_resource(a, pname)).allowed
            return {"name": a.name, "project": pname, "latest_revision": a.latest_revision,
                    "model_approval": self._setting(s, a.project_id, "model_approval", "off"),
                    "may_decide": may_decide, "revisions": revisions,
                    "aliases": [{"alias": al.alias, "revision": al.revision, "moved_by": al.moved_by,
                                 "moved_at": views.iso(al.moved_at)} for al in aliases],
                    "alias_history": [{"alias": mv.alias, "from_revision": mv.from_revision,
                                       "to_revision": mv.to_revision, "moved_by": mv.moved_by,
                                       "moved_at": views.iso(mv.moved_at)} for mv in moves]}

    # ---- writes ------------------------------------------------------------------------------

    def decide_model(self, actor: Actor, name: str, revision: int, body: m.ModelDecision,
                     approve: bool) -> dict:
        """Approve or reject revision ``revision`` of model ``name`` with a comment (owners and
        stewards of its project, never its publisher). Returns ``model_versions(name)``.
        NotFound (no such model/revision), Forbidden (not allowed, or the publisher: separation
        of duties), Conflict (the revision already has that status)."""
        status = APPROVED if approve else REJECTED
        with self.store.transaction() as s:
            a = self._model_asset(s, name, lock=True)
            rev = next((r for r in self._revisions(s, a.id) if r.revision == revision), None)
            if rev is None:
                raise NotFound(f"model {name!r} has no revision {revision} (latest is {a.latest_revision})")
            pname = self._project_names(s)[a.project_id]
            # separation of duties, for everyone (admins too): the publisher never decides
            resource = Resource(type="asset", name=a.name, project=pname, classification=a.classification)
            if actor.name == rev.created_by:
                reason = (f"{actor.name} published {name!r} revision {revision} and may not decide its "
                          f"approval (separation of duties): another owner or steward of {pname} decides")
                self._note_denial(s, actor, authz.CARD_APPROVE, resource, reason)
                raise Forbidden(reason)
            self._authorize(s, actor, authz.CARD_APPROVE, resource)
            previous = self._approval_status(s, a.id, revision)
            if previous == status:
                raise Conflict(f"model {name!r} revision {revision} is already {status}")
            now = datetime.now(timezone.utc)
            s.add(t.ModelApproval(asset_id=a.id, revision=revision, status=status, comment=body.comment,
                                  decided_by=actor.name, decided_at=now))
            self._audit(s, actor, "model.approve" if approve else "model.reject", "asset", name,
                        {"revision": revision, "status": status, "previous": previous,
                         "comment": body.comment, "content_hash": rev.content_hash, "project": pname})
        return self.model_versions(actor, name)

    def set_alias(self, actor: Actor, name: str, alias: str, body: m.AliasSet) -> dict:
        """Point ``alias`` of model ``name`` at ``body.revision`` (owners and stewards of its
        project); the move is kept with who and when. Returns ``model_versions(name)``. Invalid
        (alias not matching ``[a-z][a-z0-9_-]{0,63}``), NotFound (no such revision), Conflict
        (it already points there)."""
        if not _ALIAS.match(alias):
            raise Invalid(f"alias {alias!r}: lower-case letters, digits, '-' and '_', starting with a "
                          f"letter, at most 64 characters")
        with self.store.transaction() as s:
            a = self._model_asset(s, name, lock=True)
            pname = self._project_names(s)[a.project_id]
            self._authorize(s, actor, authz.CATALOG_DECIDE, self._asset_resource(a, pname))
            if not any(r.revision == body.revision for r in self._revisions(s, a.id)):
                raise NotFound(f"model {name!r} has no revision {body.revision} (latest is {a.latest_revision})")
            row = s.execute(select(t.ModelAlias).where(t.ModelAlias.asset_id == a.id,
                                                       t.ModelAlias.alias == alias)).scalar_one_or_none()
            previous = row.revision if row else None
            if previous == body.revision:
                raise Conflict(f"alias {alias!r} of {name!r} already points at revision {body.revision}")
            now = datetime.now(timezone.utc)
            if row is None:
                s.add(t.ModelAlias(asset_id=a.id, alias=alias, revision=body.revision, moved_by=actor.name,
                                   moved_at=now))
            else:
                row.revision, row.moved_by, row.moved_at = body.revision, actor.name, now
            s.add(t.ModelAliasMove(asset_id=a.id, alias=alias, from_revision=previous,
                                   to_revision=body.revision, moved_by=actor.name, moved_at=now))
            self._audit(s, actor, "model.alias", "asset", name,
                        {"alias": alias, "from": previous, "to": body.revision, "project": pname})
        return self.model_versions(actor, name)

    def project_settings(self, actor: Actor, project: str) -> dict:
        """``{"project", "model_approval"}`` (every signed-in user may read them)."""
        with self.store.transaction(write=False) as s:
            p = self._project(s, project)
            self._authorize(s, actor, authz.PROJECT_READ, Resource(type="project", name=p.name, project=p.name))
            return {"project": p.name, "model_approval": self._setting(s, p.id, "model_approval", "off")}

    def set_project_settings(self, actor: Actor, project: str, body: m.ProjectSettings) -> dict:
        """Set ``model_approval`` (owners of the project; audited with the old value)."""
        with self.store.transaction() as s:
            p = self._project(s, project)
            self._authorize(s, actor, authz.PROJECT_MANAGE, Resource(type="project", name=p.name, project=p.name))
            row = s.execute(select(t.ProjectSetting).where(t.ProjectSetting.project_id == p.id,
                                                           t.ProjectSetting.key == "model_approval")
                            ).scalar_one_or_none()
            old = row.value if row else "off"
            now = datetime.now(timezone.utc)
            if row is None:
                s.add(t.ProjectSetting(project_id=p.id, key="model_approval", value=body.model_approval,
                                       updated_by=actor.name, updated_at=now))
            else:
                row.value, row.updated_by, row.updated_at = body.model_approval, actor.name, now
            self._audit(s, actor, "project.settings", "project", p.name,
                        {"model_approval": {"old": old, "new": body.model_approval}, "project": p.name})
            return {"project": p.name, "model_approval": body.model_approval}
