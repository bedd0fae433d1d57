"""The role manager behind the real service (in-process, SQLite): the issue's "done means" path.

An admin's "data scientist, no PII" role is assigned to bob; bob searches and subscribes, an
owner approves, and bob is still refused the PII asset, with the guardrail named."""

from __future__ import annotations

import pytest
from helpers import publish_body  # tests/helpers.py (tests/ is on sys.path via its conftest)

from mlgov_jupyter.core import models as m
from mlgov_jupyter.core.errors import Forbidden
from mlgov_jupyter.core.roles import Assignment, Guardrails, PolicyAuthorizer, Role, profile
from mlgov_jupyter.service import Actor, GovernanceService
from mlgov_jupyter.store.db import Store


@pytest.fixture
def service(tmp_path):
    roles = [Role.from_persona("ds-no-pii", "data-scientist",
                               guardrails=Guardrails(classification_ceiling="confidential")),
             Role.from_persona("steward", "data-steward")]
    assignments = [Assignment("ds-no-pii", user="bob"), Assignment("steward", user="alice")]
    az = PolicyAuthorizer(roles, assignments)
    return GovernanceService(store=Store(f"sqlite:///{tmp_path / 'roles.sqlite'}"), authorizer=az,
                             admin_users=frozenset({"root"}))


def test_bob_is_refused_pii_after_approval(service):
    alice, bob, carol = Actor("alice"), Actor("bob"), Actor("carol")
    service.create_project(alice, m.ProjectCreate(name="risk"))
    service.publish(alice, m.Publish(**publish_body("customers", project="risk", classification="pii")))
    service.publish(alice, m.Publish(**publish_body("churn", project="risk", classification="confidential")))

    found = service.search(bob, m.SearchQuery(q="churn"))
    assert {i["name"] for i in found["items"]} >= {"churn"}
    for name in ("customers", "churn"):
        req = service.request_access(bob, m.AccessRequestCreate(asset=name, reason="churn model"))
        service.decide(alice, req["id"], m.Decision(comment="ok"), accept=True)

    meta, data = service.read_data(bob, "churn")
    assert meta["name"] == "churn" and data
    with pytest.raises(Forbidden) as e:
        service.read_data(bob, "customers")
    assert ("bob may not consume assets of project risk: role ds-no-pii has a classification ceiling "
            "of confidential and the asset is pii") in str(e.value)

    with pytest.raises(Forbidden, match="carol holds no role"):
        service.search(carol, m.SearchQuery(q="churn"))
    with pytest.raises(Forbidden, match="role ds-no-pii lacks activity create-projects"):
        service.create_project(bob, m.ProjectCreate(name="bobs"))
    # every decision above went through one audited service; the chain still verifies
    assert service.audit_verify(alice)["ok"] is True


def test_project_profile_governs_a_new_project(service, tmp_path):
    setup = profile("regulated-pii").apply("clinic", "alice")
    az = PolicyAuthorizer(list(setup.roles) + [Role.from_persona("creator", "data-steward")],
                          list(setup.assignments) + [Assignment("creator", user="alice"),
                                                     Assignment("clinic-data-scientist", user="bob",
                                                                projects=["clinic"])])
    svc = GovernanceService(store=Store(f"sqlite:///{tmp_path / 'profile.sqlite'}"), authorizer=az)
    alice, bob = Actor("alice"), Actor("bob")
    svc.create_project(alice, m.ProjectCreate(name="clinic"))
    for member in setup.members:
        if "user" in member and member["user"] != "alice":
            svc.set_member(alice, "clinic", m.MemberSet(user=member["user"], designation=member["designation"]))
    svc.set_member(alice, "clinic", m.MemberSet(user="bob", designation="contributor"))
    svc.publish(alice, m.Publish(**publish_body("notes", project="clinic", classification="pii")))
    svc.publish(bob, m.Publish(**publish_body("features", project="clinic", classification="confidential")))
    assert svc.read_data(bob, "features")[1]
    with pytest.raises(Forbidden, match="role clinic-data-scientist has a classification ceiling of confidential"):
        svc.read_data(bob, "notes")
    assert svc.read_data(alice, "notes")[1]
