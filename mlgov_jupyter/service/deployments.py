"""Deployments (endpoints) and their captured data: which model revision serves where, and the
inferences and ground truth its serving code sends, kept as Parquet objects in the object store."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from .. import views
from ..core import authz
from ..core import models as m
from ..core.authz import Resource
from ..core.catalog import scan_batch_rows
from ..core.errors import Conflict, Invalid, NotFound, TooLarge, TooManyRows
from ..store import tables as t
from .base import Actor, ServiceBase, chunks, preload
from .content_refs import delete_unreferenced, hold_content
from .locks import lock_listed

INFERENCE_ID = "inference_id"  # SageMaker's eventMetadata.inferenceId
EVENT_TIME = "event_time"  # SageMaker's eventMetadata.inferenceTime
CAPTURE_COLUMNS = (INFERENCE_ID, EVENT_TIME)


def deployment_view(d: t.Deployment, model: str, project: str, capture: str | None, files: int = 0,
                    rows: int = 0, ground_truth_rows: int = 0) -> dict:
    return {"name": d.name, "model": model, "model_revision": d.model_revision, "environment": d.environment,
            "status": d.status, "project": project, "capture": capture, "captured_rows": rows,
            "capture_files": files, "ground_truth_rows": ground_truth_rows, "created_by": d.created_by,
            "created_at": views.iso(d.created_at), "updated_at": views.iso(d.updated_at)}


class DeploymentService(ServiceBase):
    capture_max_rows: int = 1_000_000  # rows one captured batch may hold (a serving batch is small)

    def _deployment(self, s, name: str, lock: bool = False) -> t.Deployment:
        stmt = select(t.Deployment).where(t.Deployment.name == name)  # lock: its row, until commit
        d = s.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if d is None:
            raise NotFound(f"no deployment named {name!r} (see %mlgov deploy --list)")
        return d

    def _deployment_resource(self, s, d: t.Deployment, pname: str) -> Resource:
        model = s.get(t.Asset, d.model_asset_id)
        return Resource(type="monitor", name=d.name, project=pname, classification=model.classification)

    def _show_deployment(self, s, d: t.Deployment, names: dict) -> dict:
        return self._show_deployments(s, [d], names)[0]

    def _show_deployments(self, s, ds: list, names: dict) -> list[dict]:
        """The views of ``ds``, read in a few queries for all of them (not a few per deployment)."""
        assets = preload(s, t.Asset, {d.model_asset_id for d in ds} | {d.capture_asset_id for d in ds})
        captured: dict = {}  # (deployment id, kind) -> (rows, files)
        for chunk in chunks([d.id for d in ds]):
            for dep_id, kind, rows, files in s.execute(
                    select(t.CaptureFile.deployment_id, t.CaptureFile.kind,
                           func.coalesce(func.sum(t.CaptureFile.rows), 0), func.count())
                    .where(t.CaptureFile.deployment_id.in_(chunk))
                    .group_by(t.CaptureFile.deployment_id, t.CaptureFile.kind)):
                captured[dep_id, kind] = (int(rows), files)
        out = []
        for d in ds:
            capture = assets.get(d.capture_asset_id)
            rows, files = captured.get((d.id, "inference"), (0, 0))
            out.append(deployment_view(d, assets[d.model_asset_id].name, names[d.project_id],
                                       capture.name if capture else None, files, rows,
                                       captured.get((d.id, "ground_truth"), (0, 0))[0]))
        return out

    def deploy(self, actor: Actor, body: m.DeploymentCreate) -> dict:
        """Record a deployment of model ``body.model`` at ``body.revision`` (default: latest) in the
        model's project, with a capture dataset ``<name>-capture`` (a catalog dataset of the
        model's classification) unless ``capture`` is False. For those who manage monitors in
        that project; audited. The project's ``model_approval`` applies as to ``use``: Forbidden
        (one line naming the revision's approval status; nothing written) under ``refuse`` unless
        the revision is Approved with an Approved card describing it. Returns the deployment's view
        with ``approval_status``, ``approved_card`` and ``warning`` (None unless the project warns).
        NotFound (no such revision), Conflict if the name (or the capture dataset's) is taken."""
        with self.store.transaction() as s:
            model = self._asset(s, body.model)
            lock_listed(s, model)  # an unpublish of the model waits, then sees this deployment
            if model.kind != "model":
                raise Invalid(f"a deployment serves a model; {body.model!r} is a {model.kind}")
            pname = self._project_names(s)[model.project_id]
            self._authorize(s, actor, authz.MONITOR_MANAGE, Resource(
                type="monitor", name=body.name, project=pname, classification=model.classification))
            revision = body.revision or model.latest_revision
            rev = self._model_revision(s, model, revision)
            if s.execute(select(t.Deployment.id).where(t.Deployment.name == body.name)).first():
                raise Conflict(f"a deployment named {body.name!r} exists")
            gate = self._model_gate(s, model, rev, pname, actor, authz.MONITOR_MANAGE)
            now = datetime.now(timezone.utc)
            d = t.Deployment(name=body.name, project_id=model.project_id, model_asset_id=model.id,
                             model_revision=revision, environment=body.environment, status="InService",
                             created_by=actor.name, created_at=now, updated_at=now)
            if body.capture:
                d.capture_asset_id = self._capture_asset(s, actor, body.name, model, now).id
            s.add(d)
            s.flush()
            self._audit(s, actor, "deployment.create", "deployment", d.name,
                        {"model": model.name, "revision": revision, "environment": d.environment,
                         "project": pname, "capture": body.capture,
                         "approval_status": gate["approval_status"]})
            self._evaluate_alerts(s, [d.id], [])  # in service without a monitor: missing, from now
            return {**self._show_deployment(s, d, self._project_names(s)), **gate}

    def _capture_asset(self, s, actor: Actor, name: str, model: t.Asset, now: datetime) -> t.Asset:
        capture_name = f"{name}-capture"
        if len(capture_name) > 128:
            raise Invalid("the deployment name is too long for its capture dataset's name (<name>-capture)")
        if s.execute(select(t.Asset.id).where(t.Asset.name == capture_name)).first():
            raise Conflict(f"an asset named {capture_name!r} exists: name the deployment otherwise, "
                           "or deploy with capture=False")
        a = t.Asset(name=capture_name, kind="dataset", project_id=model.project_id, owner=actor.name,
                    description=f"Inferences captured from deployment {name} (model {model.name})",
                    tags=["capture"], glossary_terms=[], classification=model.classification,
                    created_at=now, updated_at=now, latest_revision=1)
        s.add(a)
        s.flush()
        rev = t.AssetRevision(asset_id=a.id, revision=1, format="capture", location=f"deployment:{name}",
                              created_by=actor.name, schema=[], summary={}, features={},
                              classification=model.classification, row_count=0)
        s.add(rev)
        self._index(s, a, rev)
        return a

    def deployments(self, actor: Actor) -> dict:
        """Every deployment the caller may see (monitoring is readable by every signed-in user)."""
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.MONITOR_READ, Resource(type="monitor"))
            names = self._project_names(s)
            rows = s.execute(select(t.Deployment).order_by(t.Deployment.name)).scalars().all()
            return {"deployments": self._show_deployments(s, rows, names)}

    def get_deployment(self, actor: Actor, name: str) -> dict:
        with self.store.transaction(write=False) as s:
            d = self._deployment(s, name)
            names = self._project_names(s)
            self._authorize(s, actor, authz.MONITOR_READ, Resource(type="monitor", name=name,
                                                                  project=names[d.project_id]))
            out = self._show_deployment(s, d, names)
            out["monitors"] = self._show_monitors(s, s.execute(
                select(t.Monitor).where(t.Monitor.deployment_id == d.id).order_by(t.Monitor.name)).scalars().all(),
                names, self._principal(s, actor))
            return out

    def update_deployment(self, actor: Actor, name: str, body: m.DeploymentUpdate) -> dict:
        """Change a deployment's status (InService/OutOfService) or the model revision it serves;
        a new revision, or one put back in service, passes the project's ``model_approval`` as a
        new deployment does (Forbidden
        under ``refuse``, nothing changed; the view then carries ``approval_status``,
        ``approved_card`` and ``warning``). NotFound for a revision the model does not have, and
        (unpublish's message) to put it back in service once its model or capture dataset was
        unpublished."""
        with self.store.transaction() as s:
            d = self._deployment(s, name, lock=True)
            names = self._project_names(s)
            self._authorize(s, actor, authz.MONITOR_MANAGE, self._deployment_resource(s, d, names[d.project_id]))
            detail, gate = {"project": names[d.project_id]}, {}
            moved = body.revision is not None and body.revision != d.model_revision
            back = body.status == "InService" and d.status != "InService"
            if back:  # back in use: its assets listed
                lock_listed(s, *[s.get(t.Asset, i) for i in (d.model_asset_id, d.capture_asset_id) if i])
            if moved or back:  # what will serve passes the project's model_approval (R22 F4: a revision
                model = s.get(t.Asset, d.model_asset_id)  # rejected after its deploy went back in service)
                rev = self._model_revision(s, model, body.revision if moved else d.model_revision)
                gate = self._model_gate(s, model, rev, names[d.project_id], actor, authz.MONITOR_MANAGE)
                detail["approval_status"] = gate["approval_status"]
            if moved:
                detail["revision"] = [d.model_revision, body.revision]
                d.model_revision = body.revision
            if body.status is not None and body.status != d.status:
                detail["status"] = [d.status, body.status]
                d.status = body.status
            d.updated_at = datetime.now(timezone.utc)
            self._audit(s, actor, "deployment.update", "deployment", d.name, detail)
            self._evaluate_alerts(s, [d.id], [])
            return {**self._show_deployment(s, d, names), **gate}

    # ---- captured data -----------------------------------------------------------------------

    def check_capture(self, actor: Actor, name: str, kind: str = "inference") -> str:
        """The project of deployment ``name``; NotFound unless it exists, Forbidden unless
        ``actor`` may capture into it (publish into its project). The HTTP hosts ask this before
        reading a capture's body."""
        with self.store.transaction(write=False) as s:
            return self._may_capture(s, actor, self._deployment(s, name), kind)

    def _may_capture(self, s, actor: Actor, d: t.Deployment, kind: str, lock: bool = False) -> str:
        """The deployment's project, if ``actor`` may capture ``kind`` into ``d`` now: Forbidden
        unless they may publish into its project; Conflict for inferences unless it is InService
        (ground truth comes later, for inferences it served before); NotFound (unpublish's
        message) once its capture dataset was unpublished (``lock``: that row locked, as
        whatever attaches to an asset locks it)."""
        pname = self._project_names(s)[d.project_id]
        self._authorize(s, actor, authz.CATALOG_PUBLISH, self._deployment_resource(s, d, pname))
        if kind == "inference" and d.status != "InService":
            raise Conflict(f"deployment {d.name!r} is {d.status}: it takes captures while InService "
                           f"(%mlgov deploy {d.name} --status InService)")
        attached = [s.get(t.Asset, i) for i in (d.model_asset_id, d.capture_asset_id) if i]
        if lock:  # the model unpublished: no ground truth either (R16 N4)
            lock_listed(s, *attached)
        elif not all(a.listed for a in attached):
            from .lifecycle import unpublished_message

            raise NotFound(unpublished_message(next(a for a in attached if not a.listed)))
        return pname

    def append_capture(self, actor: Actor, name: str, kind: str, data: bytes) -> dict:
        """Store one batch of captured inferences (``kind="inference"``) or of ground truth
        (``"ground_truth"``) for deployment ``name``: ``data`` is a Parquet file (at most
        max_body_bytes) with an ``inference_id`` column (ground truth: and the label columns).
        For those who may publish into the deployment's project; inferences while it is
        InService (both checked before the body is read and again in the transaction that records
        the batch, which may be up to decode_timeout later); audited. Invalid for a body that is not such a file;
        TooLarge beyond the publish limits; Conflict for inferences out of service (or, rarely, when identical
        bytes were deleted at that moment: send the batch again)."""
        if kind not in ("inference", "ground_truth"):
            raise NotFound(f"no capture kind {kind!r}")
        self.check_capture(actor, name, kind)
        objects = self.objects_store()
        staged = objects.new_staging_file()
        try:
            staged.write_bytes(data)
            # the capturer's bytes are decoded in a worker process with a memory limit, as a publish's
            cap = min(self.limits.publish_max_rows, self.capture_max_rows)
            try:
                schema, summary, rows = self.decoder().describe_parquet(str(staged), cap,
                                                                        self.limits.publish_max_decoded_bytes)
            except TooManyRows:  # the footer's row count, before any decoding
                raise TooLarge(f"a captured batch may hold at most {cap} rows (capture_max_rows): "
                               "send smaller batches") from None
            columns = [c["name"] for c in schema]
            if INFERENCE_ID not in columns:
                raise Invalid(f"captured data needs an {INFERENCE_ID!r} column (it joins ground truth to inferences)")
            if not rows:
                raise Invalid("the captured batch has no rows")
            digest, size, new = objects.adopt(staged)
        finally:
            Path(staged).unlink(missing_ok=True)
        try:
            return self._record_capture(actor, name, kind, objects, digest, size, rows, columns, schema, summary)
        except BaseException:
            if new:  # refused after storing: nothing keeps bytes no record holds
                with self.store.transaction() as s:
                    delete_unreferenced(s, objects, [digest])
            raise

    def _record_capture(self, actor: Actor, name: str, kind: str, objects, digest: str, size: int, rows: int,
                        columns: list, schema: list, summary: dict) -> dict:
        with self.store.transaction() as s:  # authorized again where it is written
            d = self._deployment(s, name, lock=True)
            pname = self._may_capture(s, actor, d, kind, lock=True)
            hold_content(s, objects, digest, again="send the batch again")
            f = t.CaptureFile(deployment_id=d.id, kind=kind, content_hash=digest, rows=rows, size_bytes=size,
                              columns=columns, created_by=actor.name, batch_rows=scan_batch_rows(summary, schema),
                              text_max={k: v["max_length"] for k, v in summary.items() if "max_length" in v})
            s.add(f)
            if kind == "inference" and d.capture_asset_id:
                self._note_capture_schema(s, d, schema)
            s.flush()
            self._audit(s, actor, f"deployment.capture.{kind}", "deployment", d.name,
                        {"file": f.id, "rows": rows, "content_hash": digest, "project": pname})
            return {"deployment": d.name, "kind": kind, "file": f.id, "rows": rows}

    def _note_capture_schema(self, s, d: t.Deployment, schema: list) -> None:
        """The capture dataset's catalog entry shows the captured columns and row count."""
        rev = s.execute(select(t.AssetRevision).where(t.AssetRevision.asset_id == d.capture_asset_id)
                        .order_by(t.AssetRevision.revision.desc()).limit(1)).scalar_one()
        if rev.schema != schema:
            rev.schema = schema
            a = s.get(t.Asset, d.capture_asset_id)
            self._index(s, a, rev)
        rev.row_count = int(s.execute(select(func.coalesce(func.sum(t.CaptureFile.rows), 0)).where(
            t.CaptureFile.deployment_id == d.id, t.CaptureFile.kind == "inference")).scalar())

    def _capture_digests(self, s, capture: t.Asset) -> tuple[list, int, dict]:
        """``(digests, batch_rows, text_max)``: every inference file of the capture dataset's
        deployment (scanned as one dataset) and what bounds a scan of all of them (the smallest
        batch, the longest text). NotFound until something was captured."""
        d = s.execute(select(t.Deployment).where(t.Deployment.capture_asset_id == capture.id)).scalar_one_or_none()
        files = self._capture_files(s, d.id, "inference") if d is not None else []
        if not files:
            raise NotFound(f"nothing was captured into {capture.name!r} yet")
        return [f.content_hash for f in files], *_scan_bounds(files)

    def _capture_files(self, s, deployment_id: int, kind: str, after: int = 0, upto: int | None = None) -> list:
        stmt = select(t.CaptureFile).where(t.CaptureFile.deployment_id == deployment_id,
                                           t.CaptureFile.kind == kind, t.CaptureFile.id > after)
        if upto is not None:
            stmt = stmt.where(t.CaptureFile.id <= upto)
        return list(s.execute(stmt.order_by(t.CaptureFile.id)).scalars())


def _scan_bounds(files: list) -> tuple[int, dict]:
    """Rows per batch and longest text per column over several capture files (the smallest batch,
    the longest text)."""
    text_max: dict = {}
    for f in files:
        for k, v in (f.text_max or {}).items():
            text_max[k] = max(text_max.get(k, 0), v or 0)
    return min(f.batch_rows for f in files), text_max
