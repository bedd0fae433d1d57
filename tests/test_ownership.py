"""Ownership and metadata integrity (issue 9): republish keeps metadata, classification is per
revision, members can be removed but a project keeps an owner, role-capped grants carry expiry."""

import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import mlgov_jupyter
from mlgov_jupyter.core.errors import Conflict, Forbidden
from mlgov_jupyter.core.roles import Guardrails, Role

from helpers import publish_body


async def _events(api, action):
    code, audit, _ = await api("root", "GET", "audit", limit=1000)
    return [e for e in audit["events"] if e["action"] == action]


async def test_republish_keeps_metadata_and_only_owners_lower_classification(api):
    assert (await api("alice", "POST", "projects", {"name": "risk"}))[0] == 201
    await api("alice", "POST", "projects/risk/members", {"user": "bob", "designation": "contributor"})
    first = publish_body("patients", project="risk", classification="pii", glossary_terms=["patient"])
    assert (await api("alice", "POST", "assets", first))[0] == 201
    # a republish that gives only the content keeps description, tags, terms and classification
    code, asset, _ = await api("bob", "POST", "assets", {"name": "patients", "project": "risk",
                                                         "content_b64": first["content_b64"]})
    assert code == 201, asset
    assert asset["classification"] == "pii" and asset["tags"] == ["churn", "crm"]
    assert asset["glossary_terms"] == ["patient"] and asset["description"] == first["description"]
    # a contributor may not lower it; an owner may, and it is audited with old and new
    code, err, _ = await api("bob", "POST", "assets", publish_body("patients", project="risk",
                                                                   classification="internal"))
    assert code == 403 and "lower" in err["message"]
    code, asset, _ = await api("alice", "POST", "assets", publish_body("patients", project="risk",
                                                                       classification="internal", tags=[]))
    assert code == 201 and asset["classification"] == "internal" and asset["tags"] == []
    changes = await _events(api, "asset.classify")
    assert [json.loads(e["detail"])["old"] for e in changes] == ["pii"]
    assert json.loads(changes[0]["detail"])["new"] == "internal"
    # old revisions keep the classification they were published under
    assert [r["classification"] for r in asset["revisions"]] == ["pii", "pii", "internal"]


async def test_old_revisions_keep_their_classification_ceiling(api):
    role = Role.from_persona("ds-conf", "data-scientist",
                             guardrails=Guardrails(classification_ceiling="confidential")).to_dict()
    assert (await api("root", "POST", "roles", {"role": role}))[0] == 201
    assert (await api("root", "POST", "assignments", {"role": "ds-conf", "user": "bob"}))[0] == 201
    await api("alice", "POST", "projects", {"name": "risk"})
    await api("alice", "POST", "assets", publish_body("patients", project="risk", classification="pii"))
    await api("alice", "POST", "assets", publish_body("patients", project="risk", classification="internal"))
    code, req, _ = await api("bob", "POST", "requests", {"asset": "patients", "reason": "model"})
    assert (await api("alice", "POST", f"requests/{req['id']}/approve", {}))[0] == 200
    assert (await api("bob", "GET", "assets/patients/data"))[0] == 200
    code, err, _ = await api("bob", "GET", "assets/patients/data", revision="1")
    assert code == 403 and "pii" in err["message"]  # lowering the asset lifted no old ceiling


async def test_members_are_removed_and_a_project_keeps_an_owner(api):
    await api("alice", "POST", "projects", {"name": "risk"})
    await api("alice", "POST", "projects/risk/members", {"user": "bob", "designation": "consumer"})
    code, err, _ = await api("alice", "POST", "projects/risk/members", {"user": "alice", "designation": "viewer"})
    assert code == 409 and "last owner" in err["message"] and "\n" not in err["message"]
    code, err, _ = await api("alice", "DELETE", "projects/risk/members/alice")
    assert code == 409 and "last owner" in err["message"]
    assert (await api("bob", "DELETE", "projects/risk/members/alice"))[0] == 403
    code, project, _ = await api("alice", "DELETE", "projects/risk/members/bob")
    assert code == 200 and [m["user"] for m in project["members"]] == ["alice"]
    assert (await api("alice", "DELETE", "projects/risk/members/bob"))[0] == 404
    removed = await _events(api, "project.member.remove")
    assert json.loads(removed[0]["detail"]) == {"project": "risk", "user": "bob", "designation": "consumer"}
    # with a second owner, the first may step down
    await api("alice", "POST", "projects/risk/members", {"user": "carol", "designation": "owner"})
    assert (await api("alice", "DELETE", "projects/risk/members/alice"))[0] == 200


async def test_a_group_roles_max_grant_days_is_stamped_on_the_grant(api):
    role = Role.from_persona("audit-30", "data-scientist", guardrails=Guardrails(max_grant_days=30)).to_dict()
    assert (await api("root", "POST", "roles", {"role": role}))[0] == 201
    # carol is in group "auditors" (tests/conftest.py)
    assert (await api("root", "POST", "assignments", {"role": "audit-30", "group": "auditors"}))[0] == 201
    await api("alice", "POST", "projects", {"name": "risk"})
    await api("alice", "POST", "assets", publish_body("churn", project="risk"))
    code, req, _ = await api("carol", "POST", "requests", {"asset": "churn", "reason": "audit"})
    before = datetime.now(timezone.utc)
    assert (await api("alice", "POST", f"requests/{req['id']}/approve", {}))[0] == 200
    code, subs, _ = await api("carol", "GET", "subscriptions")
    expires = datetime.fromisoformat(subs["subscriptions"][0]["grant_expires_at"])
    assert before + timedelta(days=29) < expires <= datetime.now(timezone.utc) + timedelta(days=30)
    code, subs, _ = await api("alice", "GET", "subscriptions", incoming="true")
    assert subs["subscriptions"][0]["grant_expires_at"]


@pytest.fixture
def clients(tmp_path, monkeypatch):
    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'own.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    return mlgov_jupyter.connect(user="alice"), mlgov_jupyter.connect(user="bob")


def test_client_republish_and_member_removal(clients):
    alice, bob = clients
    alice.create_project("risk")
    df = pd.DataFrame({"x": [1, 2, 3]})
    alice.publish(df, name="patients", project="risk", classification="pii", tags=["health"],
                  glossary_terms=["patient"], description="visits")
    asset = alice.publish(df.assign(x=[4, 5, 6]), name="patients", project="risk")
    assert (asset["classification"], asset["tags"], asset["glossary_terms"], asset["description"]) \
        == ("pii", ["health"], ["patient"], "visits")
    alice.add_member("risk", "bob", "contributor")
    with pytest.raises(Forbidden):
        bob.remove_member("risk", "alice")
    alice.add_member("risk", "bob", "owner")
    project = bob.remove_member("risk", "alice")
    assert [m["user"] for m in project["members"]] == ["bob"]
    with pytest.raises(Conflict):
        bob.remove_member("risk", "bob")
