"""Drift-benchmark workers in mlgov's venv, each one cold process; prints one JSON line (bench_common).

    mlgov_worker.py floor    CUR BASELINE   NumPy floor: one np.histogram pass per column, 2 threads
    mlgov_worker.py fit      REF BASELINE   fit_baseline on the reference, saved (set-up; timed)
    mlgov_worker.py check    CUR BASELINE   check() of the current data against a saved baseline
    mlgov_worker.py fitcheck REF CUR        fit_baseline(ref) then check(cur): the peers' work
    mlgov_worker.py stream   REF CUR        the same from the Parquet files, streamed (no DataFrame)

Timed steps: ``import`` (the tool), ``load`` (Parquet -> pandas; a saved baseline is timed apart as
``baseline``), ``compute`` (the drift computation, first call, nothing warmed up before it).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_common import Clock, emit, load_frames, split_columns, status_kb  # noqa: E402

FLOOR_BINS = 1000  # as many bins as mlgov's fine bins
FLOOR_THREADS = 2


def floor(cur_path: str, baseline_path: str) -> None:
    """The least any tool must do: read every current value once and count it into a bin (numeric:
    np.histogram with 1,000 equal-width bins over the reference's range; categorical: np.bincount of
    the codes), on two threads. No statistic is computed and nothing is flagged."""
    clock = Clock()
    with clock("import"):
        import json
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np
        import pandas as pd  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    with open(baseline_path) as f:  # the reference's range per column: not timed
        ranges = {c["name"]: (c.get("min"), c.get("max")) for c in json.load(f)["columns"]}
    imported = status_kb("VmRSS") * 1024
    with clock("load"):
        (cur,) = load_frames(cur_path)
    num, cat = split_columns(cur)

    def one(col):
        s = cur[col]
        if col in cat:
            codes = s.cat.codes.to_numpy()
            return np.bincount(codes.astype(np.intp) + 1)
        lo, hi = ranges[col]
        return np.histogram(s.to_numpy(), bins=FLOOR_BINS, range=(lo, hi))[0]

    with clock("compute"):
        with ThreadPoolExecutor(FLOOR_THREADS) as pool:
            list(pool.map(one, list(cur.columns)))
    emit(clock, [], rss_after_import=imported, method=f"np.histogram {FLOOR_BINS} bins / np.bincount, "
         f"{FLOOR_THREADS} threads")


def fit(ref_path: str, baseline_path: str) -> None:
    clock = Clock()
    with clock("import"):
        import pandas as pd  # noqa: F401

        from mlgov_jupyter import monitoring as mon
    imported = status_kb("VmRSS") * 1024
    with clock("load"):
        (ref,) = load_frames(ref_path)
    with clock("compute"):
        b = mon.fit_baseline(ref)
    b.save(baseline_path)
    emit(clock, [], rss_after_import=imported, baseline_bytes=os.path.getsize(baseline_path))


def _flags(report) -> list:
    return list(report.drifted_columns)


def check(cur_path: str, baseline_path: str) -> None:
    clock = Clock()
    with clock("import"):
        import pandas as pd  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        from mlgov_jupyter import monitoring as mon
    imported = status_kb("VmRSS") * 1024
    with clock("baseline"):
        b = mon.Baseline.load(baseline_path)
    with clock("load"):
        (cur,) = load_frames(cur_path)
    with clock("compute"):
        report = mon.check(b, cur)
    emit(clock, _flags(report), rss_after_import=imported,
         tests={c.column: [c.method, c.statistic] for c in report.columns})


def fitcheck(ref_path: str, cur_path: str) -> None:
    clock = Clock()
    with clock("import"):
        import pandas as pd  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        from mlgov_jupyter import monitoring as mon
    imported = status_kb("VmRSS") * 1024
    with clock("load"):
        ref, cur = load_frames(ref_path, cur_path)
    with clock("compute"):
        report = mon.check(mon.fit_baseline(ref), cur)
    emit(clock, _flags(report), rss_after_import=imported)


def stream(ref_path: str, cur_path: str) -> None:
    clock = Clock()
    with clock("import"):
        import pandas as pd  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        from mlgov_jupyter import monitoring as mon
    imported = status_kb("VmRSS") * 1024
    with clock("compute"):  # reading the files is part of it
        report = mon.check(mon.fit_baseline(ref_path), cur_path)
    emit(clock, _flags(report), rss_after_import=imported)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"floor": floor, "fit": fit, "check": check, "fitcheck": fitcheck, "stream": stream}[mode](*args)
