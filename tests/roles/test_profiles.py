"""Project profiles: data templates -> roles, assignments and members that govern a project."""

from __future__ import annotations

import json

import pytest

from mlgov_jupyter.core import authz
from mlgov_jupyter.core.authz import Principal, Resource
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.roles import PolicyAuthorizer, ProjectProfile, catalog, profile, profiles


def governed(setup, *others):
    roles = list(setup.roles) + [r for s in others for r in s.roles]
    assignments = list(setup.assignments) + [a for s in others for a in s.assignments]
    return PolicyAuthorizer(roles, assignments)


def test_shipped_profiles():
    ids = {p.id for p in profiles()}
    assert {"sandbox", "regulated-pii"} <= ids
    for p in profiles():
        assert ProjectProfile.from_dict(json.loads(json.dumps(p.to_dict()))) == p
        setup = p.apply("proj", "alice")
        assert all(r.guardrails.projects == ("proj",) for r in setup.roles)
        assert all(a.projects == ("proj",) for a in setup.assignments)
        assert {"user": "alice", "designation": "owner"} in setup.members
        governed(setup)  # the Cedar text of every profile parses
        json.dumps(setup.to_dict())


def test_regulated_pii_project():
    setup = profile("regulated-pii").apply("risk", "alice", groups={"auditors": "risk-auditors"})
    assert [r.name for r in setup.roles] == ["risk-data-scientist", "risk-steward", "risk-auditor"]
    assert {"group": "risk-auditors", "designation": "viewer"} in setup.members
    az = governed(setup)
    alice = Principal("alice", designations={"risk": "owner"})
    pii = Resource("asset", "customers", "risk", "pii")
    assert az.decide(alice, authz.CATALOG_CONSUME, pii).allowed
    assert az.decide(alice, authz.CATALOG_DECIDE, Resource("request", "r", "risk", attrs={"requester": "bob"})).allowed
    d = az.decide(alice, authz.CATALOG_DECIDE, Resource("request", "r", "risk", attrs={"requester": "alice"}))
    assert not d.allowed and "separation of duties" in d.reason
    auditor = Principal("ann", groups=("risk-auditors",), designations={"risk": "viewer"})
    assert az.decide(auditor, authz.AUDIT_READ, Resource("audit", project="risk")).allowed
    assert not az.decide(auditor, authz.CATALOG_CONSUME, Resource("asset", "x", "risk", "public")).allowed
    # the profile's roles do not reach other projects
    other = Principal("alice", designations={"fraud": "owner"})
    d = az.decide(other, authz.CATALOG_CONSUME, Resource("asset", "x", "fraud", "public"))
    assert not d.allowed and "is assigned for project risk only" in d.reason
    # a data scientist added to the project later gets the profile's capped role
    from mlgov_jupyter.core.roles import Assignment
    ds = [r for r in setup.roles if r.name == "risk-data-scientist"]
    az2 = PolicyAuthorizer(setup.roles, list(setup.assignments) + [Assignment(ds[0].name, user="bob", projects=["risk"])])
    bob = Principal("bob", designations={"risk": "consumer"})
    d = az2.decide(bob, authz.CATALOG_CONSUME, pii)
    assert not d.allowed and d.reason.endswith(
        "role risk-data-scientist has a classification ceiling of confidential and the asset is pii")


def test_sandbox_and_two_projects_side_by_side():
    a = profile("sandbox").apply("play", "alice")
    b = profile("sandbox").apply("lab", "bob")
    az = governed(a, b)
    alice = Principal("alice", designations={"play": "owner", "lab": "consumer"})
    assert az.decide(alice, authz.CATALOG_PUBLISH, Resource("asset", "x", "play")).allowed
    assert not az.decide(alice, authz.CATALOG_PUBLISH, Resource("asset", "x", "lab")).allowed
    assert not az.decide(alice, authz.CATALOG_CONSUME, Resource("asset", "x", "play", "pii")).allowed


def test_bad_profiles_and_arguments():
    with pytest.raises(Invalid, match="unknown project profile 'gold'"):
        profile("gold")
    with pytest.raises(Invalid, match="names unknown role ghost"):
        ProjectProfile.from_dict({"id": "p", "roles": [{"suffix": "ds", "persona": "data-scientist"}],
                                  "members": [{"principal": "creator", "designation": "owner", "roles": ["ghost"]}]})
    with pytest.raises(Invalid, match="unknown designation 'boss'"):
        ProjectProfile.from_dict({"id": "p", "roles": [], "members": [{"principal": "creator", "designation": "boss"}]})
    with pytest.raises(Invalid, match="use creator, user:NAME or group:NAME"):
        ProjectProfile.from_dict({"id": "p", "roles": [], "members": [{"principal": "alice", "designation": "owner"}]})
    with pytest.raises(Invalid, match="unknown classification"):
        ProjectProfile.from_dict({"id": "p", "roles": [{"suffix": "x", "persona": "data-scientist",
                                                        "guardrails": {"classification_ceiling": "top"}}],
                                  "members": []})
    with pytest.raises(Invalid, match="creator"):
        profile("sandbox").apply("p", "")
    with pytest.raises(Invalid, match="invalid role name"):
        profile("sandbox").apply("a project with spaces", "alice")


def test_persona_allows_is_the_matrix_oracle():
    assert catalog.persona_allows("data-steward", authz.CATALOG_DECIDE, "steward")
    assert not catalog.persona_allows("data-steward", authz.CATALOG_DECIDE, "consumer")
    assert not catalog.persona_allows("data-scientist", authz.CATALOG_DECIDE, "owner")
    assert catalog.persona_allows("auditor", authz.AUDIT_READ, None)
    assert catalog.persona_allows("data-scientist", authz.CATALOG_SEARCH, None)
