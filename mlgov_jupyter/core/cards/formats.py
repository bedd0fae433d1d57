"""Card content in and out: SageMaker JSON (lossless round trip) and Hugging Face style Markdown."""

from __future__ import annotations

import copy
import html
import json
from typing import Any, Mapping

from mlgov_jupyter.core import json_text
from mlgov_jupyter.core.errors import Invalid

from .schema import validate, validate_card_name, validate_status

# ---------------------------------------------------------------- SageMaker JSON


def export_sagemaker_json(content: Mapping, indent: int | None = 2) -> str:
    """The content as SageMaker model card JSON (validated first)."""
    content = dict(content)
    validate(content)
    return json.dumps(content, indent=indent, ensure_ascii=False, allow_nan=False)


def sagemaker_create_request(card: Mapping) -> dict:
    """A ``CreateModelCard`` request body (boto3 ``create_model_card(**request)``) for a card dict."""
    name = validate_card_name(card.get("name"))
    status = card.get("status") or "Draft"
    validate_status(status)
    return {
        "ModelCardName": name,
        "Content": export_sagemaker_json(card.get("content") or {}, indent=None),
        "ModelCardStatus": status,
    }


def parse_sagemaker(data: Any) -> dict:
    """Read a SageMaker card: raw content JSON, or a DescribeModelCard / CreateModelCard body.

    Returns ``{"content": ..., "name": str|None, "status": str|None, "version": int|None}``;
    the content is validated.
    """
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8")
    if isinstance(data, str):
        data = json_text.loads(data, "the card", allow_nan=True)
    if not isinstance(data, dict):
        raise Invalid("a SageMaker model card must be a JSON object")
    name = status = version = None
    if "Content" in data or "ModelCardName" in data:
        name = data.get("ModelCardName")
        status = data.get("ModelCardStatus")
        version = data.get("ModelCardVersion")
        raw = data.get("Content", "{}")
        if isinstance(raw, str):
            raw = json_text.loads(raw, "Content", allow_nan=True)
        content = raw
        if name is not None:
            validate_card_name(name)
        if status is not None:
            validate_status(status)
    else:
        content = data
    validate(content)
    return {"content": copy.deepcopy(content), "name": name, "status": status, "version": version}


def import_sagemaker_json(data: Any) -> dict:
    """Card content from SageMaker JSON (see :func:`parse_sagemaker`), validated."""
    return parse_sagemaker(data)["content"]


# ---------------------------------------------------------------- Markdown (Hugging Face style)

_HF_TASK = {
    "BinaryClassification": "tabular-classification",
    "MulticlassClassification": "tabular-classification",
    "Regression": "tabular-regression",
}


def md_text(value: Any) -> str:
    """User text made inert for Markdown renderers: HTML escaped, line breaks kept."""
    return html.escape(str(value), quote=False)


def _cell(value: Any) -> str:
    text = md_text(value).replace("|", "\\|")
    return " ".join(text.split()) or " "


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _front_matter(card: Mapping, content: Mapping) -> dict:
    ov = content.get("model_overview", {})
    job = content.get("training_details", {}).get("training_job_details", {})
    meta: dict[str, Any] = {}
    custom = content.get("additional_information", {}).get("custom_details", {})
    libs = custom.get("libraries", "")
    if "scikit-learn" in libs:
        meta["library_name"] = "sklearn"
    tags = ["mlgov"]
    if ov.get("problem_type") in _HF_TASK:
        tags.append(_HF_TASK[ov["problem_type"]])
    meta["tags"] = tags
    datasets = list(job.get("training_datasets", []))
    for ev in content.get("evaluation_details", []):
        datasets += [d for d in ev.get("datasets", []) if d not in datasets]
    if datasets:
        meta["datasets"] = datasets
    name = card.get("name") or ov.get("model_name") or "model"
    results = []
    for ev in content.get("evaluation_details", []):
        metrics = []
        for group in ev.get("metric_groups", []):
            for m in group.get("metric_data", []):
                if m.get("type") == "number":
                    metrics.append({"type": m["name"], "value": m["value"], "name": m["name"]})
        if metrics:
            result: dict[str, Any] = {}
            if ov.get("problem_type"):
                result["task"] = {"type": _HF_TASK.get(ov["problem_type"], "other"), "name": ov["problem_type"]}
            ds = ev.get("datasets") or [ev["name"]]
            result["dataset"] = {"name": ds[0], "type": ds[0]}
            result["metrics"] = metrics
            results.append(result)
    if results:
        meta["model-index"] = [{"name": name, "results": results}]
    mlgov = {k: card[k] for k in ("name", "version", "status", "model") if card.get(k) is not None}
    if mlgov:
        meta["mlgov"] = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in mlgov.items()}
    return meta


def to_markdown(card: Mapping) -> str:
    """Hugging Face style model card: YAML front matter, then sections. Accepts a card dict
    (``name``, ``status``, ``version``, ``content`` ...) or bare content."""
    import yaml

    if "content" not in card and any(k in card for k in ("model_overview", "intended_uses", "evaluation_details")):
        card = {"content": card}
    content = card.get("content") or {}
    ov = content.get("model_overview", {})
    uses = content.get("intended_uses", {})
    biz = content.get("business_details", {})
    train = content.get("training_details", {})
    job = train.get("training_job_details", {})
    info = content.get("additional_information", {})
    name = card.get("name") or ov.get("model_name") or "model"

    out = ["---", yaml.safe_dump(_front_matter(card, content), sort_keys=False, allow_unicode=True).rstrip(), "---", ""]
    out += [f"# Model card for {md_text(name)}", ""]
    if ov.get("model_description"):
        out += [md_text(ov["model_description"]), ""]

    def fields(pairs: list[tuple[str, Any]]) -> list[str]:
        return [f"- **{label}:** {md_text(_fmt(v))}" for label, v in pairs if v not in (None, "", [])]

    out += ["## Model details", ""]
    meta = [("Card version", card.get("version")), ("Status", card.get("status"))]
    meta += [(label, ov.get(key)) for label, key in (
        ("Model name", "model_name"), ("Model id", "model_id"), ("Model version", "model_version"),
        ("Owner", "model_owner"), ("Creator", "model_creator"), ("Problem type", "problem_type"),
        ("Algorithm", "algorithm_type"))]
    if ov.get("model_artifact"):
        meta.append(("Artifacts", ", ".join(ov["model_artifact"])))
    images = ov.get("inference_environment", {}).get("container_image")
    if images:
        meta.append(("Inference images", ", ".join(images)))
    out += fields(meta) + [""]

    pkg = content.get("model_package_details") or {}
    if pkg:
        out += ["## Model package", ""]
        out += fields([(label, pkg.get(key)) for label, key in (
            ("Model package", "model_package_arn"), ("Name", "model_package_name"),
            ("Group", "model_package_group_name"), ("Version", "model_package_version"),
            ("Description", "model_package_description"), ("Status", "model_package_status"),
            ("Approval", "model_approval_status"), ("Approval description", "approval_description"),
            ("Domain", "domain"), ("Task", "task"))])
        if (pkg.get("created_by") or {}).get("user_profile_name"):
            out += fields([("Created by", pkg["created_by"]["user_profile_name"])])
        for c in (pkg.get("inference_specification") or {}).get("containers", []):
            out += fields([("Inference container", " ".join(
                str(c[k]) for k in ("image", "model_data_url", "nearest_model_name") if c.get(k)))])
        for a in pkg.get("source_algorithms") or []:
            out += fields([("Source algorithm", " ".join(
                str(a[k]) for k in ("algorithm_name", "model_data_url") if a.get(k)))])
        out += [""]

    if uses:
        out += ["## Uses", ""]
        for label, key in (("Purpose", "purpose_of_model"), ("Intended uses", "intended_uses"),
                           ("Factors affecting model efficiency", "factors_affecting_model_efficiency")):
            if uses.get(key):
                out += [f"### {label}", "", md_text(uses[key]), ""]
        out += ["### Risk", "", f"- **Risk rating:** {md_text(uses.get('risk_rating', 'Unknown'))}"]
        if uses.get("explanations_for_risk_rating"):
            out += [f"- **Explanation:** {md_text(uses['explanations_for_risk_rating'])}"]
        out += [""]
    if biz:
        out += ["## Business details", ""]
        out += fields([("Business problem", biz.get("business_problem")),
                       ("Stakeholders", biz.get("business_stakeholders")),
                       ("Line of business", biz.get("line_of_business"))]) + [""]
    if train:
        out += ["## Training details", ""]
        obj = train.get("objective_function", {})
        fn = obj.get("function", {})
        if fn or obj.get("notes"):
            desc = " ".join(str(fn.get(k)) for k in ("function", "facet", "condition") if fn.get(k))
            out += fields([("Objective", desc), ("Objective notes", obj.get("notes"))])
        out += fields([("Observations", train.get("training_observations")),
                       ("Training job", job.get("training_arn")),
                       ("Training datasets", ", ".join(job.get("training_datasets", []))),
                       ("Training images", ", ".join(job.get("training_environment", {}).get("container_image", [])))])
        out += [""]
        for key, title in (("training_metrics", "Training metrics"), ("user_provided_training_metrics", "User-provided training metrics")):
            if job.get(key):
                out += [f"### {title}", ""] + _table(["name", "value", "notes"], [[m["name"], _fmt(m["value"]), m.get("notes", "")] for m in job[key]])
        for key, title in (("hyper_parameters", "Hyperparameters"), ("user_provided_hyper_parameters", "User-provided hyperparameters")):
            if job.get(key):
                out += [f"### {title}", ""] + _table(["name", "value"], [[h["name"], h["value"]] for h in job[key]])
    evals = content.get("evaluation_details", [])
    if evals:
        out += ["## Evaluation", ""]
        for ev in evals:
            out += [f"### {md_text(ev['name'])}", ""]
            if ev.get("evaluation_observation"):
                out += [md_text(ev["evaluation_observation"]), ""]
            out += fields([("Evaluation job", ev.get("evaluation_job_arn")), ("Datasets", ", ".join(ev.get("datasets", [])))])
            if ev.get("metadata"):
                out += [""] + _table(["metadata", "value"], [[k, v] for k, v in ev["metadata"].items()])
            for group in ev.get("metric_groups", []):
                out += [f"#### {md_text(group['name'])}", ""]
                simple = [m for m in group["metric_data"] if m["type"] in ("number", "string", "boolean")]
                if simple:
                    out += _table(["metric", "value", "notes"], [[m["name"], _fmt(m["value"]), m.get("notes", "")] for m in simple])
                for m in group["metric_data"]:
                    out += _chart_markdown(m)
    if info:
        out += ["## Bias, risks, and limitations", ""]
        if info.get("ethical_considerations"):
            out += ["### Ethical considerations", "", md_text(info["ethical_considerations"]), ""]
        if info.get("caveats_and_recommendations"):
            out += ["### Caveats and recommendations", "", md_text(info["caveats_and_recommendations"]), ""]
        if info.get("custom_details"):
            out += ["## Additional information", ""] + _table(["detail", "value"], [[k, v] for k, v in info["custom_details"].items()])
    return "\n".join(out).rstrip() + "\n"


def _chart_markdown(m: Mapping) -> list[str]:
    t = m["type"]
    if t in ("number", "string", "boolean"):
        return []
    head = [f"**{md_text(m['name'])}**" + (f" — {md_text(m['notes'])}" if m.get("notes") else ""), ""]
    if t == "matrix":
        xs = m.get("x_axis_name") or [str(i) for i in range(len(m["value"][0]))]
        ys = m.get("y_axis_name") or [str(i) for i in range(len(m["value"]))]
        rows = [[ys[i] if i < len(ys) else str(i)] + [_fmt(v) for v in row] for i, row in enumerate(m["value"])]
        return head + _table([""] + [str(x) for x in xs][: len(m["value"][0])], rows)
    if t == "bar_chart":
        xs = m.get("x_axis_name") or []
        rows = [[xs[i] if i < len(xs) else str(i), _fmt(v)] for i, v in enumerate(m["value"])]
        return head + _table(["", m.get("y_axis_name") or "value"], rows)
    if t == "linear_graph":
        rows = [[_fmt(x), _fmt(y)] for x, y in m["value"]]
        return head + _table([m.get("x_axis_name") or "x", m.get("y_axis_name") or "y"], rows)
    return []
