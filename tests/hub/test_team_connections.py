"""Team mode (red team R12 N4): a flood of half-open connections from the address every kernel of
the host shares (127.0.0.1) neither fills mlgov serve's descriptors nor pushes out a signed-in
user's connection: only connections on which no request was authenticated count against the
per-peer cap (unauthenticated_connections_per_peer, 256), and the oldest of them goes first."""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.parse

from .harness import environ, kernel_ok, kernel_process, service_process


def test_a_local_flood_leaves_signed_in_connections_and_descriptors_alone(hub):
    url = kernel_ok(hub, "alice", "import mlgov_jupyter as mg\nprint(mg.connect().transport.url)").strip()
    token = environ(kernel_process(hub, "alice").pid)["JUPYTERHUB_API_TOKEN"]
    u = urllib.parse.urlparse(url)
    pid = service_process(hub).pid
    alice = http.client.HTTPConnection(u.hostname, u.port, timeout=10)

    def whoami() -> str:
        alice.request("GET", u.path + "api/mlgov/whoami", headers={"Authorization": f"token {token}"})
        answer = alice.getresponse()
        return json.loads(answer.read())["name"]

    assert whoami() == "alice"
    alice_sock, base = alice.sock, len(os.listdir(f"/proc/{pid}/fd"))
    socks = []
    try:
        for _ in range(600):  # a stranger on the same address, never ending a request head
            s = socket.create_connection((u.hostname, u.port), timeout=5)
            s.sendall(f"GET {u.path}api/mlgov/whoami HTTP/1.1\r\nHost: x\r\n".encode())
            socks.append(s)
        time.sleep(0.5)
        held = len(os.listdir(f"/proc/{pid}/fd")) - base
        assert held <= 256 + 10, held  # 600 before
        assert whoami() == "alice" and alice.sock is alice_sock  # her connection was not pushed out
        # and a kernel's new connection gets in at once
        assert kernel_ok(hub, "alice", "import mlgov_jupyter as mg\nprint(mg.connect().whoami()['name'])",
                         timeout=20).strip() == "alice"
    finally:
        for s in socks:
            s.close()
        alice.close()
