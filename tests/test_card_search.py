"""Search covers model cards (issue 13): the words of a card (intended uses, risk rating, model
description) find its model in catalog search, the card list filters by words, status and risk,
a card change moves the search cache's generation, and a failed ``card new`` that was given a
DataFrame publishes nothing. SQLite (FTS5) and PostgreSQL (tsvector), and the real server."""

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from mlgov_jupyter.core.errors import Invalid

from test_lifecycle import db_url, users  # noqa: F401  (fixtures: SQLite and PostgreSQL stores)


def _model():
    df = load_breast_cancer(as_frame=True).frame
    X, y = df.drop(columns="target"), df["target"]
    return LogisticRegression(max_iter=3000).fit(X, y), X, y


def test_card_words_find_the_model_and_filter_the_card_list(users):
    alice, bob = users
    model, X, y = _model()
    alice.card_from_session(model, "tumour-screen", train=(X, y), project="clinical")
    alice.update_card("tumour-screen", intended_uses={"purpose_of_model": "triage of mammography referrals",
                                                      "risk_rating": "High"},
                      model_overview={"model_description": "logistic regression over nuclei measurements"})
    model2, _X, _y = _model()
    alice.card_from_session(model2, "churn-guess", project="clinical")
    alice.update_card("churn-guess", intended_uses={"purpose_of_model": "marketing retention offers",
                                                    "risk_rating": "Low"})

    assert [a["name"] for a in bob.search("mammography")] == ["tumour-screen"]  # intended uses
    assert [a["name"] for a in bob.search("nuclei measure")] == ["tumour-screen"]  # description, prefix
    assert [a["name"] for a in bob.search("retention", kind="model")] == ["churn-guess"]
    assert bob.search("mammography", kind="dataset").total == 0
    both = bob.search("churn guess")  # the asset's name and its card's: found once
    assert [a["name"] for a in both] == ["churn-guess"] and both.total == 1

    assert [c["name"] for c in bob.cards("referrals")] == ["tumour-screen"]
    assert [c["name"] for c in bob.cards(risk="Low")] == ["churn-guess"]
    assert [c["name"] for c in bob.cards(risk="High", status="Draft")] == ["tumour-screen"]
    assert bob.cards(status="Approved") == []
    assert bob.cards("retention", risk="High") == []
    assert bob.cards("!!!") == []

    # the cached answer moves with the card: a new word is found, an old one no longer
    assert bob.search("oncology").total == 0
    alice.update_card("tumour-screen", intended_uses={"purpose_of_model": "oncology triage", "risk_rating": "High"})
    assert [a["name"] for a in bob.search("oncology")] == ["tumour-screen"]
    assert bob.search("mammography").total == 0
    alice.submit_card("churn-guess")
    assert [c["name"] for c in bob.cards(status="PendingReview")] == ["churn-guess"]


def test_a_failed_card_new_with_a_dataframe_publishes_nothing(users):
    alice, _bob = users
    _model_, X, y = _model()
    before = alice.search("").total
    with pytest.raises(Invalid, match="not a DataFrame .nothing was published"):
        alice.card_from_session(X, "frame-card", train=(X, y), project="clinical")
    alice.publish(X, name="features", project="clinical")
    with pytest.raises(Invalid, match="'features' is a dataset .nothing was published"):
        alice.card_from_session(_model_, "frame-card", model_asset="features")
    assert alice.search("").total == before + 1  # only the dataset published on purpose
    assert alice.cards() == []


async def test_card_list_filters_over_rest(api):
    from tests_models import model_b64

    assert (await api("alice", "POST", "projects", {"name": "risk"}))[0] == 201
    assert (await api("alice", "POST", "assets", {"name": "scorer", "kind": "model", "project": "risk",
                                                  "format": "skops", "content_b64": model_b64()}))[0] == 201
    content = {"intended_uses": {"purpose_of_model": "credit limit decisions", "risk_rating": "Medium"}}
    assert (await api("alice", "POST", "cards", {"name": "scorer-card", "model": "scorer", "content": content}))[0] == 201
    code, body, _ = await api("bob", "GET", "cards", text="credit", risk="Medium", status="Draft")
    assert code == 200 and [c["name"] for c in body["cards"]] == ["scorer-card"]
    code, page, _ = await api("bob", "GET", "assets", q="credit limit")
    assert [a["name"] for a in page["items"]] == ["scorer"]
    code, err, _ = await api("bob", "GET", "cards", status="Done")
    assert code == 400 and "status" in err["message"]
