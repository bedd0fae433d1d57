"""The catalog loop through the real server, several users by token."""

import io

import pandas as pd
import pyarrow as pa

from helpers import frame, publish_body


async def test_publish_search_subscribe_approve_consume_revoke(api):
    code, asset, _ = await api("alice", "POST", "assets", publish_body(project=None))
    assert code == 201, asset
    assert asset["project"] == "alice" and asset["revision"] == 1 and asset["row_count"] == 50
    assert [c["name"] for c in asset["schema"]] == ["customer_id", "tenure", "plan", "churned"]
    assert asset["summary"]["tenure"]["max"] == 6

    code, page, _ = await api("bob", "GET", "assets", q="churning event")  # words of the description, stemmed
    assert code == 200 and page["total"] == 1
    assert page["items"][0]["access"] == "none" and page["facets"]["tag"] == {"churn": 1, "crm": 1}

    code, err, _ = await api("bob", "GET", "assets/churn/data")
    assert code == 403 and "subscribe churn" in err["message"]

    code, req, _ = await api("bob", "POST", "requests", {"asset": "churn", "reason": "retention model"})
    assert code == 201 and req["status"] == "pending"
    code, err, _ = await api("bob", "POST", "requests", {"asset": "churn", "reason": "again"})
    assert code == 409

    code, incoming, _ = await api("alice", "GET", "requests", incoming="true", status="pending")
    assert [r["id"] for r in incoming["requests"]] == [req["id"]]
    code, err, _ = await api("bob", "POST", f"requests/{req['id']}/approve", {"comment": "self"})
    assert code == 403
    code, decided, _ = await api("alice", "POST", f"requests/{req['id']}/approve", {"comment": "ok"})
    assert code == 200 and decided["status"] == "accepted" and decided["decided_by"] == "alice"

    code, body, resp = await api("bob", "GET", "assets/churn/data")
    assert code == 200
    pd.testing.assert_frame_equal(pa.ipc.open_stream(body).read_pandas(), frame())

    code, subs, _ = await api("bob", "GET", "subscriptions")
    sub = subs["subscriptions"][0]
    assert sub["status"] == "approved" and sub["grant_status"] == "active"
    code, err, _ = await api("bob", "POST", f"subscriptions/{sub['id']}/revoke")
    assert code == 403
    code, revoked, _ = await api("alice", "POST", f"subscriptions/{sub['id']}/revoke")
    assert code == 200 and revoked["status"] == "revoked" and revoked["grant_status"] == "revoked"
    code, err, _ = await api("bob", "GET", "assets/churn/data")
    assert code == 403

    # subscribe again after a revoke
    code, req2, _ = await api("bob", "POST", "requests", {"asset": "churn", "reason": "v2 model"})
    assert code == 201
    code, rejected, _ = await api("alice", "POST", f"requests/{req2['id']}/reject", {"comment": "no"})
    assert rejected["status"] == "rejected"

    code, audit, _ = await api("root", "GET", "audit", limit=100)
    actions = [e["action"] for e in reversed(audit["events"])]
    assert [a for a in actions if a != "access.denied"] == [
        "project.create", "asset.publish", "access.request", "access.accept",
        "grant.create", "asset.consume", "subscription.revoke", "access.request", "access.reject"]
    assert "access.denied" in actions  # bob's refused read before his grant
    code, verified, _ = await api("carol", "GET", "audit/verify")
    assert verified["ok"] and verified["checked"] == len(actions)


async def test_cancel_and_republish_revisions(api):
    await api("alice", "POST", "projects", {"name": "risk", "description": "credit risk"})
    code, _, _ = await api("alice", "POST", "assets", publish_body(project="risk"))
    assert code == 201
    code, second, _ = await api("alice", "POST", "assets", publish_body(project="risk", df=frame(10)))
    assert second["revision"] == 2 and [r["row_count"] for r in second["revisions"]] == [50, 10]
    code, req, _ = await api("bob", "POST", "requests", {"asset": "churn", "reason": "analysis"})
    await api("alice", "POST", f"requests/{req['id']}/approve")
    code, body, _ = await api("bob", "GET", "assets/churn/data", revision="1")
    assert pa.ipc.open_stream(body).read_all().num_rows == 50  # old revisions stay readable
    subs = (await api("bob", "GET", "subscriptions"))[1]["subscriptions"]
    code, err, _ = await api("alice", "POST", f"subscriptions/{subs[0]['id']}/cancel")
    assert code == 403
    code, cancelled, _ = await api("bob", "POST", f"subscriptions/{subs[0]['id']}/cancel")
    assert cancelled["status"] == "cancelled"
    code, err, _ = await api("bob", "GET", "assets/churn/data")
    assert code == 403


async def test_project_membership_decides_publish_and_approval(api):
    await api("alice", "POST", "projects", {"name": "risk"})
    code, err, _ = await api("bob", "POST", "assets", publish_body(project="risk"))
    assert code == 403 and "contributor" in err["message"]
    code, project, _ = await api("alice", "POST", "projects/risk/members",
                                 {"user": "bob", "designation": "contributor"})
    assert {"user": "bob", "designation": "contributor"} in project["members"]
    code, asset, _ = await api("bob", "POST", "assets", publish_body(project="risk"))
    assert code == 201
    # a steward may approve, a contributor may not
    await api("alice", "POST", "projects/risk/members", {"user": "carol", "designation": "steward"})
    code, req, _ = await api("root", "POST", "requests", {"asset": "churn", "reason": "audit sample"})
    code, err, _ = await api("bob", "POST", f"requests/{req['id']}/approve")
    assert code == 403
    code, ok, _ = await api("carol", "POST", f"requests/{req['id']}/approve")
    assert code == 200


async def test_search_filters_facets_pages(api):
    await api("alice", "POST", "projects", {"name": "risk"})
    for i in range(5):
        await api("alice", "POST", "assets", publish_body(
            name=f"loans-{i}", project="risk", description=f"loan book snapshot {i}",
            tags=["loans"] + (["pii"] if i % 2 else []),
            classification="pii" if i % 2 else "internal"))
    await api("bob", "POST", "assets", publish_body(name="weather", description="daily weather",
                                                  tags=["ext"], classification="public"))
    code, page, _ = await api("carol", "GET", "assets", q="loan", page_size="2", page="2")
    assert page["total"] == 5 and len(page["items"]) == 2
    assert page["facets"]["classification"] == {"internal": 3, "pii": 2}
    code, page, _ = await api("carol", "GET", "assets", tag="pii")
    assert {a["name"] for a in page["items"]} == {"loans-1", "loans-3"}
    code, page, _ = await api("carol", "GET", "assets", classification="public", kind="dataset")
    assert [a["name"] for a in page["items"]] == ["weather"]
    code, page, _ = await api("carol", "GET", "assets", q="tenure")  # a column name
    assert page["total"] == 6
    code, page, _ = await api("carol", "GET", "assets", project="risk", owner="alice")
    assert page["total"] == 5 and page["facets"]["project"] == {"risk": 5}
    code, page, _ = await api("carol", "GET", "assets", q="zzz-nothing")
    assert page["total"] == 0


async def test_values_of_the_data_only_for_those_who_may_read_it(api):
    """The column summary (top values, ranges) and the location carry values of the data: an
    outsider and a project viewer (who may not consume) see the discoverable metadata only; a
    consumer and a grant holder see them."""
    df = pd.DataFrame({"ssn": ["123-45-6789", "987-65-4321"], "age": [41, 63]})
    assert (await api("alice", "POST", "projects", {"name": "clinic"}))[0] == 201
    code, _, _ = await api("alice", "POST", "assets", publish_body(name="patients", df=df, project="clinic"))
    assert code == 201
    for user, designation in (("bob", "viewer"), ("carol", "consumer")):
        assert (await api("alice", "POST", "projects/clinic/members",
                          {"user": user, "designation": designation}))[0] == 200
    for user, reveals in (("dave", False), ("bob", False), ("carol", True), ("alice", True)):
        code, detail, _ = await api(user, "GET", "assets/patients")
        assert code == 200 and [c["name"] for c in detail["schema"]] == ["ssn", "age"], user
        assert detail["row_count"] == 2
        text = repr(detail)
        assert ("123-45-6789" in text and detail["summary"]) if reveals else \
            ("123-45-6789" not in text and detail["summary"] == {} and detail["location"] is None
             and detail["content_hash"] is None and not any(r["content_hash"] for r in detail["revisions"])), \
            (user, detail)
        data_code = (await api(user, "GET", "assets/patients/data"))[0]
        assert (data_code == 200) == reveals, (user, data_code)


async def test_a_default_publish_never_lands_in_a_project_someone_else_named_after_you(api):
    """Squatting: dave creates a project named 'bob' and adds bob; bob's publish without a
    project is refused (409) instead of landing where dave owns it, and dave reads nothing."""
    assert (await api("dave", "POST", "projects", {"name": "bob"}))[0] == 201
    assert (await api("dave", "POST", "projects/bob/members", {"user": "bob", "designation": "contributor"}))[0] == 200
    code, err, _ = await api("bob", "POST", "assets", publish_body(name="salaries", project=None))
    assert code == 409 and "created by dave" in err["message"], err
    assert (await api("dave", "GET", "assets/salaries"))[0] == 404
    code, asset, _ = await api("alice", "POST", "assets", publish_body(name="alices", project=None))
    assert code == 201 and asset["project"] == "alice"  # her own default project still works
