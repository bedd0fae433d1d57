"""Feature attribution drift: Clarify's nDCG against scikit-learn's ndcg_score; real model attributions."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ndcg_score

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Invalid


def test_ndcg_matches_sklearn(rng):
    for _ in range(20):
        k = int(rng.integers(3, 15))
        base = rng.random(k)
        cur = rng.random(k)
        feats = [f"f{i}" for i in range(k)]
        ours = mon.attribution_ndcg(dict(zip(feats, base)), dict(zip(feats, cur)))
        assert ours == pytest.approx(ndcg_score([base], [cur]), rel=1e-12)
    same = {"a": 3.0, "b": 2.0, "c": 1.0}
    assert mon.attribution_ndcg(same, {"a": 30, "b": 20, "c": 10}) == pytest.approx(1.0)
    # swapping the top two features: by hand from Clarify's formula
    got = mon.attribution_ndcg(same, {"a": 2.0, "b": 3.0, "c": 1.0})
    idcg = 3 / np.log2(2) + 2 / np.log2(3) + 1 / np.log2(4)
    dcg = 2 / np.log2(2) + 3 / np.log2(3) + 1 / np.log2(4)
    assert got == pytest.approx(dcg / idcg)
    with pytest.raises(Invalid):
        mon.attribution_ndcg(same, {"a": 1.0})


def test_attribution_drift_violation_in_check(rng):
    n = 2000
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    y = (2 * X.x1 + 0.5 * X.x2 + rng.normal(0, 0.5, n) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    attr = mon.global_attributions(model, X, y, method="permutation")
    assert attr["x1"] > attr["x2"] > attr["x3"] >= 0
    ref = X.assign(y=y)
    b = mon.fit_baseline(ref, attributions=attr)
    ok = mon.check(b, ref, attributions=attr)
    assert ok.attribution["ndcg"] == pytest.approx(1.0)
    assert not [v for v in ok.violations if v["monitor_type"] == "attribution"]
    flipped = {"x1": attr["x3"], "x2": attr["x2"], "x3": attr["x1"]}
    bad = mon.check(b, ref, attributions=flipped)
    assert bad.attribution["ndcg"] == pytest.approx(ndcg_score([list(attr.values())], [list(flipped.values())]))
    v = [v for v in bad.violations if v["monitor_type"] == "attribution"]
    assert v and v[0]["constraint_check_type"] == "feature_attribution_drift_check"
    # attributions recomputed on the current data from the model: x1 barely varies any more and x3
    # varies a lot, so x3 now drives the predictions
    model3 = LogisticRegression().fit(X, (2 * X.x1 + X.x2 + 0.4 * X.x3 > 0).astype(int))
    ref3 = X.assign(y=model3.predict(X))
    cur3 = pd.DataFrame({"x1": 0.02 * rng.normal(size=n), "x2": rng.normal(size=n), "x3": 8 * rng.normal(size=n)})
    cur3["y"] = (2 * cur3.x1 + cur3.x2 + 0.4 * cur3.x3 > 0).astype(int)
    b2 = mon.fit_baseline(ref3, target="y", attributions=model3, attribution_method="permutation")
    assert set(b2.attributions) == {"x1", "x2", "x3"}
    r = mon.check(b2, cur3, model=model3, attribution_method="permutation")
    assert r.attribution["current"]["x3"] > r.attribution["current"]["x1"]
    assert r.attribution["ndcg"] < 0.9
    shifted = cur3
    # configurable threshold
    b2.config["attribution_threshold"] = 0.0
    assert not [v for v in mon.check(b2, shifted, attributions=r.attribution["current"]).violations
                if v["monitor_type"] == "attribution"]


def test_global_attributions_needs_target_without_shap(rng):
    X = pd.DataFrame({"a": rng.normal(size=50)})
    model = LogisticRegression().fit(X, (X.a > 0).astype(int))
    with pytest.raises(Invalid):
        mon.global_attributions(model, X, None, method="permutation")
    with pytest.raises(Invalid):
        mon.global_attributions(model, X.to_numpy(), None)


def test_mean_abs_shap_equals_closed_form_for_a_linear_model(rng):
    pytest.importorskip("shap")
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"x1": rng.normal(size=100), "x2": 3 * rng.normal(size=100), "x3": rng.normal(size=100)})
    y = 2 * X.x1 - 0.5 * X.x2 + 0.1 * X.x3
    model = LinearRegression().fit(X, y)
    attr = mon.global_attributions(model, X, method="shap")
    # interventional SHAP of a linear model: coef_j * (x_j - E[x_j]) over the background (all 100 rows)
    expected = np.abs(model.coef_) * np.abs(X - X.mean()).mean().to_numpy()
    np.testing.assert_allclose([attr[c] for c in X.columns], expected, rtol=1e-6)
    # the default ("auto") in fit_baseline and check uses SHAP when it is installed
    data = X.assign(y=y)
    b = mon.fit_baseline(data, target="y", attributions=model)
    assert b.attributions == pytest.approx(attr)
    r = mon.check(b, data, model=model)
    assert r.attribution["ndcg"] == pytest.approx(1.0) and r.attribution["current"] == pytest.approx(attr)
