"""Drift benchmark: mlgov's check vs Evidently's DataDriftPreset on the same data, in one run.

Cases (rows x columns):
- 1,000,000 x 50: 40 numeric (8 shifted by 0.3 sd), 9 categorical of 20 levels (2 shifted),
  1 categorical of 5,000 levels (unshifted);
- 200,000 x 20: 15 numeric (3 shifted), 4 categorical of 20 levels (1 shifted), 1 of 5,000 levels.

Each tool runs in a fresh subprocess on the same Parquet files: mlgov in this venv (baseline
fitted and saved in one process, the check timed in another), Evidently in its own venv with
pandas<3 (``benchmarks/run.sh`` creates it). Memory: peak RSS of the measuring process during
the timed step (Linux VmHWM, reset just before) minus the RSS of the idle interpreter with its
libraries imported, compared with the in-memory size of the data that step needs.

    benchmarks/run.sh                        # both cases, both tools
    benchmarks/run.sh --sizes 200000x20      # one case
    benchmarks/run.sh --skip-evidently       # mlgov only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGETS = {"check_s": 5.0, "speedup": 50.0, "memory_ratio": 1.5, "false_alarms": 1}


# ------------------------------------------------------------------------ data


def layout(n_cols: int) -> dict:
    if n_cols == 50:
        return {"numeric": 40, "shifted_numeric": 8, "categorical": 9, "shifted_categorical": 2, "high_card": 1}
    if n_cols == 20:
        return {"numeric": 15, "shifted_numeric": 3, "categorical": 4, "shifted_categorical": 1, "high_card": 1}
    raise SystemExit("supported column counts: 50 and 20")


def make_frames(n_rows: int, n_cols: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    spec = layout(n_cols)
    rng = np.random.default_rng(seed)
    ref, cur, shifted = {}, {}, []
    for i in range(spec["numeric"]):
        name = f"num_{i:02d}"
        shift = i < spec["shifted_numeric"]
        kind = i % 4
        mu, sd = float(rng.uniform(-5, 5)), float(rng.uniform(0.5, 3))
        if kind == 0:  # normal
            r = rng.normal(mu, sd, n_rows)
            c = rng.normal(mu, sd, n_rows) + (0.3 * sd if shift else 0.0)
        elif kind == 1:  # lognormal (skewed)
            r = np.exp(rng.normal(0, 0.5, n_rows)) * sd
            c = np.exp(rng.normal(0, 0.5, n_rows)) * sd
            if shift:
                c = c + 0.3 * float(r.std())
        elif kind == 2:  # uniform
            r = rng.uniform(mu, mu + 3 * sd, n_rows)
            c = rng.uniform(mu, mu + 3 * sd, n_rows) + (0.3 * float(r.std()) if shift else 0.0)
        else:  # integers
            r = np.round(rng.normal(50, 10, n_rows)).astype("int64")
            c = np.round(rng.normal(50, 10, n_rows) + (3.0 if shift else 0.0)).astype("int64")
        ref[name], cur[name] = r, c
        if shift:
            shifted.append(name)
    levels = [f"L{j:02d}" for j in range(20)]
    p = 1 + 0.1 * np.arange(20)
    p /= p.sum()
    w = np.r_[np.full(10, 1.5), np.full(10, 0.5)]
    q = p * w
    q /= q.sum()
    for i in range(spec["categorical"]):
        name = f"cat_{i}"
        shift = i < spec["shifted_categorical"]
        perm = rng.permutation(20)
        pr = p[perm]
        qc = q[perm] if shift else pr
        ref[name] = pd.Categorical.from_codes(rng.choice(20, n_rows, p=pr), levels)
        cur[name] = pd.Categorical.from_codes(rng.choice(20, n_rows, p=qc), levels)
        if shift:
            shifted.append(name)
    hi_levels = [f"H{j:04d}" for j in range(5000)]
    for i in range(spec["high_card"]):
        name = f"hicard_{i}"
        ph = rng.uniform(0.5, 1.5, 5000)
        ph /= ph.sum()
        ref[name] = pd.Categorical.from_codes(rng.choice(5000, n_rows, p=ph), hi_levels)
        cur[name] = pd.Categorical.from_codes(rng.choice(5000, n_rows, p=ph), hi_levels)
    return pd.DataFrame(ref), pd.DataFrame(cur), shifted


# ------------------------------------------------------------------------ memory helpers


def rss_kb(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


# ------------------------------------------------------------------------ mlgov workers


def worker_fit(ref_path: str, baseline_path: str) -> dict:
    import pandas as pd

    from mlgov_jupyter import monitoring as mon

    ref = pd.read_parquet(ref_path)
    t = time.perf_counter()
    b = mon.fit_baseline(ref)
    fit_s = time.perf_counter() - t
    b.save(baseline_path)
    return {"fit_s": fit_s, "baseline_bytes": os.path.getsize(baseline_path)}


def worker_check(baseline_path: str, cur_path: str, repeat: int) -> dict:
    import gc

    import numpy  # noqa: F401
    import pandas as pd
    import pyarrow.parquet  # noqa: F401

    t = time.perf_counter()
    from mlgov_jupyter import monitoring as mon

    import_s = time.perf_counter() - t
    b = mon.Baseline.load(baseline_path)
    # warm up the Parquet -> pandas path on a few rows so that lazily imported modules are not
    # counted as data
    import pyarrow as pa
    import pyarrow.parquet as pq

    warm = os.path.join(os.path.dirname(baseline_path), "warm.parquet")
    pq.write_table(pq.ParquetFile(cur_path).read_row_group(0).slice(0, 100), warm)
    mon.check(b, pd.read_parquet(warm))
    os.remove(warm)
    gc.collect()
    pa.default_memory_pool().release_unused()
    idle = rss_kb()
    cur = pd.read_parquet(cur_path)
    data_bytes = int(cur.memory_usage(deep=True).sum())
    gc.collect()
    pa.default_memory_pool().release_unused()  # drop the Parquet reader's cached buffers
    loaded = rss_kb()
    reset_peak()
    times = []
    report = None
    for _ in range(repeat):
        t = time.perf_counter()
        report = mon.check(b, cur)
        times.append(time.perf_counter() - t)
    peak = rss_kb("VmHWM")
    import tracemalloc

    tracemalloc.start()
    mon.check(b, cur)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "check_traced_peak_bytes": traced_peak,
        "import_s": import_s, "check_s_first": times[0], "check_s_best": min(times), "check_s_all": times,
        "data_bytes": data_bytes, "peak_rss_over_idle_bytes": (peak - idle) * 1024,
        "loaded_rss_over_idle_bytes": (loaded - idle) * 1024, "check_extra_bytes": (peak - loaded) * 1024,
        "drifted": report.drifted_columns, "dataset_drift": report.dataset_drift,
        "tests": {c.column: [c.method, c.statistic] for c in report.columns},
    }


def worker_stream(baseline_path: str, cur_path: str) -> dict:
    import gc

    import pandas as pd  # noqa: F401
    import pyarrow.dataset  # noqa: F401

    from mlgov_jupyter import monitoring as mon

    b = mon.Baseline.load(baseline_path)
    gc.collect()
    idle = rss_kb()
    reset_peak()
    t = time.perf_counter()
    report = mon.check(b, cur_path, chunk_rows=100_000)
    s = time.perf_counter() - t
    return {"stream_s": s, "peak_rss_over_idle_bytes": (rss_kb("VmHWM") - idle) * 1024,
            "drifted": report.drifted_columns}


# ------------------------------------------------------------------------ driver


def run_json(cmd: list[str], timeout: float | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def flags(found: list[str], shifted: list[str]) -> dict:
    found_set, truth = set(found), set(shifted)
    return {"found": len(found_set & truth), "of": len(truth), "missed": sorted(truth - found_set),
            "false_alarms": sorted(found_set - truth)}


def gb(b):
    return f"{b / 1e9:.2f} GB"


def run_case(n_rows: int, n_cols: int, args) -> dict:
    print(f"\n=== {n_rows:,} rows x {n_cols} columns ===", flush=True)
    work = args.work_dir or tempfile.mkdtemp(prefix="mlgov-bench-")
    os.makedirs(work, exist_ok=True)
    ref_path = os.path.join(work, f"ref_{n_rows}x{n_cols}.parquet")
    cur_path = os.path.join(work, f"cur_{n_rows}x{n_cols}.parquet")
    base_path = os.path.join(work, f"baseline_{n_rows}x{n_cols}.json")
    t = time.perf_counter()
    ref, cur, shifted = make_frames(n_rows, n_cols, args.seed)
    ref.to_parquet(ref_path, row_group_size=100_000)
    cur.to_parquet(cur_path, row_group_size=100_000)
    ref_bytes = int(ref.memory_usage(deep=True).sum())
    del ref, cur
    print(f"data generated in {time.perf_counter() - t:.1f} s; shifted: {', '.join(shifted)}", flush=True)
    me = sys.executable
    script = os.path.abspath(__file__)
    fit = run_json([me, script, "--worker", "fit", ref_path, base_path])
    chk = run_json([me, script, "--worker", "check", base_path, cur_path, str(args.repeat)])
    stream = run_json([me, script, "--worker", "stream", base_path, cur_path])
    res = {"rows": n_rows, "cols": n_cols, "shifted": shifted, "mlgov": {**fit, **chk}, "mlgov_stream": stream,
           "data_bytes": chk["data_bytes"], "ref_bytes": ref_bytes}
    m = res["mlgov"]
    # peak RSS (over the idle interpreter) relative to the data as it sits in memory (RSS after loading);
    # relative to pandas' memory_usage(deep=True) too
    mem_ratio = m["peak_rss_over_idle_bytes"] / max(m["loaded_rss_over_idle_bytes"], 1)
    mem_ratio_nominal = m["peak_rss_over_idle_bytes"] / m["data_bytes"]
    fm = flags(m["drifted"], shifted)
    print(f"mlgov   baseline fit {m['fit_s']:.2f} s (once; {m['baseline_bytes'] / 1e6:.1f} MB JSON); "
          f"import {m['import_s']:.2f} s")
    print(f"mlgov   check: {m['check_s_first']:.2f} s first, {m['check_s_best']:.2f} s best of {args.repeat}; "
          f"peak memory {gb(m['peak_rss_over_idle_bytes'])} = {mem_ratio:.2f}x the data as loaded "
          f"({gb(m['loaded_rss_over_idle_bytes'])} RSS), {mem_ratio_nominal:.2f}x its memory_usage ({gb(m['data_bytes'])})")
    print(f"mlgov   (data resident {gb(m['loaded_rss_over_idle_bytes'])}; the check adds {m['check_extra_bytes'] / 1e6:.0f} MB "
          f"of RSS at peak; its own allocations peak at {m['check_traced_peak_bytes'] / 1e6:.0f} MB (tracemalloc), "
          f"i.e. data + check = {(m['data_bytes'] + m['check_traced_peak_bytes']) / m['data_bytes']:.2f}x the data)")
    print(f"mlgov   flags {len(m['drifted'])}: {', '.join(m['drifted'])}")
    print(f"mlgov   found {fm['found']}/{fm['of']} shifted, missed {fm['missed']}, false alarms {fm['false_alarms']}")
    print(f"mlgov   streaming the Parquet file (100k-row batches): {stream['stream_s']:.2f} s, peak memory "
          f"{gb(stream['peak_rss_over_idle_bytes'])} ({stream['peak_rss_over_idle_bytes'] / m['data_bytes']:.2f}x the "
          f"in-memory data), same flags: {sorted(stream['drifted']) == sorted(m['drifted'])}", flush=True)
    res["mlgov"]["memory_ratio"] = mem_ratio
    res["mlgov"]["memory_ratio_nominal"] = mem_ratio_nominal
    res["mlgov"]["flags"] = fm
    if not args.skip_evidently:
        ev_py = args.evidently_python
        if not ev_py or not os.path.exists(ev_py):
            print("evidently: no venv (run benchmarks/run.sh); skipped")
        else:
            ev = run_json([ev_py, os.path.join(HERE, "evidently_worker.py"), ref_path, cur_path],
                          timeout=args.evidently_timeout)
            fe = flags(ev["drifted"], shifted)
            ev["flags"] = fe
            res["evidently"] = ev
            ratio = ev["run_s"] / m["check_s_first"]
            res["speedup"] = ratio
            print(f"evidently {ev['version']} (pandas {ev['pandas']}): import {ev['import_s']:.1f} s; "
                  f"DataDriftPreset {ev['run_s']:.1f} s; peak memory {gb(ev['peak_rss_over_idle_bytes'])} "
                  f"for {gb(ev['data_bytes'])} of data (reference + current) = "
                  f"{ev['peak_rss_over_idle_bytes'] / ev['data_bytes']:.2f}x")
            print(f"evidently flags {len(ev['drifted'])}: {', '.join(ev['drifted'])}")
            print(f"evidently found {fe['found']}/{fe['of']} shifted, missed {fe['missed']}, "
                  f"false alarms {fe['false_alarms']}")
            print(f"SPEEDUP mlgov check vs Evidently: {ratio:.0f}x (first check {m['check_s_first']:.2f} s vs "
                  f"{ev['run_s']:.1f} s)", flush=True)
    ok = {
        "check <= 5 s": m["check_s_first"] <= TARGETS["check_s"],
        "memory <= 1.5x data": mem_ratio <= TARGETS["memory_ratio"],
        "all shifted found": fm["found"] == fm["of"],
        "<= 1 false alarm": len(fm["false_alarms"]) <= TARGETS["false_alarms"],
    }
    if "speedup" in res:
        ok[">= 50x faster than Evidently"] = res["speedup"] >= TARGETS["speedup"]
    res["targets"] = ok
    print("targets: " + "; ".join(f"{k}: {'MET' if v else 'NOT MET'}" for k, v in ok.items()), flush=True)
    if not args.keep:
        for p in (ref_path, cur_path, base_path):
            os.remove(p)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs="+")
    ap.add_argument("--sizes", default="1000000x50,200000x20")
    ap.add_argument("--evidently-python", default=os.environ.get("BENCH_PYTHON"))
    ap.add_argument("--skip-evidently", action="store_true")
    ap.add_argument("--evidently-timeout", type=float, default=1800)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work-dir")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", help="write all results to this file")
    args = ap.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        if kind == "fit":
            out = worker_fit(*rest)
        elif kind == "check":
            out = worker_check(rest[0], rest[1], int(rest[2]))
        else:
            out = worker_stream(*rest)
        print(json.dumps(out))
        return
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    results = []
    for size in args.sizes.split(","):
        rows, cols = size.lower().split("x")
        results.append(run_case(int(rows), int(cols), args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
