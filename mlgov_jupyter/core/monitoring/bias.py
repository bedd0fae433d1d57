"""SageMaker Clarify bias metrics, keyed by Clarify's short names, equal to what Clarify computes.

The reference is ``smclarify`` 0.5 (the open-source library inside SageMaker Clarify's processing
container; modules ``smclarify.bias.metrics.{pretraining,posttraining,common}`` and
``smclarify.bias.report``), and the definitions on the AWS pages
``docs.aws.amazon.com/sagemaker/latest/dg/clarify-{pre,post}-training-bias-metric-<name>.html``.
``tests/monitoring/test_bias_clarify.py`` compares every metric with smclarify to 1e-9 on a grid of
small cases and reproduces a real Clarify ``analysis.json`` from the SageMaker SDK's tests.

Groups. Facet d (disadvantaged, the "sensitive group") is the rows whose facet value is in
``facet_values``, or above ``facet_values`` when that is a single number (not a list) and the facet
column is numeric with more than two values; facet a is every other row. Clarify instead guesses
threshold-versus-values from the column (floats, or integers more than 5% distinct, are
thresholds, even for ``[0.5]`` given as a list): mlgov keeps its explicit rule. A threshold ``t``
here is Clarify's interval ``(t, max]``.

Labels. The label is binarised first, as Clarify does for every metric: positive when it is one of
``label_values`` (default: 1 / True / "1" / "yes" ..., see ``quality._positive_label``); the
predicted label the same with ``predicted_label_values`` (default ``label_values``). So KL, JS, LP,
TVD and KS of a 3-class label compare positive-versus-rest distributions, not the three classes.
Values are matched with their type reconciled to the column's (``value_match``): string labels
"0"/"1" with ``label_values=[1]`` work, and a value that matches nothing after conversion is
refused. mlgov binarises by values only; Clarify's label thresholds (a continuous label) are not
supported. Rows missing the label, facet, predicted label or group are left out; results depend on
row positions only, never on the DataFrame's index.

Undefined values, as Clarify reports them:
- ratios use Clarify's ``divide``: 0/0 is 0 and x/0 is +Infinity (DI, DCA, DCR, DAR, DRR, RD, SD,
  TE), and a difference of two +Infinity terms is 0; such infinities are real results (a facet
  with no false positives has an infinite FN/FP ratio), kept as ``inf`` and written as the strings
  "Infinity"/"-Infinity" in JSON (``metrics_to_json``), as Clarify's analysis.json does;
- where Clarify reports an error instead of a value (KL, JS, LP, TVD, KS with no label value common
  to both facets; CDDL/CDDPL with no positive or no negative (predicted) label at all; GE when every
  prediction is a false negative), mlgov returns NaN: not computable.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import Invalid
from .value_match import match_values

PRE_TRAINING = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING = ("DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "CDDPL", "GE", "FT")
IDEAL = {"DI": 1.0}  # every other metric is ideal at 0

INF = math.inf


def divide(a, b) -> float:
    """Clarify's ``common.divide``: 0/0 = 0, x/0 = +-Infinity by the sign of x, else a/b."""
    if b == 0:
        if a == 0:
            return 0.0
        return -INF if a < 0 else INF
    return a / b


def _diff(x: float, y: float) -> float:
    """x - y, where two +Infinity terms cancel to 0 (Clarify's rule for DCA, DCR, DAR, DRR, RD, SD,
    TE, AD)."""
    if x == y == INF:
        return 0.0
    return x - y


# ----------------------------------------------------------------------------- selecting rows
def facet_mask(s: pd.Series, facet_values) -> np.ndarray:
    """Facet d as a positional boolean mask (see the module docstring for the rule)."""
    if facet_values is None:
        raise Invalid("facet_values is required (the sensitive group's values)")
    if (not isinstance(facet_values, (list, tuple, set)) and isinstance(facet_values, (int, float))
            and not isinstance(facet_values, bool) and pd.api.types.is_numeric_dtype(s.dtype)
            and not pd.api.types.is_bool_dtype(s.dtype) and s.nunique() > 2):
        return (s > facet_values).to_numpy(dtype=bool)
    return match_values(s, facet_values, "facet")


def positive_mask(s: pd.Series, label_values, what: str = "label") -> np.ndarray:
    if label_values is None:
        from .quality import _positive_label

        label_values = _positive_label(pd.unique(s.dropna()))
    return match_values(s, label_values, what)


# ----------------------------------------------------------------------------- metric pieces
def _label_distributions(y: np.ndarray, d: np.ndarray):
    """Clarify's ``util.pdfs_aligned_nonzero`` of the binarised label in a and in d: the two
    distributions over {negative, positive}, restricted to the values both facets have (not
    renormalised). Empty when the facets share no label value."""
    na, nd = np.count_nonzero(~d), np.count_nonzero(d)
    qa, qd = np.count_nonzero(y & ~d) / na, np.count_nonzero(y & d) / nd
    pa = np.array([np.count_nonzero(~y & ~d) / na, qa])
    pd_ = np.array([np.count_nonzero(~y & d) / nd, qd])
    common = (pa != 0) & (pd_ != 0)
    return pa[common], pd_[common]


def _divergences(y: np.ndarray, d: np.ndarray) -> dict:
    """KL, JS, LP, TVD, KS of the binarised label between facets a and d.

    Sources: AWS clarify-data-bias-metric-{kl,js,lp,tvd,ks}; smclarify ``pretraining.KL`` etc.
    Deliberately as Clarify, not as textbook: the sums run over the label values present in both
    facets only (``pdfs_aligned_nonzero``), so when one facet lacks a label value KL can be
    negative (Pa = (0.5, 0.5), Pd = (1, 0): KL = 0.5 ln 0.5 = -0.347, where the textbook says
    +Infinity) and TVD counts the shared value only (0.25, textbook 0.5). With no shared value
    Clarify reports an error: NaN here.
    """
    pa, pd_ = _label_distributions(y, d)
    if pa.size == 0:
        return {k: math.nan for k in ("KL", "JS", "LP", "TVD", "KS")}
    p = (pa + pd_) / 2
    diff = pa - pd_
    return {
        "KL": float(np.sum(pa * np.log(pa / pd_))),
        "JS": float(0.5 * (np.sum(pa * np.log(pa / p)) + np.sum(pd_ * np.log(pd_ / p)))),
        "LP": float(np.linalg.norm(diff, 2)),
        "TVD": float(0.5 * np.linalg.norm(diff, 1)),
        "KS": float(np.linalg.norm(diff, np.inf)),
    }


def conditional_demographic_disparity(y: np.ndarray, d: np.ndarray, groups: np.ndarray) -> float:
    """CDDL (labels) or CDDPL (predicted labels): sum_i n_i DD_i / n over the subgroups i, with
    DD_i = n_d(0)_i / n(0)_i - n_d(1)_i / n(1)_i (share of d among the rejected minus among the
    accepted). Sources: AWS clarify-data-bias-metric-cddl; smclarify ``common.CDD``.

    As Clarify, a subgroup with no rejections (or no acceptances) counts with that term 0 rather
    than being left out: a subgroup of one accepted member of d has DD = 0 - 1 = -1. (On the SDK's
    clarify_check_step data, grouped by a continuous column so every subgroup is one row, Clarify
    reports CDDL 0.04.) NaN when there is no positive or no negative label at all (Clarify: error).
    """
    n = y.size
    if n == 0 or not y.any() or y.all():
        return math.nan
    try:
        codes, _ = pd.factorize(groups, sort=True)  # Clarify walks np.unique's sorted order
    except TypeError:  # values that do not sort (mixed types): any order gives the same sum
        codes, _ = pd.factorize(groups)
    k = int(codes.max()) + 1 if codes.size else 0
    count = np.bincount(codes, minlength=k).astype(float)
    acc = np.bincount(codes[y], minlength=k)
    acc_d = np.bincount(codes[y & d], minlength=k)
    rej = np.bincount(codes[~y], minlength=k)
    rej_d = np.bincount(codes[~y & d], minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_share = np.where(acc > 0, acc_d / np.where(acc > 0, acc, 1), 0.0)
        r_share = np.where(rej > 0, rej_d / np.where(rej > 0, rej, 1), 0.0)
    return float(divide(np.sum(count * (r_share - a_share)), np.sum(count)))


def generalized_entropy(y: np.ndarray, yhat: np.ndarray, alpha: float = 2.0) -> float:
    """GE with benefit b = yhat - y + 1 and alpha 2 (Clarify's choice): sum((b/mean b)^2 - 1) / (2n).
    Sources: AWS clarify-post-training-bias-metric-ge; smclarify ``common.GE``. NaN when every
    prediction is a false negative (mean benefit 0; Clarify: error)."""
    b = yhat.astype(float) - y.astype(float) + 1.0
    mu = b.mean() if b.size else 0.0
    if mu == 0:
        return math.nan
    if alpha == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.mean(np.where(b > 0, b / mu * np.log(b / mu), 0.0)))
    return float(np.sum((b / mu) ** alpha - 1) / (b.size * alpha * (alpha - 1)))


def flip_test(X: np.ndarray, yhat: np.ndarray, d: np.ndarray) -> float:
    """FT = (F+ - F-) / n_d, as SageMaker computes it (smclarify ``posttraining.FT``).

    A k-nearest-neighbours classifier (scikit-learn ``KNeighborsClassifier``, Euclidean distance on
    the raw feature values, uniform weights; k = 5, or 1 when facet a has at most 9 rows) is fitted on
    facet a's features and predicted labels and predicts each member of d ("what had it been in a").
    F+ counts members of d the model accepts but their neighbours in a would reject (the model
    favours d), F- members the model rejects but the neighbours would accept.

    Deliberate, documented difference from the AWS page (clarify-post-training-bias-metric-ft): its
    text defines F+ the other way round (d members with an unfavourable outcome whose neighbours in a
    got a favourable one), which flips the sign; SageMaker's real output is smclarify's, and that is
    what mlgov returns. Features are used as given (no standardisation), as Clarify does: scale them
    yourself if their units differ.
    """
    from sklearn.neighbors import KNeighborsClassifier

    a_idx, d_idx = np.flatnonzero(~d), np.flatnonzero(d)
    if a_idx.size == 0 or d_idx.size == 0:
        return math.nan
    k = 5 if a_idx.size > 9 else 1
    knn = KNeighborsClassifier(n_neighbors=k).fit(X[a_idx], yhat[a_idx])
    as_if_a = knn.predict(X[d_idx]).astype(bool)
    own = yhat[d_idx]
    f_plus = np.count_nonzero(own & ~as_if_a)
    f_minus = np.count_nonzero(~own & as_if_a)
    return float(divide(f_plus - f_minus, d_idx.size))


def _features(df: pd.DataFrame, features: list, keep: np.ndarray) -> np.ndarray:
    X = df[list(features)]
    for c in features:
        s = X[c]
        if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
            raise Invalid(f"FT needs numeric features; column {c!r} is {s.dtype} (Clarify refuses it too)")
    X = X.iloc[keep].astype(float).to_numpy()
    if np.isnan(X).any():
        bad = [c for c, col in zip(features, X.T) if np.isnan(col).any()]
        raise Invalid(f"FT needs features without missing values; missing in {', '.join(map(repr, bad))}")
    return X


# ----------------------------------------------------------------------------- the metrics
def bias_metrics(df: pd.DataFrame, label: str, facet: str, facet_values, predicted: str | None = None,
                 group: str | None = None, label_values=None, predicted_label_values=None,
                 features: list[str] | None = None) -> dict:
    """Clarify's pre-training metrics, and post-training ones when ``predicted`` is given.

    CDDL/CDDPL need ``group`` (the subgroup column), FT needs ``features`` (numeric columns). Values are
    floats; +-inf and NaN as described in the module docstring.
    """
    if not isinstance(df, pd.DataFrame):
        raise Invalid("bias_metrics needs a pandas DataFrame")
    features = list(features or [])
    used = [c for c in dict.fromkeys([label, facet, predicted, group, *features]) if c is not None]
    for col in used:
        if col not in df.columns:
            raise Invalid(f"column {col!r} not found")
    dup = sorted({str(c) for c in df.columns[df.columns.duplicated()] if c in used})
    if dup:
        raise Invalid(f"duplicate column name(s) {', '.join(dup)}: rename them first")
    cols = [c for c in dict.fromkeys([label, facet, predicted, group]) if c is not None]
    keep = df[cols].notna().all(axis=1).to_numpy(dtype=bool)
    sub = df[cols].iloc[keep].reset_index(drop=True)
    if sub.empty:
        raise Invalid("no rows with label and facet values")
    d = facet_mask(sub[facet], facet_values)
    a = ~d
    if not d.any():
        hint = (" (for a threshold give one number, not a list)"
                if isinstance(facet_values, (list, tuple)) and len(facet_values) == 1
                and isinstance(facet_values[0], float) else "")
        raise Invalid(f"no rows of facet {facet!r} take the values {facet_values!r}{hint}")
    if not a.any():
        raise Invalid(f"every row of facet {facet!r} is in the sensitive group: nothing to compare")
    if label_values is None:
        from .quality import _positive_label

        label_values = _positive_label(pd.unique(sub[label]))
    y = positive_mask(sub[label], label_values, "label")
    n = y.size
    na, nd = int(a.sum()), int(d.sum())
    out = {
        "CI": (na - nd) / n,
        "DPL": np.count_nonzero(y & a) / na - np.count_nonzero(y & d) / nd,
        **_divergences(y, d),
    }
    groups = sub[group].to_numpy() if group else None
    if group:
        out["CDDL"] = conditional_demographic_disparity(y, d, groups)
    if predicted is None:
        return {k: float(v) for k, v in out.items()}
    if predicted_label_values is None:
        predicted_label_values = label_values
    yh = positive_mask(sub[predicted], predicted_label_values, "predicted label")

    def conf(m):
        return (np.count_nonzero(m & y & yh), np.count_nonzero(m & ~y & yh),
                np.count_nonzero(m & y & ~yh), np.count_nonzero(m & ~y & ~yh))

    tpa, fpa, fna, tna = conf(a)
    tpd, fpd, fnd, tnd = conf(d)
    qpa, qpd = (tpa + fpa) / na, (tpd + fpd) / nd
    out.update({
        # AWS clarify-post-training-bias-metric-dppl; smclarify posttraining.DPPL
        "DPPL": qpa - qpd,
        # q'd / q'a; smclarify posttraining.DI (Clarify's divide: 0/0 = 0, x/0 = inf)
        "DI": divide(qpd, qpa),
        # n(1)/n'(1) observed over predicted acceptances, a minus d; smclarify common.DCO
        "DCA": _diff(divide(tpa + fna, tpa + fpa), divide(tpd + fnd, tpd + fpd)),
        # n(0)/n'(0) observed over predicted rejections, d minus a; smclarify common.DCO
        "DCR": _diff(divide(tnd + fpd, tnd + fnd), divide(tna + fpa, tna + fna)),
        # recall a minus recall d; smclarify common.DLA
        "RD": _diff(divide(tpa, tpa + fna), divide(tpd, tpd + fnd)),
        # specificity d minus specificity a; smclarify common.DLA
        "SD": _diff(divide(tnd, tnd + fpd), divide(tna, tna + fpa)),
        # precision a minus precision d; smclarify common.DLR
        "DAR": _diff(divide(tpa, tpa + fpa), divide(tpd, tpd + fpd)),
        # TN/(TN+FN) d minus a; smclarify common.DLR
        "DRR": _diff(divide(tnd, tnd + fnd), divide(tna, tna + fna)),
        # accuracy a minus accuracy d; smclarify posttraining.AD
        "AD": _diff(divide(tpa + tna, na), divide(tpd + tnd, nd)),
        # FN/FP d minus a; smclarify posttraining.TE
        "TE": _diff(divide(fnd, fpd), divide(fna, fpa)),
        "GE": generalized_entropy(y, yh),
    })
    if group:
        out["CDDPL"] = conditional_demographic_disparity(yh, d, groups)
    if features:
        out["FT"] = flip_test(_features(df, features, keep), yh, d)
    return {k: float(v) for k, v in out.items()}


# ----------------------------------------------------------------------------- drift and JSON
def bias_violations(baseline: dict, current: dict, tolerance: float = 0.0) -> list[dict]:
    """A violation when the current value is farther from the ideal (0; 1 for DI) than the baseline's
    (plus ``tolerance``). Infinite values compare as infinitely far (a DI that became +Infinity is a
    violation; both infinite is not). A metric the baseline had and the current data cannot give
    (NaN: e.g. no label value shared by the facets any more) is a violation too, never skipped;
    a metric the baseline could not give is not compared."""
    out = []
    for key, b in (baseline or {}).items():
        b = _from_json_value(b)
        if b is None or (isinstance(b, float) and math.isnan(b)):
            continue
        ideal = IDEAL.get(key, 0.0)
        if key not in (current or {}):
            continue
        c = _from_json_value(current.get(key))
        if c is None or math.isnan(c):
            out.append({
                "metric_name": key, "constraint_check_type": "bias_drift_check",
                "description": f"Bias metric {key} cannot be computed on the current data (baseline {b:.4g})",
            })
            continue
        if abs(c - ideal) > abs(b - ideal) + tolerance + 1e-12:
            out.append({
                "metric_name": key, "constraint_check_type": "bias_drift_check",
                "description": f"Bias metric {key} is {c:.4g}, farther from {ideal:g} than the baseline's {b:.4g}",
            })
    return out


def _to_json_value(v):
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
    return v


def _from_json_value(v):
    if v is None:
        return math.nan
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("infinity", "inf", "+infinity", "+inf"):
            return INF
        if low in ("-infinity", "-inf"):
            return -INF
        if low == "nan":
            return math.nan
        try:
            return float(v)
        except ValueError:
            return math.nan
    return float(v)


def metrics_to_json(metrics: dict | None) -> dict | None:
    """Bias metrics as strict JSON: +-inf as the strings "Infinity"/"-Infinity" (what Clarify writes
    in analysis.json), NaN (not computable) as null."""
    if metrics is None:
        return None
    return {k: _to_json_value(v) for k, v in metrics.items()}


def metrics_from_json(d: dict | None) -> dict | None:
    """The inverse of ``metrics_to_json`` (also reads Clarify's "Infinity" strings)."""
    if d is None:
        return None
    return {k: _from_json_value(v) for k, v in d.items()}


__all__ = ["IDEAL", "POST_TRAINING", "PRE_TRAINING", "bias_metrics", "bias_violations", "divide",
           "facet_mask", "metrics_from_json", "metrics_to_json", "positive_mask"]
