"""Model quality metrics against scikit-learn; bootstrap std by hand; constraints and violations."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.monitoring.quality import quality_violations


def binary_frame(rng, n, noise=0.25):
    y = rng.integers(0, 2, n)
    score = np.clip(y * 0.6 + rng.normal(0.2, noise, n), 0, 1)
    return pd.DataFrame({"x": rng.normal(size=n), "y": y, "p": score, "yhat": (score >= 0.5).astype(int)})


def test_binary_metrics_match_sklearn(rng):
    df = binary_frame(rng, 1500)
    q = mon.quality_metrics(df, "y", "yhat", "p")
    m = q["metrics"]
    y, yh, p = df["y"], df["yhat"], df["p"]
    assert q["problem_type"] == "BinaryClassification"
    assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y, yh))
    assert m["recall"]["value"] == pytest.approx(skm.recall_score(y, yh))
    assert m["precision"]["value"] == pytest.approx(skm.precision_score(y, yh))
    assert m["f1"]["value"] == pytest.approx(skm.f1_score(y, yh))
    assert m["f0_5"]["value"] == pytest.approx(skm.fbeta_score(y, yh, beta=0.5))
    assert m["f2"]["value"] == pytest.approx(skm.fbeta_score(y, yh, beta=2))
    assert m["auc"]["value"] == pytest.approx(skm.roc_auc_score(y, p))
    tn, fp, fn, tp = skm.confusion_matrix(y, yh).ravel()
    assert m["confusion_matrix"]["value"] == [[tn, fp], [fn, tp]]
    assert m["true_negative_rate"]["value"] == pytest.approx(tn / (tn + fp))
    assert m["false_positive_rate"]["value"] == pytest.approx(fp / (fp + tn))
    assert m["false_negative_rate"]["value"] == pytest.approx(fn / (fn + tp))
    # best constant classifier: always the majority class
    major = int(y.mean() >= 0.5)
    const = np.full(len(y), major)
    assert m["accuracy_best_constant_classifier"]["value"] == pytest.approx(skm.accuracy_score(y, const))
    assert m["recall_best_constant_classifier"]["value"] == pytest.approx(skm.recall_score(y, const, zero_division=0))
    fpr, tpr, _ = skm.roc_curve(y, p)
    roc = m["receiver_operating_characteristic_curve"]["value"]
    assert roc[0] == [0.0, 0.0] and roc[-1] == [pytest.approx(fpr[-1]), pytest.approx(tpr[-1])]
    assert 2 <= len(roc) <= 21
    # auc with ties (a rounded score) equals sklearn too
    df2 = df.assign(p=df["p"].round(1))
    assert mon.quality_metrics(df2, "y", None, "p")["metrics"]["auc"]["value"] == \
        pytest.approx(skm.roc_auc_score(df2["y"], df2["p"]))


def test_bootstrap_std_by_hand_and_small_n(rng):
    df = binary_frame(rng, 400)
    q = mon.quality_metrics(df, "y", "yhat", seed=7)
    y, yh = df["y"].to_numpy(), df["yhat"].to_numpy()
    g = np.random.default_rng(7)
    vals = []
    for _ in range(5):
        i = g.choice(400, size=320, replace=False)
        vals.append(skm.accuracy_score(y[i], yh[i]))
    assert q["metrics"]["accuracy"]["standard_deviation"] == pytest.approx(np.std(vals))
    assert q["metrics"]["accuracy"]["standard_deviation"] > 0
    small = mon.quality_metrics(df.iloc[:199], "y", "yhat")
    assert small["metrics"]["accuracy"]["standard_deviation"] is None


def test_multiclass_and_regression_match_sklearn(rng):
    n = 900
    y = rng.choice(["cat", "dog", "eel"], n, p=[0.5, 0.3, 0.2])
    yh = np.where(rng.random(n) < 0.7, y, rng.choice(["cat", "dog", "eel"], n))
    df = pd.DataFrame({"y": y, "yhat": yh})
    m = mon.quality_metrics(df, "y", "yhat")["metrics"]
    assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y, yh))
    assert m["weighted_recall"]["value"] == pytest.approx(skm.recall_score(y, yh, average="weighted"))
    assert m["weighted_precision"]["value"] == pytest.approx(skm.precision_score(y, yh, average="weighted"))
    assert m["weighted_f1"]["value"] == pytest.approx(skm.f1_score(y, yh, average="weighted"))
    assert m["weighted_f0_5"]["value"] == pytest.approx(skm.fbeta_score(y, yh, beta=0.5, average="weighted"))
    assert m["weighted_f2"]["value"] == pytest.approx(skm.fbeta_score(y, yh, beta=2, average="weighted"))
    assert m["confusion_matrix"]["value"] == skm.confusion_matrix(y, yh, labels=["cat", "dog", "eel"]).tolist()
    yt = rng.normal(10, 3, n)
    pred = yt + rng.normal(0, 1, n)
    r = mon.quality_metrics(pd.DataFrame({"t": yt, "p": pred}), "t", "p")
    assert r["problem_type"] == "Regression"
    mr = r["metrics"]
    assert mr["mae"]["value"] == pytest.approx(skm.mean_absolute_error(yt, pred))
    assert mr["mse"]["value"] == pytest.approx(skm.mean_squared_error(yt, pred))
    assert mr["rmse"]["value"] == pytest.approx(np.sqrt(skm.mean_squared_error(yt, pred)))
    assert mr["r2"]["value"] == pytest.approx(skm.r2_score(yt, pred))


def test_quality_drift_in_check_with_operators(rng):
    ref = binary_frame(rng, 3000, noise=0.2)
    b = mon.fit_baseline(ref, target="y", prediction="yhat", probability="p")
    assert b.problem_type == "BinaryClassification"
    c = b.quality_constraints["f1"]
    assert c["comparison_operator"] == "LessThanThreshold"
    assert c["threshold"] == pytest.approx(b.quality["f1"]["value"] - 8.5 * b.quality["f1"]["standard_deviation"])
    good = mon.check(b, binary_frame(rng, 2000, noise=0.2))
    assert not [v for v in good.violations if v["monitor_type"] == "model_quality"]
    worse = binary_frame(rng, 2000, noise=0.45)
    r = mon.check(b, worse)
    mq = [v for v in r.violations if v["monitor_type"] == "model_quality"]
    assert {"f1", "accuracy"} <= {v["metric_name"] for v in mq}
    assert all(v["constraint_check_type"] == "LessThanThreshold" for v in mq if v["metric_name"] == "f1")
    assert r.quality["metrics"]["f1"]["value"] == pytest.approx(skm.f1_score(worse["y"], worse["yhat"]))
    # user thresholds with explicit operators
    r2 = mon.check(b, worse, quality_constraints={"f1": (0.0, "LessThanThreshold"), "accuracy": 0.0,
                                                  "false_positive_rate": {"threshold": 0.99,
                                                                          "comparison_operator": "GreaterThanThreshold"}})
    names = {v["metric_name"] for v in r2.violations if v["monitor_type"] == "model_quality"}
    assert "f1" not in names and "accuracy" not in names and "false_positive_rate" not in names
    with pytest.raises(Invalid, match="comparison_operator"):
        mon.check(b, worse, quality_constraints={"f1": (0.5, "Bigger")})


def test_operators_semantics():
    metrics = {"mae": {"value": 2.0}, "r2": {"value": 0.5}}
    cons = {"mae": {"threshold": 2.0, "comparison_operator": "GreaterThanOrEqualToThreshold"},
            "r2": {"threshold": 0.5, "comparison_operator": "LessThanThreshold"}}
    out = quality_violations(metrics, cons)
    assert [v["metric_name"] for v in out] == ["mae"]
    assert out[0]["description"].startswith("Metric mae with 2 was GreaterThanOrEqualToThreshold")


def test_quality_bad_input(rng):
    df = binary_frame(rng, 50)
    with pytest.raises(Invalid):
        mon.quality_metrics(df, "y")
    with pytest.raises(Invalid, match="not found"):
        mon.quality_metrics(df, "y", "nope")


def test_regression_reports_both_r2_named():
    """r2 is scikit-learn's r2_score(label, prediction); r2_sagemaker is what SageMaker Model Monitor
    reports as r2, r2_score(prediction, label). Constraints are suggested on r2 only."""
    rng = np.random.default_rng(11)
    y = rng.normal(10, 3, 500)
    pred = 0.5 * y + rng.normal(5, 1, 500)
    q = mon.quality_metrics(pd.DataFrame({"y": y, "p": pred}), "y", "p")["metrics"]
    assert q["r2"]["value"] == pytest.approx(skm.r2_score(y, pred), abs=1e-12)
    assert q["r2_sagemaker"]["value"] == pytest.approx(skm.r2_score(pred, y), abs=1e-12)
    assert q["r2_sagemaker"]["standard_deviation"] > 0
    b = mon.fit_baseline(pd.DataFrame({"y": y, "p": pred}), target="y", prediction="p")
    assert "r2" in b.quality_constraints and "r2_sagemaker" not in b.quality_constraints


def _labels_frame():
    # 8 rows, 5 predictions right: accuracy 0.625
    return pd.DataFrame({"x": range(8), "y": list("01100101"), "yhat": list("01010111")})


def test_string_labels_with_int_positive_label_are_reconciled():
    df = _labels_frame()
    truth = skm.accuracy_score(df.y, df.yhat)
    assert truth == 0.625
    as_int = df.assign(y=df.y.astype(int), yhat=df.yhat.astype(int))
    want = mon.quality_metrics(as_int, "y", "yhat")["metrics"]
    for positive in (1, "1", 1.0, True):
        b = mon.fit_baseline(df, target="y", prediction="yhat", positive_label=positive)
        assert b.quality["accuracy"]["value"] == truth
        assert b.quality["recall"]["value"] == want["recall"]["value"] == skm.recall_score(as_int.y, as_int.yhat)
        assert b.quality["confusion_matrix"]["value"] == want["confusion_matrix"]["value"]
    # a baseline on int labels checked against the same rows as strings: the same numbers, no violations
    b = mon.fit_baseline(as_int, target="y", prediction="yhat")
    r = mon.check(b, df)
    got = r.quality["metrics"]
    assert {k: got[k]["value"] for k in ("accuracy", "recall", "precision", "f1")} == \
        {k: want[k]["value"] for k in ("accuracy", "recall", "precision", "f1")}
    assert [v for v in r.violations if v["monitor_type"] == "model_quality"] == []
    # and the other way round; a batch of string labels without any positive is not an error
    r = mon.check(mon.fit_baseline(df, target="y", prediction="yhat"), as_int)
    assert r.quality["metrics"]["accuracy"]["value"] == truth
    none = mon.check(b, df.assign(y="0", yhat="0"))
    assert none.quality["metrics"]["accuracy"]["value"] == 1.0


def test_positive_label_the_labels_cannot_hold_is_refused():
    df = _labels_frame()
    words = df.assign(y=df.y.map({"0": "no", "1": "yes"}), yhat=df.yhat.map({"0": "no", "1": "yes"}))
    with pytest.raises(Invalid, match=r"value 1 \(int\) is not among the values of column 'y'") as e:
        mon.fit_baseline(words, target="y", prediction="yhat", positive_label=1)
    assert "\n" not in str(e.value)
    assert mon.fit_baseline(words, target="y", prediction="yhat", positive_label="yes").quality["accuracy"][
        "value"] == 0.625


def test_multiclass_labels_and_predictions_of_different_types():
    df = pd.DataFrame({"y": [0, 1, 2, 2, 1, 0, 2, 1], "p": ["0", "1", "2", "1", "1", "0", "2", "0"]})
    m = mon.quality_metrics(df, "y", "p")["metrics"]
    assert m["accuracy"]["value"] == skm.accuracy_score(df.y, df.p.astype(int))
    assert m["weighted_f1"]["value"] == pytest.approx(skm.f1_score(df.y, df.p.astype(int), average="weighted"))
    with pytest.raises(Invalid, match="share no value"):
        mon.quality_metrics(df.assign(p=["a", "b", "c", "a", "b", "c", "a", "b"]), "y", "p")


def test_threshold_equal_to_the_value_is_no_violation():
    t = 0.33364933609800973
    for op, v, flagged in [("GreaterThanThreshold", t * (1 + 1e-15), False), ("GreaterThanThreshold", t * 1.001, True),
                           ("LessThanThreshold", t * (1 - 1e-15), False), ("LessThanThreshold", t * 0.999, True),
                           ("GreaterThanOrEqualToThreshold", t * (1 - 1e-15), True),
                           ("LessThanOrEqualToThreshold", t * (1 + 1e-15), True)]:
        out = quality_violations({"m": {"value": v}}, {"m": {"threshold": t, "comparison_operator": op}})
        assert bool(out) is flagged, (op, v)
