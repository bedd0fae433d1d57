"""What makes publish fast, through a running server: the client writes row groups as
df.to_parquet does (batches gathered, up to 1Mi rows), skips the dictionary for numeric columns
of mostly distinct values (and snappy for those it cannot shrink), a decode worker is started
when an upload begins (two: the describe at publish finds them warm and splits the columns
between them, with the summary one worker gives), and the describe's NaN handling still matches
NumPy's."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from live import LiveServer

from mlgov_jupyter.kernel.client import connect


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("publishspeed"))
    yield live
    live.stop()


def _decode_workers(pid: int) -> list[int]:
    out = []
    for child in Path("/proc").iterdir():
        try:
            if child.name.isdigit() and int((child / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid \
                    and b"mlgov_jupyter.store.decode_worker" in (child / "cmdline").read_bytes():
                out.append(int(child.name))
        except (OSError, ValueError, IndexError):
            pass
    return out


def _stored(server, asset) -> Path:
    digest = asset["revisions"][-1]["content_hash"].split(":")[1]
    return next(server.root.glob(f"data/**/objects/sha256/{digest[:2]}/{digest}"))


def test_an_upload_starts_a_decode_worker_before_its_publish(server):
    alice = connect(server.url, "alice-token")
    alice.whoami()
    assert _decode_workers(server.proc.pid) == []  # nothing decoded yet: no worker
    started = alice._call("POST", "uploads", body={"name": "warm"})
    assert len(_decode_workers(server.proc.pid)) == 2  # two: its describe splits the columns between them
    alice._call("DELETE", f"uploads/{started['upload_id']}")


def test_row_groups_gather_small_batches_and_distinct_numbers_skip_dictionary_and_snappy(server):
    alice = connect(server.url, "alice-token")
    rng = np.random.default_rng(3)
    n = 300_000
    table = pa.table({"x": rng.normal(size=n), "key": np.arange(n), "code": np.arange(n) % 7,
                      "region": rng.choice(["north", "south"], n)})
    asset = alice.publish(table.to_reader(max_chunksize=1_000), "gathered")
    meta = pq.ParquetFile(_stored(server, asset)).metadata
    assert meta.num_row_groups == 1 and meta.num_rows == n  # not 300 row groups of 1,000 rows
    encodings = {meta.schema.column(i).name: meta.row_group(0).column(i).encodings for i in range(meta.num_columns)}
    assert "RLE_DICTIONARY" not in encodings["x"] and "RLE_DICTIONARY" not in encodings["key"]
    assert "RLE_DICTIONARY" in encodings["code"] and "RLE_DICTIONARY" in encodings["region"]
    compression = {meta.schema.column(i).name: meta.row_group(0).column(i).compression for i in range(meta.num_columns)}
    assert compression == {"x": "UNCOMPRESSED", "key": "SNAPPY", "code": "SNAPPY", "region": "SNAPPY"}  # x: random
    assert alice.use("gathered", as_="arrow").equals(table)

    wide = pa.table({f"c{i}": rng.normal(size=1_200_000) for i in range(2)})
    meta = pq.ParquetFile(_stored(server, alice.publish(wide, "long"))).metadata
    assert [meta.row_group(r).num_rows for r in range(meta.num_row_groups)] == [1 << 20, 1_200_000 - (1 << 20)]


def test_the_summary_leaves_nan_and_nulls_out_as_numpy_does(server):
    alice = connect(server.url, "alice-token")
    rng = np.random.default_rng(4)
    x = rng.normal(size=50_000)
    x[::7] = np.nan
    valid = np.ones(len(x), bool)
    valid[::11] = False
    table = pa.table({"x": pa.array(x, mask=~valid), "f32": pa.array(x.astype("float32")),
                      "all_nan": pa.array(np.full(100, np.nan).tolist() * 500)})
    summary = alice.publish(table, "with-nan")["summary"]
    kept = x[valid & ~np.isnan(x)]
    assert summary["x"]["missing"] == int((~valid).sum())
    assert summary["x"]["min"] == kept.min() and summary["x"]["max"] == kept.max()
    assert summary["x"]["mean"] == pytest.approx(kept.mean(), rel=1e-12)
    assert summary["x"]["std"] == pytest.approx(kept.std(ddof=1), rel=1e-12)
    f32 = x.astype("float32")[~np.isnan(x)]
    assert summary["f32"]["min"] == pytest.approx(float(f32.min())) and summary["f32"]["max"] == pytest.approx(float(f32.max()))
    assert summary["all_nan"] == {"missing": 0, "min": None, "max": None, "mean": None, "std": None}


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_a_describe_split_over_two_workers_gives_the_summary_of_one(server, tmp_path):
    """With two warm workers a publish's describe gives each every other column (the batches of
    the whole file, so the same statistics); the summary is the one core.catalog.describe_parquet
    gives in one process, to the last bit: floats with NaN, ints with nulls, text past
    DISTINCT_CAP, booleans, dates."""
    from mlgov_jupyter.core.catalog import describe_parquet

    alice = connect(server.url, "alice-token")
    rng = np.random.default_rng(5)
    n = 400_000
    f = rng.normal(size=n)
    f[::97] = np.nan
    table = pa.table({"f": f, "i": pa.array(rng.integers(-5, 5, n)),
                      "inull": pa.array([None if k % 7 == 0 else k for k in range(n)], pa.int32()),
                      "s": pa.array([f"v{k % 13}" for k in range(n)]), "many": pa.array([f"u{k}" for k in range(n)]),
                      "b": pa.array([k % 3 == 0 for k in range(n)]),
                      "d": pa.array(np.arange(n).astype("datetime64[s]")),
                      "f32": pa.array(rng.normal(size=n).astype("float32"))})
    alice.publish(table.slice(0, 10), "split-warm")  # both workers started, and idle once warm
    for attempt in range(6):  # on a loaded machine the second may still be warming: one worker
        time.sleep(1)         # then describes it all (no split), so publish again
        workers = _decode_workers(server.proc.pid)
        before = {pid: _cpu_ticks(pid) for pid in workers}
        asset = alice.publish(table, f"split{attempt}")
        if len(workers) == 2 and all(_cpu_ticks(pid) > before[pid] for pid in workers):
            break  # both described
    else:
        pytest.fail("no publish was described by two workers")
    schema, summary, rows = describe_parquet(str(_stored(server, asset)))
    assert asset["summary"] == summary and asset["row_count"] == rows == n
    assert [c["name"] for c in asset["schema"]] == [c["name"] for c in schema] == table.column_names
    assert summary["many"]["distinct"] is None and summary["f"]["missing"] == 0
