"""SageMaker Clarify bias metrics, keyed by Clarify's short names.

Facet d (disadvantaged, the "sensitive group") is the rows whose facet value is in
``facet_values`` (or above ``facet_values`` when it is a number and the facet is numeric);
facet a is every other row. Labels are binarised with ``label_values`` (the favourable
outcome; default 1 / True). Undefined ratios (division by zero) are NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import Invalid

PRE_TRAINING = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING = ("DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "CDDPL", "GE", "FT")
IDEAL = {"DI": 1.0}  # every other metric is ideal at 0


def _div(a, b):
    return a / b if b else math.nan


def _as_list(v):
    if v is None:
        return None
    if isinstance(v, (list, tuple, set, np.ndarray, pd.Index)):
        return list(v)
    return [v]


def facet_mask(s: pd.Series, facet_values) -> np.ndarray:
    if facet_values is None:
        raise Invalid("facet_values is required (the sensitive group's values)")
    if (not isinstance(facet_values, (list, tuple, set)) and isinstance(facet_values, (int, float))
            and not isinstance(facet_values, bool) and pd.api.types.is_numeric_dtype(s.dtype)
            and not pd.api.types.is_bool_dtype(s.dtype) and s.nunique() > 2):
        return (s > facet_values).to_numpy(dtype=bool)
    return s.isin(_as_list(facet_values)).to_numpy(dtype=bool)


def positive_mask(s: pd.Series, label_values) -> np.ndarray:
    if label_values is None:
        from .quality import _positive_label

        label_values = _positive_label(pd.unique(s.dropna()))
    return s.isin(_as_list(label_values)).to_numpy(dtype=bool)


def _dist(values: np.ndarray, cats) -> np.ndarray:
    counts = np.array([np.count_nonzero(values == c) for c in cats], dtype=float)
    return counts / counts.sum() if counts.sum() else counts


def _kl(p, q):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / q), 0.0)
    return float(np.sum(terms))


def _cdd(y: np.ndarray, d: np.ndarray, groups: np.ndarray) -> float:
    n = y.size
    total = 0.0
    for g in pd.unique(groups):
        m = groups == g
        n0 = np.count_nonzero(m & ~y)
        n1 = np.count_nonzero(m & y)
        if n0 == 0 or n1 == 0:
            continue  # DD undefined for this subgroup: contributes 0
        dd = np.count_nonzero(m & ~y & d) / n0 - np.count_nonzero(m & y & d) / n1
        total += np.count_nonzero(m) * dd
    return total / n if n else math.nan


def generalized_entropy(y: np.ndarray, yhat: np.ndarray, alpha: float = 2.0) -> float:
    b = yhat.astype(float) - y.astype(float) + 1.0
    mu = b.mean()
    if mu == 0:
        return math.nan
    if alpha == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.mean(np.where(b > 0, b / mu * np.log(b / mu), 0.0)))
    return float(np.sum((b / mu) ** alpha - 1) / (b.size * alpha * (alpha - 1)))


def flip_test(X: np.ndarray, yhat: np.ndarray, d: np.ndarray, k: int = 5) -> float:
    """FT = (F+ - F-) / n_d: members of d whose k nearest neighbours in a get the other outcome."""
    from sklearn.neighbors import NearestNeighbors

    a_idx, d_idx = np.where(~d)[0], np.where(d)[0]
    if a_idx.size == 0 or d_idx.size == 0:
        return math.nan
    mu, sd = X.mean(axis=0), X.std(axis=0)
    Z = (X - mu) / np.where(sd > 0, sd, 1.0)
    nn = NearestNeighbors(n_neighbors=min(k, a_idx.size)).fit(Z[a_idx])
    _, nb = nn.kneighbors(Z[d_idx])
    neigh_pos = yhat[a_idx][nb].mean(axis=1) > 0.5
    own = yhat[d_idx]
    f_plus = np.count_nonzero(~own & neigh_pos)
    f_minus = np.count_nonzero(own & ~neigh_pos)
    return float((f_plus - f_minus) / d_idx.size)


def bias_metrics(df: pd.DataFrame, label: str, facet: str, facet_values, predicted: str | None = None,
                 group: str | None = None, label_values=None, predicted_label_values=None,
                 features: list[str] | None = None) -> dict:
    """Clarify's pre-training metrics, and post-training ones when ``predicted`` is given."""
    if not isinstance(df, pd.DataFrame):
        raise Invalid("bias_metrics needs a pandas DataFrame")
    for col in (label, facet, predicted, group, *(features or [])):
        if col is not None and col not in df.columns:
            raise Invalid(f"column {col!r} not found")
    cols = [c for c in dict.fromkeys([label, facet, predicted, group]) if c is not None]
    sub = df[cols].dropna()
    if sub.empty:
        raise Invalid("no rows with label and facet values")
    d = facet_mask(sub[facet], facet_values)
    a = ~d
    if not d.any():
        raise Invalid(f"no rows of facet {facet!r} take the values {facet_values!r}")
    if not a.any():
        raise Invalid(f"every row of facet {facet!r} is in the sensitive group: nothing to compare")
    if label_values is None:
        from .quality import _positive_label

        label_values = _positive_label(pd.unique(sub[label]))
    y = positive_mask(sub[label], label_values)
    na, nd = int(a.sum()), int(d.sum())
    qa, qd = y[a].mean(), y[d].mean()
    raw = sub[label].to_numpy()
    cats = list(pd.unique(raw))
    pa, pd_ = _dist(raw[a], cats), _dist(raw[d], cats)
    mid = (pa + pd_) / 2
    out = {
        "CI": (na - nd) / (na + nd),
        "DPL": float(qa - qd),
        "KL": _kl(pa, pd_),
        "JS": (_kl(pa, mid) + _kl(pd_, mid)) / 2,
        "LP": float(np.sqrt(np.sum((pa - pd_) ** 2))),
        "TVD": float(np.sum(np.abs(pa - pd_)) / 2),
        "KS": float(np.max(np.abs(pa - pd_))),
    }
    groups = sub[group].to_numpy() if group else None
    if group:
        out["CDDL"] = _cdd(y, d, groups)
    if predicted is None:
        return {k: float(v) for k, v in out.items()}
    if predicted_label_values is None:
        predicted_label_values = label_values
    yh = positive_mask(sub[predicted], predicted_label_values)

    def conf(m):
        tp = np.count_nonzero(m & y & yh)
        fp = np.count_nonzero(m & ~y & yh)
        fn = np.count_nonzero(m & y & ~yh)
        tn = np.count_nonzero(m & ~y & ~yh)
        return tp, fp, fn, tn

    tpa, fpa, fna, tna = conf(a)
    tpd, fpd, fnd, tnd = conf(d)
    qpa, qpd = yh[a].mean(), yh[d].mean()
    out.update({
        "DPPL": float(qpa - qpd),
        "DI": _div(qpd, qpa),
        # n(1)/n'(1): observed positives over predicted positives
        "DCA": _div(tpa + fna, tpa + fpa) - _div(tpd + fnd, tpd + fpd),
        "DCR": _div(tnd + fpd, tnd + fnd) - _div(tna + fpa, tna + fna),
        "RD": _div(tpa, tpa + fna) - _div(tpd, tpd + fnd),
        "SD": _div(tnd, tnd + fpd) - _div(tna, tna + fpa),
        "DAR": _div(tpa, tpa + fpa) - _div(tpd, tpd + fpd),
        "DRR": _div(tnd, tnd + fnd) - _div(tna, tna + fna),
        "AD": (tpa + tna) / na - (tpd + tnd) / nd,
        "TE": _div(fnd, fpd) - _div(fna, fpa),
        "GE": generalized_entropy(y, yh),
    })
    if group:
        out["CDDPL"] = _cdd(yh, d, groups)
    if features:
        X = df.loc[sub.index, features].apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(dtype=float)
        out["FT"] = flip_test(X, yh, d)
    return {k: float(v) for k, v in out.items()}


def bias_violations(baseline: dict, current: dict, tolerance: float = 0.0) -> list[dict]:
    """A violation when the current value is farther from the ideal (0; 1 for DI) than the baseline's
    (plus ``tolerance``)."""
    out = []
    for key, b in baseline.items():
        c = current.get(key)
        if c is None or b is None or math.isnan(c) or math.isnan(b):
            continue
        ideal = IDEAL.get(key, 0.0)
        if abs(c - ideal) > abs(b - ideal) + tolerance + 1e-12:
            out.append({
                "metric_name": key, "constraint_check_type": "bias_drift_check",
                "description": f"Bias metric {key} is {c:.4g}, farther from {ideal:g} than the baseline's {b:.4g}",
            })
    return out
