"""Asset filters (DataZone's term): named scopes of a dataset, a column allow-list and a row filter.
Owners and stewards define them; a request may ask for one; an approval may narrow it; the
service's scan applies the grant's filter, so a filtered-out column or row never leaves it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core import authz, row_filters
from ..core import models as m
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..store import tables as t
from .base import Actor, ServiceBase
from .locks import lock_listed


@dataclass(frozen=True)
class Scope:
    """What one reader may see of a dataset: ``columns`` (None: all) and ``rows`` (a normalised
    row filter; None: all), named by the filter they come from."""

    name: str
    columns: list | None
    rows: list | None

    def columns_for(self, wanted: list | None) -> list | None:
        """The columns to scan: what was asked, within the scope. Forbidden for others."""
        if self.columns is None:
            return wanted
        if wanted is None:
            return list(self.columns)
        outside = [c for c in wanted if c not in self.columns]
        if outside:
            raise Forbidden(f"column {', '.join(map(repr, outside))} is outside your grant "
                            f"(asset filter {self.name!r}: {', '.join(self.columns)})")
        return wanted

    def rows_for(self, wanted: list | None) -> list | None:
        """The scope's rows and the asked ones. Forbidden for a filter on a column outside the
        scope: which rows come back would tell that column's values."""
        if self.columns is not None:
            outside = sorted(row_filters.columns_of(wanted) - set(self.columns))
            if outside:
                raise Forbidden(f"column {', '.join(map(repr, outside))} is outside your grant "
                                f"(asset filter {self.name!r}): you may not filter on it")
        return row_filters.conjoin(self.rows, wanted)


def view(f: t.AssetFilter, reveal: bool = True) -> dict:
    """``reveal``: the caller may read the whole dataset; others see which columns a row filter
    tests but not its values (they can be values of the data)."""
    out = {"name": f.name, "description": f.description, "columns": f.columns, "rows": f.row_filter,
           "row_columns": sorted(row_filters.columns_of(f.row_filter)),
           "created_by": f.created_by, "created_at": f.created_at.isoformat() if f.created_at else None}
    if not reveal:
        out["rows"] = None
    return out


def narrows(new: t.AssetFilter | None, asked: t.AssetFilter | None) -> bool:
    """Whether granting ``new`` gives no more than ``asked`` (None: everything): its columns are
    among the asked ones and each of its row alternatives holds all terms of one asked alternative
    (a syntactic check: sound, not complete)."""
    if asked is None:
        return True
    if new is None:
        return False
    if asked.columns is not None and (new.columns is None or not set(new.columns) <= set(asked.columns)):
        return False
    if asked.row_filter:
        if not new.row_filter:
            return False
        asked_groups = [{_key(term) for term in g} for g in asked.row_filter]
        return all(any(a <= {_key(term) for term in g} for a in asked_groups) for g in new.row_filter)
    return True


def _key(term) -> str:
    import json

    return json.dumps(term, sort_keys=True)


class AssetFilterService(ServiceBase):
    def list_filters(self, actor: Actor, name: str) -> dict:
        with self.store.transaction(write=False) as s:
            a = self._asset(s, name)
            pname = self._project_names(s)[a.project_id]
            principal = self._authorize(s, actor, authz.CATALOG_READ, self._asset_resource(a, pname))
            reveal = self._may_read_data(s, principal, a, pname)
            rows = s.execute(select(t.AssetFilter).where(t.AssetFilter.asset_id == a.id)
                             .order_by(t.AssetFilter.name)).scalars()
            return {"asset": a.name, "filters": [view(f, reveal) for f in rows]}

    def create_filter(self, actor: Actor, name: str, body: m.AssetFilterCreate) -> dict:
        """Owners and stewards of the asset's project (they decide its grants). Invalid for
        columns the dataset does not have or a malformed row filter; Conflict for a taken name."""
        if body.columns is None and body.rows is None:
            raise Invalid("an asset filter needs columns, rows or both")
        rows = row_filters.normalise(body.rows)
        with self.store.transaction() as s:
            a = self._asset(s, name)
            lock_listed(s, a)  # none on an unpublished asset, nor in the same instant as its unpublish
            pname = self._project_names(s)[a.project_id]
            self._authorize(s, actor, authz.CATALOG_DECIDE, self._asset_resource(a, pname))
            if a.kind == "model":
                raise Invalid(f"{a.name!r} is a model: asset filters scope datasets and feature groups")
            schema = {c["name"] for c in self._revisions(s, a.id)[-1].schema or []}
            unknown = sorted((set(body.columns or []) | row_filters.columns_of(rows)) - schema)
            if unknown:
                raise Invalid(f"{a.name!r} has no column {', '.join(map(repr, unknown))}")
            if s.execute(select(t.AssetFilter.id).where(t.AssetFilter.asset_id == a.id,
                                                        t.AssetFilter.name == body.name)).first():
                raise Conflict(f"{a.name!r} already has an asset filter named {body.name!r}")
            f = t.AssetFilter(asset_id=a.id, name=body.name, description=body.description,
                              columns=list(dict.fromkeys(body.columns)) if body.columns else None,
                              row_filter=rows, created_by=actor.name, created_at=datetime.now(timezone.utc))
            s.add(f)
            s.flush()
            self._audit(s, actor, "asset.filter.create", "asset", a.name,
                        {"filter": f.name, "columns": f.columns, "rows": f.row_filter, "project": pname})
            return view(f)

    def delete_filter(self, actor: Actor, name: str, filter_name: str) -> dict:
        """Conflict (naming it) while an active grant or a pending request uses it. The filter's
        row is locked first, as request_access and decide lock it: a request or an approval
        using it at the same instant either commits before (this one then sees it: Conflict) or
        waits and finds no filter (NotFound); a grant or request in use is never widened."""
        with self.store.transaction() as s:
            a = self._asset(s, name)
            pname = self._project_names(s)[a.project_id]
            self._authorize(s, actor, authz.CATALOG_DECIDE, self._asset_resource(a, pname))
            f = self._filter(s, a, filter_name, lock=True)
            g = s.execute(select(t.Grant.id, t.Grant.grantee).where(t.Grant.filter_id == f.id,
                                                                    t.Grant.status == "active")).first()
            r = s.execute(select(t.AccessRequest.id, t.AccessRequest.requester).where(
                t.AccessRequest.filter_id == f.id, t.AccessRequest.status == "pending")).first()
            if g or r:
                what = f"{g.grantee}'s active grant {g.id}" if g else f"{r.requester}'s pending request {r.id}"
                raise Conflict(f"asset filter {filter_name!r} scopes {what}; revoke or decide it first")
            # ended grants and decided requests forget it (the audit trail keeps its name); an
            # active or pending one is never cleared (that would widen it to the whole asset)
            s.execute(t.Grant.__table__.update().where(t.Grant.filter_id == f.id, t.Grant.status != "active")
                      .values(filter_id=None))
            s.execute(t.AccessRequest.__table__.update().where(t.AccessRequest.filter_id == f.id,
                                                               t.AccessRequest.status != "pending")
                      .values(filter_id=None))
            self._audit(s, actor, "asset.filter.delete", "asset", a.name, {"filter": f.name, "project": pname})
            s.delete(f)
            return {"asset": a.name, "deleted": filter_name}

    # ---- used by the catalog -------------------------------------------------------------

    def _filter(self, s: Session, a: t.Asset, filter_name: str, lock: bool = False) -> t.AssetFilter:
        """``lock``: its row locked until commit (PostgreSQL; SQLite serializes writers), so a
        delete of it and a request or approval using it run one after the other. NotFound."""
        stmt = select(t.AssetFilter).where(t.AssetFilter.asset_id == a.id, t.AssetFilter.name == filter_name)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        f = s.execute(stmt).scalar_one_or_none()
        if f is None:
            raise NotFound(f"{a.name!r} has no asset filter named {filter_name!r} "
                           f"(see %mlgov filter list {a.name})")
        return f

    def _locked_filters(self, s: Session, a: t.Asset, ids: set) -> dict:
        """The asset's filters of ``ids`` (None skipped), id -> row, locked in id order (two
        approvals locking two filters never deadlock). NotFound when one was deleted."""
        ids = sorted(i for i in ids if i is not None)
        if not ids:
            return {}
        rows = {f.id: f for f in s.execute(select(t.AssetFilter).where(t.AssetFilter.id.in_(ids))
                                           .order_by(t.AssetFilter.id).with_for_update()
                                           .execution_options(populate_existing=True)).scalars()}
        if len(rows) < len(ids):
            raise NotFound(f"an asset filter of {a.name!r} was deleted meanwhile "
                           f"(see %mlgov filter list {a.name})")
        return rows

    def _filter_names(self, s: Session, ids: set) -> dict:
        ids = {i for i in ids if i is not None}
        if not ids:
            return {}
        return dict(s.execute(select(t.AssetFilter.id, t.AssetFilter.name).where(t.AssetFilter.id.in_(ids))).all())

    def _scope(self, s: Session, grant: t.Grant | None) -> Scope | None:
        """The scope of a grant (None: the whole asset)."""
        if grant is None or grant.filter_id is None:
            return None
        f = s.get(t.AssetFilter, grant.filter_id)
        return Scope(f.name, f.columns, f.row_filter)
