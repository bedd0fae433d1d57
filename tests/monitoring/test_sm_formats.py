"""SageMaker's own monitoring files, read and written, checked against SageMaker's outputs.

The fixtures are files of the SageMaker Python SDK's tests (tests/fixtures/sagemaker_sdk, Apache-2.0,
unchanged from aws/sagemaker-python-sdk at 35484d21): statistics.json and constraints.json that
SageMaker Model Monitor wrote for a CSV, model-quality statistics/constraints, Clarify's
analysis.json and a constraint_violations.json.
"""

import copy
import json
import math
import pathlib

import numpy as np
import pandas as pd
import pytest

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.monitoring.sagemaker_formats import kll_items, kll_levels

SDK = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker_sdk"
DQ = SDK / "pipeline" / "quality_check_step" / "data_quality"
MQ = SDK / "pipeline" / "quality_check_step" / "model_quality"
CLARIFY = SDK / "pipeline" / "clarify_check_step"
MONITOR = SDK / "monitor"
CARD_METRICS = SDK / "model_card" / "evaluation_metrics"
TOL = 1e-9


def read(path):
    return json.loads(pathlib.Path(path).read_text())


def headerless(path) -> pd.DataFrame:
    """A CSV without header, columns named as SageMaker names them (_c0, _c1, ...)."""
    df = pd.read_csv(path, header=None)
    return df.set_axis([f"_c{i}" for i in range(df.shape[1])], axis=1)


def differences(ours, theirs, path=""):
    """Every field where the two documents differ (numbers to 1e-9 relative), as paths."""
    out = []
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for k in sorted(set(ours) | set(theirs)):
            if k not in ours or k not in theirs:
                out.append(f"{path}/{k} only in {'ours' if k in ours else 'theirs'}")
            else:
                out += differences(ours[k], theirs[k], f"{path}/{k}")
    elif isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{path}: {len(ours)} items, theirs {len(theirs)}"]
        for i, (a, b) in enumerate(zip(ours, theirs)):
            out += differences(a, b, f"{path}[{i}]")
    elif isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and not isinstance(ours, bool):
        if not math.isclose(ours, theirs, rel_tol=TOL, abs_tol=TOL):
            out.append(f"{path}: {ours} != {theirs}")
    elif ours != theirs:
        out.append(f"{path}: {ours!r} != {theirs!r}")
    return out


def sorted_sketches(statistics):
    """KLL sketch items in value order (SageMaker keeps arrival order; the multiset is what counts)."""
    doc = copy.deepcopy(statistics)
    for f in doc["features"]:
        sketch = f.get("numerical_statistics", {}).get("distribution", {}).get("kll", {}).get("sketch")
        if sketch:
            sketch["data"] = [sorted(level) for level in sketch["data"]]
    return doc


# ----------------------------------------------------------------------------- statistics.json agreement
def test_statistics_json_equals_sagemakers_field_by_field():
    """fit_baseline on the CSV SageMaker profiled writes SageMaker's statistics.json: every field, the
    population std_dev (0.8330, not the sample 0.8372), inferred_type Fractional for "3.0" text, the
    ten buckets and the sketch (all 100 values at level 0, k 2048, c 0.64)."""
    df = headerless(DQ / "baseline_dataset.csv")
    sm = mon.fit_baseline(df).to_sagemaker()
    theirs = read(DQ / "statistics.json")
    assert differences(sorted_sketches(sm["statistics"]), sorted_sketches(theirs)) == []
    assert sm["statistics"]["features"][0]["numerical_statistics"]["std_dev"] == pytest.approx(0.8330066026148891,
                                                                                                abs=1e-15)
    # constraints: every feature equal; monitoring_config thresholds are mlgov's own settings (config)
    ours_c, theirs_c = sm["constraints"], read(DQ / "good_cases" / "constraints.json")
    assert differences(ours_c["features"], theirs_c["features"]) == []
    assert ours_c["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1
    assert ours_c["monitoring_config"]["distribution_constraints"]["comparison_method"] == "Robust"
    json.dumps(sm, allow_nan=False)


def test_monitor_statistics_json_describes_another_file():
    """The SDK's monitor/statistics.json counts the 418 rows of monitor/baseline_dataset.csv but
    describes them as one string column "message" (a placeholder SageMaker wrote for a format its
    preprocessing did not read): only item_count can agree, and it does."""
    df = headerless(MONITOR / "baseline_dataset.csv")
    theirs = read(MONITOR / "statistics.json")
    ours = mon.fit_baseline(df).to_sagemaker()["statistics"]
    assert ours["dataset"] == theirs["dataset"] == {"item_count": 418}
    assert [f["name"] for f in theirs["features"]] == ["message"]


def test_inferred_types_as_sagemaker_reads_csv_text():
    df = pd.DataFrame({
        "ints": [1, 2, 3, 4],
        "whole_floats": [1.0, 2.0, 3.0, 4.0],  # written "1.0": Fractional, as _c0 above
        "ints_with_blanks": [1.0, np.nan, 3.0, 4.0],  # "1,,3,4" read by pandas: Integral
        "fractions": [0.5, 1.5, np.nan, 2.0],
        "nothing": [np.nan] * 4,
        "text": list("abca"),
        "flags": [True, False, True, True],
    })
    b = mon.fit_baseline(df)
    types = {f["name"]: f["inferred_type"] for f in b.to_sagemaker()["statistics"]["features"]}
    assert types == {"ints": "Integral", "whole_floats": "Fractional", "ints_with_blanks": "Integral",
                     "fractions": "Fractional", "nothing": "Unknown", "text": "String", "flags": "String"}


def test_all_missing_column_writes_strict_json():
    df = pd.DataFrame({"x": np.arange(10.0), "empty": np.full(10, np.nan)})
    sm = mon.fit_baseline(df).to_sagemaker()
    text = json.dumps(sm, allow_nan=False)  # no NaN literal anywhere
    empty = next(f for f in sm["statistics"]["features"] if f["name"] == "empty")
    st = empty["numerical_statistics"]
    assert empty["inferred_type"] == "Unknown"
    assert st["common"] == {"num_present": 0, "num_missing": 10}
    assert st["mean"] == st["std_dev"] == st["min"] == st["max"] == "NaN"  # as SageMaker writes NaN
    cons = {c["name"]: c for c in sm["constraints"]["features"]}
    assert cons["empty"]["completeness"] == 0.0 and cons["empty"]["inferred_type"] == "Unknown"
    back = mon.from_sagemaker(json.loads(text)["statistics"], json.loads(text)["constraints"])
    assert back.columns["empty"].n == 0 and math.isnan(back.columns["empty"].mean)
    assert mon.check(back, df).drifted_columns == []


# ----------------------------------------------------------------------------- lossless round trips
@pytest.mark.parametrize("statistics,constraints", [
    (DQ / "statistics.json", DQ / "good_cases" / "constraints.json"),
    (DQ / "statistics.json", DQ / "bad_cases" / "constraints.json"),
    (MONITOR / "statistics.json", MONITOR / "constraints.json"),
])
def test_data_quality_files_round_trip_exactly(statistics, constraints, tmp_path):
    b = mon.from_sagemaker(statistics, constraints)
    out = b.to_sagemaker()
    assert out["statistics"] == read(statistics)
    assert out["constraints"] == read(constraints)
    # through mlgov's own baseline file too
    b.save(tmp_path / "b.json")
    again = mon.Baseline.load(tmp_path / "b.json")
    assert again.to_sagemaker() == out
    assert again.save_sagemaker(tmp_path / "sm")["statistics"].endswith("statistics.json")
    assert read(tmp_path / "sm" / "constraints.json") == read(constraints)


def test_round_trip_keeps_buckets_sketch_overrides_and_constraint_only_features():
    b = mon.from_sagemaker(MONITOR / "statistics.json", MONITOR / "constraints.json")
    # "second_message" is only in constraints: checked (missing column, completeness, domain), no drift
    assert set(b.columns) == {"message", "second_message"}
    out = b.to_sagemaker()
    assert out["constraints"]["features"][0]["string_constraints"]["monitoring_config_overrides"] == {
        "evaluate_constraints": "Enabled", "emit_metrics": "Enabled"}
    assert "second_message" not in {f["name"] for f in out["statistics"]["features"]}
    cur = pd.DataFrame({"message": ["preproc-not-YET-supported-for-csv-json"] * 20})
    r = mon.check(b, cur)
    assert {(v["feature_name"], v["constraint_check_type"]) for v in r.violations} == {
        ("second_message", "missing_column_check")}
    # the bad case's constraint says String where the statistics say Fractional: both kept, and the
    # constraint's type is the one the baseline checks
    bad = mon.from_sagemaker(DQ / "statistics.json", DQ / "bad_cases" / "constraints.json")
    assert bad.columns["_c5"].inferred_type == "String"
    sm = bad.to_sagemaker()
    assert sm["statistics"]["features"][5]["inferred_type"] == "Fractional"
    assert sm["constraints"]["features"][5]["inferred_type"] == "String"
    kll = sm["statistics"]["features"][0]["numerical_statistics"]["distribution"]["kll"]
    assert len(kll["buckets"]) == 10 and len(kll["sketch"]["data"][0]) == 100


def test_imported_baseline_checks_as_the_fitted_one():
    """SageMaker's files of a CSV and mlgov's baseline of the same CSV give the same report."""
    df = headerless(DQ / "baseline_dataset.csv")
    fitted = mon.fit_baseline(df)
    imported = mon.from_sagemaker(DQ / "statistics.json", DQ / "good_cases" / "constraints.json")
    shifted = df.assign(_c2=df["_c2"] + 2, _c5=df["_c5"] + 1)
    for cur in (df, shifted):
        assert mon.check(imported, cur).to_dict()["columns"] == mon.check(fitted, cur).to_dict()["columns"]
    assert set(mon.check(imported, shifted).drifted_columns) == {"_c2", "_c5"}


def test_fraud_example_shift_found_after_the_round_trip():
    """mlgov -> SageMaker files -> mlgov: a x1.1 shift of any column of the SDK's monitor example is
    found, with the same statistics as the baseline fitted on the data (10 buckets became 1 and
    _c3/_c4/_c5 were missed before the sketch was kept)."""
    df = headerless(MONITOR / "baseline_dataset.csv")
    fitted = mon.fit_baseline(df)
    sm = json.loads(json.dumps(fitted.to_sagemaker(), allow_nan=False))
    back = mon.from_sagemaker(sm["statistics"], sm["constraints"])
    assert back.to_sagemaker() == sm
    for col in df.columns:
        cur = df.assign(**{col: df[col] * 1.1})
        r_fit, r_back = mon.check(fitted, cur), mon.check(back, cur)
        assert r_back[col].drifted, col
        assert r_back.to_dict()["columns"] == r_fit.to_dict()["columns"], col


def test_large_columns_keep_their_distribution_through_a_weighted_sketch():
    rng = np.random.default_rng(5)
    n = 60_000
    ref = pd.DataFrame({"a": rng.normal(size=n), "e": rng.exponential(size=n), "i": rng.poisson(5, n),
                        "c": rng.choice(list("xyz"), n)})
    fitted = mon.fit_baseline(ref)
    sm = fitted.to_sagemaker()
    for f in sm["statistics"]["features"]:
        if "numerical_statistics" in f:
            kll = f["numerical_statistics"]["distribution"]["kll"]
            values, weights = kll_items(kll["sketch"])
            assert weights.sum() == n and len(values) < 6000  # compacted, no weight lost
            assert len(kll["buckets"]) == 10 and sum(b["count"] for b in kll["buckets"]) == n
    back = mon.from_sagemaker(sm["statistics"], sm["constraints"])
    same = ref.sample(20_000, random_state=1)
    assert mon.check(back, same).drifted_columns == []
    moved = same.assign(a=same["a"] + 0.2, e=same["e"] * 1.2, i=same["i"] + 1)
    r_fit, r_back = mon.check(fitted, moved), mon.check(back, moved)
    assert set(r_back.drifted_columns) == set(r_fit.drifted_columns) == {"a", "e", "i"}
    for col in "aei":
        assert r_back[col].statistic == pytest.approx(r_fit[col].statistic, rel=0.1, abs=0.005)


def test_kll_levels_keep_weight_and_order():
    values = np.arange(10_000, dtype=float)
    levels = kll_levels(values, np.ones(10_000, dtype=int))
    v, w = kll_items({"data": levels})
    assert w.sum() == 10_000 and len(levels[-1]) <= 2048 and len(levels) > 1
    assert abs(np.average(v, weights=w) - values.mean()) < 50
    assert kll_levels(np.array([1.0, 2.0]), np.array([3, 1])) == [[1.0, 2.0], [1.0]]


def test_constraint_completeness_is_the_threshold():
    """An edited constraints.json (completeness 0.9) is what the check enforces, not the statistics."""
    df = pd.DataFrame({"x": np.arange(100.0)})
    sm = mon.fit_baseline(df).to_sagemaker()
    holes = df.assign(x=df["x"].where(df.index >= 5))  # 95% complete
    strict = mon.from_sagemaker(sm["statistics"], sm["constraints"])
    assert [v["constraint_check_type"] for v in mon.check(strict, holes).violations] == ["completeness_check"]
    relaxed = copy.deepcopy(sm["constraints"])
    relaxed["features"][0]["completeness"] = 0.9
    b = mon.from_sagemaker(sm["statistics"], relaxed)
    assert mon.check(b, holes).violations == []
    assert mon.Baseline.from_dict(json.loads(json.dumps(b.to_dict()))).columns["x"].completeness == 0.9
    assert b.to_sagemaker()["constraints"] == relaxed


def test_config_changes_are_written_over_the_imported_files():
    b = mon.from_sagemaker(DQ / "statistics.json", DQ / "good_cases" / "constraints.json")
    b.config["comparison_threshold"] = 0.25
    mc = b.to_sagemaker()["constraints"]["monitoring_config"]
    assert mc["distribution_constraints"]["comparison_threshold"] == 0.25
    assert mc["datatype_check_threshold"] == read(DQ / "good_cases" / "constraints.json")[
        "monitoring_config"]["datatype_check_threshold"] == b.config["datatype_check_threshold"]


# ----------------------------------------------------------------------------- model quality
def test_model_quality_statistics_equal_sagemakers_with_both_r2():
    """SageMaker's r2 on the SDK's model_quality data is -3.2088 = r2_score(prediction, label);
    scikit-learn's r2_score(label, prediction) is -0.3351. mlgov reports both, named."""
    from sklearn.metrics import r2_score

    df = pd.read_csv(MQ / "baseline_dataset.csv")
    b = mon.fit_baseline(df, target="Label", prediction="Prediction", problem_type="Regression")
    assert b.quality["r2"]["value"] == pytest.approx(r2_score(df.Label, df.Prediction), abs=1e-12)
    assert b.quality["r2"]["value"] == pytest.approx(-0.3351313969508194, abs=1e-12)
    assert b.quality["r2_sagemaker"]["value"] == pytest.approx(r2_score(df.Prediction, df.Label), abs=1e-12)
    theirs = read(MQ / "statistics.json")
    ours = b.to_sagemaker()["model_quality_statistics"]
    assert differences(ours, theirs) == []  # mae, mse, rmse, r2 (SageMaker's), "NaN" deviations below 200 rows
    assert ours["regression_metrics"]["r2"]["value"] == pytest.approx(-3.208758170289026, abs=1e-12)
    assert b.to_sagemaker()["model_quality_constraints"]["regression_constraints"]["r2"]["threshold"] == \
        pytest.approx(-3.208758170289026, abs=1e-12)


def test_model_quality_files_import_and_check():
    df = pd.read_csv(MQ / "baseline_dataset.csv")
    good = mon.from_sagemaker(MQ / "statistics.json", MQ / "good_cases" / "constraints.json",
                              target="Label", prediction="Prediction")
    assert good.problem_type == "Regression" and good.n_rows == 100
    assert good.quality["r2_sagemaker"]["value"] == pytest.approx(-3.208758170289026)
    assert "r2" not in good.quality  # SageMaker's file cannot give scikit-learn's r2
    out = good.to_sagemaker()
    assert out["model_quality_statistics"] == read(MQ / "statistics.json")
    assert out["model_quality_constraints"] == read(MQ / "good_cases" / "constraints.json")
    # thresholds equal to the baseline's values: the same data is no violation (1e-9 tolerance)
    r = mon.check(good, df)
    assert [v for v in r.violations if v["monitor_type"] == "model_quality"] == []
    assert r.quality["metrics"]["r2_sagemaker"]["value"] == pytest.approx(-3.208758170289026)
    bad = mon.from_sagemaker(MQ / "statistics.json", MQ / "bad_cases" / "constraints.json",
                             target="Label", prediction="Prediction")
    r = mon.check(bad, df)
    assert [v["metric_name"] for v in r.violations if v["monitor_type"] == "model_quality"] == ["mse"]


def test_binary_model_quality_file_from_the_sdk():
    path = CARD_METRICS / "model_monitor_model_quality_binary_classification.json"
    b = mon.from_sagemaker(path)
    q = b.quality
    assert b.problem_type == "BinaryClassification" and b.positive_label == 1
    assert q["confusion_matrix"]["value"] == [[1, 2], [0, 1]]  # rows: actual 0, 1; columns: predicted
    assert q["recall"]["value"] == 1 and q["false_positive_rate"]["value"] == pytest.approx(2 / 3)
    assert q["auc"]["standard_deviation"] == 0.1 and q["accuracy"]["standard_deviation"] is None
    assert q["receiver_operating_characteristic_curve"]["value"][-1] == [1.0, 1.0]
    assert q["precision_recall_curve"]["value"][1] == [0.25, 1.0]
    assert b.to_sagemaker()["model_quality_statistics"] == read(path)


def test_binary_model_quality_written_in_sagemakers_shape():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    p = np.clip(y * 0.5 + rng.normal(0.25, 0.2, 300), 0, 1)
    df = pd.DataFrame({"y": y, "p": p, "yhat": (p > 0.5).astype(int)})
    b = mon.fit_baseline(df, target="y", prediction="yhat", probability="p")
    m = b.to_sagemaker()["model_quality_statistics"]["binary_classification_metrics"]
    tn, fp, fn, tp = (int(((df.y == a) & (df.yhat == c)).sum()) for a in (0, 1) for c in (0, 1))
    assert m["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    assert set(m["receiver_operating_characteristic_curve"]) == {"false_positive_rates", "true_positive_rates"}
    assert set(m["precision_recall_curve"]) == {"precisions", "recalls"}
    assert "positive_label" not in m and "labels" not in m
    back = mon.from_sagemaker(b.to_sagemaker()["model_quality_statistics"], target="y", prediction="yhat",
                              probability="p")
    assert back.quality["confusion_matrix"] == b.quality["confusion_matrix"]
    assert back.quality["accuracy"]["value"] == b.quality["accuracy"]["value"]


# ----------------------------------------------------------------------------- Clarify analysis.json
def test_clarify_analysis_is_a_bias_baseline():
    df = pd.read_csv(CLARIFY / "dataset.csv", header=None, names=["Label", "F1", "F2", "F3", "F4"])
    good = mon.from_sagemaker(CLARIFY / "data_bias" / "good_cases" / "analysis.json", group="F2")
    assert good.target == "Label"
    assert good.bias_config == {"facet": "F1", "facet_values": 0.5, "label_values": [1], "group": "F2"}
    assert good.bias["CDDL"] == 0.04 and set(good.bias) == {"CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"}
    assert good.to_sagemaker()["analysis"] == read(CLARIFY / "data_bias" / "good_cases" / "analysis.json")

    def bias_violations(b):
        return [v["metric_name"] for v in mon.check(b, df).violations if v["monitor_type"] == "bias"]

    assert bias_violations(good) == []
    bad = mon.from_sagemaker(CLARIFY / "data_bias" / "bad_cases" / "analysis.json", group="F2")
    assert bias_violations(bad) == ["KS"]  # the SDK's bad case lowers KS: the data is farther from 0


def test_clarify_files_with_several_facets_and_labels():
    path = CARD_METRICS / "clarify_bias.json"
    with pytest.raises(Invalid, match="several facets") as e:
        mon.from_sagemaker(path)
    assert "\n" not in str(e.value) and "Gender 0; Gender 1" in str(e.value)
    b = mon.from_sagemaker(path, facet="Gender", facet_value=0)
    assert b.bias == {"CDDL": 0.21491590864936, "AD": -0.11415724421435}
    assert b.bias_config["facet_values"] == [0] and b.target == "Target"
    assert mon.from_sagemaker(path, facet="Gender", facet_value="1").bias == {"AD": -0.1141572442143538}
    assert b.to_sagemaker()["analysis"] == read(path)
    shap = CARD_METRICS / "clarify_explanability.json"
    with pytest.raises(Invalid, match="explanation_label="):
        mon.from_sagemaker(shap)
    a = mon.from_sagemaker(shap, explanation_label="label1")
    assert a.attributions == read(shap)["explanations"]["kernel_shap"]["label1"]["global_shap_values"]
    assert a.to_sagemaker()["analysis"] == read(shap)


def test_bias_infinity_survives_the_baseline_file(tmp_path):
    b = mon.from_sagemaker(CLARIFY / "data_bias" / "good_cases" / "analysis.json")
    b.bias["DI"] = math.inf
    b.bias["TE"] = -math.inf
    b.bias["GE"] = math.nan
    b.save(tmp_path / "b.json")
    assert "Infinity" in (tmp_path / "b.json").read_text()
    back = mon.Baseline.load(tmp_path / "b.json")
    assert back.bias["DI"] == math.inf and back.bias["TE"] == -math.inf and math.isnan(back.bias["GE"])


# ----------------------------------------------------------------------------- violations, wrong files
def test_constraint_violations_json_is_a_report():
    r = mon.read_sagemaker(MONITOR / "constraint_violations.json")
    assert r.status == "CompletedWithViolations"
    assert r.violations_by_type() == {"categorical_values_check": 1, "data_type_check": 5, "completeness_check": 1}
    assert r.violations[0]["feature_name"] == "store_and_fwd_flag"
    assert {v["monitor_type"] for v in r.violations} == {"data_quality"}
    json.dumps(r.to_dict(), allow_nan=False)
    quality = mon.read_sagemaker({"violations": [{"metric_name": "weighted_f2", "constraint_check_type":
                                                  "LessThanThreshold", "description": "Metric weighted_f2 ..."}]})
    assert quality.violations[0]["monitor_type"] == "model_quality"
    assert quality.violations[0]["feature_name"] == "weighted_f2"


@pytest.mark.parametrize("path,fragment", [
    (MONITOR / "constraint_violations.json", "constraint_violations.json (a report"),
    (MONITOR / "capture.jsonl", "is not JSON"),
    (CARD_METRICS / "translated_clarify_bias.json", "not a SageMaker monitoring file"),
    (SDK / "nope.json", "no such file"),
])
def test_wrong_files_are_refused_in_one_line(path, fragment):
    with pytest.raises(Invalid) as e:
        mon.from_sagemaker(path)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_broken_files_are_refused_in_one_line(tmp_path):
    st = read(DQ / "statistics.json")
    del st["features"][0]["numerical_statistics"]
    with pytest.raises(Invalid, match="not a valid SageMaker data-quality file"):
        mon.from_sagemaker(st)
    with pytest.raises(Invalid, match="a second data-quality statistics.json"):
        mon.from_sagemaker(DQ / "statistics.json", DQ / "statistics.json")
    with pytest.raises(Invalid, match="not a baseline"):
        mon.Baseline.load(MONITOR / "constraint_violations.json")
    with pytest.raises(Invalid, match="mlgov baseline"):
        mon.from_sagemaker(mon.fit_baseline(pd.DataFrame({"x": [1.0, 2.0]})).to_dict())


def test_baseline_load_reads_sagemaker_files_and_directories():
    assert set(mon.Baseline.load(DQ / "statistics.json").columns) == {f"_c{i}" for i in range(6)}
    b = mon.Baseline.load(MQ / "good_cases")
    assert b.quality_constraints["r2_sagemaker"]["comparison_operator"] == "LessThanThreshold"


def test_sagemaker_output_folders(tmp_path):
    """SageMaker's output folders hold other files too (analysis_config.json, report.pdf, violations)."""
    (tmp_path / "analysis.json").write_text((CLARIFY / "data_bias" / "good_cases" / "analysis.json").read_text())
    (tmp_path / "analysis_config.json").write_text(json.dumps({"label": "Label", "facet": [{"name_or_index": "F1"}]}))
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    b = mon.from_sagemaker(tmp_path)
    assert b.bias_config["facet"] == "F1"
    run = tmp_path / "execution"
    run.mkdir()
    (run / "statistics.json").write_text((DQ / "statistics.json").read_text())
    (run / "constraint_violations.json").write_text((MONITOR / "constraint_violations.json").read_text())
    assert set(mon.Baseline.load(run).columns) == {f"_c{i}" for i in range(6)}
    only = tmp_path / "violations"
    only.mkdir()
    (only / "constraint_violations.json").write_text((MONITOR / "constraint_violations.json").read_text())
    assert len(mon.read_sagemaker(only).violations) == 7
    with pytest.raises(Invalid, match="no SageMaker baseline files in"):
        mon.from_sagemaker(only)


def test_imported_thresholds_keep_sagemakers_meaning():
    """SageMaker's suggested datatype_check_threshold 1.0 read from its constraints.json: every value
    must be of the type, so a column that is half strings is a data_type_check (share 0.5)."""
    df = headerless(DQ / "baseline_dataset.csv")
    b = mon.from_sagemaker(DQ / "statistics.json", DQ / "good_cases" / "constraints.json")
    assert b.config["datatype_check_threshold"] == 1.0 and b.config["domain_content_threshold"] == 1.0
    cur = df.astype({"_c2": object})
    cur.loc[::2, "_c2"] = "n/a"
    v = [x for x in mon.check(b, cur).violations if x["constraint_check_type"] == "data_type_check"]
    assert [(x["feature_name"], x["value"]) for x in v] == [("_c2", 0.5)]
    assert b.to_sagemaker()["constraints"]["monitoring_config"] == read(DQ / "good_cases" / "constraints.json")[
        "monitoring_config"]
