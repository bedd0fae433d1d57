"""Monitoring executions: checks of a model's data kept as history, tied to the catalog model."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.orm import defer

from .. import views
from ..core import authz
from ..core import models as m
from ..core.authz import Resource
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..store import tables as t
from .base import Actor, ServiceBase, aware
from .locks import lock_listed

MAX_REPORT_CHARS = 5_000_000


def _summary(report: dict) -> dict:
    """What the dashboard shows of a check: drifted column names (at most 100), violation counts
    by check type (at most 50 types), rows checked. Invalid if the report's fields are not so."""
    drifted = report.get("drifted_columns") or []
    by_type = report.get("violations_by_type") or {}
    n_current = report.get("n_current")
    if not isinstance(drifted, list) or not all(isinstance(c, str) and len(c) <= 256 for c in drifted):
        raise Invalid("report.drifted_columns must be a list of column names")
    if not isinstance(by_type, dict) or len(by_type) > 50 or not all(
            isinstance(k, str) and len(k) <= 64 and type(v) is int for k, v in by_type.items()):
        raise Invalid("report.violations_by_type must map up to 50 check types to counts")
    if n_current is not None and type(n_current) is not int:
        raise Invalid("report.n_current must be a whole number of rows")
    return {"drifted_columns": drifted[:100], "violations_by_type": by_type, "n_current": n_current}


# Lists and the dashboard never load the full report; the summary loads when it is shown.
_LIGHT = (defer(t.MonitoringExecution.report), defer(t.MonitoringExecution.summary))


def _shown(row: t.MonitoringExecution, model_name: str) -> dict:
    """An execution as lists and the dashboard show it. A row whose stored summary cannot be
    read or shown as strict JSON (e.g. NaN stored before it was refused) is shown without it,
    marked ``unreadable``, so one broken row never takes a whole view down."""
    datasets = _dataset_names(row.datasets)
    try:
        out = views.execution(row, model_name, with_report=False)
        json.dumps(out, allow_nan=False)
        return {**out, "datasets": datasets}
    except (ValueError, TypeError):
        return {"id": row.id, "model": model_name, "monitor_type": row.monitor_type, "status": row.status,
                "violations": row.violations, "dataset_drift": row.dataset_drift, "summary": None,
                "unreadable": True, "created_by": row.created_by, "created_at": views.iso(row.created_at),
                "datasets": datasets}


def _dataset_names(recorded) -> list[str] | None:
    """The names of the datasets stored with an execution (discoverable metadata); None: unknown."""
    if not isinstance(recorded, list):
        return None
    return [r["name"] for r in recorded if isinstance(r, dict) and isinstance(r.get("name"), str)]


class MonitoringService(ServiceBase):
    def _model(self, s, name: str) -> tuple[t.Asset, str]:
        model = self._asset(s, name)
        if model.kind != "model":
            raise Invalid(f"monitoring executions belong to a model; {name!r} is a {model.kind}")
        return model, self._project_names(s)[model.project_id]

    def record_execution(self, actor: Actor, name: str, body: m.ExecutionCreate) -> dict:
        """Store a check of model ``name``; its summary (shown on everyone's dashboard) is checked
        and bounded here. ``body.datasets`` names the catalog datasets it was computed on; they are
        kept by asset id, and gate who sees the report (get_execution); none named (None or [])
        is unknown: the report is for the model's project only. Invalid for a malformed report or
        an unknown dataset."""
        report = body.report
        if len(json.dumps(report)) > MAX_REPORT_CHARS:
            raise Invalid(f"the report is larger than {MAX_REPORT_CHARS} characters")
        violations = report.get("violations") or []
        if not isinstance(violations, list):
            raise Invalid("report.violations must be a list")
        with self.store.transaction() as s:
            model, pname = self._model(s, name)
            lock_listed(s, model)  # no check recorded on an unpublished model (R16 N4)
            self._authorize(s, actor, authz.MONITOR_RUN,
                            Resource(type="monitor", name=name, project=pname,
                                     classification=model.classification))
            datasets = None
            if body.datasets:  # [] says nothing (an older client, or no catalog data): unknown
                datasets = []
                for ds in dict.fromkeys(body.datasets):
                    a = s.execute(select(t.Asset).where(t.Asset.name == ds)).scalar_one_or_none()
                    if a is None:
                        raise Invalid(f"datasets: no asset named {ds!r} in the catalog")
                    datasets.append({"id": a.id, "name": a.name})
            drift = bool(report.get("dataset_drift"))
            row = t.MonitoringExecution(
                model_asset_id=model.id, monitor_type=body.monitor_type,
                status="CompletedWithViolations" if violations or drift else "Completed",
                violations=len(violations), dataset_drift=drift, report=report, created_by=actor.name,
                summary=_summary(report), datasets=datasets)
            s.add(row)
            s.flush()
            self._audit(s, actor, "monitor.execution", "model", name,
                        {"execution": row.id, "monitor_type": body.monitor_type, "status": row.status,
                         "violations": row.violations, "project": pname,
                         "datasets": _dataset_names(datasets)})
            return {**views.execution(row, model.name, with_report=False), "datasets": _dataset_names(datasets)}

    def list_executions(self, actor: Actor, name: str, q: m.ExecutionQuery) -> dict:
        with self.store.transaction(write=False) as s:
            model, pname = self._model(s, name)
            self._authorize(s, actor, authz.MONITOR_READ, Resource(type="monitor", name=name, project=pname))
            rows = s.execute(select(t.MonitoringExecution).options(*_LIGHT)
                             .where(t.MonitoringExecution.model_asset_id == model.id)
                             .order_by(t.MonitoringExecution.id.desc()).limit(q.limit)).scalars()
            return {"model": name, "executions": [_shown(r, name) for r in rows]}

    def get_execution(self, actor: Actor, name: str, execution_id: int) -> dict:
        with self.store.transaction(write=False) as s:
            model, pname = self._model(s, name)
            principal = self._authorize(s, actor, authz.MONITOR_READ,
                                        Resource(type="monitor", name=name, project=pname))
            row = s.execute(select(t.MonitoringExecution).options(*_LIGHT)
                            .where(t.MonitoringExecution.id == execution_id)).scalar_one_or_none()
            if row is None or row.model_asset_id != model.id:
                raise NotFound(f"model {name!r} has no monitoring execution {execution_id}")
            out = _shown(row, name)
            if self._may_see_report(s, principal, model, pname, row):
                try:
                    out["report"] = row.report
                    json.dumps(out["report"], allow_nan=False)
                except (ValueError, TypeError):
                    out["report"], out["unreadable"] = None, True
            else:
                out["report"] = None
            return out

    def _may_see_report(self, s, principal, model: t.Asset, pname: str, row: t.MonitoringExecution) -> bool:
        """A report's charts and statistics carry values of the data it was computed on: it is
        shown to those who may read the model and every dataset stored with the execution (by
        asset id, as recorded: not the model card's lineage, which may change or not exist). When
        the execution does not say (None, [] as stored before [] meant unknown, or a dataset since
        removed), only to members of the model's project and admins."""
        if not self._may_read_data(s, principal, model, pname):
            return False
        project_only = principal.is_admin or pname in principal.designations
        if not isinstance(row.datasets, list) or not row.datasets:
            return project_only
        projects = self._project_names(s)
        for ref in row.datasets:
            a = s.get(t.Asset, ref.get("id")) if isinstance(ref, dict) and type(ref.get("id")) is int else None
            if a is None:
                return project_only
            if not self._may_read_data(s, principal, a, projects[a.project_id]):
                return False
        return True

    def delete_execution(self, actor: Actor, name: str, execution_id: int) -> dict:
        """Delete one check of model ``name`` (with its acknowledgement): for the owners and
        stewards of the model's project, audited."""
        with self.store.transaction() as s:
            model, pname = self._model(s, name)
            principal = self._authorize(s, actor, authz.MONITOR_MANAGE,
                                        Resource(type="monitor", name=name, project=pname,
                                                 classification=model.classification))
            if not principal.is_admin and principal.designations.get(pname) not in ("owner", "steward"):
                raise Forbidden(f"only owners and stewards of project {pname!r} delete its monitoring executions")
            row = s.execute(select(t.MonitoringExecution).options(*_LIGHT)
                            .where(t.MonitoringExecution.id == execution_id,
                                   t.MonitoringExecution.model_asset_id == model.id)
                            .with_for_update()).scalar_one_or_none()  # a second delete waits: 404
            if row is None:
                raise NotFound(f"model {name!r} has no monitoring execution {execution_id}")
            s.execute(delete(t.AlertAck).where(t.AlertAck.execution_id == row.id))
            self._audit(s, actor, "monitor.execution.delete", "model", name,
                        {"execution": row.id, "monitor_type": row.monitor_type, "status": row.status,
                         "created_by": row.created_by, "project": pname})
            s.delete(row)
            return {"model": name, "deleted": execution_id}

    def _alert(self, s, model_id: int) -> tuple[str, t.MonitoringExecution | None]:
        """("InAlert", the newest check with violations) when the alert rule fires, else ("OK", None)."""
        window = s.execute(select(t.MonitoringExecution).options(*_LIGHT)
                           .where(t.MonitoringExecution.model_asset_id == model_id)
                           .order_by(t.MonitoringExecution.id.desc())
                           .limit(self.alert_evaluation_period)).scalars().all()
        failing = [e for e in window if e.status != "Completed"]
        if len(failing) >= self.alert_datapoints:
            return "InAlert", failing[0]
        return "OK", None

    def acknowledge_alert(self, actor: Actor, name: str, body: m.Decision) -> dict:
        """Acknowledge a model's alert: the newest check with violations that keeps it InAlert."""
        with self.store.transaction() as s:
            model, pname = self._model(s, name)
            self._authorize(s, actor, authz.ALERT_ACK, Resource(type="monitor", name=name, project=pname))
            state, episode = self._alert(s, model.id)
            if episode is None:
                raise Conflict(f"model {name!r} is not in alert: nothing to acknowledge")
            if s.execute(select(t.AlertAck.id).where(t.AlertAck.execution_id == episode.id)).first():
                raise Conflict(f"the alert of model {name!r} (check #{episode.id}) is already acknowledged")
            ack = t.AlertAck(model_asset_id=model.id, execution_id=episode.id, acknowledged_by=actor.name,
                             comment=body.comment)
            s.add(ack)
            s.flush()
            self._audit(s, actor, "alert.ack", "model", name,
                        {"execution": episode.id, "comment": body.comment, "project": pname})
            return views.ack(ack)

    def dashboard(self, actor: Actor) -> dict:
        """Every model with its card status and its latest execution: the Model Dashboard.

        ``models``: ``[{model, project, owner, card, card_status, executions, latest, alert,
        acknowledged, unknown}]``. ``alert`` is ``InAlert`` (the alert rule fires; ``acknowledged``
        says whether someone has), ``Unmonitored`` (an approved model with no recent check),
        ``NotMonitored`` (never checked: its health is unknown, not OK) or ``OK`` (checked, the rule
        does not fire). ``unknown`` names what the dashboard cannot tell (``"never checked"``,
        ``"no model card"``, ``"card not approved"``)."""
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.MONITOR_READ, Resource(type="monitor"))
            names = self._project_names(s)
            models = s.execute(select(t.Asset).where(t.Asset.kind == "model").order_by(t.Asset.name)).scalars()
            latest_ids = dict(s.execute(select(t.MonitoringExecution.model_asset_id,
                                               func.max(t.MonitoringExecution.id))
                                        .group_by(t.MonitoringExecution.model_asset_id)).all())
            counts = dict(s.execute(select(t.MonitoringExecution.model_asset_id, func.count())
                                    .group_by(t.MonitoringExecution.model_asset_id)).all())
            cards = {c.model_asset_id: c for c in s.execute(select(t.ModelCard)).scalars()}
            out = []
            for a in models:
                ex = s.execute(select(t.MonitoringExecution).options(*_LIGHT).where(
                    t.MonitoringExecution.id == latest_ids[a.id])).scalar_one() if a.id in latest_ids else None
                state, episode = self._alert(s, a.id) if ex is not None else ("OK", None)
                ack = s.execute(select(t.AlertAck).where(t.AlertAck.execution_id == episode.id)
                                ).scalar_one_or_none() if episode is not None else None
                card = cards.get(a.id)
                status = None
                if card is not None:
                    status = s.execute(select(t.ModelCardVersion.status).where(
                        t.ModelCardVersion.card_id == card.id,
                        t.ModelCardVersion.version == card.latest_version)).scalar_one()
                if state == "OK" and self._unmonitored(status, ex):
                    state = "Unmonitored"
                elif state == "OK" and ex is None:
                    state = "NotMonitored"
                unknown = (["never checked"] if ex is None else []) + (
                    ["no model card"] if card is None else ["card not approved"] if status != "Approved" else [])
                out.append({"model": a.name, "project": names[a.project_id], "owner": a.owner,
                            "card": card.name if card else None, "card_status": status,
                            "executions": counts.get(a.id, 0),
                            "latest": _shown(ex, a.name) if ex else None,
                            "alert": state, "acknowledged": views.ack(ack) if ack else None,
                            "unknown": unknown})
            return {"models": out, "alert_rule": {"evaluation_period": self.alert_evaluation_period,
                                                  "datapoints_to_alert": self.alert_datapoints,
                                                  "monitor_max_age_days": self.monitor_max_age_days}}

    def _unmonitored(self, card_status: str | None, latest: t.MonitoringExecution | None) -> bool:
        """An approved model that nobody checks: never, or not within monitor_max_age_days."""
        if self.monitor_max_age_days is None or card_status != "Approved":
            return False
        if latest is None:
            return True
        age = datetime.now(timezone.utc) - aware(latest.created_at)
        return age > timedelta(days=self.monitor_max_age_days)
