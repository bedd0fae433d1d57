"""Two decisions on one thing at the same instant, on PostgreSQL (READ COMMITTED): exactly one
wins, the other is a Conflict, and the state afterwards is the winner's.

The service checks a state (pending, approved, PendingReview, "another owner is left") and then
writes; without a lock of the row checked, both callers pass the check on PostgreSQL (R13: 4 of 8
approve/reject pairs ended "rejected" with an active grant; 24 of 30 projects lost every owner).
SQLite serializes writers, so these run on a fresh PostgreSQL database (skipped without
MLGOV_TEST_PG_URL; CI sets it).
"""

import pytest
from sqlalchemy import func, select

from mlgov_jupyter.core import models as m
from mlgov_jupyter.core.errors import Conflict
from mlgov_jupyter.service import Actor, GovernanceService
from mlgov_jupyter.store import tables as t
from mlgov_jupyter.store.db import Store

from helpers import frame, inline_content, publish_body, race

ROUNDS = 6
alice, bob, carol, dave = Actor("alice"), Actor("bob"), Actor("carol"), Actor("dave")


@pytest.fixture
def svc(fresh_pg_url):
    service = GovernanceService(store=Store(fresh_pg_url))
    service.create_project(alice, m.ProjectCreate(name="clinic", description="shared"))
    service.set_member(alice, "clinic", m.MemberSet(user="carol", designation="owner"))
    yield service
    service.store.dispose()


def one_wins(results):
    """The one result that is not an error; the other is a Conflict (409)."""
    wins = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1 and len(lost) == len(results) - 1, results
    assert all(isinstance(e, Conflict) for e in lost), lost
    return wins[0]


def count(svc, stmt):
    with svc.store.transaction(write=False) as s:
        return s.execute(stmt).scalar_one()


def test_approve_and_reject_of_one_request_one_wins(svc):
    for i in range(ROUNDS):
        svc.publish(alice, m.Publish(**publish_body(f"d{i}", project="clinic")))
        req = svc.request_access(bob, m.AccessRequestCreate(asset=f"d{i}", reason="study"))
        won = one_wins(race(lambda: svc.decide(alice, req["id"], m.Decision(comment="yes"), accept=True),
                            lambda: svc.decide(carol, req["id"], m.Decision(comment="no"), accept=False)))
        grants = count(svc, select(func.count()).select_from(t.Grant).where(
            t.Grant.asset_id == select(t.Asset.id).where(t.Asset.name == f"d{i}").scalar_subquery(),
            t.Grant.status == "active"))
        with svc.store.transaction(write=False) as s:
            status = s.get(t.AccessRequest, req["id"]).status
        assert status == won["status"] and grants == (1 if status == "accepted" else 0), (status, grants)


def test_two_approvals_make_one_subscription(svc):
    for i in range(ROUNDS):
        svc.publish(alice, m.Publish(**publish_body(f"d{i}", project="clinic")))
        req = svc.request_access(bob, m.AccessRequestCreate(asset=f"d{i}", reason="study"))
        one_wins(race(lambda: svc.decide(alice, req["id"], m.Decision(), accept=True),
                      lambda: svc.decide(carol, req["id"], m.Decision(), accept=True)))
        assert count(svc, select(func.count()).select_from(t.Subscription)
                     .where(t.Subscription.request_id == req["id"])) == 1


def test_two_revokes_of_one_subscription_one_wins(svc):
    for i in range(ROUNDS):
        svc.publish(alice, m.Publish(**publish_body(f"d{i}", project="clinic")))
        req = svc.request_access(bob, m.AccessRequestCreate(asset=f"d{i}", reason="study"))
        svc.decide(alice, req["id"], m.Decision(), accept=True)
        sub = next(x for x in svc.list_subscriptions(bob, m.SubscriptionQuery())["subscriptions"]
                   if x["asset"] == f"d{i}")
        won = one_wins(race(lambda: svc.end_subscription(alice, sub["id"], revoke=True),
                            lambda: svc.end_subscription(bob, sub["id"], revoke=False)))
        assert won["status"] in ("revoked", "cancelled")


def test_card_review_decisions_one_wins(svc):
    from sklearn.linear_model import LogisticRegression

    df = frame()
    model = LogisticRegression().fit(df[["tenure"]], df["churned"])
    svc.set_member(alice, "clinic", m.MemberSet(user="dave", designation="contributor"))
    for i in range(ROUNDS):
        svc.publish(dave, m.Publish(name=f"clf{i}", kind="model", project="clinic", description="a model",
                                    **inline_content(model)))
        svc.create_card(dave, m.CardCreate(name=f"card{i}", model=f"clf{i}", content={}))
        svc.transition_card(dave, f"card{i}", m.CardTransition(action="submit"))
        won = one_wins(race(lambda: svc.transition_card(alice, f"card{i}", m.CardTransition(action="approve")),
                            lambda: svc.transition_card(carol, f"card{i}", m.CardTransition(action="send_back"))))
        assert svc.get_card(alice, f"card{i}")["status"] == won["status"]


def test_owners_demoting_each_other_keep_an_owner(svc):
    for i in range(ROUNDS):
        name = f"p{i}"
        svc.create_project(alice, m.ProjectCreate(name=name, description="two owners"))
        svc.set_member(alice, name, m.MemberSet(user="bob", designation="owner"))
        demote = i % 2 == 0
        if demote:
            calls = (lambda: svc.set_member(alice, name, m.MemberSet(user="bob", designation="viewer")),
                     lambda: svc.set_member(bob, name, m.MemberSet(user="alice", designation="viewer")))
        else:
            calls = (lambda: svc.remove_member(alice, name, "bob"), lambda: svc.remove_member(bob, name, "alice"))
        results = race(*calls)
        owners = count(svc, select(func.count()).select_from(t.Membership).join(
            t.Project, t.Project.id == t.Membership.project_id).where(
            t.Project.name == name, t.Membership.designation == "owner"))
        assert owners == 1, (name, results)
        # the loser is refused: either the last-owner rule (409) or, having been demoted or
        # removed a moment before, may no longer manage the project (403)
        assert sum(not isinstance(r, Exception) for r in results) == 1, results


# ---- asset filters and duplicate requests (R14 findings 1 and 2) ------------------------------

FILTER_ROUNDS = 25
NARROW = m.AssetFilterCreate(name="narrow", columns=["customer_id"])


def _grants_of(svc, asset):
    with svc.store.transaction(write=False) as s:
        return list(s.execute(select(t.Grant.filter_id).join(t.Asset, t.Asset.id == t.Grant.asset_id)
                              .where(t.Asset.name == asset, t.Grant.status == "active")).scalars())


def _filter_id(svc, asset):
    with svc.store.transaction(write=False) as s:
        return s.execute(select(t.AssetFilter.id).join(t.Asset, t.Asset.id == t.AssetFilter.asset_id)
                         .where(t.Asset.name == asset, t.AssetFilter.name == "narrow")).scalar_one_or_none()


def test_scoped_approval_and_the_filters_delete_never_widen(svc):
    """R14 1: an approval narrowing to a filter while another owner deletes it. Either the grant
    is scoped to the filter, which stays, or the filter is gone and the request still pending;
    never a grant with no filter (the whole asset)."""
    for i in range(FILTER_ROUNDS):
        name = f"d{i}"
        svc.publish(alice, m.Publish(**publish_body(name, project="clinic")))
        svc.create_filter(alice, name, NARROW)
        req = svc.request_access(bob, m.AccessRequestCreate(asset=name, reason="study"))
        results = race(lambda: svc.decide(alice, req["id"], m.Decision(filter="narrow"), accept=True),
                       lambda: svc.delete_filter(carol, name, "narrow"))
        assert sum(not isinstance(r, Exception) for r in results) == 1, results
        fid, grants = _filter_id(svc, name), _grants_of(svc, name)
        assert grants == ([fid] if fid else []) and (fid is None) == isinstance(results[0], Exception), \
            (name, results, fid, grants)
        if fid:  # the approval first: the delete is refused, naming the grant
            assert "bob's active grant" in str(results[1]), results


def test_scoped_request_and_the_filters_delete_never_widen(svc):
    """R14 1, same kind: a request asking for a filter while it is deleted either is refused
    (no such filter) or keeps it (and the delete is refused): never a whole-asset request."""
    for i in range(FILTER_ROUNDS):
        name = f"d{i}"
        svc.publish(alice, m.Publish(**publish_body(name, project="clinic")))
        svc.create_filter(alice, name, NARROW)
        results = race(lambda: svc.request_access(bob, m.AccessRequestCreate(asset=name, reason="x",
                                                                             filter="narrow")),
                       lambda: svc.delete_filter(carol, name, "narrow"))
        assert sum(not isinstance(r, Exception) for r in results) == 1, results
        fid = _filter_id(svc, name)
        with svc.store.transaction(write=False) as s:
            asked = list(s.execute(select(t.AccessRequest.filter_id).join(t.Asset, t.Asset.id == t.AccessRequest.asset_id)
                                   .where(t.Asset.name == name)).scalars())
        assert asked == ([fid] if fid else []), (name, results, fid, asked)


def test_two_requests_for_one_asset_one_wins(svc):
    """R14 2: the same user asking twice at the same instant makes one pending request."""
    for i in range(ROUNDS * 2):
        name = f"d{i}"
        svc.publish(alice, m.Publish(**publish_body(name, project="clinic")))
        one_wins(race(lambda: svc.request_access(bob, m.AccessRequestCreate(asset=name, reason="a")),
                      lambda: svc.request_access(bob, m.AccessRequestCreate(asset=name, reason="b"))))


def test_approval_refused_while_the_requester_holds_a_grant(svc):
    """R14 2: a second pending request left over from before (two approvals made two grants, and
    revoking one left access): its approval is a Conflict naming the grant held."""
    svc.publish(alice, m.Publish(**publish_body("d0", project="clinic")))
    first = svc.request_access(bob, m.AccessRequestCreate(asset="d0", reason="a"))
    with svc.store.transaction() as s:  # the duplicate the race used to make
        old = s.get(t.AccessRequest, first["id"])
        dup = t.AccessRequest(asset_id=old.asset_id, requester="bob", reason="b", requester_groups=[])
        s.add(dup)
        s.flush()
        dup_id = dup.id
    svc.decide(alice, first["id"], m.Decision(), accept=True)
    with pytest.raises(Conflict, match="already holds an active grant"):
        svc.decide(carol, dup_id, m.Decision(), accept=True)
    assert len(_grants_of(svc, "d0")) == 1
    svc.decide(carol, dup_id, m.Decision(comment="has one"), accept=False)  # rejecting still works


@pytest.fixture
def admin_svc(fresh_pg_url):
    service = GovernanceService(store=Store(fresh_pg_url), admin_users=frozenset({"root", "root2"}))
    service.create_project(alice, m.ProjectCreate(name="clinic", description="shared"))
    yield service
    service.store.dispose()


def _role(name, activities=("search-catalog",)):
    return m.RoleBody(role={"name": name, "persona": "custom", "activities": list(activities)})


def test_role_changes_are_made_one_at_a_time(admin_svc):
    """Red team R15 F1, F4, F5: each role change checked (the role exists, is not assigned, is not
    assigned twice, still exists to update) with plain reads. On PostgreSQL, delete_role and
    assign both passed: an assignment of a deleted role, and every call of everyone failed
    ('assignment of unknown role') until the store was edited; an update racing a delete was a
    500 (StaleDataError); two deletes were both OK, audited twice."""
    svc, root, root2 = admin_svc, Actor("root"), Actor("root2")
    for i in range(ROUNDS):
        svc.save_role(root, _role(f"a{i}"))
        results = race(lambda: svc.delete_role(root, f"a{i}"),
                       lambda: svc.assign(root2, m.AssignmentCreate(role=f"a{i}", user="bob")))
        assert sum(not isinstance(r, Exception) for r in results) == 1, results
        svc.list_projects(alice)  # the policy still builds
        roles = {r["name"] for r in svc.list_roles(root)["roles"]}
        assert all(a["role"] in roles for a in svc.list_assignments(root)["assignments"])

        svc.save_role(root, _role(f"u{i}"))
        results = race(lambda: svc.save_role(root, _role(f"u{i}", ("search-catalog", "subscribe")), name=f"u{i}"),
                       lambda: svc.delete_role(root2, f"u{i}"))
        assert all(r is not None for r in results), results  # None: not a GovernanceError (a 500)

        svc.save_role(root, _role(f"d{i}"))
        results = race(lambda: svc.delete_role(root, f"d{i}"), lambda: svc.delete_role(root2, f"d{i}"))
        assert sum(not isinstance(r, Exception) for r in results) == 1, results
        assert len([e for e in svc.audit_events(root, m.AuditQuery(action="role.delete"))["events"]
                    if e["resource_id"] == f"d{i}"]) == 1

        svc.save_role(root, _role(f"t{i}"))
        results = race(lambda: svc.assign(root, m.AssignmentCreate(role=f"t{i}", user="carol")),
                       lambda: svc.assign(root2, m.AssignmentCreate(role=f"t{i}", user="carol")))
        one_wins(results)
