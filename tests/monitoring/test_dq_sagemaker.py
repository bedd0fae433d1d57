"""Data-quality thresholds and values as SageMaker Model Monitor has them, decided by SageMaker's own
files (the SageMaker Python SDK's tests, Apache-2.0, tests/fixtures/sagemaker_sdk/).

- ``constraints.json`` as SageMaker suggests it (``pipeline/quality_check_step/data_quality``)
  holds ``datatype_check_threshold: 1.0`` and ``domain_content_threshold: 1.0``;
- ``monitor/constraint_violations.json`` reports, per violation, the number compared: the share of
  values of the inferred type (``data_type_check``, e.g. 973/999), in the domain
  (``categorical_values_check``, 9/999) and not missing (``completeness_check``, 0.0), in Deequ's
  words ("Value: x does not meet the constraint requirement!"; Model Monitor's analyzer is built on
  Deequ). So the thresholds are the share that must conform: 1.0 means every value.

``baseline.DEFAULT_CONFIG`` holds those shares (1.0 and 0.9; saved baselines of format 1, which held
tolerated shares, are converted) and ``check.required_share`` reads them as such.
"""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgov_jupyter import monitoring as mon

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker_sdk"
DQ = FIX / "pipeline" / "quality_check_step" / "data_quality"


def sdk_violations() -> list[dict]:
    out = []
    for v in json.loads((FIX / "monitor" / "constraint_violations.json").read_text())["violations"]:
        value = float(re.match(r"Value: ([0-9.eE+-]+) does not meet the constraint requirement", v["description"])[1])
        out.append({**v, "value": value})
    return out


def sdk_baseline():
    df = pd.read_csv(DQ / "baseline_dataset.csv", header=None, names=[f"_c{i}" for i in range(6)])
    b = mon.fit_baseline(df)
    mc = json.loads((DQ / "good_cases" / "constraints.json").read_text())["monitoring_config"]
    assert mc["datatype_check_threshold"] == mc["domain_content_threshold"] == 1.0
    b.config["datatype_check_threshold"] = mc["datatype_check_threshold"]
    b.config["domain_content_threshold"] = mc["domain_content_threshold"]
    return df, b


def by_check(report, check):
    return {v["feature_name"]: v for v in report.violations if v["constraint_check_type"] == check}


def test_suggested_threshold_one_flags_a_half_string_column():
    df, b = sdk_baseline()
    assert mon.check(b, df).violations == []
    cur = df.astype({"_c2": object})
    cur.loc[::2, "_c2"] = "n/a"
    v = by_check(mon.check(b, cur), "data_type_check")
    assert set(v) == {"_c2"} and v["_c2"]["value"] == 0.5


def test_violation_values_are_sagemakers_shares():
    """Each data_type_check and categorical_values_check of SageMaker's file, rebuilt: 999 values of
    which the share SageMaker reports conforms; mlgov flags it at SageMaker's threshold 1.0 and reports
    the same number, to the last bit."""
    rng = np.random.default_rng(5)
    sdk = [v for v in sdk_violations() if v["constraint_check_type"] in ("data_type_check", "categorical_values_check")]
    assert len(sdk) == 6
    ref = pd.DataFrame({v["feature_name"]: (rng.normal(10, 2, 999) if v["constraint_check_type"] == "data_type_check"
                                            else rng.choice(["N", "Y"], 999)) for v in sdk})
    b = mon.fit_baseline(ref)
    b.config["datatype_check_threshold"] = b.config["domain_content_threshold"] = 1.0
    cur = ref.astype(object)
    for v in sdk:
        bad = 999 - round(v["value"] * 999)
        cur.loc[: bad - 1, v["feature_name"]] = "junk" if v["constraint_check_type"] == "data_type_check" else "?"
    r = mon.check(b, cur)
    for v in sdk:
        ours = by_check(r, v["constraint_check_type"])[v["feature_name"]]
        assert ours["value"] == v["value"], v


def test_completeness_is_the_share_not_missing():
    """completeness_check reports the current completeness (SageMaker: "Value: 0.0" for an all-missing
    column); junk values are present: they do not lower it."""
    sdk = [v for v in sdk_violations() if v["constraint_check_type"] == "completeness_check"]
    assert [v["value"] for v in sdk] == [0.0]
    df, b = sdk_baseline()
    cur = df.astype({"_c1": object, "_c3": object})
    cur["_c1"] = None
    cur.loc[:9, "_c3"] = "junk"
    cur.loc[10:11, "_c3"] = None
    v = by_check(mon.check(b, cur), "completeness_check")
    assert set(v) == {"_c1", "_c3"}
    assert v["_c1"]["value"] == 0.0 and v["_c3"]["value"] == 0.98


def test_mlgov_defaults_are_shares_too():
    df, _ = sdk_baseline()
    b = mon.fit_baseline(df)
    assert b.config["datatype_check_threshold"] == 1.0 and b.config["domain_content_threshold"] == 0.9
    # a baseline saved with the old meaning (tolerated shares) reads as the same requirement
    old = b.to_dict()
    old["version"] = 1
    old["config"] = {**old["config"], "datatype_check_threshold": 0.0, "domain_content_threshold": 0.1}
    loaded = mon.Baseline.from_dict(old)
    assert loaded.config["datatype_check_threshold"] == 1.0
    assert loaded.config["domain_content_threshold"] == pytest.approx(0.9)
