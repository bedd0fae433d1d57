"""The tests' own servers run as root (--allow-root): their owner token must not be guessable
or visible to other users' processes (red team R13: the constant ``server-token`` on the command
line let a hub user's kernel, run beside the tests, act as root through any LiveServer)."""

from __future__ import annotations

import os
import stat
import urllib.error
import urllib.request

import pytest

from tests.live import LiveServer


def _kernels(server: LiveServer, token: str) -> int:
    req = urllib.request.Request(server.url + "api/kernels", headers={"Authorization": f"token {token}"})
    try:
        return urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize("n", [2])
def test_each_live_server_has_its_own_random_token_outside_its_command_line(tmp_path, n):
    servers = [LiveServer(tmp_path / f"s{i}") for i in range(n)]
    try:
        assert len({s.token for s in servers}) == n and all(len(s.token) >= 32 for s in servers)
        for s in servers:
            assert s.token.encode() not in open(f"/proc/{s.proc.pid}/cmdline", "rb").read()
            config = s.root / "config" / "jupyter_server_config.py"
            assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
            assert _kernels(s, s.token) == 200
            assert _kernels(s, "server-token") == 403
    finally:
        for s in servers:
            s.stop()
