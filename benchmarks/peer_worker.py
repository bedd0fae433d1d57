"""Drift-benchmark workers for the other tools, each one cold process; prints one JSON line (bench_common).
Runs in the peers' venv (pandas<3: Evidently and NannyML do not import with pandas 3); ``scipy`` runs
in any venv with SciPy.

    peer_worker.py scipy     REF CUR   a plain loop: SciPy's Wasserstein / reference std, Jensen-Shannon
    peer_worker.py nannyml   REF CUR   NannyML's UnivariateDriftCalculator, Jensen-Shannon, one chunk
    peer_worker.py ev_tests  REF CUR   Evidently's own test functions, its default test per column
    peer_worker.py ev_value  REF CUR   Evidently: a Report of one ValueDrift metric per column
    peer_worker.py ev_preset REF CUR   Evidently: DataDriftPreset

Every tool gets the same statistical work: the whole reference against the whole current data, one
test per column, drift at a distance >= 0.1 (p < 0.05 for p-value tests). Timed steps: ``import``,
``load`` (both Parquet files -> pandas), ``compute``.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_common import Clock, emit, load_frames, split_columns, status_kb  # noqa: E402

THRESHOLD = 0.1


def scipy_loop(ref_path, cur_path):
    """What Evidently's default tests compute above 1,000 rows, written directly: numeric columns with
    more than 5 distinct values, Wasserstein distance / reference std (floor 0.001); others,
    Jensen-Shannon distance of the value shares."""
    clock = Clock()
    with clock("import"):
        import numpy as np
        import pandas as pd
        from scipy.spatial.distance import jensenshannon
        from scipy.stats import wasserstein_distance
    imported = status_kb("VmRSS") * 1024
    with clock("load"):
        ref, cur = load_frames(ref_path, cur_path)
    num, _ = split_columns(ref)
    drifted, tests = [], {}
    with clock("compute"):
        for col in ref.columns:
            r, c = ref[col], cur[col]
            if col in num and pd.concat([r, c]).nunique() > 5:
                score = wasserstein_distance(r.to_numpy(), c.to_numpy()) / max(float(np.std(r.to_numpy())), 0.001)
                method = "wasserstein"
            else:
                p = r.value_counts(normalize=True)
                q = c.value_counts(normalize=True)
                keys = p.index.union(q.index)
                score = float(jensenshannon(p.reindex(keys, fill_value=0).to_numpy(),
                                            q.reindex(keys, fill_value=0).to_numpy()))
                method = "jensenshannon"
            tests[col] = [method, float(score)]
            if score >= THRESHOLD:
                drifted.append(col)
    emit(clock, drifted, rss_after_import=imported, tests=tests, version=f"scipy {__import__('scipy').__version__}")


def nannyml(ref_path, cur_path):
    """NannyML's default method (Jensen-Shannon, its Doane bins for continuous columns), one chunk per
    period (the whole data) and a constant threshold of 0.1 (its default thresholds come from the spread
    over reference chunks, which one chunk does not have)."""
    clock = Clock()
    with clock("import"):
        import warnings

        import nannyml as nml

        warnings.filterwarnings("ignore")
    imported = status_kb("VmRSS") * 1024
    with clock("load"):
        ref, cur = load_frames(ref_path, cur_path)
    cols = list(ref.columns)
    with clock("compute"):
        calc = nml.UnivariateDriftCalculator(
            column_names=cols, continuous_methods=["jensen_shannon"], categorical_methods=["jensen_shannon"],
            chunk_number=1, thresholds={"jensen_shannon": nml.thresholds.ConstantThreshold(upper=THRESHOLD)})
        calc.fit(ref)
        result = calc.calculate(cur).filter(period="analysis").to_df()
    drifted = [c for c in cols if bool(result[(c, "jensen_shannon", "alert")].iloc[0])]
    tests = {c: ["jensen_shannon", float(result[(c, "jensen_shannon", "value")].iloc[0])] for c in cols}
    emit(clock, drifted, rss_after_import=imported, tests=tests, version=f"nannyml {nml.__version__}")


def _evidently_report(kind, ref_path, cur_path):
    """One Evidently Report: ``preset`` (DataDriftPreset) or ``value`` (one ValueDrift per column)."""
    clock = Clock()
    with clock("import"):
        import evidently
        from evidently import DataDefinition, Dataset, Report
        from evidently.metrics import ValueDrift
        from evidently.presets import DataDriftPreset
    imported = status_kb("VmRSS") * 1024
    with clock("load"):
        ref, cur = load_frames(ref_path, cur_path)
    num, cat = split_columns(ref)
    metrics = [DataDriftPreset()] if kind == "preset" else [ValueDrift(column=c) for c in ref.columns]
    with clock("compute"):
        definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
        snapshot = Report(metrics).run(Dataset.from_pandas(cur, data_definition=definition),
                                       Dataset.from_pandas(ref, data_definition=definition))
        result = snapshot.dict()
    drifted, tests = [], {}
    for m in result["metrics"]:
        cfg = m.get("config", {})
        if not cfg.get("type", "").endswith("ValueDrift"):
            continue
        method, thr, score = cfg["method"], cfg["threshold"], m["value"]
        tests[cfg["column"]] = [method, score]
        if (score < thr) if "p_value" in method else (score >= thr):
            drifted.append(cfg["column"])
    emit(clock, drifted, rss_after_import=imported, tests=tests, version=f"evidently {evidently.__version__}")


def ev_value(ref_path, cur_path):
    _evidently_report("value", ref_path, cur_path)


def ev_preset(ref_path, cur_path):
    _evidently_report("preset", ref_path, cur_path)


def ev_tests(ref_path, cur_path):
    """Evidently's test choice and test functions, called directly: no report, no charts."""
    clock = Clock()
    with clock("import"):
        import evidently
        from evidently.legacy.calculations.stattests.registry import get_stattest
        from evidently.legacy.core import ColumnType
    imported = status_kb("VmRSS") * 1024
    with clock("load"):
        ref, cur = load_frames(ref_path, cur_path)
    num, _ = split_columns(ref)
    drifted, tests = [], {}
    with clock("compute"):
        for col in ref.columns:
            kind = ColumnType.Numerical if col in num else ColumnType.Categorical
            test = get_stattest(ref[col], cur[col], kind, None)
            r = test(ref[col], cur[col], kind, None)
            tests[col] = [test.name, float(r.drift_score)]
            if r.drifted:
                drifted.append(col)
    emit(clock, drifted, rss_after_import=imported, tests=tests, version=f"evidently {evidently.__version__}")


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"scipy": scipy_loop, "nannyml": nannyml, "ev_tests": ev_tests, "ev_value": ev_value,
     "ev_preset": ev_preset}[mode](*args)
