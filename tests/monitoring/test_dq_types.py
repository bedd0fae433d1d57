"""Missing means missing; type problems are type violations; parseable datetimes drift.

SageMaker's constraint ``completeness`` is "observed non-null value percentage" (AWS, Model Monitor,
"Schema for Constraints"), and its ``completeness_check`` reports that share (``Value: 0.0`` for an
all-missing column in the SDK's ``monitor/constraint_violations.json``): a present value that is
not a number is present, and is a data type problem, not a missing value."""

import numpy as np
import pandas as pd
import pytest

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.monitoring.stats import NumericAcc, finite_values

N = 5000


def by_check(report, column):
    return {v["constraint_check_type"]: v for v in report.violations if v["feature_name"] == column}


@pytest.fixture
def numeric(rng):
    ref = pd.DataFrame({"x": rng.normal(size=N), "k": rng.integers(0, 50, N)})
    return ref, mon.fit_baseline(ref)


def test_junk_strings_are_present_values_of_the_wrong_type(rng, numeric):
    ref, b = numeric
    cur = pd.DataFrame({"x": rng.normal(size=N), "k": rng.integers(0, 50, N)})
    junk = cur.copy()
    junk["x"] = junk["x"].astype(object)
    junk.loc[: N // 50 - 1, "x"] = "n/a"  # 2% junk, no nulls
    r = mon.check(b, junk)
    v = by_check(r, "x")
    assert "completeness_check" not in v  # completeness 1.0, as the baseline's
    assert "data_type_check" in v and "98.00%" in v["data_type_check"]["description"]
    assert r["x"].missing_current == 0 and r["x"].n_current == N - N // 50
    # the statistics are those of the numbers that are there
    numbers_only = mon.check(b, cur.iloc[N // 50:])
    assert r["x"].statistic == pytest.approx(numbers_only["x"].statistic, rel=1e-12)
    # junk and nulls: the nulls alone are missing
    both = junk.copy()
    both.loc[N - 100:, "x"] = None
    r = mon.check(b, both)
    assert r["x"].missing_current == 100
    comp = by_check(r, "x")["completeness_check"]["description"]
    assert f"{(N - 100) / N:.4f}" in comp


@pytest.mark.parametrize("dtype", ["str", "string", "object"])
def test_numbers_written_as_text_are_numbers(rng, numeric, dtype):
    ref, b = numeric
    cur = ref.astype({"x": str}).astype({"x": dtype})
    cur.loc[:9, "x"] = "oops"
    cur.loc[10:19, "x"] = None
    r = mon.check(b, cur)
    assert r["x"].missing_current == 10 and r["x"].n_current == N - 20
    assert set(by_check(r, "x")) == {"data_type_check", "completeness_check"}
    assert f"{(N - 10) / N:.4f}" in by_check(r, "x")["completeness_check"]["description"]


def test_infinities_and_nullables(rng, numeric):
    ref, b = numeric
    cur = ref.copy()
    cur.loc[:4, "x"] = np.inf
    cur["k"] = pd.array(cur["k"], dtype="Int64")
    cur.loc[:9, "k"] = pd.NA
    r = mon.check(b, cur)
    assert set(by_check(r, "x")) == {"data_type_check"} and r["x"].missing_current == 0
    assert set(by_check(r, "k")) == {"completeness_check"} and r["k"].missing_current == 10
    # the same counts in the reference
    x, n_missing, n_invalid = finite_values(cur["x"])
    assert (x.size, n_missing, n_invalid) == (N - 5, 0, 5)
    ref2 = mon.fit_baseline(cur).columns["x"]
    assert (ref2.n, ref2.n_missing, ref2.n_invalid, ref2.n_present, ref2.completeness) == (N - 5, 0, 5, N, 1.0)


def test_accumulator_counts_merge(rng, numeric):
    _, b = numeric
    s = pd.Series(["1.5", "x", None, "2", "inf", np.nan, 3, 4.5], dtype=object)
    acc = NumericAcc(b.columns["x"])
    acc.add(s)
    assert (acc.n, acc.n_missing, acc.n_invalid, acc.n_present) == (4, 2, 2, 6)
    left, right = NumericAcc(b.columns["x"]), NumericAcc(b.columns["x"])
    left.add(s.iloc[:3])
    right.add(s.iloc[3:])
    m = left.merge(right)
    assert (m.n, m.n_missing, m.n_invalid, m.n_nonconforming) == (4, 2, 2, 2)


@pytest.fixture
def times():
    t = pd.Series(pd.date_range("2024-01-01", periods=N, freq="17min"))
    return pd.DataFrame({"t": t}), mon.fit_baseline(pd.DataFrame({"t": t}))


def test_datetimes_as_strings_or_objects_are_datetimes(times):
    ref, b = times
    cur = pd.DataFrame({"t": ref["t"] + pd.Timedelta(days=3)})
    expected = mon.check(b, cur)
    assert expected["t"].drifted and expected.violations == [
        v for v in expected.violations if v["constraint_check_type"] == "baseline_drift_check"]
    forms = {
        "iso strings": cur["t"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
        "iso with space": cur["t"].astype(str),
        "str dtype": cur["t"].astype(str).astype("str"),
        "offsets": cur["t"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo").dt.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "Timestamps": cur["t"].astype(object),
        "aware Timestamps": pd.Series(list(cur["t"].dt.tz_localize("UTC").dt.tz_convert("America/New_York")),
                                      dtype=object),
        "datetimes": pd.Series([ts.to_pydatetime() for ts in cur["t"]], dtype=object),
        "seconds unit": cur["t"].astype("datetime64[s]"),
        "arrow": cur["t"].astype("timestamp[ns][pyarrow]"),
    }
    for name, series in forms.items():
        r = mon.check(b, pd.DataFrame({"t": series}))
        assert r.violations == expected.violations, name
        assert r["t"].method == expected["t"].method and r["t"].n_current == N, name
        assert r["t"].statistic == pytest.approx(expected["t"].statistic, rel=1e-9), name
    same = mon.check(b, pd.DataFrame({"t": ref["t"].astype(str)}))
    assert same["t"].statistic == 0.0 and not same.violations


def test_datetimes_that_do_not_parse_are_type_violations(times):
    ref, b = times
    cur = ref["t"].astype(str).astype(object)
    cur[:50] = "not a date"
    cur[50:60] = 12345  # a number is not a date
    cur[60:70] = None
    r = mon.check(b, pd.DataFrame({"t": cur}))
    v = by_check(r, "t")
    assert set(v) == {"data_type_check", "completeness_check"}
    assert r["t"].missing_current == 10 and r["t"].n_current == N - 70
    assert f"{(N - 10) / N:.4f}" in v["completeness_check"]["description"]
    assert f"{(N - 70) / (N - 10):.2%}" in v["data_type_check"]["description"]
    # numbers against a datetime column, dates against a numeric one
    r = mon.check(b, pd.DataFrame({"t": np.arange(N)}))
    assert set(by_check(r, "t")) == {"data_type_check"} and r["t"].n_current == 0
    nb = mon.fit_baseline(pd.DataFrame({"t": np.arange(N, dtype=float)}))
    r = mon.check(nb, ref)
    assert set(by_check(r, "t")) == {"data_type_check"} and r["t"].n_current == 0


def test_aware_baseline_and_naive_strings(times):
    ref, _ = times
    aware = ref["t"].dt.tz_localize("UTC")
    b = mon.fit_baseline(pd.DataFrame({"t": aware}))
    r = mon.check(b, pd.DataFrame({"t": ref["t"].astype(str)}))  # naive text read as UTC
    assert r["t"].statistic == 0.0 and not r.violations
    r = mon.check(b, pd.DataFrame({"t": aware.dt.tz_convert("Europe/Paris")}))
    assert r["t"].statistic == 0.0 and not r.violations


def test_categories_typed_otherwise_are_the_same_categories(rng):
    """Codes read as text in one file and as numbers in the next (or whole floats, pandas' reading of
    integers with blanks) are the same values, as SageMaker, which reads both as text, sees them."""
    v = rng.integers(1, 4, 3000)
    as_text = mon.fit_baseline(pd.DataFrame({"c": v.astype(str)}))
    as_category = mon.fit_baseline(pd.DataFrame({"c": pd.Categorical(v)}))
    for b, forms in ((as_text, (v, v.astype(float), pd.Categorical(v))),
                     (as_category, (v.astype(str), v.astype(float), v.astype(object)))):
        for cur in forms:
            r = mon.check(b, pd.DataFrame({"c": cur}))
            assert r["c"].statistic == 0.0 and r.violations == [], type(cur)
    # a value that is new as text too is still new
    cur = np.where(v == 1, "1.5", v.astype(str))
    r = mon.check(as_text, pd.DataFrame({"c": cur}))
    assert {x["constraint_check_type"] for x in r.violations} == {"categorical_values_check", "baseline_drift_check"}
    assert r.violations[0]["value"] == pytest.approx(np.mean(v != 1))
