"""Parquet files whose footer lies: decoding user-supplied Parquet runs in worker processes with
a hard memory limit (store/decode_worker.py), so a lie is a one-line 413/400, the running
server's memory does not move, and the next call works: at publish, at register, at every
`use`, on the local object store, on S3 and for registered data."""

from __future__ import annotations

import io
import json
import os
import signal
import time
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from live import Kernel, LiveServer

from mlgov_jupyter.core.errors import Invalid, TooLarge
from mlgov_jupyter.kernel.client import connect


def lying_footer_parquet(rows: int = 8192, value_bytes: int = 1 << 20, nested: bool = False) -> bytes:
    """A small Parquet file (tens of kB) of one text column (``nested``: a list of text, one
    value per row) whose ``rows`` values are one ``value_bytes`` long string, written
    DELTA_BYTE_ARRAY (a repeat costs a few bits), while its footer says PLAIN: the encoding check
    and the row-group bound read the footer and let it through; it decodes to rows * value_bytes.
    Built with pyarrow, then two bytes of the thrift footer edited (compact protocol: the column's
    ``encodings`` list<i32> [RLE, DELTA_BYTE_ARRAY] = ``25 06 0e`` and its encoding_stats' page
    encoding ``15 0e``, zigzag varints, both made PLAIN = 0)."""
    value = pa.array(["x" * value_bytes] * 8)
    if nested:
        value = pa.ListArray.from_arrays(pa.array(range(9), pa.int32()), value)
    column = pa.chunked_array([value] * (rows // 8))  # the same buffers again and again: little memory
    buf = io.BytesIO()
    path = "s.list.element" if nested else "s"
    with pq.ParquetWriter(buf, pa.schema([("s", column.type)]), use_dictionary=False, compression="zstd",
                          column_encoding={path: "DELTA_BYTE_ARRAY"}, write_statistics=False) as writer:
        writer.write_table(pa.table({"s": column}), row_group_size=rows)
    data = bytearray(buf.getvalue())
    size = int.from_bytes(data[-8:-4], "little")
    footer = bytes(data[-8 - size:-8])
    assert footer.count(b"\x25\x06\x0e") == 1 and footer.count(b"\x15\x0e\x15") == 1, footer.hex()
    data[-8 - size:-8] = footer.replace(b"\x25\x06\x0e", b"\x25\x06\x00").replace(b"\x15\x0e\x15", b"\x15\x00\x15")
    meta = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    assert meta.row_group(0).column(0).encodings == ("RLE", "PLAIN") and meta.num_rows == rows
    return bytes(data)


# 6 GiB decoded from a file of under 1 kB: the footer bounds the row group at a few MiB
PUBLISH_BOMB = dict(rows=24_576, value_bytes=256 << 10, nested=True)
USE_BOMB = dict(rows=32_768, value_bytes=256 << 10)  # 8 GiB when a scan decodes it


def _rest(server, user, method, path, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(f"{server.url}api/mlgov/{path}", data=data, method=method,
                                 headers={"Authorization": f"token {user}-token",
                                          "Content-Type": "application/octet-stream" if raw is not None
                                          else "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _publish_bytes(server, user: str, name: str, content: bytes):
    status, up = _rest(server, user, "POST", "uploads", {"name": name})
    assert status == 201, up
    status, part = _rest(server, user, "PUT", f"uploads/{up['upload_id']}?offset=0", raw=content)
    assert status == 200, part
    return _rest(server, user, "POST", "assets", {"name": name, "format": "parquet", "upload": up["upload_id"]})


def _memory_mb(pid: int) -> dict:
    out = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) / 1024
    return out


def _workers(pid: int) -> list[int]:
    """The server's decode workers (its children running store/decode_worker.py)."""
    found = []
    for child in os.listdir("/proc"):
        if not child.isdigit():
            continue
        try:
            stat = open(f"/proc/{child}/stat").read()
            cmd = open(f"/proc/{child}/cmdline", "rb").read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"decode_worker" in cmd:
            found.append(int(child))
    return found


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"id": np.arange(n), "x": rng.normal(size=n), "s": rng.choice(["a", "b"], n)})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("bombs")
    live = LiveServer(root, config="c.MlgovApp.external_locations = {%r: {}}\n" % str(root / "shared"))
    (root / "shared").mkdir()
    yield live
    live.stop()


def test_a_lying_footer_at_publish_is_a_413_and_the_server_does_not_grow(server):
    alice = connect(server.url, "alice-token")
    alice.publish(_frame(1000), "warm")  # the server's own working set, before the bomb
    base = _memory_mb(server.proc.pid)
    bomb = lying_footer_parquet(**PUBLISH_BOMB)
    assert len(bomb) < 1_000
    t = time.perf_counter()
    status, body = _publish_bytes(server, "alice", "lying", bomb)
    took = time.perf_counter() - t
    assert status == 413, body
    assert body["message"] == "reading this Parquet content needs more than 1.0 GiB of memory (decode_max_memory)"
    after = _memory_mb(server.proc.pid)
    assert after["VmHWM"] - base["VmHWM"] < 100, (base, after, took)
    # nothing was stored or recorded, and every other call answers
    assert _rest(server, "alice", "GET", "assets/lying")[0] == 404
    assert alice.publish(_frame(2000), "after-bomb")["row_count"] == 2000
    assert len(alice.use("after-bomb")) == 2000


def test_a_lying_footer_registered_in_place_is_a_413(server):
    (server.root / "shared" / "lying.parquet").write_bytes(lying_footer_parquet(**PUBLISH_BOMB))
    alice = connect(server.url, "alice-token")
    base = _memory_mb(server.proc.pid)
    with pytest.raises(TooLarge, match=r"needs more than 1.0 GiB of memory \(decode_max_memory\)"):
        alice.register("lying-lake", str(server.root / "shared" / "lying.parquet"), format="parquet")
    assert _memory_mb(server.proc.pid)["VmHWM"] - base["VmHWM"] < 100
    pq.write_table(pa.table({"a": [1, 2, 3]}), server.root / "shared" / "fine.parquet")
    alice.register("fine-lake", str(server.root / "shared" / "fine.parquet"), format="parquet")
    assert alice.use("fine-lake")["a"].tolist() == [1, 2, 3]


def _stored(server, digest: str):
    return next(server.root.glob(f"data/**/sha256/{digest[:2]}/{digest}"))


def test_a_lying_file_in_the_store_is_a_413_at_use_and_the_next_use_works(server):
    """Content that got into the store (before this check, or put there behind the service's
    back) is decoded by `use` in a worker too: 8 GiB of text from a file of under 1 kB."""
    alice = connect(server.url, "alice-token")
    asset = alice.publish(pd.DataFrame({"s": ["short"] * 10}), "swapped")
    alice.publish(_frame(1000), "untouched")
    digest = asset["revisions"][-1]["content_hash"].split(":")[1]
    path = _stored(server, digest)
    path.chmod(0o600)
    path.write_bytes(lying_footer_parquet(**USE_BOMB))
    base = _memory_mb(server.proc.pid)
    for _ in range(2):  # the second one on a fresh worker
        with pytest.raises(TooLarge, match=r"^reading this Parquet content needs more than 1.0 GiB"):
            alice.use("swapped")
    assert _memory_mb(server.proc.pid)["VmHWM"] - base["VmHWM"] < 100
    assert alice.whoami()["name"] == "alice"
    assert len(alice.use("untouched")) == 1000
    # in a notebook: one UsageError line, and the kernel carries on
    kernel = Kernel(server, "alice-token")
    try:
        kernel.ok("%load_ext mlgov_jupyter")
        out = kernel.run("df = %mlgov use swapped")
        assert out["error"][:2] == ("UsageError", "reading this Parquet content needs more than 1.0 GiB of "
                                                  "memory (decode_max_memory)"), out
        assert kernel.ok("df = %mlgov use untouched\nprint(len(df))")["stdout"].strip().endswith("1000")
    finally:
        kernel.stop()


def test_a_worker_killed_mid_stream_breaks_that_stream_only(server):
    """A worker that dies while streaming (a segfault on a corrupt page; here SIGSEGV sent to it)
    ends that response (the headers are out); the client resumes the read from the rows it has
    (``start``, a fresh worker: 9678dc6) and gets every row once; the service stays up."""
    alice = connect(server.url, "alice-token")
    alice.publish(_frame(2_000_000), "long")
    batches = alice.use("long", as_="batches")
    rows = next(batches).num_rows
    killed = 0
    for pid in _workers(server.proc.pid):
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] in ("S", "R"):
            os.kill(pid, signal.SIGSEGV)
            killed += 1
    assert killed
    rows += sum(b.num_rows for b in batches)
    assert rows == 2_000_000
    assert "mlgov: alice resumes /api/mlgov/assets/long/data from row" in (server.root / "server.log").read_text()
    assert len(alice.use("long")) == 2_000_000
    assert server.proc.poll() is None


def test_a_crashed_worker_is_a_one_line_400_before_the_stream(tmp_path):
    """The same pool the service uses: a refusal before decoding (an unknown column) keeps its
    worker; a worker that dies before answering (SIGSEGV) is one Invalid line naming the signal,
    one that was killed (the kernel's OOM killer) a 413; the next call works."""
    from mlgov_jupyter.store.decode_worker import DecodePool
    from mlgov_jupyter.store.objects import ObjectStore

    objects = ObjectStore(str(tmp_path / "objects"), tmp_path / "staging")
    pq.write_table(pa.table({"a": list(range(100))}), tmp_path / "staging" / "a.parquet")
    pool = DecodePool(objects, None, 256 << 20, idle=1)
    try:
        digest = objects.adopt(_copy(objects, tmp_path / "staging" / "a.parquet"))[0]
        assert pool._idle == []  # started by the first call, then kept
        assert pool.describe_parquet(str(tmp_path / "staging" / "a.parquet"), None, None)[2] == 100
        worker = pool._idle[0]
        with pytest.raises(Invalid, match="^no column named 'nope' in this dataset$"):
            pool.scan({"digest": digest}, ["nope"], None, 1000)
        assert pool._idle == [worker] and worker.alive()  # a refusal before decoding keeps the worker
        scan = pool.scan({"digest": digest}, None, None, 1000)
        os.kill(scan.worker.proc.pid, signal.SIGSEGV)
        with pytest.raises(Invalid, match=r"^reading this Parquet content was stopped by SIGSEGV: the file is corrupt$"):
            list(scan.ipc_chunks())
        assert pool.describe_parquet(str(tmp_path / "staging" / "a.parquet"), None, None)[2] == 100
        scan = pool.scan({"digest": digest}, None, None, 1000)
        os.kill(scan.worker.proc.pid, signal.SIGKILL)
        with pytest.raises(TooLarge, match="needs more than 256 MiB of memory"):
            list(scan.ipc_chunks())
        assert pool.describe_parquet(str(tmp_path / "staging" / "a.parquet"), None, None)[2] == 100
    finally:
        pool.close()


def test_an_idle_worker_retires_and_the_next_call_starts_another(tmp_path):
    """A pool nobody calls any more (a service dropped, a quiet night) holds no process for long."""
    from mlgov_jupyter.store.decode_worker import IDLE_EXIT, DecodePool
    from mlgov_jupyter.store.objects import ObjectStore

    objects = ObjectStore(str(tmp_path / "objects"), tmp_path / "staging")
    pq.write_table(pa.table({"a": list(range(10))}), tmp_path / "staging" / "a.parquet")
    pool = DecodePool(objects, None, 256 << 20, idle=1, idle_seconds=2)
    try:
        assert pool.describe_parquet(str(tmp_path / "staging" / "a.parquet"), None, None)[2] == 10
        worker = pool._idle[0]
        assert worker.proc.wait(timeout=30) == IDLE_EXIT
        assert pool.describe_parquet(str(tmp_path / "staging" / "a.parquet"), None, None)[2] == 10
        assert pool._idle[0] is not worker
    finally:
        pool.close()


def _copy(objects, path):
    staged = objects.new_staging_file()
    staged.write_bytes(path.read_bytes())
    return staged


def _data_limit(pid: int) -> str:
    return next(line for line in open(f"/proc/{pid}/limits").read().splitlines() if line.startswith("Max data size"))


def test_a_worker_holds_the_object_store_and_nothing_else(tmp_path, monkeypatch):
    """No database URL, hub token or Jupyter token in its environment or arguments, no inherited
    descriptors beyond its pipes, no new privileges, its memory limit the configured one."""
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-secret-token")
    monkeypatch.setenv("MLGOV_DB_PASSWORD_PROBE", "db-secret")
    live = LiveServer(tmp_path, config="c.MlgovApp.decode_max_memory = 512 * 2**20\n")
    try:
        alice = connect(live.url, "alice-token")
        alice.publish(_frame(100), "small")
        assert len(alice.use("small")) == 100
        workers = _workers(live.proc.pid)
        assert workers
        # an upload starts two workers: the one that did not describe may still be warming up,
        # before its memory limit (set after pyarrow's thread pools start); wait for its ready state
        deadline = time.time() + 60
        while time.time() < deadline and any("unlimited" in _data_limit(pid) for pid in workers):
            time.sleep(0.2)
        for pid in workers:
            environ = open(f"/proc/{pid}/environ", "rb").read()
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
            for secret in (b"hub-secret-token", b"db-secret", live.token.encode(), b"alice-token", b"sqlite"):
                assert secret not in environ and secret not in cmdline
            names = {k.split(b"=")[0] for k in environ.split(b"\0") if k}
            # an allow-list, and the cloud credentials the object store's filesystem may read
            assert {n for n in names if not n.startswith((b"AWS_", b"AZURE_", b"GOOGLE_APPLICATION_"))} <= {
                b"PATH", b"LANG", b"LC_ALL", b"LC_CTYPE", b"TZ", b"TMPDIR", b"HOME", b"OMP_NUM_THREADS"}, names
            assert sorted(os.listdir(f"/proc/{pid}/fd")) == ["0", "1", "2"]
            status = open(f"/proc/{pid}/status").read()
            assert "NoNewPrivs:\t1" in status
            limits = open(f"/proc/{pid}/limits").read()
            data = next(line for line in limits.splitlines() if line.startswith("Max data size"))
            held = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmData"))
            assert 0 < int(data.split()[3]) - held <= 512 * 2**20  # the configured decode_max_memory
    finally:
        live.stop()


def test_a_lying_file_in_an_s3_store_or_registered_on_s3_is_a_413(s3, tmp_path):
    import pyarrow.fs as pafs

    options = s3.options()
    lake = f"s3://{s3.bucket}/lake/"
    live = LiveServer(tmp_path, config=f"c.MlgovApp.objects_url = 's3://{s3.bucket}/bombs'\n"
                                       f"c.MlgovApp.objects_options = {options!r}\n"
                                       f"c.MlgovApp.external_locations = {{{lake!r}: {options!r}}}\n")
    try:
        alice = connect(live.url, "alice-token")
        digest = alice.publish(pd.DataFrame({"s": ["short"] * 10}), "cloud-swapped")["revisions"][-1]["content_hash"]
        hexa = digest.split(":")[1]
        fs = pafs.S3FileSystem(**options)
        with fs.open_output_stream(f"{s3.bucket}/bombs/sha256/{hexa[:2]}/{hexa}") as out:
            out.write(lying_footer_parquet(**USE_BOMB))
        alice.publish(_frame(1000), "cloud-fine")
        base = _memory_mb(live.proc.pid)
        with pytest.raises(TooLarge, match="needs more than 1.0 GiB of memory"):
            alice.use("cloud-swapped")
        assert _memory_mb(live.proc.pid)["VmHWM"] - base["VmHWM"] < 100
        assert len(alice.use("cloud-fine")) == 1000

        # registered in place on S3: described by a worker too
        with fs.open_output_stream(f"{s3.bucket}/lake/lying/part-0.parquet") as out:
            out.write(lying_footer_parquet(**PUBLISH_BOMB))
        with pytest.raises(TooLarge, match="needs more than 1.0 GiB of memory"):
            alice.register("cloud-lying", lake + "lying/", format="parquet")
        assert _memory_mb(live.proc.pid)["VmHWM"] - base["VmHWM"] < 100
        assert len(alice.use("cloud-fine")) == 1000
    finally:
        live.stop()
