"""Catalog lifecycle (issue 13): deprecate (hidden from search, readable by holders, use warns
naming the replacement, undo) and unpublish (owners; grants end and requests close, audited per
grant; use is a 404 naming who and when; content deleted unless shared; a model in service is a
409). Through the real server (REST) and through the client on SQLite and PostgreSQL."""

import json
import os
import warnings

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import mlgov_jupyter
from mlgov_jupyter.core.errors import Conflict, Forbidden, NotFound

from helpers import frame, publish_body

PG_URL = os.environ.get("MLGOV_TEST_PG_URL")


# ---- REST, the real server -----------------------------------------------------------------------

async def _seed(api):
    assert (await api("alice", "POST", "projects", {"name": "risk"}))[0] == 201
    assert (await api("alice", "POST", "projects/risk/members", {"user": "dave", "designation": "steward"}))[0] == 200
    assert (await api("alice", "POST", "assets", publish_body("churn", project="risk")))[0] == 201
    assert (await api("alice", "POST", "assets", publish_body("churn-v2", df=frame(60), project="risk")))[0] == 201
    code, req, _ = await api("bob", "POST", "requests", {"asset": "churn", "reason": "retention"})
    assert code == 201
    assert (await api("alice", "POST", f"requests/{req['id']}/approve", {"comment": "ok"}))[0] == 200
    code, pending, _ = await api("carol", "POST", "requests", {"asset": "churn", "reason": "audit"})
    assert code == 201
    return pending["id"]


async def test_deprecate_hides_from_search_keeps_readable_and_undo(api):
    await _seed(api)
    code, body, _ = await api("dave", "POST", "assets/churn/deprecation",
                              {"reason": "superseded by v2", "replacement": "churn-v2"})
    assert code == 200, body  # a steward may deprecate
    assert body["deprecated"]["by"] == "dave" and body["deprecated"]["replacement"] == "churn-v2"

    code, page, _ = await api("bob", "GET", "assets", q="churn")
    assert [i["name"] for i in page["items"]] == ["churn-v2"] and page["total"] == 1
    code, page, _ = await api("bob", "GET", "assets", q="churn", include_deprecated="true")
    shown = {i["name"]: i for i in page["items"]}
    assert set(shown) == {"churn", "churn-v2"} and shown["churn"]["deprecated"]["reason"] == "superseded by v2"
    assert shown["churn-v2"]["deprecated"] is None

    code, _data, resp = await api("bob", "GET", "assets/churn/data")  # the grant holder still reads it
    assert code == 200

    for bad, expect in (({"reason": ""}, 400), ({"reason": "x", "replacement": "churn"}, 400),
                        ({"reason": "x", "replacement": "nope"}, 404)):
        code, err, _ = await api("alice", "POST", "assets/churn/deprecation", bad)
        assert code == expect and "\n" not in err["message"], err
    code, err, _ = await api("bob", "POST", "assets/churn/deprecation", {"reason": "mine now"})
    assert code == 403, err

    code, body, _ = await api("alice", "DELETE", "assets/churn/deprecation")
    assert code == 200 and body["deprecated"] is None
    code, err, _ = await api("alice", "DELETE", "assets/churn/deprecation")
    assert code == 409 and err["message"] == "asset 'churn' is not deprecated"
    code, page, _ = await api("bob", "GET", "assets", q="churn")
    assert page["total"] == 2

    code, events, _ = await api("root", "GET", "audit", resource_type="asset", resource_id="churn")
    actions = [e["action"] for e in events["events"]]
    assert "asset.deprecate" in actions and "asset.undeprecate" in actions


async def test_unpublish_ends_grants_closes_requests_and_is_a_tombstone(api):
    pending = await _seed(api)
    code, err, _ = await api("dave", "POST", "assets/churn/unpublish", {"reason": "wrong data"})
    assert code == 403 and "only owners" in err["message"], err  # stewards deprecate, owners unpublish
    code, body, _ = await api("alice", "POST", "assets/churn/unpublish", {"reason": "consent withdrawn"})
    assert code == 200, body
    assert body["grants_ended"] == 1 and body["requests_closed"] == 1
    assert len(body["content_deleted"]) == 1 and body["content_kept"] == []

    code, subs, _ = await api("bob", "GET", "subscriptions")
    assert [(x["status"], x["grant_status"]) for x in subs["subscriptions"]] == [("revoked", "revoked")]
    code, reqs, _ = await api("carol", "GET", "requests")
    closed = next(r for r in reqs["requests"] if r["id"] == pending)
    assert closed["status"] == "closed" and "consent withdrawn" in closed["decision_comment"]

    code, err, _ = await api("bob", "GET", "assets/churn/data")
    assert code == 404 and err["message"].startswith("asset 'churn' was unpublished by alice on 20")
    assert err["message"].endswith(": consent withdrawn")
    code, err, _ = await api("alice", "GET", "assets/churn/data")
    assert code == 404  # its owners too: the content is gone
    code, err, _ = await api("bob", "GET", "assets/churn")
    assert code == 404 and "unpublished by alice" in err["message"]
    code, tomb, _ = await api("alice", "GET", "assets/churn")  # its project sees the tombstone
    assert code == 200 and tomb["unpublished"]["reason"] == "consent withdrawn" and tomb["revisions"]
    code, page, _ = await api("alice", "GET", "assets", q="churn", include_deprecated="true")
    assert [i["name"] for i in page["items"]] == ["churn-v2"]
    code, err, _ = await api("alice", "POST", "assets", publish_body("churn", project="risk"))
    assert code == 409 and "name is not reused" in err["message"]
    code, err, _ = await api("carol", "POST", "requests", {"asset": "churn", "reason": "again"})
    assert code == 404
    code, err, _ = await api("alice", "POST", "assets/churn/unpublish", {"reason": "again"})
    assert code == 404 and "unpublished" in err["message"]

    code, events, _ = await api("root", "GET", "audit", project="risk", limit=100)
    details = [(e["action"], json.loads(e["detail"])) for e in events["events"]]
    actions = [(a, d.get("reason") or d.get("comment")) for a, d in details]
    assert ("subscription.revoke", "asset unpublished: consent withdrawn") in actions
    assert ("access.close", "asset unpublished: consent withdrawn") in actions
    assert ("asset.unpublish", "consent withdrawn") in actions
    assert (await api("root", "GET", "audit/verify"))[1]["ok"]


# ---- the client (in-process service), SQLite and PostgreSQL ------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The default SQLite store, and a fresh PostgreSQL database when MLGOV_TEST_PG_URL is set."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lifecycle.sqlite'}"
    return request.getfixturevalue("fresh_pg_url")


@pytest.fixture
def users(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("MLGOV_DB_URL", db_url)
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    alice, bob = (mlgov_jupyter.connect(user=u) for u in ("alice", "bob"))
    alice.create_project("clinical")
    return alice, bob


def test_use_of_a_deprecated_asset_warns_naming_the_replacement(users):
    alice, bob = users
    alice.publish(frame(), name="old", project="clinical")
    alice.publish(frame(), name="new", project="clinical")
    bob.subscribe("old", reason="study")
    alice.approve(alice.requests(incoming=True, status="pending")[0]["id"])
    alice.deprecate("old", "replaced", replacement="new")
    assert [a["name"] for a in bob.search("")] == ["new"]
    assert {a["name"] for a in bob.search("", include_deprecated=True)} == {"old", "new"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        df = bob.use("old")
    assert len(df) == 50
    dep = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert [str(w.message) for w in dep] == ["old is deprecated by alice: replaced; use new instead"]
    alice.undeprecate("old")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        bob.use("old")
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning)]


def test_unpublish_refuses_a_model_in_service_and_keeps_shared_content(users):
    alice, bob = users
    df = load_breast_cancer(as_frame=True).frame
    model = LogisticRegression(max_iter=3000).fit(df.drop(columns="target"), df["target"])
    alice.publish(model, name="lr", project="clinical")
    alice.deploy("lr-prod", "lr", capture=False)
    with pytest.raises(Conflict, match="deployment 'lr-prod' is in service with 'lr'"):
        alice.unpublish("lr", "retired")
    alice.update_deployment("lr-prod", status="OutOfService")
    with pytest.raises(Forbidden):
        bob.unpublish("lr", "mine")
    done = alice.unpublish("lr", "retired")
    assert len(done["content_deleted"]) == 1
    with pytest.raises(NotFound, match="unpublished by alice"):
        alice.use("lr")
    with pytest.raises(NotFound, match="unpublished by alice"):
        alice._call("POST", "cards", body={"name": "lr-card", "model": "lr", "content": {}})

    # the same bytes under two names: unpublishing one keeps them for the other
    alice.publish(frame(), name="a", project="clinical")
    alice.publish(frame(), name="b", project="clinical")
    done = alice.unpublish("a", "duplicate")
    assert done["content_deleted"] == [] and len(done["content_kept"]) == 1
    assert len(alice.use("b")) == 50
