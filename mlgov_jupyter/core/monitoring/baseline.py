"""Baseline: statistics and suggested constraints of a reference dataset, computed once."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from ..errors import Invalid
from .bias import metrics_from_json, metrics_to_json
from .stats import (
    CATEGORICAL, DATETIME, IGNORE, MAX_CATEGORIES, NUMERIC, check_kind, fit_categorical, fit_numeric, infer_kind,
    py_value,
)

# 2: datatype_check_threshold and domain_content_threshold are shares that must conform (SageMaker's
# meaning, see check.required_share); format 1 held the tolerated shares (1 - value), converted on load
FORMAT_VERSION = 2
SHARE_KEYS = ("datatype_check_threshold", "domain_content_threshold")
DEFAULT_CONFIG = {
    # share of a column's present values that must be of the baseline's inferred type (SageMaker: 1.0)
    "datatype_check_threshold": 1.0,
    # share of a column's present values that must be inside the baseline's domain
    "domain_content_threshold": 0.9,
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
    # SageMaker's own files this baseline was read from ({kind: document}), written back by to_sagemaker()
    # with what mlgov has no field for (sketches, overrides, constraint-only features) kept as they were
    sagemaker: dict | None = None

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        return {
            "format": "mlgov-baseline", "version": FORMAT_VERSION, "created": self.created,
            "n_rows": self.n_rows, "target": self.target, "prediction": self.prediction,
            "probability": self.probability, "problem_type": self.problem_type,
            "positive_label": self.positive_label, "quality": self.quality,
            "quality_constraints": self.quality_constraints, "bias_config": self.bias_config,
            "bias": metrics_to_json(self.bias), "attributions": self.attributions, "config": self.config,
            "columns": [ref_to_json(ref) for ref in self.columns.values()], "sagemaker": self.sagemaker,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Baseline":
        if d.get("format") != "mlgov-baseline":
            raise Invalid("not an mlgov baseline (format field missing)")
        cols = {c["name"]: ref_from_json(c) for c in d["columns"]}
        config = dict(d.get("config") or {})
        if int(d.get("version") or 1) < 2:  # format 1: tolerated shares of values that do not conform
            for key in SHARE_KEYS:
                if key in config:
                    config[key] = 1.0 - float(config[key])
        return cls(
            columns=cols, n_rows=d["n_rows"], target=d.get("target"), prediction=d.get("prediction"),
            probability=d.get("probability"), problem_type=d.get("problem_type"),
            positive_label=d.get("positive_label"), quality=d.get("quality"),
            quality_constraints=d.get("quality_constraints") or {}, bias_config=d.get("bias_config"),
            bias=metrics_from_json(d.get("bias")), attributions=d.get("attributions"),
            config={**DEFAULT_CONFIG, **config}, created=d.get("created", ""),
            sagemaker=d.get("sagemaker"),
        )

    def save(self, path) -> str:
        path = os.fspath(path)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, separators=(",", ":"))
        return path

    @classmethod
    def load(cls, path) -> "Baseline":
        """An mlgov baseline file; also SageMaker's own baseline files (one file, or a directory of them:
        statistics.json, constraints.json, model-quality files, Clarify analysis.json)."""
        from .sagemaker_formats import FILE_KINDS, describe_kind, from_sagemaker, kind_of

        if os.path.isdir(os.fspath(path)):
            return from_sagemaker(path)
        try:
            with open(os.fspath(path), encoding="utf-8") as f:
                doc = json.load(f)
        except FileNotFoundError:
            raise Invalid(f"no baseline file at {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise Invalid(f"{path} is not a valid mlgov baseline ({exc.__class__.__name__})") from None
        kind = kind_of(doc)
        if kind in FILE_KINDS:
            return from_sagemaker(path)
        if kind == "violations":
            raise Invalid(f"{path} is a SageMaker {describe_kind(kind)}, not a baseline")
        try:
            return cls.from_dict(doc)
        except (KeyError, TypeError, AttributeError) as exc:
            raise Invalid(f"{path} is not a valid mlgov baseline ({exc.__class__.__name__})") from None

    # ------------------------------------------------------------------ SageMaker formats
    def to_sagemaker(self) -> dict:
        """SageMaker's files for this baseline, as strict JSON dicts: ``statistics`` and ``constraints``
        (Model Monitor data quality), ``model_quality_statistics`` and ``model_quality_constraints``,
        ``analysis`` (Clarify: bias metrics, global attributions), each when the baseline has its content.
        A baseline read from SageMaker's files writes them back with nothing lost. See ``sagemaker_formats``."""
        from .sagemaker_formats import to_sagemaker

        return to_sagemaker(self)

    def save_sagemaker(self, directory) -> dict:
        """Write ``to_sagemaker()``'s files into ``directory`` (statistics.json, constraints.json, ...)."""
        from .sagemaker_formats import save_sagemaker

        return save_sagemaker(self, directory)

    @classmethod
    def from_sagemaker(cls, statistics=None, constraints=None, *more, **kwargs) -> "Baseline":
        """A baseline from SageMaker's files (dicts, JSON text, paths or a directory): data-quality
        statistics.json / constraints.json, model-quality statistics / constraints, Clarify analysis.json.
        Keyword arguments: ``target``, ``prediction``, ``probability`` (the model-quality files do not name
        the columns), ``facet``, ``facet_value``, ``group``, ``explanation_label``."""
        from .sagemaker_formats import from_sagemaker

        return from_sagemaker(statistics, constraints, *more, **kwargs)

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


def ref_to_json(ref) -> dict:
    from .sagemaker_formats import ref_to_json as to_json

    return to_json(ref)


def ref_from_json(d: dict):
    from .sagemaker_formats import ref_from_json as from_json

    return from_json(d)


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
    """Statistics and suggested constraints of ``reference_df``; see ``mlgov_jupyter.monitoring``.

    ``reference_df`` is any data ``check`` takes: a DataFrame, a Parquet file or folder, a pyarrow
    Table, or an iterator of DataFrames (fitted as ``pd.concat`` of them). Anything but a DataFrame is
    read a few columns at a time (about ``check.BATCH_BYTES`` in memory; an iterator is spooled to a
    temporary file first), so memory holds a few columns, not the table; the baseline is the same as
    from the DataFrame. Model quality and bias read their own few columns; attributions from a model
    read the rows they explain."""
    from .check import _reference_columns
    from .quality import normalise_constraints, quality_metrics, suggest_constraints

    column_types = dict(column_types or {})
    with _reference_columns(reference_df) as src:
        in_memory = isinstance(reference_df, pd.DataFrame)
        for col in list(column_types) + [c for c in (target, prediction, probability, group) if c]:
            if not src.has(col):
                raise Invalid(f"column {col!r} not found in the reference data")
        labels = dict(zip(src.names, reference_df.columns)) if in_memory else {n: n for n in src.names}

        def kind_of(name, s):
            label = labels[name]
            if label in column_types:
                return check_kind(label, column_types[label])
            return infer_kind(s)

        def fit_one(item):
            from .sagemaker_formats import sagemaker_inferred_type

            name, kind, s = item
            if kind == CATEGORICAL:
                return fit_categorical(name, s, max_categories)
            ref = fit_numeric(name, s, kind if kind in (NUMERIC, DATETIME) else NUMERIC)
            # the type SageMaker infers from the same data written as CSV (3.0 is Fractional, as in its files)
            ref.inferred_type = sagemaker_inferred_type(s, ref)
            return ref

        refs = []
        with ThreadPoolExecutor(n_workers()) as pool:
            for part in src.groups(src.names):  # one group of columns in memory at a time
                cols = src.read(part)
                items = [(n, kind_of(n, cols[n]), cols[n]) for n in part]
                refs.extend(pool.map(fit_one, [it for it in items if it[1] != IGNORE]))
                del cols, items
        n_rows = src.n_rows
        facet, fvals = _sensitive_spec(sensitive, facet_values)
        if facet is not None and not src.has(facet):
            raise Invalid(f"sensitive column {facet!r} not found in the reference data")
        # model quality and bias need a few columns of every row: those alone
        if in_memory:
            side = reference_df
        else:
            wanted = [c for c in dict.fromkeys((target, prediction, probability, facet, group)) if c is not None]
            side = pd.DataFrame(src.read(wanted)) if wanted else None
        model_rows = None
        if attributions is not None and hasattr(attributions, "predict") and not isinstance(attributions, dict):
            feats = [n for n in src.names if n not in {target, prediction, probability}]
            model_rows = reference_df if in_memory else _explained_rows(src, feats, target, attribution_method)
    b = Baseline(columns={r.name: r for r in refs}, n_rows=n_rows, target=target, prediction=prediction,
                 probability=probability, problem_type=problem_type, created=_now())
    if config:
        unknown = set(config) - set(DEFAULT_CONFIG)
        if unknown:
            raise Invalid(f"unknown config key(s): {', '.join(sorted(unknown))}")
        b.config.update(config)
    if target is not None and (prediction is not None or probability is not None):
        q = quality_metrics(side, target, prediction, probability, problem_type, positive_label)
        b.problem_type = q["problem_type"]
        b.quality = q["metrics"]
        if "positive_label" in q["metrics"]:
            b.positive_label = q["metrics"]["positive_label"]["value"]
        b.quality_constraints = suggest_constraints(q["metrics"])
        b.quality_constraints.update(normalise_constraints(quality_constraints))
    if facet is not None:
        from .bias import bias_metrics

        if target is None:
            raise Invalid("bias metrics need the target (label) column")
        if fvals is None:  # the least frequent value is the sensitive group by default
            vc = side[facet].value_counts()
            fvals = [py_value(vc.index[-1])]
        fvals = [py_value(v) for v in fvals] if isinstance(fvals, (list, tuple, set)) else py_value(fvals)
        label_values = b.positive_label if b.positive_label is not None else positive_label
        pred_col = prediction
        b.bias_config = {"facet": facet, "facet_values": fvals, "label_values": label_values, "group": group}
        b.bias = bias_metrics(side, label=target, facet=facet, facet_values=fvals, predicted=pred_col,
                              group=group, label_values=label_values)
        if b.bias_config["label_values"] is None:
            from .quality import _positive_label

            b.bias_config["label_values"] = py_value(_positive_label(pd.unique(side[target].dropna())))
    if attributions is not None:
        if isinstance(attributions, dict):
            b.attributions = {str(k): float(v) for k, v in attributions.items()}
        elif hasattr(attributions, "predict"):
            from .attribution import global_attributions

            if in_memory:
                feats = [c for c in reference_df.columns if c not in {target, prediction, probability}]
                y = reference_df[target] if target is not None else None
                b.attributions = global_attributions(attributions, reference_df[feats], y, method=attribution_method)
            else:
                X, y, method, max_rows = model_rows
                b.attributions = global_attributions(attributions, X, y, method=method, max_rows=max_rows)
        else:
            raise Invalid("attributions: give {feature: value} or a fitted model")
    return b


def _explained_rows(src, feats: list[str], target, method: str):
    """(X, y, method, max_rows): the rows ``global_attributions`` would explain from the whole reference
    (the same uniform sample, in the same order), read a group of columns at a time."""
    import numpy as np

    if method == "auto":
        try:
            import shap  # noqa: F401

            method = "shap"
        except ImportError:
            method = "permutation"
    max_rows = 500 if method == "shap" else 2000
    idx = None
    if src.n_rows > max_rows:  # as global_attributions samples (seed 0)
        idx = np.random.default_rng(0).choice(src.n_rows, size=max_rows, replace=False)
    parts: dict = {}
    for group in src.groups(feats + ([target] if target is not None and target not in feats else [])):
        for n, s in src.read(group).items():
            parts[n] = s.iloc[idx] if idx is not None else s
    X = pd.DataFrame({n: parts[n] for n in feats})
    y = parts[target] if target is not None else None
    return X, y, method, max(max_rows, len(X))
