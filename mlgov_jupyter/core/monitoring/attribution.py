"""Feature attribution drift: global attributions and Clarify's nDCG.

Global attributions are mean |SHAP| values when ``shap`` is installed, otherwise
scikit-learn's permutation importance (which needs the target). nDCG follows Clarify:
with a(f) the baseline attribution of feature f, F the baseline ranking and F' the current one,
nDCG = sum_i a(F'_i) / log2(i+1) / sum_i a(F_i) / log2(i+1); a violation when it is < 0.90.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import Invalid

NDCG_THRESHOLD = 0.90


def attribution_ndcg(baseline_attr: dict, current_attr: dict) -> float:
    if not baseline_attr:
        raise Invalid("baseline attributions are empty")
    feats = list(baseline_attr)
    missing = [f for f in feats if f not in current_attr]
    if missing:
        raise Invalid(f"current attributions lack feature(s) {', '.join(map(str, missing[:5]))}")
    a = np.array([abs(float(baseline_attr[f])) for f in feats])
    c = np.array([abs(float(current_attr[f])) for f in feats])
    discount = 1.0 / np.log2(np.arange(2, len(feats) + 2))
    ideal = np.sort(a)[::-1]
    order = np.argsort(-c, kind="stable")
    idcg = float(np.dot(ideal, discount))
    if idcg == 0:
        return 1.0
    return float(np.dot(a[order], discount) / idcg)


def global_attributions(model, X: pd.DataFrame, y=None, method: str = "auto", n_repeats: int = 5,
                        max_rows: int | None = None, seed: int = 0) -> dict:
    """{feature: global attribution}: mean |SHAP| (method 'shap') or permutation importance ('permutation').

    At most ``max_rows`` rows are explained (a uniform sample): 500 for SHAP, 2000 for permutation.
    """
    if not isinstance(X, pd.DataFrame):
        raise Invalid("global_attributions needs the features as a pandas DataFrame")
    if method == "auto":
        try:
            import shap  # noqa: F401

            method = "shap"
        except ImportError:
            method = "permutation"
    if max_rows is None:
        max_rows = 500 if method == "shap" else 2000
    if len(X) > max_rows:
        idx = np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False)
        X = X.iloc[idx]
        if y is not None:
            y = (y.iloc[idx] if hasattr(y, "iloc") else np.asarray(y)[idx])
    if method == "shap":
        import shap

        predict = model.predict_proba if hasattr(model, "predict_proba") else model.predict
        background = shap.utils.sample(X, min(100, len(X)), random_state=seed)
        explainer = shap.Explainer(predict, background)
        values = explainer(X).values
        values = np.abs(values)
        while values.ndim > 2:  # one column per class: average over classes
            values = values.mean(axis=-1)
        means = values.mean(axis=0)
        return {str(f): float(v) for f, v in zip(X.columns, means)}
    if method == "permutation":
        if y is None:
            raise Invalid("permutation importance needs the target (y); install shap for label-free attributions")
        from sklearn.inspection import permutation_importance

        res = permutation_importance(model, X, y, n_repeats=n_repeats, random_state=seed)
        return {str(f): float(max(v, 0.0)) for f, v in zip(X.columns, res.importances_mean)}
    raise Invalid(f"unknown attribution method {method!r} (auto, shap, permutation)")


def attribution_violation(ndcg: float, threshold: float = NDCG_THRESHOLD) -> list[dict]:
    if math.isnan(ndcg) or ndcg >= threshold:
        return []
    return [{
        "feature_name": "", "constraint_check_type": "feature_attribution_drift_check",
        "description": f"nDCG of feature attributions is {ndcg:.4f}, below {threshold:g}",
    }]
