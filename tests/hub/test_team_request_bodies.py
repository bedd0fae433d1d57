"""Team mode (red team F3 of issue 10): strangers' bodies through the hub's proxy to mlgov serve
are refused once their headers are in; the service's memory does not grow."""

from __future__ import annotations

import select
import socket
import threading
import time
import urllib.parse

from .harness import kernel_ok, service_process


def _rss(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) << 10
    raise AssertionError("no VmRSS")


def _stranger_put(url, answers):
    """A PUT announcing 250 MiB with no credentials, sending 1 MiB pieces until answered (at most
    64 MiB, never the last byte); the answer's status line, or '' if dropped without one."""
    u = urllib.parse.urlparse(url)
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(f"PUT {u.path}api/mlgov/uploads/0123456789abcdef0123456789abcdef?offset=0 HTTP/1.1\r\n"
              f"Host: {u.netloc}\r\nContent-Type: application/octet-stream\r\n"
              f"Content-Length: {250 << 20}\r\n\r\n".encode())
    piece = b"\0" * (1 << 20)
    try:
        for _ in range(64):
            if select.select([s], [], [], 0)[0]:
                break
            s.sendall(piece)
    except OSError:
        pass
    s.settimeout(20)
    try:
        answers.append(s.recv(4096).split(b"\r\n", 1)[0].decode())
    except OSError:
        answers.append("")
    s.close()


def test_strangers_bodies_are_answered_before_they_are_read(hub):
    url = kernel_ok(hub, "alice", "import mlgov_jupyter as mg\nprint(mg.connect().transport.url)").strip()
    pid = service_process(hub).pid
    before, answers, started = _rss(pid), [], time.monotonic()
    threads = [threading.Thread(target=_stranger_put, args=(url, answers)) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    took = time.monotonic() - started
    grown = _rss(pid) - before
    assert all(a.split()[1:2] == ["403"] for a in answers) and len(answers) == 8, answers
    assert grown < 100 << 20, f"mlgov serve grew by {grown >> 20} MiB"
    assert took < 30
    print(f"8 strangers' 250 MiB PUTs: {answers[0]!r} in {took:.1f} s; mlgov serve RSS "
          f"{before >> 20} -> {_rss(pid) >> 20} MiB")
