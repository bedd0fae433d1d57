"""Model cards through the client and service: autopopulate, lineage, review workflow, export."""

import json
import subprocess

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgov_jupyter
from mlgov_jupyter.core.cards import validate
from mlgov_jupyter.core.errors import Conflict, Forbidden, NotFound


@pytest.fixture
def users(tmp_path, monkeypatch):
    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'cards.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    alice, bob, carol = (mlgov_jupyter.connect(user=u) for u in ("alice", "bob", "carol"))
    alice.create_project("clinical")
    alice.add_member("clinical", "bob", "contributor")
    alice.add_member("clinical", "carol", "steward")
    frame = load_breast_cancer(as_frame=True).frame
    alice.publish(frame, name="cancer", project="clinical", description="diagnostics")
    return alice, bob, carol


def _metric(card, name):
    for ev in card["content"]["evaluation_details"]:
        for group in ev["metric_groups"]:
            for metric in group["metric_data"]:
                if metric["name"] == name:
                    return metric["value"]
    raise KeyError(name)


def test_card_from_session_review_and_versions(users, tmp_path):
    alice, bob, carol = users
    df = bob.use("cancer")
    X, y = df.drop(columns="target"), df["target"]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X_tr, y_tr)

    card = bob.card_from_session(model, "cancer-logreg", train=(X_tr, y_tr), test=(X_te, y_te),
                                 project="clinical").card
    validate(card["content"])
    assert card["status"] == "Draft" and card["version"] == 1 and card["model"] == "cancer-logreg"
    assert card["lineage"] == {"training": ["cancer"], "evaluation": ["cancer"]}
    assert card["content"]["model_overview"]["problem_type"].lower().startswith("binary")
    pred = model.predict(X_te)
    assert _metric(card, "accuracy") == pytest.approx(accuracy_score(y_te, pred))
    assert _metric(card, "f1") == pytest.approx(f1_score(y_te, pred))
    assert _metric(card, "auc") == pytest.approx(roc_auc_score(y_te, model.predict_proba(X_te)[:, 1]))

    with pytest.raises(Forbidden):
        carol.submit_card("cancer-logreg")  # only the author submits
    bob.submit_card("cancer-logreg")
    with pytest.raises(Forbidden):
        bob.approve_card("cancer-logreg")  # separation of duties
    approved = carol.approve_card("cancer-logreg", comment="fine").card
    assert approved["status"] == "Approved" and approved["approved_by"] == "carol"

    edited = bob.update_card("cancer-logreg", intended_uses={"risk_rating": "High",
                                                              "intended_uses": "triage support"}).card
    assert edited["version"] == 2 and edited["status"] == "Draft" and edited["approved_version"] == 1
    assert bob.card("cancer-logreg", version=1).card["status"] == "Approved"
    changes = bob.card_diff("cancer-logreg", 1, 2)
    assert any(ch["path"].startswith("intended_uses") and "High" in json.dumps(ch) for ch in changes)

    exported = json.loads(bob.export_card("cancer-logreg", "json", version=1))
    assert exported == bob.card("cancer-logreg", version=1).card["content"]
    reimport = alice.publish(model, name="cancer-logreg-copy", project="clinical")
    copy = alice.import_card(json.dumps(exported), name="cancer-logreg-copy", model=reimport["name"]).card
    assert copy["content"] == exported

    pdf = tmp_path / "card.pdf"
    bob.export_card("cancer-logreg", "pdf", path=str(pdf))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "cancer-logreg" in text and "triage support" in text and "High" in text
    md = bob.export_card("cancer-logreg", "markdown").decode()
    assert md.startswith("---\n") and "triage support" in md

    alice.archive_card("cancer-logreg")
    with pytest.raises(Conflict):
        bob.update_card("cancer-logreg", intended_uses={"risk_rating": "Low"})
    assert bob.export_card("cancer-logreg", "html").startswith(b"<!DOCTYPE html>")

    rows = carol.cards()
    assert {r["name"]: r["status"] for r in rows} == {"cancer-logreg": "Archived", "cancer-logreg-copy": "Draft"}
    events = [e["action"] for e in mlgov_jupyter.connect(user="root").audit(limit=100)]
    for action in ("card.create", "card.submit", "card.approve", "card.edit", "card.archive"):
        assert action in events


def test_card_rules(users):
    alice, bob, carol = users
    with pytest.raises(NotFound):
        alice.card("nope")
    from mlgov_jupyter.core.errors import Invalid

    with pytest.raises(Invalid):  # a card belongs to a model, not a dataset
        alice._call("POST", "cards", body={"name": "x", "model": "cancer", "content": {}})
    model = LogisticRegression().fit([[0], [1]], [0, 1])
    alice.publish(model, name="tiny", project="clinical")
    alice._call("POST", "cards", body={"name": "tiny-card", "model": "tiny", "content": {}})
    with pytest.raises(Conflict):  # one card per model
        alice._call("POST", "cards", body={"name": "tiny-card-2", "model": "tiny", "content": {}})
    with pytest.raises(Invalid):  # schema enforced on save
        alice.update_card("tiny-card", content={"intended_uses": {"risk_rating": "Extreme"}})
    outsider = mlgov_jupyter.connect(user="mallory")
    with pytest.raises(Forbidden):
        outsider.update_card("tiny-card", content={})


def test_card_new_again_makes_a_version_and_keeps_what_people_wrote(users):
    alice, bob, carol = users
    df = bob.use("cancer")
    X, y = df.drop(columns="target"), df["target"]
    model = LogisticRegression(max_iter=2000).fit(X, y)
    bob.card_from_session(model, "cancer-lr", train=(X, y), test=(X, y), project="clinical")
    bob.update_card("cancer-lr", intended_uses={"intended_uses": "second opinion only", "risk_rating": "High"})
    model2 = LogisticRegression(max_iter=2000, C=0.5).fit(X, y)
    again = bob.card_from_session(model2, "cancer-lr", train=(X, y), test=(X, y), model_asset="cancer-lr").card
    assert again["version"] == 3 and again["status"] == "Draft"
    assert again["content"]["intended_uses"]["intended_uses"] == "second opinion only"
    params = {p["name"]: p["value"] for p in
              again["content"]["training_details"]["training_job_details"]["hyper_parameters"]}
    assert params["C"] == "0.5"


def test_every_version_of_a_card_is_gated_on_all_versions_lineage(tmp_path, monkeypatch):
    """The red team's G3: an evaluation written before lineage was declared (version 1) stayed
    readable by a grantee of the model alone with ?version=1 and in exports. Every version is gated
    on the union of all versions' lineage; no lineage at all: the model's project only."""
    import pandas as pd

    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'g3.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    alice, bob = mlgov_jupyter.connect(user="alice"), mlgov_jupyter.connect(user="bob")
    alice.create_project("risk")
    df = pd.DataFrame({"ssn": ["123-45-6789", "987-65-4321"], "age": [40, 50], "y": [0, 1]})
    alice.publish(df, name="patients", project="risk", classification="pii")
    alice.publish(LogisticRegression().fit(df[["age"]], df["y"]), name="risk-model", project="risk")
    card = {"model_overview": {"model_description": "risk"},
            "evaluation_details": [{"name": "hold-out", "evaluation_observation": "worst on 123-45-6789"}]}
    alice._call("POST", "cards", body={"name": "risk-card", "model": "risk-model", "content": card})
    req = bob.subscribe("risk-model", reason="score")
    alice.approve(req["id"])

    def leaks(client, version):
        got = [client._call("GET", "cards/risk-card", query={"version": version})]
        for fmt in ("json", "markdown"):
            got.append(client._call("GET", "cards/risk-card/export", query={"format": fmt, "version": version}))
        return ["123-45-6789" in repr(g) for g in got]

    assert leaks(alice, 1) == [True] * 3  # the model's project
    assert leaks(bob, 1) == [False] * 3  # no lineage: nothing vouches for the data
    alice._call("PUT", "cards/risk-card", body={"content": card,
                                                "lineage": {"training": ["patients"], "evaluation": ["patients"]}})
    assert leaks(bob, 1) == leaks(bob, 2) == [False] * 3  # version 1 too: the union of lineages
    assert bob._call("GET", "cards/risk-card", query={"version": 1})["withheld"] == ["evaluation_details"]
    req = bob.subscribe("patients", reason="audit the evaluation")
    alice.approve(req["id"])
    assert leaks(bob, 1) == leaks(bob, 2) == [True] * 3  # the model and its data
