"""The data plane through a running server: content in an object store (a local directory, or a
real S3-compatible server), uploads in parts, reads streamed as Arrow with columns and row filters
pushed down, old blob rows moved out, and the server's memory bounded."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from live import LiveServer

from mlgov_jupyter.core.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from mlgov_jupyter.kernel.client import connect


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": np.arange(n), "x": rng.normal(size=n), "y": rng.integers(0, 100, n),
                         "region": rng.choice(["north", "south", "east"], n), "flag": rng.random(n) < 0.5})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataplane")
    live = LiveServer(root, config="c.MlgovApp.upload_part_bytes = 262144\n")  # many parts
    yield live
    live.stop()


def _client(server, user: str):
    return connect(server.url, f"{user}-token")


def test_a_dataset_goes_in_by_parts_and_comes_out_as_a_scan(server):
    alice = _client(server, "alice")
    df = _frame(200_000)
    asset = alice.publish(df, "events", description="synthetic events")
    assert asset["row_count"] == 200_000 and asset["revisions"][-1]["size_bytes"] > 5 * 262_144
    assert asset["summary"]["region"]["distinct"] == 3 and asset["summary"]["y"]["max"] == 99
    assert asset["summary"]["x"]["std"] == pytest.approx(df["x"].std(), rel=1e-12)

    back = alice.use("events")
    pd.testing.assert_frame_equal(back, df)
    picked = alice.use("events", columns=["id", "region"], filter=[("y", "<", 10), ("region", "in", ["north", "east"])])
    expected = df.loc[(df.y < 10) & df.region.isin(["north", "east"]), ["id", "region"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(picked.reset_index(drop=True), expected)
    either = alice.use("events", columns=["id"], filter=[[("id", "<", 3)], [("id", ">=", 199_998)]], as_="arrow")
    assert either.column("id").to_pylist() == [0, 1, 2, 199_998, 199_999]
    assert sum(b.num_rows for b in alice.use("events", as_="batches")) == 200_000

    # the database holds metadata, hashes and locations only: the bytes live in the object store
    with sqlite3.connect(server.db) as db:
        assert db.execute("SELECT count(*) FROM blobs").fetchone() == (0,)
    assert server.db.stat().st_size < 1 << 20
    digest = asset["revisions"][-1]["content_hash"].split(":")[1]
    stored = next(server.root.glob(f"data/**/objects/sha256/{digest[:2]}/{digest}"))
    assert pq.read_table(stored).num_rows == 200_000


def test_what_can_be_published_as_a_dataset(server, tmp_path):
    alice = _client(server, "alice")
    df = _frame(5_000, seed=1)
    table = pa.Table.from_pandas(df, preserve_index=False)
    df.to_parquet(tmp_path / "one.parquet", index=False)
    (tmp_path / "folder").mkdir()
    df.iloc[:2_000].to_parquet(tmp_path / "folder" / "a.parquet", index=False)
    df.iloc[2_000:].to_parquet(tmp_path / "folder" / "b.parquet", index=False)
    import dask.dataframe as dd

    for name, obj in (("as-table", table), ("as-file", tmp_path / "one.parquet"),
                      ("as-folder", tmp_path / "folder"), ("as-reader", table.to_reader(max_chunksize=700)),
                      ("as-dask", dd.from_pandas(df, npartitions=4))):
        asset = alice.publish(obj, name)
        assert asset["kind"] == "dataset" and asset["row_count"] == 5_000, name
        got = alice.use(name, as_="arrow").sort_by("id")
        assert got.select(table.column_names).equals(table), name


def test_uploads_belong_to_their_starter_and_resume_at_their_size(server):
    alice, bob = _client(server, "alice"), _client(server, "bob")
    up = alice._call("POST", "uploads", body={"name": "resumed"})
    assert up["size"] == 0 and up["part_max_bytes"] == 262_144
    path = f"uploads/{up['upload_id']}"
    with pytest.raises(Forbidden, match="is not yours"):
        bob._call("PUT", path, {"offset": 0}, b"x")
    buf = __import__("io").BytesIO()
    _frame(100).to_parquet(buf)
    data = buf.getvalue()
    assert alice._call("PUT", path, {"offset": 0}, data[:100])["size"] == 100
    with pytest.raises(Conflict, match="holds 100 bytes; a part must start there, not at 0"):
        alice._call("PUT", path, {"offset": 0}, data[:100])  # sent twice
    assert alice._call("GET", path)["size"] == 100  # where to resume
    alice._call("PUT", path, {"offset": 100}, data[100:])
    asset = alice._call("POST", "assets", body={"name": "resumed", "upload": up["upload_id"]})
    assert asset["row_count"] == 100
    with pytest.raises(NotFound, match="finished, aborted or expired"):
        alice._call("GET", path)

    other = alice._call("POST", "uploads", body={"name": "one-name"})
    with pytest.raises(Conflict, match="was started for 'one-name', not 'another'"):
        alice._call("POST", "assets", body={"name": "another", "upload": other["upload_id"]})
    alice._call("DELETE", f"uploads/{other['upload_id']}")


def test_an_upload_needs_the_right_to_publish_and_stays_under_its_caps(server):
    alice, bob = _client(server, "alice"), _client(server, "bob")
    alice.create_project("vault")
    with pytest.raises(Forbidden):
        bob._call("POST", "uploads", body={"name": "sneak", "project": "vault"})

    import dataclasses

    from mlgov_jupyter.core import models as m
    from mlgov_jupyter.service import Actor, GovernanceService
    from mlgov_jupyter.store.db import Store

    svc = GovernanceService(store=Store(f"sqlite:///{server.root / 'caps.sqlite'}"))
    svc.limits = dataclasses.replace(svc.limits, upload_max_bytes=1000)
    up = svc.start_upload(Actor("alice"), m.UploadStart(name="capped"))
    svc.append_upload(Actor("alice"), up["upload_id"], 0, b"x" * 600)
    with pytest.raises(TooLarge, match="would exceed 1000 bytes"):
        svc.append_upload(Actor("alice"), up["upload_id"], 600, b"x" * 600)


def test_bad_columns_and_filters_are_one_line_400s_before_anything_is_sent(server):
    alice = _client(server, "alice")
    alice.publish(_frame(50), "small")
    for kwargs, message in (({"columns": ["nope"]}, "no column named 'nope'"),
                            ({"filter": [("nope", "=", 1)]}, "the row filter does not fit"),
                            ({"filter": [("y", "~", 1)]}, "unknown operator '~'"),
                            ({"filter": [("y", "in", ["a", 2])]}, "'a' does not fit column 'y' \\(int64\\)"),
                            ({"filter": [("y", "<", 1.5)]}, "1.5 does not fit column 'y'"),
                            ({"filter": [("y", "==", 2**70)]}, "filter: an integer is outside the 64-bit range")):
        with pytest.raises(Invalid, match=message) as err:
            alice.use("small", **kwargs)
        assert "\n" not in str(err.value)


def test_a_grantee_reads_only_through_the_service(server):
    alice, bob = _client(server, "alice"), _client(server, "bob")
    alice.publish(_frame(1_000), "shared")
    with pytest.raises(Forbidden, match="subscribe shared"):
        bob.use("shared")
    req = bob.subscribe("shared", "join with churn")
    alice.approve(req["id"])
    assert len(bob.use("shared", filter=[("y", ">=", 50)])) == int((_frame(1_000).y >= 50).sum())
    events = [e for e in alice.audit(limit=20, project="alice", action="asset.consume")
              if e["actor"] == "bob"]
    detail = events[0]["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["filter"] == [[["y", ">=", 50]]]


def test_blob_rows_of_an_older_store_move_to_the_object_store(tmp_path):
    """A store from before the object store kept content in the ``blobs`` table: on first use the
    service moves each row out (hash checked) and reads go on working."""
    from mlgov_jupyter.core import models as m
    from mlgov_jupyter.service import Actor, GovernanceService
    from mlgov_jupyter.store.db import Store
    from mlgov_jupyter.store.objects import ObjectStore

    from helpers import inline_content

    store = Store(f"sqlite:///{tmp_path / 'old.sqlite'}")
    svc = GovernanceService(store=store, objects=ObjectStore(str(tmp_path / "objects"), tmp_path / "up"))
    df = _frame(300)
    rev = svc.publish(Actor("alice"), m.Publish(name="legacy", **inline_content(df)))["revisions"][-1]
    digest = rev["content_hash"]
    path = tmp_path / "objects" / "sha256" / digest[7:9] / digest[7:]
    with sqlite3.connect(tmp_path / "old.sqlite") as db:  # as an older release left it
        db.execute("INSERT INTO blobs (content_hash, size_bytes, data) VALUES (?, ?, ?)",
                   (digest, rev["size_bytes"], path.read_bytes()))
    path.unlink()

    fresh = GovernanceService(store=store, objects=ObjectStore(str(tmp_path / "objects"), tmp_path / "up"))
    meta, chunks = fresh.read_data(Actor("alice"), "legacy")
    assert pa.ipc.open_stream(b"".join(chunks)).read_pandas().equals(df)
    with sqlite3.connect(tmp_path / "old.sqlite") as db:
        assert db.execute("SELECT count(*) FROM blobs").fetchone() == (0,)
    assert path.exists()


def test_a_parquet_bomb_is_counted_not_expanded(tmp_path):
    """10M rows of one long dictionary-encoded string (a ~200 KB file): the describe pass counts
    what it would decode without expanding it; over the cap it is a 413."""
    import dataclasses
    import resource

    from mlgov_jupyter.core import models as m
    from mlgov_jupyter.service import Actor, GovernanceService
    from mlgov_jupyter.store.db import Store
    from mlgov_jupyter.store.objects import ObjectStore

    from helpers import parquet_b64

    table = pa.table({"s": pa.DictionaryArray.from_arrays(pa.array(np.zeros(10_000_000, dtype=np.int32)),
                                                          pa.array(["x" * 1000]))})
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf, row_group_size=2_000_000)
    bomb = buf.getvalue().to_pybytes()
    del table
    assert len(bomb) < 2_000_000
    svc = GovernanceService(store=Store(f"sqlite:///{tmp_path / 's.sqlite'}"),
                            objects=ObjectStore(str(tmp_path / "objects"), tmp_path / "up"))
    import base64

    body = m.Publish(name="bomb", format="parquet", content_b64=base64.b64encode(bomb).decode())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    svc.limits = dataclasses.replace(svc.limits, publish_max_decoded_bytes=1 << 30)
    with pytest.raises(TooLarge, match="decompresses to more than 1.0 GiB"):
        svc.publish(Actor("alice"), body)
    svc.limits = dataclasses.replace(svc.limits, publish_max_decoded_bytes=64 << 30)
    asset = svc.publish(Actor("alice"), body)
    assert asset["row_count"] == 10_000_000 and asset["summary"]["s"]["max_length"] == 1000
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 600, grown_mb  # 10 GB decoded would not fit; dictionary form is ~80 MB
    _ = parquet_b64


def test_a_nested_column_bomb_is_read_row_group_by_row_group(tmp_path):
    """70 row groups of 1,000 lists of 10,000 zeros (a ~240 KB file, 5 GiB decoded): the footer
    bounds each row group, which is read alone in batches sized from that bound, so memory
    stays near one row group; a row group bounded above the cap is refused before reading."""
    import subprocess
    import sys

    values = pa.array(np.zeros(10_000_000, dtype=np.int64))
    lists = pa.ListArray.from_arrays(pa.array(np.arange(0, 10_000_001, 10_000, dtype=np.int32)), values)
    table = pa.table({"id": pa.array(np.arange(1_000)), "v": lists})
    with pq.ParquetWriter(tmp_path / "bomb.parquet", table.schema, compression="zstd") as writer:
        for _ in range(70):
            writer.write_table(table)
    big = pa.ListArray.from_arrays(pa.array(np.arange(0, 40_000_001, 40_000, dtype=np.int32)),
                                   pa.array(np.zeros(40_000_000, dtype=np.int64)))
    pq.write_table(pa.table({"v": big}), tmp_path / "one-group.parquet", compression="zstd")
    assert (tmp_path / "bomb.parquet").stat().st_size < 1_000_000
    code = (
        "import resource, sys\n"
        "from mlgov_jupyter.core.catalog import describe_parquet\n"
        "from mlgov_jupyter.core.errors import TooLarge\n"
        f"schema, summary, rows = describe_parquet({str(tmp_path / 'bomb.parquet')!r})\n"
        "assert rows == 70_000, rows\n"
        "try:\n"
        f"    describe_parquet({str(tmp_path / 'one-group.parquet')!r})\n"
        "    print('accepted')\n"
        "except TooLarge as exc:\n"
        "    print(exc)\n"
        # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec
        "print([int(x.split()[1]) // 1024 for x in open('/proc/self/status') if x.startswith('VmHWM')][0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    message, peak = out.stdout.strip().split("\n")
    assert message.startswith("row group 0 of the Parquet content may decode to") and "smaller row groups" in message
    assert int(peak) < 900, f"peak {peak} MB"


def test_a_publish_refused_after_storing_leaves_nothing_stored(tmp_path):
    from mlgov_jupyter.core import models as m
    from mlgov_jupyter.service import Actor, GovernanceService
    from mlgov_jupyter.store.db import Store
    from mlgov_jupyter.store.objects import ObjectStore

    from helpers import inline_content

    svc = GovernanceService(store=Store(f"sqlite:///{tmp_path / 's.sqlite'}"),
                            objects=ObjectStore(str(tmp_path / "objects"), tmp_path / "up"))
    svc.publish(Actor("alice"), m.Publish(name="people", **inline_content(_frame(10))))
    before = sorted((tmp_path / "objects").glob("sha256/*/*"))
    with pytest.raises(Conflict, match="already belongs to another project"):
        svc.publish(Actor("bob"), m.Publish(name="people", **inline_content(_frame(500, seed=9))))
    up = svc.start_upload(Actor("bob"), m.UploadStart(name="people"))
    import io

    buf = io.BytesIO()
    _frame(700, seed=4).to_parquet(buf)
    svc.append_upload(Actor("bob"), up["upload_id"], 0, buf.getvalue())
    with pytest.raises(Conflict):
        svc.publish(Actor("bob"), m.Publish(name="people", upload=up["upload_id"]))
    assert sorted((tmp_path / "objects").glob("sha256/*/*")) == before
    with pytest.raises(NotFound):  # the upload was taken: no part can be added to what was checked
        svc.append_upload(Actor("bob"), up["upload_id"], len(buf.getvalue()), b"x")


def test_an_s3_backed_store_serves_grantees_who_never_see_a_credential(s3, tmp_path):
    options = s3.options()
    live = LiveServer(tmp_path, config=f"c.MlgovApp.objects_url = 's3://{s3.bucket}/catalog'\n"
                                       f"c.MlgovApp.objects_options = {options!r}\n")
    try:
        alice, bob = connect(live.url, "alice-token"), connect(live.url, "bob-token")
        df = _frame(20_000, seed=3)
        asset = alice.publish(df, "cloud-events")
        digest = asset["revisions"][-1]["content_hash"].split(":")[1]
        assert s3.keys() == [f"catalog/sha256/{digest[:2]}/{digest}"]
        bob.subscribe("cloud-events", "forecasting")
        alice.approve(alice.requests(incoming=True, status="pending")[0]["id"])
        got = bob.use("cloud-events", columns=["id", "x"], filter=[("id", "<", 100)])
        pd.testing.assert_frame_equal(got, df.loc[df.id < 100, ["id", "x"]].reset_index(drop=True))
        seen = json.dumps([bob.asset("cloud-events"), repr(bob.search("cloud")), bob.whoami()])
        assert options["secret_key"] not in seen and options["access_key"] not in seen
        assert not list(tmp_path.glob("data/**/sha256/*"))  # nothing local
    finally:
        live.stop()


def test_the_server_streams_two_million_rows_in_bounded_memory(tmp_path):
    """2M rows x 20 columns (320 MB in memory) in and out through a running server: its peak
    resident memory grows by far less than the data (parts in, batches out)."""
    live = LiveServer(tmp_path)
    try:
        rng = np.random.default_rng(7)
        df = pd.DataFrame({f"c{i}": rng.normal(size=2_000_000) for i in range(20)})
        alice = connect(live.url, "alice-token")
        base = _peak_mb(live.proc.pid)
        alice.publish(df, "wide")
        rows = sum(b.num_rows for b in alice.use("wide", as_="batches"))
        assert rows == 2_000_000
        grown = _peak_mb(live.proc.pid) - base
        assert grown < 300, f"server peak grew by {grown:.0f} MB for 320 MB of data"
    finally:
        live.stop()


def _peak_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def test_delta_encoded_nested_text_and_too_many_columns_are_refused(tmp_path):
    """Text in a delta encoding outside what is kept dictionary-encoded has no size the footer
    bounds (a repeated value costs a few bits): refused; so is a file of more than 10,000
    columns; both before any value is decoded."""
    from mlgov_jupyter.core.catalog import describe_parquet

    t = pa.table({"s": pa.array([{"a": "x" * 100}] * 1_000)})
    pq.write_table(t, tmp_path / "delta.parquet", use_dictionary=False, column_encoding={"s.a": "DELTA_BYTE_ARRAY"})
    with pytest.raises(TooLarge, match="'s.a' is text in a delta encoding"):
        describe_parquet(str(tmp_path / "delta.parquet"))
    wide = pa.table({f"c{i}": pa.array([0], pa.int8()) for i in range(10_001)})
    pq.write_table(wide, tmp_path / "wide.parquet")
    with pytest.raises(TooLarge, match="10001 columns; at most 10000"):
        describe_parquet(str(tmp_path / "wide.parquet"))
