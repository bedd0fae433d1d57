"""Rows to the API's response dicts: the one place that shapes what clients see."""

from __future__ import annotations

from datetime import datetime, timezone

from .store import tables as t


def iso(value: datetime | None) -> str | None:
    """UTC, always with its offset (SQLite hands datetimes back without one)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def project(p: t.Project, members: list[t.Membership]) -> dict:
    return {"name": p.name, "description": p.description, "created_by": p.created_by,
            "created_at": iso(p.created_at),
            "members": [{"user": m.user, "designation": m.designation} for m in members]}


def asset_summary(a: t.Asset, project_name: str, rev: t.AssetRevision, access: str) -> dict:
    return {"name": a.name, "kind": a.kind, "project": project_name, "owner": a.owner,
            "description": a.description, "tags": list(a.tags or []),
            "classification": a.classification, "revision": a.latest_revision,
            "updated_at": iso(a.updated_at), "row_count": rev.row_count, "access": access,
            **lifecycle(a)}


def lifecycle(a: t.Asset) -> dict:
    """``deprecated`` and ``unpublished``: None, or ``{"at", "by", "reason"}`` (deprecated: and
    ``replacement``, an asset name or None)."""
    return {"deprecated": {"at": iso(a.deprecated_at), "by": a.deprecated_by, "reason": a.deprecation_reason,
                           "replacement": a.replacement} if a.deprecated_at else None,
            "unpublished": {"at": iso(a.unpublished_at), "by": a.unpublished_by, "reason": a.unpublish_reason}
            if a.unpublished_at else None}


def revision(r: t.AssetRevision, reveal: bool = True) -> dict:
    return {"revision": r.revision, "format": r.format, "classification": r.classification,
            "content_hash": r.content_hash if reveal else None,
            "row_count": r.row_count, "size_bytes": r.size_bytes, "created_by": r.created_by,
            "created_at": iso(r.created_at)}


def asset_detail(a: t.Asset, project_name: str, revs: list[t.AssetRevision], access: str,
                 reveal: bool = True) -> dict:
    """``reveal``: the caller may read the data, so may see what holds its values (the column
    summary's top values and ranges, the location, the content hash, which would confirm a
    guess of the data); others see the discoverable metadata only."""
    latest = revs[-1]
    out = asset_summary(a, project_name, latest, access)
    out.update({"glossary_terms": list(a.glossary_terms or []), "schema": latest.schema or [],
                "summary": (latest.summary or {}) if reveal else {},
                "location": latest.location if reveal else None,
                "content_hash": latest.content_hash if reveal else None, "format": latest.format,
                "features": latest.features or None, "revisions": [revision(r, reveal) for r in revs]})
    return out


def access_request(r: t.AccessRequest, a: t.Asset, project_name: str, asked: str | None = None,
                   granted: str | None = None) -> dict:
    """``asked``: the asset filter the request names; ``granted``: the one its grant carries."""
    out = {"id": r.id, "asset": a.name, "project": project_name, "requester": r.requester,
           "reason": r.reason, "status": r.status, "created_at": iso(r.created_at),
           "decided_by": r.decided_by, "decision_comment": r.decision_comment,
           "decided_at": iso(r.decided_at), "asset_filter": asked}
    if r.status == "accepted":
        out["granted_filter"] = granted
    return out


def subscription(s: t.Subscription, a: t.Asset, g: t.Grant | None, scope: str | None = None) -> dict:
    """``scope``: the asset filter of its grant (None: the whole asset)."""
    return {"id": s.id, "asset": a.name, "subscriber": s.subscriber, "status": s.status,
            "request_id": s.request_id, "created_at": iso(s.created_at),
            "ended_by": s.ended_by, "ended_at": iso(s.ended_at),
            "grant_status": _grant_status(g),
            "grant_expires_at": iso(g.expires_at) if g else None, "asset_filter": scope}


def _grant_status(g: t.Grant | None) -> str | None:
    if g is None:
        return None
    if g.status == "active" and g.expires_at is not None:
        expires = g.expires_at if g.expires_at.tzinfo else g.expires_at.replace(tzinfo=timezone.utc)
        if expires <= datetime.now(timezone.utc):
            return "expired"
    return g.status


def audit_event(e: t.AuditEvent) -> dict:
    return {"id": e.id, "ts": e.ts, "actor": e.actor, "action": e.action,
            "resource_type": e.resource_type, "resource_id": e.resource_id, "detail": e.detail,
            "project": e.project,
            "hash": e.hash}


def card(c: t.ModelCard, v: t.ModelCardVersion, versions: list[t.ModelCardVersion], model: t.Asset,
         project_name: str) -> dict:
    approved = [x.version for x in versions if x.status == "Approved"]
    return {"name": c.name, "model": model.name, "project": project_name, "author": c.author,
            "version": v.version, "latest_version": c.latest_version, "status": v.status,
            "content": v.content, "lineage": v.lineage or {"training": [], "evaluation": []},
            "risk_rating": (v.content.get("intended_uses") or {}).get("risk_rating", "Unknown"),
            "created_by": v.created_by, "created_at": iso(v.created_at), "updated_at": iso(c.updated_at),
            "submitted_by": v.submitted_by, "approved_by": v.reviewed_by if v.status == "Approved" else None,
            "approved_at": iso(v.reviewed_at) if v.status == "Approved" else None,
            "review_comment": v.review_comment, "approved_version": approved[-1] if approved else None,
            "versions": [{"version": x.version, "status": x.status, "created_by": x.created_by,
                          "created_at": iso(x.created_at), "reviewed_by": x.reviewed_by,
                          "reviewed_at": iso(x.reviewed_at)}
                         for x in versions]}


def execution(e: t.MonitoringExecution, model_name: str, with_report: bool) -> dict:
    out = {"id": e.id, "model": model_name, "monitor_type": e.monitor_type, "status": e.status,
           "violations": e.violations, "dataset_drift": e.dataset_drift, "summary": e.summary,
           "created_by": e.created_by, "created_at": iso(e.created_at)}
    if with_report:
        out["report"] = e.report
    return out


def ack(a: t.AlertAck) -> dict:
    return {"execution": a.execution_id, "by": a.acknowledged_by, "comment": a.comment,
            "at": iso(a.created_at)}
