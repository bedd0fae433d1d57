"""What one signed-in user may hold of the service (red team R11, issues 9 and 10): a JSON body is
small unless its route declares more, and its arrays and objects are counted before it is parsed
(F2); body bytes arriving are budgeted per user and for everyone (F6); streamed downloads take a
per-user and a global slot (F1); a reader slower than stream_min_rate is dropped, and `use` reads
leave decode_reserved workers to publishes (F5). All over real sockets to a real server, whose
memory is measured where the finding was about memory."""

from __future__ import annotations

import io
import json
import re
import os
import socket
import time
import urllib.error
import urllib.request

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import stream_limits
from live import TOKENS, LiveServer
from test_decode_fairness import _server_side_state

UPLOAD = "uploads/0123456789abcdef0123456789abcdef"


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


def _rss(server) -> int:
    return psutil.Process(server.proc.pid).memory_info().rss


def _timed(fn):
    t = time.monotonic()
    result = fn()
    return result, time.monotonic() - t


def _publish(server, user: str, name: str, content: bytes):
    status, up = _rest(server, user, "POST", "uploads", {"name": name})
    assert status == 201, up
    status, part = _rest(server, user, "PUT", f"uploads/{up['upload_id']}?offset=0", raw=content)
    assert status == 200, part
    status, body = _rest(server, user, "POST", "assets",
                         {"name": name, "format": "parquet", "upload": up["upload_id"]}, timeout=120)
    assert status == 201, body


def _random_parquet(mib: int = 24) -> bytes:
    """``mib`` MiB of incompressible Parquet: far more than a socket's buffers hold."""
    buf = io.BytesIO()
    pq.write_table(pa.table({"b": pa.array([os.urandom(1 << 20) for _ in range(mib)])}), buf, compression="none")
    return buf.getvalue()


def _zeros(rows: int = 5_000_000) -> bytes:
    col = pa.array([0] * rows, pa.int64())
    buf = io.BytesIO()
    pq.write_table(pa.table({"a": col, "b": col}), buf, row_group_size=1_000_000)
    return buf.getvalue()


def _open_read(server, user: str, name: str, form: str = "parquet") -> socket.socket:
    """A download of ``name`` whose reader takes the head, and then what the test reads."""
    s = socket.create_connection(("127.0.0.1", server.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(f"GET /api/mlgov/assets/{name}/data?format={form} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              f"Authorization: token {user}-token\r\n\r\n".encode())
    s.settimeout(30)
    head = s.recv(200)
    assert head.startswith(b"HTTP/1.1 200"), head
    return s


def _post(server, user: str, path: str, body: bytes) -> tuple[int, str]:
    """POST ``body`` as JSON in 1 MiB pieces, stopping once the server answered (it answers a
    refused body before reading it, and then closes); its status and message."""
    import select

    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(f"POST /api/mlgov/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {user}-token\r\n"
              f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    try:
        for at in range(0, len(body), 1 << 20):
            if select.select([s], [], [], 0)[0]:
                break
            s.sendall(body[at:at + (1 << 20)])
    except OSError:
        pass
    answer = _answer(s, 60)
    s.close()
    assert answer is not None, "no answer"
    return answer


def _upload(server, user: str) -> str:
    status, up = _rest(server, user, "POST", "uploads", {"name": f"up-{time.monotonic_ns()}"})
    assert status == 201, up
    return f"uploads/{up['upload_id']}"


def _put_head(server, user: str, length: int, path: str = UPLOAD, method: str = "PUT") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(f"{method} /api/mlgov/{path}?offset=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              f"Authorization: token {user}-token\r\n"
              f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n".encode())
    return s


def _answer(s: socket.socket, wait: float) -> tuple[int, str] | None:
    """The status and message the server sent on ``s`` within ``wait`` seconds, or None."""
    s.settimeout(wait)
    try:
        raw = s.recv(1 << 16)
    except (socket.timeout, ConnectionError):
        return None
    if not raw:
        return None
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["message"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("budgets"), config=(
        "c.MlgovApp.decode_workers = 2\nc.MlgovApp.decode_reserved = 1\nc.MlgovApp.decode_wait = 2\n"
        "c.MlgovApp.stream_per_user = 2\nc.MlgovApp.stream_max = 3\nc.MlgovApp.stream_max_lease = 0\n"
        f"c.MlgovApp.body_memory_total = {600 << 20}\n"))
    yield live
    live.stop()


# ---- F2: JSON bodies -------------------------------------------------------------------------

def test_a_json_bomb_is_a_413_before_it_is_read_and_the_server_does_not_grow(server):
    """R11's jsonbomb: 32 MiB of ``[[],[],...]`` to POST projects was parsed on the event loop
    (+926 MB, 14 s during which nobody was answered). Now a 413 at once, no growth."""
    bomb = b"[" + b"[]," * ((32 << 20) // 3) + b"[]]"
    rss = _rss(server)
    (status, body), took = _timed(lambda: _post(server, "bob", "projects", bomb))
    grown = _rss(server) - rss
    assert (status, body) == (413, "the request body is 32.0 MiB; the mlgov server accepts at most "
                                              "1.0 MiB (json_max_body_bytes)")
    assert took < 5 and grown < 50 << 20, (took, grown >> 20)


def test_arrays_and_objects_are_counted_before_parsing(server):
    """Under the size cap a body of ``[],`` would still make one list per 3 bytes: refused by count."""
    bomb = b"[" + b"[]," * 300_000 + b"[]]"
    status, body = _post(server, "bob", "projects", bomb)
    assert (status, body) == (413, "the request body holds 300002 JSON arrays and objects; the mlgov "
                                              "server accepts at most 100000 (json_max_containers)")
    # a document route (a monitor's baseline: up to 16 MiB) takes more than 1 MiB and is validated as usual
    big = json.dumps({"name": "m", "baseline": {"x": "v" * (3 << 20)}}).encode()
    status, body = _post(server, "bob", "monitors", big)
    assert status == 400 and "json_max_body_bytes" not in body, body
    assert _rest(server, "bob", "GET", "whoami")[0] == 200


def test_what_parsing_a_large_allowed_body_takes_is_budgeted(server):
    """A document route takes 17 MiB, and 17 MiB of ``[1.5,1.5,...]`` parse to ~280 MB: more than
    one user's body_memory_per_user (256 MiB), so a 413 before parsing; half of it parses (400 from
    the route's model) and the server gives the memory back to the budget."""
    body = b'{"baseline": [' + b"1.5," * ((17 << 20) // 4 - 10) + b"0]}"
    rss = _rss(server)
    status, message = _post(server, "bob", "monitors", body)
    assert status == 413 and message.startswith("parsing this request body would take about "), message
    assert message.endswith("of memory; one user may hold at most 256.0 MiB (body_memory_per_user): send fewer "
                            "JSON values"), message
    assert _rss(server) - rss < 100 << 20
    half = b'{"baseline": [' + b"1.5," * ((8 << 20) // 4) + b"0]}"
    for _ in range(2):  # the first one's reservation was given back
        status, message = _post(server, "bob", "monitors", half)
        assert status == 400 and "body_memory" not in message, message


# ---- F6: body bytes in flight ------------------------------------------------------------------

def test_one_user_cannot_hold_more_than_their_body_budget(server):
    """R11's bodies.py: 8 PUTs of 250 MiB by one user, each held one byte short, held 2 GB. Bytes
    are charged as they arrive: sent to all eight at once, each whose next read would pass
    body_memory_per_user (256 MiB) is a 503 and its bytes dropped, and the server grows by about
    that budget; another user still sends, and all together stay in body_memory_total's share
    for large bodies."""
    import threading

    upload = _upload(server, "alice")
    rss = _rss(server)
    socks = [_put_head(server, "alice", 250 << 20, upload) for _ in range(8)]
    assert [_answer(s, 0.3) for s in socks] == [None] * 8  # nothing is charged for a declared length
    chunk = b"\0" * (1 << 20)

    def send(s):  # all but the last byte, until the server cuts it off
        try:
            for _ in range(249):
                s.sendall(chunk)
            s.sendall(chunk[1:])
        except OSError:
            pass

    threads = [threading.Thread(target=send, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    answers = [_answer(s, 0.5) for s in socks]
    refused = [a for a in answers if a is not None]
    assert 6 <= len(refused) <= 7, answers  # one (or two) taken whole: 256 MiB per user
    assert all(a[0] == 503 and a[1].startswith("you already have ") and
               a[1].endswith("one user may have at most 256.0 MiB at once (body_memory_per_user): try again "
                             "when they are in") for a in refused), refused
    time.sleep(0.5)
    grown = _rss(server) - rss
    assert grown < 400 << 20, f"the server grew by {grown >> 20} MiB"  # was 2 GB; a refused body's bytes are dropped
    for s in socks:
        s.close()
    time.sleep(0.5)

    bob = _put_head(server, "bob", 250 << 20, _upload(server, "bob"))
    for _ in range(249):
        bob.sendall(chunk)
    bob.sendall(chunk[1:])
    assert _answer(bob, 0.5) is None  # bob's 250 MiB are in, one byte short
    carol = _put_head(server, "carol", 250 << 20, _upload(server, "carol"))
    try:
        for _ in range(250):
            carol.sendall(chunk)
    except OSError:
        pass  # refused part-way: the server closed the connection
    status, message = _answer(carol, 2)
    assert status == 503 and re.fullmatch(r"the service is receiving 4(49\.9|50\.0) MiB of request bodies, the most it "
                                          r"takes at once \(body_memory_total; a quarter of it is kept for small "
                                                "JSON bodies, one per user\): try again shortly", message), message
    # JSON bodies still go through
    assert _rest(server, "root", "POST", "projects", {"name": f"p{time.monotonic_ns()}"})[0] == 201
    for s in (bob, carol):
        s.close()
    time.sleep(0.5)
    again = _put_head(server, "alice", 250 << 20, upload)  # closed connections gave their bytes back
    assert _answer(again, 1) is None
    again.close()


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("tight"), config=(
        f"c.MlgovApp.body_memory_total = {8 << 20}\nc.MlgovApp.body_memory_per_user = {4 << 20}\n"
        "c.MlgovApp.bodies_per_user = 6\n"
        f"c.TokenIdentityProvider.tokens = {dict(TOKENS, **{f'u{i}-token': f'u{i}' for i in range(1, 10)})!r}\n"))
    yield live
    live.stop()


def test_declared_lengths_hold_no_budget(tight):
    """R12 N2: four users each declaring a large body and sending nothing made every POST and PUT
    of everyone else a 503 for 60 s (the declared lengths were reserved). Now a declared length
    holds nothing: their requests stay open, and a fifth user's JSON and raw bodies go
    through."""
    uploads = {u: _upload(tight, u) for u in ("u1", "u2", "u3", "u4", "u9")}
    held = [_put_head(tight, u, 4 << 20, uploads[u]) for u in ("u1", "u2", "u3", "u4")]
    assert [_answer(s, 0.3) for s in held] == [None] * 4
    status, body = _rest(tight, "u9", "POST", "projects", {"name": "n2"})
    assert status == 201, body
    status, body = _rest(tight, "u9", "PUT", f"{uploads['u9']}?offset=0", raw=b"x" * 1000)
    assert status == 200, body
    for s in held:
        s.close()


def test_connections_that_send_nothing_hold_no_budget(tight):
    """R13 P2-2: each connection was charged a 64 KiB read window before a byte arrived, so 3
    users x 4,096 PUTs sending nothing filled the large-body pool and everyone's upload part was
    a 503 for 60 s. Now only bytes that arrived are charged, and one user may send at most
    bodies_per_user (8; 6 here) bodies at once (the next is a 503 at once): here 3 users x 40 such
    PUTs (7.5 MiB of windows against 6 MiB before) leave u9's upload part going through."""
    uploads = {u: _upload(tight, u) for u in ("u1", "u2", "u3", "u9")}
    held = [_put_head(tight, u, 4 << 20, uploads[u]) for u in ("u1", "u2", "u3") for _ in range(40)]
    time.sleep(1)
    answers = [_answer(s, 0.01) for s in held]
    refused = [a for a in answers if a is not None]
    assert len(refused) == 3 * 34, answers[:10]
    assert all(a[0] == 503 and a[1].startswith("you are already sending 6 request bodies") for a in refused), refused[:3]
    status, body = _rest(tight, "u9", "PUT", f"{uploads['u9']}?offset=0", raw=b"x" * 1000)
    assert status == 200, body
    for s in held:
        s.close()
    deadline = time.monotonic() + 10  # the server sees the closes: the users' bodies end
    while time.monotonic() < deadline and _rest(tight, "u1", "POST", "uploads", {"name": "after"})[0] != 201:
        time.sleep(0.2)


def test_large_bodies_never_take_what_small_json_bodies_need(tight):
    """R12 N2 with bytes sent: large bodies held one byte short fill their three quarters of
    body_memory_total (6 of 8 MiB); a further large body is a 503, but a user who holds nothing
    still gets their small JSON body through (the kept quarter), and one who holds a large body
    does not."""
    uploads = {u: _upload(tight, u) for u in ("u1", "u2", "u9")}
    first = _put_head(tight, "u1", 4 << 20, uploads["u1"])
    first.sendall(b"\0" * ((4 << 20) - 1))
    second = _put_head(tight, "u2", 2 << 20, uploads["u2"])
    second.sendall(b"\0" * ((2 << 20) - 1))
    assert _answer(first, 0.3) is None and _answer(second, 0.1) is None
    status, body = _rest(tight, "u9", "PUT", f"{uploads['u9']}?offset=0", raw=b"x" * 1000)
    assert status == 503 and body["message"].startswith("the service is receiving 6.0 MiB"), body
    status, body = _rest(tight, "u9", "POST", "projects", {"name": "small-first"})
    assert status == 201, body
    status, body = _rest(tight, "u2", "POST", "projects", {"name": "holder"})
    assert status == 503 and "body_memory_total" in body["message"], body
    first.close()
    second.close()
    time.sleep(0.3)
    status, body = _rest(tight, "u9", "PUT", f"{uploads['u9']}?offset=0", raw=b"x" * 1000)
    assert status == 200, body



def test_a_part_for_someone_elses_or_no_upload_is_refused_before_its_body(server):
    """R11: a PUT to a made-up upload id was buffered whole before the route said 404. Now the
    upload (and a capture's deployment) is checked once the headers are in: answered at once,
    without reading the body, and nothing counted against the sender's budget."""
    alices = _upload(server, "alice")
    for user, path, method, expected in [
            ("alice", UPLOAD, "PUT", "no upload 0123456789abcdef0123456789abcdef (finished, aborted or expired)"),
            ("bob", alices, "PUT", f"upload {alices.split('/')[1]} is not yours"),
            ("bob", "deployments/nowhere/capture", "POST", "no deployment named 'nowhere' (see %mlgov deploy --list)")]:
        started = time.monotonic()
        s = _put_head(server, user, 250 << 20, path, method)
        answer = _answer(s, 2)
        s.close()
        assert answer is not None and time.monotonic() - started < 2, (path, answer)
        assert answer[1] == expected and answer[0] in (403, 404), answer


def test_a_body_no_budget_could_hold_is_a_413_not_a_503():
    """A server configured with max_body_bytes above body_memory_per_user: such a body can never
    be taken, so 'try again' would be wrong."""
    from mlgov_jupyter.core.errors import TooLarge, Unavailable
    from mlgov_jupyter.server.budgets import BodyBudget

    budget = BodyBudget()
    with pytest.raises(TooLarge, match=r"^the request body is 300.0 MiB; one user may send at most 256.0 MiB at "
                                       r"once \(body_memory_per_user, body_memory_total\)$"):
        budget.reserve("alice", 300 << 20, 256 << 20, 1 << 30)
    budget.reserve("alice", 200 << 20, 256 << 20, 1 << 30)
    with pytest.raises(Unavailable):
        budget.reserve("alice", 100 << 20, 256 << 20, 1 << 30)
    budget.release("alice", 200 << 20)
    budget.reserve("alice", 100 << 20, 256 << 20, 1 << 30)
    assert (budget.total, dict(budget.by_user)) == (100 << 20, {"alice": 100 << 20})


# ---- F1: streamed downloads take slots ---------------------------------------------------------

def test_downloads_take_a_slot_per_user_and_overall(server):
    """R11's pqslow: 200 slow readers of one's own dataset grew the service by 2.4 GB. Now one user
    streams at most stream_per_user at once (a 503 at once beyond), everyone stream_max (a wait of
    decode_wait, then a 503); a finished or dropped download gives its slot back."""
    content = _random_parquet()
    _publish(server, "alice", "big-a", content)
    _publish(server, "bob", "big-b", content)
    rss = _rss(server)
    held = [_open_read(server, "alice", "big-a") for _ in range(2)]
    (status, body), took = _timed(lambda: _rest(server, "alice", "GET", "assets/big-a/data?format=parquet"))
    assert (status, body["message"]) == (503, "you already have 2 downloads in progress (the most one user may "
                                              "have at once: stream_per_user); try again when one ends")
    assert took < 1
    held.append(_open_read(server, "bob", "big-b"))
    (status, body), took = _timed(lambda: _rest(server, "bob", "GET", "assets/big-b/data?format=parquet"))
    assert (status, body["message"]) == (503, "the service is busy streaming (3 downloads in progress: "
                                              "stream_max); try again")
    assert 1.5 < took < 5
    assert _rest(server, "bob", "GET", "whoami")[0] == 200
    assert _rss(server) - rss < 100 << 20  # three held streams of 1 MiB pieces
    held.pop(0).close()
    time.sleep(0.5)
    status, data = _rest(server, "bob", "GET", "assets/big-b/data?format=parquet")
    assert status == 200 and data == content
    for s in held:
        s.close()


# ---- F5: `use` reads leave workers to publishes ------------------------------------------------

def test_use_reads_leave_the_reserved_workers_to_publishes(server):
    """R11's slowdos: slow `use` reads held every decode worker and every publish was a 503. With 2
    workers and decode_reserved 1, one held read takes the reads' share: another read waits and is
    a 503 naming decode_reserved, while a publish still goes through."""
    _publish(server, "carol", "zeros", _zeros())
    held = _open_read(server, "carol", "zeros", "arrow")
    (status, body), took = _timed(lambda: _rest(server, "carol", "GET", "assets/zeros/data?format=arrow"))
    assert (status, body["message"]) == (503, "the service is busy decoding (1 read in progress; decode_reserved "
                                              "workers are kept for publish and capture); try again"), body
    assert 1.5 < took < 5
    (_, took) = _timed(lambda: _publish(server, "alice", "small", _zeros(1000)))
    assert took < 20
    held.close()


@pytest.fixture(scope="module")
def rate_server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("rate"), config=(
        f"c.MlgovApp.stream_min_rate = {256 << 10}\nc.MlgovApp.stream_rate_window = 3\n"))
    yield live
    live.stop()


def test_a_reader_slower_than_stream_min_rate_is_dropped(rate_server):
    """A reader taking 2 KB/s (progress, so the drain deadline never fired) is dropped after
    stream_rate_window seconds of waiting on it; its slot is free again; a reader that keeps up
    gets the whole file."""
    content = _random_parquet()
    _publish(rate_server, "alice", "big", content)
    log = rate_server.root / "server.log"
    slow = [_open_read(rate_server, "alice", "big") for _ in range(4)]  # stream_per_user: 4 by default
    deadline = time.monotonic() + 20
    while log.read_text().count("under stream_min_rate") < 4:
        assert time.monotonic() < deadline, "no slow reader was dropped"
        for s in slow:
            s.recv(1024)
        time.sleep(0.5)
    for s in slow:
        s.close()
    time.sleep(0.3)
    status, data = _rest(rate_server, "alice", "GET", "assets/big/data?format=parquet")
    assert status == 200 and data == content


# ---- R12 N3: slots are leased while others wait, and granted fairly by user -------------------

@pytest.fixture(scope="module")
def lease_server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("lease"), config=stream_limits(3, 3, decode_wait=15))
    yield live
    live.stop()


def test_streams_held_past_stream_max_lease_are_cut_for_those_waiting(lease_server):
    """R12 N3: readers just above stream_min_rate held every stream slot for the ~11 min their
    downloads took, and everyone else's download was a 503 after decode_wait. Now, while someone
    waits, the stream held longest past stream_max_lease (3 s here) is cut: alice holds all 3
    slots and asks a fourth, bob asks a first; bob's download comes within seconds, whole, and
    alice's oldest stream is cut (its connection closed; the log says why)."""
    import threading

    content = _random_parquet()
    _publish(lease_server, "alice", "big-a", content)
    _publish(lease_server, "bob", "big-b", content)
    held = [_open_read(lease_server, "alice", "big-a") for _ in range(3)]
    fourth = threading.Thread(target=_rest, args=(lease_server, "alice", "GET", "assets/big-a/data?format=parquet"))
    fourth.start()
    time.sleep(0.3)
    (status, data), took = _timed(lambda: _rest(lease_server, "bob", "GET", "assets/big-b/data?format=parquet"))
    assert status == 200 and data == content
    assert took < 10, took  # a 503 after decode_wait (15 s) before
    # alice's oldest stream was cut: the server closed its end (what the kernel buffered still drains)
    assert _server_side_state(lease_server.port, held[0].getsockname()[1]) != "ESTABLISHED"
    assert "was cut: others waited for a slot and alice held the most, above a fair share (stream_max_lease 3 s)" in (lease_server.root / "server.log").read_text()
    fourth.join(30)
    for s in held:
        s.close()


def test_a_waiter_whose_user_holds_fewer_slots_goes_first():
    """Stream slots and decode read slots are granted by how many the waiter's user holds, then
    by arrival: alice and carol hold both slots, alice asks again before bob; when carol's slot is
    free, bob (who holds none) gets it, not alice (who holds one)."""
    import asyncio
    import threading

    from mlgov_jupyter.server.budgets import StreamSlots
    from mlgov_jupyter.store.fair_slots import FairSlots

    async def streams():
        slots = StreamSlots()
        first = await slots.acquire("alice", 4, 2, 5)
        token = await slots.acquire("carol", 4, 2, 5)
        alice = asyncio.ensure_future(slots.acquire("alice", 4, 2, 5))
        await asyncio.sleep(0.1)
        bob = asyncio.ensure_future(slots.acquire("bob", 4, 2, 5))
        await asyncio.sleep(0.1)
        slots.release(token)
        done, _ = await asyncio.wait([alice, bob], return_when=asyncio.FIRST_COMPLETED)
        assert done == {bob}
        slots.release(first)
        slots.release(bob.result())
        slots.release(await alice)

    asyncio.run(streams())

    reads = FairSlots(2)
    assert reads.acquire("alice", 1) and reads.acquire("carol", 1)
    order = []
    for user in ("alice", "bob"):
        threading.Thread(target=lambda u=user: order.append(u) if reads.acquire(u, 5) else None).start()
        time.sleep(0.1)
    assert reads.waiting() == 2
    reads.release("carol")
    time.sleep(0.2)
    assert order == ["bob"]
    reads.release("bob")
    time.sleep(0.2)
    assert order == ["bob", "alice"]


def test_the_lease_cuts_by_fair_share_not_an_honest_users_only_stream():
    """R13 P2-3: attackers held every slot but one, restarted their own streams before the lease
    and kept a waiter; the victim's long download was then the only stream past the lease, and
    the lease (by age) cut it. Now a cut goes to the user holding the most above a fair share,
    never a user's only stream: carol's old stream is left alone, mallory's fresh ones are not
    cut before their lease, then her oldest is. The decode read slots choose the same way."""
    import asyncio

    from mlgov_jupyter.server.budgets import StreamSlots
    from mlgov_jupyter.store.fair_slots import preempt_by_share

    async def streams():
        slots, cut = StreamSlots(), []
        carol = await slots.acquire("carol", 4, 4, 5, 0.5, lambda: cut.append("carol"))
        await asyncio.sleep(0.6)  # carol's download is past the lease
        mallory = [await slots.acquire("mallory", 4, 4, 5, 0.5, lambda i=i: cut.append(f"mallory{i}"))
                   for i in range(3)]
        waiter = asyncio.ensure_future(slots.acquire("mike", 4, 4, 5, 0.5))
        await asyncio.sleep(0.3)
        assert cut == []  # by age, carol's stream was cut here
        await asyncio.sleep(0.5)
        assert cut == ["mallory0"]
        slots.release(mallory[0])
        slots.release(await waiter)
        for token in [carol] + mallory[1:]:
            slots.release(token)

    asyncio.run(streams())
    old, new = 0.0, 9.0
    # carol's one read, mallory's three fresh ones: nothing to cut; once hers are old, one of them
    assert preempt_by_share([("c", "carol", old)] + [(f"m{i}", "mallory", new) for i in range(3)],
                            ["mike"], 4, 5.0, 10.0, 1) == []
    assert preempt_by_share([("c", "carol", old)] + [(f"m{i}", "mallory", new + i) for i in range(3)],
                            ["mike"], 4, 5.0, 20.0, 1) == ["m0"]
    # two users at their share: a waiter holding one gains nothing from a cut
    assert preempt_by_share([("a", "alice", old), ("b", "bob", old)], ["bob"], 2, 5.0, 20.0, 1) == []
    # nobody else above their share: a user's own newer call takes the place of their own oldest
    assert preempt_by_share([("c", "carol", old), ("m0", "mallory", old + 1), ("m1", "mallory", old)],
                            ["mallory", "carol"], 4, 5.0, 20.0, 2) == ["m1"]
