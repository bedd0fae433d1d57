"""Drift statistics against independent implementations (scipy), test choice, corrections."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, false_discovery_control, ks_2samp, wasserstein_distance

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Invalid

from .conftest import mixed_frame


def test_small_samples_use_exact_ks_and_chisquare(rng):
    ref = mixed_frame(rng, 600)
    cur = mixed_frame(rng, 500, shift=0.4, cat_shift=True)
    report = mon.check(mon.fit_baseline(ref), cur)
    a = report["a"]
    assert a.method == "ks" and a.exact
    expected = ks_2samp(ref["a"], cur["a"], method="asymp")
    assert a.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert a.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert a.drifted == (expected.pvalue < 0.05) and a.drifted
    c = report["c"]
    assert c.method == "chisquare"
    table = np.array([ref["c"].value_counts().reindex(list("wxyz")).to_numpy(),
                      cur["c"].value_counts().reindex(list("wxyz")).to_numpy()])
    stat, p, dof, _ = chi2_contingency(table, correction=False)
    assert c.statistic == pytest.approx(stat, rel=1e-9)
    assert c.p_value == pytest.approx(p, rel=1e-9)
    assert c.drifted
    s = report["s"]
    labels = ["red", "green", "blue"]
    table = np.array([ref["s"].value_counts().reindex(labels).to_numpy(), cur["s"].value_counts().reindex(labels).to_numpy()])
    stat, p, _, _ = chi2_contingency(table, correction=False)
    assert s.statistic == pytest.approx(stat, rel=1e-9) and s.p_value == pytest.approx(p, rel=1e-9)


def test_wasserstein_exact_on_small_and_binned_on_large(rng):
    ref = mixed_frame(rng, 3000)
    cur = mixed_frame(rng, 2500, shift=0.25)
    r = mon.check(mon.fit_baseline(ref), cur, method="wasserstein")
    for col in ("a", "b", "i"):
        expected = wasserstein_distance(ref[col], cur[col]) / ref[col].std()
        assert r[col].exact
        assert r[col].statistic == pytest.approx(expected, rel=1e-9), col
    big_ref = mixed_frame(rng, 120_000)
    big_cur = mixed_frame(rng, 100_000, shift=0.3)
    r = mon.check(mon.fit_baseline(big_ref), big_cur)
    for col in ("a", "b"):
        assert r[col].method == "wasserstein" and not r[col].exact
        expected = wasserstein_distance(big_ref[col], big_cur[col]) / big_ref[col].std()
        assert r[col].statistic == pytest.approx(expected, rel=0.02, abs=2e-3), col
    # integers: every distinct reference value is an edge, so the binned distance is exact up to
    # current values that the reference never took
    expected = wasserstein_distance(big_ref["i"], big_cur["i"]) / big_ref["i"].std()
    assert r["i"].statistic == pytest.approx(expected, rel=1e-3, abs=1e-9)
    assert r["a"].drifted and not r["b"].drifted and not r["i"].drifted
    # binned KS: exact at every reference edge, so within one fine bin of scipy's
    r2 = mon.check(mon.fit_baseline(big_ref), big_cur, methods={"a": "ks"})
    assert r2["a"].statistic == pytest.approx(ks_2samp(big_ref["a"], big_cur["a"]).statistic, abs=2e-3)


def test_jensenshannon_and_psi_on_categories(rng):
    ref = mixed_frame(rng, 50_000)
    cur = mixed_frame(rng, 40_000, cat_shift=True)
    r = mon.check(mon.fit_baseline(ref), cur, methods={"s": "psi"})
    c = r["c"]
    assert c.method == "jensenshannon"
    pr = ref["c"].value_counts().reindex(list("wxyz")).to_numpy(float)
    pc = cur["c"].value_counts().reindex(list("wxyz")).to_numpy(float)
    assert c.statistic == pytest.approx(jensenshannon(pr, pc), rel=1e-9)
    assert c.drifted
    s = r["s"]
    labels = ["red", "green", "blue"]
    a = ref["s"].value_counts(normalize=True).reindex(labels).to_numpy()
    b = cur["s"].value_counts(normalize=True).reindex(labels).to_numpy()
    assert s.method == "psi"
    assert s.statistic == pytest.approx(np.sum((b - a) * np.log(b / a)), rel=1e-9)
    assert not s.drifted


def test_numeric_jensenshannon_uses_reference_quantile_bins(rng):
    ref = pd.DataFrame({"a": rng.normal(size=20_000)})
    cur = pd.DataFrame({"a": rng.normal(size=15_000) + 0.5})
    b = mon.fit_baseline(ref)
    r = mon.check(b, cur, method="jensenshannon")
    # independent: 20 equal-frequency bins of the reference, counted with numpy.histogram
    edges = np.quantile(ref["a"], np.linspace(0, 1, 21))
    edges[0], edges[-1] = -np.inf, np.inf
    hr, _ = np.histogram(ref["a"], edges)
    hc, _ = np.histogram(cur["a"], edges)
    assert r["a"].statistic == pytest.approx(jensenshannon(hr, hc), rel=0.05)
    assert r["a"].drifted


def test_auto_choice_by_size_and_type(rng):
    small = mon.check(mon.fit_baseline(mixed_frame(rng, 800)), mixed_frame(rng, 800))
    assert [small[c].method for c in "abics"] == ["ks", "ks", "ks", "chisquare", "chisquare"]
    large = mon.check(mon.fit_baseline(mixed_frame(rng, 20_000)), mixed_frame(rng, 20_000))
    assert [large[c].method for c in "abics"] == ["wasserstein"] * 3 + ["jensenshannon"] * 2
    assert not large.dataset_drift and large.drifted_columns == []
    # a numeric column with <= 5 distinct values is discrete: categorical tests
    df = pd.DataFrame({"k": rng.integers(0, 3, 5000)})
    assert mon.check(mon.fit_baseline(df), df)["k"].method == "jensenshannon"


def test_large_n_no_false_alarms_where_pvalues_would(rng):
    # a tiny real shift (0.02 sd) is "significant" at 400k rows but not practically relevant
    ref = pd.DataFrame({"a": rng.normal(size=400_000)})
    cur = pd.DataFrame({"a": rng.normal(size=400_000) + 0.02})
    assert ks_2samp(ref["a"], cur["a"]).pvalue < 0.05
    r = mon.check(mon.fit_baseline(ref), cur)
    assert r["a"].method == "wasserstein" and not r["a"].drifted


def test_multiple_testing_corrections(rng):
    cols = {f"x{i}": rng.normal(size=300) for i in range(12)}
    ref = pd.DataFrame(cols)
    cur = pd.DataFrame({k: rng.normal(size=300) + (0.25 if i < 3 else 0.0) for i, k in enumerate(cols)})
    b = mon.fit_baseline(ref)
    raw = mon.check(b, cur)
    p = np.array([raw[c].p_value for c in cols])
    bh = mon.check(b, cur, correction="bh")
    adj = np.array([bh[c].adjusted_p_value for c in cols])
    np.testing.assert_allclose(adj, false_discovery_control(p, method="bh"), rtol=1e-12)
    assert [bh[c].drifted for c in cols] == list(adj < 0.05)
    bo = mon.check(b, cur, correction="bonferroni")
    np.testing.assert_allclose([bo[c].adjusted_p_value for c in cols], np.minimum(p * 12, 1), rtol=1e-12)
    assert sum(bo[c].drifted for c in cols) <= sum(raw[c].drifted for c in cols)
    with pytest.raises(Invalid):
        mon.check(b, cur, correction="holm-ish")


def test_overrides_thresholds_and_dataset_drift_share(rng):
    ref = mixed_frame(rng, 5000)
    cur = mixed_frame(rng, 5000, shift=0.3, cat_shift=True)
    b = mon.fit_baseline(ref)
    r = mon.check(b, cur)
    assert set(r.drifted_columns) == {"a", "c"}
    assert r.drift_share == pytest.approx(2 / 5) and not r.dataset_drift
    assert mon.check(b, cur, drift_share=0.4).dataset_drift
    r2 = mon.check(b, cur, thresholds={"a": 0.5}, methods={"c": "linf"})
    assert not r2["a"].drifted and r2["a"].threshold == 0.5
    pr = ref["c"].value_counts(normalize=True).reindex(list("wxyz")).to_numpy()
    pc = cur["c"].value_counts(normalize=True).reindex(list("wxyz")).to_numpy()
    assert r2["c"].method == "linf" and r2["c"].statistic == pytest.approx(np.abs(pr - pc).max())
    with pytest.raises(Invalid, match="unknown drift test"):
        mon.check(b, cur, methods={"a": "magic"})
    with pytest.raises(Invalid, match="needs a numeric column"):
        mon.check(b, cur, methods={"c": "ks"})
    with pytest.raises(Invalid, match="not in the baseline"):
        mon.check(b, cur, thresholds={"nope": 0.1})


def test_explicit_column_types(rng):
    df = pd.DataFrame({"zip": rng.integers(10000, 10040, 3000), "t": pd.date_range("2024-01-01", periods=3000, freq="h"),
                       "id": np.arange(3000)})
    b = mon.fit_baseline(df, column_types={"zip": "categorical", "id": "ignore"})
    assert b.columns["zip"].kind == "categorical" and "id" not in b.columns
    assert b.columns["t"].kind == "datetime"
    cur = df.copy()
    cur["t"] = cur["t"] + pd.Timedelta(days=200)
    r = mon.check(b, cur)
    assert r["zip"].method in ("chisquare", "jensenshannon") and not r["zip"].drifted
    assert r["t"].drifted
    with pytest.raises(Invalid, match="unknown column type"):
        mon.fit_baseline(df, column_types={"zip": "text-ish"})
    with pytest.raises(Invalid, match="not found"):
        mon.fit_baseline(df, column_types={"nope": "numeric"})


def test_high_cardinality_top_k_and_other(rng):
    levels = np.array([f"u{i:05d}" for i in range(5000)])
    ref = pd.DataFrame({"user": levels[rng.integers(0, 5000, 200_000)]})
    cur = pd.DataFrame({"user": levels[rng.integers(0, 5000, 200_000)]})
    b = mon.fit_baseline(ref)
    col = b.columns["user"]
    assert len(col.values) == 50 and col.distinct == 5000 and col.domain is None
    assert col.other == 200_000 - col.counts.sum()
    r = mon.check(b, cur)
    assert not r["user"].drifted and r["user"].statistic < 0.02
    assert len(r["user"].chart["labels"]) <= 16
    # most traffic moves to a few users: drift
    hot = pd.DataFrame({"user": np.where(rng.random(200_000) < 0.3, "u00001", cur["user"])})
    assert mon.check(b, hot)["user"].drifted


def test_report_to_dict_is_json_and_html_is_light(rng):
    r = mon.check(mon.fit_baseline(mixed_frame(rng, 3000)), mixed_frame(rng, 3000, shift=1.0))
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["drifted_columns"] == ["a"]
    assert d["columns"][0]["test"] == "wasserstein" and d["columns"][0]["p_value"] is None
    assert {"column", "test", "statistic", "p_value", "threshold", "drifted"} <= set(d["columns"][0])
    html = r._repr_html_()
    assert "<svg" in html and "<script" not in html and len(html) < 60_000
    assert "Dataset drift" in html and "baseline_drift_check" in html
    frame = r.to_frame()
    assert list(frame["column"]) == list("abics")


def test_bad_inputs_raise_invalid(rng):
    df = mixed_frame(rng, 100)
    with pytest.raises(Invalid):
        mon.fit_baseline([1, 2, 3])
    with pytest.raises(Invalid):
        mon.fit_baseline(df.iloc[:0])
    with pytest.raises(Invalid, match="not found"):
        mon.fit_baseline(df, target="nope")
    b = mon.fit_baseline(df)
    with pytest.raises(Invalid):
        mon.check("not a baseline object", df)
    with pytest.raises(Invalid):
        mon.check(b, 42)
    with pytest.raises(Invalid, match="no such file"):
        mon.check(b, "/nonexistent/file.parquet")


def test_categorical_with_more_than_127_levels(rng):
    levels = [f"v{i}" for i in range(200)]  # int16 codes, and int8 codes at the 127/128 boundary
    for k in (128, 200):
        ref = pd.DataFrame({"c": pd.Categorical(rng.choice(levels[:k], 5000), categories=levels[:k])})
        r = mon.check(mon.fit_baseline(ref), ref)
        assert r["c"].statistic == 0.0 and not r["c"].drifted
        assert mon.fit_baseline(ref).columns["c"].distinct == ref["c"].nunique()
