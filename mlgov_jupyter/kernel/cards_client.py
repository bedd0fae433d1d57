"""Model card methods of the client: autopopulate from the session, edit, review, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..core.errors import Invalid


class CardsClient:
    """Mixed into Client; uses its ``_call``, ``publish`` and session tracking."""

    def card_from_session(self, model, name: str, train=None, test=None, *, model_asset: str | None = None,
                          project: str | None = None, datasets: dict | None = None,
                          notebook_path: str | None = None, description: str = "",
                          bias_facet: str | None = None, bias_values=None):
        """Fill a card from a fitted model and the session's data, link the catalog datasets this
        session loaded with ``use`` as lineage, publish the model if the catalog lacks it, save.
        ``bias_facet``/``bias_values``: a column of the test data and its sensitive values; the
        card gets a fairness evaluation with SageMaker Clarify's bias metrics and a chart."""
        from ..core import cards as c

        from ..core.errors import NotFound
        from .transfer import is_tabular

        # nothing is published before the card is known to be valid: a DataFrame passed as the
        # model used to be published as a dataset, then refused as a card's model (a stray dataset)
        if is_tabular(model) or isinstance(model, (str, Path)) or not (
                hasattr(model, "fit") and hasattr(model, "get_params")):
            raise Invalid(f"a card describes a fitted scikit-learn model, not a {type(model).__name__} "
                          f"(nothing was published)")
        lineage = datasets or self.lineage_for(train, test)
        me = self.whoami()["name"]
        content = c.card_from_session(model, name, train=train, test=test, datasets=lineage,
                                      notebook_path=notebook_path or _notebook_path(), author=me)
        if bias_facet is not None:
            from ..core.cards.fairness import fairness_evaluation

            if not isinstance(test, (tuple, list)) or len(test) != 2 or bias_values is None:
                raise Invalid("a fairness section needs test=(X, y) and bias_values (the sensitive group)")
            content.setdefault("evaluation_details", []).append(
                fairness_evaluation(model, test[0], test[1], bias_facet, bias_values))
        c.validate(content)  # the service validates again; checked here before anything is published
        try:
            previous = self.card(name).card
        except NotFound:
            previous = None
        lineage_body = {"training": list(lineage.get("training", [])),
                        "evaluation": list(lineage.get("evaluation", []))}
        # The card describes one exact model revision: the one this object is (published or loaded
        # in this session, unchanged since), else a new revision published now.
        known = self.model_revision_of(model)
        asset = previous["model"] if previous is not None else (model_asset or (known[0] if known else None))
        if previous is None and asset:  # refusals the card would meet, before a revision is published
            target = self.asset(asset)
            if target["kind"] != "model":
                raise Invalid(f"a card belongs to a model; {asset!r} is a {target['kind']} (nothing was published)")
            taken = [x["name"] for x in self.cards() if x["model"] == asset]
            if taken:
                raise Invalid(f"model {asset!r} already has card {taken[0]!r} (one card per model; "
                              f"nothing was published)")
        if known is not None and known[0] == asset:
            revision = known[1]
        else:
            if asset:  # a new revision of the catalog model, in its project
                home = previous["project"] if previous is not None else self.asset(asset)["project"]
                published = self.publish(model, name=asset, project=home)
            else:
                published = self.publish(model, name=name, project=project,
                                         description=description or f"model of card {name}")
            asset, revision = published["name"], published["revision"]
        if previous is not None:
            # Re-run on a new session: a new version, keeping what people wrote (intended uses,
            # business details, ethics, caveats) where the new autopopulation leaves them empty.
            return self.update_card(name, content=c.carry_over(content, previous["content"]),
                                    lineage=lineage_body, model_revision=revision)
        body = {"name": name, "model": asset, "content": content, "lineage": lineage_body,
                "model_revision": revision}
        return self._card(self._call("POST", "cards", body=body))

    def lineage_for(self, train=None, test=None) -> dict:
        """Catalog datasets loaded in this session that the train/test data came from: same
        columns (a subset) and rows (index values) of a DataFrame returned by ``use``."""
        found = {"training": [], "evaluation": []}
        for role, pair in (("training", train), ("evaluation", test)):
            X = pair[0] if isinstance(pair, (tuple, list)) and pair else None
            if X is None or not hasattr(X, "columns"):
                continue
            for name, ref in self._used_frames.items():
                source = ref()
                if source is not None and set(X.columns) <= set(source.columns) \
                        and X.index.isin(source.index).all():
                    found[role].append(name)
        return found

    def card(self, name: str, version: int | None = None):
        return self._card(self._call("GET", f"cards/{quote(name, safe='')}", query={"version": version}))

    def cards(self, text: str = "", status: str | None = None, risk: str | None = None) -> list[dict]:
        """Model cards, last changed first: ``[{name, model, project, status, version, risk_rating,
        author, updated_at, approved_version}]``. ``text``: words of the card (all, as prefixes:
        names, model description, intended uses, risk, business details); ``status``: Draft,
        PendingReview, Approved or Archived (the latest version's); ``risk``: High, Medium, Low, Unknown."""
        return self._call("GET", "cards", query={"text": text or None, "status": status, "risk": risk})["cards"]

    def update_card(self, name: str, content: dict | None = None, lineage: dict | None = None,
                    model_revision: int | None = None, **sections):
        """New version with ``content`` replaced, or given sections merged into the latest;
        ``model_revision``: the model revision it describes (default: the latest version's)."""
        if content is None:
            content = json.loads(json.dumps(self.card(name).card["content"]))
            for section, fields in sections.items():
                if isinstance(fields, dict) and isinstance(content.get(section), dict):
                    content[section].update(fields)
                else:
                    content[section] = fields
        body = {"content": content, **({"lineage": lineage} if lineage else {}),
                **({"model_revision": int(model_revision)} if model_revision else {})}
        return self._card(self._call("PUT", f"cards/{quote(name, safe='')}", body=body))

    def _transition(self, name: str, action: str, comment: str = ""):
        return self._card(self._call("POST", f"cards/{quote(name, safe='')}/transition",
                                     body={"action": action, "comment": comment}))

    def submit_card(self, name: str, comment: str = ""):
        return self._transition(name, "submit", comment)

    def approve_card(self, name: str, comment: str = ""):
        return self._transition(name, "approve", comment)

    def send_back_card(self, name: str, comment: str = ""):
        return self._transition(name, "send_back", comment)

    def archive_card(self, name: str, comment: str = ""):
        return self._transition(name, "archive", comment)

    def card_diff(self, name: str, a: int, b: int) -> list[dict]:
        return self._call("GET", f"cards/{quote(name, safe='')}/diff", query={"a": a, "b": b})["changes"]

    def export_card(self, name: str, format: str = "pdf", version: int | None = None,
                    path: str | None = None, *, organisation: str | None = None,
                    logo: str | None = None) -> bytes | str:
        """The card rendered by the server; written to ``path`` if given (returns the path): into
        it as ``NAME-vN.EXT`` when it is a folder. ``organisation``/``logo`` (PDF, HTML) put
        another name and logo than the server's ``card_organisation``/``card_logo`` on top; such
        an export is rendered here, from the same card the server would render."""
        if (organisation is not None or logo is not None) and format in ("pdf", "html"):
            from ..core.cards import render

            card = self.card(name, version=version).card
            try:
                data = (render.render_pdf(card, organisation=organisation, logo=logo) if format == "pdf"
                        else render.render_html(card, organisation=organisation, logo=logo).encode())
            except (OSError, ValueError) as exc:
                raise Invalid(f"card export: {exc}") from None
            meta = {"filename": f"{name}-v{card['version']}.{format}"}
        else:
            meta, data = self._call("GET", f"cards/{quote(name, safe='')}/export",
                                    query={"format": format, "version": version})
        if path is None:
            return data
        target = _export_target(path, meta["filename"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return str(target)

    def import_card(self, source: Any, name: str | None = None, model: str | None = None):
        """Create a card from SageMaker model card JSON (content, or a Describe/CreateModelCard body)."""
        from ..core.cards import parse_sagemaker

        if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
            path = Path(source)
            if not path.is_file():
                raise Invalid(f"no SageMaker card JSON file at {path}")
            source = path.read_text()
        parsed = parse_sagemaker(source)
        name = name or parsed["name"]
        if not name or not model:
            raise Invalid("importing a card needs its name and the catalog model it belongs to")
        return self._card(self._call("POST", "cards", body={"name": name, "model": model,
                                                             "content": parsed["content"]}))

    def card_from_mlflow(self, source: str, name: str, model: str, tracking_uri: str | None = None):
        """A card (or a new version of it) from an MLflow run: ``source`` is a run id or
        ``models:/NAME/VERSION`` (a registered model version and the run that made it). Params,
        metrics, user tags, the model artifact's sha256 and the run's logged datasets that are
        catalog datasets (as lineage) go on the card of catalog model ``model``. Needs ``mlflow``
        (or ``mlflow-skinny``) installed; ``tracking_uri`` as MLflow takes it (default: MLflow's)."""
        import tempfile

        from ..core.cards.mlflow_import import card_from_mlflow
        from ..core.errors import NotFound

        try:
            from mlflow import MlflowClient
            from mlflow.exceptions import MlflowException
        except ImportError:
            raise Invalid("importing from MLflow needs mlflow: pip install mlflow-skinny") from None
        mlf = MlflowClient(tracking_uri=tracking_uri)
        registered = None
        try:
            if source.startswith("models:/"):
                parts = source[len("models:/"):].split("/")
                if len(parts) != 2 or not parts[1].isdigit():
                    raise Invalid(f"{source!r}: a registered model version is models:/NAME/VERSION")
                mv = mlf.get_model_version(parts[0], parts[1])
                registered = {"name": mv.name, "version": mv.version, "source": mv.source,
                              "description": mv.description}
                run_id = mv.run_id
            else:
                run_id = source
            run = mlf.get_run(run_id)
            datasets = [{"name": d.dataset.name, "digest": d.dataset.digest,
                         "context": next((t.value for t in d.tags if t.key == "mlflow.data.context"), "")}
                        for d in (run.inputs.dataset_inputs if run.inputs else [])]
            path = ""
            if registered and registered["source"].startswith(f"runs:/{run_id}/"):
                path = registered["source"][len(f"runs:/{run_id}/"):]
            with tempfile.TemporaryDirectory() as tmp:
                local = mlf.download_artifacts(run_id, path, tmp) if (path or mlf.list_artifacts(run_id)) else None
                digest = _tree_sha256(local) if local else None
        except MlflowException as exc:
            raise Invalid(f"MLflow: {str(exc).splitlines()[0][:300]}") from None
        info = {"run_id": run.info.run_id, "run_name": run.info.run_name, "experiment_id": run.info.experiment_id,
                "user": run.info.user_id, "start_time": run.info.start_time, "params": dict(run.data.params),
                "metrics": dict(run.data.metrics), "tags": dict(run.data.tags), "datasets": datasets,
                "artifact_uri": run.info.artifact_uri}
        content, logged = card_from_mlflow(info, registered, digest)
        lineage = {"training": [], "evaluation": []}
        for role, names in logged.items():
            for dataset in names:
                try:
                    if self.asset(dataset)["kind"] in ("dataset", "feature_group"):
                        lineage[role].append(dataset)
                except NotFound:
                    pass  # a dataset MLflow knows and the catalog does not: named in the details only
        try:
            previous = self.card(name).card
        except NotFound:
            previous = None
        if previous is not None:
            from ..core import cards as c

            return self.update_card(name, content=c.carry_over(content, previous["content"]), lineage=lineage)
        return self._card(self._call("POST", "cards", body={"name": name, "model": model, "content": content,
                                                             "lineage": lineage}))

    def _card(self, data: dict):
        from .widgets.card_view import CardView

        view = CardView(data)
        view.card = data  # keep every field (versions, lineage), not only the display subset
        return view


def _export_target(path, filename: str) -> Path:
    """Where an export goes: into ``path`` when it names a folder (an existing directory, a path
    ending in a separator, or a new path without an extension), as ``NAME-vN.ext``; else the file
    ``path`` itself, keeping its name."""
    import os

    text = os.fspath(path)
    target = Path(text).expanduser()
    if target.is_dir() or text.endswith(("/", os.sep)) or (not target.exists() and not target.suffix):
        return target / filename
    return target


def _tree_sha256(path: str) -> str:
    """sha256 over a file, or a folder's files in sorted relative-path order (path, then bytes)."""
    import hashlib

    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(root) if f != root else f.name).encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return "sha256:" + h.hexdigest()


def _notebook_path() -> str | None:
    import os

    return os.environ.get("JPY_SESSION_NAME") or None
