"""One data-quality monitor run over captured data, side by side in one run (issue 11):

- ``service``: the stored monitor's run as the service's scheduler runs it (``_execute``: the
  capture files after its watermark decoded in the service's decode workers, two at once, each
  computing the statistics of its files against the stored baseline and sending them back; merged,
  the execution recorded), in a cold process over the store (the workers' start included);
- ``dask``: the same run with ``monitor_engine = "dask"`` on a 2-worker ``LocalCluster``
  (processes), each capture file a partition, partial statistics merged;
- ``memory``: ``check(baseline, df)`` on the same rows already in a DataFrame (the load not timed):
  the target is the service's run within 2x of it;
- ``evidently``: Evidently's ``DataDriftPreset`` on the first ``--evidently-rows`` captured rows
  against the reference (where it fits in memory), in its own venv (pandas<3), if present.

    python benchmarks/monitor_run.py [--rows 10000000] [--cols 50] [--file-rows 250000]
                                     [--evidently-rows 1000000] [--peer-python .bench-venv/bin/python]
                                     [--no-evidently] [--repeat 1]

Each step is a cold process; it prints its seconds, the CPU seconds it used (with its decode
workers' for the service run: wall time on a shared machine says how busy it was as much as how
much work there is) and whole-process peak resident memory (VmHWM; for the service run also the
largest decode worker, for Dask the largest Dask worker). ``--repeat N`` runs the service run and
the in-memory check N times alternately (the figures printed are the medians).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_common import status_kb  # noqa: E402


def _service(work: Path):
    from mlgov_jupyter.service import GovernanceService
    from mlgov_jupyter.store.db import Store
    from mlgov_jupyter.store.objects import ObjectStore

    return GovernanceService(store=Store(f"sqlite:///{work / 'mlgov.sqlite'}"),
                             objects=ObjectStore(str(work / "objects"), staging=work / "staging"))


def _frame(rows: int, cols: int, seed: int, shift: float = 0.0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {f"f{i}": rng.normal(0.0, 1.0, rows) for i in range(cols - 5)}
    for i in range(5):  # categorical features, as captured from a serving app
        data[f"c{i}"] = rng.choice(["a", "b", "c", "d", "e", "f"], rows)
    df = pd.DataFrame(data)
    if shift:
        for i in range(0, 10):  # ten shifted features
            df[f"f{i}"] += shift
    return df


def prepare(work: Path, rows: int, cols: int, file_rows: int, ev_rows: int) -> None:
    """A store with a deployment, ``rows`` captured rows in files of ``file_rows``, a baseline fitted
    on 1M reference rows, and a data-quality monitor; Parquet files for the peers."""

    import pandas as pd
    from sklearn.dummy import DummyClassifier

    from mlgov_jupyter import api as rest
    from mlgov_jupyter.core.monitoring import fit_baseline
    from mlgov_jupyter.kernel.monitors_client import _parquet_bytes
    from mlgov_jupyter.service import Actor
    from tests.helpers import inline_content

    svc, alice = _service(work), Actor("alice")
    ref = _frame(1_000_000, cols, seed=1)
    ref.to_parquet(work / "reference.parquet", index=False)
    model = DummyClassifier().fit(ref[["f0"]], (ref.f0 > 0).astype(int))
    rest.dispatch(svc, alice, "POST", "assets", {}, {"name": "bench-model", "kind": "model", **inline_content(model)})
    rest.dispatch(svc, alice, "POST", "deployments", {}, {"name": "bench-prod", "model": "bench-model"})
    import dataclasses

    # the service is called directly here (no HTTP body cap); a file of 250k rows x 50 is above the
    # default per-file publish limits
    svc.limits = dataclasses.replace(svc.limits, publish_max_rows=1 << 40, publish_max_decoded_bytes=1 << 40)
    done, seed, ev_parts = 0, 100, []
    while done < rows:
        n = min(file_rows, rows - done)
        df = _frame(n, cols, seed, shift=0.2)
        df["inference_id"] = [f"{seed}-{i}" for i in range(n)]
        df["event_time"] = pd.Timestamp.now(tz="UTC")
        if sum(len(p) for p in ev_parts) < ev_rows:
            ev_parts.append(df.drop(columns=["inference_id", "event_time"]))
        # as mlgov_jupyter.capture sends a batch (the client's writer, not df.to_parquet)
        svc.append_capture(alice, "bench-prod", "inference", _parquet_bytes(df))
        done, seed = done + n, seed + 1
    pd.concat(ev_parts, ignore_index=True).iloc[:ev_rows].to_parquet(work / "current-ev.parquet", index=False)
    base = fit_baseline(ref)
    rest.dispatch(svc, alice, "POST", "monitors", {}, {"name": "bench-dq", "deployment": "bench-prod",
                                                       "baseline": base.to_dict(), "schedule": "daily"})


def _cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (all its threads), or of process ``pid``."""
    if pid is None:
        import resource

        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def run_service(work: Path, engine: str) -> None:
    from sqlalchemy import update

    from mlgov_jupyter.service.monitors import SCHEDULER
    from mlgov_jupyter.store import tables as t

    svc = _service(work)
    with svc.store.transaction() as s:  # every run reads all the captured files
        s.execute(update(t.Monitor).values(watermark=0, running_since=None))
    extra = {}
    cluster = None
    if engine == "dask":
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               memory_limit="6GiB")
        svc.monitor_engine, svc.monitor_dask_address = "dask", cluster.scheduler_address
    with svc.store.transaction(write=False) as s:
        monitor_id = s.query(t.Monitor).one().id
    dask_cpu0 = 0.0
    if cluster is not None:  # the Dask workers' CPU counts too (from here on)
        from mlgov_jupyter.service.monitor_runs import _dask_client

        dask_cpu0 = sum(_dask_client(cluster.scheduler_address).run(_cpu_seconds).values())
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    assert svc._claim(monitor_id)
    out = svc._execute(monitor_id, SCHEDULER)
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    pool = svc.__dict__.get("_decoder")
    if pool is not None:  # the decode workers the run used stay idle in the pool: their CPU and peaks
        pids = [w.proc.pid for w in pool._idle if w.alive()]
        extra["service_cpu_seconds"] = cpu
        cpu += sum(_cpu_seconds(pid) for pid in pids)
        extra["decode_workers"] = len(pids)
        extra["worker_peak_bytes"] = max((_peak(pid) for pid in pids), default=0)
        pool.close()
    if out["status"] == "Failed":
        raise SystemExit(f"the run failed: {out['failure_reason']}")
    if cluster is not None:
        from mlgov_jupyter.service.monitor_runs import _dask_client

        peaks = _dask_client(cluster.scheduler_address).run(lambda: status_kb("VmHWM") * 1024)
        cpu += sum(_dask_client(cluster.scheduler_address).run(_cpu_seconds).values()) - dask_cpu0
        extra["worker_peak_bytes"] = max(peaks.values())
        cluster.close()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "status": out["status"], "rows": out["window"]["rows"],
                      "drifted": out["summary"]["drifted_columns"], "peak_bytes": status_kb("VmHWM") * 1024,
                      **extra}))


def run_memory(work: Path) -> None:
    import pandas as pd

    from mlgov_jupyter.core.monitoring import check
    from mlgov_jupyter.service.monitor_runs import load_baseline

    svc = _service(work)
    from mlgov_jupyter.store import tables as t

    with svc.store.transaction(write=False) as s:
        mon = s.query(t.Monitor).one()
        files = [f.content_hash for f in s.query(t.CaptureFile).order_by(t.CaptureFile.id)]
        digest = mon.baseline_hash
    objects = svc.objects_store()
    baseline = load_baseline(objects, digest)
    df = pd.concat([pd.read_parquet(objects.path(d)) for d in files], ignore_index=True)
    df = df.drop(columns=["inference_id", "event_time"])
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    report = check(baseline, df)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "cpu_seconds": _cpu_seconds() - cpu0, "rows": len(df), "drifted": report.drifted_columns,
                      "peak_bytes": status_kb("VmHWM") * 1024}))


def _median(runs: list[dict]) -> dict:
    """The run of median seconds (its own figures, so they belong together)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


def _middle(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def _step(args: list[str], python: str = sys.executable) -> dict:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    proc = subprocess.run([python, *args], capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"step {args[:2]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--cols", type=int, default=50)
    ap.add_argument("--file-rows", type=int, default=250_000)
    ap.add_argument("--evidently-rows", type=int, default=1_000_000)
    ap.add_argument("--peer-python", default=str(HERE.parent / ".bench-venv" / "bin" / "python"))
    ap.add_argument("--no-evidently", action="store_true", help="skip Evidently's preset")
    ap.add_argument("--repeat", type=int, default=1, help="service run and in-memory check, alternately")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        work = Path(args.work)
        if args.step == "prepare":
            prepare(work, args.rows, args.cols, args.file_rows, args.evidently_rows)
            print("{}")
        elif args.step in ("service", "dask"):
            run_service(work, "inprocess" if args.step == "service" else "dask")
        else:
            run_memory(work)
        return

    work = Path(tempfile.mkdtemp(prefix="mlgov-monitor-bench-"))
    me = [str(Path(__file__).resolve()), "--work", str(work), "--rows", str(args.rows), "--cols", str(args.cols),
          "--file-rows", str(args.file_rows), "--evidently-rows", str(args.evidently_rows)]
    try:
        t0 = time.perf_counter()
        _step(me + ["--step", "prepare"])
        print(f"monitor run benchmark: {args.rows:,} captured rows x {args.cols} columns in "
              f"{-(-args.rows // args.file_rows)} files (prepared in {time.perf_counter() - t0:.0f} s)")
        runs: dict = {"service": [], "memory": []}
        for _ in range(max(1, args.repeat)):  # alternately: both see the machine as busy
            for name in ("service", "memory"):
                runs[name].append(_step(me + ["--step", name]))
        results = {name: _median(rs) for name, rs in runs.items()}
        results["dask"] = _step(me + ["--step", "dask"])
        gib = 2 ** 30
        mem = results["memory"]
        pairs = list(zip(runs["service"], runs["memory"]))
        # the service run's ratios: the median over the pairs run back to back (the same load)
        ratio = {"seconds": _middle([a["seconds"] / b["seconds"] for a, b in pairs]),
                 "cpu_seconds": _middle([a["cpu_seconds"] / b["cpu_seconds"] for a, b in pairs])}
        for name, label in (("service", "monitor run, in the service (decode workers)"),
                            ("dask", "monitor run, Dask LocalCluster (2 workers)"),
                            ("memory", "check() on the rows in a DataFrame (load not timed)")):
            r = results[name]
            extra = f", largest worker {r['worker_peak_bytes'] / gib:.2f} GiB" if "worker_peak_bytes" in r else ""
            x = {k: ratio[k] if name == "service" else r.get(k, 0) / mem[k] for k in ratio}
            cpu = f"cpu {r['cpu_seconds']:6.2f} s ({x['cpu_seconds']:4.2f}x)  " if "cpu_seconds" in r else " " * 23
            print(f"  {label:<58} {r['seconds']:7.2f} s  {x['seconds']:5.2f}x check  {cpu}"
                  f"peak {r['peak_bytes'] / gib:.2f} GiB{extra}  drifted {len(r['drifted'])}")
        if args.repeat > 1:
            print("  each pair (service / check): " + ", ".join(
                f"{a['seconds']:.2f}/{b['seconds']:.2f} s = {a['seconds'] / b['seconds']:.2f}x "
                f"(CPU {a['cpu_seconds']:.2f}/{b['cpu_seconds']:.2f} s = {a['cpu_seconds'] / b['cpu_seconds']:.2f}x)"
                for a, b in pairs))
        assert results["service"]["drifted"] == results["dask"]["drifted"] == mem["drifted"], results
        if args.no_evidently:
            print("  Evidently skipped (--no-evidently)")
        elif Path(args.peer_python).exists():
            ev = _step([str(HERE / "peer_worker.py"), "ev_preset", str(work / "reference.parquet"),
                        str(work / "current-ev.parquet")], python=args.peer_python)
            steps = ev["steps"]
            print(f"  Evidently DataDriftPreset, {args.evidently_rows:,} rows (1M reference)  "
                  f"{steps['compute']:7.2f} s compute (+{steps['load']:.1f} s load)  "
                  f"peak {ev['peak_bytes'] / gib:.2f} GiB  drifted {len(ev['drifted'])}  ({ev['version']})")
            rate_ev = args.evidently_rows / steps["compute"]
            rate_svc = results["service"]["rows"] / results["service"]["seconds"]
            print(f"  rows per second: monitor run {rate_svc:,.0f}, Evidently preset {rate_ev:,.0f} "
                  f"({rate_svc / rate_ev:.0f}x)")
        else:
            print(f"  Evidently skipped: no {args.peer_python} (benchmarks/run.sh makes it)")
        target = ratio["seconds"] <= 2
        print(f"  target: service run within 2x of the in-memory check: {'met' if target else 'NOT met'} "
              f"({ratio['seconds']:.2f}x wall, {ratio['cpu_seconds']:.2f}x CPU)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
