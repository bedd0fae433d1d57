"""Drift benchmark: mlgov against the NumPy floor, NannyML, a plain SciPy loop and Evidently, on equal
statistical work, in one run.

Every tool compares the whole reference with the whole current data, one test per column, drift at a
distance >= 0.1, and each measurement is a cold process (import, Parquet load, one computation, exit).
The tools are run interleaved, round after round (A B C ... A B C ...), so that a busier or quieter
spell of a shared machine falls on all of them. Memory is the whole process's peak (VmHWM: the
interpreter, the imports, loading the Parquet files and the computation), against the size in memory
of the data that process loads (pandas ``memory_usage(deep=True)``).

Cases (rows x columns; shifted columns move by ``--shift`` standard deviations, 0.1 by default: at the
0.1 threshold, a borderline shift that any tool finds about half the time):
- 1,000,000 x 50: 40 numeric (8 shifted), 9 categorical of 20 levels (2 shifted), 1 of 5,000 levels;
- 200,000 x 20: 15 numeric (3 shifted), 4 categorical of 20 levels (1 shifted), 1 of 5,000 levels.

    benchmarks/run.sh                          # both cases, every tool, 2 rounds
    benchmarks/run.sh --quick                  # without the slow peers (see QUICK_CELLS)
    benchmarks/run.sh --sizes 200000x20 --rounds 3 --shift 0.3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THRESHOLD = 0.1

# key, label, venv ("main": mlgov's; "peer": pandas<3 with NannyML and Evidently), script, mode,
# inputs ("cur": the current data and mlgov's baseline; "ref+cur": both data sets),
# slow (--quick skips 2 always, and 1 above QUICK_CELLS cells)
TOOLS = [
    ("floor", "NumPy floor (np.histogram, 2 threads)", "main", "mlgov_worker.py", "floor", "cur", 0),
    ("mlgov", "mlgov check, cold (baseline fitted before)", "main", "mlgov_worker.py", "check", "cur", 0),
    ("mlgov_fit", "mlgov fit_baseline + check, cold", "main", "mlgov_worker.py", "fitcheck", "ref+cur", 0),
    ("mlgov_stream", "mlgov fit + check, streamed from Parquet", "main", "mlgov_worker.py", "stream", "ref+cur", 0),
    ("nannyml", "NannyML UnivariateDriftCalculator (JS)", "peer", "peer_worker.py", "nannyml", "ref+cur", 0),
    ("scipy", "SciPy loop (Wasserstein/std, JS)", "main", "peer_worker.py", "scipy", "ref+cur", 1),
    ("ev_tests", "Evidently's test functions", "peer", "peer_worker.py", "ev_tests", "ref+cur", 1),
    ("ev_value", "Evidently ValueDrift per column", "peer", "peer_worker.py", "ev_value", "ref+cur", 2),
    ("ev_preset", "Evidently DataDriftPreset", "peer", "peer_worker.py", "ev_preset", "ref+cur", 2),
]
QUICK_CELLS = 20_000_000  # --quick: the SciPy loop and Evidently's test functions only up to this rows x cols


# ------------------------------------------------------------------------ data


def layout(n_cols: int) -> dict:
    if n_cols == 50:
        return {"numeric": 40, "shifted_numeric": 8, "categorical": 9, "shifted_categorical": 2, "high_card": 1}
    if n_cols == 20:
        return {"numeric": 15, "shifted_numeric": 3, "categorical": 4, "shifted_categorical": 1, "high_card": 1}
    raise SystemExit("supported column counts: 50 and 20")


def category_tilt(js: float) -> float:
    """The tilt e (shares x (1 +- e) on two halves of the levels) whose Jensen-Shannon distance is ``js``."""
    import numpy as np
    from scipy.optimize import brentq
    from scipy.spatial.distance import jensenshannon

    p = 1 + 0.1 * np.arange(20)
    p /= p.sum()

    def dist(e):
        q = p * np.r_[np.full(10, 1 + e), np.full(10, 1 - e)]
        return jensenshannon(p, q / q.sum()) - js

    return float(brentq(dist, 1e-6, 0.999))


def make_frames(n_rows: int, n_cols: int, shift: float, seed: int = 0):
    """(reference, current, shifted columns): numeric columns shifted by ``shift`` x their standard
    deviation (normalised Wasserstein distance = ``shift``), categorical ones tilted to a Jensen-Shannon
    distance of ``shift``."""
    import numpy as np
    import pandas as pd

    spec = layout(n_cols)
    rng = np.random.default_rng(seed)
    ref, cur, shifted = {}, {}, []
    for i in range(spec["numeric"]):
        name = f"num_{i:02d}"
        move = i < spec["shifted_numeric"]
        kind = i % 4
        mu, sd = float(rng.uniform(-5, 5)), float(rng.uniform(0.5, 3))
        if kind == 0:  # normal
            r = rng.normal(mu, sd, n_rows)
            c = rng.normal(mu, sd, n_rows)
        elif kind == 1:  # lognormal (skewed)
            r = np.exp(rng.normal(0, 0.5, n_rows)) * sd
            c = np.exp(rng.normal(0, 0.5, n_rows)) * sd
        elif kind == 2:  # uniform
            r = rng.uniform(mu, mu + 3 * sd, n_rows)
            c = rng.uniform(mu, mu + 3 * sd, n_rows)
        else:  # integers
            r = np.round(rng.normal(50, 10, n_rows)).astype("int64")
            c = np.round(rng.normal(50, 10, n_rows) + (shift * 10 if move else 0.0)).astype("int64")
        if move and kind != 3:
            c = c + shift * float(r.std())
        ref[name], cur[name] = r, c
        if move:
            shifted.append(name)
    levels = [f"L{j:02d}" for j in range(20)]
    p = 1 + 0.1 * np.arange(20)
    p /= p.sum()
    tilt = category_tilt(shift)
    q = p * np.r_[np.full(10, 1 + tilt), np.full(10, 1 - tilt)]
    q /= q.sum()
    for i in range(spec["categorical"]):
        name = f"cat_{i}"
        move = i < spec["shifted_categorical"]
        perm = rng.permutation(20)
        pr = p[perm]
        qc = q[perm] if move else pr
        ref[name] = pd.Categorical.from_codes(rng.choice(20, n_rows, p=pr), levels)
        cur[name] = pd.Categorical.from_codes(rng.choice(20, n_rows, p=qc), levels)
        if move:
            shifted.append(name)
    hi_levels = [f"H{j:04d}" for j in range(5000)]
    for i in range(spec["high_card"]):
        name = f"hicard_{i}"
        ph = rng.uniform(0.5, 1.5, 5000)
        ph /= ph.sum()
        ref[name] = pd.Categorical.from_codes(rng.choice(5000, n_rows, p=ph), hi_levels)
        cur[name] = pd.Categorical.from_codes(rng.choice(5000, n_rows, p=ph), hi_levels)
    return pd.DataFrame(ref), pd.DataFrame(cur), shifted


# ------------------------------------------------------------------------ running


def run_worker(python: str, script: str, args: list, timeout: float) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    t = time.perf_counter()
    out = subprocess.run([python, os.path.join(HERE, script), *args], capture_output=True, text=True,
                         timeout=timeout, env=env)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"{script} {args[0]} failed:\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    return res


def flags(found: list, shifted: list) -> dict:
    found_set, truth = set(found), set(shifted)
    return {"found": len(found_set & truth), "of": len(truth), "missed": sorted(truth - found_set),
            "false_alarms": sorted(found_set - truth)}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def run_case(n_rows: int, n_cols: int, args, tools) -> dict:
    if args.quick:
        skip = [t for t in tools if t[6] == 2 or (t[6] == 1 and n_rows * n_cols > QUICK_CELLS)]
        tools = [t for t in tools if t not in skip]
    print(f"\n=== {n_rows:,} rows x {n_cols} columns; shifts {args.shift:g} (sd for numeric, "
          f"Jensen-Shannon for categorical) at threshold {THRESHOLD:g} ===", flush=True)
    if args.quick and skip:
        print(f"--quick: skipped {', '.join(t[1] for t in skip)}")
    work = args.work_dir or tempfile.mkdtemp(prefix="mlgov-bench-")
    os.makedirs(work, exist_ok=True)
    ref_path = os.path.join(work, f"ref_{n_rows}x{n_cols}.parquet")
    cur_path = os.path.join(work, f"cur_{n_rows}x{n_cols}.parquet")
    base_path = os.path.join(work, f"baseline_{n_rows}x{n_cols}.json")
    t = time.perf_counter()
    ref, cur, shifted = make_frames(n_rows, n_cols, args.shift, args.seed)
    ref.to_parquet(ref_path, row_group_size=100_000)
    cur.to_parquet(cur_path, row_group_size=100_000)
    data = {"cur": int(cur.memory_usage(deep=True).sum())}
    data["ref+cur"] = data["cur"] + int(ref.memory_usage(deep=True).sum())
    del ref, cur
    print(f"data generated in {time.perf_counter() - t:.1f} s: current {data['cur'] / 1e9:.2f} GB in memory, "
          f"reference + current {data['ref+cur'] / 1e9:.2f} GB; shifted: {', '.join(shifted)}", flush=True)
    fit = run_worker(args.python, "mlgov_worker.py", ["fit", ref_path, base_path], args.timeout)
    print(f"mlgov baseline (set-up, cold process): fit_baseline {fit['steps']['compute']:.2f} s, "
          f"{fit['baseline_bytes'] / 1e6:.1f} MB JSON", flush=True)
    runs: dict = {key: [] for key, *_ in tools}
    for rnd in range(args.rounds):
        for key, label, venv, script, mode, inputs, _ in tools:
            python = args.python if venv == "main" else args.peer_python
            ins = [cur_path, base_path] if inputs == "cur" else [ref_path, cur_path]
            load = os.getloadavg()[0]
            res = run_worker(python, script, [mode, *ins], args.timeout)
            res["loadavg"] = load
            runs[key].append(res)
            print(f"  round {rnd + 1} {label}: compute {res['steps']['compute']:.2f} s, process "
                  f"{res['wall_s']:.1f} s, peak {res['peak_bytes'] / 1e9:.2f} GB (load avg {load:.1f})", flush=True)
    rows = []
    for key, label, venv, script, mode, inputs, _ in tools:
        rs = runs[key]
        rows.append({
            "key": key, "label": label, "inputs": inputs, "data_bytes": data[inputs],
            "compute_s": [r["steps"]["compute"] for r in rs], "load_s": med([r["steps"].get("load") for r in rs]),
            "import_s": med([r["steps"].get("import") for r in rs]), "wall_s": med([r["wall_s"] for r in rs]),
            "peak_bytes": med([r["peak_bytes"] for r in rs]),
            "imported_bytes": med([r.get("rss_after_import") for r in rs]),
            "flags": flags(rs[-1]["drifted"], shifted) if key != "floor" else None,
            "drifted": [r["drifted"] for r in rs], "version": rs[-1].get("version"),
            "loadavg": [r["loadavg"] for r in rs], "tests": rs[-1].get("tests"),
        })
    print_table(rows, shifted, n_rows, n_cols)
    if not args.keep:
        for p in (ref_path, cur_path, base_path):
            os.remove(p)
        if not args.work_dir:
            os.rmdir(work)
    return {"rows": n_rows, "cols": n_cols, "shift": args.shift, "shifted": shifted, "data_bytes": data,
            "fit": fit, "tools": rows}


def print_table(rows, shifted, n_rows, n_cols):
    floor = next((r for r in rows if r["key"] == "floor"), None)
    floor_s = med(floor["compute_s"]) if floor else None
    print(f"\n{n_rows:,} x {n_cols}: compute = the drift computation, in seconds (median; each run in brackets); "
          "x floor = compute / the NumPy floor's;\nload = Parquet -> pandas (s); import = the tool's import (s); "
          "process = the cold process, start to exit (s);\npeak = the whole process's peak RSS (interpreter, "
          "imports, Parquet load, computation), of which imports = RSS once imported;\nx data = peak / the data "
          "the process loads, in memory (c: current; r+c: reference and current); above imports = (peak - imports) "
          "/ the data")
    head = (f"{'tool':<42} {'compute':>18} {'x floor':>7} {'load':>5} {'import':>6} {'process':>7} "
            f"{'peak GB':>7} {'imports':>7} {'x data':>10} {'above imp.':>10} {'found':>5} {'false':>5}")
    print(head)
    print("-" * len(head))
    for r in rows:
        c = med(r["compute_s"])
        each = "[" + ", ".join(f"{x:.2f}" if x < 10 else f"{x:.0f}" for x in r["compute_s"]) + "]"
        comp = f"{c:.2f} {each}" if c < 10 else f"{c:.1f} {each}"
        xf = f"{c / floor_s:.1f}x" if floor_s else "-"
        load = "(in)" if r["load_s"] is None else f"{r['load_s']:.2f}"
        fl = r["flags"]
        found = "-" if fl is None else f"{fl['found']}/{fl['of']}"
        false = "-" if fl is None else str(len(fl["false_alarms"]))
        which = "c" if r["inputs"] == "cur" else "r+c"
        xd = f"{r['peak_bytes'] / r['data_bytes']:.2f}x {which}"
        above = f"{(r['peak_bytes'] - r['imported_bytes']) / r['data_bytes']:.2f}x"
        print(f"{r['label'][:42]:<42} {comp:>18} {xf:>7} {load:>5} {r['import_s']:>6.2f} {r['wall_s']:>7.1f} "
              f"{r['peak_bytes'] / 1e9:>7.2f} {r['imported_bytes'] / 1e9:>7.2f} {xd:>10} {above:>10} {found:>5} "
              f"{false:>5}")
    versions = ", ".join(sorted({r["version"] for r in rows if r.get("version")}))
    if versions:
        print(f"versions: {versions}")
    # which shifted column each tool found (last run): borderline shifts make this a coin toss per column
    tools = [r for r in rows if r["flags"] is not None]
    if tools:
        print("\nfound per shifted column (x = flagged, last run):")
        print(f"{'':<42} " + " ".join(f"{s[-6:]:>6}" for s in shifted))
        for r in tools:
            got = set(r["drifted"][-1])
            print(f"{r['label'][:42]:<42} " + " ".join(f"{'x' if s in got else '.':>6}" for s in shifted)
                  + (f"   false alarms: {', '.join(r['flags']['false_alarms'])}" if r["flags"]["false_alarms"] else ""))
    loads = [x for r in rows for x in r["loadavg"]]
    print(f"machine load average during the runs: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores",
          flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000x50,200000x20")
    ap.add_argument("--rounds", type=int, default=2, help="runs of every tool, interleaved (default 2)")
    ap.add_argument("--shift", type=float, default=0.1)
    ap.add_argument("--quick", action="store_true", help="skip the slow peers: ValueDrift and DataDriftPreset, "
                    "and the SciPy loop and Evidently's test functions above QUICK_CELLS rows x columns")
    ap.add_argument("--only", help="comma-separated tool keys: " + ", ".join(t[0] for t in TOOLS))
    ap.add_argument("--python", default=sys.executable, help="mlgov's venv python")
    ap.add_argument("--peer-python", default=os.environ.get("BENCH_PYTHON"),
                    help="python of the venv with NannyML and Evidently (pandas<3)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work-dir")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", help="write every figure to this file")
    args = ap.parse_args(argv)
    tools = list(TOOLS)
    if args.only:
        keep = set(args.only.split(","))
        tools = [t for t in tools if t[0] in keep]
    if not args.peer_python or not os.path.exists(args.peer_python):
        skipped = [t[1] for t in tools if t[2] == "peer"]
        tools = [t for t in tools if t[2] != "peer"]
        if skipped:
            print(f"no peers' venv (benchmarks/run.sh makes it): skipped {', '.join(skipped)}")
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; {args.rounds} rounds, the tools "
          "interleaved, each run a cold process")
    results = [run_case(int(r), int(c), args, tools) for r, c in (s.lower().split("x") for s in args.sizes.split(","))]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
