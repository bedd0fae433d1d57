"""SageMaker's monitoring files, read and written: Model Monitor's data-quality ``statistics.json``
and ``constraints.json``, its model-quality ``statistics.json`` and ``constraints.json``, Clarify's
``analysis.json`` (bias metrics, global SHAP values) and ``constraint_violations.json``.

Field by field (checked against SageMaker's own files of the SageMaker Python SDK's tests, see
``tests/monitoring/test_sm_formats.py``):

- ``std_dev`` is the population standard deviation (mlgov keeps the sample one for its drift tests
  and converts on the way out and in);
- ``inferred_type`` follows what SageMaker infers from the CSV text: integer columns are
  ``Integral``; a float column is ``Fractional``, except whole numbers with missing values (pandas'
  reading of integers with blanks, which SageMaker calls ``Integral``); all-missing is ``Unknown``;
  strings, booleans and categories are ``String``;
- the ten ``kll`` buckets are equal-width over [min, max], each ``[lower, upper)`` and the last one
  closed, as ``numpy.histogram`` counts them; the ``sketch`` is a KLL sketch (``k`` 2048, ``c``
  0.64) whose level ``h`` holds items of weight ``2**h``: up to 2048 values it holds every value, so
  a baseline read back from it is exact; larger columns are compacted the KLL way (no weight lost);
- numbers that are not finite are written as SageMaker writes them, the strings ``"NaN"``,
  ``"Infinity"``, ``"-Infinity"``, so every file is strict JSON;
- ``num_present`` counts every present value, valid or not (``NumericRef.n_present``: ``+-inf`` and
  text in a numeric column are present and invalid), while the buckets and the sketch hold the
  valid values: reading back, the distribution's weight is the valid count and the rest of
  ``num_present`` the invalid one. A discrete column's sketch holds one item per level weighing its
  count (exact at any size), read back with ``stats.numeric_layout`` (``_numeric_from_sketch``);
- datetime columns: SageMaker has no date type (its inferred types are Integral, Fractional, String
  and Unknown). mlgov writes a datetime column as epoch seconds (UTC), ``Integral``, as SageMaker
  profiles epoch numbers, and marks the feature (statistics and constraints) with
  ``"mlgov_kind": "datetime"`` so that reading the files back gives a datetime column again (dates,
  ISO text and aware times checked as before the trip). A file without the mark (SageMaker's own)
  gives a numeric column. Whether SageMaker's prebuilt analyzer ignores the extra key is
  *unconfirmed*: AWS's constraints page lets bring-your-own containers "adopt the same format or
  enhance it" and says nothing of unknown keys; drop the key to give SageMaker a plain Integral
  column;
- regression ``r2``: SageMaker's model-quality job reports ``1 - SSE / sum((prediction -
  mean(prediction))**2)``, i.e. ``r2_score(prediction, label)`` with the arguments swapped (-3.2088
  on the SDK's model_quality data, where scikit-learn's ``r2_score(label, prediction)`` is
  -0.3351). mlgov reports both: ``r2`` is scikit-learn's (the coefficient of determination of the
  labels), ``r2_sagemaker`` is SageMaker's. SageMaker's files carry ``r2_sagemaker`` under ``r2``
  both ways, so a threshold read from SageMaker is compared with the number SageMaker computes.

Reading keeps what mlgov has no field for: a baseline read from SageMaker's files remembers them
(``Baseline.sagemaker``) and writes them back as they were (sketches, buckets,
``monitoring_config_overrides``, features present only in constraints, the constraint's own
``inferred_type``), with mlgov's thresholds (``baseline.config``, ``quality_constraints``) laid over
them. Those files are SageMaker's own; what mlgov checks from them is (and not at all for a feature
whose ``evaluate_constraints`` is Disabled, see ``constraint_settings``):

- each feature's constraint ``inferred_type`` and ``completeness`` (the constraint, where given, not
  the statistics) and ``string_constraints.domains``;
- features present only in constraints: missing column, completeness, data type and domain; no drift
  (there is no distribution to compare with);
- the distribution from the sketch (exact up to 2048 values, the weighted sketch above), else from
  the ten buckets.
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import json_text
from ..errors import Invalid
from .stats import (
    CATEGORICAL, DATETIME, EXACT_LIMIT, NUMERIC, CategoricalRef, NumericRef, fit_numeric, numeric_layout,
)

KLL_K = 2048
KLL_C = 0.64
QUALITY_SECTIONS = {
    "Regression": "regression",
    "BinaryClassification": "binary_classification",
    "MulticlassClassification": "multiclass_classification",
}
FILE_KINDS = ("statistics", "constraints", "model_quality_statistics", "model_quality_constraints", "analysis")
DATA_QUALITY_CHECKS = {"data_type_check", "completeness_check", "baseline_drift_check", "missing_column_check",
                       "extra_column_check", "categorical_values_check"}
# mlgov-only entries of a quality dict, never written to SageMaker's files
_MLGOV_ONLY_METRICS = {"positive_label", "labels", "r2"}


# ============================================================================ JSON helpers


def load_json(source, what: str = "file") -> Any:
    """A parsed JSON document from a dict/list, a JSON string, bytes or a path."""
    if isinstance(source, (dict, list)):
        return source
    if isinstance(source, (bytes, bytearray)):
        source = source.decode("utf-8")
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not source.lstrip().startswith(("{", "["))):
        path = os.fspath(source)
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            raise Invalid(f"no such file: {path}") from None
        except IsADirectoryError:
            raise Invalid(f"{path} is a directory, not a SageMaker {what}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise Invalid(f"{path} is not JSON ({exc.__class__.__name__})") from None
    if isinstance(source, str):
        return json_text.loads(source, f"the SageMaker {what}", allow_nan=True)
    raise Invalid(f"a SageMaker {what} must be a path, a JSON string or a dict, not {type(source).__name__}")


def number(v) -> float:
    """A float from a JSON number or one of SageMaker's strings "NaN", "Infinity", "-Infinity"."""
    if v is None:
        return math.nan
    if isinstance(v, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("nan", ""):
            return math.nan
        if low in ("infinity", "+infinity", "inf", "+inf"):
            return math.inf
        if low in ("-infinity", "-inf"):
            return -math.inf
        return float(v)
    return float(v)


def strict(obj):
    """``obj`` with NaN and +-inf as SageMaker's strings and numpy scalars as Python ones (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [strict(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    return obj


def kind_of(doc) -> str | None:
    """Which SageMaker file ``doc`` is: one of FILE_KINDS, "violations", "mlgov-baseline" or None."""
    if not isinstance(doc, dict):
        return None
    if doc.get("format") == "mlgov-baseline":
        return "mlgov-baseline"
    if isinstance(doc.get("violations"), list):
        return "violations"
    if any(k in doc for k in ("pre_training_bias_metrics", "post_training_bias_metrics", "explanations")):
        return "analysis"
    if any(f"{s}_metrics" in doc for s in QUALITY_SECTIONS.values()):
        return "model_quality_statistics"
    if any(f"{s}_constraints" in doc for s in QUALITY_SECTIONS.values()):
        return "model_quality_constraints"
    feats = doc.get("features")
    if isinstance(feats, list):
        if "dataset" in doc or any(isinstance(f, dict) and ("numerical_statistics" in f or "string_statistics" in f)
                                   for f in feats):
            return "statistics"
        constraint_keys = ("inferred_type", "completeness", "num_constraints", "string_constraints")
        if "monitoring_config" in doc or (feats and all(
                isinstance(f, dict) and "name" in f and any(k in f for k in constraint_keys) for f in feats)):
            return "constraints"
    return None


_NAMES = {
    "statistics": "data-quality statistics.json", "constraints": "data-quality constraints.json",
    "model_quality_statistics": "model-quality statistics.json",
    "model_quality_constraints": "model-quality constraints.json", "analysis": "Clarify analysis.json",
    "violations": "constraint_violations.json (a report: read it with mon.read_sagemaker)",
    "mlgov-baseline": "mlgov baseline (load it with Baseline.load)",
}


def describe_kind(kind: str | None) -> str:
    return _NAMES.get(kind, "not a SageMaker monitoring file")


# ============================================================================ KLL sketches


def _capacity(level: int, levels: int, k: int = KLL_K, c: float = KLL_C) -> int:
    return max(2, int(math.ceil(k * c ** (levels - 1 - level))))


def kll_levels(values: np.ndarray, weights: np.ndarray, k: int = KLL_K, c: float = KLL_C,
               compact: bool = True) -> list[list[float]]:
    """A KLL sketch of ``values`` with integer ``weights``: level h holds items of weight 2**h.

    Each weight is first written in binary (an item per set bit), then every level over its KLL
    capacity is compacted: its items sorted, one of each neighbouring pair promoted to the next level
    (alternating which), an odd one kept. The total weight is kept exactly. ``compact=False`` keeps
    the binary writing as it is, so each value keeps its own weight exactly (a few values: a discrete
    column's levels)."""
    values = np.asarray(values, dtype="float64")
    weights = np.asarray(weights, dtype="int64")
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    levels: list[np.ndarray] = []
    w = weights.copy()
    while w.size and w.any():
        levels.append(np.sort(values[(w & 1).astype(bool)]))
        w >>= 1
    if not levels:
        return [[]]
    if not compact:
        return [lvl.tolist() for lvl in levels]
    turn = 0
    changed = True
    while changed:
        changed = False
        for h in range(len(levels)):
            items = levels[h]
            if items.size <= _capacity(h, len(levels), k, c):
                continue
            items = np.sort(items)
            odd = items.size % 2
            rest, pairs = (items[:1], items[1:]) if odd else (items[:0], items)
            promoted = pairs[turn % 2::2]
            turn += 1
            levels[h] = rest
            if h + 1 == len(levels):
                levels.append(promoted)
            else:
                levels[h + 1] = np.sort(np.concatenate([levels[h + 1], promoted]))
            changed = True
            break
    return [lvl.tolist() for lvl in levels]


def kll_items(sketch: dict) -> tuple[np.ndarray, np.ndarray]:
    """(values, weights) of a KLL sketch ``{"data": [[level 0 ...], [level 1 ...], ...]}``."""
    data = sketch.get("data") or []
    vals, wts = [], []
    for h, level in enumerate(data):
        arr = np.asarray([number(v) for v in level], dtype="float64")
        arr = arr[np.isfinite(arr)]
        vals.append(arr)
        wts.append(np.full(arr.size, 2 ** h, dtype="int64"))
    if not vals:
        return np.zeros(0), np.zeros(0, dtype="int64")
    return np.concatenate(vals), np.concatenate(wts)


# ============================================================================ references from SageMaker files


@dataclass
class ConstrainedNumericRef(NumericRef):
    """A numeric reference whose completeness threshold comes from a SageMaker constraint."""

    completeness_constraint: float | None = None

    @property
    def completeness(self) -> float:  # type: ignore[override]
        if self.completeness_constraint is not None:
            return self.completeness_constraint
        return NumericRef.completeness.fget(self)


@dataclass
class ConstrainedCategoricalRef(CategoricalRef):
    """A categorical reference whose completeness threshold comes from a SageMaker constraint."""

    completeness_constraint: float | None = None

    @property
    def completeness(self) -> float:  # type: ignore[override]
        if self.completeness_constraint is not None:
            return self.completeness_constraint
        return CategoricalRef.completeness.fget(self)


def with_completeness(ref, completeness: float | None):
    """``ref`` whose completeness threshold is ``completeness`` (a SageMaker constraint), if it differs."""
    if completeness is None or abs(completeness - _observed_completeness(ref)) <= 1e-12:
        return ref
    fields = {f: getattr(ref, f) for f in ref.__dataclass_fields__ if f != "completeness_constraint"}
    cls = ConstrainedCategoricalRef if isinstance(ref, CategoricalRef) else ConstrainedNumericRef
    return cls(**fields, completeness_constraint=float(completeness))


def _present(ref) -> int:
    """Values present (not missing): a numeric reference's valid and invalid ones (SageMaker's num_present)."""
    return int(getattr(ref, "n_present", ref.n))


def _observed_completeness(ref) -> float:
    total = _present(ref) + ref.n_missing
    return _present(ref) / total if total else 1.0


def ref_to_json(ref) -> dict:
    d = ref.to_json()
    if getattr(ref, "completeness_constraint", None) is not None:
        d["completeness_constraint"] = ref.completeness_constraint
    return d


def ref_from_json(d: dict):
    from .stats import ref_from_json as plain

    d = dict(d)
    cc = d.pop("completeness_constraint", None)
    return with_completeness(plain(d), cc)


def _buckets_hist(buckets: list) -> dict | None:
    if not buckets:
        return None
    edges = [number(buckets[0]["lower_bound"])] + [number(b["upper_bound"]) for b in buckets]
    return {"edges": edges, "counts": [number(b["count"]) for b in buckets]}


SAMPLE_CAP = 1 << 18  # a distribution read from SageMaker is rebuilt as at most this many values


def _expand(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted values as a plain sample (each value repeated by its weight, scaled down to at most
    SAMPLE_CAP values, no value dropped)."""
    total = float(weights.sum())
    if total > SAMPLE_CAP:
        weights = np.maximum(np.round(weights * (SAMPLE_CAP / total)), 1).astype("int64")
    return np.repeat(values, weights)


def _spread(hist: dict) -> np.ndarray:
    """A sample spread evenly inside each of SageMaker's buckets ([lower, upper), the last one closed)."""
    edges, counts = hist["edges"], np.asarray(hist["counts"], dtype="float64")
    total = counts.sum()
    if total > SAMPLE_CAP:
        counts = np.round(counts * (SAMPLE_CAP / total))
    parts = []
    for i, c in enumerate(counts.astype("int64")):
        if c <= 0:
            continue
        lo, hi = float(edges[i]), float(edges[i + 1])
        parts.append(lo + (hi - lo) * (np.arange(c) + 0.5) / c)  # midpoints of c equal parts
    return np.concatenate(parts) if parts else np.zeros(0)


def _numeric_from_sketch(name: str, values: np.ndarray, weights: np.ndarray) -> NumericRef:
    """A numeric reference from a sketch's items (``values`` with integer ``weights``).

    Discrete columns (at most ``DISCRETE_MAX_UNIQUE`` levels) are laid out by ``stats.numeric_layout``
    on the distinct values and their summed weights, as ``fit_numeric`` lays out data: a bin per
    level (float noise tolerated), each level labelled by its most frequent value, and the counts the
    sketch's weights exactly (a 1M-row column of three values keeps its three counts). Other columns
    are fitted by ``fit_numeric`` on the values the sketch stands for (``_expand``), with the counts
    scaled back to the sketch's total weight."""
    uniq, inv = np.unique(values, return_inverse=True)
    w = np.bincount(inv, weights=weights, minlength=uniq.size).astype("int64")
    keep = w > 0
    uniq, w = uniq[keep], w[keep]
    total = int(w.sum())
    edges, counts, levels, n_levels = numeric_layout(uniq, w)
    if levels is None:
        sample = _expand(uniq, w)
        ref = fit_numeric(name, pd.Series(sample, dtype="float64"))
        m = int(sample.size)
        if m != total and m:
            cum = np.round(np.cumsum(ref.counts) * (total / m)).astype("int64")
            ref.counts = np.diff(np.concatenate([[0], cum])).astype("int64")
            ref.raw = None
        ref.n = total
        return ref
    mean = float(np.dot(uniq, w) / total)
    dev = uniq - mean
    hist_counts, hist_edges = np.histogram(uniq, bins=10, weights=w)
    return NumericRef(
        name=name, kind=NUMERIC, inferred_type="Fractional", n=total, n_missing=0, mean=mean,
        std=float(math.sqrt(np.dot(w, dev * dev) / (total - 1))) if total > 1 else 0.0,
        sum=float(np.dot(uniq, w)), min=float(uniq[0]), max=float(uniq[-1]), edges=edges,
        counts=np.asarray(counts, dtype="int64"), discrete=True,
        raw=np.repeat(uniq, w) if total <= EXACT_LIMIT else None,
        hist={"edges": hist_edges.tolist(), "counts": hist_counts.astype("int64").tolist()},
        n_distinct=n_levels, n_invalid=0, levels=levels)


def _numeric_feature(name: str, st: dict, itype: str, kind: str = NUMERIC):
    """A numeric (or datetime, in seconds) reference from a statistics.json feature, laid out as mlgov
    lays out data (``_numeric_from_sketch``) from the distribution the file holds: the sketch (every
    value when it has them all, so exact), else the buckets (values spread evenly inside each).

    ``num_present`` counts every present value, SageMaker's as mlgov's (``NumericRef.n_present``):
    those that are not finite numbers too (``+-inf``, text in a numeric column). The distribution
    holds the valid ones only, so its total weight is the count of valid values and the rest of
    ``num_present`` the invalid ones; a file whose distribution weighs more than ``num_present`` is
    scaled to it."""
    common = st.get("common", {})
    n_present = int(number(common.get("num_present", 0)))
    n_missing = int(number(common.get("num_missing", 0)))
    kll = (st.get("distribution") or {}).get("kll") or {}
    hist = _buckets_hist(kll.get("buckets") or [])
    values, weights = kll_items(kll.get("sketch") or {})
    if n_present == 0:
        ref = fit_numeric(name, pd.Series([], dtype="float64"))
    elif values.size:
        ref = _numeric_from_sketch(name, values, weights)
    else:
        if hist and sum(hist["counts"]) > 0:
            sample = _spread(hist)
            weight = int(round(sum(hist["counts"])))
        else:
            lo, hi = number(st.get("min")), number(st.get("max"))
            ok = math.isfinite(lo) and math.isfinite(hi)
            sample = np.linspace(lo, hi, min(n_present, SAMPLE_CAP)) if ok else np.zeros(0)
            weight = n_present if ok else 0
        ref = fit_numeric(name, pd.Series(sample, dtype="float64"))
        m = int(sample.size)
        if m != weight and m:
            cum = np.round(np.cumsum(ref.counts) * (weight / m)).astype("int64")
            ref.counts = np.diff(np.concatenate([[0], cum])).astype("int64")
            ref.raw = None
        ref.n = weight
    if ref.n > n_present:  # more weight than values present: scale the counts to num_present
        cum = np.round(np.cumsum(ref.counts) * (n_present / ref.n)).astype("int64")
        ref.counts = np.diff(np.concatenate([[0], cum])).astype("int64")
        ref.raw = None
        ref.n = n_present
    ref.n_invalid = n_present - ref.n
    ref.n_missing = n_missing
    if ref.n:
        n = ref.n
        mean = number(st.get("mean"))
        pop = number(st.get("std_dev"))
        ref.mean = mean
        ref.std = pop * math.sqrt(n / (n - 1)) if n > 1 else 0.0
        ref.sum = number(st["sum"]) if "sum" in st else mean * n
        ref.min = number(st.get("min", ref.min))
        ref.max = number(st.get("max", ref.max))
    ref.kind = kind
    ref.inferred_type = itype
    ref.hist = hist
    return ref


def _string_feature(name: str, st: dict, domain) -> CategoricalRef:
    common = st.get("common", {})
    n = int(number(common.get("num_present", 0)))
    buckets = ((st.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
    buckets = sorted(buckets, key=lambda b: (-number(b["count"]), str(b["value"])))
    vals = [b["value"] for b in buckets]
    counts = np.asarray([int(round(number(b["count"]))) for b in buckets], dtype="int64")
    return CategoricalRef(name=name, kind=CATEGORICAL, inferred_type="String", n=n,
                          n_missing=int(number(common.get("num_missing", 0))), values=vals, counts=counts,
                          other=max(0, n - int(counts.sum())),
                          distinct=int(number(st.get("distinct_count", len(vals)))), domain=domain)


def _constraint_only(c: dict):
    """A reference for a feature SageMaker constrains but has no statistics for: checks, no drift."""
    name = c["name"]
    itype = c.get("inferred_type", "Unknown")
    if itype in ("Integral", "Fractional"):
        ref = fit_numeric(name, pd.Series([], dtype="float64"))
        ref.inferred_type = itype
        ref.kind = _kind_mark(c)
    else:
        ref = CategoricalRef(name=name, kind=CATEGORICAL, inferred_type=itype, n=0, n_missing=0, values=[],
                             counts=np.zeros(0, dtype="int64"), other=0, distinct=0,
                             domain=(c.get("string_constraints") or {}).get("domains"))
    return with_completeness(ref, number(c["completeness"]) if "completeness" in c else None)


def data_quality_from(statistics: dict | None, constraints: dict | None) -> tuple[dict, dict, int]:
    """(columns, config overrides, item count) from SageMaker's data-quality files."""
    cons = {c["name"]: c for c in (constraints or {}).get("features", [])}
    cols: dict = {}
    for f in (statistics or {}).get("features", []):
        name = f["name"]
        c = cons.get(name, {})
        domain = (c.get("string_constraints") or {}).get("domains")
        if "string_statistics" in f:
            ref = _string_feature(name, f["string_statistics"], domain)
            ref.inferred_type = c.get("inferred_type") or f.get("inferred_type") or "String"
        elif "numerical_statistics" in f:
            itype = c.get("inferred_type") or f.get("inferred_type") or "Fractional"
            ref = _numeric_feature(name, f["numerical_statistics"], itype, _kind_mark(f, c))
        else:
            raise KeyError("numerical_statistics or string_statistics")
        cols[name] = with_completeness(ref, number(c["completeness"]) if "completeness" in c else None)
    for name, c in cons.items():
        if name not in cols:
            cols[name] = _constraint_only(c)
    config: dict = {}
    mc = (constraints or {}).get("monitoring_config") or {}
    for key in ("datatype_check_threshold", "domain_content_threshold"):
        if key in mc:
            config[key] = number(mc[key])
    if "comparison_threshold" in (mc.get("distribution_constraints") or {}):
        config["comparison_threshold"] = number(mc["distribution_constraints"]["comparison_threshold"])
    item_count = (statistics or {}).get("dataset", {}).get("item_count")
    n_rows = int(number(item_count)) if item_count is not None else max(
        [_present(r) + r.n_missing for r in cols.values()] or [0])
    return cols, config, n_rows


# ============================================================================ data-quality files from a baseline


DATETIME_MARK = "mlgov_kind"


def _mark(ref) -> dict:
    """The mark of a datetime column (SageMaker has no date type: see the module docstring)."""
    return {DATETIME_MARK: DATETIME} if getattr(ref, "kind", None) == DATETIME else {}


def _kind_mark(*features: dict) -> str:
    """DATETIME when a statistics or constraints feature carries mlgov's datetime mark, else NUMERIC."""
    return DATETIME if any((f or {}).get(DATETIME_MARK) == DATETIME for f in features) else NUMERIC


def sagemaker_inferred_type(series: pd.Series, ref) -> str:
    """SageMaker's inferred_type for a column fitted as ``ref`` (see the module docstring)."""
    if isinstance(ref, CategoricalRef):
        return "String"
    if ref.kind == DATETIME:
        return ref.inferred_type
    if ref.n == 0:
        return "Unknown"
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "String"
    if pd.api.types.is_integer_dtype(dtype):
        return "Integral"
    if pd.api.types.is_float_dtype(dtype):
        whole = ref.inferred_type == "Integral"  # stats found every present value whole
        return "Integral" if whole and ref.n_missing > 0 else "Fractional"
    return ref.inferred_type


def _kll_of(ref: NumericRef) -> list[list[float]]:
    if ref.raw is not None and (ref.raw.size <= KLL_K or not ref.discrete):
        # every value with weight 1, as KLL holds them: all at level 0 up to k values
        return kll_levels(ref.raw, np.ones(ref.raw.size, dtype="int64"))
    # a discrete column beyond k values: one item per level weighing its count (exact counts, where
    # compacting every value would only approximate them)
    # fine bins: each bin's count sits on one value inside it, so the distribution read back has the
    # same CDF at every edge: a bin around one value (a level: narrower than float noise) on that value,
    # a wider bin on its midpoint, the bins below and above every edge on the minimum and maximum
    e = np.asarray(ref.edges, dtype="float64")
    counts = np.asarray(ref.counts, dtype="int64")
    if e.size == 0:
        return kll_levels(np.asarray([ref.min]), counts[:1])
    reps = np.empty(e.size + 1)
    reps[0], reps[-1] = ref.min, ref.max
    if ref.n_distinct is not None and e.size == ref.n_distinct:
        reps[1:-1] = e[1:]  # every distinct value is an edge: bin (e[j-1], e[j]] holds e[j] only
    else:
        reps[1:-1] = (e[:-1] + e[1:]) / 2
    narrow = (e[1:] - e[:-1]) <= 1e-8 * np.maximum(1.0, np.abs(e[1:]))
    if narrow.any():
        mids = (e[:-1] + e[1:])[narrow] / 2
        reps[1:-1][narrow] = [float(f"{m:.12g}") for m in mids]
    # a discrete column: a few items per level, each weighing its level's count exactly
    return kll_levels(reps, counts, compact=not ref.discrete)


def _hist_of(ref: NumericRef) -> dict:
    if ref.hist:
        return ref.hist
    if ref.raw is not None and ref.raw.size:
        counts, edges = np.histogram(ref.raw, bins=10)
        return {"edges": edges.tolist(), "counts": counts.tolist()}
    if ref.n and math.isfinite(ref.min) and math.isfinite(ref.max):
        return {"edges": [ref.min, ref.max], "counts": [ref.n]}
    return {"edges": [], "counts": []}


def statistics_json(baseline) -> dict:
    feats = []
    for ref in baseline.columns.values():
        common = {"num_present": _present(ref), "num_missing": int(ref.n_missing)}
        if isinstance(ref, CategoricalRef):
            buckets = [{"value": str(v), "count": int(c)} for v, c in zip(ref.values, ref.counts)]
            feats.append({"name": ref.name, "inferred_type": "String", "string_statistics": {
                "common": common, "distinct_count": float(ref.distinct),
                "distribution": {"categorical": {"buckets": buckets}}}})
            continue
        hist = _hist_of(ref)
        e = hist["edges"]
        buckets = [{"lower_bound": e[i], "upper_bound": e[i + 1], "count": float(c)}
                   for i, c in enumerate(hist["counts"])]
        n = ref.n
        pop = ref.std * math.sqrt((n - 1) / n) if n > 1 else (0.0 if n == 1 else math.nan)
        feats.append({"name": ref.name, "inferred_type": ref.inferred_type if n else "Unknown",
                      **_mark(ref), "numerical_statistics": {
                          "common": common, "mean": ref.mean, "sum": ref.sum, "std_dev": pop,
                          "min": ref.min, "max": ref.max,
                          "distribution": {"kll": {"buckets": buckets, "sketch": {
                              "parameters": {"c": KLL_C, "k": float(KLL_K)}, "data": _kll_of(ref)}}}}})
    return {"version": 0.0, "dataset": {"item_count": int(baseline.n_rows)}, "features": feats}


def constraints_json(baseline) -> dict:
    cons = []
    for ref in baseline.columns.values():
        c = {"name": ref.name, "inferred_type": ref.inferred_type if ref.n or isinstance(ref, CategoricalRef)
             else "Unknown", **_mark(ref), "completeness": ref.completeness}
        if isinstance(ref, CategoricalRef):
            c["inferred_type"] = ref.inferred_type or "String"
            if ref.domain is not None:
                c["string_constraints"] = {"domains": [str(v) for v in ref.domain]}
        elif ref.n:
            c["num_constraints"] = {"is_non_negative": bool(ref.min >= 0)}
        cons.append(c)
    cfg = baseline.config
    return {"version": 0.0, "features": cons, "monitoring_config": {
        "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
        "datatype_check_threshold": cfg["datatype_check_threshold"],
        "domain_content_threshold": cfg["domain_content_threshold"],
        "distribution_constraints": {
            "perform_comparison": "Enabled", "comparison_threshold": cfg["comparison_threshold"],
            "comparison_method": "Robust", "categorical_comparison_threshold": cfg["comparison_threshold"],
            "categorical_drift_method": "LInfinity"}}}


# ============================================================================ model quality


def _std(v):
    s = number(v) if v is not None else math.nan
    return None if math.isnan(s) else s


def model_quality_from(statistics: dict | None, constraints: dict | None) -> dict:
    """{problem_type, quality, quality_constraints, positive_label, n} from SageMaker's model-quality files."""
    problem_type = section = None
    for pt, sec in QUALITY_SECTIONS.items():
        if f"{sec}_metrics" in (statistics or {}) or f"{sec}_constraints" in (constraints or {}):
            problem_type, section = pt, sec
            break
    if problem_type is None:
        raise KeyError("regression_metrics, binary_classification_metrics or multiclass_classification_metrics")
    quality, positive = None, None
    raw = (statistics or {}).get(f"{section}_metrics")
    if raw is not None:
        quality = {}
        for key, m in raw.items():
            if key == "confusion_matrix":
                labels = sorted(m, key=_label_order)
                quality[key] = {"value": [[int(number(m[a].get(b, 0))) for b in labels] for a in labels],
                                "standard_deviation": None}
                quality["labels"] = {"value": [_label_value(x) for x in labels], "standard_deviation": None}
                if problem_type == "BinaryClassification" and len(labels) == 2:
                    positive = _label_value(labels[1])
            elif key == "receiver_operating_characteristic_curve":
                quality[key] = {"value": [[number(x), number(y)] for x, y in zip(
                    m.get("false_positive_rates", []), m.get("true_positive_rates", []))], "standard_deviation": None}
            elif key == "precision_recall_curve":
                quality[key] = {"value": [[number(x), number(y)] for x, y in zip(
                    m.get("recalls", []), m.get("precisions", []))], "standard_deviation": None}
            elif isinstance(m, dict) and "value" in m:
                name = "r2_sagemaker" if key == "r2" else key
                quality[name] = {"value": number(m["value"]), "standard_deviation": _std(m.get("standard_deviation"))}
        if positive is not None:
            quality["positive_label"] = {"value": positive, "standard_deviation": None}
    cons = {}
    for key, c in ((constraints or {}).get(f"{section}_constraints") or {}).items():
        cons["r2_sagemaker" if key == "r2" else key] = {
            "threshold": number(c["threshold"]), "comparison_operator": c.get("comparison_operator", "LessThanThreshold")}
    item_count = ((statistics or {}).get("dataset") or {}).get("item_count")
    return {"problem_type": problem_type, "quality": quality, "quality_constraints": cons,
            "positive_label": positive, "n": int(number(item_count)) if item_count is not None else 0}


def _label_order(x: str):
    try:
        return (0, float(x), x)
    except ValueError:
        return (1, 0.0, x)


def _label_value(x: str):
    """A label from a JSON key: the number when it reads as one ("1" -> 1), else the string."""
    if isinstance(x, str):
        try:
            f = float(x)
        except ValueError:
            return x
        return int(f) if f.is_integer() and "." not in x and "e" not in x.lower() else f
    return x


def model_quality_statistics_json(baseline) -> dict | None:
    q = baseline.quality
    if not q or baseline.problem_type not in QUALITY_SECTIONS:
        return None
    out = {}
    for key, m in q.items():
        if key in _MLGOV_ONLY_METRICS:
            continue
        v = m.get("value")
        if key == "confusion_matrix":
            labels = [str(x) for x in (q.get("labels") or {}).get("value") or range(len(v))]
            out[key] = {a: {b: int(v[i][j]) for j, b in enumerate(labels)} for i, a in enumerate(labels)}
        elif key == "receiver_operating_characteristic_curve":
            out[key] = {"false_positive_rates": [p[0] for p in v], "true_positive_rates": [p[1] for p in v]}
        elif key == "precision_recall_curve":
            out[key] = {"precisions": [p[1] for p in v], "recalls": [p[0] for p in v]}
        else:
            name = "r2" if key == "r2_sagemaker" else key
            sd = m.get("standard_deviation")
            out[name] = {"value": v, "standard_deviation": math.nan if sd is None else sd}
    section = QUALITY_SECTIONS[baseline.problem_type]
    n = int(baseline.n_rows or 0)
    return {"version": 0.0, "dataset": {"item_count": n}, f"{section}_metrics": out}


def model_quality_constraints_json(baseline) -> dict | None:
    if not (baseline.quality or baseline.quality_constraints):
        return None
    from .quality import suggest_constraints

    cons = {}
    for key, c in (baseline.quality_constraints or {}).items():
        if key in _MLGOV_ONLY_METRICS:
            continue
        cons["r2" if key == "r2_sagemaker" else key] = dict(c)
    q = baseline.quality or {}
    if "r2" not in cons and "r2_sagemaker" in q:
        # SageMaker's r2 is r2_sagemaker: the same suggestion rule, in its own terms
        cons.update({"r2" if k == "r2_sagemaker" else k: v for k, v in suggest_constraints(
            {"r2_sagemaker": q["r2_sagemaker"]}, skip=()).items()})
    section = QUALITY_SECTIONS.get(baseline.problem_type)
    return {"version": 0.0, f"{section}_constraints" if section else "constraints": cons}


# ============================================================================ Clarify analysis.json


def _clarify_values(text) -> tuple[Any, bool]:
    """(values, is_threshold) from Clarify's ``value_or_threshold`` ("0", "0,1", "(0.5, 0.99]")."""
    if not isinstance(text, str):
        return text, False
    t = text.strip()
    if t.startswith("(") and t.endswith("]") and "," in t:
        lo = t[1:-1].split(",")[0]
        return number(lo), True
    return [_label_value(x.strip()) for x in t.split(",")], False


def bias_from_analysis(analysis: dict, facet: str | None = None, facet_value=None) -> dict:
    """{label, label_values, facet, facet_values, bias} for one facet (and value) of Clarify's analysis.json."""
    entries: dict = {}
    label = label_text = None
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        sec = analysis.get(stage)
        if not sec:
            continue
        label = sec.get("label", label)
        label_text = sec.get("label_value_or_threshold", label_text)
        for fname, groups in (sec.get("facets") or {}).items():
            for g in groups:
                key = (fname, str(g.get("value_or_threshold")))
                metrics = entries.setdefault(key, {})
                for m in g.get("metrics", []):
                    if "value" in m:
                        metrics[m["name"]] = number(m["value"])
                    elif "error" in m:
                        metrics[m["name"]] = math.nan
    if not entries:
        raise KeyError("pre_training_bias_metrics or post_training_bias_metrics with facets")
    keys = [k for k in entries if (facet is None or k[0] == str(facet))
            and (facet_value is None or k[1] == str(facet_value) or _same_value(k[1], facet_value))]
    if len(keys) != 1:
        have = "; ".join(f"{f} {v}" for f, v in entries)
        if not keys:
            raise Invalid(f"analysis.json has no facet {facet!r}" + (f" value {facet_value!r}" if facet_value is not None
                                                                      else "") + f" (it has: {have})")
        raise Invalid(f"analysis.json holds several facets or facet values ({have}): choose one with facet= and "
                      "facet_value=")
    fname, vtext = keys[0]
    fvals, threshold = _clarify_values(vtext)
    lvals, lthreshold = _clarify_values(label_text)
    if lthreshold:
        raise Invalid(f"analysis.json binarises the label by a threshold ({label_text}); mlgov's bias metrics take "
                      "label values")
    return {"label": label, "label_values": lvals, "facet": fname, "facet_values": fvals,
            "facet_threshold": threshold, "bias": entries[keys[0]]}


def _same_value(text: str, value) -> bool:
    vals, _ = _clarify_values(text)
    want = value if isinstance(value, (list, tuple)) else [value]
    return [str(v) for v in vals] == [str(v) for v in want] if isinstance(vals, list) else str(vals) == str(value)


def attributions_from_analysis(analysis: dict, label: str | None = None) -> dict | None:
    """Global SHAP values {feature: value} of Clarify's explainability analysis.json (one label)."""
    shap = ((analysis.get("explanations") or {}).get("kernel_shap")) or {}
    if not shap:
        return None
    if label is None:
        if len(shap) != 1:
            raise Invalid(f"analysis.json explains several labels ({', '.join(map(str, shap))}): choose one with "
                          "explanation_label=")
        label = next(iter(shap))
    if label not in shap:
        raise Invalid(f"analysis.json has no explanations for label {label!r} (it has {', '.join(map(str, shap))})")
    values = shap[label].get("global_shap_values") or {}
    return {str(k): number(v) for k, v in values.items()}


def analysis_json(baseline) -> dict | None:
    """Clarify's analysis.json for the baseline's bias metrics and global attributions."""
    from .bias import POST_TRAINING, PRE_TRAINING

    out: dict = {"version": "1.0"}
    bc, bias = baseline.bias_config, baseline.bias
    if bc and bias:
        fv = bc["facet_values"]
        if isinstance(fv, (list, tuple)):
            vtext = ",".join(str(v) for v in fv)
        else:
            col = baseline.columns.get(bc["facet"])
            top = col.max if isinstance(col, NumericRef) else None
            vtext = f"({fv}, {top}]" if top is not None else str(fv)
        lv = bc.get("label_values")
        ltext = ",".join(str(v) for v in lv) if isinstance(lv, (list, tuple)) else str(lv)
        for stage, names in (("pre_training_bias_metrics", PRE_TRAINING), ("post_training_bias_metrics", POST_TRAINING)):
            ms = [{"name": k, "value": bias[k]} for k in names if k in bias]
            if ms:
                out[stage] = {"label": baseline.target, "facets": {bc["facet"]: [
                    {"value_or_threshold": vtext, "metrics": ms}]}, "label_value_or_threshold": ltext}
    if baseline.attributions:
        out["explanations"] = {"kernel_shap": {"label0": {"global_shap_values": dict(baseline.attributions)}}}
    return out if len(out) > 1 else None


# ============================================================================ monitoring_config_overrides


def _enabled(value) -> bool:
    """SageMaker's "Enabled"/"Disabled" (booleans too); anything else leaves the default, enabled."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("disabled", "false")


def feature_overrides(feature: dict) -> dict:
    """A constraints.json feature's ``monitoring_config_overrides``, wherever it is written: under
    ``string_constraints`` (or ``num_constraints``), where the SageMaker SDK's
    ``Constraints.set_monitoring(enable_monitoring, feature_name)`` writes it (and SageMaker's own file
    in the SDK's ``tests/data/monitor/constraints.json`` has it), or beside the constraints, as AWS's
    constraints.json schema draws it (``monitoringConfigOverrides``)."""
    out: dict = {}
    for holder in (feature, feature.get("num_constraints"), feature.get("string_constraints")):
        if isinstance(holder, dict):
            for key in ("monitoringConfigOverrides", "monitoring_config_overrides"):
                if isinstance(holder.get(key), dict):
                    out.update(holder[key])
    return out


def constraint_settings(constraints: dict | None) -> dict:
    """What SageMaker's constraints.json says about evaluating its constraints:
    ``{"evaluate": bool, "features": {name: overrides}}``.

    SageMaker's semantics, from its documentation and SDK: ``monitoring_config.evaluate_constraints``
    ("Enabled"/"Disabled") turns the evaluation of the file's constraints on or off, and the SDK's
    ``Constraints.set_monitoring(False, feature_name)`` writes ``evaluate_constraints: Disabled`` into one
    feature's ``monitoring_config_overrides`` ("If feature-name is provided, modify the feature-level
    override. Else, modify the top-level monitoring flag", ``sagemaker/model_monitor/
    monitoring_files.py``); AWS's schema (developer guide, "Schema for Constraints") gives each feature
    ``monitoringConfigOverrides`` beside its constraints. So mlgov evaluates none of a feature's
    data-quality constraints when its overrides (or the file) say Disabled: no data_type, completeness,
    categorical_values, baseline_drift or missing_column violation for it, and it does not count
    towards dataset drift; its statistics and drift are still computed and shown. The overrides'
    ``datatype_check_threshold`` and ``domain_content_threshold`` replace the file's for that feature
    (mlgov's reading: AWS names the object without listing its keys)."""
    doc = constraints or {}
    mc = doc.get("monitoring_config") or {}
    feats = {}
    for f in doc.get("features") or []:
        if isinstance(f, dict) and "name" in f:
            ov = feature_overrides(f)
            if ov:
                feats[f["name"]] = ov
    return {"evaluate": _enabled(mc.get("evaluate_constraints", "Enabled")), "features": feats}


def evaluates(settings: dict, feature: str) -> bool:
    """Whether ``feature``'s data-quality constraints are evaluated (``constraint_settings``)."""
    if not settings["evaluate"]:
        return False
    return _enabled(settings["features"].get(feature, {}).get("evaluate_constraints", "Enabled"))


# ============================================================================ constraint_violations.json


def violations_from(doc: dict) -> list[dict]:
    """mlgov's violation dicts (with ``monitor_type``) from SageMaker's constraint_violations.json."""
    out = []
    for v in doc["violations"]:
        if not isinstance(v, dict) or "constraint_check_type" not in v:
            raise KeyError("constraint_check_type")
        check = v["constraint_check_type"]
        row = dict(v)
        if check in DATA_QUALITY_CHECKS:
            row["monitor_type"] = "data_quality"
            row.setdefault("feature_name", "")
        elif check == "bias_drift_check":
            row["monitor_type"] = "bias"
            row.setdefault("feature_name", v.get("facet", v.get("metric_name", "")))
        elif check == "feature_attribution_drift_check":
            row["monitor_type"] = "attribution"
            row.setdefault("feature_name", v.get("feature", ""))
        else:  # model quality: the check type is the comparison operator
            row["monitor_type"] = "model_quality"
            row.setdefault("feature_name", v.get("metric_name", ""))
        row.setdefault("description", "")
        out.append(row)
    return out


def report_from_violations(doc: dict):
    from .report import Report

    return Report(columns=[], violations=violations_from(doc), dataset_drift=False, drift_share=0.0,
                  drift_share_threshold=0.5, n_current=0, n_reference=0)


# ============================================================================ lossless round trip


def overlay(generated, original, managed: dict | None = None):
    """``original`` as it was, except where ``managed`` ({key: sub-managed or True}) says mlgov's
    ``generated`` value wins (mlgov's own settings, which the user may have changed). Lists of named
    items (features) are matched by name and keep the original's items only."""
    managed = managed or {}
    if isinstance(original, dict) and isinstance(generated, dict):
        out = copy.deepcopy(original)
        for k, g in generated.items():
            m = managed.get(k)
            if m is True:
                out[k] = copy.deepcopy(g)
            elif k in out:
                out[k] = overlay(g, out[k], m if isinstance(m, dict) else None)
            elif m is not None:
                out[k] = copy.deepcopy(g)
        return out
    if isinstance(original, list) and isinstance(generated, list) and all(
            isinstance(x, dict) and "name" in x for x in original + generated) and original:
        gen = {x["name"]: x for x in generated}
        return [overlay(gen[x["name"]], x) if x["name"] in gen else copy.deepcopy(x) for x in original]
    return copy.deepcopy(original)


def to_sagemaker(baseline) -> dict:
    """{file kind: document} for every SageMaker file the baseline has content for (strict JSON)."""
    kept = baseline.sagemaker or {}
    out: dict = {}
    dq_kept = "statistics" in kept or "constraints" in kept
    if baseline.columns or dq_kept:
        # a pair read from SageMaker is written back as it was read (one file stays one file)
        st = statistics_json(baseline) if not dq_kept or "statistics" in kept else None
        co = constraints_json(baseline) if not dq_kept or "constraints" in kept else None
        if "statistics" in kept:
            st = overlay(st, kept["statistics"])
        if "constraints" in kept:
            orig = kept["constraints"]
            mc = orig.get("monitoring_config") or {}
            defaults = _config_defaults()
            managed = {"monitoring_config": {
                k: True for k in ("datatype_check_threshold", "domain_content_threshold")
                if k in mc or baseline.config[k] != defaults[k]}}
            dc = mc.get("distribution_constraints") or {}
            if "comparison_threshold" in dc or baseline.config["comparison_threshold"] != defaults["comparison_threshold"]:
                managed["monitoring_config"]["distribution_constraints"] = {"comparison_threshold": True}
            co = overlay(co, orig, managed)
        for kind, doc in (("statistics", st), ("constraints", co)):
            if doc is not None:
                out[kind] = doc
    mq_kept = "model_quality_statistics" in kept or "model_quality_constraints" in kept
    mq_st = model_quality_statistics_json(baseline)
    if "model_quality_statistics" in kept:
        mq_st = overlay(mq_st or {}, kept["model_quality_statistics"])
    elif mq_kept:
        mq_st = None
    if mq_st:
        out["model_quality_statistics"] = mq_st
    mq_co = model_quality_constraints_json(baseline)
    if mq_kept and "model_quality_constraints" not in kept and not baseline.quality_constraints:
        mq_co = None
    if "model_quality_constraints" in kept:
        orig = kept["model_quality_constraints"]
        sections = {k: True for k in (mq_co or {}) if k.endswith("_constraints")}
        mq_co = overlay(mq_co or {}, orig, sections)
    if mq_co:
        out["model_quality_constraints"] = mq_co
    an = analysis_json(baseline)
    if "analysis" in kept:
        an = overlay(an or {}, kept["analysis"])
    if an:
        out["analysis"] = an
    return strict(out)


def _config_defaults() -> dict:
    from .baseline import DEFAULT_CONFIG

    return DEFAULT_CONFIG


FILE_NAMES = {
    "statistics": "statistics.json", "constraints": "constraints.json",
    "model_quality_statistics": "model_quality_statistics.json",
    "model_quality_constraints": "model_quality_constraints.json", "analysis": "analysis.json",
}


def save_sagemaker(baseline, directory) -> dict:
    """Write the baseline's SageMaker files into ``directory``; {file kind: path}."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for kind, doc in to_sagemaker(baseline).items():
        path = os.path.join(directory, FILE_NAMES[kind])
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, allow_nan=False)
        paths[kind] = path
    return paths


def _sources(sources, wanted=FILE_KINDS) -> list:
    """[(path or None, document)]; a directory gives its JSON files of the ``wanted`` kinds (SageMaker's
    output folders hold others too: analysis_config.json, constraint_violations.json ...)."""
    out = []
    for s in sources:
        if s is None or (isinstance(s, dict) and not s):
            continue
        if isinstance(s, (str, os.PathLike)) and os.path.isdir(os.fspath(s)):
            found = []
            for n in sorted(os.listdir(os.fspath(s))):
                path = os.path.join(os.fspath(s), n)
                if n.endswith(".json") and os.path.isfile(path):
                    try:
                        doc = load_json(path)
                    except Invalid:
                        continue
                    if kind_of(doc) in wanted:
                        found.append((path, doc))
            if not found:
                raise Invalid(f"no SageMaker {'constraint_violations.json' if wanted == ('violations',) else 'baseline files'}"
                              f" in {os.fspath(s)}")
            out += found
        else:
            out.append((s if isinstance(s, (str, os.PathLike)) and not str(s).lstrip().startswith("{") else None,
                        load_json(s)))
    return out


def _label(src, i) -> str:
    return os.fspath(src) if src is not None else f"argument {i + 1}"


def from_sagemaker(*sources, target=None, prediction=None, probability=None, facet=None, facet_value=None,
                   group=None, explanation_label=None):
    """A Baseline from any of SageMaker's files (paths, JSON strings, dicts or a directory of them):
    data-quality statistics/constraints, model-quality statistics/constraints, Clarify analysis.json.

    The model-quality files do not name the columns: give ``target`` and ``prediction`` (or
    ``probability``) to check model quality with the baseline. A Clarify analysis.json names the label
    and the facet; give ``facet``/``facet_value`` when it holds several, ``prediction`` for the
    post-training metrics and ``group`` for CDDL/CDDPL."""
    from .baseline import DEFAULT_CONFIG, Baseline, _now

    docs = _sources(sources)
    if not docs:
        raise Invalid("give at least one SageMaker file")
    files: dict = {}
    for i, (src, doc) in enumerate(docs):
        kind = kind_of(doc)
        if kind not in FILE_KINDS:
            raise Invalid(f"{_label(src, i)}: {describe_kind(kind)}" + (
                "" if kind in ("violations", "mlgov-baseline") else
                " (expected statistics.json, constraints.json, model-quality statistics/constraints or analysis.json)"))
        if kind in files:
            raise Invalid(f"{_label(src, i)}: a second {describe_kind(kind)}")
        files[kind] = (src, doc)

    def failing(kind):
        src, _ = files[kind]
        i = [d for _, d in docs].index(files[kind][1])
        return _label(src, i)

    kept = {k: copy.deepcopy(doc) for k, (_, doc) in files.items()}
    cols, config, n_rows = {}, {}, 0
    if "statistics" in files or "constraints" in files:
        try:
            cols, config, n_rows = data_quality_from(files.get("statistics", (None, None))[1],
                                                     files.get("constraints", (None, None))[1])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            which = failing("statistics") if "statistics" in files else failing("constraints")
            raise Invalid(f"{which}: not a valid SageMaker data-quality file ({exc.__class__.__name__}: {exc})") from None
    b = Baseline(columns=cols, n_rows=n_rows, config={**DEFAULT_CONFIG, **config}, created=_now(),
                 target=target, prediction=prediction, probability=probability)
    if "model_quality_statistics" in files or "model_quality_constraints" in files:
        try:
            mq = model_quality_from(files.get("model_quality_statistics", (None, None))[1],
                                    files.get("model_quality_constraints", (None, None))[1])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            which = failing("model_quality_statistics") if "model_quality_statistics" in files \
                else failing("model_quality_constraints")
            raise Invalid(f"{which}: not a valid SageMaker model-quality file ({exc.__class__.__name__}: {exc})") from None
        # constraints alone: no baseline values, yet the thresholds are checked ({} is "quality, no values")
        b.problem_type, b.quality_constraints = mq["problem_type"], mq["quality_constraints"]
        b.quality = mq["quality"] if mq["quality"] is not None else {}
        b.positive_label = mq["positive_label"]
        if not b.n_rows:
            b.n_rows = mq["n"]
    if "analysis" in files:
        doc = files["analysis"][1]
        try:
            if any(k in doc for k in ("pre_training_bias_metrics", "post_training_bias_metrics")):
                info = bias_from_analysis(doc, facet, facet_value)
                fvals = info["facet_values"]
                b.bias = info["bias"]
                b.bias_config = {"facet": info["facet"], "facet_values": fvals, "label_values": info["label_values"],
                                 "group": group}
                if b.target is None:
                    b.target = info["label"]
                elif info["label"] is not None and b.target != info["label"]:
                    raise Invalid(f"analysis.json's label is {info['label']!r}, not the target {b.target!r}")
            attr = attributions_from_analysis(doc, explanation_label)
            if attr is not None:
                b.attributions = attr
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise Invalid(f"{failing('analysis')}: not a valid Clarify analysis.json "
                          f"({exc.__class__.__name__}: {exc})") from None
    b.sagemaker = kept
    return b


def read_sagemaker(source, **kwargs):
    """A Baseline from a SageMaker baseline file (or a directory of them), or a Report from
    constraint_violations.json (or a directory holding one and no baseline file)."""
    if isinstance(source, (str, os.PathLike)) and os.path.isdir(os.fspath(source)):
        try:
            return from_sagemaker(source, **kwargs)
        except Invalid as exc:
            try:
                docs = _sources([source], ("violations",))
            except Invalid:
                raise exc from None
    else:
        docs = _sources([source])
    if len(docs) == 1 and kind_of(docs[0][1]) == "violations":
        src, doc = docs[0]
        try:
            return report_from_violations(doc)
        except (KeyError, TypeError, AttributeError) as exc:
            raise Invalid(f"{_label(src, 0)}: not a valid SageMaker constraint_violations.json "
                          f"({exc.__class__.__name__}: {exc})") from None
    return from_sagemaker(source, **kwargs)


__all__ = [
    "FILE_KINDS", "analysis_json", "attributions_from_analysis", "bias_from_analysis", "constraint_settings",
    "constraints_json", "evaluates", "feature_overrides",
    "data_quality_from", "from_sagemaker", "kind_of", "kll_items", "kll_levels", "load_json", "model_quality_from",
    "model_quality_constraints_json", "model_quality_statistics_json", "read_sagemaker", "report_from_violations",
    "sagemaker_inferred_type", "save_sagemaker", "statistics_json", "strict", "to_sagemaker", "violations_from",
]
