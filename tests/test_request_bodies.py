"""Request bodies and staging (red team F3, F7): a body is checked once its headers are in, before
it is read (strangers answered at once, memory does not grow), a body never grows past
max_body_bytes, a stalled body is dropped; the staging disk is bounded per user (atomically),
for all users, and by a free-space floor. Over real sockets to the real server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
import time

import psutil
import pytest

from mlgov_jupyter.core import models as m
from mlgov_jupyter.core.errors import TooLarge
from mlgov_jupyter.server import routes
from mlgov_jupyter.service import Actor

UPLOAD = "uploads/0123456789abcdef0123456789abcdef"


@pytest.fixture
def service(jp_serverapp):
    return jp_serverapp.web_app.settings["mlgov_service"]


@pytest.fixture
def listening(jp_serverapp, http_server_client):
    """The real server, listening on jp_http_port."""


async def _send(port, base, path, token, length, send, chunked=False):
    """Open a connection, send headers announcing ``length`` bytes (or chunked) and then up to
    ``send`` bytes of body in 1 MiB pieces (1 KiB chunks), reading all the while, stopping once an answer came
    or the server closed; the status and JSON message of the answer, or None if the connection
    was dropped without one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"PUT {base}api/mlgov/{path}?offset=0 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" \
           f"Authorization: token {token}\r\nContent-Type: application/octet-stream\r\n"
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {length}\r\n"
    writer.write((head + "\r\n").encode())
    answer = asyncio.ensure_future(reader.read(1 << 16))
    piece = b"\0" * (1 << 10 if chunked else 1 << 20)  # chunks of 1 KiB: tornado drops a larger one itself
    try:
        sent = 0
        while sent < send and not answer.done():
            n = min(len(piece), send - sent)
            writer.write(b"%x\r\n" % n + piece[:n] + b"\r\n" if chunked else piece[:n])
            await writer.drain()
            sent += n
    except (ConnectionError, OSError):
        pass
    try:
        raw = await asyncio.wait_for(answer, 10)
    except (ConnectionError, OSError):
        raw = b""
    finally:
        writer.close()
    if not raw:
        return None
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["message"]


async def test_strangers_large_bodies_are_refused_before_they_are_read(listening, jp_http_port, jp_base_url):
    """The red team's attack: 8 PUT uploads/<id> with a wrong token announcing 250 MiB each and
    sending 64 MiB (never the last byte): each is a 403 at once and the server does not grow."""
    rss = psutil.Process().memory_info().rss
    started = time.monotonic()
    answers = await asyncio.gather(*[
        _send(jp_http_port, jp_base_url, UPLOAD, "nobody", 250 << 20, 64 << 20) for _ in range(8)])
    took = time.monotonic() - started
    grown = psutil.Process().memory_info().rss - rss
    assert [a[0] for a in answers] == [403] * 8, answers
    assert grown < 100 << 20, f"the server grew by {grown >> 20} MiB"
    assert took < 10


async def test_a_declared_length_over_max_body_bytes_is_a_413_before_the_body(
        service, listening, jp_http_port, jp_base_url):
    service.limits = dataclasses.replace(service.limits, max_body_bytes=4096)
    started = time.monotonic()
    status, message = await _send(jp_http_port, jp_base_url, UPLOAD, "alice-token", 250 << 20, 0)
    assert (status, message) == (413, "the request body is 250.0 MiB; the mlgov server accepts at most "
                                      "4096 bytes (max_body_bytes)")
    assert time.monotonic() - started < 5  # answered without waiting for a byte of the body


def _real_upload(service) -> str:
    """An upload of alice's (a part for an upload that is not the caller's is refused before its body)."""
    return "uploads/" + service.start_upload(Actor("alice"), m.UploadStart(name="bodies"))["upload_id"]


async def test_a_chunked_body_stops_at_max_body_bytes(service, listening, jp_http_port, jp_base_url):
    service.limits = dataclasses.replace(service.limits, max_body_bytes=4096)
    answer = await _send(jp_http_port, jp_base_url, _real_upload(service), "alice-token", None, 64 << 10,
                         chunked=True)
    assert answer == (413, "the request body is over 4096 bytes; the mlgov server accepts at most "
                           "4096 bytes (max_body_bytes)")


async def test_a_stalled_body_is_dropped(service, monkeypatch, listening, jp_http_port, jp_base_url):
    monkeypatch.setattr(routes, "BODY_TIMEOUT", 0.5)
    upload = _real_upload(service)
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    writer.write(f"PUT {jp_base_url}api/mlgov/{upload}?offset=0 HTTP/1.1\r\nHost: 127.0.0.1:{jp_http_port}\r\n"
                 f"Authorization: token alice-token\r\nContent-Length: 1000\r\n\r\n".encode() + b"x" * 10)
    await writer.drain()
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, no answer
    assert time.monotonic() - started < 5
    writer.close()


async def test_authenticated_bodies_still_arrive(api):
    status, body, _ = await api("alice", "POST", "uploads", {"name": "arrives"})
    assert status == 201, body
    status, part, _ = await api("alice", "PUT", f"uploads/{body['upload_id']}", raw=b"x" * 300_000, offset=0)
    assert (status, part["size"]) == (200, 300_000), part


# ---- staging (F7) ---------------------------------------------------------------------------

def _limits(service, **values):
    service.limits = dataclasses.replace(service.limits, **values)


def test_all_users_staging_is_bounded(service):
    _limits(service, staging_max_bytes=1000)
    a = service.start_upload(Actor("alice"), m.UploadStart(name="one"))
    service.append_upload(Actor("alice"), a["upload_id"], 0, b"x" * 600)
    b = service.start_upload(Actor("bob"), m.UploadStart(name="two"))
    with pytest.raises(TooLarge, match=r"the staging area holds \d+ bytes of unfinished uploads; all users' "
                                       r"together may hold at most 1000 \(staging_max_bytes\)"):
        service.append_upload(Actor("bob"), b["upload_id"], 0, b"x" * 600)
    service.abort_upload(Actor("alice"), a["upload_id"])
    assert service.append_upload(Actor("bob"), b["upload_id"], 0, b"x" * 600)["size"] == 600


def test_a_part_keeps_the_free_space_floor(service):
    import shutil

    free = shutil.disk_usage(service.objects_store().staging).free
    _limits(service, staging_min_free_bytes=free + (1 << 30))
    up = service.start_upload(Actor("alice"), m.UploadStart(name="floor"))
    with pytest.raises(TooLarge, match=r"free; uploads keep at least \d+ free \(staging_min_free_bytes\)"):
        service.append_upload(Actor("alice"), up["upload_id"], 0, b"x")


def test_one_users_parallel_uploads_cannot_pass_their_total(service):
    """8 uploads of one user, each sent 400 bytes from its own thread at once, 1000 allowed:
    two pass, the others are refused (before, each upload's own lock let all 8 pass)."""
    _limits(service, upload_max_bytes=1000)
    ups = [service.start_upload(Actor("alice"), m.UploadStart(name=f"p{i}"))["upload_id"] for i in range(8)]
    barrier, outcomes = threading.Barrier(8), []

    def send(upload_id):
        barrier.wait()
        try:
            service.append_upload(Actor("alice"), upload_id, 0, b"x" * 400)
            outcomes.append("ok")
        except TooLarge:
            outcomes.append("413")

    threads = [threading.Thread(target=send, args=(u,)) for u in ups]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["413"] * 6 + ["ok"] * 2
    assert service._staged_bytes(Actor("alice")) == 800


def test_abandoned_uploads_are_swept_after_six_hours_of_no_parts(service):
    import os

    from mlgov_jupyter.service import uploads

    assert uploads.STALE_SECONDS == 6 * 3600
    staging = service.objects_store().staging
    old, live = (service.start_upload(Actor("alice"), m.UploadStart(name=n))["upload_id"] for n in ("old", "live"))
    seven_hours_ago = time.time() - 7 * 3600
    for f in staging.glob("*"):
        os.utime(f, (seven_hours_ago, seven_hours_ago))
    service.append_upload(Actor("alice"), live, 0, b"x")  # a part: the upload is not abandoned
    service.start_upload(Actor("alice"), m.UploadStart(name="next"))  # sweeps
    assert not (staging / f"{old}.part").exists() and not (staging / f"{old}.json").exists()
    assert service.upload_status(Actor("alice"), live)["size"] == 1


async def _two_gets(port, base, token):
    """Two keep-alive GETs of whoami on one connection: (the first answer's head, the second's
    status line, or b"" when the server closed the connection after the first)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: token {token}\r\n" if token else ""
    request = f"GET {base}api/mlgov/whoami HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n".encode()
    try:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        await reader.readexactly(length)
        try:
            writer.write(request)
            second = await asyncio.wait_for(reader.readline(), 10)
        except (ConnectionError, OSError):
            second = b""
        return head, second
    finally:
        writer.close()


async def test_a_refusal_before_the_request_is_read_says_the_connection_closes(listening, jp_http_port, jp_base_url):
    """A stranger's 403 (answered before tornado read the request, which then drops the connection)
    carries ``Connection: close``: a proxy pooling connections to the service does not put the next
    user's request on it (red team R20-2: ~9% of a user's calls through the hub's proxy got 503s
    while strangers were refused). A user's connection stays open."""
    for token in (None, "forged-token"):
        head, second = await _two_gets(jp_http_port, jp_base_url, token)
        assert head.startswith(b"HTTP/1.1 403") and re.search(rb"(?i)\r\nconnection: *close\r\n", head), head
        assert second == b""
    head, second = await _two_gets(jp_http_port, jp_base_url, "alice-token")
    assert head.startswith(b"HTTP/1.1 200") and not re.search(rb"(?i)\r\nconnection: *close", head)
    assert second.startswith(b"HTTP/1.1 200")
