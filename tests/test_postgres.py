"""The same service on PostgreSQL (the team set-up): catalog loop, audit chain, model cards.

CI starts a PostgreSQL server and sets MLGOV_TEST_PG_URL; without it this is skipped locally
and fails in CI.
"""

import os

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

import mlgov_jupyter
from mlgov_jupyter.core.errors import Forbidden

PG_URL = os.environ.get("MLGOV_TEST_PG_URL")
if not PG_URL and os.environ.get("CI"):
    raise RuntimeError("CI must provide a PostgreSQL server: MLGOV_TEST_PG_URL is not set")
pytestmark = pytest.mark.skipif(not PG_URL, reason="MLGOV_TEST_PG_URL not set")


@pytest.fixture
def pg_url(fresh_pg_url):
    """A fresh database per test, dropped afterwards (tests/conftest.py)."""
    return fresh_pg_url


def test_catalog_loop_and_audit_on_postgres(pg_url, monkeypatch):
    monkeypatch.setenv("MLGOV_DB_URL", pg_url)
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    alice, bob = mlgov_jupyter.connect(user="alice"), mlgov_jupyter.connect(user="bob")
    df = pd.DataFrame({"a": range(10), "b": list("xyxyxyxyxy")})
    alice.publish(df, name="events", description="customer events", tags=["crm"])
    found = bob.search("customer", tag="crm")
    assert [a["name"] for a in found] == ["events"] and found.facets["tag"] == {"crm": 1}
    assert len(bob.search("", tag="%")) == 0 and len(bob.search("", tag="cr_")) == 0  # exact, no wildcards
    alice.publish(pd.DataFrame({"monthly_spend": [1.0]}), name="spend", description="what customers spend")
    assert [a["name"] for a in bob.search("customers event")] == ["events"]  # stemmed, all words
    assert [a["name"] for a in bob.search("monthly spend")] == ["spend"]  # a column name
    assert sorted(a["name"] for a in bob.search("cust")) == ["events", "spend"]  # prefixes
    assert len(bob.search("nothing-like-this")) == 0
    with pytest.raises(Forbidden):
        bob.use("events")
    req = bob.subscribe("events", reason="analysis")
    alice.approve(req["id"], comment="ok")
    pd.testing.assert_frame_equal(bob.use("events"), df)
    sub = bob.subscriptions()[0]
    alice.revoke(sub["id"])
    with pytest.raises(Forbidden):
        bob.use("events")
    assert alice.audit_verify()["ok"]
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE id = 3"))
    engine.dispose()
    result = alice.audit_verify()
    assert not result["ok"] and result["first_broken"] == 3


def test_model_card_versions_on_postgres(pg_url, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("MLGOV_DB_URL", pg_url)
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    alice, carol = mlgov_jupyter.connect(user="alice"), mlgov_jupyter.connect(user="carol")
    alice.create_project("risk")
    alice.add_member("risk", "carol", "steward")
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    y = pd.Series([0, 0, 1, 1])
    model = LogisticRegression().fit(X, y)
    card = alice.card_from_session(model, "scorer", train=(X, y), test=(X, y), project="risk").card
    alice.submit_card("scorer")
    assert carol.approve_card("scorer").card["status"] == "Approved"
    alice.update_card("scorer", intended_uses={"risk_rating": "Low"})
    assert alice.card("scorer", version=1).card["content"] == card["content"]


def test_parallel_writers_on_postgres_keep_one_audit_chain(pg_url, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv("MLGOV_DB_URL", pg_url)
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    alice = mlgov_jupyter.connect(user="alice")
    alice.create_project("risk")
    df = pd.DataFrame({"x": range(5)})

    def publish(i):
        return mlgov_jupyter.connect(user="alice").publish(df, name=f"d{i}", project="risk")["revision"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(publish, range(32))) == [1] * 32
    result = alice.audit_verify()
    assert result["ok"] and result["checked"] == 33, result
