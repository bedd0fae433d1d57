"""Model quality metrics with SageMaker Model Monitor's names.

Each metric is ``{"value": v, "standard_deviation": s}``; s comes from 5 samples of 80% of
the rows drawn without replacement when n >= 200 (SageMaker's bootstrap), else None.
Curves (ROC, PR) and the confusion matrix carry no standard deviation.

Regression reports two R²: ``r2`` is the coefficient of determination of the labels,
scikit-learn's ``r2_score(label, prediction)`` = 1 - SSE / sum((label - mean(label))**2);
``r2_sagemaker`` is what SageMaker Model Monitor's model-quality job reports as ``r2``:
1 - SSE / sum((prediction - mean(prediction))**2), i.e. ``r2_score(prediction, label)`` (on the
SageMaker SDK's model_quality test data: r2 -0.3351, SageMaker's -3.2088). Suggested constraints
use ``r2``; SageMaker's files carry ``r2_sagemaker`` as their ``r2`` (``sagemaker_formats``).

Label types are reconciled as SageMaker Clarify does (``value_match``): labels read from CSV as the
strings "0"/"1" with ``positive_label=1`` (or a baseline fitted on int labels checked against
string ones) mean the same rows; a positive label that matches nothing of a column that cannot
hold it ("yes"/"no" labels and ``positive_label=1``) is refused with one line, never counted as
no positives. Multiclass labels and predictions of different types (1 and "1") are compared by
value the same way.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import Invalid
from .value_match import match_values

BOOTSTRAP_MIN_N = 200
BOOTSTRAP_SAMPLES = 5
BOOTSTRAP_FRACTION = 0.8

HIGHER_IS_BETTER = {
    "recall", "precision", "accuracy", "true_positive_rate", "true_negative_rate", "auc",
    "f0_5", "f1", "f2", "weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f1",
    "weighted_f2", "r2", "r2_sagemaker",
}
LOWER_IS_BETTER = {"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"}
# A metric within EQUAL_RTOL (relative) of its threshold counts as equal to it: SageMaker suggests
# thresholds equal to the baseline's own values (below 200 rows), and the same data recomputed with
# another summation order differs in the last bit; that must not be a violation.
EQUAL_RTOL = 1e-9


def _tol(t) -> float:
    return EQUAL_RTOL * max(1.0, abs(t))


OPERATORS = {
    "LessThanThreshold": lambda v, t: v < t - _tol(t),
    "LessThanOrEqualToThreshold": lambda v, t: v <= t + _tol(t),
    "GreaterThanThreshold": lambda v, t: v > t + _tol(t),
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t - _tol(t),
}


def infer_problem_type(y: pd.Series) -> str:
    vals = pd.unique(y.dropna())
    if pd.api.types.is_float_dtype(y.dtype) and not np.all(np.mod(vals.astype(float), 1) == 0):
        return "Regression"
    if pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype) and len(vals) > 20:
        return "Regression"
    return "BinaryClassification" if len(vals) <= 2 else "MulticlassClassification"


def _fbeta(p, r, beta):
    b2 = beta * beta
    d = b2 * p + r
    return (1 + b2) * p * r / d if d > 0 else 0.0


def _binary_point(y: np.ndarray, yhat: np.ndarray) -> dict:
    """y, yhat boolean arrays; point metrics from the confusion matrix."""
    tp = int(np.count_nonzero(y & yhat))
    fp = int(np.count_nonzero(~y & yhat))
    fn = int(np.count_nonzero(y & ~yhat))
    tn = int(y.size - tp - fp - fn)
    rec = tp / (tp + fn) if tp + fn else 0.0
    prec = tp / (tp + fp) if tp + fp else 0.0
    tnr = tn / (tn + fp) if tn + fp else 0.0
    return {
        "recall": rec, "precision": prec, "accuracy": (tp + tn) / y.size if y.size else 0.0,
        "true_positive_rate": rec, "true_negative_rate": tnr, "false_positive_rate": 1 - tnr if tn + fp else 0.0,
        "false_negative_rate": 1 - rec if tp + fn else 0.0,
        "f0_5": _fbeta(prec, rec, 0.5), "f1": _fbeta(prec, rec, 1.0), "f2": _fbeta(prec, rec, 2.0),
        "_cm": [[tn, fp], [fn, tp]],
    }


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula with average ranks for ties."""
    from scipy.stats import rankdata

    n_pos = int(np.count_nonzero(y))
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _curves(y: np.ndarray, score: np.ndarray, max_points: int = 20) -> tuple[list, list]:
    order = np.argsort(-score, kind="mergesort")
    s, yy = score[order], y[order]
    distinct = np.where(np.diff(s))[0]
    idx = np.r_[distinct, yy.size - 1]
    tps = np.cumsum(yy)[idx]
    fps = 1 + idx - tps
    P, N = max(tps[-1], 1), max(fps[-1], 1)
    tpr, fpr = tps / P, fps / N
    prec = tps / (tps + fps)
    pick = np.unique(np.linspace(0, idx.size - 1, min(max_points, idx.size)).astype(int))
    roc = [[0.0, 0.0]] + [[float(fpr[i]), float(tpr[i])] for i in pick]
    pr = [[float(tpr[i]), float(prec[i])] for i in pick]
    return roc, pr


def _multiclass_point(y: np.ndarray, yhat: np.ndarray, labels) -> dict:
    out = {"accuracy": float(np.mean(y == yhat)) if y.size else 0.0}
    support = np.array([np.count_nonzero(y == c) for c in labels], dtype=float)
    w = support / support.sum() if support.sum() else support
    precs, recs = [], []
    for c in labels:
        tp = np.count_nonzero((y == c) & (yhat == c))
        pp = np.count_nonzero(yhat == c)
        ap = np.count_nonzero(y == c)
        precs.append(tp / pp if pp else 0.0)
        recs.append(tp / ap if ap else 0.0)
    out["weighted_recall"] = float(np.dot(w, recs))
    out["weighted_precision"] = float(np.dot(w, precs))
    for beta, key in ((0.5, "weighted_f0_5"), (1.0, "weighted_f1"), (2.0, "weighted_f2")):
        out[key] = float(np.dot(w, [_fbeta(p, r, beta) for p, r in zip(precs, recs)]))
    out["_cm"] = [[int(np.count_nonzero((y == a) & (yhat == b))) for b in labels] for a in labels]
    return out


def _regression_point(y: np.ndarray, yhat: np.ndarray) -> dict:
    err = y - yhat
    sse = float(np.sum(err * err))
    mse = sse / y.size
    ss_label = float(np.sum((y - y.mean()) ** 2))
    ss_pred = float(np.sum((yhat - yhat.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(err))), "mse": mse, "rmse": math.sqrt(mse),
        # scikit-learn's r2_score(label, prediction): the one to read
        "r2": 1 - sse / ss_label if ss_label > 0 else math.nan,
        # SageMaker Model Monitor's "r2": r2_score(prediction, label), the roles of the two swapped
        "r2_sagemaker": 1 - sse / ss_pred if ss_pred > 0 else math.nan,
    }


def _as_number(v):
    """v as a float when it is a number or a string that reads as one (bools as 0/1), else None."""
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return {"true": 1.0, "false": 0.0}.get(v.strip().lower())
    return None


def _binarise(s: pd.Series, positive, what: str) -> np.ndarray:
    """Positional mask of the rows of ``s`` equal to ``positive``, its type reconciled to the column's.

    ``match_values`` refuses a converted value that matches no row; here that is refused only when the
    column cannot hold the value at all (words against a number): a batch of string labels "0" with
    the int positive label 1 has no positives, it is not an error."""
    try:
        return match_values(s.reset_index(drop=True), [positive], what)
    except Invalid:
        if _as_number(positive) is not None and all(_as_number(v) is not None for v in pd.unique(s.dropna())):
            return np.zeros(len(s), dtype=bool)
        raise


def _reconcile_classes(y: pd.Series, yhat: pd.Series, target: str, prediction: str):
    """(y, yhat) as object arrays comparable by ``==``: when labels and predictions are of different
    types (1 against "1"), both are compared as numbers where they read as numbers."""
    yv, pv = y.to_numpy(dtype=object), yhat.to_numpy(dtype=object)
    ky = {type(_kind_value(v)) for v in pd.unique(y)}
    kp = {type(_kind_value(v)) for v in pd.unique(yhat)}
    if ky == kp or not len(yv):
        return yv, pv

    def key(v):
        n = _as_number(v)
        return v if n is None else n

    yk = np.asarray([key(v) for v in yv], dtype=object)
    pk = np.asarray([key(v) for v in pv], dtype=object)
    if not set(yk.tolist()) & set(pk.tolist()):
        raise Invalid(f"labels ({target!r}: {_few(y)}) and predictions ({prediction!r}: {_few(yhat)}) share no value, "
                      "even compared as numbers")
    return yk, pk


def _kind_value(v):
    if isinstance(v, (bool, np.bool_)):
        return True
    if isinstance(v, (int, float, np.integer, np.floating)):
        return 0.0
    return v


def _few(s: pd.Series, k: int = 4) -> str:
    vals = pd.unique(s)
    return ", ".join(repr(py(v)) for v in vals[:k]) + (", ..." if len(vals) > k else "")


def _positive_label(values, positive=None):
    if positive is not None:
        return positive
    vals = [py(v) for v in values]
    for cand in (True, 1, "1", "yes", "true", "True", "positive", "pos"):
        for v in vals:
            if v == cand:
                return v
    return sorted(vals, key=str)[-1]


def quality_metrics(df: pd.DataFrame, target: str, prediction: str | None = None, probability: str | None = None,
                    problem_type: str | None = None, positive_label=None, threshold: float = 0.5,
                    seed: int = 0) -> dict:
    """SageMaker-style model quality metrics: ``{"problem_type", "metrics": {name: {value, standard_deviation}}}``."""
    for col in (target, prediction, probability):
        if col is not None and col not in df.columns:
            raise Invalid(f"column {col!r} not found")
    if prediction is None and probability is None:
        raise Invalid("model quality needs a prediction or probability column")
    sub = df[[c for c in (target, prediction, probability) if c is not None]].dropna()
    y_s = sub[target]
    problem_type = problem_type or infer_problem_type(y_s)
    n = len(sub)
    if n == 0:
        raise Invalid("no rows with both ground truth and prediction")
    rng = np.random.default_rng(seed)
    samples = [rng.choice(n, size=int(BOOTSTRAP_FRACTION * n), replace=False)
               for _ in range(BOOTSTRAP_SAMPLES)] if n >= BOOTSTRAP_MIN_N else []
    extra: dict = {}
    if problem_type == "Regression":
        y = y_s.to_numpy(dtype=float)
        yhat = sub[prediction].to_numpy(dtype=float)
        point = _regression_point(y, yhat)
        boots = [_regression_point(y[i], yhat[i]) for i in samples]
    elif problem_type == "BinaryClassification":
        pos = _positive_label(pd.unique(y_s), positive_label)
        y = _binarise(y_s, pos, "positive label")
        score = sub[probability].to_numpy(dtype=float) if probability else None
        if prediction is not None:
            yhat = _binarise(sub[prediction], pos, "positive label")
        else:
            yhat = score >= threshold
        point = _binary_point(y, yhat)
        boots = [_binary_point(y[i], yhat[i]) for i in samples]
        base_rate = float(y.mean())
        const_pos = base_rate >= 0.5
        const = _binary_point(y, np.full(y.size, const_pos))
        for key in ("recall", "precision", "accuracy", "f0_5", "f1", "f2"):
            extra[f"{key}_best_constant_classifier"] = {"value": const[key], "standard_deviation": None}
        if score is not None:
            point["auc"] = _auc(y, score)
            for b, i in zip(boots, samples):
                b["auc"] = _auc(y[i], score[i])
            roc, pr = _curves(y, score)
            extra["receiver_operating_characteristic_curve"] = {"value": roc, "standard_deviation": None}
            extra["precision_recall_curve"] = {"value": pr, "standard_deviation": None}
        extra["positive_label"] = {"value": py(pos), "standard_deviation": None}
        negatives = [py(v) for v in pd.unique(y_s[~y]) if v is not None]
        extra["labels"] = {"value": [negatives[0] if negatives else None, py(pos)], "standard_deviation": None}
    elif problem_type == "MulticlassClassification":
        if prediction is None:
            raise Invalid("multiclass model quality needs the predicted label column (prediction)")
        y, yhat = _reconcile_classes(y_s, sub[prediction], target, prediction)
        labels = sorted(pd.unique(np.concatenate([y, yhat])), key=str)
        point = _multiclass_point(y, yhat, labels)
        boots = [_multiclass_point(y[i], yhat[i], labels) for i in samples]
        major = max(labels, key=lambda c: np.count_nonzero(y == c))
        const = _multiclass_point(y, np.full(y.size, major, dtype=object) if y.dtype == object
                                  else np.full(y.size, major), labels)
        for key in ("accuracy", "weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f1", "weighted_f2"):
            extra[f"{key}_best_constant_classifier"] = {"value": const[key], "standard_deviation": None}
        extra["labels"] = {"value": [py(v) for v in labels], "standard_deviation": None}
    else:
        raise Invalid(f"unknown problem_type {problem_type!r} (Regression, BinaryClassification, MulticlassClassification)")
    metrics = {}
    cm = point.pop("_cm", None)
    for b in boots:
        b.pop("_cm", None)
    for key, v in point.items():
        std = float(np.std([b[key] for b in boots])) if boots else None
        metrics[key] = {"value": float(v), "standard_deviation": std}
    if cm is not None:
        metrics["confusion_matrix"] = {"value": cm, "standard_deviation": None}
    metrics.update(extra)
    return {"problem_type": problem_type, "n": n, "metrics": metrics}


def py(v):
    return v.item() if isinstance(v, np.generic) else v


# The std of a metric over 80% subsamples drawn without replacement is about half the std of the
# metric over independent samples of the same size (finite-population factor sqrt(0.2/0.8)); the
# difference of two independent samples has sqrt(2) times that. SUGGESTED_MARGIN bootstrap stds
# is therefore about 3 standard errors of the difference between the baseline and a new sample.
SUGGESTED_MARGIN = 8.5


def suggest_constraints(metrics: dict, margin: float = SUGGESTED_MARGIN, skip=("r2_sagemaker",)) -> dict:
    """Suggested thresholds: the baseline value minus (or plus, for errors) ``margin`` bootstrap stds.
    ``r2_sagemaker`` gets none by default (``r2`` is constrained; SageMaker's files get one of their own)."""
    out = {}
    for key, m in metrics.items():
        if key in skip:
            continue
        v, s = m.get("value"), m.get("standard_deviation") or 0.0
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v is None or math.isnan(v):
            continue
        if key in HIGHER_IS_BETTER:
            out[key] = {"threshold": v - margin * s, "comparison_operator": "LessThanThreshold"}
        elif key in LOWER_IS_BETTER:
            out[key] = {"threshold": v + margin * s, "comparison_operator": "GreaterThanThreshold"}
    return out


def quality_violations(metrics: dict, constraints: dict) -> list[dict]:
    out = []
    for key, c in constraints.items():
        if key not in metrics:
            continue
        op = c.get("comparison_operator", "LessThanThreshold")
        if op not in OPERATORS:
            raise Invalid(f"unknown comparison_operator {op!r} for {key} (use one of {', '.join(OPERATORS)})")
        v = metrics[key]["value"]
        if isinstance(v, (int, float)) and not math.isnan(v) and OPERATORS[op](v, c["threshold"]):
            out.append({
                "metric_name": key, "constraint_check_type": op,
                "description": f"Metric {key} with {v:.4g} was {op} '{c['threshold']:.4g}'",
            })
    return out


def normalise_constraints(spec: dict | None) -> dict:
    """Accept {metric: threshold}, {metric: (threshold, operator)} or SageMaker's dict form."""
    out = {}
    for key, c in (spec or {}).items():
        if isinstance(c, dict):
            out[key] = {"threshold": float(c["threshold"]), "comparison_operator": c.get("comparison_operator", "LessThanThreshold")}
        elif isinstance(c, (tuple, list)):
            out[key] = {"threshold": float(c[0]), "comparison_operator": c[1]}
        else:
            op = "GreaterThanThreshold" if key in LOWER_IS_BETTER else "LessThanThreshold"
            out[key] = {"threshold": float(c), "comparison_operator": op}
        if out[key]["comparison_operator"] not in OPERATORS:
            raise Invalid(f"unknown comparison_operator {out[key]['comparison_operator']!r} for {key}")
    return out
