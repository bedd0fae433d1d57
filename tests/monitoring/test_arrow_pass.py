"""A decode worker computes a monitor run's statistics from Arrow record batches, number columns
straight from their buffers (``arrow_pass.batch_partial``): the same statistics ``scan_partial``
computes from the DataFrames of those batches, for every kind of column and value a capture may
hold (missing, NaN, +-inf, nulls, integers where the baseline is fractional and the reverse, text
and dates where numbers were, dictionaries, unseen categories)."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.monitoring import fit_baseline
from mlgov_jupyter.core.monitoring.arrow_pass import batch_partial, plain_numbers
from mlgov_jupyter.core.monitoring.check import finish, scan_partial
from mlgov_jupyter.core.monitoring.partial_codec import encode
from mlgov_jupyter.core.monitoring.stats import NumericAcc


def reference(n=5000, seed=1):
    r = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": r.normal(0, 1, n), "f32": r.normal(5, 2, n), "i": r.integers(0, 50, n),
        "whole": r.integers(0, 9, n),  # Integral: the current data brings floats
        "u8": r.integers(0, 4, n),  # discrete
        "nulls": r.normal(0, 1, n), "texty": r.normal(0, 1, n),
        "t": pd.to_datetime(1_600_000_000 + r.integers(0, 10**6, n), unit="s"),
        "cat": r.choice(["a", "b", "c"], n), "flag": r.random(n) < 0.3,
    })


def current(n=3000, seed=2) -> pa.Table:
    r = np.random.default_rng(seed)
    x = r.normal(0.3, 1, n)
    x[::50], x[1::97], x[2::101] = np.nan, np.inf, -np.inf
    whole = r.integers(0, 9, n).astype("float64")
    whole[::13] = 2.5  # not of the baseline's integral type
    nulls = pa.array(np.where(r.random(n) < 0.1, None, r.normal(0, 1, n)).tolist(), type=pa.float64())
    ints_with_nulls = pa.array([None if k % 7 == 0 else int(v) for k, v in enumerate(r.integers(0, 50, n))],
                               type=pa.int64())
    return pa.table({
        "x": x, "f32": pa.array(r.normal(5, 2, n).astype("float32")), "i": ints_with_nulls,
        "whole": whole, "u8": pa.array(r.integers(0, 5, n).astype("uint8")), "nulls": nulls,
        "texty": pa.array([str(v) if k % 11 else "n/a" for k, v in enumerate(r.normal(0, 1, n))]),
        "t": pa.array(pd.to_datetime(1_600_000_000 + r.integers(0, 10**6, n), unit="s")),
        "cat": pa.array(r.choice(["a", "b", "c", "new"], n)).dictionary_encode(),
        "flag": pa.array(r.random(n) < 0.5),
    })


@pytest.mark.parametrize("batch_rows", [700, 3000])
def test_the_arrow_pass_gives_the_statistics_of_the_dataframes(batch_rows):
    baseline = fit_baseline(reference())
    table = current()
    names = table.column_names
    batches = table.to_batches(batch_rows)
    here = scan_partial(baseline, names, (b.to_pandas(split_blocks=True) for b in batches))
    there = batch_partial(baseline, names, iter(batches))
    assert encode(there) == encode(here)
    a, b = finish(baseline, there).to_dict(), finish(baseline, here).to_dict()
    a.pop("timings"), b.pop("timings")
    assert a == b
    assert {"x", "u8", "cat", "flag"} <= set(a["drifted_columns"])
    kinds = {(v["feature_name"], v["constraint_check_type"]) for v in a["violations"]}
    assert {("whole", "data_type_check"), ("texty", "data_type_check"), ("cat", "categorical_values_check")} <= kinds


def test_only_plain_number_columns_skip_pandas():
    assert plain_numbers(pa.array([1.0, None])).dtype == np.float64  # NaN for the null, as pandas
    assert plain_numbers(pa.array([1, 2], type=pa.uint8())).dtype == np.uint8
    arr = pa.array(np.arange(10.0))
    assert np.shares_memory(plain_numbers(arr), arr.to_numpy())  # a view of the buffer
    for other in (pa.array([1, None]), pa.array([True]), pa.array(["1"]), pa.array([1.0]).cast(pa.float16()),
                  pa.array(["a"]).dictionary_encode(), pa.array(pd.to_datetime([0, 1]))):
        assert plain_numbers(other) is None
    acc = NumericAcc(fit_baseline(reference()).columns["x"])
    with pytest.raises(TypeError):
        acc.add_array(np.array(["1"], dtype=object))


def test_a_batch_lacking_a_column_or_holding_duplicates_is_refused():
    baseline = fit_baseline(reference())
    table = current()
    with pytest.raises(Invalid, match="lacks column"):
        batch_partial(baseline, table.column_names, iter(table.drop_columns(["x"]).to_batches()))
    dup = pa.table([table.column("x"), table.column("x")], names=["x", "x"])
    with pytest.raises(Invalid, match="duplicate column names"):
        batch_partial(baseline, ["x"], iter(dup.to_batches()))
