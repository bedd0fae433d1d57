"""``%mlgov check DIR CURRENT_DF``: a folder of SageMaker's output is a baseline, as ``Baseline.load``
reads it."""

import pytest
from IPython.core.error import UsageError

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.kernel.magics.base import Context
from mlgov_jupyter.kernel.magics.check import Check

from .test_sm_formats import DQ, headerless


@pytest.fixture(scope="module")
def shell():
    from IPython.testing.globalipapp import get_ipython

    return get_ipython()


def test_check_takes_a_folder_of_sagemaker_files(shell, tmp_path):
    df = headerless(DQ / "baseline_dataset.csv")
    folder = tmp_path / "baseline-job-output"
    folder.mkdir()
    (folder / "statistics.json").write_text((DQ / "statistics.json").read_text())
    (folder / "constraints.json").write_text((DQ / "good_cases" / "constraints.json").read_text())
    (folder / "analysis_config.json").write_text("{}")  # SageMaker's folders hold other files too
    cur = df.assign(_c2=df["_c2"] + 2)
    shell.user_ns.update({"cur_df": cur})
    ctx = Context(shell=shell, client_factory=lambda: None)
    cmd = Check()
    r = cmd.run(cmd.parse(f"{folder} cur_df --quiet"), ctx)
    expected = mon.check(mon.from_sagemaker(DQ / "statistics.json", DQ / "good_cases" / "constraints.json"), cur)
    assert r.to_dict()["columns"] == expected.to_dict()["columns"] and r.drifted_columns == ["_c2"]
    # a saved baseline's SageMaker export, as a folder, checks the same
    fitted = mon.fit_baseline(df)
    fitted.save_sagemaker(tmp_path / "export")
    r2 = cmd.run(cmd.parse(f"{tmp_path / 'export'} cur_df --quiet"), ctx)
    assert r2.to_dict()["columns"] == mon.check(fitted, cur).to_dict()["columns"]
    # a folder without baseline files is refused in one line (the router shows it as a UsageError)
    (tmp_path / "empty").mkdir()
    with pytest.raises(Invalid, match="no SageMaker baseline files in"):
        cmd.run(cmd.parse(f"{tmp_path / 'empty'} cur_df --quiet"), ctx)
    with pytest.raises(UsageError, match="no variable or baseline file or folder named"):
        cmd.run(cmd.parse(f"{tmp_path / 'nowhere'} cur_df"), ctx)
