"""The publish describe reads batches of up to DESCRIBE_BATCH_ROWS rows (fewer calls per column):
its summary is the one smaller batches give, and NumPy's."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlgov_jupyter.core import catalog


def test_large_batches_give_the_summary_small_batches_give(tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    n = 300_000
    x = rng.normal(size=n) * 1e6 + 3
    x[rng.random(n) < 0.01] = np.nan
    ints = pa.array(rng.integers(-50, 50, n), mask=rng.random(n) < 0.05)
    text = pa.array(rng.choice(["north", "south", "east", "west", None], n))
    table = pa.table({"x": x, "f32": x.astype(np.float32), "i": ints, "s": text, "key": np.arange(n)})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=70_000)  # 5 row groups, the last short
    path = str(tmp_path / "d.parquet")

    schema, big, rows = catalog.describe_parquet(path)
    monkeypatch.setattr(catalog, "DESCRIBE_BATCH_ROWS", 4_096)
    schema_small, small, rows_small = catalog.describe_parquet(path)
    assert (schema, rows) == (schema_small, rows_small) and rows == n
    assert big.keys() == small.keys()
    for name, info in big.items():
        assert info.keys() == small[name].keys(), name
        for key, value in info.items():
            if key in ("mean", "std") and value is not None:
                assert value == pytest.approx(small[name][key], rel=1e-12), (name, key)
            else:
                assert value == small[name][key], (name, key)
    kept = x[~np.isnan(x)]
    assert big["x"]["min"] == kept.min() and big["x"]["max"] == kept.max()
    assert big["x"]["mean"] == pytest.approx(kept.mean(), rel=1e-12)
    assert big["x"]["std"] == pytest.approx(kept.std(ddof=1), rel=1e-12)
    valid = ints.drop_null().to_numpy()
    assert big["i"]["missing"] == ints.null_count and big["i"]["std"] == pytest.approx(valid.std(ddof=1), rel=1e-12)
    assert big["s"]["distinct"] == 4 and sum(t["count"] for t in big["s"]["top"]) == n - text.null_count
    assert not math.isnan(big["key"]["mean"]) and big["key"]["max"] == n - 1
