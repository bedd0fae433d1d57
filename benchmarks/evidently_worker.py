"""Run Evidently's DataDriftPreset on two Parquet files; print one JSON line (runs in the bench venv)."""

import gc
import json
import sys
import time


def rss_kb(field="VmRSS"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main(ref_path, cur_path):
    import pandas as pd

    t = time.perf_counter()
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_s = time.perf_counter() - t
    gc.collect()
    idle = rss_kb()
    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(cur_path)
    data_bytes = int(ref.memory_usage(deep=True).sum() + cur.memory_usage(deep=True).sum())
    num = [c for c in ref.columns if pd.api.types.is_numeric_dtype(ref[c].dtype)]
    cat = [c for c in ref.columns if c not in num]
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    t = time.perf_counter()
    definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition), Dataset.from_pandas(ref, data_definition=definition))
    result = snapshot.dict()
    run_s = time.perf_counter() - t
    drifted, tests = [], {}
    for m in result["metrics"]:
        cfg = m.get("config", {})
        if not cfg.get("type", "").endswith("ValueDrift"):
            continue
        method, thr, score = cfg["method"], cfg["threshold"], m["value"]
        is_p = "p_value" in method
        tests[cfg["column"]] = [method, score]
        if (score < thr) if is_p else (score >= thr):
            drifted.append(cfg["column"])
    print(json.dumps({
        "version": evidently.__version__, "pandas": pd.__version__, "import_s": import_s, "run_s": run_s,
        "data_bytes": data_bytes, "peak_rss_over_idle_bytes": (rss_kb("VmHWM") - idle) * 1024,
        "drifted": drifted, "tests": tests,
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
