"""Drift tests computed from the summaries in ``stats`` (no second pass over the data).

Default choice (``method="auto"``), following the practice of Evidently but computed once:

- effective sample size ``n_ref * n_cur / (n_ref + n_cur) <= 1000`` (small samples): p-value
  tests: two-sample Kolmogorov-Smirnov for continuous numeric columns, chi-square test of
  homogeneity for categorical and discrete numeric ones; drifted when p < alpha (0.05),
  after a Benjamini-Hochberg (default) or Bonferroni correction across columns;
- larger samples, where p-values flag everything: Wasserstein distance divided by the
  reference standard deviation (continuous) or Jensen-Shannon distance (categorical,
  discrete), drifted when >= 0.1. PSI (threshold 0.2) is available per column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import Invalid
from .stats import DISPLAY_BINS, CategoricalAcc, NumericAcc

P_VALUE_METHODS = {"ks", "chisquare"}
DISTANCE_METHODS = {"wasserstein", "jensenshannon", "psi", "linf"}
METHODS = P_VALUE_METHODS | DISTANCE_METHODS
DEFAULT_THRESHOLDS = {
    "ks": 0.05, "chisquare": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.2, "linf": 0.1,
}
SMALL_N = 1000
PSI_EPS = 1e-4
COARSE_BINS = 20


@dataclass
class ColumnDrift:
    column: str
    kind: str
    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    missing_reference: int = 0
    missing_current: int = 0
    exact: bool = True
    adjusted_p_value: float | None = None
    chart: dict = field(default_factory=dict)

    @property
    def score(self) -> float:
        return self.p_value if self.p_value is not None else self.statistic

    def to_dict(self) -> dict:
        return {
            "column": self.column, "type": self.kind, "test": self.method,
            "statistic": _f(self.statistic), "p_value": _f(self.p_value),
            "adjusted_p_value": _f(self.adjusted_p_value), "threshold": self.threshold,
            "drifted": bool(self.drifted), "n_reference": self.n_reference,
            "n_current": self.n_current, "missing_reference": self.missing_reference,
            "missing_current": self.missing_current, "exact": self.exact, "chart": self.chart,
        }


def _f(v):
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


# ----------------------------------------------------------------- statistics on vectors


def ks_exact(a: np.ndarray, b: np.ndarray) -> float:
    """sup |F_a - F_b| over the pooled sample; a and b sorted."""
    pooled = np.concatenate([a, b])
    fa = np.searchsorted(a, pooled, side="right") / a.size
    fb = np.searchsorted(b, pooled, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def ks_p_value(d: float, n1: int, n2: int) -> float:
    """Two-sided asymptotic p-value as scipy's ks_2samp(method='asymp') computes it."""
    from scipy.stats import distributions

    en = n1 * n2 / (n1 + n2)
    return float(np.clip(distributions.kstwo.sf(d, np.round(en)), 0.0, 1.0))


def wasserstein_exact(a: np.ndarray, b: np.ndarray) -> float:
    """W1 = integral |F_a - F_b| dx between two empirical distributions (a, b sorted)."""
    pooled = np.sort(np.concatenate([a, b]))
    widths = np.diff(pooled)
    fa = np.searchsorted(a, pooled[:-1], side="right") / a.size
    fb = np.searchsorted(b, pooled[:-1], side="right") / b.size
    return float(np.sum(np.abs(fa - fb) * widths))


def _abs_linear_integral(a0, a1, w):
    """Integral over a segment of width w of |a(x)| with a linear from a0 to a1 (vectorised)."""
    same = (a0 * a1) >= 0
    s = np.abs(a0) + np.abs(a1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cross = np.where(s > 0, (a0 * a0 + a1 * a1) / (2 * s), 0.0)
    return np.sum(np.where(same, s / 2, cross) * w)


def wasserstein_binned(edges, rc, cc, c_min, c_max, r_min, r_max, below_gap=None, above_gap=None) -> float:
    """W1 = integral |F_r - F_c| dx from exact counts over fixed edges (``counts[j]`` = values in
    ``(edges[j-1], edges[j]]``), each CDF linear within a bin. Outside the edges, where the reference
    has no values, the integral is exact from ``below_gap`` (sum of ``edges[0] - x`` over the current
    values ``x <= edges[0]``) and ``above_gap`` (sum of ``x - edges[-1]`` over those above); without
    them, or when the reference has values there (an imported baseline), the CDFs are linear between
    the extreme values and the outer edges. The same on a column and its mirror image."""
    n_r, n_c = rc.sum(), cc.sum()
    fr = np.cumsum(rc)[:-1] / n_r  # F at each edge
    fc = np.cumsum(cc)[:-1] / n_c
    a = fr - fc
    total = float(_abs_linear_integral(a[:-1], a[1:], np.diff(edges))) if edges.size > 1 else 0.0
    lo = min(c_min, r_min, edges[0])
    hi = max(c_max, r_max, edges[-1])
    if rc[0] == 0 and below_gap is not None:
        total += below_gap / n_c
    else:
        total += float(_abs_linear_integral(np.array([0.0]), a[:1], np.array([edges[0] - lo])))
    if rc[-1] == 0 and above_gap is not None:
        total += above_gap / n_c
    else:
        total += float(_abs_linear_integral(a[-1:], np.array([0.0]), np.array([hi - edges[-1]])))
    return total


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log), as scipy.spatial.distance.jensenshannon."""
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kp = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kq = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(math.sqrt(max((kp + kq) / 2, 0.0)))


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index, empty bins replaced by 1e-4."""
    r = ref_counts / ref_counts.sum()
    c = cur_counts / cur_counts.sum()
    r = np.where(r == 0, PSI_EPS, r)
    c = np.where(c == 0, PSI_EPS, c)
    return float(np.sum((c - r) * np.log(c / r)))


def chi2_homogeneity(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Pearson chi-square test of homogeneity on the 2 x k table (no continuity correction)."""
    from scipy.stats import chi2

    keep = (ref_counts + cur_counts) > 0
    r = ref_counts[keep].astype("float64")
    c = cur_counts[keep].astype("float64")
    k = r.size
    if k < 2:
        return 0.0, 1.0
    n_r, n_c = r.sum(), c.sum()
    tot = r + c
    n = n_r + n_c
    er = tot * n_r / n
    ec = tot * n_c / n
    stat = float(np.sum((r - er) ** 2 / er) + np.sum((c - ec) ** 2 / ec))
    return stat, float(chi2.sf(stat, k - 1))


def coarse(counts: np.ndarray, ref_counts: np.ndarray, n_bins: int = COARSE_BINS) -> np.ndarray:
    """Merge fine bins into about n_bins groups of equal reference mass (the same groups for both)."""
    groups = coarse_groups(ref_counts, n_bins)
    return np.add.reduceat(counts, groups)


def coarse_groups(ref_counts: np.ndarray, n_bins: int = COARSE_BINS) -> np.ndarray:
    """Start of each group of consecutive fine bins holding about 1/n_bins of the reference each.

    The cuts for the lower half are found from the bottom and those of the upper half from the top
    (the middle one both ways), so the groups of a mirrored column are the mirrored groups."""
    m = ref_counts.size
    cum = np.cumsum(ref_counts)
    total = cum[-1] if cum.size else 0
    if m <= n_bins + 1 or total == 0:
        return np.arange(m)
    j = np.arange(1, n_bins)
    targets = total * j / n_bins
    # from the bottom: a group ends at the first bin where the cumulative mass reaches the target
    left = np.searchsorted(cum, targets[2 * j <= n_bins], side="left") + 1
    # from the top: the same on the reversed counts, mapped back
    rcum = np.cumsum(ref_counts[::-1])
    right = m - (np.searchsorted(rcum, targets[: int(np.count_nonzero(2 * j >= n_bins))], side="left") + 1)
    starts = np.unique(np.concatenate([[0], left, right]))
    return starts[(starts >= 0) & (starts < m)]


# ----------------------------------------------------------------- per column


def choose_method(acc, n_ref: int, n_cur: int) -> str:
    small = n_ref and n_cur and n_ref * n_cur / (n_ref + n_cur) <= SMALL_N
    if isinstance(acc, CategoricalAcc) or acc.ref.discrete:
        return "chisquare" if small else "jensenshannon"
    return "ks" if small else "wasserstein"


def column_drift(acc, method: str = "auto", threshold: float | None = None) -> ColumnDrift:
    ref = acc.ref
    n_ref, n_cur = ref.n, acc.n
    if method in (None, "auto"):
        method = choose_method(acc, n_ref, n_cur)
    if method not in METHODS:
        raise Invalid(f"column {ref.name!r}: unknown drift test {method!r} (use one of {', '.join(sorted(METHODS))})")
    if threshold is None:
        threshold = DEFAULT_THRESHOLDS[method]
    is_cat = isinstance(acc, CategoricalAcc)
    if is_cat and method in ("ks", "wasserstein"):
        raise Invalid(f"column {ref.name!r}: {method} needs a numeric column")
    p_value = None
    exact = True
    if n_ref == 0 or n_cur == 0:
        stat, p_value = math.nan, (1.0 if method in P_VALUE_METHODS else None)
        drifted = False
        return ColumnDrift(ref.name, ref.kind, method, stat, p_value, threshold, drifted, n_ref, n_cur,
                           ref.n_missing, acc.n_missing, True, chart=_chart(acc))
    if is_cat:
        rv, cv = acc.vector()
    else:
        rv, cv = ref.counts, acc.final_counts()
    if method == "ks":
        raw = acc.raw_values()
        if raw is not None and ref.raw is not None:
            stat = ks_exact(ref.raw, raw)
        else:
            exact = False
            fr = np.cumsum(rv) / n_ref
            fc = np.cumsum(cv) / n_cur
            stat = float(np.max(np.abs(fr - fc)))
        p_value = ks_p_value(stat, n_ref, n_cur)
    elif method == "wasserstein":
        raw = acc.raw_values()
        if raw is not None and ref.raw is not None:
            w = wasserstein_exact(ref.raw, raw)
        else:
            exact = False
            w = wasserstein_binned(ref.edges, rv, cv, acc.min, acc.max, ref.min, ref.max,
                                   acc.below_gap, acc.above_gap)
        stat = w / max(ref.std, 0.001)
    elif method == "chisquare":
        stat, p_value = chi2_homogeneity(rv, cv)
    else:
        if not is_cat and not ref.discrete:
            rv, cv = coarse(rv, rv), coarse(cv, rv)
        if method == "jensenshannon":
            stat = js_distance(rv.astype(float), cv.astype(float))
        elif method == "psi":
            stat = psi(rv.astype(float), cv.astype(float))
        else:  # linf: SageMaker's LInfinity for categorical distributions
            stat = float(np.max(np.abs(rv / rv.sum() - cv / cv.sum())))
    if p_value is not None:
        drifted = p_value < threshold
    else:
        drifted = stat >= threshold
    return ColumnDrift(ref.name, ref.kind, method, float(stat), p_value, float(threshold), bool(drifted),
                       n_ref, n_cur, ref.n_missing, acc.n_missing, exact, chart=_chart(acc))


# The default multiple-testing correction of a check's p-value tests: Benjamini-Hochberg, which
# keeps the expected share of false discoveries among flagged columns at the test's level (Benjamini
# & Hochberg 1995, "Controlling the false discovery rate", JRSS B 57(1):289-300). Without one, a
# 30-column check of unshifted data flags a column at p < 0.05 with probability 1 - 0.95**30 = 79%.
# Less strict than Bonferroni (which controls the chance of any false flag) so that a real shift in
# a few columns is still found. "none" turns it off.
DEFAULT_CORRECTION = "bh"
CORRECTIONS = ("bh", "bonferroni", "none")


def resolve_correction(correction: str | None) -> str:
    """``correction`` as applied: None is :data:`DEFAULT_CORRECTION`; Invalid if unknown."""
    if correction is None:
        return DEFAULT_CORRECTION
    if correction in ("fdr_bh", "benjamini-hochberg"):
        return "bh"
    if correction not in CORRECTIONS:
        raise Invalid(f"unknown correction {correction!r} (use bh, bonferroni or none)")
    return correction


def adjust(results: list[ColumnDrift], correction: str | None) -> None:
    """Multiple-testing correction over the p-value tests (in place): ``bh`` (the default, also for
    None), ``bonferroni`` or ``none``."""
    correction = resolve_correction(correction)
    if correction == "none":
        return
    tested = [r for r in results if r.p_value is not None and not math.isnan(r.p_value)]
    m = len(tested)
    if m == 0:
        return
    p = np.array([r.p_value for r in tested])
    if correction == "bonferroni":
        adj = np.minimum(p * m, 1.0)
    elif correction == "bh":
        order = np.argsort(p)
        ranked = p[order] * m / np.arange(1, m + 1)
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        adj = np.empty(m)
        adj[order] = np.minimum(ranked, 1.0)
    for r, a in zip(tested, adj):
        r.adjusted_p_value = float(a)
        r.drifted = bool(a < r.threshold)


# ----------------------------------------------------------------- chart data (tiny)


def _chart(acc) -> dict:
    """Reference vs current shares for the panel: at most ~20 bars, computed from the counts."""
    ref = acc.ref
    if isinstance(acc, CategoricalAcc):
        rv, cv = acc.vector()
        k = len(ref.values)
        rv = np.append(rv[:k], rv[k:].sum())  # hash buckets of rare values shown as one "(other)"
        cv = np.append(cv[:k], cv[k:].sum())
        labels = [str(v) for v in ref.values] + ["(other)"]
        top = list(range(min(len(ref.values), DISPLAY_TOP))) + [len(ref.values)]
        # fold the kept values beyond DISPLAY_TOP into "(other)" for display
        r = [int(rv[i]) for i in top]
        c = [int(cv[i]) for i in top]
        r[-1] = int(rv.sum() - sum(r[:-1]))
        c[-1] = int(cv.sum() - sum(c[:-1]))
        lab = [labels[i] for i in top]
        if r[-1] == 0 and c[-1] == 0:
            r, c, lab = r[:-1], c[:-1], lab[:-1]
        return {"type": "categorical", "labels": lab, "reference": _share(r), "current": _share(c)}
    counts = acc.final_counts()
    if ref.discrete and ref.levels is not None:
        bins = ref.level_bins()
        labels = [_fmt(v) for v in ref.levels] + ["(other)"]
        r = ref.counts[bins].tolist() + [int(ref.counts.sum() - ref.counts[bins].sum())]
        c = counts[bins].tolist() + [int(counts.sum() - counts[bins].sum())]
        if r[-1] == 0 and c[-1] == 0:
            r, c, labels = r[:-1], c[:-1], labels[:-1]
        return {"type": "categorical", "labels": labels, "reference": _share(r), "current": _share(c)}
    # equal-width display bins over the reference range, fine bins assigned by midpoint
    edges = ref.edges
    if edges.size < 2:
        return {}
    lo, hi = float(edges[0]), float(edges[-1])
    nb = DISPLAY_BINS
    width = (hi - lo) / nb or 1.0
    mids = np.concatenate([[lo], (edges[:-1] + edges[1:]) / 2, [hi]])
    slot = np.clip(((mids - lo) / width).astype(int), 0, nb - 1)
    r = np.bincount(slot, weights=ref.counts, minlength=nb)
    c = np.bincount(slot, weights=counts, minlength=nb)
    return {
        "type": "numeric", "edges": [lo + i * width for i in range(nb + 1)],
        "reference": _share(r.tolist()), "current": _share(c.tolist()),
        "reference_mean": ref.mean, "current_mean": acc.mean if acc.n else None,
    }


DISPLAY_TOP = 15


def _share(xs):
    tot = float(sum(xs))
    return [float(x) / tot if tot else 0.0 for x in xs]


def _fmt(v):
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.4g}"
