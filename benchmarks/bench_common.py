"""What every drift-benchmark worker shares (standard library only: it runs in mlgov's venv and in the
peers' venv alike). A worker is one cold process: it imports its tool, loads the Parquet files it needs,
runs the drift computation once, and prints one JSON line with its timings and whole-process memory."""

from __future__ import annotations

import json
import os
import sys
import time

T0 = time.perf_counter()


def status_kb(field: str) -> int:
    """A field of /proc/self/status in kB (Linux): VmRSS now, VmHWM the peak since the process started."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource  # elsewhere: the peak alone

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class Clock:
    """Named wall-clock steps: ``with clock("load"): ...``; ``clock.steps`` maps name to seconds."""

    def __init__(self):
        self.steps: dict = {}
        self._name = None

    def __call__(self, name: str):
        self._name = name
        return self

    def __enter__(self):
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.steps[self._name] = self.steps.get(self._name, 0.0) + time.perf_counter() - self._t


def load_frames(*paths):
    """pandas DataFrames of the Parquet files, as a user loads them (``pd.read_parquet``)."""
    import pandas as pd

    return [pd.read_parquet(p) for p in paths]


def split_columns(frame):
    """(numeric, categorical) column names, by pandas dtype."""
    import pandas as pd

    num = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c].dtype)
           and not pd.api.types.is_bool_dtype(frame[c].dtype)]
    return num, [c for c in frame.columns if c not in num]


def emit(clock: Clock, drifted: list, **extra) -> None:
    """The worker's one JSON line: steps (s), flagged columns, RSS after imports and whole-process peak."""
    out = {"steps": clock.steps, "drifted": sorted(drifted), "peak_bytes": status_kb("VmHWM") * 1024,
           "process_s": time.perf_counter() - T0, "pid": os.getpid(), "python": sys.version.split()[0], **extra}
    print(json.dumps(out, default=str), flush=True)
