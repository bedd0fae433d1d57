"""fit_baseline streams what check streams (a Parquet file or folder, an Arrow table, an iterator of
DataFrames) and gives the baseline it gives from the DataFrame; streamed batches are sized in bytes, so
memory stays bounded at 500 columns (peak RSS measured with resource.getrusage in a subprocess)."""

import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Invalid

check_mod = importlib.import_module("mlgov_jupyter.core.monitoring.check")


def reference_frame(n=20_000, seed=7):
    """Every kind of column fit_baseline handles, with missing and invalid values, labels and a facet."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, n)
    a[rng.random(n) < 0.02] = np.nan
    f = rng.lognormal(0, 0.7, n)
    f[rng.random(n) < 0.01] = np.inf  # present but not a finite number: a type violation
    y = (rng.random(n) < 0.3).astype("int64")
    proba = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    return pd.DataFrame({
        "a": a,
        "f": f,
        "i": rng.poisson(12, n).astype("int64"),
        "n": pd.array(np.where(rng.random(n) < 0.05, None, rng.integers(0, 4, n)), dtype="Int64"),
        "u": rng.uniform(0, 1, n).round(1),  # discrete: 11 levels
        "c": pd.Categorical(rng.choice(list("wxyz"), n), categories=list("wxyz")),
        "s": pd.Series(np.where(rng.random(n) < 0.03, None, rng.choice(["red", "green", "blue"], n)), dtype="str"),
        "h": pd.Series([f"id{k}" for k in rng.integers(0, 300, n)], dtype="str"),  # beyond MAX_CATEGORIES
        "d": pd.to_datetime(1_600_000_000 + rng.integers(0, 10_000_000, n), unit="s").where(rng.random(n) > 0.01),
        "b": rng.random(n) < 0.4,
        "sex": rng.choice(["F", "M"], n, p=[0.35, 0.65]),
        "grp": rng.choice(["g1", "g2", "g3"], n),
        "y": y,
        "proba": proba,
        "pred": (proba > 0.5).astype("int64"),
    })


FIT = dict(target="y", prediction="pred", probability="proba", sensitive="sex", group="grp",
           column_types={"u": "numeric"})


def as_json(baseline):
    d = baseline.to_dict()
    d.pop("created")
    return json.dumps(d, sort_keys=True, default=str)


@pytest.fixture(params=["one group of columns", "a column at a time"])
def budget(request, monkeypatch):
    if request.param == "a column at a time":
        monkeypatch.setattr(check_mod, "BATCH_BYTES", 1000)
    return request.param


def test_fit_from_parquet_file_equals_fit_from_the_frame(tmp_path, budget):
    df = reference_frame()
    path = tmp_path / "ref.parquet"
    df.to_parquet(path, row_group_size=6000)
    expected = as_json(mon.fit_baseline(df, **FIT))
    assert as_json(mon.fit_baseline(path, **FIT)) == expected
    assert as_json(mon.fit_baseline(str(path), **FIT)) == expected
    assert as_json(mon.fit_baseline(pd.read_parquet(path), **FIT)) == expected


def test_fit_from_folder_table_and_iterator_equals_fit_from_the_concatenated_frame(tmp_path, budget):
    df = reference_frame()
    parts = [df.iloc[:7000], df.iloc[7000:15000], df.iloc[15000:]]
    folder = tmp_path / "ds"
    folder.mkdir()
    for k, part in enumerate(parts):
        part.to_parquet(folder / f"part-{k}.parquet")
    expected = as_json(mon.fit_baseline(df, **FIT))
    assert as_json(mon.fit_baseline(str(folder), **FIT)) == expected
    assert as_json(mon.fit_baseline(pa.Table.from_pandas(df, preserve_index=False), **FIT)) == expected
    assert as_json(mon.fit_baseline(iter(parts), **FIT)) == expected
    # frames with their own indexes, as an iterator of chunks often has: rows count by position
    shuffled = [p.set_axis(np.arange(len(p))[::-1]) for p in parts]
    assert as_json(mon.fit_baseline((p for p in shuffled), **FIT)) == expected


def test_dtypes_that_change_between_chunks_are_those_of_pd_concat():
    a = pd.DataFrame({"x": np.arange(3000, dtype="int64"), "c": pd.Categorical(["p", "q"] * 1500)})
    b = pd.DataFrame({"x": np.r_[np.nan, np.arange(2999.0)], "c": pd.Categorical(["q", "r"] * 1500)})
    expected = as_json(mon.fit_baseline(pd.concat([a, b], ignore_index=True)))
    assert as_json(mon.fit_baseline(iter([a, b]))) == expected


def test_attributions_from_a_model_read_the_rows_the_frame_would_explain(tmp_path):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    n = 3000  # more rows than permutation importance explains (2000): a sample, the same one
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    df = X.assign(y=(X.x1 + 0.5 * X.x2 + rng.normal(0, 0.5, n) > 0).astype("int64"))
    model = LogisticRegression().fit(X, df["y"])
    df.to_parquet(tmp_path / "ref.parquet")
    kw = dict(target="y", attributions=model, attribution_method="permutation")
    expected = mon.fit_baseline(df, **kw)
    streamed = mon.fit_baseline(tmp_path / "ref.parquet", **kw)
    assert streamed.attributions == expected.attributions
    assert as_json(streamed) == as_json(expected)


def test_a_streamed_reference_is_refused_as_a_frame_is(tmp_path):
    df = reference_frame(500)
    empty = tmp_path / "empty.parquet"
    df.iloc[:0].to_parquet(empty)
    for data in (iter([]), iter([df.iloc[:0]]), str(empty), pa.Table.from_pandas(df.iloc[:0]), df.iloc[:0]):
        with pytest.raises(Invalid, match="^the reference data has no rows"):
            mon.fit_baseline(data)
    dup = pa.Table.from_arrays([pa.array([1.0, 2.0]), pa.array([3.0, 4.0])], names=["a", "a"])
    with pytest.raises(Invalid, match="^the reference data has duplicate column names: a"):
        mon.fit_baseline(dup)
    df.to_parquet(tmp_path / "ref.parquet")
    with pytest.raises(Invalid, match="column 'label' not found"):
        mon.fit_baseline(tmp_path / "ref.parquet", target="label", prediction="pred")
    with pytest.raises(Invalid, match="sensitive column 'race' not found"):
        mon.fit_baseline(tmp_path / "ref.parquet", target="y", sensitive="race")
    with pytest.raises(Invalid, match="lacks column"):
        mon.fit_baseline(iter([df, df.drop(columns="a")]))
    with pytest.raises(Invalid, match="no such file"):
        mon.fit_baseline(tmp_path / "nope.parquet")
    with pytest.raises(Invalid, match="must yield pandas DataFrames"):
        mon.fit_baseline([{"a": 1}])


# ----------------------------------------------------------------------------- batches in bytes


def close(a, b, rel=1e-12):
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], rel) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(close(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (np.isnan(a) and np.isnan(b)) or abs(a - b) <= rel * max(abs(a), abs(b))
    return a == b


def test_streamed_batches_are_sized_in_bytes_not_rows(tmp_path, monkeypatch):
    """Wider tables give fewer rows a batch; every way of reading a row group gives the same report."""
    assert check_mod._batch_rows(50 * 16, 250_000) > 5 * check_mod._batch_rows(500 * 16, 250_000)
    df = reference_frame(30_000)
    b = mon.fit_baseline(df.iloc[:15000], **FIT)
    expected = mon.check(b, df).to_dict()
    expected.pop("timings", None)

    def same(data):  # chunked sums (means) may differ in the last bits
        got = mon.check(b, data).to_dict()
        got.pop("timings", None)
        return close(got, expected)

    calls = []
    real_iter = pq.ParquetFile.iter_batches

    def counting(self, *a, **k):
        calls.append(k.get("batch_size"))
        return real_iter(self, *a, **k)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counting)
    path = tmp_path / "cur.parquet"
    df.to_parquet(path)  # one row group of 30,000 rows
    assert check_mod._reader_state_bytes(pq.ParquetFile(path).metadata.row_group(0), set(df.columns)) > 0
    monkeypatch.setattr(check_mod, "BATCH_BYTES", 1 << 30)
    assert same(path) and not calls  # a row group that fits: read whole
    monkeypatch.setattr(check_mod, "BATCH_BYTES", 200_000)
    monkeypatch.setattr(check_mod, "_reader_state_bytes", lambda rg, wanted: 1 << 40)
    assert same(path) and not calls  # reading row by row would cost more: a few columns at a time
    monkeypatch.setattr(check_mod, "_reader_state_bytes", lambda rg, wanted: 0)
    assert same(path) and calls and max(calls) < 30_000  # row by row, in batches of ~200 kB
    assert same(pa.Table.from_pandas(df, preserve_index=False))
    folder = tmp_path / "ds"
    folder.mkdir()
    df.iloc[:12000].to_parquet(folder / "a.parquet")
    df.iloc[12000:].to_parquet(folder / "b.parquet")
    assert same(str(folder))


# ----------------------------------------------------------------------------- memory at 500 columns

LAUNCH = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
WORKER = r"""
import json, resource, sys
import numpy, pandas, pyarrow.parquet  # libraries first: their memory is not the data's
from mlgov_jupyter import monitoring as mon
mode, path, base = sys.argv[1:4]
b = mon.Baseline.load(base) if mode == "check" else None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if mode == "fit":
    mon.fit_baseline(path).save(base)
else:
    mon.check(b, path)
print(json.dumps({"before": before * 1024, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def peak_over_imports(mode, path, base):
    """Peak RSS of a fresh process fitting or checking ``path``, above its RSS with the libraries loaded.

    Linux keeps the starting process's peak in a child's ru_maxrss across exec, so the measured process
    is started by a small launcher, not by this (large) test process. Arrow's allocator (mimalloc)
    gives freed pages back at once there, not after a delay: with the delay the peak also measured
    how busy the machine was (fit at four times the rows +30 to +64 MB over five runs; with none,
    +33 to +36 MB)."""
    env = {**os.environ, "MIMALLOC_PURGE_DELAY": "0", "MIMALLOC_RESET_DELAY": "0"}  # mimalloc 2 and 1
    out = subprocess.run([sys.executable, "-c", LAUNCH, sys.executable, "-c", WORKER, mode, str(path), str(base)],
                         capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["peak"] - r["before"]


def write_wide(path, rows, cols=500, group=10_000, seed=0):
    """A Parquet file of ``rows`` x ``cols`` floats (pyarrow's defaults, row groups of ``group`` rows),
    written a row group at a time; returns its size in memory (bytes)."""
    rng = np.random.default_rng(seed)
    schema = pa.schema([(f"c{j:03d}", pa.float64()) for j in range(cols)])
    with pq.ParquetWriter(path, schema) as w:
        for start in range(0, rows, group):
            k = min(group, rows - start)
            w.write_table(pa.table([rng.normal(size=k) for _ in range(cols)], schema=schema))
    return rows * cols * 8


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in kB and exec semantics: Linux")
def test_memory_at_500_columns_stays_bounded(tmp_path):
    small, large = tmp_path / "small.parquet", tmp_path / "large.parquet"
    small_bytes = write_wide(small, 20_000)
    large_bytes = write_wide(large, 80_000)  # 320 MB in memory
    base = tmp_path / "baseline.json"
    fit_small = peak_over_imports("fit", small, base)
    fit_large = peak_over_imports("fit", large, base)
    check_small = peak_over_imports("check", small, base)
    check_large = peak_over_imports("check", large, base)
    grown = large_bytes - small_bytes
    # four times the rows: the fit holds a few columns at a time, the check a batch of ~BATCH_BYTES
    assert fit_large - fit_small < 0.25 * grown, (fit_small, fit_large)
    assert check_large - check_small < 0.25 * grown, (check_small, check_large)
    assert fit_large < 0.75 * large_bytes, fit_large
