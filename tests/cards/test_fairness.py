"""Bias results on the card: `card_from_session(..., bias_facet=, bias_values=)` adds a fairness
evaluation with SageMaker Clarify's metrics (equal to core.monitoring.bias's) and a chart, valid
against SageMaker's card schema, rendered as a bar chart, gated like every evaluation."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlgov_jupyter
from mlgov_jupyter.core.cards import render_html, validate
from mlgov_jupyter.core.cards.fairness import fairness_evaluation
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.monitoring import bias_metrics


def _data(n=400):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"income": rng.normal(size=n), "sex": rng.choice(["F", "M"], size=n)})
    y = ((X.income + (X.sex == "M") * 0.8 + rng.normal(scale=0.5, size=n)) > 0.4).astype(int)
    X["is_m"] = (X.sex == "M").astype(int)
    return X, y


def test_fairness_evaluation_carries_clarifys_metrics_and_a_chart():
    X, y = _data()
    features = X[["income", "is_m"]]
    model = LogisticRegression().fit(features, y)
    ev = fairness_evaluation(_Wrap(model), X, y, "sex", ["F"])
    expected = bias_metrics(pd.DataFrame({"sex": X.sex, "y": y, "p": model.predict(features)}),
                            label="y", facet="sex", facet_values=["F"], predicted="p")
    groups = {g["name"]: {m["name"]: m for m in g["metric_data"]} for g in ev["metric_groups"]}
    post = groups["Post-training bias (Clarify)"]
    assert post["DPPL"]["value"] == pytest.approx(expected["DPPL"], abs=1e-6)
    assert post["DI"]["value"] == pytest.approx(expected["DI"], abs=1e-6)
    assert post["DPPL"]["notes"] == "Difference in positive proportions in predicted labels"
    assert groups["Pre-training bias (Clarify)"]["CI"]["value"] == pytest.approx(expected["CI"], abs=1e-6)
    chart = post["Post-training bias (Clarify) (chart)"]
    assert chart["type"] == "bar_chart" and "DPPL" in chart["x_axis_name"]
    validate({"evaluation_details": [ev]})
    html = render_html({"name": "fair", "content": {"evaluation_details": [ev]}})
    assert "Fairness: sex" in html and "<svg" in html
    with pytest.raises(Invalid, match="column of the test data"):
        fairness_evaluation(_Wrap(model), X, y, "race", ["x"])
    with pytest.raises(Invalid):
        fairness_evaluation(_Wrap(model), X, y, "sex", ["nobody"])


class _Wrap:
    """The model of the test's pipeline: predicts from its features only (the facet is a column)."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return self.model.predict(X[["income", "is_m"]])


def test_card_from_session_adds_the_fairness_section(tmp_path, monkeypatch):
    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'fair.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    client = mlgov_jupyter.connect(user="alice")
    client.create_project("credit")
    X, y = _data()
    X = X[["income", "is_m"]]
    model = LogisticRegression().fit(X, y)
    card = client.card_from_session(model, "fair-lr", train=(X, y), test=(X, y), project="credit",
                                    bias_facet="is_m", bias_values=["0"]).card
    names = [e["name"] for e in card["content"]["evaluation_details"]]
    assert names == ["Test data evaluation", "Fairness: is_m"]
    with pytest.raises(Invalid, match="needs test"):
        client.card_from_session(model, "fair-lr", train=(X, y), bias_facet="is_m", bias_values=["0"])
