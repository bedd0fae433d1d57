"""An MLflow run (or a registered model version and its run) as SageMaker model card content.

Pure mapping from plain dicts (``kernel/cards_client.py`` reads MLflow with its own client):

- ``run``: ``{"run_id", "run_name", "experiment_id", "user", "start_time" (ms), "params", "metrics",
  "tags", "datasets": [{"name", "digest", "context"}], "artifact_uri"}``
- ``registered``: ``{"name", "version", "source", "description"}`` or None
- ``artifact_sha256``: the hash of the model's artifact files (sorted relative paths and bytes)

Params become hyperparameters, numeric metrics training metrics (at most 50, SageMaker's limit),
user tags (not ``mlflow.*``) and the run's identity custom details; datasets logged with context
``training``/``evaluation`` (other contexts: training) are returned as lineage candidates.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Mapping

MAX_PARAMS, MAX_METRICS, MAX_DETAILS = 100, 50, 60


def _clip(value: Any, n: int) -> str:
    text = str(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def card_from_mlflow(run: Mapping, registered: Mapping | None = None,
                     artifact_sha256: str | None = None) -> tuple[dict, dict]:
    """``(content, lineage)``: card content valid against SageMaker's schema, and ``{"training":
    [names], "evaluation": [names]}`` of the datasets the run logged (the caller keeps those the
    catalog has)."""
    tags = dict(run.get("tags") or {})
    user_tags = {k: v for k, v in tags.items() if not k.startswith("mlflow.")}
    name = (registered or {}).get("name") or run.get("run_name") or run.get("run_id")
    overview: dict[str, Any] = {"model_name": _clip(name, 1024),
                                "model_id": _clip(f"mlflow run {run.get('run_id')}", 1024)}
    if registered and str(registered.get("version") or "").isdigit():
        overview["model_version"] = int(registered["version"])
    if run.get("user"):
        overview["model_creator"] = _clip(run["user"], 1024)
    algorithm = tags.get("estimator_class") or tags.get("estimator_name")
    if algorithm:
        overview["algorithm_type"] = _clip(algorithm, 1024)
    description = (registered or {}).get("description") or tags.get("mlflow.note.content")
    if description:
        overview["model_description"] = _clip(description, 1024)
    source = (registered or {}).get("source") or run.get("artifact_uri")
    if source:
        overview["model_artifact"] = [_clip(source, 1024)]

    params = sorted((run.get("params") or {}).items())[:MAX_PARAMS]
    metrics = [(k, float(v)) for k, v in sorted((run.get("metrics") or {}).items())
               if isinstance(v, (int, float)) and math.isfinite(float(v))][:MAX_METRICS]
    job: dict[str, Any] = {
        "hyper_parameters": [{"name": _clip(k, 255), "value": _clip(v, 255)} for k, v in params],
        "training_metrics": [{"name": _clip(k, 255), "value": v} for k, v in metrics],
    }
    lineage: dict[str, list] = {"training": [], "evaluation": []}
    for ds in run.get("datasets") or []:
        role = "evaluation" if str(ds.get("context", "")).lower() in ("evaluation", "eval", "test",
                                                                     "validation") else "training"
        if ds.get("name") and ds["name"] not in lineage[role]:
            lineage[role].append(str(ds["name"]))
    if lineage["training"]:
        job["training_datasets"] = [_clip(n, 1024) for n in lineage["training"][:15]]

    details = {"mlflow_run_id": run.get("run_id"), "mlflow_experiment_id": run.get("experiment_id"),
               "mlflow_run_name": run.get("run_name"), "mlflow_artifact_sha256": artifact_sha256,
               "mlflow_registered_model": (registered or {}).get("name"),
               "mlflow_model_version": (registered or {}).get("version")}
    if run.get("start_time"):
        details["mlflow_run_started"] = datetime.fromtimestamp(run["start_time"] / 1000, timezone.utc) \
            .strftime("%Y-%m-%d %H:%M:%S UTC")
    for ds in run.get("datasets") or []:
        if ds.get("name") and ds.get("digest"):
            details[f"mlflow_dataset_{ds['name']}"[:255]] = f"digest {ds['digest']}"
    for k, v in sorted(user_tags.items()):
        details[f"tag_{k}"[:255]] = v
    custom = {k: _clip(v, 1024) for k, v in list(details.items())[:MAX_DETAILS] if v not in (None, "")}
    content = {"model_overview": overview, "training_details": {"training_job_details": job},
               "additional_information": {"custom_details": custom}}
    return content, lineage
