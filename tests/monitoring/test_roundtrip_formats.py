"""SageMaker's statistics.json both ways, for what ordinary data holds: present-but-invalid values
(num_present counts them, as SageMaker's does), discrete columns of any size (exact counts per level
through the sketch), and datetime columns (SageMaker has no date type: epoch seconds, marked)."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.monitoring.sagemaker_formats import kll_items

from .test_sm_formats import DQ, read


def trip(b):
    """The baseline's SageMaker files, as strict JSON text and back."""
    sm = json.loads(json.dumps(b.to_sagemaker(), allow_nan=False))
    return sm, mon.from_sagemaker(sm["statistics"], sm["constraints"])


def without_timings(report):
    d = report.to_dict()
    d.pop("timings")
    return d


def feature(doc, name):
    return next(f for f in doc["features"] if f["name"] == name)


# ----------------------------------------------------------------- num_present: valid and invalid values


def test_num_present_counts_invalid_values_and_comes_back():
    x = np.linspace(0.0, 10.0, 200)
    x[[3, 50, 77]] = [np.inf, -np.inf, np.inf]
    x[[10, 11]] = np.nan
    b = mon.fit_baseline(pd.DataFrame({"x": x}))
    ref = b.columns["x"]
    assert (ref.n, ref.n_invalid, ref.n_missing) == (195, 3, 2)
    sm, back = trip(b)
    common = feature(sm["statistics"], "x")["numerical_statistics"]["common"]
    assert common == {"num_present": 198, "num_missing": 2}  # present: valid and invalid
    assert sum(w for w in kll_items(feature(sm["statistics"], "x")["numerical_statistics"]["distribution"]["kll"]
                                    ["sketch"])[1]) == 195  # the distribution holds the valid ones
    assert feature(sm["constraints"], "x")["completeness"] == pytest.approx(198 / 200)
    r = back.columns["x"]
    assert (r.n, r.n_invalid, r.n_missing, r.n_present) == (195, 3, 2, 198)
    assert r.completeness == ref.completeness and type(r).__name__ == "NumericRef"  # no constraint override needed
    assert np.array_equal(r.counts, ref.counts) and np.array_equal(r.raw, ref.raw)
    assert back.to_sagemaker() == sm
    cur = pd.DataFrame({"x": x[::-1].copy()})
    assert without_timings(mon.check(back, cur)) == without_timings(mon.check(b, cur))


def test_a_sagemaker_file_whose_sketch_holds_fewer_values_than_present():
    """SageMaker counts text in a numeric column as present; its distribution holds the numbers."""
    st = read(DQ / "statistics.json")
    f = st["features"][0]
    f["numerical_statistics"]["common"]["num_present"] += 4
    b = mon.from_sagemaker(st)
    ref = b.columns[f["name"]]
    assert (ref.n, ref.n_invalid, ref.n_present) == (100, 4, 104)
    assert int(ref.counts.sum()) == 100
    assert b.to_sagemaker()["statistics"] == st


# ----------------------------------------------------------------- discrete columns laid out by numeric_layout


@pytest.mark.parametrize("n", [5_000, 1_000_003])
def test_discrete_columns_keep_exact_counts_and_levels(n):
    """Beyond 2048 values the sketch compacts; a discrete column is written one item per level weighing
    its count and read back with stats.numeric_layout on those weights: exact counts, the same levels
    (float noise such as 0.1 + 0.2 is one level with 0.3) and the same report."""
    rng = np.random.default_rng(7)
    vals = np.array([0.1 + 0.2, 1.0, 2.5])
    x = rng.choice(vals, n, p=[0.5, 0.3, 0.2])
    x[: n // 10] = 0.3  # the same level as 0.1 + 0.2
    b = mon.fit_baseline(pd.DataFrame({"d": x}))
    ref = b.columns["d"]
    assert ref.discrete and len(ref.levels) == 3
    sm, back = trip(b)
    r = back.columns["d"]
    assert r.discrete and r.n == n and r.n_distinct == 3
    assert [f"{v:.12g}" for v in r.levels] == [f"{v:.12g}" for v in ref.levels]
    got = r.counts[r.level_bins()].tolist()
    assert got == ref.counts[ref.level_bins()].tolist() and int(r.counts.sum()) == n
    cur = pd.DataFrame({"d": rng.choice(vals, 3000, p=[0.4, 0.3, 0.3])})
    a, c = without_timings(mon.check(b, cur)), without_timings(mon.check(back, cur))
    assert a["columns"][0]["statistic"] == pytest.approx(c["columns"][0]["statistic"], rel=1e-12)
    assert a["columns"][0]["chart"] == c["columns"][0]["chart"]
    assert a["violations"] == c["violations"]
    assert back.to_sagemaker() == sm


# ----------------------------------------------------------------- datetime columns


def dated(rng, n, shift_days=0):
    start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=shift_days)
    return pd.DataFrame({"t": start + pd.to_timedelta(rng.integers(0, 86_400 * 30, n), unit="s"),
                         "x": rng.normal(size=n)})


def test_a_datetime_column_stays_a_datetime_column_through_sagemakers_files():
    rng = np.random.default_rng(11)
    ref_df = dated(rng, 1500)
    b = mon.fit_baseline(ref_df)
    sm, back = trip(b)
    f = feature(sm["statistics"], "t")
    # SageMaker's representation: epoch seconds (UTC), Integral; mlgov's mark says they are dates
    assert f["inferred_type"] == "Integral" and f["mlgov_kind"] == "datetime"
    assert feature(sm["constraints"], "t")["mlgov_kind"] == "datetime"
    assert f["numerical_statistics"]["min"] == ref_df["t"].min().timestamp()
    assert "mlgov_kind" not in feature(sm["statistics"], "x")
    assert back.columns["t"].kind == "datetime" and back.columns["t"].inferred_type == "Integral"
    for cur in (dated(rng, 800, shift_days=2),  # drifted dates
                dated(rng, 800),
                ref_df.assign(t=ref_df["t"].dt.strftime("%Y-%m-%dT%H:%M:%S")),  # ISO text
                ref_df.assign(t=ref_df["t"].dt.tz_localize("UTC"))):  # aware
        before, after = without_timings(mon.check(b, cur)), without_timings(mon.check(back, cur))
        assert after == before
        assert not any(v["constraint_check_type"] == "data_type_check" for v in after["violations"])
    assert "t" in mon.check(back, dated(rng, 800, shift_days=2)).drifted_columns
    # what a datetime column refuses it still refuses: numbers are not dates
    bad = mon.check(back, ref_df.assign(t=np.arange(1500.0)))
    assert [v["feature_name"] for v in bad.violations if v["constraint_check_type"] == "data_type_check"] == ["t"]
    # the mark is kept by a saved baseline and by the files written back
    assert mon.Baseline.from_dict(json.loads(json.dumps(back.to_dict()))).columns["t"].kind == "datetime"
    assert back.to_sagemaker() == sm


def test_large_datetime_columns_and_files_without_the_mark():
    rng = np.random.default_rng(12)
    b = mon.fit_baseline(dated(rng, 20_000))
    sm, back = trip(b)
    assert back.columns["t"].kind == "datetime"
    calm = mon.check(back, dated(rng, 5000))
    assert not calm.violations
    assert "t" in mon.check(back, dated(rng, 5000, shift_days=3)).drifted_columns
    # SageMaker's own file (no mark): a numeric column of epoch seconds, as SageMaker profiled it
    for f in sm["statistics"]["features"] + sm["constraints"]["features"]:
        f.pop("mlgov_kind", None)
    plain = mon.from_sagemaker(sm["statistics"], sm["constraints"])
    assert plain.columns["t"].kind == "numeric"
    # constraints only: a datetime constraint-only feature checks dates
    only = mon.from_sagemaker(trip(b)[0]["constraints"])
    assert only.columns["t"].kind == "datetime"
    assert not mon.check(only, dated(rng, 100)).violations
    assert math.isnan(only.columns["t"].mean)
