"""The fast path of `use` (issue 10's last target) changes how bytes move, never what arrives:
the decode worker's frames are the IPC stream pyarrow's writer makes, byte for byte; the client's
DataFrame built while batches arrive is the frame ``to_pandas`` makes (index, labels, dtypes,
attrs), with writable number columns; through a running server, `use` returns the published frame
exactly, also for the column kinds that do not take the fast path."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from live import LiveServer

from mlgov_jupyter.kernel.client import connect
from mlgov_jupyter.kernel.frame_assembly import assemble
from mlgov_jupyter.store import decode_worker
from mlgov_jupyter.store.scan import Scan


def _mixed(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(n, dtype="float64"), "k": np.arange(n), "s": [f"v{i}" for i in range(n)],
                         "f32": np.arange(n, dtype="float32"), "u8": (np.arange(n) % 200).astype("uint8"),
                         "t": pd.date_range("2020-01-01", periods=n, freq="h"),
                         "nullable": pd.array(range(n), dtype="Int64"), "b": np.arange(n) % 2 == 0})


def _reference(table: pa.Table, chunk: int) -> pd.DataFrame:
    return pa.Table.from_batches(table.to_batches(max_chunksize=chunk), schema=table.schema) \
        .to_pandas(split_blocks=True, self_destruct=True)


def _same(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert list(got.dtypes) == list(ref.dtypes) and got.index.equals(ref.index)
    assert list(got.columns) == list(ref.columns) and got.attrs == ref.attrs


@pytest.mark.parametrize("case", ["plain", "one batch", "nan in a float", "null in an int", "index",
                                  "range index moved", "attrs", "fewer rows", "more rows"])
def test_the_assembled_frame_is_what_to_pandas_makes(case):
    df = _mixed(50)
    rows = None
    if case == "nan in a float":
        df.loc[17, "x"] = np.nan
    elif case == "null in an int":  # an int column with a null: to_pandas makes it float with NaN
        df["k"] = pd.array([None if i == 33 else i for i in range(50)], dtype="Int64")
        table = pa.Table.from_pandas(df).replace_schema_metadata(None)
    elif case == "index":
        df = df.set_index("k")
    elif case == "range index moved":
        df.index = df.index * 3 + 1
    elif case == "attrs":
        df.attrs = {"source": "test"}
    elif case == "fewer rows":
        rows = 20  # the footers said fewer than came: all of it as Arrow from there
    elif case == "more rows":
        rows = 80
    table = table if case == "null in an int" else pa.Table.from_pandas(df)
    chunk = 100 if case == "one batch" else 7
    got = assemble(table.schema, table.num_rows if rows is None else rows, table.to_batches(max_chunksize=chunk))
    _same(got, _reference(table, chunk))
    got.iloc[0, 0] = got.iloc[1, 0]  # number columns are the client's own arrays: writable
    got.loc[got.index[2], "f32"] = 5


def test_the_workers_frames_are_the_ipc_writers_stream_byte_for_byte(tmp_path, monkeypatch):
    n = 3000
    table = pa.table({"a": np.arange(n, dtype="float64"), "s": [str(i) if i % 7 else None for i in range(n)],
                      "l": [[i, i + 1] for i in range(n)], "st": [{"x": i, "y": "z"} for i in range(n)],
                      "d": pa.array([dt.date(2020, 1, 1)] * n), "b": [bool(i % 2) for i in range(n)]})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=700)
    monkeypatch.setattr(decode_worker, "FRAME", 1000)  # frames cut inside buffers and between them
    for dictionary in (None, ["s"]):
        fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=dictionary or []))
        for columns, start, row_filter in ((None, 0, None), (["a", "s"], 0, None), (None, 450, None),
                                           (None, 0, ds.field("a") > 100)):
            def scan():
                return Scan(ds.dataset(path, format=fmt), columns, row_filter, batch_rows=128, start=start)

            written = pa.BufferOutputStream()
            first = scan()
            with pa.ipc.new_stream(written, first.schema) as writer:
                for batch in first._batches():
                    writer.write_batch(batch.replace_schema_metadata(first.schema.metadata))
            frames = [f for pieces in scan().ipc_pieces() for f in decode_worker._frames_of(pieces)]
            assert all(0 < sum(map(len, f)) <= 1000 for f in frames)
            out = io.BytesIO()
            for frame in frames:
                decode_worker._write_pieces(out, b"D", frame)
            sent, at, payload = out.getvalue(), 0, b""
            while at < len(sent):  # the frames as the service reads them: kind, length, payload
                size = int.from_bytes(sent[at + 1:at + 9], "big")
                payload += sent[at + 9:at + 9 + size]
                at += 9 + size
            assert payload == written.getvalue().to_pybytes() == b"".join(scan().ipc_chunks())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("assembly"))
    yield live
    live.stop()


def test_use_through_a_server_returns_the_published_frame_exactly(server):
    alice = connect(server.url, "alice-token")
    df = _mixed(300_000)  # several batches and frames
    df.loc[5, "x"] = np.nan
    alice.publish(df, "mixed")
    got = alice.use("mixed")
    _same(got, df)
    got.loc[0, "x"] = 1.5  # writable, as pd.read_parquet's
    assert got.loc[0, "x"] == 1.5
    picked = alice.use("mixed", columns=["k", "s"], filter=[("k", "<", 1000)])  # rows unknown: to_pandas
    pd.testing.assert_frame_equal(picked, df.loc[df.k < 1000, ["k", "s"]].reset_index(drop=True))
    table = alice.use("mixed", as_="arrow")
    assert table.to_pandas().equals(df)
