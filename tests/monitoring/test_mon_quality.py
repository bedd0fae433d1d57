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
