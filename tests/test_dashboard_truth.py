"""Issue 13 item 9, dashboard truth: defaults that do not cry wolf (a Benjamini-Hochberg correction
of a check's p-value tests by default), a model never checked is not a green OK, the dashboard says
what it cannot tell, and "Dataset drift: no" is not green above violations. Through the REST route
the sidebar reads (a real Jupyter server)."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.monitoring import html
from mlgov_jupyter.core.monitoring.drift import DEFAULT_CORRECTION


def _thirty(seed: int, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({f"x{i}": rng.normal(size=400) for i in range(30)})
    cur = pd.DataFrame({f"x{i}": rng.normal(size=400) for i in range(30)})
    cur["x0"] += shift
    return ref, cur


def test_a_thirty_column_check_of_unshifted_data_flags_nothing_by_default():
    ref, cur = _thirty(0)  # seed 0: uncorrected, three unshifted columns have p < 0.05
    baseline = mon.fit_baseline(ref)
    raw = mon.check(baseline, cur, correction="none")
    assert len(raw.drifted_columns) == 3 and all(c.p_value < 0.05 for c in raw.columns if c.drifted)
    assert DEFAULT_CORRECTION == "bh"
    report = mon.check(baseline, cur)
    assert report.correction == "bh" and report.drifted_columns == [] and report.violations == []
    assert all(c.adjusted_p_value is not None for c in report.columns)
    # a real shift is still found with the correction
    ref, shifted = _thirty(0, shift=0.5)
    assert mon.check(mon.fit_baseline(ref), shifted).drifted_columns == ["x0"]


def test_no_dataset_drift_is_amber_when_there_are_violations():
    ref, cur = _thirty(0)
    baseline = mon.fit_baseline(ref)
    calm = mon.check(baseline, cur)
    assert 'Dataset drift: <span class="ok">no</span>' in html.summary_line(calm)
    cur = cur.copy()
    cur["x1"] = np.nan  # completeness violation, no drift of the dataset
    bad = mon.check(baseline, cur)
    assert bad.violations and not bad.dataset_drift
    line = html.summary_line(bad)
    assert 'Dataset drift: <span class="warn">no</span>' in line and 'class="ok"' not in line


async def test_dashboard_says_never_checked_and_what_is_unknown(api):
    code, _, _r = await api("alice", "POST", "projects", {"name": "ops", "description": "models"})
    assert code in (200, 201)
    from helpers import inline_content

    body = {"name": "idle-model", "kind": "model", "project": "ops",
            **inline_content(LogisticRegression().fit([[0], [1]], [0, 1]))}
    code, out, _r = await api("alice", "POST", "assets", body)
    assert code in (200, 201), out
    code, board, _r = await api("bob", "GET", "dashboard")
    assert code == 200, board
    idle = next(m for m in board["models"] if m["model"] == "idle-model")
    assert idle["alert"] == "NotMonitored"  # never checked: unknown, not a green OK
    assert idle["unknown"] == ["never checked", "no model card"]
    assert idle["latest"] is None and idle["executions"] == 0
    ref, cur = _thirty(0)
    report = mon.check(mon.fit_baseline(ref), cur).to_dict()
    code, out, _r = await api("alice", "POST", "models/idle-model/executions", {"report": report})
    assert code in (200, 201), out
    code, board, _r = await api("bob", "GET", "dashboard")
    idle = next(m for m in board["models"] if m["model"] == "idle-model")
    assert idle["alert"] == "OK" and idle["unknown"] == ["no model card"]
