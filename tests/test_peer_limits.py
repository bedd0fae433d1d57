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
        # a declared length over the cap is answered at once with a one-line JSON 413
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        socks.append(s)
        s.sendall(b"PUT /api/contents/x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
        head, _, body = _read_all(s).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 ") and b"application/json" in head, head
        assert json.loads(body)["message"].startswith("a request body over 64 KiB needs this server's credentials")
        # ... while a request with the owner's token or a login cookie sends a large one
        body = json.dumps({"type": "file", "format": "text", "content": "a" * (2 << 20)}).encode()
        req = urllib.request.Request(server.url + "api/contents/big.txt", data=body, method="PUT",
                                     headers={"Authorization": f"token {server.token}"})
        assert urllib.request.urlopen(req, timeout=30).status == 201
        assert (tmp_path / "notebooks" / "big.txt").stat().st_size == 2 << 20
        time.sleep(3)  # the remaining half-sent heads pass header_timeout; alice's stays
        assert all(_closed(s) for s in socks[-40:])
        assert whoami() == "alice" and alice.sock is alice_sock
    finally:
        for s in socks:
            s.close()
        server.stop()


def _read_all(s: socket.socket) -> bytes:
    """What the server sends until it closes the connection."""
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def _open_half_from_anywhere(port: int, n: int) -> list[socket.socket]:
    """Half-sent heads, each from its own random loopback source address (127.x.y.z)."""
    import random

    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind((f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}", 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        s.sendall(HALF_HEAD)
        socks.append(s)
    return socks


def test_every_loopback_address_is_one_peer_and_all_strangers_share_a_cap(tmp_path):
    """R13 P2-1: binding each connection to a random 127.x.y.z made each a new peer: 19,400 of
    20,000 fds held against mlgov serve. Now all of 127.0.0.0/8 is one peer (50 here), and all
    peers together hold at most unauthenticated_connections_total (30 here) of such connections."""
    proc, port = _serve(tmp_path, "--MlgovServe.unauthenticated_connections_per_peer=50",
                        "--MlgovServe.unauthenticated_connections_total=30", "--MlgovServe.header_timeout=20")
    socks = []
    try:
        base = _fds(proc.pid)
        socks = _open_half_from_anywhere(port, 300)
        time.sleep(0.5)
        assert _fds(proc.pid) <= base + 40, (base, _fds(proc.pid))  # 300 before
        assert _open_now(socks[-20:]) == 20  # the newest are let in
        status, took = _status(port, "/services/mlgov/no-such-path")
        assert status == 404 and took < 2, (status, took)
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(20)


def test_shared_server_caps_a_users_connections_and_a_non_owners_bodies_to_jupyter(tmp_path):
    """R13 P2-1: a signed-in user's connections were capped by nothing (one user held 19,958
    fds); now each user holds at most connections_per_user (10 here), a new one closing their
    oldest; the owner is not counted. R13 P2-4: a non-owner's body to jupyter-server's own routes
    (refused 403 anyway) was buffered up to 512 MiB (8 x 250 MiB: +2 GB); now it is capped as a
    stranger's, while the owner's large body and the user's mlgov upload go through."""
    server = LiveServer(tmp_path, config="c.MlgovApp.connections_per_user = 10\n")
    conns = []
    try:
        def whoami(token):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/api/mlgov/whoami", headers={"Authorization": f"token {token}"})
            assert conn.getresponse().read()
            conns.append(conn)
            return conn

        alice = [whoami("alice-token") for _ in range(25)]
        owner = [whoami(server.token) for _ in range(25)]
        time.sleep(0.3)
        assert sum(_closed(c.sock) for c in alice[:15]) == 15, "alice's oldest are closed"
        assert _open_now([c.sock for c in alice[-10:]]) == 10
        assert _open_now([c.sock for c in owner]) == 25  # the owner's are not counted
        # alice's body to a jupyter path is refused before it is read (buffered whole before)
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(b"PUT /api/contents/x.txt HTTP/1.1\r\nHost: x\r\nAuthorization: token alice-token\r\n"
                  b"Content-Length: 104857600\r\n\r\n")
        try:
            s.sendall(b"a" * (4 << 20))
            answer = s.recv(200)
        except (ConnectionResetError, BrokenPipeError):
            answer = b""
        except socket.timeout:
            answer = None  # the server still reads: the body was being buffered
        s.close()
        assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer
        # the owner's large body to the same route, and alice's upload part, go through
        body = json.dumps({"type": "file", "format": "text", "content": "a" * (2 << 20)}).encode()
        req = urllib.request.Request(server.url + "api/contents/big.txt", data=body, method="PUT",
                                     headers={"Authorization": f"token {server.token}"})
        assert urllib.request.urlopen(req, timeout=30).status == 201
        req = urllib.request.Request(server.url + "api/mlgov/uploads", data=b'{"name": "a"}', method="POST",
                                     headers={"Authorization": "token alice-token"})
        upload = json.loads(urllib.request.urlopen(req, timeout=30).read())["upload_id"]
        req = urllib.request.Request(server.url + f"api/mlgov/uploads/{upload}?offset=0", data=b"x" * (2 << 20),
                                     method="PUT", headers={"Authorization": "token alice-token",
                                                            "Content-Type": "application/octet-stream"})
        assert urllib.request.urlopen(req, timeout=30).status == 200
    finally:
        for c in conns:
            c.close()
        server.stop()
