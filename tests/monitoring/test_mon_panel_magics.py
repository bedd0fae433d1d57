"""The drift panel (ipywidgets) and the %mlgov drift / check subcommands in a real IPython shell."""

import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.kernel.magics.base import Context
from mlgov_jupyter.kernel.magics.check import Check
from mlgov_jupyter.kernel.magics.drift import Drift
from mlgov_jupyter.kernel.widgets.drift_panel import DriftPanel, register_formatter

from .conftest import mixed_frame


@pytest.fixture(scope="module")
def shell():
    from IPython.testing.globalipapp import get_ipython

    return get_ipython()


@pytest.fixture
def frames(rng):
    ref = mixed_frame(rng, 3000)
    ref["y"] = (ref["a"] + rng.normal(0, 0.5, len(ref)) > 0).astype(int)
    ref["yhat"] = (ref["a"] > 0).astype(int)
    cur = mixed_frame(rng, 3000, shift=0.6, cat_shift=True)
    cur["y"] = (cur["a"] + rng.normal(0, 0.5, len(cur)) > 0.6).astype(int)
    cur["yhat"] = (cur["a"] > 0).astype(int)
    return ref, cur


def test_panel_summary_table_sort_select_and_html_fallback(frames):
    ref, cur = frames
    report = mon.check(mon.fit_baseline(ref, target="y", prediction="yhat", sensitive="c"), cur)
    panel = DriftPanel(report)
    assert "Dataset drift" in panel.summary.value
    assert f"drifted columns: <b>{len(report.drifted_columns)}</b>" in panel.summary.value
    assert "baseline_drift_check" in panel.summary.value
    values = [v for _, v in panel.table.options if v is not None]
    assert values[: len(report.drifted_columns)] and set(values[: len(report.drifted_columns)]) == set(report.drifted_columns)
    panel.sort_by("column", descending=False)
    assert [v for _, v in panel.table.options if v is not None] == sorted(values)
    panel.sort_by("column")  # again: reversed
    assert [v for _, v in panel.table.options if v is not None] == sorted(values, reverse=True)
    panel.select("c")
    assert "<svg" in panel.detail.value and "<b>c</b>" in panel.detail.value
    panel.select("a")
    assert "<b>a</b>" in panel.detail.value
    assert "Model quality" in panel.sections.value and "Bias (facet c" in panel.sections.value
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<svg" in bundle["text/html"] and "<script" not in bundle["text/html"]
    assert len(bundle["text/html"]) < 100_000


def test_formatter_shows_reports_as_panels(shell, frames):
    ref, cur = frames
    register_formatter(shell)
    report = mon.check(mon.fit_baseline(ref), cur)
    assert isinstance(mon.panel(report), DriftPanel)
    report2, panel = mon.run_with_panel(mon.fit_baseline(ref), cur, display_progress=False)
    assert panel.report is report2 and report2.drifted_columns == report.drifted_columns
    data, _ = shell.display_formatter.format(report)
    assert "application/vnd.jupyter.widget-view+json" in data and "text/html" in data


def test_drift_subcommand_end_to_end(shell, frames):
    ref, cur = frames
    shell.user_ns.update({"ref_df": ref, "cur_df": cur, "not_df": 3})
    ctx = Context(shell=shell, client_factory=lambda: None)
    cmd = Drift()
    args = cmd.parse("ref_df cur_df --target y --prediction yhat --sensitive c --facet-values z --quiet")
    report = cmd.run(args, ctx)
    assert isinstance(report, mon.Report)
    assert "a" in report.drifted_columns and report.quality is not None
    assert report.bias["facet_values"] == ["z"]
    expected = mon.check(mon.fit_baseline(ref, target="y", prediction="yhat", sensitive="c", facet_values=["z"]), cur)
    assert report.to_dict()["columns"] == expected.to_dict()["columns"]
    # progress bar path (displays, then removes it)
    assert cmd.run(cmd.parse("ref_df cur_df --correction bh"), ctx).correction == "bh"
    with pytest.raises(UsageError, match="no variable named 'nope'"):
        cmd.run(cmd.parse("ref_df nope"), ctx)
    with pytest.raises(UsageError, match="not a DataFrame"):
        cmd.run(cmd.parse("not_df cur_df"), ctx)
    with pytest.raises(UsageError):
        cmd.parse("ref_df")
    with pytest.raises(UsageError):
        cmd.parse("ref_df cur_df --correction nonsense")


def test_drift_with_model_needs_a_client_that_stores_executions(shell, frames):
    ref, cur = frames
    shell.user_ns.update({"ref_df": ref, "cur_df": cur})
    ctx = Context(shell=shell, client_factory=lambda: object())
    cmd = Drift()
    with pytest.raises(UsageError, match="cannot store monitoring executions"):
        cmd.run(cmd.parse("ref_df cur_df --model churn --quiet"), ctx)


def test_check_subcommand_with_variable_file_and_parquet(shell, frames, tmp_path):
    ref, cur = frames
    b = mon.fit_baseline(ref)
    path = b.save(tmp_path / "base.json")
    cur.to_parquet(tmp_path / "cur.parquet")
    shell.user_ns.update({"base": b, "cur_df": cur, "cur_path": str(tmp_path / "cur.parquet")})
    ctx = Context(shell=shell, client_factory=lambda: None)
    cmd = Check()
    r1 = cmd.run(cmd.parse("base cur_df --quiet"), ctx)
    r2 = cmd.run(cmd.parse(f"{path} cur_path --quiet"), ctx)
    r3 = cmd.run(cmd.parse(f"base {tmp_path / 'cur.parquet'}"), ctx)
    assert r1.to_dict()["columns"] == r2.to_dict()["columns"] == r3.to_dict()["columns"]
    shell.user_ns["notbase"] = 1
    with pytest.raises(UsageError, match="not a Baseline"):
        cmd.run(cmd.parse("notbase cur_df"), ctx)
    with pytest.raises(UsageError, match="no variable or baseline file"):
        cmd.run(cmd.parse("nothing cur_df"), ctx)


def test_magic_modules_import_light():
    code = ("import sys, time; t = time.perf_counter(); import mlgov_jupyter.kernel.magics.drift, "
            "mlgov_jupyter.kernel.magics.check; print(time.perf_counter() - t); "
            "print(','.join(m for m in ('scipy', 'sklearn', 'ipywidgets', 'mlgov_jupyter.core.monitoring') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[1] == ""
    assert float(out[0]) < 0.5


def test_core_monitoring_has_no_jupyter_imports():
    code = ("import sys; import mlgov_jupyter.monitoring as m; "
            "print(','.join(x for x in ('tornado', 'IPython', 'ipywidgets', 'scipy', 'sklearn') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_drift_with_model_stores_an_execution_through_the_service(shell, frames, tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    from mlgov_jupyter import connect

    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'mlgov.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    client = connect(user="alice")
    client.create_project("risk")
    X = pd.DataFrame({"x": np.arange(10.0)})
    client.publish(LogisticRegression().fit(X, (X.x > 4).astype(int)), "churn", project="risk")
    ref, cur = frames
    shell.user_ns.update({"ref_df": ref, "cur_df": cur})
    ctx = Context(shell=shell, client_factory=lambda: client)
    cmd = Drift()
    report = cmd.run(cmd.parse("ref_df cur_df --model churn --quiet"), ctx)
    executions = client.executions("churn")
    assert len(executions) == 1
    ex = executions[0]
    assert ex["monitor_type"] == "data_quality" and ex["status"] == report.status == "CompletedWithViolations"
    assert ex["dataset_drift"] == report.dataset_drift
    with pytest.raises(UsageError, match="no asset named"):
        from mlgov_jupyter.core.errors import GovernanceError

        try:
            cmd.run(cmd.parse("ref_df cur_df --model nope --quiet"), ctx)
        except GovernanceError as exc:  # the router turns these into UsageError
            raise UsageError(str(exc)) from None
