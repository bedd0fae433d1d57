"""Stored monitors (SageMaker's monitoring schedules): created, started, stopped, run now or by
the service's scheduler, each run an execution of the watched model with the window it saw.

A run is claimed in the store before it starts (``running_since``, set only where it is unset or
stale), so two schedulers (two service copies) or a scheduler and a person never run one monitor
twice at once; the schedule's next fire time is kept in the store, so a restart neither loses nor
repeats a run (a run missed while the service was down runs once, then the schedule goes on).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from .. import views
from ..core import authz, schedules
from ..core.catalog import scan_batch_rows
from ..core import models as m
from ..core.authz import Resource
from ..core.errors import Conflict, Forbidden, GovernanceError, Invalid, NotFound
from ..core.monitoring import Baseline
from ..store import tables as t
from .base import Actor, aware, chunks, preload
from .content_refs import hold_content
from .creator_groups import CreatorGroups
from .locks import advisory_lock, lock_listed

log = logging.getLogger("mlgov.monitors")

SCHEDULER = Actor("mlgov-scheduler")  # who scheduled runs and built-in alerts are by, in the audit trail
RUN_LEASE = timedelta(hours=1)  # a run claimed longer ago than this is taken to have died with its process
MAX_BASELINE_BYTES = 16 << 20
TYPES_RUN = ("data_quality", "model_quality", "bias")
HIDDEN_REASON = "the run failed; the reason is shown to those who may read the data it checked"


def _now() -> datetime:
    return datetime.now(timezone.utc)


class MonitorService(CreatorGroups):
    monitor_failed_runs: int = 3  # failed runs in a row that make a monitor inactive
    monitor_engine: str = "inprocess"  # or "dask" (monitor_dask_address)
    monitor_dask_address: str = ""
    monitor_workers: int = 1  # scheduled runs at a time, on threads apart from those serving requests
    monitor_max_per_project: int = 50
    monitor_max_per_user: int = 100  # across all projects (anyone may create projects)
    monitor_ground_truth_rows: int = 5_000_000  # labels a run joins at most (the newest uploads)

    def _run_progress(self) -> dict:
        """monitor id -> [rows read, rows in the window] of the runs going on in this process."""
        return self.__dict__.setdefault("_progress", {})

    @property
    def monitor_executor(self):
        """The threads scheduled monitor runs use: never the pool that serves other calls."""
        return self._threads("_monitor_pool", self.monitor_workers, "mlgov-monitor")

    @property
    def monitor_request_executor(self):
        """The threads run-now requests use: apart from scheduled runs (a project's many
        scheduled monitors never hold a person's run) and from the pool that serves other calls."""
        return self._threads("_monitor_request_pool", self.monitor_workers, "mlgov-monitor-now")

    # ---- records -----------------------------------------------------------------------------

    def _monitor(self, s, name: str, lock: bool = False) -> t.Monitor:
        stmt = select(t.Monitor).where(t.Monitor.name == name)  # lock: its row, until commit
        row = s.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no monitor named {name!r} (see %mlgov monitor list)")
        return row

    def _failure_shown(self, s, principal, mon: t.Monitor, names: dict, row) -> str | None:
        """A failed run's reason for this reader: whole for those who may see its report (the
        reason can quote a value of the data, e.g. a library's conversion error), else a generic
        line. ``row``: an execution or anything with ``failure_reason`` and ``datasets``."""
        if not row.failure_reason:
            return row.failure_reason
        model = s.get(t.Asset, mon.model_asset_id)
        if self._may_see_report(s, principal, model, names[mon.project_id], row):
            return row.failure_reason
        return HIDDEN_REASON

    def _show_monitor(self, s, mon: t.Monitor, names: dict, principal) -> dict:
        return self._show_monitors(s, [mon], names, principal)[0]

    def _show_monitors(self, s, mons: list, names: dict, principal) -> list[dict]:
        """The views of ``mons``, read in a few queries for all of them (not a few per monitor)."""
        ids = [mon.id for mon in mons]
        held = (preload(s, t.Deployment, {mon.deployment_id for mon in mons}),  # s.get finds them while held
                preload(s, t.Asset, {mon.model_asset_id for mon in mons} | {mon.dataset_asset_id for mon in mons}))
        authorizer = self._authorizer(s)
        E = t.MonitoringExecution
        last, alerts = {}, {}
        for chunk in chunks(ids):
            newest = select(func.max(E.id)).where(E.monitor_id.in_(chunk)).group_by(E.monitor_id)
            for row in s.execute(select(E.monitor_id, E.id, E.status, E.created_at, E.failure_reason, E.datasets)
                                 .where(E.id.in_(newest))):
                last[row.monitor_id] = row
            for mid, kind in s.execute(select(t.Alert.monitor_id, t.Alert.kind).where(
                    t.Alert.monitor_id.in_(chunk), t.Alert.resolved_at.is_(None)).order_by(t.Alert.id)):
                alerts.setdefault(mid, []).append(kind)
        views_ = [self._monitor_view(s, mon, names, principal, last.get(mon.id), alerts.get(mon.id, []),
                                     authorizer) for mon in mons]
        del held
        return views_

    def _monitor_view(self, s, mon: t.Monitor, names: dict, principal, last, alerts: list, authorizer) -> dict:
        dep = s.get(t.Deployment, mon.deployment_id) if mon.deployment_id else None
        data = s.get(t.Asset, mon.dataset_asset_id) if mon.dataset_asset_id else None
        return {"name": mon.name, "project": names[mon.project_id], "model": s.get(t.Asset, mon.model_asset_id).name,
                "deployment": dep.name if dep else None, "data": data.name if data else None,
                "monitor_type": mon.monitor_type, "schedule": mon.schedule,
                "status": "Scheduled" if mon.active else "Stopped", "active": mon.active,
                "thresholds": mon.thresholds, "evaluation_period": mon.evaluation_period,
                "datapoints_to_alert": mon.datapoints_to_alert,
                "next_run_at": views.iso(mon.next_run_at) if mon.active else None,
                "running": mon.running_since is not None, "last_run_at": views.iso(mon.last_run_at),
                "progress": _progress_view(self._run_progress().get(mon.id)) if mon.running_since else None,
                "last_execution": {"id": last.id, "status": last.status, "created_at": views.iso(last.created_at),
                                   "failure_reason": self._failure_shown(s, principal, mon, names, last)}
                if last else None,
                "alert": "InAlert" if alerts else "OK", "open_alerts": alerts,
                "may_manage": authorizer.decide(principal, authz.MONITOR_MANAGE,
                                                self._monitor_resource(s, mon, names)).allowed,
                "created_by": mon.created_by, "created_at": views.iso(mon.created_at)}

    def create_monitor(self, actor: Actor, body: m.MonitorCreate) -> dict:
        """Store a monitor of a deployment (its captured inferences since the last run) or of a
        model (``body.model``) over a catalog dataset (``body.data``, each new revision). The
        baseline (``Baseline.to_dict()``) is kept in the object store. For those who manage
        monitors in the project of the model; audited. Invalid: a schedule, a baseline or
        thresholds that cannot be used; Conflict: the name is taken."""
        if body.monitor_type not in TYPES_RUN:
            raise Invalid(f"{body.monitor_type} monitors are not run by the service: the service never "
                          "loads a model to explain it; record attribution checks from a notebook "
                          "(%mlgov check --model ...)")
        schedules.check(body.schedule)
        if body.datapoints_to_alert > body.evaluation_period:
            raise Invalid("datapoints_to_alert cannot exceed evaluation_period")
        raw = json.dumps(body.baseline, allow_nan=False).encode() if body.baseline else b""
        if len(raw) > MAX_BASELINE_BYTES:
            raise Invalid(f"the baseline is larger than {MAX_BASELINE_BYTES >> 20} MiB")
        try:
            baseline = Baseline.from_dict(body.baseline)
        except GovernanceError:
            raise
        except Exception as exc:  # noqa: BLE001 - any malformed document is the caller's error
            raise Invalid(f"baseline: not a baseline document ({type(exc).__name__}: {exc})") from None
        _check_thresholds(baseline, body.monitor_type, body.thresholds)
        with self.store.transaction() as s:
            dep = self._deployment(s, body.deployment) if body.deployment else None
            if dep is None and not body.model:
                raise Invalid("a monitor watches a deployment (deployment=...) or a model (model=..., data=...)")
            model = s.get(t.Asset, dep.model_asset_id) if dep else self._asset(s, body.model)
            if model.kind != "model":
                raise Invalid(f"a monitor watches a model; {model.name!r} is a {model.kind}")
            if dep is not None and body.model and body.model != model.name:
                raise Invalid(f"deployment {dep.name!r} serves {model.name!r}, not {body.model!r}")
            names = self._project_names(s)
            pname = names[model.project_id]
            principal = self._authorize(s, actor, authz.MONITOR_MANAGE, Resource(
                type="monitor", name=body.name, project=pname, classification=model.classification))
            data = None
            if body.data:
                data = self._asset(s, body.data)
                if data.kind != "dataset":
                    raise Invalid(f"a monitor reads a dataset; {body.data!r} is a {data.kind}")
                if not self._may_read_data(s, principal, data, names[data.project_id]):
                    raise Invalid(f"you may not read all of {body.data!r}: a monitor reads it whole")
            elif dep is None or dep.capture_asset_id is None:
                raise Invalid("the monitor has no data: the deployment captures nothing; name a dataset (data=...)")
            source = data or s.get(t.Asset, dep.capture_asset_id)  # what it reads (R17-2: a capture too)
            lock_listed(s, model, source)  # an unpublish of either waits for this
            if s.execute(select(t.Monitor.id).where(t.Monitor.name == body.name)).first():
                raise Conflict(f"a monitor named {body.name!r} exists")
            # counted under locks, so that creates at the same instant cannot pass a limit together:
            # the project's row, and the creator's name (no row of theirs to lock)
            s.execute(select(t.Project.id).where(t.Project.id == model.project_id).with_for_update())
            advisory_lock(s, f"monitors-by:{actor.name}")
            held = s.execute(select(func.count()).where(t.Monitor.project_id == model.project_id)).scalar()
            if held >= self.monitor_max_per_project:
                raise Conflict(f"project {pname} holds {held} monitors, the most a project may "
                               f"(monitor_max_per_project): delete one first")
            mine = s.execute(select(func.count()).where(t.Monitor.created_by == actor.name)).scalar()
            if mine >= self.monitor_max_per_user and not principal.is_admin:
                raise Conflict(f"you created {mine} monitors, the most one person may (monitor_max_per_user): "
                               "delete one first")
            digest, _size = self.objects_store().put_bytes(raw)
            hold_content(s, self.objects_store(), digest, again="create the monitor again")
            now = _now()
            mon = t.Monitor(name=body.name, project_id=model.project_id, deployment_id=dep.id if dep else None,
                            model_asset_id=model.id, dataset_asset_id=data.id if data else None,
                            monitor_type=body.monitor_type, baseline_hash=digest, thresholds=body.thresholds,
                            schedule=body.schedule.strip(), active=True, evaluation_period=body.evaluation_period,
                            datapoints_to_alert=body.datapoints_to_alert, watermark=0,
                            next_run_at=schedules.next_run(body.schedule, now), created_by=actor.name,
                            created_by_groups=list(actor.groups),
                            created_at=now, updated_at=now)
            s.add(mon)
            s.flush()
            self._audit(s, actor, "monitor.create", "monitor", mon.name,
                        {"type": mon.monitor_type, "model": model.name, "deployment": dep.name if dep else None,
                         "data": data.name if data else None, "schedule": mon.schedule,
                         "baseline": digest, "project": pname})
            self._evaluate_alerts(s, [mon.deployment_id], [mon.id])
            return self._show_monitor(s, mon, names, self._principal(s, actor))

    def monitors(self, actor: Actor, deployment: str | None = None) -> dict:
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.MONITOR_READ, Resource(type="monitor"))
            names = self._project_names(s)
            stmt = select(t.Monitor).order_by(t.Monitor.name)
            if deployment:
                stmt = stmt.where(t.Monitor.deployment_id == self._deployment(s, deployment).id)
            return {"monitors": self._show_monitors(s, s.execute(stmt).scalars().all(), names,
                                                    self._principal(s, actor))}

    def get_monitor(self, actor: Actor, name: str, limit: int = 50) -> dict:
        """A monitor with its executions, newest first, each with its metrics over time (what the
        dashboard charts: drift statistic per column, model-quality metrics, bias metrics)."""
        with self.store.transaction(write=False) as s:
            mon = self._monitor(s, name)
            names = self._project_names(s)
            self._authorize(s, actor, authz.MONITOR_READ, Resource(type="monitor", name=name,
                                                                  project=names[mon.project_id]))
            principal = self._principal(s, actor)
            out = self._show_monitor(s, mon, names, principal)
            rows = s.execute(select(t.MonitoringExecution).where(t.MonitoringExecution.monitor_id == mon.id)
                             .order_by(t.MonitoringExecution.id.desc()).limit(limit)).scalars().all()
            model = s.get(t.Asset, mon.model_asset_id)
            out["executions"] = []
            for e in rows:
                shown = {**views.execution(e, model.name, with_report=False), "window": e.window,
                         "started_at": views.iso(e.started_at), "ended_at": views.iso(e.ended_at),
                         "failure_reason": self._failure_shown(s, principal, mon, names, e)}
                if self._may_see_report(s, principal, model, names[mon.project_id], e):
                    shown["metrics"] = _metrics(e.report or {})
                out["executions"].append(shown)
            out["alerts"] = [_alert_view(a, names, s) for a in s.execute(
                select(t.Alert).where(t.Alert.monitor_id == mon.id).order_by(t.Alert.id.desc()).limit(20)).scalars()]
            return out

    def set_monitor_active(self, actor: Actor, name: str, active: bool) -> dict:
        """Start (the next run at the schedule's next fire time) or stop a monitor; audited.
        Starting: NotFound (unpublish's message) once its model or dataset was unpublished."""
        with self.store.transaction() as s:
            mon = self._monitor(s, name, lock=True)
            names = self._project_names(s)
            self._authorize(s, actor, authz.MONITOR_MANAGE, self._monitor_resource(s, mon, names))
            if active and actor.name == mon.created_by:  # their groups as the identity provider says now
                mon.created_by_groups = list(actor.groups)
            if active:  # back in use: what it watches is still published (locked: unpublish waits)
                lock_listed(s, *[s.get(t.Asset, i) for i in (mon.model_asset_id, mon.dataset_asset_id) if i])
            lost = self._access_lost(s, mon) if active else None
            if lost:
                raise Forbidden(lost.replace("the monitor is stopped; it runs", "the monitor stays stopped; it runs"))
            mon.active, mon.updated_at = active, _now()
            mon.next_run_at = schedules.next_run(mon.schedule, mon.updated_at) if active else None
            self._audit(s, actor, "monitor.start" if active else "monitor.stop", "monitor", mon.name,
                        {"project": names[mon.project_id]})
            self._evaluate_alerts(s, [mon.deployment_id], [mon.id])
            return self._show_monitor(s, mon, names, self._principal(s, actor))

    def delete_monitor(self, actor: Actor, name: str) -> dict:
        """Delete a monitor; its executions stay in the model's history (without the monitor)."""
        with self.store.transaction() as s:
            mon = self._monitor(s, name, lock=True)
            names = self._project_names(s)
            self._authorize(s, actor, authz.MONITOR_MANAGE, self._monitor_resource(s, mon, names))
            if mon.running_since is not None and _now() - aware(mon.running_since) < RUN_LEASE:
                raise Conflict(f"monitor {name!r} is running: stop it and delete it when the run ends")
            s.execute(update(t.MonitoringExecution).where(t.MonitoringExecution.monitor_id == mon.id)
                      .values(monitor_id=None))
            s.execute(update(t.Alert).where(t.Alert.monitor_id == mon.id)
                      .values(monitor_id=None, open_key=None, resolved_at=_now()))
            self._audit(s, actor, "monitor.delete", "monitor", mon.name, {"project": names[mon.project_id]})
            dep_id = mon.deployment_id
            s.delete(mon)
            s.flush()
            self._evaluate_alerts(s, [dep_id], [])
            return {"deleted": name}

    def _monitor_resource(self, s, mon: t.Monitor, names: dict) -> Resource:
        model = s.get(t.Asset, mon.model_asset_id)
        return Resource(type="monitor", name=mon.name, project=names[mon.project_id],
                        classification=model.classification)

    # ---- runs --------------------------------------------------------------------------------

    def run_monitor(self, actor: Actor, name: str) -> dict:
        """Run a monitor now (whatever its schedule or state) and return the execution; audited.
        Conflict if it is running."""
        with self.store.transaction() as s:
            mon = self._monitor(s, name)
            names = self._project_names(s)
            self._authorize(s, actor, authz.MONITOR_MANAGE, self._monitor_resource(s, mon, names))
            # whoever may manage it may run it: the run reads under its creator's access (checked
            # in the run), and the runner is shown what the monitor's page shows them; never on an
            # unpublished model or data (red team R17-2: a stopped monitor's run still read them)
            lock_listed(s, s.get(t.Asset, mon.model_asset_id), self._monitor_source(s, mon))
            monitor_id = mon.id
        if not self._claim(monitor_id):
            raise Conflict(f"monitor {name!r} is running; its execution will show in its history")
        out = self._execute(monitor_id, actor)
        if out.get("failure_reason"):
            with self.store.transaction(write=False) as s:
                mon, row = self._monitor_by_id(s, monitor_id), s.get(t.MonitoringExecution, out["id"])
                out["failure_reason"] = self._failure_shown(s, self._principal(s, actor), mon,
                                                            self._project_names(s), row)
        return out

    def _claim(self, monitor_id: int, due: datetime | None = None, next_at: datetime | None = None) -> bool:
        """Take the monitor's run lease (and, for a scheduled run, move its next fire time from
        ``due`` to ``next_at``) in one conditional UPDATE: True if this caller won it."""
        now = _now()
        with self.store.transaction() as s:
            stmt = update(t.Monitor).where(t.Monitor.id == monitor_id,
                                           (t.Monitor.running_since.is_(None)) | (t.Monitor.running_since < now - RUN_LEASE))
            values = {"running_since": now}
            if due is not None:
                stmt = stmt.where(t.Monitor.next_run_at == due, t.Monitor.active.is_(True))
                values["next_run_at"] = next_at
            return s.execute(stmt.values(**values)).rowcount == 1

    def due_monitors(self, limit: int | None = None) -> list[int]:
        """Claim up to ``limit`` (all: None) active monitors whose next fire time has come, the
        longest waiting first and one creator at a time in turn (someone with many monitors, in
        however many projects, cannot hold the monitor pool while another's wait); their ids
        (each run once). Those not claimed stay due for the next pass; a claim is taken when its
        run can start."""
        now = _now()
        with self.store.transaction(write=False) as s:
            due = s.execute(select(t.Monitor.id, t.Monitor.next_run_at, t.Monitor.schedule, t.Monitor.created_by)
                            .where(t.Monitor.active.is_(True), t.Monitor.next_run_at <= now)
                            .order_by(t.Monitor.next_run_at, t.Monitor.id)).all()
        by_creator: dict = {}
        for row in due:
            by_creator.setdefault(row[3], []).append(row)
        turns = []
        while by_creator:
            for who in list(by_creator):
                turns.append(by_creator[who].pop(0))
                if not by_creator[who]:
                    del by_creator[who]
        claimed = []
        for mid, at, expr, _who in turns:
            if limit is not None and len(claimed) >= limit:
                break
            if self._claim(mid, at, schedules.next_run(expr, now)):
                claimed.append(mid)
        return claimed

    def _execute(self, monitor_id: int, actor: Actor) -> dict:
        """Run a claimed monitor: read its new data, check it against the baseline, record the
        execution (Failed with the reason when it cannot run), move the watermark, evaluate the
        alerts; release the claim whatever happens."""
        started, t0 = _now(), time.perf_counter()
        with self.store.transaction(write=False) as s:
            mon = self._monitor_by_id(s, monitor_id)
            lost = self._access_lost(s, mon)
            # nothing is read when access is lost: the execution names no dataset (its reason,
            # which holds no value, is shown to the model's project)
            plan = {"datasets": None, "reason": lost} if lost else self._run_plan(s, mon)
        report, reason, failed, window = None, None, None, plan.get("window")
        self._run_progress()[monitor_id] = [0, (window or {}).get("rows")]
        try:
            if lost:
                raise Forbidden(lost)
            if plan.get("reason"):
                raise Invalid(plan["reason"])
            from .monitor_runs import run_check

            report = run_check(self, mon, plan)
        except GovernanceError as exc:
            reason, failed = exc.message, type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - a run fails with its reason; the service goes on
            log.exception("monitor %s failed", mon.name)
            failed = type(exc).__name__
            reason = f"{failed}: the run failed; the service log has the details"
        finally:
            self._run_progress().pop(monitor_id, None)
        with self.store.transaction() as s:
            mon = self._monitor_by_id(s, monitor_id)
            names = self._project_names(s)
            model = s.get(t.Asset, mon.model_asset_id)
            status, violations, drift = "Failed", 0, False
            if report is not None:
                mine = [v for v in report.get("violations") or [] if _counts_for(v, mon.monitor_type)]
                drift = bool(report.get("dataset_drift")) and mon.monitor_type == "data_quality"
                violations = len(mine)
                status = "CompletedWithViolations" if mine or drift else "Completed"
            ended = _now()
            from .monitoring import _summary

            row = t.MonitoringExecution(
                model_asset_id=model.id, monitor_type=mon.monitor_type, status=status, violations=violations,
                dataset_drift=drift, report=report or {}, summary=_summary(report) if report else {},
                created_by=actor.name, datasets=plan.get("datasets"), monitor_id=mon.id, window=window,
                started_at=started, ended_at=ended, failure_reason=reason)
            s.add(row)
            mon.running_since, mon.last_run_at = None, ended
            if report is not None and plan.get("watermark") is not None:
                mon.watermark = plan["watermark"]
            if lost and mon.active:  # stopped until someone who may read the data starts it
                mon.active, mon.next_run_at, mon.updated_at = False, None, ended
                self._audit(s, SCHEDULER, "monitor.stop", "monitor", mon.name,
                            {"project": names[mon.project_id], "reason": lost})
            s.flush()
            self._audit(s, actor, "monitor.run", "monitor", mon.name,
                        {"execution": row.id, "status": status, "violations": violations,
                         "window": window, "seconds": round(time.perf_counter() - t0, 3),
                         "project": names[mon.project_id], **({"failed": failed} if failed else {})})
            self._evaluate_alerts(s, [mon.deployment_id], [mon.id])
            return {**views.execution(row, model.name, with_report=False), "monitor": mon.name, "window": window,
                    "failure_reason": reason, "started_at": views.iso(started), "ended_at": views.iso(ended)}

    def _monitor_source(self, s, mon: t.Monitor) -> t.Asset:
        """The asset a monitor reads: its dataset, or its deployment's capture."""
        if mon.dataset_asset_id:
            return s.get(t.Asset, mon.dataset_asset_id)
        return s.get(t.Asset, s.get(t.Deployment, mon.deployment_id).capture_asset_id)

    def _access_lost(self, s, mon: t.Monitor) -> str | None:
        """Why the monitor may no longer run (its creator may not read all of its data now: a
        grant revoked or expired, an asset filter, a classification raised, a membership ended;
        the same check as at its creation and as ``use``), or None. Checked at every run."""
        source = self._monitor_source(s, mon)
        if source is None:
            return None  # no data source: the run plan says so
        names = self._project_names(s)
        creator = Actor(mon.created_by, groups=tuple(mon.created_by_groups or ()))
        if self._may_read_data(s, self._principal(s, creator), source, names[source.project_id]):
            return None
        return (f"{mon.created_by}, who created monitor {mon.name!r}, no longer may read all of "
                f"{source.name!r}: the monitor is stopped; it runs again when started by its creator "
                f"once they may read it")

    def _monitor_by_id(self, s, monitor_id: int) -> t.Monitor:
        mon = s.get(t.Monitor, monitor_id)
        if mon is None:
            raise NotFound(f"monitor #{monitor_id} was deleted")
        return mon

    def _run_plan(self, s, mon: t.Monitor) -> dict:
        """What a run reads: capture files after the watermark (with the deployment's ground
        truth for model quality and bias), or the dataset's newest revision if it is new."""
        if mon.dataset_asset_id:
            a = s.get(t.Asset, mon.dataset_asset_id)
            rev = self._revisions(s, a.id)[-1]
            plan = {"datasets": [{"id": a.id, "name": a.name}], "watermark": rev.revision,
                    "window": {"dataset": a.name, "revision": rev.revision, "rows": rev.row_count}}
            if rev.revision <= mon.watermark:
                plan["reason"] = f"no new revision of {a.name!r} since the last run (revision {mon.watermark})"
            elif rev.format != "parquet":
                plan["reason"] = f"{a.name!r} revision {rev.revision} is {rev.format}, not a Parquet dataset"
            else:
                text_max = {k: v["max_length"] for k, v in (rev.summary or {}).items() if "max_length" in v}
                plan["files"] = [(rev.content_hash, scan_batch_rows(rev.summary or {}, rev.schema or []), text_max,
                                  [c["name"] for c in rev.schema or []])]
            return plan
        dep = s.get(t.Deployment, mon.deployment_id)
        capture = s.get(t.Asset, dep.capture_asset_id)
        files = self._capture_files(s, dep.id, "inference", after=mon.watermark)[:10_000]
        plan = {"datasets": [{"id": capture.id, "name": capture.name}]}
        if not files:
            plan["reason"] = (f"no inferences captured from {dep.name!r} since the last run"
                              + (f" (capture file #{mon.watermark})" if mon.watermark else ""))
            return plan
        plan.update(files=[(f.content_hash, f.batch_rows, f.text_max, f.columns) for f in files],
                    watermark=files[-1].id,
                    window={"first_file": files[0].id, "last_file": files[-1].id,
                            "rows": sum(f.rows for f in files), "from": views.iso(files[0].created_at),
                            "to": views.iso(files[-1].created_at)})
        if mon.monitor_type in ("model_quality", "bias"):
            # the newest uploads of ground truth up to monitor_ground_truth_rows (labels of recent
            # inferences come late, not years late): what a run joins stays bounded in memory
            truth, rows = [], 0
            for f in reversed(self._capture_files(s, dep.id, "ground_truth")):
                if rows + f.rows > self.monitor_ground_truth_rows:
                    break
                truth.append((f.content_hash, f.batch_rows, f.text_max, f.columns))
                rows += f.rows
            plan["ground_truth"] = truth[::-1]
        return plan

    # ---- alerts ------------------------------------------------------------------------------

    def _evaluate_alerts(self, s, deployment_ids=None, monitor_ids=None) -> None:
        """Raise and resolve the built-in alerts from the store as it is now: a monitor's
        violations (DatapointsToAlert of EvaluationPeriod), a deployment in service with no
        active monitor (missing), a monitor stopped, not run within two periods or failed its
        last ``monitor_failed_runs`` runs (inactive). Each change is audited and notified.
        ``deployment_ids`` / ``monitor_ids``: only the alerts of those (and of the monitors of
        those deployments), as a change to them can only move their own; None: all."""
        if not self._alert_changes(s, deployment_ids, monitor_ids, apply=True):
            return

    def _alert_changes(self, s, deployment_ids=None, monitor_ids=None, apply: bool = False) -> int:
        """How many alerts the store's state would raise or resolve (and, with ``apply``, do it)."""
        now = _now()
        scoped = deployment_ids is not None or monitor_ids is not None
        deployment_ids = {d for d in deployment_ids or () if d is not None}
        monitor_ids = set(monitor_ids or ())
        wanted: dict[str, tuple] = {}  # open_key -> (kind, project_id, deployment_id, monitor_id, execution_id, reason)
        stmt = select(t.Monitor)
        if scoped:
            stmt = stmt.where(t.Monitor.id.in_(monitor_ids) | t.Monitor.deployment_id.in_(deployment_ids))
        monitors = s.execute(stmt).scalars().all()
        deployment_ids |= {mon.deployment_id for mon in monitors if mon.deployment_id}
        monitor_ids |= {mon.id for mon in monitors}
        for mon in monitors:
            recent = s.execute(select(t.MonitoringExecution.id, t.MonitoringExecution.status)
                               .where(t.MonitoringExecution.monitor_id == mon.id)
                               .order_by(t.MonitoringExecution.id.desc()).limit(self.monitor_failed_runs)).all()
            # a failed run gives no datapoint (CloudWatch's missing data): it neither raises nor clears
            window = s.execute(select(t.MonitoringExecution.id, t.MonitoringExecution.status)
                               .where(t.MonitoringExecution.monitor_id == mon.id,
                                      t.MonitoringExecution.status != "Failed")
                               .order_by(t.MonitoringExecution.id.desc()).limit(mon.evaluation_period)).all()
            bad = [eid for eid, status in window if status == "CompletedWithViolations"]
            if len(bad) >= mon.datapoints_to_alert:
                wanted[f"violation:m{mon.id}"] = (
                    "violation", mon.project_id, mon.deployment_id, mon.id, bad[0],
                    f"monitor {mon.name}: {len(bad)} of the last {len(window)} runs found violations "
                    f"(alert at {mon.datapoints_to_alert} of {mon.evaluation_period})")
            failed = recent
            reason = None
            if not mon.active:
                reason = f"monitor {mon.name} is stopped"
            elif len(failed) == self.monitor_failed_runs and all(st == "Failed" for _, st in failed):
                reason = f"monitor {mon.name} failed its last {self.monitor_failed_runs} runs"
            else:
                since = aware(mon.last_run_at or mon.created_at)
                if (now - since).total_seconds() > 2 * schedules.period_s(mon.schedule, since) + 60:
                    reason = f"monitor {mon.name} has not run within two periods of its schedule ({mon.schedule})"
            if reason:
                wanted[f"inactive:m{mon.id}"] = ("inactive", mon.project_id, mon.deployment_id, mon.id, None, reason)
        active_by_dep = {mon.deployment_id for mon in monitors if mon.active and mon.deployment_id}
        deps = select(t.Deployment).where(t.Deployment.status == "InService")
        if scoped:
            deps = deps.where(t.Deployment.id.in_(deployment_ids))
        for dep in s.execute(deps).scalars():
            if dep.id not in active_by_dep:
                wanted[f"missing:d{dep.id}"] = ("missing", dep.project_id, dep.id, None, None,
                                                f"deployment {dep.name} has no active monitor")
        opened = select(t.Alert).where(t.Alert.open_key.is_not(None))
        if scoped:
            opened = opened.where(t.Alert.monitor_id.in_(monitor_ids) | t.Alert.deployment_id.in_(deployment_ids))
        open_rows = {a.open_key: a for a in s.execute(opened).scalars()}
        gone = [a for key, a in open_rows.items() if key not in wanted]
        new = [(key, v) for key, v in wanted.items() if key not in open_rows]
        if not apply:
            return len(gone) + len(new)
        names = self._project_names(s) if gone or new else None
        for a in gone:
            a.open_key, a.resolved_at = None, now
            self._alert_changed(s, a, "alert.resolved", names)
        for key, (kind, pid, did, mid, eid, reason) in new:
            a = t.Alert(kind=kind, project_id=pid, deployment_id=did, monitor_id=mid, execution_id=eid,
                        reason=reason, open_key=key, raised_at=now, ack_comment="")
            s.add(a)
            s.flush()
            self._alert_changed(s, a, "alert.raised", names)
        return len(gone) + len(new)

    def _alert_changed(self, s, a: t.Alert, event: str, names: dict) -> None:
        shown = _alert_view(a, names, s)
        self._audit(s, SCHEDULER, event, "alert", a.id, {**{k: shown[k] for k in (
            "kind", "deployment", "monitor", "reason")}, "project": names[a.project_id]})
        # to the monitor's creator and the project's owners and stewards (in-Lab), and to every
        # channel subscribed to the event: a missing or inactive monitor is its own event
        raised = event == "alert.raised"
        kind_event = {"missing": "monitor.missing", "inactive": "monitor.inactive"}.get(a.kind) if raised else None
        mon = s.get(t.Monitor, a.monitor_id) if a.monitor_id else None
        people = set(s.execute(select(t.Membership.user).where(
            t.Membership.project_id == a.project_id, t.Membership.designation.in_(("owner", "steward")))).scalars())
        if mon is not None:
            people.add(mon.created_by)
        self._notify(s, kind_event or event, subject=f"[mlgov] {a.kind} alert {'raised' if raised else 'resolved'}: "
                     f"{a.reason}", payload={**shown, "event": kind_event or event}, project=names[a.project_id],
                     users=sorted(people))

    def evaluate_alerts(self) -> int:
        """The scheduler's periodic pass over the built-in alerts (monitors that stopped running):
        read first, and the store's write lock taken only when an alert changes. The changes."""
        with self.store.transaction(write=False) as s:
            if not self._alert_changes(s):
                return 0
        with self.store.transaction() as s:
            return self._alert_changes(s, apply=True)

    def alerts(self, actor: Actor, q: m.AlertQuery) -> dict:
        """Alert episodes, open ones first then newest (``q.state``: open, resolved, all)."""
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.MONITOR_READ, Resource(type="monitor"))
            names = self._project_names(s)
            stmt = select(t.Alert)
            if q.state == "open":
                stmt = stmt.where(t.Alert.resolved_at.is_(None))
            elif q.state == "resolved":
                stmt = stmt.where(t.Alert.resolved_at.is_not(None))
            rows = s.execute(stmt.order_by(t.Alert.resolved_at.is_not(None), t.Alert.id.desc())
                             .limit(q.limit)).scalars()
            return {"alerts": [_alert_view(a, names, s) for a in rows]}

    def acknowledge(self, actor: Actor, alert_id: int, body: m.Decision) -> dict:
        """Say an open alert is seen and what is done about it; audited."""
        with self.store.transaction() as s:
            a = s.get(t.Alert, alert_id, with_for_update=True)  # a second acknowledgement: 409
            if a is None:
                raise NotFound(f"no alert {alert_id}")
            names = self._project_names(s)
            self._authorize(s, actor, authz.ALERT_ACK, Resource(type="monitor", name=str(alert_id),
                                                                project=names[a.project_id]))
            if a.acknowledged_by:
                raise Conflict(f"alert {alert_id} was acknowledged by {a.acknowledged_by}")
            a.acknowledged_by, a.acknowledged_at, a.ack_comment = actor.name, _now(), body.comment
            self._audit(s, actor, "alert.acknowledge", "alert", a.id,
                        {"comment": body.comment, "project": names[a.project_id]})
            return _alert_view(a, names, s)


def _alert_view(a: t.Alert, names: dict, s) -> dict:
    dep = s.get(t.Deployment, a.deployment_id) if a.deployment_id else None
    mon = s.get(t.Monitor, a.monitor_id) if a.monitor_id else None
    return {"id": a.id, "kind": a.kind, "state": "OK" if a.resolved_at else "InAlert",
            "project": names[a.project_id], "deployment": dep.name if dep else None,
            "monitor": mon.name if mon else None, "execution": a.execution_id, "reason": a.reason,
            "raised_at": views.iso(a.raised_at), "resolved_at": views.iso(a.resolved_at),
            "acknowledged": {"by": a.acknowledged_by, "at": views.iso(a.acknowledged_at),
                             "comment": a.ack_comment} if a.acknowledged_by else None}


def _progress_view(p) -> dict | None:
    return {"rows": p[0], "total": p[1]} if p else None


def _counts_for(violation: dict, monitor_type: str) -> bool:
    return violation.get("monitor_type", "data_quality") == monitor_type


def _metrics(report: dict) -> dict:
    """The numbers a dashboard charts over time: drift statistic per column (with its threshold),
    model-quality metrics, bias metrics (current values)."""
    out: dict = {"drift": {}, "quality": {}, "bias": {}}
    for col in report.get("columns") or []:
        if not isinstance(col, dict):
            continue
        # a test with a p-value drifts below its threshold (the p-value is charted), a distance above it
        p = col.get("adjusted_p_value") if col.get("adjusted_p_value") is not None else col.get("p_value")
        value = p if p is not None else col.get("statistic")
        if value is not None:
            out["drift"][col.get("column")] = {
                "value": value, "threshold": col.get("threshold"), "method": col.get("test"),
                "measure": "p_value" if p is not None else "distance", "drifted": bool(col.get("drifted"))}
    quality = report.get("model_quality") or {}
    constraints = quality.get("constraints") or {}
    violated = {v.get("feature_name") for v in report.get("violations") or []
                if isinstance(v, dict) and v.get("monitor_type") == "model_quality"}
    for name, value in (quality.get("metrics") or {}).items():
        value = value.get("value") if isinstance(value, dict) else value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            c = constraints.get(name) if isinstance(constraints.get(name), dict) else {}
            out["quality"][name] = {"value": value, "threshold": c.get("threshold"),
                                    "operator": c.get("comparison_operator"), "drifted": name in violated}
    bias = (report.get("bias") or {}).get("current") or {}
    for name, value in bias.items() if isinstance(bias, dict) else []:
        if isinstance(value, (int, float)):
            out["bias"][name] = {"value": value}
    return out


def _check_thresholds(baseline: Baseline, monitor_type: str, thresholds: dict) -> None:
    """Invalid unless ``thresholds`` holds only what ``check`` takes: ``columns`` (column ->
    drift threshold), ``drift_share``, ``correction``, ``bias_tolerance``, ``quality`` (model-quality
    constraints)."""
    allowed = {"columns", "drift_share", "correction", "bias_tolerance", "quality"}
    unknown = set(thresholds) - allowed
    if unknown:
        raise Invalid(f"thresholds: unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(allowed))})")
    for col, value in (thresholds.get("columns") or {}).items():
        if col not in baseline.columns:
            raise Invalid(f"thresholds.columns: {col!r} is not a column of the baseline")
        if not isinstance(value, (int, float)) or not value >= 0:
            raise Invalid(f"thresholds.columns.{col}: a threshold is a number >= 0")
    if thresholds.get("correction") not in (None, "bonferroni", "bh", "none"):
        raise Invalid("thresholds.correction: bh (the default), bonferroni or none")
    if monitor_type == "model_quality" and baseline.quality is None:
        raise Invalid("a model_quality monitor needs a baseline fitted with target= and prediction= (or probability=)")
    if monitor_type == "bias" and not baseline.bias_config:
        raise Invalid("a bias monitor needs a baseline fitted with sensitive= (the facet)")
