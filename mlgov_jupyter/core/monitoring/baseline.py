"""Baseline: statistics and suggested constraints of a reference dataset, computed once."""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Invalid
from .stats import (
    CATEGORICAL, DATETIME, IGNORE, MAX_CATEGORIES, NUMERIC, CategoricalRef, NumericRef, check_kind,
    fit_categorical, fit_numeric, infer_kind, py_value, ref_from_json,
)

FORMAT_VERSION = 1
DEFAULT_CONFIG = {
    # share of non-null values of another type than the baseline's inferred type that is tolerated
    "datatype_check_threshold": 0.0,
    # share of non-null values outside the baseline domain that is tolerated
    "domain_content_threshold": 0.1,
    # completeness may fall this much (absolute) below the baseline's before a violation
    "completeness_tolerance": 0.0,
    "comparison_threshold": 0.1,
    "drift_share": 0.5,
    "attribution_threshold": 0.90,
}


def n_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass
class Baseline:
    columns: dict  # name -> NumericRef | CategoricalRef
    n_rows: int
    target: str | None = None
    prediction: str | None = None
    probability: str | None = None
    problem_type: str | None = None
    positive_label: Any = None
    quality: dict | None = None  # {metric: {value, standard_deviation}}
    quality_constraints: dict = field(default_factory=dict)
    bias_config: dict | None = None  # {facet, facet_values, label_values, group}
    bias: dict | None = None
    attributions: dict | None = None
    config: dict = field(default_factory=lambda: dict(DEFAULT_CONFIG))
    created: str = ""

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        return {
            "format": "mlgov-baseline", "version": FORMAT_VERSION, "created": self.created,
            "n_rows": self.n_rows, "target": self.target, "prediction": self.prediction,
            "probability": self.probability, "problem_type": self.problem_type,
            "positive_label": self.positive_label, "quality": self.quality,
            "quality_constraints": self.quality_constraints, "bias_config": self.bias_config,
            "bias": _clean(self.bias), "attributions": self.attributions, "config": self.config,
            "columns": [ref.to_json() for ref in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Baseline":
        if d.get("format") != "mlgov-baseline":
            raise Invalid("not an mlgov baseline (format field missing)")
        cols = {c["name"]: ref_from_json(c) for c in d["columns"]}
        return cls(
            columns=cols, n_rows=d["n_rows"], target=d.get("target"), prediction=d.get("prediction"),
            probability=d.get("probability"), problem_type=d.get("problem_type"),
            positive_label=d.get("positive_label"), quality=d.get("quality"),
            quality_constraints=d.get("quality_constraints") or {}, bias_config=d.get("bias_config"),
            bias=_unclean(d.get("bias")), attributions=d.get("attributions"),
            config={**DEFAULT_CONFIG, **(d.get("config") or {})}, created=d.get("created", ""),
        )

    def save(self, path) -> str:
        path = os.fspath(path)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, separators=(",", ":"))
        return path

    @classmethod
    def load(cls, path) -> "Baseline":
        try:
            with open(os.fspath(path), encoding="utf-8") as f:
                return cls.from_dict(json.load(f))
        except FileNotFoundError:
            raise Invalid(f"no baseline file at {path}") from None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise Invalid(f"{path} is not a valid mlgov baseline ({exc.__class__.__name__})") from None

    # ------------------------------------------------------------------ SageMaker formats
    def to_sagemaker(self) -> dict:
        """{"statistics": statistics.json, "constraints": constraints.json} as SageMaker Model Monitor writes them."""
        feats, cons = [], []
        for ref in self.columns.values():
            common = {"num_present": ref.n, "num_missing": ref.n_missing}
            if isinstance(ref, CategoricalRef):
                buckets = [{"value": str(v), "count": int(c)} for v, c in zip(ref.values, ref.counts)]
                feats.append({"name": ref.name, "inferred_type": "String", "string_statistics": {
                    "common": common, "distinct_count": float(ref.distinct),
                    "distribution": {"categorical": {"buckets": buckets}}}})
                c = {"name": ref.name, "inferred_type": "String", "completeness": ref.completeness}
                if ref.domain is not None:
                    c["string_constraints"] = {"domains": [str(v) for v in ref.domain]}
                cons.append(c)
            else:
                hist = ref.hist or {"edges": [ref.min, ref.max], "counts": [ref.n]}
                e = hist["edges"]
                buckets = [{"lower_bound": e[i], "upper_bound": e[i + 1], "count": float(hist["counts"][i])}
                           for i in range(len(hist["counts"]))]
                feats.append({"name": ref.name, "inferred_type": ref.inferred_type, "numerical_statistics": {
                    "common": common, "mean": ref.mean, "sum": ref.sum, "std_dev": ref.std,
                    "min": ref.min, "max": ref.max,
                    "distribution": {"kll": {"buckets": buckets, "sketch": {
                        "parameters": {"c": 0.64, "k": 2048.0},
                        "data": [[float(v) for v in ref.edges[:: max(1, ref.edges.size // 100)]]]}}}}})
                cons.append({"name": ref.name, "inferred_type": ref.inferred_type,
                             "completeness": ref.completeness,
                             "num_constraints": {"is_non_negative": bool(ref.min >= 0)}})
        statistics = {"version": 0.0, "dataset": {"item_count": self.n_rows}, "features": feats}
        constraints = {"version": 0.0, "features": cons, "monitoring_config": {
            "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
            "datatype_check_threshold": self.config["datatype_check_threshold"],
            "domain_content_threshold": self.config["domain_content_threshold"],
            "distribution_constraints": {
                "perform_comparison": "Enabled", "comparison_threshold": self.config["comparison_threshold"],
                "comparison_method": "Robust", "categorical_comparison_threshold": self.config["comparison_threshold"],
                "categorical_drift_method": "LInfinity"}}}
        out = {"statistics": statistics, "constraints": constraints}
        if self.quality:
            out["model_quality_constraints"] = {"version": 0.0, _quality_section(self.problem_type): self.quality_constraints}
        return out

    @classmethod
    def from_sagemaker(cls, statistics: dict, constraints: dict | None = None) -> "Baseline":
        """A baseline from SageMaker's statistics.json (and constraints.json): coarse (10-bucket) bins."""
        try:
            cons = {c["name"]: c for c in (constraints or {}).get("features", [])}
            cols = {}
            for f in statistics["features"]:
                name = f["name"]
                c = cons.get(name, {})
                if "string_statistics" in f:
                    st = f["string_statistics"]
                    buckets = st.get("distribution", {}).get("categorical", {}).get("buckets", [])
                    n = int(st["common"]["num_present"])
                    vals = [b["value"] for b in buckets]
                    counts = np.asarray([int(b["count"]) for b in buckets], dtype="int64")
                    domain = c.get("string_constraints", {}).get("domains")
                    cols[name] = CategoricalRef(
                        name=name, kind=CATEGORICAL, inferred_type="String", n=n,
                        n_missing=int(st["common"].get("num_missing", 0)), values=vals, counts=counts,
                        other=max(0, n - int(counts.sum())), distinct=int(st.get("distinct_count", len(vals))),
                        domain=domain)
                else:
                    st = f["numerical_statistics"]
                    buckets = st.get("distribution", {}).get("kll", {}).get("buckets", [])
                    n = int(st["common"]["num_present"])
                    if buckets:
                        # SageMaker's buckets are [lower, upper) (the last one closed); mlgov's bins are
                        # (e[j-1], e[j]]: move every edge but the top one down by a hair to match.
                        bounds = [float(buckets[0]["lower_bound"])] + [float(b["upper_bound"]) for b in buckets]
                        eps = 1e-9 * max(1.0, abs(bounds[-1] - bounds[0]))
                        edges = np.asarray([e - eps for e in bounds[:-1]] + [bounds[-1]])
                        counts = np.asarray([0] + [int(round(b["count"])) for b in buckets] + [0], dtype="int64")
                    else:
                        edges = np.asarray([float(st["min"]), float(st["max"])])
                        counts = np.asarray([0, n, 0], dtype="int64")
                    edges, uniq_idx = np.unique(edges, return_index=True)
                    if counts.size != edges.size + 1:
                        counts = np.asarray([0, n] + [0] * (edges.size - 1), dtype="int64")[: edges.size + 1]
                    cols[name] = NumericRef(
                        name=name, kind=NUMERIC, inferred_type=f.get("inferred_type", "Fractional"), n=n,
                        n_missing=int(st["common"].get("num_missing", 0)), mean=float(st["mean"]),
                        std=float(st["std_dev"]), sum=float(st.get("sum", st["mean"] * n)),
                        min=float(st["min"]), max=float(st["max"]), edges=edges, counts=counts,
                        discrete=False, raw=None, hist=None)
            config = dict(DEFAULT_CONFIG)
            mc = (constraints or {}).get("monitoring_config", {})
            for key in ("datatype_check_threshold", "domain_content_threshold"):
                if key in mc:
                    config[key] = float(mc[key])
            if "comparison_threshold" in mc.get("distribution_constraints", {}):
                config["comparison_threshold"] = float(mc["distribution_constraints"]["comparison_threshold"])
            return cls(columns=cols, n_rows=int(statistics["dataset"]["item_count"]), config=config,
                       created=_now())
        except (KeyError, TypeError, ValueError) as exc:
            raise Invalid(f"not SageMaker statistics/constraints JSON ({exc.__class__.__name__}: {exc})") from None

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        kinds = {}
        for ref in self.columns.values():
            kinds[ref.kind] = kinds.get(ref.kind, 0) + 1
        extra = [k for k, v in (("quality", self.quality), ("bias", self.bias), ("attributions", self.attributions)) if v]
        return (f"<Baseline {self.n_rows} rows, {len(self.columns)} columns "
                f"({', '.join(f'{v} {k}' for k, v in kinds.items())})"
                + (f", with {', '.join(extra)}" if extra else "") + ">")


def _quality_section(problem_type):
    return {"Regression": "regression_constraints", "BinaryClassification": "binary_classification_constraints",
            "MulticlassClassification": "multiclass_classification_constraints"}.get(problem_type, "constraints")


def _clean(d):
    if not d:
        return d
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _unclean(d):
    if not d:
        return d
    return {k: (math.nan if v is None else v) for k, v in d.items()}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sensitive_spec(sensitive, facet_values):
    if sensitive is None:
        return None, None
    if isinstance(sensitive, dict):
        if len(sensitive) != 1:
            raise Invalid("sensitive: give one column, as 'col', ('col', values) or {'col': values}")
        (col, vals), = sensitive.items()
        return col, vals
    if isinstance(sensitive, (tuple, list)):
        if len(sensitive) != 2:
            raise Invalid("sensitive: give ('col', values)")
        return sensitive[0], sensitive[1]
    return sensitive, facet_values


def fit_baseline(reference_df, target=None, prediction=None, probability=None, sensitive=None, problem_type=None,
                 attributions=None, column_types=None, *, facet_values=None, positive_label=None, group=None,
                 max_categories: int = MAX_CATEGORIES, quality_constraints=None, config=None,
                 attribution_method: str = "auto") -> Baseline:
    """Statistics and suggested constraints of ``reference_df``; see ``mlgov_jupyter.monitoring``."""
    from .quality import normalise_constraints, quality_metrics, suggest_constraints

    if not isinstance(reference_df, pd.DataFrame):
        raise Invalid("fit_baseline needs a pandas DataFrame as reference")
    if reference_df.empty:
        raise Invalid("the reference DataFrame is empty")
    column_types = dict(column_types or {})
    for col in list(column_types) + [c for c in (target, prediction, probability, group) if c]:
        if col not in reference_df.columns:
            raise Invalid(f"column {col!r} not found in the reference data")
    if len(set(map(str, reference_df.columns))) != reference_df.shape[1]:
        raise Invalid("the reference data has duplicate column names")
    kinds = {}
    for col in reference_df.columns:
        kind = check_kind(col, column_types[col]) if col in column_types else infer_kind(reference_df[col])
        if kind != IGNORE:
            kinds[str(col)] = (col, kind)

    def fit_one(item):
        name, (col, kind) = item
        s = reference_df[col]
        if kind == CATEGORICAL:
            return fit_categorical(name, s, max_categories)
        return fit_numeric(name, s, kind if kind in (NUMERIC, DATETIME) else NUMERIC)

    with ThreadPoolExecutor(n_workers()) as ex:
        refs = list(ex.map(fit_one, kinds.items()))
    b = Baseline(columns={r.name: r for r in refs}, n_rows=len(reference_df), target=target, prediction=prediction,
                 probability=probability, problem_type=problem_type, created=_now())
    if config:
        unknown = set(config) - set(DEFAULT_CONFIG)
        if unknown:
            raise Invalid(f"unknown config key(s): {', '.join(sorted(unknown))}")
        b.config.update(config)
    if target is not None and (prediction is not None or probability is not None):
        q = quality_metrics(reference_df, target, prediction, probability, problem_type, positive_label)
        b.problem_type = q["problem_type"]
        b.quality = q["metrics"]
        if "positive_label" in q["metrics"]:
            b.positive_label = q["metrics"]["positive_label"]["value"]
        b.quality_constraints = suggest_constraints(q["metrics"])
        b.quality_constraints.update(normalise_constraints(quality_constraints))
    facet, fvals = _sensitive_spec(sensitive, facet_values)
    if facet is not None:
        from .bias import bias_metrics

        if facet not in reference_df.columns:
            raise Invalid(f"sensitive column {facet!r} not found in the reference data")
        if target is None:
            raise Invalid("bias metrics need the target (label) column")
        if fvals is None:  # the least frequent value is the sensitive group by default
            vc = reference_df[facet].value_counts()
            fvals = [py_value(vc.index[-1])]
        fvals = [py_value(v) for v in fvals] if isinstance(fvals, (list, tuple, set)) else py_value(fvals)
        label_values = b.positive_label if b.positive_label is not None else positive_label
        pred_col = prediction
        b.bias_config = {"facet": facet, "facet_values": fvals, "label_values": label_values, "group": group}
        b.bias = bias_metrics(reference_df, label=target, facet=facet, facet_values=fvals, predicted=pred_col,
                              group=group, label_values=label_values)
        if b.bias_config["label_values"] is None:
            from .quality import _positive_label

            b.bias_config["label_values"] = py_value(_positive_label(pd.unique(reference_df[target].dropna())))
    if attributions is not None:
        if isinstance(attributions, dict):
            b.attributions = {str(k): float(v) for k, v in attributions.items()}
        elif hasattr(attributions, "predict"):
            from .attribution import global_attributions

            feats = [c for c in reference_df.columns if c not in {target, prediction, probability}]
            y = reference_df[target] if target is not None else None
            b.attributions = global_attributions(attributions, reference_df[feats], y, method=attribution_method)
        else:
            raise Invalid("attributions: give {feature: value} or a fitted model")
    return b
