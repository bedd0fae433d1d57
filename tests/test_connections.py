"""A stranger's half-sent requests cannot hold a shared jupyter server's file descriptors (red
team R11 F4): connections close after ``idle_connection_timeout`` without a request head, and
while descriptors run out the log gets one "Too many open files" record a minute, not one per
event-loop turn."""

from __future__ import annotations

import json
import resource
import socket
import time
import urllib.request

from tests.live import LiveServer


def _closed(s: socket.socket) -> bool:
    """Whether the server has closed ``s`` (after an answer, if it gave one)."""
    s.settimeout(0.5)
    try:
        while s.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except OSError:  # timed out: still open
        return False


def _whoami(server: LiveServer, timeout: float = 10) -> str:
    req = urllib.request.Request(server.url + "api/mlgov/whoami", headers={"Authorization": "token alice-token"})
    return json.loads(urllib.request.urlopen(req, timeout=timeout).read())["name"]


def test_half_sent_requests_are_closed_and_exhaustion_is_logged_once(tmp_path):
    server = LiveServer(tmp_path, config="c.MlgovApp.idle_connection_timeout = 2.0\n")
    socks = []
    try:
        resource.prlimit(server.proc.pid, resource.RLIMIT_NOFILE, (256, 256))
        host, port = "127.0.0.1", server.port
        for _ in range(400):  # more than the server's descriptors: it runs out
            try:
                s = socket.create_connection((host, port), timeout=5)
                s.sendall(b"GET /api/mlgov/whoami HTTP/1.1\r\nHost: x\r\n")  # never ends the head
                socks.append(s)
            except OSError:
                break
        time.sleep(4)  # past the timeout: the server closed the ones it accepted
        closed = sum(_closed(s) for s in socks[:100])
        assert closed >= 90, closed
        for s in socks:
            s.close()
        socks.clear()
        assert _whoami(server) == "alice"
        # a whole head, no token, and a body one byte short, to a path tornado reads bodies for
        # before any handler runs: dropped after the timeout too (red team R12 N1)
        for _ in range(100):
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"PUT /api/contents/x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100001\r\n\r\n"
                      + b"a" * 100_000)
            socks.append(s)
        time.sleep(4)
        closed = sum(_closed(s) for s in socks)
        assert closed >= 90, closed
        log = (tmp_path / "server.log").read_text(errors="replace")
        assert log.count("Too many open files") <= 6, log.count("Too many open files")
    finally:
        for s in socks:
            s.close()
        server.stop()
