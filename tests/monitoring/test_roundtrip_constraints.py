"""What a baseline read from SageMaker's files says about data-quality checks: a baseline with no
data-quality columns (model-quality or Clarify files only) finds no column "extra", and SageMaker's
``evaluate_constraints`` (the file's ``monitoring_config`` and a feature's
``monitoring_config_overrides``, as the SDK's ``Constraints.set_monitoring`` writes them) is honoured
and kept through every round trip."""

import copy
import json

import numpy as np
import pandas as pd
import pytest

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.monitoring.sagemaker_formats import constraint_settings, feature_overrides

from .test_sm_formats import CLARIFY, DQ, MQ, headerless, read


def checks(report, monitor="data_quality"):
    return sorted((v["feature_name"], v["constraint_check_type"]) for v in report.violations
                  if v["monitor_type"] == monitor)


# ----------------------------------------------------------------- baselines without data-quality columns


def test_a_model_quality_baseline_finds_no_extra_columns():
    df = pd.read_csv(MQ / "baseline_dataset.csv")
    b = mon.from_sagemaker(MQ / "statistics.json", MQ / "good_cases" / "constraints.json",
                           target="Label", prediction="Prediction")
    assert b.columns == {}
    r = mon.check(b, df)
    assert checks(r) == [] and r.extra_columns == [] and r.missing_columns == []
    assert r.status == "Completed" and not r.dataset_drift
    bad = mon.from_sagemaker(MQ / "statistics.json", MQ / "bad_cases" / "constraints.json",
                             target="Label", prediction="Prediction")
    r = mon.check(bad, df)
    assert [(v["monitor_type"], v["metric_name"]) for v in r.violations] == [("model_quality", "mse")]
    # the same after a save and load
    r = mon.check(mon.Baseline.from_dict(json.loads(json.dumps(b.to_dict()))), df)
    assert r.violations == [] and r.extra_columns == []


def test_a_clarify_baseline_finds_no_extra_columns():
    df = pd.read_csv(CLARIFY / "dataset.csv", header=None, names=["Label", "F1", "F2", "F3", "F4"])
    b = mon.from_sagemaker(CLARIFY / "data_bias" / "good_cases" / "analysis.json", group="F2")
    r = mon.check(b, df)
    assert r.violations == [] and r.extra_columns == []


def test_a_data_quality_baseline_still_finds_extra_columns():
    df = headerless(DQ / "baseline_dataset.csv")
    b = mon.from_sagemaker(DQ / "statistics.json", DQ / "good_cases" / "constraints.json")
    assert checks(mon.check(b, df.assign(new=1.0))) == [("new", "extra_column_check")]


# ----------------------------------------------------------------- evaluate_constraints


def set_monitoring(constraints: dict, enable: bool, feature_name=None) -> dict:
    """What the SageMaker SDK's ``Constraints.set_monitoring(enable_monitoring, feature_name)`` does to
    the body of constraints.json (``sagemaker/model_monitor/monitoring_files.py``): the file's flag, or
    the feature's ``string_constraints.monitoring_config_overrides.evaluate_constraints``."""
    doc = copy.deepcopy(constraints)
    flag = {True: "Enabled", False: "Disabled"}[enable]
    if feature_name is None:
        doc["monitoring_config"]["evaluate_constraints"] = flag
    else:
        for f in doc["features"]:
            if f["name"] == feature_name:
                f.setdefault("string_constraints", {}).setdefault("monitoring_config_overrides", {})
                f["string_constraints"]["monitoring_config_overrides"]["evaluate_constraints"] = flag
    return doc


@pytest.fixture
def sdk_files():
    return read(DQ / "statistics.json"), read(DQ / "good_cases" / "constraints.json")


def broken(df):
    """_c2 drifts, _c1 is half text, _c3 loses a third of its values and _c5 is gone."""
    cur = df.assign(_c2=df["_c2"] + 2, _c1=df["_c1"].astype(object))
    cur.loc[::2, "_c1"] = "n/a"
    cur.loc[::3, "_c3"] = np.nan
    return cur.drop(columns="_c5")


def test_a_feature_whose_constraints_are_disabled_is_shown_never_flagged(sdk_files):
    st, co = sdk_files
    df = headerless(DQ / "baseline_dataset.csv")
    cur = broken(df)
    everything = mon.check(mon.from_sagemaker(st, co), cur)
    assert checks(everything) == [("_c1", "data_type_check"), ("_c2", "baseline_drift_check"),
                                  ("_c3", "completeness_check"), ("_c5", "missing_column_check")]
    off = co
    for name in ("_c1", "_c2", "_c3", "_c5"):
        off = set_monitoring(off, False, name)
    b = mon.from_sagemaker(st, off)
    r = mon.check(b, cur)
    assert checks(r) == [] and r.status == "Completed"
    assert r.not_evaluated == ["_c1", "_c2", "_c3", "_c5"] and r.to_dict()["not_evaluated"] == r.not_evaluated
    assert r["_c2"].drifted and not r.dataset_drift  # still computed and shown; not counted
    assert "Constraints not evaluated" in r._repr_html_() and "_c5" in r._repr_html_()
    # one feature only: the others are flagged as before
    r = mon.check(mon.from_sagemaker(st, set_monitoring(co, False, "_c2")), cur)
    assert checks(r) == [c for c in checks(everything) if c[0] != "_c2"]
    # enabling again (the SDK writes "Enabled") restores it
    r = mon.check(mon.from_sagemaker(st, set_monitoring(set_monitoring(co, False, "_c2"), True, "_c2")), cur)
    assert checks(r) == checks(everything)


def test_the_file_flag_disables_every_data_quality_check(sdk_files):
    st, co = sdk_files
    df = headerless(DQ / "baseline_dataset.csv")
    b = mon.from_sagemaker(st, set_monitoring(co, False))
    r = mon.check(b, broken(df).assign(new=1))
    assert checks(r) == [] and r.extra_columns == ["new"] and not r.dataset_drift
    assert set(r.not_evaluated) == set(b.columns)


def test_overrides_survive_save_load_and_the_files_written_back(sdk_files, tmp_path):
    st, co = sdk_files
    off = set_monitoring(co, False, "_c2")
    b = mon.from_sagemaker(st, off)
    assert b.to_sagemaker()["constraints"] == off
    b.save(tmp_path / "b.json")
    back = mon.Baseline.load(tmp_path / "b.json")
    assert back.to_sagemaker()["constraints"] == off
    b.save_sagemaker(tmp_path / "sm")
    again = mon.Baseline.load(tmp_path / "sm")  # a folder of SageMaker's files
    cur = broken(headerless(DQ / "baseline_dataset.csv"))
    for x in (back, again):
        assert checks(mon.check(x, cur)) == checks(mon.check(b, cur))
        assert ("_c2", "baseline_drift_check") not in checks(mon.check(x, cur))


def test_overrides_where_aws_draws_them_and_per_feature_thresholds(sdk_files):
    """AWS's schema puts ``monitoringConfigOverrides`` beside a feature's constraints; a feature's
    datatype_check_threshold replaces the file's for that feature."""
    st, co = sdk_files
    doc = copy.deepcopy(co)
    doc["features"][1]["monitoringConfigOverrides"] = {"datatype_check_threshold": 0.4}
    doc["features"][2]["monitoringConfigOverrides"] = {"evaluate_constraints": "Disabled"}
    assert feature_overrides(doc["features"][1]) == {"datatype_check_threshold": 0.4}
    settings = constraint_settings(doc)
    assert settings["evaluate"] and set(settings["features"]) == {"_c1", "_c2"}
    df = headerless(DQ / "baseline_dataset.csv")
    cur = broken(df)
    r = mon.check(mon.from_sagemaker(st, doc), cur)
    # _c1 is half text: 50% typed passes a 0.4 requirement; _c2's drift is not evaluated
    assert checks(r) == [("_c3", "completeness_check"), ("_c5", "missing_column_check")]
    assert mon.from_sagemaker(st, doc).to_sagemaker()["constraints"] == doc


def test_the_sdks_own_overrides_enable_everything():
    """SageMaker's own file in the SDK's tests carries Enabled overrides: nothing changes."""
    from .test_sm_formats import MONITOR

    b = mon.from_sagemaker(MONITOR / "statistics.json", MONITOR / "constraints.json")
    settings = constraint_settings(b.sagemaker["constraints"])
    assert settings["features"]["message"] == {"evaluate_constraints": "Enabled", "emit_metrics": "Enabled"}
    r = mon.check(b, pd.DataFrame({"message": ["preproc-not-YET-supported-for-csv-json"] * 20}))
    assert checks(r) == [("second_message", "missing_column_check")] and r.not_evaluated == []


def test_a_threshold_override_that_is_not_a_number_is_one_line(sdk_files):
    from mlgov_jupyter.core.errors import Invalid

    st, co = sdk_files
    doc = copy.deepcopy(co)
    doc["features"][0]["monitoringConfigOverrides"] = {"datatype_check_threshold": "most"}
    with pytest.raises(Invalid, match="monitoring_config_overrides of '_c0' hold a threshold that is not a number"):
        mon.check(mon.from_sagemaker(st, doc), headerless(DQ / "baseline_dataset.csv"))
