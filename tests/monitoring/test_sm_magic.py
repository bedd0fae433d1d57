"""%mlgov sagemaker import / export in a real IPython shell, on the SageMaker SDK's own files."""

import json
import pathlib

import pandas as pd
import pytest
from IPython.core.error import UsageError

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.kernel.magics.base import Context
from mlgov_jupyter.kernel.magics.entry import subcommand
from mlgov_jupyter.kernel.magics.sagemaker import Sagemaker

SDK = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker_sdk"
DQ = SDK / "pipeline" / "quality_check_step" / "data_quality"
MQ = SDK / "pipeline" / "quality_check_step" / "model_quality"


@pytest.fixture(scope="module")
def shell():
    from IPython.testing.globalipapp import get_ipython

    return get_ipython()


def test_import_export_and_violations(shell, tmp_path, capsys):
    assert isinstance(subcommand("sagemaker"), Sagemaker)
    ctx = Context(shell=shell, client_factory=lambda: None)
    cmd = Sagemaker()
    b = cmd.run(cmd.parse(f"import {DQ / 'statistics.json'} {DQ / 'good_cases' / 'constraints.json'}"), ctx)
    assert isinstance(b, mon.Baseline) and len(b.columns) == 6
    q = cmd.run(cmd.parse(f"import {MQ / 'good_cases'} --target Label --prediction Prediction"), ctx)
    df = pd.read_csv(MQ / "baseline_dataset.csv")
    assert mon.check(q, df).quality["metrics"]["r2_sagemaker"]["value"] == pytest.approx(-3.208758170289026)
    r = cmd.run(cmd.parse(f"import {SDK / 'monitor' / 'constraint_violations.json'}"), ctx)
    assert isinstance(r, mon.Report) and len(r.violations) == 7
    shell.user_ns["imported"] = b
    paths = cmd.run(cmd.parse(f"export imported {tmp_path / 'out'}"), ctx)
    assert json.loads(pathlib.Path(paths["statistics"]).read_text()) == json.loads((DQ / "statistics.json").read_text())
    assert "statistics.json" in capsys.readouterr().out
    with pytest.raises(UsageError, match="no such file"):
        cmd.run(cmd.parse("import nowhere.json"), ctx)
    with pytest.raises(UsageError, match="cannot store monitoring executions"):
        cmd.run(cmd.parse(f"import {SDK / 'monitor' / 'constraint_violations.json'} --model churn"),
                Context(shell=shell, client_factory=lambda: object()))
    shell.user_ns["three"] = 3
    with pytest.raises(UsageError, match="not a Baseline"):
        cmd.run(cmd.parse(f"export three {tmp_path}"), ctx)
    with pytest.raises(UsageError):
        cmd.parse("convert x")


def test_wrong_file_is_one_usage_error_line(shell):
    shell.run_line_magic("load_ext", "mlgov_jupyter")
    with pytest.raises(UsageError) as e:
        shell.run_line_magic("mlgov", f"sagemaker import {SDK / 'monitor' / 'capture.jsonl'}")
    assert "is not JSON" in str(e.value) and "\n" not in str(e.value)
