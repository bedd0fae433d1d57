"""PolicyAuthorizer: the persona x action matrix generated from the catalog, deny-wins,
guardrails, scoping and the wording of reasons."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mlgov_jupyter.core import authz
from mlgov_jupyter.core.authz import DesignationAuthorizer, Principal, Resource
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.roles import (
    ALL_ACTIONS,
    Assignment,
    CeilingException,
    Guardrails,
    PolicyAuthorizer,
    Role,
    activities,
    catalog,
    grant_expiry,
    personas,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc).timestamp()
DESIGNATION_CASES = ("owner", "steward", "contributor", "consumer", "viewer", None)
PERSONAS_WITH_ROLES = [p for p in personas() if p.activities]


def clock():
    return NOW


def persona_role(pid: str, **guardrails) -> Role:
    return Role.from_persona(f"r-{pid}", pid, guardrails=Guardrails(**guardrails) if guardrails else None)


def expected(persona_id: str, action: str, designation: str | None) -> bool:
    """The oracle, read straight from the catalog data: some activity of the persona allows the
    action and, for a project-scoped action, either the activity needs no membership or the
    caller's designation is one the action needs."""
    for act_id in catalog.persona(persona_id).activities:
        act = catalog.activity(act_id)
        if action not in act.actions:
            continue
        if action in catalog.OPEN_ACTIONS or not act.membership:
            return True
        if designation in catalog.DESIGNATIONS_FOR[action]:
            return True
    return False


@pytest.fixture(scope="module")
def matrix_authorizer():
    roles = [persona_role(p.id) for p in PERSONAS_WITH_ROLES]
    assignments = [Assignment(role=f"r-{p.id}", user=f"u-{p.id}") for p in PERSONAS_WITH_ROLES]
    return PolicyAuthorizer(roles, assignments, clock=clock)


@pytest.mark.parametrize("persona_id", [p.id for p in PERSONAS_WITH_ROLES])
def test_matrix_every_persona_every_action_every_designation(matrix_authorizer, persona_id):
    unexpected = []
    for action in ALL_ACTIONS:
        for designation in DESIGNATION_CASES:
            who = Principal(f"u-{persona_id}", designations={"risk": designation} if designation else {})
            d = matrix_authorizer.decide(who, action, Resource("asset", "a1", "risk", "public"))
            want = expected(persona_id, action, designation)
            if d.allowed != want:
                unexpected.append((action, designation, d.reason))
            assert d.reason.startswith(f"u-{persona_id} may {'' if d.allowed else 'not '}")
    assert unexpected == []


def test_matrix_is_not_trivial(matrix_authorizer):
    # the oracle itself must discriminate: each persona is allowed some actions and refused others,
    # and the auditor writes nothing
    for p in PERSONAS_WITH_ROLES:
        if p.id in ("compute",):
            continue
        outcomes = {expected(p.id, a, "owner") for a in ALL_ACTIONS}
        assert outcomes == {True, False} or p.id == "admin"
    writes = {x for a in activities() if a.writes for x in a.actions}
    auditor = Principal("u-auditor", designations={"risk": "owner"})
    for action in writes - {x for a in activities() if not a.writes for x in a.actions}:
        assert not matrix_authorizer.decide(auditor, action, Resource("asset", "a", "risk")).allowed


def test_compute_and_unassigned_users_are_refused_everything(matrix_authorizer):
    for action in ALL_ACTIONS:
        d = matrix_authorizer.decide(Principal("u-compute", designations={"risk": "owner"}), action,
                                     Resource("asset", "a", "risk"))
        assert not d.allowed
        d = matrix_authorizer.decide(Principal("nobody"), action, Resource("asset", "a", "risk"))
        assert not d.allowed and d.reason.endswith("nobody holds no role")


def test_designation_semantics_match_designation_authorizer():
    # A role with every activity except the membership-free ones decides like DesignationAuthorizer.
    acts = [a.id for a in activities() if a.membership]
    az = PolicyAuthorizer([Role("everything", "admin", acts)], [Assignment("everything", user="alice")])
    base = DesignationAuthorizer()
    actions = sorted(authz.ANYONE | set(authz.BY_DESIGNATION))
    resources = [Resource("asset", "a", "risk", "public"), Resource("asset", "a", "risk", "public",
                                                                     attrs={"granted": True}),
                 Resource("asset", "a", None, "public"), Resource("asset", "a", "fraud", "public")]
    compared = 0
    for designation in DESIGNATION_CASES:
        for admin in (False, True):
            alice = Principal("alice", is_admin=admin, designations={"risk": designation} if designation else {})
            for action in actions:
                for res in resources:
                    assert az.decide(alice, action, res).allowed == base.decide(alice, action, res).allowed, \
                        (action, designation, res)
                    compared += 1
    assert compared == len(DESIGNATION_CASES) * 2 * len(actions) * len(resources)


def test_the_issue_message():
    az = PolicyAuthorizer([Role.from_persona("data-scientist", "data-scientist")],
                          [Assignment("data-scientist", user="alice")])
    d = az.decide(Principal("alice", designations={"risk": "owner"}), authz.CATALOG_DECIDE,
                  Resource("request", "r1", "risk"))
    assert d == authz.Decision(False, "alice may not decide access requests, model aliases and deprecations of project risk: "
                                      "role data-scientist lacks activity approve-access")


def test_allow_reason_names_role_and_activity():
    az = PolicyAuthorizer([Role.from_persona("steward", "data-steward")], [Assignment("steward", user="carol")])
    d = az.decide(Principal("carol", designations={"risk": "steward"}), authz.CATALOG_DECIDE,
                  Resource("request", "r1", "risk", attrs={"requester": "bob"}))
    assert d == authz.Decision(True, "carol may decide access requests, model aliases and deprecations of project risk: "
                                     "role steward grants activity approve-access")


def test_missing_designation_reason():
    az = PolicyAuthorizer([Role.from_persona("steward", "data-steward")], [Assignment("steward", user="carol")])
    d = az.decide(Principal("carol", designations={"risk": "consumer"}), authz.CATALOG_DECIDE,
                  Resource("request", "r1", "risk"))
    assert not d.allowed
    assert d.reason == ("carol may not decide access requests, model aliases and deprecations of project risk: role steward grants activity "
                        "approve-access but carol is consumer of project risk; needs one of owner, steward")
    d = az.decide(Principal("carol"), authz.CATALOG_DECIDE, Resource("request", "r1", "fraud"))
    assert d.reason.endswith("but carol is not a member of project fraud; needs one of owner, steward")


# -- done-means scenario --------------------------------------------------------------------

def test_granted_consumption_outside_ones_projects():
    ds = Role.from_persona("ds", "data-scientist", guardrails=Guardrails(classification_ceiling="confidential",
                                                                         projects=("lab",)))
    az = PolicyAuthorizer([ds, Role.from_persona("aud", "auditor")],
                          [Assignment("ds", user="bob", projects=("lab",)), Assignment("aud", user="ann")])
    bob = Principal("bob", designations={"lab": "contributor"})
    granted = {"granted": True}
    # a grant is personal: bob's lab-scoped role lets him consume what he was granted in risk ...
    assert az.decide(bob, authz.CATALOG_CONSUME, Resource("asset", "a", "risk", "internal", attrs=granted)).allowed
    # ... and its guardrails come along
    d = az.decide(bob, authz.CATALOG_CONSUME, Resource("asset", "a", "risk", "pii", attrs=granted))
    assert d.reason == ("bob may not consume assets of project risk: role ds has a classification ceiling "
                        "of confidential and the asset is pii")
    # without the grant he is not a member of risk and his role is not assigned there
    d = az.decide(bob, authz.CATALOG_CONSUME, Resource("asset", "a", "risk", "internal"))
    assert d.reason == "bob may not consume assets of project risk: role ds is assigned for project lab only"
    # a grant does not give an activity the role lacks
    d = az.decide(Principal("ann"), authz.CATALOG_CONSUME, Resource("asset", "a", "risk", "public", attrs=granted))
    assert d.reason == "ann may not consume assets of project risk: role aud lacks activity consume"
    # the grant only matters for consuming
    assert not az.decide(bob, authz.CATALOG_PUBLISH, Resource("asset", "a", "risk", attrs=granted)).allowed


def test_data_scientist_no_pii_bob():
    role = Role.from_persona("ds-no-pii", "data-scientist", guardrails=Guardrails(classification_ceiling="confidential"))
    az = PolicyAuthorizer([role], [Assignment("ds-no-pii", user="bob")], clock=clock)
    bob = Principal("bob", designations={"lab": "owner"})  # not a member of risk
    assert az.decide(bob, authz.CATALOG_SEARCH, Resource("catalog")).allowed
    assert az.decide(bob, authz.CATALOG_SUBSCRIBE, Resource("asset", "customers", "risk", "pii")).allowed
    granted = {"granted": True, "granted_at": NOW - 3600}  # an owner approved: a live grant
    d = az.decide(bob, authz.CATALOG_CONSUME, Resource("asset", "customers", "risk", "pii", attrs=granted))
    assert not d.allowed
    assert d.reason == ("bob may not consume assets of project risk: role ds-no-pii has a classification "
                        "ceiling of confidential and the asset is pii")
    assert az.decide(bob, authz.CATALOG_CONSUME,
                     Resource("asset", "churn", "risk", "confidential", attrs=granted)).allowed


# -- deny wins -------------------------------------------------------------------------------

def test_guardrail_of_one_role_beats_permit_of_another():
    open_role = Role.from_persona("ds-open", "data-scientist")
    capped = Role.from_persona("ds-capped", "data-scientist", guardrails=Guardrails(classification_ceiling="internal"))
    az = PolicyAuthorizer([open_role, capped], [Assignment("ds-open", user="bob"), Assignment("ds-capped", group="interns")])
    res = Resource("asset", "customers", "risk", "pii")
    assert az.decide(Principal("bob", designations={"risk": "consumer"}), authz.CATALOG_CONSUME, res).allowed
    d = az.decide(Principal("bob", groups=("interns",), designations={"risk": "consumer"}), authz.CATALOG_CONSUME, res)
    assert not d.allowed and "role ds-capped has a classification ceiling of internal" in d.reason


def test_extra_forbid_policy_beats_admin_and_roles():
    extra = ('@id("no-consume-for-mallory")\n'
             'forbid (principal == User::"mallory", action == Action::"catalog:consume", resource);')
    az = PolicyAuthorizer([Role.from_persona("ds", "data-scientist")],
                          [Assignment("ds", user="mallory"), Assignment("ds", user="bob")], extra_policies=extra)
    res = Resource("asset", "a", "risk", "public")
    d = az.decide(Principal("mallory", is_admin=True, designations={"risk": "owner"}), authz.CATALOG_CONSUME, res)
    assert d == authz.Decision(False, "mallory may not consume assets of project risk: "
                                      "policy no-consume-for-mallory forbids it")
    assert az.decide(Principal("bob", designations={"risk": "owner"}), authz.CATALOG_CONSUME, res).allowed
    assert az.decide(Principal("mallory", designations={"risk": "owner"}), authz.CATALOG_SEARCH, res).allowed


@pytest.mark.parametrize("text,message", [
    ("forbid (principal, action, resource) when {", "invalid Cedar policy"),
    ('forbid (principal, action, resource) when { context.rolez.contains("x") };',
     "attribute `rolez` in context"),
    ('forbid (principal, action == Action::"catalog:nuke", resource);', 'unrecognized action `Action::"catalog:nuke"`'),
    ('forbid (principal, action, resource) when { context.classification == "pii" };', "invalid Cedar policy"),
])
def test_invalid_extra_policy_is_invalid(text, message):
    with pytest.raises(Invalid) as e:
        PolicyAuthorizer(extra_policies=text)
    assert message in str(e.value) and "\n" not in str(e.value)


# -- separation of duties ---------------------------------------------------------------------

@pytest.mark.parametrize("action,attrs,owner,relation", [
    (authz.CATALOG_DECIDE, {"requester": "carol"}, "dave", "requester"),
    (authz.CARD_APPROVE, {}, "carol", "owner"),  # the service passes the card's author as owner
    (authz.CARD_APPROVE, {"author": "carol"}, None, "author"),
    (authz.CARD_APPROVE, {"submitted_by": "carol"}, None, "submitted by"),
])
def test_separation_of_duties(action, attrs, owner, relation):
    az = PolicyAuthorizer([Role.from_persona("steward", "data-steward")], [Assignment("steward", user="carol")])
    carol = Principal("carol", designations={"risk": "owner"})
    d = az.decide(carol, action, Resource("x", "x1", "risk", owner=owner, attrs=attrs))
    assert not d.allowed
    assert d.reason.endswith(f"role steward requires separation of duties and carol is the {relation}")
    # someone else's request or card is fine
    assert az.decide(carol, action, Resource("x", "x1", "risk", owner="bob", attrs={"requester": "bob"})).allowed


def test_asset_owners_decide_requests_for_their_own_assets():
    # catalog:decide is about an asset (owner = the asset's owner): owning the asset is the point,
    # only the requester is barred; revoking is not an approval at all
    az = PolicyAuthorizer([Role.from_persona("steward", "data-steward")], [Assignment("steward", user="carol")])
    carol = Principal("carol", designations={"risk": "owner"})
    mine = Resource("asset", "customers", "risk", "pii", owner="carol", attrs={"requester": "bob"})
    assert az.decide(carol, authz.CATALOG_DECIDE, mine).allowed
    assert az.decide(carol, authz.CATALOG_REVOKE, Resource("asset", "c", "risk", owner="carol",
                                                           attrs={"requester": "carol"})).allowed


def test_separation_of_duties_off_and_admins():
    lax = Role.from_persona("lax-steward", "data-steward", guardrails=Guardrails(separation_of_duties=False))
    az = PolicyAuthorizer([lax], [Assignment("lax-steward", user="carol")])
    mine = Resource("request", "r", "risk", attrs={"requester": "carol"})
    assert az.decide(Principal("carol", designations={"risk": "owner"}), authz.CATALOG_DECIDE, mine).allowed
    admin = Principal("root", is_admin=True)
    d = az.decide(admin, authz.CATALOG_DECIDE, Resource("request", "r", "risk", attrs={"requester": "root"}))
    assert d == authz.Decision(False, "root may not decide access requests, model aliases and deprecations of project risk: "
                                      "separation of duties: root is the requester")
    assert az.decide(admin, authz.CATALOG_DECIDE, mine).allowed
    lenient = PolicyAuthorizer([lax], admin_separation_of_duties=False)
    assert lenient.decide(admin, authz.CATALOG_DECIDE,
                          Resource("request", "r", "risk", attrs={"requester": "root"})).allowed


# -- classification ceiling ------------------------------------------------------------------

@pytest.mark.parametrize("ceiling", catalog.CLASSIFICATIONS)
def test_ceiling_allows_up_to_its_level(ceiling):
    az = PolicyAuthorizer([Role.from_persona("ds", "data-scientist", guardrails=Guardrails(classification_ceiling=ceiling))],
                          [Assignment("ds", user="bob")])
    bob = Principal("bob", designations={"risk": "consumer"})
    for level in catalog.CLASSIFICATIONS:
        d = az.decide(bob, authz.CATALOG_CONSUME, Resource("asset", "a", "risk", level))
        assert d.allowed == (catalog.rank(level) <= catalog.rank(ceiling)), (ceiling, level, d.reason)


def test_ceiling_exceptions_by_project_asset_and_expiry():
    until = datetime.fromtimestamp(NOW, timezone.utc) + timedelta(days=1)
    g = Guardrails(classification_ceiling="internal", ceiling_exceptions=(
        CeilingException("pii", projects=("fraud",), expires=until, reason="fraud study"),
        CeilingException("confidential", assets=("churn",)),
    ))
    now = [NOW]
    az = PolicyAuthorizer([Role.from_persona("ds", "data-scientist", guardrails=g)], [Assignment("ds", user="bob")],
                          clock=lambda: now[0])
    bob = Principal("bob", designations={"risk": "consumer", "fraud": "consumer"})
    ok = lambda name, project, level: az.decide(bob, authz.CATALOG_CONSUME,
                                                Resource("asset", name, project, level)).allowed
    assert ok("cards", "fraud", "pii")
    assert not ok("cards", "risk", "pii")
    assert ok("churn", "risk", "confidential")
    assert not ok("churn", "risk", "pii")
    assert not ok("other", "risk", "confidential")
    now[0] = NOW + 2 * 86400  # the fraud exception has expired
    assert not ok("cards", "fraud", "pii")


def test_unclassified_assets_and_unknown_classification():
    role = Role.from_persona("ds", "data-scientist", guardrails=Guardrails(classification_ceiling="public"))
    bob = Principal("bob", designations={"risk": "consumer"})
    az = PolicyAuthorizer([role], [Assignment("ds", user="bob")])
    d = az.decide(bob, authz.CATALOG_CONSUME, Resource("asset", "a", "risk"))
    assert not d.allowed and "the asset is unclassified (treated as internal)" in d.reason
    assert PolicyAuthorizer([role], [Assignment("ds", user="bob")], unclassified_as="public").decide(
        bob, authz.CATALOG_CONSUME, Resource("asset", "a", "risk")).allowed
    with pytest.raises(Invalid, match="unknown classification 'secret'"):
        az.decide(bob, authz.CATALOG_CONSUME, Resource("asset", "a", "risk", "secret"))


# -- time-boxed grants -----------------------------------------------------------------------

def test_max_grant_days_and_expired_grants():
    role = Role.from_persona("ds", "data-scientist", guardrails=Guardrails(max_grant_days=30))
    az = PolicyAuthorizer([role], [Assignment("ds", user="bob")], clock=clock)
    bob = Principal("bob", designations={"risk": "consumer"})
    consume = lambda attrs: az.decide(bob, authz.CATALOG_CONSUME,
                                      Resource("asset", "a", "risk", "public", attrs=attrs))
    assert consume({"granted_at": NOW - 29 * 86400}).allowed
    d = consume({"granted_at": datetime.fromtimestamp(NOW - 31 * 86400, timezone.utc).isoformat()})
    assert d == authz.Decision(False, "bob may not consume assets of project risk: role ds allows grants of "
                                      "at most 30 days and this grant is 31 days old")
    d = consume({"grant_expires": "2026-11-27T11:00:00Z"})
    assert d.reason.endswith("the grant expired at 2026-11-27T11:00:00+00:00")
    assert consume({"grant_expires": "2026-11-27T13:00:00Z"}).allowed
    with pytest.raises(Invalid, match="granted_at must be an ISO 8601 time"):
        consume({"granted_at": "yesterday"})
    expiry = grant_expiry([role, Role.from_persona("x", "data-steward", guardrails=Guardrails(max_grant_days=7))],
                          "2026-11-01T00:00:00Z")
    assert expiry == datetime(2026, 11, 8, tzinfo=timezone.utc)
    assert grant_expiry([Role.from_persona("y", "auditor")], NOW) is None


# -- scope -----------------------------------------------------------------------------------

def test_project_scoped_assignment_and_role():
    ds = Role.from_persona("ds", "data-scientist")
    risk_only = Role.from_persona("risk-ds", "data-scientist", guardrails=Guardrails(projects=("risk",)))
    az = PolicyAuthorizer([ds, risk_only], [Assignment("ds", user="bob", projects=("risk",)),
                                            Assignment("risk-ds", group="team")])
    bob = Principal("bob", designations={"risk": "contributor", "fraud": "contributor"})
    assert az.decide(bob, authz.CATALOG_PUBLISH, Resource("asset", "a", "risk")).allowed
    d = az.decide(bob, authz.CATALOG_PUBLISH, Resource("asset", "a", "fraud"))
    assert d.reason == "bob may not publish assets of project fraud: role ds is assigned for project risk only"
    # open actions are not about a project: a scoped assignment still grants them
    assert az.decide(bob, authz.CATALOG_SEARCH, Resource("catalog")).allowed
    team = Principal("tom", groups=("team",), designations={"risk": "contributor", "fraud": "contributor"})
    assert az.decide(team, authz.CATALOG_PUBLISH, Resource("asset", "a", "risk")).allowed
    d = az.decide(team, authz.CATALOG_PUBLISH, Resource("asset", "a", "fraud"))
    assert d.reason.endswith("role risk-ds is scoped to project risk only")
    assert az.roles_of(bob, "risk") == ["ds"] and az.roles_of(bob, "fraud") == [] and az.roles_of(team) == ["risk-ds"]


def test_membership_free_activities():
    az = PolicyAuthorizer([Role.from_persona("aud", "auditor"), Role.from_persona("adm", "admin")],
                          [Assignment("aud", user="ann"), Assignment("adm", user="root", projects=("risk",))])
    ann = Principal("ann")
    assert az.decide(ann, authz.AUDIT_READ, Resource("audit", project="risk")).allowed
    assert not az.decide(ann, authz.CATALOG_CONSUME, Resource("asset", "a", "risk")).allowed
    root = Principal("root")
    assert az.decide(root, authz.ROLE_MANAGE, Resource("role", "x", "risk")).allowed
    d = az.decide(root, authz.ROLE_MANAGE, Resource("role", "x"))  # global role management: unscoped only
    assert not d.allowed and "role adm is assigned for project risk only" in d.reason


def test_unknown_action_is_refused():
    az = PolicyAuthorizer([Role.from_persona("adm", "admin")], [Assignment("adm", user="root")])
    d = az.decide(Principal("root", designations={"risk": "owner"}), "catalog:delete-everything",
                  Resource("asset", "a", "risk"))
    assert not d.allowed and d.reason.endswith("no activity allows catalog:delete-everything")


# -- configuration -----------------------------------------------------------------------------

def test_round_trip_and_bad_configuration():
    role = Role.from_persona("ds", "data-scientist", guardrails=Guardrails(
        classification_ceiling="internal", ceiling_exceptions=(CeilingException("pii", projects=("x",)),)))
    az = PolicyAuthorizer([role], [Assignment("ds", user="bob", projects=("risk",))], extra_policies="")
    again = PolicyAuthorizer.from_dict(az.to_dict())
    assert again.to_dict() == az.to_dict() and again.policy_text == az.policy_text
    with pytest.raises(Invalid, match="assignment of unknown role ghost to user:bob"):
        PolicyAuthorizer([role], [Assignment("ghost", user="bob")])
    with pytest.raises(Invalid, match="duplicate role ds"):
        PolicyAuthorizer([role, role])
    with pytest.raises(Invalid, match="unknown field"):
        PolicyAuthorizer.from_dict({"roles": [], "rules": []})
    with pytest.raises(Invalid, match="unknown classification"):
        PolicyAuthorizer(unclassified_as="topsecret")


def test_a_remembered_permit_is_the_same_decision_and_follows_the_request():
    """decide() remembers permits per request (context included): a repeat gives the same
    decision without Cedar; a change of designation, classification or the clock (where a policy
    reads it) is a different request; denials are decided afresh."""
    until = datetime.fromtimestamp(NOW, timezone.utc) + timedelta(days=1)
    g = Guardrails(classification_ceiling="internal",
                   ceiling_exceptions=(CeilingException("pii", projects=("fraud",), expires=until),))
    now = [NOW]
    az = PolicyAuthorizer([Role.from_persona("ds", "data-scientist", guardrails=g)], [Assignment("ds", user="bob")],
                          clock=lambda: now[0])
    bob = Principal("bob", designations={"fraud": "consumer"})
    read = lambda p, level="pii": az.decide(p, authz.CATALOG_CONSUME, Resource("asset", "cards", "fraud", level))
    first = read(bob)
    assert first.allowed and read(bob) == first and len(az._permits) == 1
    assert not read(Principal("bob", designations={})).allowed  # no designation: another request
    now[0] = NOW + 2 * 86400  # the exception's expiry is read from the clock: not the remembered permit
    assert not read(bob).allowed
    assert len(az._permits) == 1  # denials are not remembered
    plain = PolicyAuthorizer([Role.from_persona("ds", "data-scientist")], [Assignment("ds", user="bob")],
                             clock=lambda: now[0])
    assert "now" not in plain._keyed  # no policy reads the clock: a permit holds across seconds
    assert "now" in az._keyed
