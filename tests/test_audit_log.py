"""The audit log as users meet it: refusals leave a (bounded) trace, the log pages, filters and
exports as JSON Lines."""

import json

from mlgov_jupyter.core.authz import Resource
from mlgov_jupyter.service.base import DenialLimiter

from helpers import publish_body


async def _events(api, **filters):
    code, body, _ = await api("root", "GET", "audit", limit=1000, **filters)
    assert code == 200, body
    return body["events"]


async def test_a_refusal_is_audited_once_per_minute_in_its_own_transaction(api):
    assert (await api("alice", "POST", "projects", {"name": "risk"}))[0] == 201
    assert (await api("alice", "POST", "assets", publish_body("churn", project="risk")))[0] == 201
    for _ in range(5):
        code, body, _ = await api("dave", "GET", "assets/churn/data")
        assert code == 403
    code, _, _ = await api("dave", "POST", "assets", publish_body("intruder", project="risk"))
    assert code == 403
    denials = [dict(e, detail=json.loads(e["detail"])) for e in await _events(api)
               if e["action"] == "access.denied"]
    assert [(e["actor"], e["resource_type"], e["resource_id"], e["detail"]["action"]) for e in denials] == [
        ("dave", "asset", "intruder", "catalog:publish"), ("dave", "asset", "churn", "catalog:consume")]
    assert all(e["detail"]["reason"] and e["project"] == "risk" for e in denials)
    # the refused publish kept nothing
    assert (await api("alice", "GET", "assets/intruder"))[0] == 404
    code, body, _ = await api("root", "GET", "audit/verify")
    assert body["ok"], body


def test_the_limiter_counts_what_it_held_back_into_the_next_event():
    lim = DenialLimiter(window=60, per_actor=3)
    r = Resource(type="asset", name="churn", project="risk")
    assert lim.admit("dave", "catalog:consume", r, now=0) == 0
    assert all(lim.admit("dave", "catalog:consume", r, now=i) is None for i in range(1, 10))
    assert lim.admit("dave", "catalog:consume", r, now=61) == 9
    # a flood over many resources: at most per_actor events a minute, the rest counted
    got = [lim.admit("eve", "catalog:read", Resource(type="asset", name=f"a{i}"), now=100) for i in range(50)]
    assert got[:3] == [0, 0, 0] and set(got[3:]) == {None}
    assert lim.admit("eve", "catalog:read", Resource(type="asset", name="b"), now=161) == 47


async def test_refusals_about_a_request_or_subscription_do_not_name_its_project(api):
    assert (await api("alice", "POST", "projects", {"name": "secret-merger"}))[0] == 201
    assert (await api("alice", "POST", "assets", publish_body("deal", project="secret-merger")))[0] == 201
    req = (await api("carol", "POST", "requests", {"asset": "deal", "reason": "audit"}))[1]
    for verb in ("approve", "reject"):
        code, body, _ = await api("dave", "POST", f"requests/{req['id']}/{verb}", {})
        assert code in (403, 404) and "secret-merger" not in body["message"], body
        assert "deal" not in body["message"], body
    assert (await api("alice", "POST", f"requests/{req['id']}/approve", {}))[0] == 200
    sub = (await api("carol", "GET", "subscriptions"))[1]["subscriptions"][0]
    for verb in ("revoke", "cancel"):
        code, body, _ = await api("dave", "POST", f"subscriptions/{sub['id']}/{verb}", {})
        assert code in (403, 404) and "secret-merger" not in body["message"], body
        assert "deal" not in body["message"] and "carol" not in body["message"], body
