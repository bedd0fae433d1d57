"""Strangers cannot fill a server with connections or buffered bodies (red team R12 N4, N1):
per peer address, connections on which no request has been authenticated are capped (a new one
closes the peer's oldest), must send their first head within ``header_timeout``, and, on a
shared jupyter server, a body without credentials to a non-mlgov path is capped at
``unauthenticated_body_bytes`` before it is read. Signed-in connections are not counted."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from tests.live import LiveServer, free_port
from tests.test_connections import _closed

HALF_HEAD = b"GET /services/mlgov/api/mlgov/whoami HTTP/1.1\r\nHost: x\r\n"  # never ends the head


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _open_half(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(HALF_HEAD)
        socks.append(s)
    return socks


def _open_now(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server has not closed (a quick look, no waiting)."""
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            n += s.recv(1) != b""
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def _serve(tmp_path, *args):
    port = free_port()
    env = dict(os.environ, JUPYTERHUB_API_TOKEN="x", JUPYTERHUB_API_URL="http://127.0.0.1:9/hub/api",
               JUPYTERHUB_SERVICE_URL=f"http://127.0.0.1:{port}")
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "mlgov_jupyter.cli", "serve", "--allow-root",
                             f"--data-dir={tmp_path / 'data'}", *args], env=env, stdout=log, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("mlgov serve did not start")


def _status(port: int, path: str, headers=None) -> tuple[int, float]:
    t = time.time()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    status = conn.getresponse().status
    conn.close()
    return status, time.time() - t


def test_mlgov_serve_caps_a_peers_unauthenticated_connections(tmp_path):
    proc, port = _serve(tmp_path, "--MlgovServe.unauthenticated_connections_per_peer=50",
                        "--MlgovServe.header_timeout=3")
    socks = []
    try:
        base = _fds(proc.pid)
        socks = _open_half(port, 400)
        time.sleep(0.5)
        assert _fds(proc.pid) <= base + 60, (base, _fds(proc.pid))  # 400 before (60 s timeout)
        assert sum(_closed(s) for s in socks[:300]) >= 290  # the oldest went first
        assert _open_now(socks[-40:]) == 40  # the newest are let in
        status, took = _status(port, "/services/mlgov/no-such-path")  # a newcomer gets an answer
        assert status == 404 and took < 2, (status, took)
        time.sleep(3.5)  # past header_timeout: no head, closed
        assert all(_closed(s) for s in socks[-40:])
        assert _fds(proc.pid) <= base + 5, (base, _fds(proc.pid))
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(20)


def test_shared_server_keeps_signed_in_connections_and_caps_strangers_bodies(tmp_path):
    server = LiveServer(tmp_path, config="c.MlgovApp.unauthenticated_connections_per_peer = 50\n"
                                         "c.MlgovApp.header_timeout = 3.0\n")
    socks = []
    try:
        alice = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)

        def whoami():
            alice.request("GET", "/api/mlgov/whoami", headers={"Authorization": "token alice-token"})
            return json.loads(alice.getresponse().read())["name"]

        assert whoami() == "alice"
        alice_sock = alice.sock
        socks = _open_half(server.port, 400)  # a flood from alice's own address
        time.sleep(0.5)
        assert sum(_closed(s) for s in socks[:300]) >= 290
        assert whoami() == "alice" and alice.sock is alice_sock  # her signed-in connection stayed
        # a stranger's body to a jupyter path is refused before it is read (512 MiB before) ...
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        socks.append(s)
        s.sendall(b"PUT /api/contents/x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
        s.settimeout(5)
        try:
            s.sendall(b"a" * (4 << 20))
            answer = s.recv(200)
        except (ConnectionResetError, BrokenPipeError):
            answer = b""
        assert not answer.startswith(b"HTTP/1.1 2"), answer
        assert _closed(s)
        # ... while a request with the owner's token or a login cookie sends a large one
        body = json.dumps({"type": "file", "format": "text", "content": "a" * (2 << 20)}).encode()
        req = urllib.request.Request(server.url + "api/contents/big.txt", data=body, method="PUT",
                                     headers={"Authorization": "token server-token"})
        assert urllib.request.urlopen(req, timeout=30).status == 201
        assert (tmp_path / "notebooks" / "big.txt").stat().st_size == 2 << 20
        time.sleep(3)  # the remaining half-sent heads pass header_timeout; alice's stays
        assert all(_closed(s) for s in socks[-40:])
        assert whoami() == "alice" and alice.sock is alice_sock
    finally:
        for s in socks:
            s.close()
        server.stop()
