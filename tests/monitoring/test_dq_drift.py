"""Drift statistics treat a shift and its mirror image alike, the discrete-versus-continuous choice
does not hinge on float equality, and every statistic equals an independent implementation (SciPy,
or the formula written out with NumPy)."""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.monitoring.drift import coarse_groups
from mlgov_jupyter.core.monitoring.stats import EXACT_LIMIT, NumericRef, fit_numeric

CONTINUOUS = ["ks", "wasserstein", "jensenshannon", "psi", "linf"]


def stat(ref, cur, method, col="a"):
    b = mon.fit_baseline(pd.DataFrame({col: ref}))
    return mon.check(b, pd.DataFrame({col: cur}), method=method)[col]


@pytest.mark.parametrize("n_ref,n_cur", [(3000, 2500), (60_000, 40_000)])
@pytest.mark.parametrize("method", CONTINUOUS)
def test_a_shift_and_its_mirror_image_give_the_same_statistic(rng, method, n_ref, n_cur):
    x = rng.lognormal(0, 0.6, n_ref)  # skewed: the mirror image is a different column
    c = rng.lognormal(0, 0.6, n_cur)
    for d in (0.05, 0.4, 3.0):
        up = stat(x, c + d, method)
        mirrored = stat(-x, -c - d, method)
        assert up.exact == mirrored.exact == (n_ref <= EXACT_LIMIT or method not in ("ks", "wasserstein"))
        assert mirrored.statistic == pytest.approx(up.statistic, rel=1e-9, abs=1e-15), (method, d)
    # a symmetric reference: +d and -d are mirror images of each other
    xs = np.concatenate([x, -x])
    cs = np.concatenate([c, -c])
    for d in (0.05, 0.4):
        assert stat(xs, cs + d, method).statistic == pytest.approx(stat(xs, cs - d, method).statistic,
                                                                   rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("method", ["chisquare", "jensenshannon", "psi", "linf", "wasserstein", "ks"])
def test_integers_shifted_both_ways(rng, method):
    x = rng.poisson(12, 50_000)
    c = rng.poisson(12, 30_000)
    for d in (1, 5, 40):  # 40: entirely outside the reference's range
        up, down = stat(x, c + d, method), stat(-x, -c - d, method)
        assert down.statistic == pytest.approx(up.statistic, rel=1e-9), (method, d)
        if method == "wasserstein":  # exact, also outside the reference's range
            assert up.statistic == pytest.approx(wasserstein_distance(x, c + d) / x.std(ddof=1), rel=1e-7)


def test_binned_statistics_against_scipy(rng):
    x = rng.normal(size=80_000)
    c = rng.normal(size=60_000) * 1.1 + 0.2
    w = stat(x, c, "wasserstein")
    assert not w.exact
    # CDFs linear within ~1000 quantile bins: within 1% (0.55% here, as before the mirror-symmetric bins)
    assert w.statistic == pytest.approx(wasserstein_distance(x, c) / x.std(ddof=1), rel=1e-2)
    k = stat(x, c, "ks")
    assert k.statistic == pytest.approx(ks_2samp(x, c).statistic, abs=1.5e-3)  # exact at every edge
    # far outside the reference: the tails are exact
    far = rng.normal(size=60_000) + 25
    assert stat(x, far, "wasserstein").statistic == pytest.approx(
        wasserstein_distance(x, far) / x.std(ddof=1), rel=1e-4)
    assert stat(x, -far, "wasserstein").statistic == pytest.approx(stat(-x, far, "wasserstein").statistic, rel=1e-12)


def test_exact_statistics_against_scipy(rng):
    x, c = rng.normal(size=900), rng.normal(size=700) + 0.3
    k = stat(x, c, "ks")
    expected = ks_2samp(x, c, method="asymp")
    assert k.exact and k.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert k.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    w = stat(x, c, "wasserstein")
    assert w.exact and w.statistic == pytest.approx(wasserstein_distance(x, c) / x.std(ddof=1), rel=1e-9)


def test_coarse_groups_are_mirror_symmetric(rng):
    counts = rng.integers(0, 50, 997)
    for bins in (20, 7):
        g = coarse_groups(counts, bins)
        gr = coarse_groups(counts[::-1], bins)
        # group boundaries of the reversed counts are the mirrored boundaries
        assert sorted(counts.size - gr[1:]) == sorted(g[1:].tolist())
        sums = np.add.reduceat(counts, g)
        assert abs(len(sums) - bins) <= 1 and sums.sum() == counts.sum()


def test_discrete_choice_and_counts_ignore_float_noise(rng):
    levels = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    noisy = np.array([k * 0.1 for k in range(5)])  # 0.30000000000000004
    assert not np.array_equal(noisy, levels)
    pick = rng.integers(0, 5, 20_000)
    ref = pd.DataFrame({"p": noisy[pick]})
    # noise in the reference itself: 0.1 + 0.2 and 0.3 are one level, not two
    ref.loc[:999, "p"] = np.where(ref["p"].iloc[:1000] == noisy[3], 0.1 + 0.2 * (1 + 1e-15), ref["p"].iloc[:1000])
    b = mon.fit_baseline(ref)
    col = b.columns["p"]
    assert col.discrete and col.n_distinct == 5 and col.levels == pytest.approx(levels.tolist())
    r = mon.check(b, pd.DataFrame({"p": levels[pick]}))  # the same values, written exactly
    assert r["p"].method in ("chisquare", "jensenshannon") and r["p"].statistic == pytest.approx(0.0, abs=1e-12)
    assert r["p"].chart["labels"] == ["0", "0.1", "0.2", "0.3", "0.4"]
    # a value the reference never took is a new category (in the gap between two levels)
    cur = levels[rng.integers(0, 5, 800)]
    cur[:40] = 0.25
    r = mon.check(mon.fit_baseline(pd.DataFrame({"p": noisy[pick[:900]]})), pd.DataFrame({"p": cur}))
    assert r["p"].method == "chisquare"
    ref_counts = np.bincount(pick[:900], minlength=5)
    cur_counts = [np.sum(np.isclose(cur, v)) for v in levels]
    table = np.array([list(ref_counts) + [0], cur_counts + [40]])
    expected, p, _, _ = chi2_contingency(table, correction=False)
    assert r["p"].statistic == pytest.approx(expected, rel=1e-9) and r["p"].p_value == pytest.approx(p, rel=1e-9)
    assert r["p"].chart["labels"][-1] == "(other)"
    # six levels are not discrete, whatever the noise
    six = np.array([k * 0.1 for k in range(6)])[rng.integers(0, 6, 5000)]
    assert not fit_numeric("s", pd.Series(six)).discrete


def test_discrete_statistics_against_scipy(rng):
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    x = rng.choice([1.0, 2.0, 3.0], 40_000, p=p)
    c = rng.choice([1.0, 2.0, 3.0], 30_000, p=q)
    rc = np.array([np.sum(x == v) for v in (1, 2, 3)], float)
    cc = np.array([np.sum(c == v) for v in (1, 2, 3)], float)
    assert stat(x, c, "jensenshannon").statistic == pytest.approx(jensenshannon(rc, cc), rel=1e-9)
    a, b = rc / rc.sum(), cc / cc.sum()
    assert stat(x, c, "psi").statistic == pytest.approx(np.sum((b - a) * np.log(b / a)), rel=1e-9)
    assert stat(x, c, "linf").statistic == pytest.approx(np.abs(a - b).max(), rel=1e-9)
    small = stat(x[:500], c[:400], "chisquare")
    table = [[np.sum(x[:500] == v) for v in (1, 2, 3)], [np.sum(c[:400] == v) for v in (1, 2, 3)]]
    expected, pv, _, _ = chi2_contingency(table, correction=False)
    assert small.statistic == pytest.approx(expected, rel=1e-9) and small.p_value == pytest.approx(pv, rel=1e-9)


def test_baselines_saved_before_levels_still_load(rng):
    """A discrete column saved with one edge per value (the layout before levels) checks the same."""
    x = pd.DataFrame({"k": rng.integers(0, 4, 5000).astype(float)})
    cur = pd.DataFrame({"k": rng.integers(0, 4, 4000).astype(float)})
    b = mon.fit_baseline(x)
    new = b.columns["k"]
    old = new.to_json()
    vals = np.array(old.pop("levels"))
    old.pop("n_invalid")
    old["edges"] = vals.tolist()
    old["counts"] = [int(np.sum(x["k"] == v)) for v in vals] + [0]
    b.columns["k"] = NumericRef.from_json(old)
    assert b.columns["k"].levels == new.levels and np.array_equal(b.columns["k"].counts, new.counts)
    assert mon.check(b, cur)["k"].statistic == mon.check(mon.fit_baseline(x), cur)["k"].statistic
