"""SageMaker's data quality checks, streaming and merging, baselines saved and exchanged."""

import json

import numpy as np
import pandas as pd
import pytest

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.monitoring.stats import CategoricalAcc, NumericAcc, new_acc

from .conftest import mixed_frame


def kinds(report, monitor="data_quality"):
    return {(v["feature_name"], v["constraint_check_type"]) for v in report.violations if v["monitor_type"] == monitor}


def test_six_data_quality_checks(rng):
    ref = mixed_frame(rng, 4000)
    b = mon.fit_baseline(ref)
    assert b.columns["i"].inferred_type == "Integral" and b.columns["a"].inferred_type == "Fractional"
    assert kinds(mon.check(b, mixed_frame(rng, 4000))) == set()
    cur = mixed_frame(rng, 4000, shift=2.0).drop(columns=["b"]).assign(extra=1)
    cur["i"] = cur["i"] + 0.01  # no longer integral (and hardly moved)
    cur.loc[:199, "s"] = None  # completeness 95% < 100%
    cur.loc[:999, "c"] = None
    cur["c"] = cur["c"].cat.add_categories(["new"])
    cur.loc[1000:2999, "c"] = "new"  # 2/3 of the present values outside the domain
    got = kinds(mon.check(b, cur))
    assert got == {("b", "missing_column_check"), ("extra", "extra_column_check"), ("i", "data_type_check"),
                   ("s", "completeness_check"), ("c", "completeness_check"), ("c", "categorical_values_check"),
                   ("a", "baseline_drift_check"), ("c", "baseline_drift_check")}
    # strings in a numeric column
    bad = mixed_frame(rng, 4000)
    bad["a"] = bad["a"].astype(object)
    bad.loc[:99, "a"] = "n/a"
    r = mon.check(b, bad)
    assert ("a", "data_type_check") in kinds(r)
    assert r["a"].n_current == 3900
    # thresholds are configurable: require only 10% of the values in the domain (1/3 are)
    b.config["domain_content_threshold"] = 0.1
    b.config["completeness_tolerance"] = 0.5
    got2 = kinds(mon.check(b, cur))
    assert ("c", "categorical_values_check") not in got2 and ("s", "completeness_check") not in got2


def test_stream_parquet_and_iterator_equal_in_memory(rng, tmp_path):
    ref = mixed_frame(rng, 30_000)
    cur = mixed_frame(rng, 25_000, shift=0.2, cat_shift=True)
    b = mon.fit_baseline(ref)
    whole = mon.check(b, cur)
    path = tmp_path / "cur.parquet"
    cur.to_parquet(path, row_group_size=4000)
    seen = []
    streamed = mon.check(b, str(path), chunk_rows=3000, progress=lambda f, c: seen.append(f))
    chunks = mon.check(b, (cur.iloc[i:i + 7000] for i in range(0, len(cur), 7000)))
    folder = tmp_path / "ds"
    folder.mkdir()
    cur.iloc[:10_000].to_parquet(folder / "part-0.parquet")
    cur.iloc[10_000:].to_parquet(folder / "part-1.parquet")
    dataset = mon.check(b, str(folder))
    for other in (streamed, chunks, dataset):
        assert other.n_current == len(cur)
        for c in whole.columns:
            o = other[c.column]
            assert o.method == c.method
            assert o.statistic == pytest.approx(c.statistic, rel=1e-9, abs=1e-12), c.column
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    assert seen == sorted(seen)


def test_accumulators_merge_exactly(rng):
    ref = mixed_frame(rng, 20_000)
    cur = mixed_frame(rng, 9000, shift=0.1)
    b = mon.fit_baseline(ref)
    for col in "abics":
        one = new_acc(b.columns[col])
        one.add(cur[col])
        left, right = new_acc(b.columns[col]), new_acc(b.columns[col])
        left.add(cur[col].iloc[:4000])
        right.add(cur[col].iloc[4000:])
        merged = left.merge(right)
        if isinstance(one, NumericAcc):
            assert merged.n == one.n and np.array_equal(merged.counts, one.counts)
            assert merged.mean == pytest.approx(cur[col].mean()) and merged.std == pytest.approx(cur[col].std())
            assert (merged.min, merged.max) == (cur[col].min(), cur[col].max())
        else:
            assert isinstance(merged, CategoricalAcc)
            assert np.array_equal(merged.vec, one.vec)


def test_baseline_save_load_roundtrip(rng, tmp_path):
    ref = mixed_frame(rng, 20_000)
    ref["y"] = (ref["a"] > 0).astype(int)
    ref["yhat"] = np.where(rng.random(len(ref)) < 0.9, ref["y"], 1 - ref["y"])
    b = mon.fit_baseline(ref, target="y", prediction="yhat", sensitive="c", facet_values=["z"])
    path = b.save(tmp_path / "b.json")
    b2 = mon.Baseline.load(path)
    assert json.dumps(b2.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)
    cur = mixed_frame(rng, 5000, shift=0.5)
    cur["y"] = (cur["a"] > 0.5).astype(int)
    cur["yhat"] = cur["y"]
    assert json.dumps(mon.check(b, cur).to_dict()["columns"]) == json.dumps(mon.check(b2, cur).to_dict()["columns"])
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(Invalid):
        mon.Baseline.load(tmp_path / "junk.json")
    with pytest.raises(Invalid):
        mon.Baseline.load(tmp_path / "missing.json")


def test_sagemaker_statistics_and_constraints(rng):
    ref = mixed_frame(rng, 20_000)
    ref.loc[:99, "b"] = np.nan
    b = mon.fit_baseline(ref)
    sm = b.to_sagemaker()
    st, co = sm["statistics"], sm["constraints"]
    assert st["dataset"]["item_count"] == 20_000
    feats = {f["name"]: f for f in st["features"]}
    nb = feats["b"]["numerical_statistics"]
    assert nb["common"] == {"num_present": 19_900, "num_missing": 100}
    assert nb["mean"] == pytest.approx(ref["b"].mean()) and nb["std_dev"] == pytest.approx(ref["b"].std(ddof=0))  # SageMaker: population
    assert nb["min"] == ref["b"].min() and nb["max"] == ref["b"].max()
    buckets = nb["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10 and sum(x["count"] for x in buckets) == 19_900
    counts, _ = np.histogram(ref["b"].dropna(), bins=10)
    assert [x["count"] for x in buckets] == counts.tolist()
    sc = feats["c"]["string_statistics"]
    assert sc["distinct_count"] == 4
    assert {x["value"]: x["count"] for x in sc["distribution"]["categorical"]["buckets"]} == \
        ref["c"].value_counts().to_dict()
    cons = {f["name"]: f for f in co["features"]}
    assert cons["i"]["inferred_type"] == "Integral" and cons["a"]["inferred_type"] == "Fractional"
    assert cons["b"]["completeness"] == pytest.approx(0.995)
    assert cons["b"]["num_constraints"]["is_non_negative"] is True
    assert cons["a"]["num_constraints"]["is_non_negative"] is False
    assert sorted(cons["c"]["string_constraints"]["domains"]) == list("wxyz")
    assert co["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1
    json.dumps(sm)
    # importable: a baseline from SageMaker's JSON finds the same drift
    imported = mon.Baseline.from_sagemaker(json.loads(json.dumps(st)), json.loads(json.dumps(co)))
    same = mon.check(imported, mixed_frame(rng, 20_000))
    assert same.drifted_columns == []
    shifted = mon.check(imported, mixed_frame(rng, 20_000, shift=0.5, cat_shift=True))
    assert set(shifted.drifted_columns) == {"a", "c"}
    with pytest.raises(Invalid):
        mon.Baseline.from_sagemaker({"features": [{"name": "x"}]}, {})


def test_integer_column_labels_are_left_alone(rng):
    ref = pd.DataFrame({0: rng.normal(size=500), 1: rng.choice(["a", "b"], 500)})
    cur = pd.DataFrame({0: rng.normal(size=500) + 1, 1: rng.choice(["a", "b"], 500)})
    r = mon.check(mon.fit_baseline(ref), cur)
    assert list(cur.columns) == [0, 1]
    assert r.drifted_columns == ["0"]


def test_nullable_and_object_dtypes(rng):
    n = 3000
    ref = pd.DataFrame({
        "i": pd.array(rng.integers(0, 50, n), dtype="Int64"),
        "f": pd.array(rng.normal(size=n), dtype="Float64"),
        "flag": pd.array(rng.random(n) < 0.3, dtype="boolean"),
        "s": pd.array(rng.choice(["a", "b", "c"], n), dtype="string"),
        "o": pd.Series(rng.choice(["x", "y"], n), dtype=object),
    })
    cur = ref.copy()
    cur.loc[:299, ["i", "f", "flag", "s", "o"]] = pd.NA
    b = mon.fit_baseline(ref)
    assert {k: c.kind for k, c in b.columns.items()} == {
        "i": "numeric", "f": "numeric", "flag": "categorical", "s": "categorical", "o": "categorical"}
    r = mon.check(b, cur)
    assert {c.column: c.missing_current for c in r.columns} == {k: 300 for k in "i f flag s o".split()}
    assert {v["feature_name"] for v in r.violations if v["constraint_check_type"] == "completeness_check"} == \
        set("i f flag s o".split())
    assert not r.drifted_columns
    assert not [v for v in r.violations if v["constraint_check_type"] == "data_type_check"]


def test_degenerate_columns_do_not_break_the_report(rng):
    n = 3000
    ref = pd.DataFrame({"const": np.ones(n), "allnan": np.full(n, np.nan), "flag": rng.random(n) < 0.5,
                        "when": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"), "x": rng.normal(size=n)})
    cur = ref.copy()
    cur.loc[:5, "x"] = np.inf  # infinities are present but not finite numbers: a type problem, not missing
    cur.loc[6:8, "x"] = -np.inf
    r = mon.check(mon.fit_baseline(ref), cur)
    assert r.drifted_columns == []
    assert r["x"].missing_current == 0 and r["x"].n_current == n - 9
    assert kinds(r) == {("x", "data_type_check")}
    json.dumps(r.to_dict(), allow_nan=False)
    assert "allnan" in r._repr_html_()
    with pytest.raises(Invalid, match="no rows"):
        mon.check(mon.fit_baseline(ref), cur.iloc[:0])
