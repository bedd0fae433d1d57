"""Property-based fuzzing of the whole REST API from its own OpenAPI document (schemathesis):
whatever a client sends, the server answers with a 2xx or a 4xx carrying a message, never a 500."""

import subprocess
import sys
from pathlib import Path

import pytest

from live import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("fuzz"))
    yield live
    live.stop()


@pytest.mark.parametrize("user", ["root-token", "bob-token"])
def test_no_input_makes_a_server_error(server, user, tmp_path):
    cli = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run(
        [str(cli), "run", f"{server.url}api/mlgov/openapi.json", "--url", server.url.rstrip("/"),
         "-H", f"Authorization: token {user}", "--checks", "not_a_server_error",
         "--max-examples", "8", "--seed", "20261127", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its cache stays out of the tree
    tail = run.stdout[-3000:]
    assert run.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail.split("Test cases:")[-1].split("\n")[1], tail
