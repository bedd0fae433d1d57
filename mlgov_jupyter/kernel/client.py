"""The Python API practitioners use; the magics wrap it. One client, two transports."""

from __future__ import annotations

import getpass
import json
import os
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..core import row_filters
from ..core.errors import Invalid
from .cards_client import CardsClient
from .monitors_client import MonitorsClient
from .notifications_client import NotificationsClient
from .roles_client import RolesClient
from . import transfer
from .transport import HttpTransport, LocalTransport



def connect(url: str | None = None, token: str | None = None, user: str | None = None) -> "Client":
    """A client of the governance service.

    Over HTTP (``url``, or ``$MLGOV_SERVER_URL`` as Jupyter servers hand it to their kernels) the
    token decides who you are: ``token``, else ``$MLGOV_TOKEN``, else ``$JUPYTERHUB_API_TOKEN`` (on
    JupyterHub, your own hub token). Without a server the service runs in this process on your
    personal store (``$MLGOV_DB_URL`` or the Jupyter data dir): you own that store and are its admin;
    ``user`` names who acts there (tests, scripts). Raises Invalid for ``user`` with a server.
    """
    url = url or os.environ.get("MLGOV_SERVER_URL")
    if url:
        if user:
            raise Invalid("user= is for the in-process store only: a server acts as the token's user")
        token = token or os.environ.get("MLGOV_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN")
        return Client(HttpTransport(url, token))
    me = getpass.getuser()
    return Client(LocalTransport(os.environ.get("MLGOV_DB_URL"), user or me, frozenset({me})))


class Client(CardsClient, RolesClient, NotificationsClient, MonitorsClient):
    def __init__(self, transport):
        self.transport = transport
        self.used: dict[str, dict] = {}  # catalog assets loaded in this session: lineage for cards
        self._used_frames: dict = {}  # name -> weakref to the DataFrame `use` returned
        self._used_models: dict[int, str] = {}  # id(model) -> asset name
        self._published: dict[int, str] = {}  # id(model) -> asset name published in this session
        self._published_data: set[str] = set()  # datasets and feature groups published in this session
        # id(model) -> (asset, revision, joblib.hash of the object then): the catalog revision a
        # model object of this session is, until it changes (a refit); cards describe it
        self._model_revisions: dict[int, tuple] = {}

    def __repr__(self):
        return f"<mlgov client {self.transport!r}>"

    def _call(self, method: str, path: str, query: dict | None = None, body: Any = None):
        return self.transport.request(method, path, query, body)

    # identity and projects
    def whoami(self) -> dict:
        return self._call("GET", "whoami")

    def projects(self) -> list[dict]:
        return self._call("GET", "projects")["projects"]

    def create_project(self, name: str, description: str = "") -> dict:
        return self._call("POST", "projects", body={"name": name, "description": description})

    def add_member(self, project: str, user: str, designation: str = "consumer") -> dict:
        return self._call("POST", f"projects/{quote(project, safe='')}/members",
                          body={"user": user, "designation": designation})

    def remove_member(self, project: str, user: str) -> dict:
        """Take ``user`` out of ``project`` (a project keeps at least one owner)."""
        return self._call("DELETE", f"projects/{quote(project, safe='')}/members/{quote(user, safe='')}")

    # catalog
    def publish(self, obj, name: str, kind: str | None = None, project: str | None = None,
                description: str | None = None, tags=None, glossary_terms=None,
                classification: str | None = None,
                record_id: str | None = None, event_time: str | None = None,
                feature_descriptions: dict | None = None) -> dict:
        """Publish a dataset (a DataFrame, an Arrow table, a Dask DataFrame, a Parquet file or
        folder), a scikit-learn model, a file path or a URI. Content is sent in parts (Parquet
        row groups for data), never held whole by the service. A feature group is a dataset with
        record_id and event_time columns. Metadata not given (None) keeps what the asset has (a
        new asset: no description, tags or terms, classification ``internal``). An isolated
        model (what use() returns for a model you did not publish) is an Invalid: it runs in its
        worker and has nothing here to publish."""
        from .isolated_model import EstimatorView

        if isinstance(obj, EstimatorView):
            raise Invalid("an isolated model cannot be published: it runs in its worker; publish the "
                          "original's file, or use(..., isolated=False) if you trust it")
        body = {"name": name, "project": project, "description": description,
                "tags": None if tags is None else list(tags),
                "glossary_terms": None if glossary_terms is None else list(glossary_terms),
                "classification": classification}
        if isinstance(obj, (str, Path)) and "://" in str(obj):
            body.update(format="uri", location=str(obj))
        else:
            body["upload"], body["format"] = transfer.upload(self._call, obj, name, project)
            if body["format"] == "file":
                body["filename"] = Path(obj).name
        body["kind"] = kind or ("feature_group" if record_id else
                                "model" if body["format"] == "skops" else "dataset")
        if record_id or event_time:
            body["features"] = {"record_id": record_id, "event_time": event_time,
                                "descriptions": dict(feature_descriptions or {})}
        asset = self._call("POST", "assets", body={k: v for k, v in body.items() if v is not None})
        if asset["kind"] == "model":
            self._published[id(obj)] = asset["name"]
            self._remember_revision(obj, asset["name"], asset["revision"])
        else:
            self._published_data.add(asset["name"])
        return asset

    def register(self, name: str, location: str, format: str = "parquet", project: str | None = None,
                 description: str | None = None, tags=None, glossary_terms=None,
                 classification: str | None = None) -> dict:
        """Register data that stays where it is (``location``: an S3/GCS/ADLS prefix or a path the
        service may read, Parquet or CSV) as a dataset: the service reads it with its own
        credentials and streams it to grantees like any other dataset. Forbidden outside the
        locations its administrator allowed."""
        body = {"name": name, "kind": "dataset", "format": f"external-{format}", "location": location,
                "project": project, "description": description,
                "tags": None if tags is None else list(tags),
                "glossary_terms": None if glossary_terms is None else list(glossary_terms),
                "classification": classification}
        asset = self._call("POST", "assets", body={k: v for k, v in body.items() if v is not None})
        self._published_data.add(asset["name"])
        return asset

    def search(self, text: str = "", **filters):
        from .widgets.search_results import SearchResults

        page = self._call("GET", "assets", query={"q": text, **filters})
        return SearchResults(page, self)

    def asset(self, name: str) -> dict:
        return self._call("GET", f"assets/{quote(name, safe='')}")

    def deprecate(self, name: str, reason: str, replacement: str | None = None) -> dict:
        """Mark an asset deprecated (owners, stewards): left out of search unless
        ``include_deprecated=True``, still readable by holders; ``use`` warns, naming
        ``replacement``. Returns the asset with ``deprecated``: ``{at, by, reason, replacement}``."""
        body = {"reason": reason}
        if replacement:
            body["replacement"] = replacement
        return self._call("POST", f"assets/{quote(name, safe='')}/deprecation", body=body)

    def undeprecate(self, name: str) -> dict:
        """Lift a deprecation (owners, stewards)."""
        return self._call("DELETE", f"assets/{quote(name, safe='')}/deprecation")

    def unpublish(self, name: str, reason: str) -> dict:
        """Take an asset out of the catalog for good (owners of its project): its grants end, its
        pending requests close, its content is deleted unless another asset shares it; its name,
        revisions' metadata and audit trail stay. ``{name, unpublished, grants_ended,
        requests_closed, content_deleted, content_kept}``. A model a deployment in service uses
        (or an active monitor watches) is a Conflict."""
        return self._call("POST", f"assets/{quote(name, safe='')}/unpublish", body={"reason": reason})

    def subscribe(self, name: str, reason: str, filter: str | None = None) -> dict:
        """Ask for access with a reason; ``filter``: an asset filter of the dataset, to ask for
        that scope only (see ``filters(name)``)."""
        body = {"asset": name, "reason": reason}
        if filter:
            body["filter"] = filter
        return self._call("POST", "requests", body=body)

    def filters(self, name: str) -> list[dict]:
        """A dataset's asset filters: ``{"name", "description", "columns", "rows"}``."""
        return self._call("GET", f"assets/{quote(name, safe='')}/filters")["filters"]

    def define_filter(self, name: str, filter_name: str, columns: list[str] | None = None, rows=None,
                      description: str = "") -> dict:
        """Define an asset filter on dataset ``name`` (owners and stewards): the ``columns`` a
        grantee sees and/or the ``rows`` (``[(col, op, value), ...]``, as ``use(filter=)``)."""
        body = {"name": filter_name, "description": description}
        if columns is not None:
            body["columns"] = list(columns)
        if rows is not None:
            body["rows"] = _filter_terms(rows)
        return self._call("POST", f"assets/{quote(name, safe='')}/filters", body=body)

    def delete_filter(self, name: str, filter_name: str) -> dict:
        return self._call("DELETE", f"assets/{quote(name, safe='')}/filters/{quote(filter_name, safe='')}")

    def requests(self, incoming: bool = False, status: str | None = None) -> list[dict]:
        return self._call("GET", "requests", query={"incoming": incoming, "status": status})["requests"]

    def approve(self, request_id: int, comment: str = "", filter: str | None = None) -> dict:
        """Accept a request; ``filter``: scope the grant to that asset filter (it may narrow
        what was asked for, never widen it; default: what the request asked for)."""
        body = {"comment": comment}
        if filter:
            body["filter"] = filter
        return self._call("POST", f"requests/{int(request_id)}/approve", body=body)

    def reject(self, request_id: int, comment: str = "") -> dict:
        return self._call("POST", f"requests/{int(request_id)}/reject", body={"comment": comment})

    def subscriptions(self, incoming: bool = False) -> list[dict]:
        return self._call("GET", "subscriptions", query={"incoming": incoming})["subscriptions"]

    def revoke(self, subscription_id: int) -> dict:
        return self._call("POST", f"subscriptions/{int(subscription_id)}/revoke", body={})

    def cancel(self, subscription_id: int) -> dict:
        return self._call("POST", f"subscriptions/{int(subscription_id)}/cancel", body={})

    def presigned_urls(self, name: str, revision: int | None = None, expires: int | None = None) -> dict:
        """Short-lived presigned URLs to a dataset revision's files (the latest by default): its
        Parquet file in the service's S3 store, or each file of data registered on S3, when the
        server vends them (``presigned_urls``) and you may read the whole dataset: ``{"name",
        "revision", "format", "expires_in" (seconds), "expires_at" (ISO 8601 UTC), "files":
        [{"url", "size_bytes", "content_hash" or "path"}]}``. Any HTTP client, Spark, DuckDB or
        ``pd.read_parquet(url)`` reads them until they expire (``expires`` seconds, default and
        most the server's ``presigned_url_seconds``, 15 min). Forbidden for a grant scoped by an
        asset filter; Conflict where the server vends none (off, a local store, registered data
        on a local path or changed since registration). Audited."""
        vended = self._call("GET", f"assets/{quote(name, safe='')}/urls",
                            query={k: v for k, v in (("revision", revision), ("expires", expires)) if v is not None})
        _warn_deprecated(vended["name"], vended)
        return vended

    def use(self, name: str, revision: int | None = None, trusted: list[str] | None = None,
            columns: list[str] | None = None, filter=None, as_: str = "pandas", isolated: bool | str | None = None,
            max_answer_bytes: int | None = None):
        """The asset's data if you own it or hold a grant (``name``, or ``"model@alias"`` for the
        model revision an alias points at): a dataset as a DataFrame (``as_=
        "pandas"``), a pyarrow Table (``"arrow"``) or an iterator of RecordBatches (``"batches"``),
        a model, a file's bytes, or a URI. ``columns`` and ``filter`` (``[(col, op, value), ...]``
        as ``pandas.read_parquet(filters=...)`` takes them) are applied by the service's scan:
        only those rows and columns travel. A model loads only the types skops trusts by
        default, plus those you name in ``trusted``; one you did not publish yourself runs in a
        process of its own (an ``IsolatedModel``: predict, predict_proba, decision_function,
        transform, score there; a malformed model's crash is an Invalid, not your kernel's), and
        that process is sandboxed (kernel/sandbox.py: no file but Python's own, no network, no
        signal or ptrace of your kernel); where it cannot be, use() refuses (an Invalid naming
        the opt-out ``isolated="unsandboxed"``, or ``MLGOV_ISOLATED=unsandboxed``).
        ``isolated=False`` loads it in your kernel: only if you trust its publisher.
        ``max_answer_bytes``: what one call of an isolated model may answer (default 256 MiB, or
        ``MLGOV_ISOLATED_MAX_ANSWER_BYTES``; over it, an Invalid naming the setting). A model
        revision its project's ``model_approval`` setting does not vouch for (not Approved, or
        no Approved card describes it) is Forbidden under ``refuse``, a ModelApprovalWarning
        under ``warn``."""
        if as_ == "urls":
            if columns is not None or filter is not None:
                raise Invalid("as_='urls' gives the whole files: columns and filter apply to a scan")
            return self.presigned_urls(name, revision=revision)
        if as_ not in ("pandas", "arrow", "batches", "urls"):
            raise Invalid(f"as_ must be pandas, arrow, batches or urls, not {as_!r}")
        query = {"revision": revision}
        if columns is not None:
            query["columns"] = json.dumps(list(columns))
        if filter is not None:
            query["filter"] = json.dumps(_filter_terms(filter))
        meta, stream = self.transport.request("GET", f"assets/{quote(name, safe='')}/data", query, None,
                                              stream=True)
        # a read that breaks off resumes (transfer.py): the same revision, from what was received
        again = dict(query, revision=meta["revision"])
        path = f"assets/{quote(meta['name'], safe='')}/data"
        tabular = meta["format"] in ("parquet", "capture", "external-parquet", "external-csv")
        if tabular:
            value = transfer.read_stream(meta, stream, as_, lambda start: self.transport.request(
                "GET", path, dict(again, start=start), None, stream=True))
        else:
            value = _load(meta, transfer.read_all(stream, meta, lambda offset: self.transport.request(
                "GET", path, again, None, stream=True, headers={"Range": f"bytes={offset}-"}))
                if stream is not None else None, trusted,
                          isolated=meta["format"] == "skops" and self._isolate(meta["name"], meta, isolated),
                          max_answer_bytes=max_answer_bytes)
        name = meta["name"]  # NAME@ALIAS names a revision of NAME
        self.used[name] = {"name": name, "revision": meta["revision"], "kind": meta["kind"],
                           "content_hash": meta["content_hash"], "object_id": id(value)}
        if tabular and as_ == "pandas":
            self._used_frames[name] = weakref.ref(value)
        elif meta["format"] == "skops":
            self._used_models[id(value)] = meta["name"]
            self._remember_revision(value, meta["name"], meta["revision"])
        warn_model_approval(meta)
        _warn_deprecated(name, meta)
        return value

    # model versions (service/model_versions.py)
    def model_versions(self, name: str) -> dict:
        """A model's revisions newest first, each with ``approval_status`` (PendingManualApproval,
        Approved, Rejected), who decided when with which comment and the history, its aliases and
        the card versions describing it; plus ``aliases`` and ``alias_history`` (who moved which
        alias when) and the project's ``model_approval`` setting."""
        return self._call("GET", f"models/{quote(name, safe='')}/versions")

    def approve_model(self, name: str, revision: int, comment: str) -> dict:
        """Approve a model revision (owners and stewards of its project; not its publisher)."""
        return self._call("POST", f"models/{quote(name, safe='')}/versions/{int(revision)}/approve",
                          body={"comment": comment})

    def reject_model(self, name: str, revision: int, comment: str) -> dict:
        """Reject a model revision (owners and stewards of its project; not its publisher)."""
        return self._call("POST", f"models/{quote(name, safe='')}/versions/{int(revision)}/reject",
                          body={"comment": comment})

    def set_alias(self, name: str, alias: str, revision: int) -> dict:
        """Point ``alias`` (e.g. ``champion``) of a model at ``revision``; ``use("NAME@ALIAS")``
        then loads that revision. Owners and stewards; every move is kept."""
        return self._call("PUT", f"models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}",
                          body={"revision": int(revision)})

    def project_settings(self, project: str) -> dict:
        return self._call("GET", f"projects/{quote(project, safe='')}/settings")

    def set_model_approval(self, project: str, policy: str) -> dict:
        """What ``use`` of a model revision that is not Approved with an Approved card does in
        ``project``: ``"off"``, ``"warn"`` (a ModelApprovalWarning) or ``"refuse"`` (Forbidden)."""
        return self._call("PUT", f"projects/{quote(project, safe='')}/settings",
                          body={"model_approval": policy})

    def _remember_revision(self, model, name: str, revision: int) -> None:
        self._model_revisions[id(model)] = (name, revision, _fingerprint(model))

    def model_revision_of(self, model) -> tuple[str, int] | None:
        """(asset, revision) when ``model`` is, unchanged, a revision this session published or
        loaded; None for a new or refitted model."""
        known = self._model_revisions.get(id(model))
        if known is None or known[2] is None or known[2] != _fingerprint(model):
            return None
        return known[0], known[1]

    def _isolate(self, name: str, meta: dict, isolated: bool | str | None) -> bool | str:
        """A model runs isolated unless the caller says otherwise or published this very
        revision (same content) themselves; ``"unsandboxed"``: isolated, and allowed to run
        where the worker's sandbox cannot be set up."""
        if isinstance(isolated, str):
            if isolated != "unsandboxed":
                raise Invalid(f"isolated must be True, False or 'unsandboxed', not {isolated!r}")
            return isolated
        if isolated is not None:
            return bool(isolated)
        try:
            me = self.whoami()["name"]
            revs = self._call("GET", f"assets/{quote(name, safe='')}").get("revisions") or []
            rev = next((r for r in revs if r.get("revision") == meta.get("revision")), None)
            return not (rev and rev.get("created_by") == me and meta.get("content_hash")
                        and rev.get("content_hash") == meta.get("content_hash"))
        except Exception:  # noqa: BLE001 - when in doubt, isolated
            return True

    # monitoring
    def record_execution(self, model: str, report: dict, monitor_type: str = "data_quality",
                         datasets: list[str] | None = None) -> dict:
        """Keep a monitoring check (``report.to_dict()``) in the model's history. ``datasets``: the
        catalog datasets it was computed on (default: those this session used or published); the
        report is shown to those who may read each of them, or, when none is known, to the
        model's project only."""
        report = report.to_dict() if hasattr(report, "to_dict") else report
        if datasets is None:
            datasets = sorted({n for n, u in self.used.items() if u["kind"] in ("dataset", "feature_group")}
                              | set(self._published_data))
        body = {"monitor_type": monitor_type, "report": report}
        if datasets:
            body["datasets"] = list(datasets)
        return self._call("POST", f"models/{quote(model, safe='')}/executions", body=body)

    def executions(self, model: str, limit: int = 50) -> list[dict]:
        return self._call("GET", f"models/{quote(model, safe='')}/executions",
                          query={"limit": limit})["executions"]

    def execution(self, model: str, execution_id: int) -> dict:
        return self._call("GET", f"models/{quote(model, safe='')}/executions/{int(execution_id)}")

    def delete_execution(self, model: str, execution_id: int) -> dict:
        """Delete one check of ``model`` (owners and stewards of its project; audited)."""
        return self._call("DELETE", f"models/{quote(model, safe='')}/executions/{int(execution_id)}")

    def acknowledge_alert(self, model: str, comment: str = "") -> dict:
        return self._call("POST", f"models/{quote(model, safe='')}/alerts/ack", body={"comment": comment})

    def dashboard(self) -> list[dict]:
        return self._call("GET", "dashboard")["models"]

    # audit
    def audit(self, limit: int = 50, project: str | None = None, **filters) -> list[dict]:
        """Audit events newest first: of one project (its owners and stewards), or all (admins,
        auditors). Filters: ``actor``, ``action``, ``resource_type``, ``resource_id``, ``since``,
        ``until`` (ISO 8601, UTC if no zone), ``before``/``after`` (event ids: page with
        ``before=`` the oldest id of the previous page)."""
        return self._call("GET", "audit", query=_audit_query(limit=limit, project=project, **filters))["events"]

    def audit_export(self, path: str | Path | None = None, project: str | None = None, **filters) -> bytes | int:
        """Every matching event, oldest first, as JSON Lines (with hashes and signatures): the
        bytes, or with ``path`` written to that file and the number of events returned."""
        query, chunks, count = _audit_query(project=project, **filters), [], 0
        while True:
            meta, data = self._call("GET", "audit/export", query=query)
            chunks.append(data or b"")
            count += meta.get("count", 0)
            if not meta.get("next_after"):
                break
            query["after"] = meta["next_after"]
        out = b"".join(chunks)
        if path is None:
            return out
        Path(path).write_bytes(out)
        return count

    def audit_verify(self) -> dict:
        return self._call("GET", "audit/verify")

    def audit_checkpoint(self) -> dict:
        """Sign a checkpoint of the audit chain now (admins): ``{"checkpoint", "message"}``."""
        return self._call("POST", "audit/checkpoints", body={})

    def audit_checkpoints(self, limit: int = 50) -> list[dict]:
        """Signed checkpoints ``{"payload", "signature"}``, newest first (admins, auditors)."""
        return self._call("GET", "audit/checkpoints", query={"limit": limit})["checkpoints"]

    def audit_public_key(self) -> dict:
        """``{"algorithm", "key_id", "public_key"}``: the PEM that verifies checkpoints."""
        return self._call("GET", "audit/public-key")


class ModelApprovalWarning(UserWarning):
    """``use`` of a model revision its project's ``model_approval=warn`` does not vouch for."""


def warn_model_approval(answer: dict) -> dict:
    """``answer`` (of ``use``, a deploy or a deployment's move), its ``warning`` (a revision the
    project's model_approval=warn does not approve) shown as one ModelApprovalWarning line,
    without a source line of mlgov's or the magic's."""
    if answer.get("warning"):
        import warnings

        warnings.warn_explicit(answer["warning"], ModelApprovalWarning, "<mlgov>", 0, module="mlgov_jupyter")
    return answer


def _fingerprint(model) -> str | None:
    """A hash of the object's state (joblib.hash, scikit-learn's own dependency): equal while the
    object is unchanged, different after a refit. None when it cannot be hashed."""
    if type(model).__name__ == "IsolatedModel":
        return "isolated"  # runs elsewhere and cannot be refitted here
    try:
        import joblib

        return joblib.hash(model)
    except Exception:  # noqa: BLE001 - unknown: treat it as new
        return None


def _audit_query(**filters) -> dict:
    allowed = {"limit", "project", "before", "after", "actor", "action", "resource_type",
               "resource_id", "since", "until"}
    unknown = sorted(set(filters) - allowed)
    if unknown:
        raise Invalid(f"unknown audit filter: {', '.join(unknown)} (one of {', '.join(sorted(allowed))})")
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in filters.items() if v is not None}


def _filter_terms(filters) -> list:
    """Tuple lists (one conjunction, or a list of them; NumPy scalars and sets welcome) as the
    service reads them: checked here by the same ``core.row_filters.normalise``."""
    def plain(value):
        if hasattr(value, "item"):
            return value.item()
        if isinstance(value, (set, frozenset)):
            return sorted(value)
        raise TypeError(type(value).__name__)

    try:
        return row_filters.normalise(json.loads(json.dumps(filters, default=plain)))
    except (TypeError, ValueError):
        raise Invalid("filter must be a list of (column, op, value) tuples of plain values") from None


def _load(meta: dict, data: bytes | None, trusted: list[str] | None, isolated: bool | str = False,
          max_answer_bytes: int | None = None):
    fmt = meta["format"]
    if fmt == "skops":
        import skops.io as sio

        from ..core.model_trust import untrusted_types

        try:
            extra = untrusted_types(data, trusted)
        except ValueError as exc:
            raise Invalid(f"model {meta['name']!r}: {exc}") from None
        if extra:
            raise Invalid(f"model {meta['name']!r} holds types skops does not trust by default (the file "
                          f"builds them with its own arguments): {', '.join(extra)}; if you trust its "
                          f"publisher, pass trusted=[...] naming them")
        if isolated:
            from .isolated_model import load_isolated

            return load_isolated(meta["name"], data, sio.get_untrusted_types(data=data),
                                 unsandboxed=isolated == "unsandboxed", max_answer_bytes=max_answer_bytes)
        return sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    if fmt == "uri":
        return meta["location"]
    return data


def _warn_deprecated(name: str, meta: dict) -> None:
    """A deprecated asset's one-line DeprecationWarning, at every use, as the caller's
    (__main__'s), which Python and IPython show."""
    d = meta.get("deprecated")
    if d:
        import warnings

        instead = f"; use {d['replacement']} instead" if d.get("replacement") else ""
        warnings.warn_explicit(f"{name} is deprecated by {d['by']}: {d['reason']}{instead}",
                               DeprecationWarning, "<mlgov>", 0, module="__main__", registry={})
