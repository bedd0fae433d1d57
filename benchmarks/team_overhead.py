"""What the service hop costs: the same calls in team mode (JupyterHub, `mlgov serve` as its own
account) and in personal mode (the service inside `jupyter server`), same data, same run.

    sudo python benchmarks/team_overhead.py [--calls 40] [--rows 20000]

- kernel `use()`: a user's kernel loads a dataset (team: kernel -> service with the user's hub
  token, checked against the hub and cached; personal: kernel -> its own server);
- sidebar search: the request the sidebar makes on open (`GET api/mlgov/assets?q=`), through the
  user's single-user server (team: server -> forwarder -> service; personal: the server itself).

Prints the median and p90 in ms and the ratio team/personal. Needs root (the hub creates users).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlgov_jupyter.team_demo import Hub, free_port, wait_until  # noqa: E402

TIMED_USE = """
import time, json, pandas as pd, numpy as np, mlgov_jupyter as mg
c = mg.connect()
rng = np.random.default_rng(0)
df = pd.DataFrame({f"x{i}": rng.normal(size={rows}) for i in range(8)} | {"label": rng.integers(0, 2, {rows})})
if "bench" not in [p["name"] for p in c.projects()]:
    c.create_project("bench")
c.publish(df, name="bench-data", project="bench")
c.use("bench-data")
times = []
for _ in range({calls}):
    t = time.perf_counter(); out = c.use("bench-data"); times.append(time.perf_counter() - t)
assert len(out) == {rows}
print("TIMES " + json.dumps(times))
"""


def _stats(times: list[float]) -> tuple[float, float]:
    ms = sorted(t * 1000 for t in times)
    return statistics.median(ms), ms[int(0.9 * (len(ms) - 1))]


def _times(out: str) -> list[float]:
    return json.loads(next(x for x in out.splitlines() if x.startswith("TIMES "))[6:])


def _search(url: str, token: str, calls: int) -> list[float]:
    times = []
    for _ in range(calls + 1):
        req = urllib.request.Request(url + "api/mlgov/assets?q=&page=1&page_size=25",
                                     headers={"Authorization": f"token {token}"})
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = json.loads(resp.read())
        times.append(time.perf_counter() - t)
        assert body["total"] >= 1
    return times[1:]


def personal(calls: int, rows: int) -> tuple[list[float], list[float]]:
    """A personal `jupyter server` (the service in-process); the 'kernel' is a process with the
    environment the server hands its kernels."""
    root = Path(tempfile.mkdtemp(prefix="mlgov-bench-personal-"))  # 0700
    # random, and in a 0600 config file: on the command line every local user reads it in /proc
    # (red team R20-1), and this server runs as root
    port, token = free_port(), secrets.token_urlsafe(32)
    (root / "cfg").mkdir(mode=0o700)
    config = root / "cfg" / "jupyter_server_config.py"
    config.touch(mode=0o600)
    config.write_text(f"c.ServerApp.token = {token!r}\n")
    env = dict(os.environ, JUPYTER_DATA_DIR=str(root / "data"), JUPYTER_RUNTIME_DIR=str(root / "rt"),
               JUPYTER_CONFIG_DIR=str(root / "cfg"))
    for var in ("MLGOV_SERVER_URL", "MLGOV_SERVICE_URL", "MLGOV_TOKEN", "JUPYTERHUB_API_TOKEN"):
        env.pop(var, None)
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
                             f"--port={port}", f"--ServerApp.root_dir={root}"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        def up():
            try:
                urllib.request.urlopen(urllib.request.Request(url + "api/mlgov/whoami", headers={
                    "Authorization": f"token {token}"}), timeout=2)
                return True
            except OSError:
                return False

        wait_until(up, 60, "the personal jupyter server")
        kernel_env = dict(env, MLGOV_SERVER_URL=url, MLGOV_TOKEN=token)
        out = subprocess.run([sys.executable, "-c", TIMED_USE.replace("{rows}", str(rows))
                              .replace("{calls}", str(calls))], env=kernel_env, capture_output=True,
                             text=True, timeout=600)
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        return _times(out.stdout), _search(url, token, calls)
    finally:
        proc.terminate()
        proc.wait(30)


def team(calls: int, rows: int) -> tuple[list[float], list[float]]:
    with Hub() as hub:
        hub.start_server("alice")
        out, err = hub.run_in_kernel("alice", TIMED_USE.replace("{rows}", str(rows))
                                     .replace("{calls}", str(calls)), timeout=600)
        if err:
            raise RuntimeError(err)
        return _times(out), _search(f"{hub.url}user/alice/", hub.user_token("alice"), calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("team_overhead.py needs root: the hub creates Unix users and spawns servers as them")
    p_use, p_search = personal(args.calls, args.rows)
    t_use, t_search = team(args.calls, args.rows)
    print(f"service hop, {args.calls} calls each, dataset {args.rows} rows x 9 columns (median / p90 ms)")
    for label, p, t in (("kernel use()", p_use, t_use), ("sidebar search", p_search, t_search)):
        (pm, p9), (tm, t9) = _stats(p), _stats(t)
        print(f"  {label:15s} personal {pm:7.1f} / {p9:7.1f}   team {tm:7.1f} / {t9:7.1f}   "
              f"team/personal {tm / pm:4.2f}x (+{tm - pm:.1f} ms)")


if __name__ == "__main__":
    main()
