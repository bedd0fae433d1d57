"""Evaluation metrics of a fitted model on labelled data, as SageMaker card metric groups.

Every number is computed by scikit-learn's own metric functions; curves are downsampled to
at most 20 points, always keeping the first and last point. That is mlgov's choice for readable
charts and small cards, not a schema limit: AWS's schema sets no maximum on a linear graph or a bar
chart, and cards that carry longer ones (the SageMaker SDK writes whole scikit-learn curves) are
accepted. Matrices are capped at 20 x 20, AWS's own limit.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from mlgov_jupyter.core.errors import Invalid

# mlgov's display choices for generated cards (the schema accepts longer curves and bar charts)
MAX_POINTS = 20
MAX_MATRIX = 20
MAX_BARS = 20

BINARY = "BinaryClassification"
MULTICLASS = "MulticlassClassification"
REGRESSION = "Regression"


def short(text: Any, limit: int) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _num(x: Any) -> float:
    return float(x)


def downsample(points: Sequence[Sequence[float]], limit: int = MAX_POINTS) -> list[list[float]]:
    """Keep at most ``limit`` points, evenly spaced by index, first and last included."""
    pts = [[_num(x), _num(y)] for x, y in points]
    n = len(pts)
    if n <= limit:
        return pts
    idx = sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
    return [pts[i] for i in idx]


def number(name: str, value: Any, notes: str | None = None) -> dict | None:
    v = _num(value)
    if not math.isfinite(v):
        return None
    out = {"name": short(name, 255), "type": "number", "value": v}
    if notes:
        out["notes"] = short(notes, 1024)
    return out


def _label(v: Any) -> str:
    if hasattr(v, "item"):
        v = v.item()
    return short(v, 63)


def scores_for_positive(model: Any, X: Any, classes: Sequence[Any]) -> Any | None:
    """Scores for the positive class (``classes[1]``): predict_proba, else decision_function."""
    import numpy as np

    if hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(X))
            return proba[:, 1] if proba.ndim == 2 else proba
        except Exception:  # noqa: BLE001 - e.g. SVC(probability=False) exposes but refuses it
            pass
    if hasattr(model, "decision_function"):
        try:
            return np.asarray(model.decision_function(X)).ravel()
        except Exception:  # noqa: BLE001
            pass
    return None


def classification_groups(model: Any, X: Any, y: Any, problem_type: str) -> tuple[list[dict], dict]:
    """Metric groups for a classifier, plus metadata strings (positive label, rows)."""
    import numpy as np
    from sklearn import metrics as skm

    y_true = np.asarray(y).ravel()
    y_pred = np.asarray(model.predict(X)).ravel()
    classes = list(getattr(model, "classes_", [])) or sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    meta: dict[str, str] = {"rows": str(len(y_true))}
    groups: list[dict] = []

    if problem_type == BINARY:
        pos = classes[1]
        meta["positive_label"] = _label(pos)
        simple = [
            number("accuracy", skm.accuracy_score(y_true, y_pred)),
            number("precision", skm.precision_score(y_true, y_pred, pos_label=pos, zero_division=0)),
            number("recall", skm.recall_score(y_true, y_pred, pos_label=pos, zero_division=0)),
            number("f1", skm.f1_score(y_true, y_pred, pos_label=pos, zero_division=0)),
        ]
        scores = scores_for_positive(model, X, classes)
        curves = []
        if scores is not None and len(set(y_true.tolist())) == 2:
            y_bin = (y_true == pos).astype(int)
            simple.append(number("auc", skm.roc_auc_score(y_bin, scores), notes="area under the ROC curve"))
            fpr, tpr, _ = skm.roc_curve(y_bin, scores)
            curves.append({
                "name": "roc_curve",
                "type": "linear_graph",
                "value": downsample(zip(fpr, tpr)),
                "x_axis_name": "false positive rate",
                "y_axis_name": "true positive rate",
                "notes": f"{len(fpr)} points downsampled to at most {MAX_POINTS}",
            })
            precision, recall, _ = skm.precision_recall_curve(y_bin, scores)
            pr = list(zip(recall, precision))[::-1]  # recall ascending
            curves.append({
                "name": "precision_recall_curve",
                "type": "linear_graph",
                "value": downsample(pr),
                "x_axis_name": "recall",
                "y_axis_name": "precision",
                "notes": f"{len(pr)} points downsampled to at most {MAX_POINTS}",
            })
        groups.append({"name": "Binary classification metrics", "metric_data": [m for m in simple if m]})
    else:
        simple = [
            number("accuracy", skm.accuracy_score(y_true, y_pred)),
            number("weighted_precision", skm.precision_score(y_true, y_pred, average="weighted", zero_division=0)),
            number("weighted_recall", skm.recall_score(y_true, y_pred, average="weighted", zero_division=0)),
            number("weighted_f1", skm.f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        ]
        curves = []
        groups.append({"name": "Multiclass classification metrics", "metric_data": [m for m in simple if m]})

    if len(classes) <= MAX_MATRIX:
        cm = skm.confusion_matrix(y_true, y_pred, labels=classes)
        labels = [_label(c) for c in classes]
        groups.append({
            "name": "Confusion matrix",
            "metric_data": [{
                "name": "confusion_matrix",
                "type": "matrix",
                "value": [[_num(v) for v in row] for row in cm.tolist()],
                "x_axis_name": labels,
                "y_axis_name": labels,
                "notes": "rows: actual class, columns: predicted class",
            }],
        })
        if problem_type == MULTICLASS:
            per_class = skm.f1_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
            groups.append({
                "name": "Per-class F1",
                "metric_data": [{
                    "name": "f1_by_class",
                    "type": "bar_chart",
                    "value": [_num(v) for v in per_class],
                    "x_axis_name": labels,
                    "y_axis_name": "f1",
                }],
            })
    else:
        meta["confusion_matrix"] = f"omitted: {len(classes)} classes exceed the {MAX_MATRIX}x{MAX_MATRIX} card limit"
    if curves:
        groups.append({"name": "Curves", "metric_data": curves})
    return groups, meta


def regression_groups(model: Any, X: Any, y: Any) -> tuple[list[dict], dict]:
    import numpy as np
    from sklearn import metrics as skm

    y_true = np.asarray(y, dtype=float).ravel()
    y_pred = np.asarray(model.predict(X), dtype=float).ravel()
    mse = skm.mean_squared_error(y_true, y_pred)
    rmse_fn = getattr(skm, "root_mean_squared_error", None)
    rmse = rmse_fn(y_true, y_pred) if rmse_fn else math.sqrt(mse)
    data = [
        number("mae", skm.mean_absolute_error(y_true, y_pred)),
        number("mse", mse),
        number("rmse", rmse),
        number("r2", skm.r2_score(y_true, y_pred)),
    ]
    return [{"name": "Regression metrics", "metric_data": [m for m in data if m]}], {"rows": str(len(y_true))}


def evaluation_groups(model: Any, X: Any, y: Any, problem_type: str) -> tuple[list[dict], dict]:
    """Metric groups for ``problem_type``; ``Invalid`` if the model cannot predict on ``X``."""
    if not hasattr(model, "predict"):
        raise Invalid(f"cannot evaluate {type(model).__name__}: it has no predict method")
    try:
        if problem_type == REGRESSION:
            return regression_groups(model, X, y)
        return classification_groups(model, X, y, problem_type)
    except Invalid:
        raise
    except Exception as e:  # noqa: BLE001 - the user's model or data; report it in one line
        msg = " ".join(str(e).split())[:200]
        raise Invalid(f"could not evaluate the model on the test data: {type(e).__name__}: {msg}") from None


def training_score(model: Any, X: Any, y: Any, problem_type: str) -> dict | None:
    """One headline metric on the training data (accuracy or r2), or None if it cannot be computed."""
    from sklearn import metrics as skm
    import numpy as np

    try:
        y_pred = np.asarray(model.predict(X)).ravel()
        y_true = np.asarray(y).ravel()
        if problem_type == REGRESSION:
            return number("r2", skm.r2_score(y_true.astype(float), y_pred.astype(float)), notes="on the training data")
        return number("accuracy", skm.accuracy_score(y_true, y_pred), notes="on the training data")
    except Exception:  # noqa: BLE001
        return None


def importance_group(model: Any, feature_names: Sequence[str]) -> dict | None:
    """Top-20 feature importances (|coef| or feature_importances_) as a bar chart."""
    import numpy as np

    est = model
    steps = getattr(model, "steps", None)
    if steps:
        est = steps[-1][1]
    values = getattr(est, "feature_importances_", None)
    kind = "feature importance"
    if values is None and getattr(est, "coef_", None) is not None:
        coef = np.asarray(est.coef_, dtype=float)
        values = np.abs(coef).mean(axis=0) if coef.ndim == 2 else np.abs(coef)
        kind = "|coefficient|" + (" (mean over classes)" if coef.ndim == 2 and coef.shape[0] > 1 else "")
    if values is None:
        return None
    values = np.asarray(values, dtype=float).ravel()
    names_in = getattr(est, "feature_names_in_", None)
    names = [str(n) for n in names_in] if names_in is not None else []
    if len(names) != len(values) and steps and len(steps) > 1:
        try:
            names = [str(n) for n in model[:-1].get_feature_names_out()]
        except Exception:  # noqa: BLE001 - not every transformer names its outputs
            names = []
    if len(names) != len(values):
        names = [str(n) for n in feature_names] if len(feature_names) == len(values) else [f"x{i}" for i in range(len(values))]
    if not len(values) or not np.all(np.isfinite(values)):
        return None
    order = np.argsort(-values, kind="stable")[:MAX_BARS]
    return {
        "name": "Feature importance",
        "metric_data": [{
            "name": "feature_importance",
            "type": "bar_chart",
            "value": [float(values[i]) for i in order],
            "x_axis_name": [short(names[i], 63) for i in order],
            "y_axis_name": short(kind, 63),
            "notes": f"top {len(order)} of {len(values)} features, from the final estimator",
        }],
    }
