"""One user cannot take the data plane from the others (red team of issue 10): decode workers are
capped per user, a call waits for one a bounded time on threads of its own, a reader that takes no
data is dropped; a describe has a CPU deadline; a summary holds no whole long values. All through
a real server, its real decode workers and real sockets."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from live import LiveServer

from mlgov_jupyter.service.base import Limits


def _rest(server, user, method, path, body=None, raw: bytes | None = None, timeout: float = 60):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(f"{server.url}api/mlgov/{path}", data=data, method=method,
                                 headers={"Authorization": f"token {user}-token",
                                          "Content-Type": "application/octet-stream" if raw is not None
                                          else "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            return r.status, (json.loads(body or b"null") if "json" in r.headers.get("Content-Type", "") else body)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _publish(server, user: str, name: str, content: bytes):
    status, up = _rest(server, user, "POST", "uploads", {"name": name})
    assert status == 201, up
    status, part = _rest(server, user, "PUT", f"uploads/{up['upload_id']}?offset=0", raw=content)
    assert status == 200, part
    return _rest(server, user, "POST", "assets", {"name": name, "format": "parquet", "upload": up["upload_id"]},
                 timeout=120)


def _parquet(table: pa.Table, **kw) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kw)
    return buf.getvalue()


def _zeros(rows: int = 5_000_000) -> bytes:
    """A small file whose Arrow stream is rows * 16 bytes (80 MB): far more than pipes and sockets hold."""
    col = pa.array([0] * rows, pa.int64())
    return _parquet(pa.table({"a": col, "b": col}), row_group_size=1_000_000)


def _never_read(server, user: str, name: str) -> socket.socket:
    """A `use` of ``name`` whose reader takes the headers and then nothing."""
    s = socket.create_connection(("127.0.0.1", server.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(f"GET /api/mlgov/assets/{name}/data?format=arrow HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              f"Authorization: token {user}-token\r\n\r\n".encode())
    s.settimeout(30)
    head = s.recv(200)
    assert head.startswith(b"HTTP/1.1 200"), head
    return s


def _server_side_state(server_port: int, client_port: int) -> str:
    """The TCP state of the server's end of a loopback connection (from /proc/net/tcp)."""
    states = {"01": "ESTABLISHED", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE",
              "08": "CLOSE_WAIT", "09": "LAST_ACK", "0B": "CLOSING"}
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return states.get(state, state)
    return "GONE"


def _timed(fn):
    t = time.monotonic()
    result = fn()
    return result, time.monotonic() - t


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("fair")
    live = LiveServer(root, config="c.MlgovApp.decode_workers = 3\nc.MlgovApp.decode_per_user = 2\n"
                                   "c.MlgovApp.decode_reserved = 0\n"
                                   "c.MlgovApp.decode_wait = 2\nc.MlgovApp.decode_drain_seconds = 10\n"
                                   "c.MlgovApp.stream_max_lease = 0\n")
    yield live
    live.stop()


def test_one_users_never_read_streams_take_two_workers_and_are_dropped_when_they_stall(server):
    """F2: carol's third read is a 503 at once; alice's reads and every other route go on; when
    every worker is held a read waits decode_wait and is a 503 (not a hung thread); a reader that
    takes nothing for decode_drain_seconds is dropped (connection closed, worker freed)."""
    assert _publish(server, "carol", "zeros", _zeros())[0] == 201
    assert _publish(server, "bob", "zeros-b", _zeros())[0] == 201
    small = _parquet(pa.table({"x": list(range(10))}))
    assert _publish(server, "alice", "small", small)[0] == 201

    held = [_never_read(server, "carol", "zeros") for _ in range(2)]
    (status, body), took = _timed(lambda: _rest(server, "carol", "GET", "assets/zeros/data?format=arrow"))
    assert status == 503 and body["message"].startswith("you already have 2 reads in progress"), body
    assert took < 2
    (status, _), took = _timed(lambda: _rest(server, "alice", "GET", "whoami"))
    assert status == 200 and took < 2
    (status, data), took = _timed(lambda: _rest(server, "alice", "GET", "assets/small/data?format=arrow"))
    assert status == 200 and pa.ipc.open_stream(data).read_all().num_rows == 10 and took < 5

    held.append(_never_read(server, "bob", "zeros-b"))  # every worker held now
    (status, body), took = _timed(lambda: _rest(server, "alice", "GET", "assets/small/data?format=arrow"))
    assert status == 503 and body["message"].startswith("the service is busy decoding"), body
    assert 1.5 < took < 6
    (status, _), took = _timed(lambda: _rest(server, "alice", "GET", "whoami"))
    assert status == 200 and took < 2  # the threads every other route uses are free

    # the drain deadline: the stalled readers are cut off and their workers freed
    log = server.root / "server.log"
    deadline = time.monotonic() + 30
    while log.read_text().count("dropped: the reader took no data for 10 s") < 3:
        assert time.monotonic() < deadline, "no stalled read was dropped"
        time.sleep(0.5)
    for s in held:  # the server closed its end (FIN sent; what the kernel buffered still drains)
        assert _server_side_state(server.port, s.getsockname()[1]) != "ESTABLISHED"
        s.close()
    (status, data), took = _timed(lambda: _rest(server, "alice", "GET", "assets/small/data?format=arrow"))
    assert status == 200 and pa.ipc.open_stream(data).read_all().num_rows == 10 and took < 5
    # carol's slots are free again (not "you already have 2 reads"), and a read that keeps up is not cut off
    status, data = _rest(server, "carol", "GET", "assets/zeros/data?format=arrow", timeout=120)
    assert status == 200 and pa.ipc.open_stream(data).read_all().num_rows == 5_000_000


def test_a_slow_reader_that_keeps_taking_data_is_not_dropped(server):
    """F2's drain deadline counts bytes the reader takes, not frames: a reader taking a few kB at a
    time for longer than decode_drain_seconds (10 s) within one 8 MiB frame keeps its stream."""
    assert _publish(server, "carol", "zeros-slow", _zeros())[0] == 201
    log = server.root / "server.log"
    dropped = log.read_text().count("dropped: the reader took no data")
    s = _never_read(server, "carol", "zeros-slow")
    got, end = 0, time.monotonic() + 25
    while time.monotonic() < end:
        got += len(s.recv(4096))
        time.sleep(0.05)
    assert _server_side_state(server.port, s.getsockname()[1]) == "ESTABLISHED"
    assert log.read_text().count("dropped: the reader took no data") == dropped
    assert 0 < got < 8 << 20  # still inside the first frame(s): the generator did not advance for 25 s
    s.close()


def test_summaries_show_long_text_cut_and_drop_top_lists_past_their_size_cap(server):
    """F5: a top value is at most 200 characters (ending in "…"); a summary over 256 KB leaves its
    top lists out; the asset detail stays small."""
    values = [chr(ord("a") + i) * 100_000 for i in range(5)]
    assert _publish(server, "alice", "long-text", _parquet(pa.table({"t": values})))[0] == 201
    status, detail = _rest(server, "alice", "GET", "assets/long-text")
    assert status == 200
    top = detail["summary"]["t"]["top"]
    assert len(top) == 5 and all(len(v["value"]) == 200 and v["value"].endswith("…") for v in top)
    assert detail["summary"]["t"]["max_length"] == 100_000

    wide = pa.table({f"c{i}": [f"{i}-{j}-" + "v" * 1000 for j in range(5)] for i in range(300)})
    assert _publish(server, "alice", "wide-text", _parquet(wide, compression="zstd"))[0] == 201
    req = urllib.request.Request(f"{server.url}api/mlgov/assets/wide-text",
                                 headers={"Authorization": "token alice-token"})
    raw = urllib.request.urlopen(req, timeout=60).read()
    detail = json.loads(raw)
    assert len(json.dumps(detail["summary"])) <= 256 << 10
    assert len(raw) < 400 << 10, len(raw)
    info = detail["summary"]["c7"]
    assert info["top_omitted"] is True and "top" not in info and info["distinct"] == 5


def _two_read_slots(tmp_path_factory, name: str, wait: int, lease: int):
    """A server with two decode workers, both for reads, three reads per user at most."""
    live = LiveServer(tmp_path_factory.mktemp(name), config=(
        "c.MlgovApp.decode_workers = 2\nc.MlgovApp.decode_reserved = 0\nc.MlgovApp.decode_per_user = 3\n"
        f"c.MlgovApp.decode_wait = {wait}\nc.MlgovApp.stream_max_lease = {lease}\nc.MlgovApp.stream_min_rate = 0\n"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def lease_server(tmp_path_factory):
    yield from _two_read_slots(tmp_path_factory, "lease", wait=15, lease=3)


def test_reads_held_past_stream_max_lease_are_cut_for_a_user_waiting(lease_server):
    """R12 N3: 3 users x 2 `use` reads taken just above stream_min_rate held every read slot, and
    everyone else's `use` was a 503 after decode_wait, for as long as the reads took (~11 min).
    Now, while someone waits for a read slot, the read held longest past stream_max_lease (3 s
    here) is cut: bob holds both read slots (his client's `use` and a raw reader) and asks a
    third; carol's `use` is served within seconds; bob's oldest read breaks off, and his client
    resumes it from the rows it received (red team R14 finding 5: before, it failed with "try
    again"), so his `use` still returns every row."""
    from mlgov_jupyter.kernel.client import connect

    assert _publish(lease_server, "bob", "zeros", _zeros())[0] == 201
    assert _publish(lease_server, "carol", "small", _parquet(pa.table({"x": list(range(10))})))[0] == 201
    batches = connect(lease_server.url, "bob-token").use("zeros", as_="batches")
    rows = next(batches).num_rows  # the oldest read: the client takes one batch, then nothing
    held = [_never_read(lease_server, "bob", "zeros")]
    third = threading.Thread(target=_rest, args=(lease_server, "bob", "GET", "assets/zeros/data?format=arrow"))
    third.start()
    time.sleep(0.3)
    (status, data), took = _timed(lambda: _rest(lease_server, "carol", "GET", "assets/small/data?format=arrow"))
    assert status == 200 and pa.ipc.open_stream(data).read_all().num_rows == 10, (status, data)
    assert took < 10, took  # a 503 after decode_wait (15 s) before
    for s in held:
        s.close()
    rows += sum(batch.num_rows for batch in batches)
    assert rows == 5_000_000
    assert "mlgov: bob resumes /api/mlgov/assets/zeros/data from row" in (lease_server.root / "server.log").read_text()
    third.join(60)
    for s in held:
        s.close()


def test_the_read_lease_never_cuts_a_users_only_read(lease_server):
    """R13 P2-3 (the `use` variant): by age, the read held longest past the lease was cut, so
    attackers restarting their own reads aimed the lease at an honest long one. Now a cut goes to
    the user holding the most above a fair share, never a user's only read: carol's old read
    stays while bob, holding the other slot, waits for a second."""
    assert _publish(lease_server, "carol", "czeros", _zeros())[0] == 201
    carol = _never_read(lease_server, "carol", "czeros")
    time.sleep(3.5)  # past stream_max_lease (3 s)
    bob = _never_read(lease_server, "bob", "zeros")
    second = threading.Thread(target=_rest, args=(lease_server, "bob", "GET", "assets/zeros/data?format=arrow"))
    second.start()
    time.sleep(5)
    assert _server_side_state(lease_server.port, carol.getsockname()[1]) == "ESTABLISHED"
    carol.close()
    second.join(60)
    bob.close()


@pytest.fixture(scope="module")
def cpu_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("cpu")
    live = LiveServer(root, config="c.MlgovApp.decode_timeout = 1\n")
    yield live
    live.stop()


def _cpu_bomb(row_groups: int = 30) -> bytes:
    """2.6 MB of Parquet: 300M rows of two constant int64 columns (4.5 GiB decoded, seconds of CPU)."""
    chunk = pa.array([0] * 10_000_000, pa.int64())
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, pa.schema([("a", pa.int64()), ("b", pa.int64())]), compression="zstd") as w:
        for _ in range(row_groups):
            w.write_table(pa.table({"a": chunk, "b": chunk}), row_group_size=10_000_000)
    return buf.getvalue()


def test_a_describe_past_decode_timeout_is_a_413_and_one_user_describes_two_at_once(cpu_server):
    """F6: three publishes of a small file that takes seconds of CPU to describe, at once, by one
    user: one is a 503 at once (two describes per user), the others a one-line 413 naming
    decode_timeout; another user's call is not held."""
    assert Limits().publish_max_decoded_bytes == 16 << 30
    data = _cpu_bomb()
    uploads = []
    for i in range(3):
        status, up = _rest(cpu_server, "bob", "POST", "uploads", {"name": f"cpu{i}"})
        assert status == 201
        assert _rest(cpu_server, "bob", "PUT", f"uploads/{up['upload_id']}?offset=0", raw=data)[0] == 200
        uploads.append(up["upload_id"])
    results = {}

    def publish(i):
        results[i] = _timed(lambda: _rest(cpu_server, "bob", "POST", "assets",
                                          {"name": f"cpu{i}", "format": "parquet", "upload": uploads[i]},
                                          timeout=120))

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.3)
    (status, _), took = _timed(lambda: _rest(cpu_server, "alice", "GET", "whoami"))
    assert status == 200 and took < 3
    for t in threads:
        t.join(120)
    answers = sorted(results.values(), key=lambda r: r[0][0])
    statuses = [a[0][0] for a in answers]
    assert statuses == [413, 413, 503], answers
    assert all(a[0][1]["message"] == "describing this content takes longer than decode_timeout (1 s of CPU)"
               for a in answers[:2]), answers
    assert answers[2][0][1]["message"].startswith("you already have 2 reads in progress")
    # the service answers the next publish of honest content
    assert _publish(cpu_server, "bob", "fine", _parquet(pa.table({"x": [1, 2, 3]})))[0] == 201


@pytest.fixture(scope="module")
def wait_server(tmp_path_factory):
    yield from _two_read_slots(tmp_path_factory, "wait", wait=8, lease=0)


def test_a_read_waiting_for_a_slot_holds_no_transaction(wait_server):
    """A `use` that waits for a read slot waited inside its write transaction, which on SQLite
    locks the store: while bob held both read slots and carol's read waited, alice's writes were
    stalled until carol's wait ended (decode_wait, 8 s here). The worker is now leased before the
    transaction: alice's project is created at once, and carol's read is a 503 after its wait."""
    assert _publish(wait_server, "bob", "zeros", _zeros())[0] == 201
    assert _publish(wait_server, "carol", "small", _parquet(pa.table({"x": list(range(10))})))[0] == 201
    held = [_never_read(wait_server, "bob", "zeros") for _ in range(2)]
    time.sleep(0.5)
    waiting = threading.Thread(target=_rest, args=(wait_server, "carol", "GET", "assets/small/data?format=arrow"))
    waiting.start()
    time.sleep(1.0)  # carol's read is waiting for a slot
    (status, body), took = _timed(lambda: _rest(wait_server, "alice", "POST", "projects", {"name": "while-waiting"}))
    assert status == 201 and took < 3, (status, body, took)
    waiting.join(30)
    for s in held:
        s.close()
