"""Model versions (issue 13): a card version describes one model revision; revisions are approved
or rejected by a second person; aliases move with a history; a project may refuse or warn on
``use`` of a revision that is not approved with an approved card. Through the client on the
in-process service and through the real server (REST), with the permission matrix."""

import getpass
import json
import os
import warnings

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import mlgov_jupyter
from mlgov_jupyter.core.cards import validate
from mlgov_jupyter.core.errors import Conflict, Forbidden, Invalid, NotFound
from mlgov_jupyter.kernel.client import ModelApprovalWarning

from tests_models import model_b64


PG_URL = os.environ.get("MLGOV_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The default SQLite store, and a fresh PostgreSQL database when MLGOV_TEST_PG_URL is set."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'versions.sqlite'}"
    return request.getfixturevalue("fresh_pg_url")


@pytest.fixture
def users(db_url, monkeypatch):
    """alice owns project clinical, bob contributes, carol is steward, dave consumes."""
    monkeypatch.setenv("MLGOV_DB_URL", db_url)
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    alice, bob, carol, dave = (mlgov_jupyter.connect(user=u) for u in ("alice", "bob", "carol", "dave"))
    alice.create_project("clinical")
    alice.add_member("clinical", "bob", "contributor")
    alice.add_member("clinical", "carol", "steward")
    alice.add_member("clinical", "dave", "consumer")
    frame = load_breast_cancer(as_frame=True).frame
    alice.publish(frame, name="cancer", project="clinical", description="diagnostics")
    return alice, bob, carol, dave


def _fit(df, C=1.0):
    X, y = df.drop(columns="target"), df["target"]
    return LogisticRegression(max_iter=3000, C=C).fit(X, y), X, y


def _events(client, action):
    return [e for e in client.audit(limit=200, project="clinical") if e["action"] == action]


def test_card_versions_describe_model_revisions(users):
    alice, bob, carol, dave = users
    df = bob.use("cancer")
    model, X, y = _fit(df)
    card = bob.card_from_session(model, "cancer-lr", train=(X, y), test=(X, y), project="clinical").card
    assert card["model_revision"]["revision"] == 1 and card["model_revision"]["is_latest"]
    assert card["model_revision"]["content_hash"].startswith("sha256:")
    assert card["content"]["model_package_details"]["model_approval_status"] == "PendingManualApproval"
    validate(card["content"])

    # the same, unchanged object again: the same revision
    again = bob.card_from_session(model, "cancer-lr", train=(X, y), test=(X, y)).card
    assert again["model_revision"]["revision"] == 1
    assert alice.asset("cancer-lr")["revision"] == 1

    # retrained (the same object refitted): a new model revision first, and the card says so
    model.set_params(C=0.3).fit(X, y)
    v3 = bob.card_from_session(model, "cancer-lr", train=(X, y), test=(X, y)).card
    assert alice.asset("cancer-lr")["revision"] == 2
    assert v3["model_revision"]["revision"] == 2
    assert [v["model_revision"] for v in v3["versions"]][-1] == 2
    old = bob.card("cancer-lr", version=1).card
    assert old["model_revision"] == {**old["model_revision"], "revision": 1, "is_latest": False,
                                     "latest_revision": 2}

    # a plain edit keeps the revision the latest version describes; the derived status is not stored
    edited = bob.update_card("cancer-lr", intended_uses={"risk_rating": "Low"}).card
    assert edited["model_revision"]["revision"] == 2
    diff = bob.card_diff("cancer-lr", v3["version"], edited["version"])
    assert all("model_package_details" not in json.dumps(c) for c in diff)

    # the HTML card shows the revision; the SageMaker JSON carries the approval status
    html = bob.export_card("cancer-lr", format="html").decode()
    assert "Model revision" in html and "2 · PendingManualApproval" in html
    exported = json.loads(bob.export_card("cancer-lr", format="json"))
    assert exported["model_package_details"]["model_approval_status"] == "PendingManualApproval"
    assert exported["model_package_details"]["model_package_version"] == 2


def test_approval_is_decided_by_a_second_person_with_history(users):
    alice, bob, carol, dave = users
    model, X, y = _fit(bob.use("cancer"))
    bob.publish(model, name="scorer", project="clinical")  # bob published revision 1

    with pytest.raises(Forbidden, match="may not"):
        dave.approve_model("scorer", 1, comment="consumer")  # a consumer decides nothing
    with pytest.raises(Forbidden):
        bob.reject_model("scorer", 1, comment="contributor")  # nor a contributor
    with pytest.raises(Forbidden, match="separation of duties"):
        alice.publish(model, name="scorer", project="clinical")  # revision 2 by alice, the owner
        alice.approve_model("scorer", 2, comment="mine")
    admin = mlgov_jupyter.connect(user=getpass.getuser())  # the personal store's owner is its admin
    admin.publish(model, name="scorer", project="clinical")  # revision 3
    with pytest.raises(Forbidden):  # an admin who published it may not decide it either
        admin.approve_model("scorer", 3, comment="admin?")
    admin.approve_model("scorer", 2, comment="an admin may decide what others published")

    v = carol.approve_model("scorer", 1, comment="validated on the hold-out set")
    rev1 = next(r for r in v["revisions"] if r["revision"] == 1)
    assert (rev1["approval_status"], rev1["decided_by"], rev1["comment"]) == \
        ("Approved", "carol", "validated on the hold-out set")
    with pytest.raises(Conflict, match="already Approved"):
        carol.approve_model("scorer", 1, comment="again")
    with pytest.raises(Invalid):
        carol.approve_model("scorer", 1, comment="   ")  # a comment says why
    with pytest.raises(NotFound):
        carol.approve_model("scorer", 9, comment="no such revision")
    alice.reject_model("scorer", 1, comment="leaks the label")  # a later decision; history kept
    v = dave.model_versions("scorer")
    rev1 = next(r for r in v["revisions"] if r["revision"] == 1)
    assert rev1["approval_status"] == "Rejected"
    assert [(h["status"], h["by"]) for h in rev1["history"]] == [("Approved", "carol"), ("Rejected", "alice")]
    assert next(r for r in v["revisions"] if r["revision"] == 3)["approval_status"] == "PendingManualApproval"
    assert not v["may_decide"] and carol.model_versions("scorer")["may_decide"]
    assert rev1["content_hash"]  # dave (consumer) may read the model: its hash is shown

    decisions = _events(alice, "model.approve") + _events(alice, "model.reject")
    assert {(e["actor"], json.loads(e["detail"])["revision"]) for e in decisions} == \
        {("carol", 1), ("alice", 1), (getpass.getuser(), 2)}
    assert any(json.loads(e["detail"])["action"] == "card:approve" for e in _events(alice, "access.denied"))


def test_aliases_move_with_history_and_use_resolves_them(users):
    alice, bob, carol, dave = users
    model, X, y = _fit(bob.use("cancer"))
    bob.publish(model, name="scorer", project="clinical")
    model2, _, _ = _fit(bob.use("cancer"), C=0.2)
    bob.publish(model2, name="scorer", project="clinical")

    with pytest.raises(Forbidden):
        bob.set_alias("scorer", "champion", 1)  # contributors do not move aliases
    with pytest.raises(Invalid):
        carol.set_alias("scorer", "Champion!", 1)
    carol.set_alias("scorer", "champion", 1)
    carol.set_alias("scorer", "challenger", 2)
    alice.set_alias("scorer", "champion", 2)
    with pytest.raises(Conflict):
        alice.set_alias("scorer", "champion", 2)
    v = dave.model_versions("scorer")
    assert {a["alias"]: (a["revision"], a["moved_by"]) for a in v["aliases"]} == \
        {"champion": (2, "alice"), "challenger": (2, "carol")}
    assert [(m["alias"], m["from_revision"], m["to_revision"], m["moved_by"]) for m in v["alias_history"]] == \
        [("champion", 1, 2, "alice"), ("challenger", None, 2, "carol"), ("champion", None, 1, "carol")]
    assert [e["actor"] for e in _events(alice, "model.alias")] == ["alice", "carol", "carol"]

    champion = dave.use("scorer@champion")
    assert dave.used["scorer"]["revision"] == 2
    first = dave.use("scorer", revision=1)
    assert dave.used["scorer"]["revision"] == 1
    assert list(champion.predict(X[:5])) == list(model2.predict(X[:5]))
    assert list(first.predict(X[:5])) == list(model.predict(X[:5]))
    with pytest.raises(NotFound, match="no alias 'staging'"):
        dave.use("scorer@staging")
    with pytest.raises(Invalid):
        dave.use("scorer@champion", revision=1)
    consumed = [json.loads(e["detail"]) for e in _events(alice, "asset.consume")
                if e["resource_id"] == "scorer"]
    assert consumed[-1]["alias"] == "champion" and consumed[-1]["revision"] == 2


def test_project_gate_off_warn_refuse(users):
    alice, bob, carol, dave = users
    model, X, y = _fit(bob.use("cancer"))
    bob.card_from_session(model, "scorer", train=(X, y), test=(X, y), project="clinical")

    with pytest.raises(Forbidden):
        carol.set_model_approval("clinical", "refuse")  # owners only
    with pytest.raises(Invalid):
        alice.set_model_approval("clinical", "sometimes")
    alice.set_model_approval("clinical", "warn")
    with pytest.warns(ModelApprovalWarning, match="PendingManualApproval and has no Approved model card"):
        dave.use("scorer")

    alice.set_model_approval("clinical", "refuse")
    with pytest.raises(Forbidden, match="requires both") as err:
        dave.use("scorer")
    assert "\n" not in str(err.value)
    carol.approve_model("scorer", 1, comment="ok")
    with pytest.raises(Forbidden, match="has no Approved model card"):
        dave.use("scorer")
    bob.submit_card("scorer")
    card = carol.approve_card("scorer", comment="reviewed").card
    assert card["content"]["model_package_details"]["model_approval_status"] == "Approved"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(dave.use("scorer").predict(X[:3])) == list(model.predict(X[:3]))

    # a retrained model: the approved card describes revision 1, not the new one
    model.set_params(C=0.1).fit(X, y)
    bob.card_from_session(model, "scorer", train=(X, y), test=(X, y))
    with pytest.raises(Forbidden, match="revision 2 is PendingManualApproval"):
        dave.use("scorer")
    dave.use("scorer", revision=1)  # the approved one still loads
    refusals = [json.loads(e["detail"]) for e in _events(alice, "access.denied") if e["actor"] == "dave"]
    assert any("model_approval=refuse" in r["reason"] for r in refusals)
    settings = [json.loads(e["detail"]) for e in _events(alice, "project.settings")]
    assert [s["model_approval"]["new"] for s in settings] == ["refuse", "warn"]


# ---- the same through the real server -------------------------------------------------------

async def _seed(api):
    ok = lambda r: r[0] in (200, 201) or pytest.fail(str(r[1]))  # noqa: E731
    ok(await api("alice", "POST", "projects", {"name": "risk"}))
    for user, designation in (("bob", "contributor"), ("carol", "steward"), ("dave", "consumer")):
        ok(await api("alice", "POST", "projects/risk/members", {"user": user, "designation": designation}))
    for _ in range(2):  # bob publishes revisions 1 and 2
        ok(await api("bob", "POST", "assets", {"name": "scorer", "kind": "model", "project": "risk",
                                               "format": "skops", "content_b64": model_b64()}))


async def test_rest_permission_matrix(api):
    await _seed(api)
    approve = lambda user, rev=1: api(user, "POST", f"models/scorer/versions/{rev}/approve",  # noqa: E731
                                      {"comment": "looked at it"})
    # who may decide: owners and stewards, never the publisher; consumers and outsiders not
    for user in ("dave", "bob"):
        code, body, _ = await approve(user)
        assert code == 403 and "\n" not in body["message"], (user, body)
    code, body, _ = await api("alice", "POST", "models/scorer/versions/1/reject", {"comment": "no"})
    assert code == 200 and body["revisions"][-1]["approval_status"] == "Rejected"
    code, body, _ = await approve("carol")
    assert code == 200 and body["revisions"][-1]["history"][-1]["by"] == "carol"
    code, body, _ = await approve("carol")
    assert code == 409
    code, body, _ = await api("carol", "POST", "models/scorer/versions/1/approve", {})
    assert code == 400 and "comment" in body["message"]
    code, body, _ = await approve("carol", rev=7)
    assert code == 404
    code, body, _ = await api("carol", "POST", "models/cancer/versions/1/approve", {"comment": "x"})
    assert code == 404

    # aliases: owners and stewards; a bad name is a 400
    code, body, _ = await api("dave", "PUT", "models/scorer/aliases/champion", {"revision": 1})
    assert code == 403
    code, body, _ = await api("carol", "PUT", "models/scorer/aliases/Bad%20Name", {"revision": 1})
    assert code == 400 and "alias" in body["message"]
    code, body, _ = await api("carol", "PUT", "models/scorer/aliases/champion", {"revision": 1})
    assert code == 200 and body["aliases"] == [{**body["aliases"][0], "alias": "champion", "revision": 1}]
    code, body, _ = await api("alice", "PUT", "models/scorer/aliases/champion", {"revision": 2})
    assert [(m["from_revision"], m["to_revision"], m["moved_by"]) for m in body["alias_history"]] == \
        [(1, 2, "alice"), (None, 1, "carol")]

    # the project's gate: owners set it; refuse is a 403 one-liner on use, by alias too
    code, body, _ = await api("carol", "PUT", "projects/risk/settings", {"model_approval": "refuse"})
    assert code == 403
    code, body, _ = await api("alice", "PUT", "projects/risk/settings", {"model_approval": "refuse"})
    assert code == 200 and body == {"project": "risk", "model_approval": "refuse"}
    code, body, _ = await api("dave", "GET", "projects/risk/settings")
    assert code == 200 and body["model_approval"] == "refuse"
    code, body, _ = await api("dave", "GET", "assets/scorer@champion/data")
    assert code == 403 and "revision 2 is PendingManualApproval" in body["message"] and "\n" not in body["message"]
    code, body, _ = await api("dave", "GET", "assets/scorer/data", revision="1")
    assert code == 403 and "has no Approved model card" in body["message"]
    code, body, _ = await api("dave", "GET", "assets/scorer@nope/data")
    assert code == 404
    code, body, _ = await api("alice", "PUT", "projects/risk/settings", {"model_approval": "warn"})
    code, body, resp = await api("dave", "GET", "assets/scorer@champion/data")
    from urllib.parse import unquote

    meta = json.loads(unquote(resp.headers["X-Mlgov-Meta"]))
    assert code == 200 and meta["revision"] == 2 and meta["alias"] == "champion"
    assert meta["approval_status"] == "PendingManualApproval" and "model_approval=warn" in meta["warning"]
    code, body, _ = await api("dave", "GET", "models/scorer/versions")
    assert code == 200 and [r["revision"] for r in body["revisions"]] == [2, 1]
    assert body["model_approval"] == "warn" and body["revisions"][0]["aliases"] == ["champion"]


# ---- in a notebook: %mlgov model in a real kernel on a real server ---------------------------

KERNEL_MODEL = (
    "import pandas as pd, numpy as np\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "rng = np.random.default_rng(0)\n"
    "X = pd.DataFrame({'a': rng.normal(size=200), 'g': rng.integers(0, 2, size=200)}); y = (X.a > 0).astype(int)\n"
    "m = LogisticRegression().fit(X, y)\n"
    "mlgov_client.create_project('lab')\n"
    "for user, d in (('bob', 'consumer'), ('carol', 'steward')):\n"
    "    mlgov_client.add_member('lab', user, d)\n")


def test_model_magics_in_a_real_kernel(tmp_path):
    from live import Kernel, LiveServer

    server = LiveServer(tmp_path)
    alice = carol = bob = None
    try:
        alice = Kernel(server, "alice-token")
        alice.ok("%load_ext mlgov_jupyter")
        alice.ok(KERNEL_MODEL)
        out = alice.ok("%mlgov card new m --name churn-lr --train X,y --test X,y --project lab")
        alice.ok("m.set_params(C=0.2).fit(X, y)")  # retrained: card new publishes revision 2 first
        out = alice.run("%mlgov card new m --name churn-lr --train X,y --test X,y --bias-facet g")
        assert out["error"][0] == "UsageError" and "--bias-values" in out["error"][1]
        alice.ok("%mlgov card new m --name churn-lr --train X,y --test X,y --bias-facet g --bias-values 1")
        out = alice.ok("c = mlgov_client.card('churn-lr').card\nprint(c['model_revision']['revision'])\n"
                       "print([e['name'] for e in c['content']['evaluation_details']])")
        assert out["stdout"].split("\n")[:2] == ["2", "['Test data evaluation', 'Fairness: g']"]

        carol = Kernel(server, "carol-token")
        carol.ok("%load_ext mlgov_jupyter")
        out = carol.ok("%mlgov model approve churn-lr 1 --comment 'validated on hold-out'")
        assert out["stdout"].strip() == "churn-lr revision 1: Approved by carol"
        carol.ok("%mlgov model alias churn-lr champion 1")
        out = carol.run("%mlgov model approve churn-lr 1")
        assert out["error"][0] == "UsageError" and "--comment" in out["error"][1]
        out = carol.run("%mlgov model alias churn-lr Champion 1")
        assert out["error"][0] == "UsageError" and "alias 'Champion'" in out["error"][1]
        out = alice.run("%mlgov model approve churn-lr 2 --comment 'mine'")
        assert out["error"][0] == "UsageError" and "separation of duties" in out["error"][1]
        assert "\n" not in out["error"][1]
        out = carol.run("%mlgov model policy lab refuse")
        assert out["error"][0] == "UsageError" and "may not" in out["error"][1]
        out = alice.ok("%mlgov model policy lab warn")
        assert out["stdout"].strip() == "project lab: model_approval=warn"

        out = alice.ok("v = %mlgov model versions churn-lr\nv")
        html = next(d["text/html"] for d in out["data"] if "text/html" in d)
        assert "<table>" in html and "champion" in html and "validated on hold-out" in html
        assert "PendingManualApproval" in html and "model_approval=warn" in html

        bob = Kernel(server, "bob-token")
        bob.ok("%load_ext mlgov_jupyter")
        out = bob.ok("champ = %mlgov use churn-lr@champion\nprint(mlgov_client.used['churn-lr']['revision'])")
        lines = out["stdout"].strip().splitlines()  # stdout and stderr, in either order
        assert sorted(lines) == ["1", "<mlgov>:0: ModelApprovalWarning: model 'churn-lr' revision 1 has no Approved "
                                      "model card describing it; project lab requires both (model_approval=warn)"]
        out = bob.run("import warnings\nwith warnings.catch_warnings(record=True) as w:\n"
                      "    warnings.simplefilter('always')\n    latest = mlgov_client.use('churn-lr')\n"
                      "print([str(x.message) for x in w])")
        assert "revision 2 is PendingManualApproval and has no Approved model card" in out["stdout"]
        alice.ok("%mlgov model policy lab refuse")
        out = bob.run("%mlgov use churn-lr --revision 2")
        assert out["error"][0] == "UsageError" and "model_approval=refuse" in out["error"][1]
        assert "\n" not in out["error"][1]
    finally:
        for k in (alice, carol, bob):
            if k is not None:
                k.stop()
        server.stop()


async def test_a_card_shows_its_model_revisions_hash_only_to_who_may_read_the_model(api):
    """Red team R20-5: the card view withholds the described revision's content hash from those
    who may not read the model's data, as models/{name}/versions does (exports too)."""
    ok = lambda r: r[0] in (200, 201) or pytest.fail(str(r[1]))  # noqa: E731
    ok(await api("alice", "POST", "projects", {"name": "vault"}))
    ok(await api("alice", "POST", "assets", {"name": "hidden", "kind": "model", "project": "vault",
                                             "format": "skops", "content_b64": model_b64()}))
    code, created, _ = await api("alice", "POST", "cards", {"name": "hidden-card", "model": "hidden",
                                                            "content": {}})
    assert code == 201 and created["model_revision"]["content_hash"].startswith("sha256:")
    digest = created["model_revision"]["content_hash"]
    code, versions, _ = await api("alice", "GET", "models/hidden/versions")
    assert versions["revisions"][0]["content_hash"] == digest

    # bob is no member of vault and has no grant: the card and its revision number, not the hash
    code, versions, _ = await api("bob", "GET", "models/hidden/versions")
    assert code == 200 and versions["revisions"][0]["content_hash"] is None
    for params in ({}, {"version": "1"}):
        code, card, _ = await api("bob", "GET", "cards/hidden-card", **params)
        assert code == 200 and card["model_revision"]["revision"] == 1, card
        assert card["model_revision"]["content_hash"] is None
        assert digest not in json.dumps(card)
    code, html, _ = await api("bob", "GET", "cards/hidden-card/export", format="html")
    assert code == 200 and b"1 \xc2\xb7 PendingManualApproval" in html and digest[:19].encode() not in html
    code, md, _ = await api("bob", "GET", "cards/hidden-card/export", format="markdown")
    assert code == 200 and digest[:19].encode() not in md
    code, listed, _ = await api("bob", "GET", "cards")
    assert code == 200 and digest not in json.dumps(listed)

    # the owner sees it in the card and its HTML export
    code, card, _ = await api("alice", "GET", "cards/hidden-card")
    assert code == 200 and card["model_revision"]["content_hash"] == digest
    code, html, _ = await api("alice", "GET", "cards/hidden-card/export", format="html")
    assert code == 200 and digest[:19].encode() in html


def test_deploy_from_the_client_warns_or_is_refused_as_use(users):
    """R20-7 in the notebook: ``deploy`` and ``update_deployment`` of a revision the project does
    not approve show the warning as ``use`` does (warn), or are Forbidden (refuse)."""
    alice, bob, carol, dave = users
    model, X, y = _fit(bob.use("cancer"))
    bob.card_from_session(model, "scorer", train=(X, y), test=(X, y), project="clinical")
    alice.set_model_approval("clinical", "warn")
    with pytest.warns(ModelApprovalWarning, match="PendingManualApproval"):
        assert bob.deploy("scorer-prod", "scorer", capture=False)["status"] == "InService"
    alice.set_model_approval("clinical", "refuse")
    with pytest.raises(Forbidden, match="PendingManualApproval"):
        bob.deploy("scorer-prod2", "scorer", capture=False)
    model.set_params(C=0.1).fit(X, y)
    bob.card_from_session(model, "scorer", train=(X, y), test=(X, y))  # revision 2
    with pytest.raises(Forbidden, match="revision 2 is PendingManualApproval"):
        bob.update_deployment("scorer-prod", revision=2)
    alice.set_model_approval("clinical", "off")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bob.update_deployment("scorer-prod", revision=2)["model_revision"] == 2
