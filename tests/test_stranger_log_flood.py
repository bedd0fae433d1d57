"""A flood of requests from someone not signed in does not flood the log (red team R13: each
unauthenticated 404 wrote two lines, about 0.8 GB an hour at 2,000 a second): one line a minute
about such 4xx answers goes through, in mlgov serve and on a jupyter server; a signed-in user's
4xx keep one access line each."""

from __future__ import annotations

import http.client
import time

from tests.live import LiveServer
from tests.test_peer_limits import _serve


def _get(port: int, path: str, n: int, headers=None) -> set:
    """The statuses of ``n`` GETs, each on its own connection (a stranger's may be closed)."""
    codes = set()
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        codes.add(resp.status)
        conn.close()
    return codes


def _lines(log, word: str) -> list[str]:
    time.sleep(0.5)
    return [line for line in log.read_text(errors="replace").splitlines() if word in line]


def test_mlgov_serve_logs_a_strangers_404s_once_a_minute(tmp_path):
    proc, port = _serve(tmp_path)
    try:
        assert _get(port, "/services/mlgov/no-such-path", 300) == {404}
        lines = _lines(tmp_path / "serve.log", "no-such-path")
        assert 1 <= len(lines) <= 2, lines  # 600 before: an access line and tornado's warning each
    finally:
        proc.terminate()
        proc.wait(20)


def test_a_jupyter_server_logs_a_strangers_4xx_once_a_minute_and_each_of_a_users(tmp_path):
    live = LiveServer(tmp_path / "server")
    try:
        port = int(live.url.rsplit(":", 1)[1].strip("/"))
        assert _get(port, "/api/mlgov/no-such-path", 300) == {302}  # to the login page
        assert _get(port, "/api/contents/nothing-here", 100, {"Authorization": "token wrong"}) == {403}
        stranger = _lines(live.root / "server.log", "no-such-path") + _lines(live.root / "server.log", "nothing-here")
        assert 1 <= len(stranger) <= 2, stranger
        assert _get(port, "/api/mlgov/assets/not-there", 20, {"Authorization": "token alice-token"}) == {404}
        assert len(_lines(live.root / "server.log", "not-there")) == 20
    finally:
        live.stop()
