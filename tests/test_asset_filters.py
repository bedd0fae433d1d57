"""Scoped grants (asset filters) through the real server: a grantee receives exactly the columns
and rows of their grant's filter, through every read, summary, revision and error."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest

from helpers import inline_content


def ok(r):
    assert r[0] in (200, 201), r[1]
    return r[1]


PEOPLE = pd.DataFrame({"id": range(8), "region": ["EU", "US", "EU", "APAC", "EU", "US", "EU", "US"],
                       "salary": [50, 9_999_001, 52, 53, 54, 9_999_002, 56, 9_999_003],
                       "ssn": [f"000-00-{i:04d}" for i in range(8)]})


async def _seed(api):
    ok(await api("alice", "POST", "projects", {"name": "hr"}))
    ok(await api("alice", "POST", "assets", {"name": "people", "project": "hr", "classification": "confidential",
                                             **inline_content(PEOPLE)}))
    ok(await api("alice", "POST", "assets/people/filters",
                 {"name": "eu-pay", "description": "EU rows, no SSN", "columns": ["id", "region", "salary"],
                  "rows": [["region", "==", "EU"]]}))
    ok(await api("alice", "POST", "assets/people/filters", {"name": "ids-only", "columns": ["id"]}))


def _table(body) -> pd.DataFrame:
    return pa.ipc.open_stream(body).read_pandas()


async def test_a_filtered_grant_returns_exactly_its_columns_and_rows(api):
    await _seed(api)
    filters = ok(await api("bob", "GET", "assets/people/filters"))["filters"]
    assert [f["name"] for f in filters] == ["eu-pay", "ids-only"]
    # what a row filter tests is shown; its values only to those who may read the data
    assert filters[0]["rows"] is None and filters[0]["row_columns"] == ["region"]
    assert ok(await api("alice", "GET", "assets/people/filters"))["filters"][0]["rows"] == [[["region", "==", "EU"]]]
    req = ok(await api("bob", "POST", "requests", {"asset": "people", "reason": "EU pay study", "filter": "eu-pay"}))
    assert req["asset_filter"] == "eu-pay"
    decided = ok(await api("alice", "POST", f"requests/{req['id']}/approve", {"comment": "EU only"}))
    assert decided["granted_filter"] == "eu-pay"

    code, body, resp = await api("bob", "GET", "assets/people/data")
    assert code == 200
    from urllib.parse import unquote

    meta = json.loads(unquote(resp.headers["X-Mlgov-Meta"]))
    assert meta["asset_filter"] == "eu-pay" and meta["content_hash"] is None  # would confirm guesses
    got = _table(body)
    expected = PEOPLE.loc[PEOPLE.region == "EU", ["id", "region", "salary"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)
    text = body.decode("latin-1")
    assert "ssn" not in text and "000-00" not in text and "9999001" not in text and "US" not in text
    assert len(_table(ok(await api("bob", "GET", "assets/people/data", columns=json.dumps(["id"]),
                                   filter=json.dumps([["salary", ">", 53]]))))) == 2

    # outside the scope: one-line refusals that name no value
    for params in ({"columns": json.dumps(["ssn"])}, {"filter": json.dumps([["ssn", "==", "000-00-0001"]])},
                   {"format": "parquet"}):
        code, err, _ = await api("bob", "GET", "assets/people/data", **params)
        assert code == 403 and "asset filter 'eu-pay'" in err["message"], (params, err)
        assert "000-00" not in err["message"] and "9999" not in err["message"]

    # the asset page: no summary (it was computed over rows outside the scope), no content hash
    page = ok(await api("bob", "GET", "assets/people"))
    assert page["asset_filter"] == "eu-pay" and page["summary"] == {} and page["content_hash"] is None
    assert "9999" not in json.dumps(page) and "APAC" not in json.dumps(page)
    sub = ok(await api("bob", "GET", "subscriptions"))["subscriptions"][0]
    assert sub["asset_filter"] == "eu-pay"

    # a new revision is read through the same scope
    more = pd.concat([PEOPLE, pd.DataFrame({"id": [8], "region": ["US"], "salary": [9_999_004], "ssn": ["x"]})])
    ok(await api("alice", "POST", "assets", {"name": "people", "project": "hr", **inline_content(more)}))
    for revision in ("1", "2"):
        got = _table(ok(await api("bob", "GET", "assets/people/data", revision=revision)))
        assert set(got.region) == {"EU"} and list(got.columns) == ["id", "region", "salary"]

    # the audit trail names the filter on the grant and on each read
    events = ok(await api("alice", "GET", "audit", project="hr", actor="bob", action="asset.consume"))["events"]
    assert events and all(json.loads(e["detail"])["asset_filter"] == "eu-pay" for e in events)
    grants = ok(await api("alice", "GET", "audit", project="hr", action="grant.create"))["events"]
    assert json.loads(grants[0]["detail"])["asset_filter"] == "eu-pay"

    # the project still reads everything
    assert len(_table(ok(await api("alice", "GET", "assets/people/data")))) == 9


async def test_a_column_only_filter_shows_the_summary_of_its_columns(api):
    await _seed(api)
    req = ok(await api("bob", "POST", "requests", {"asset": "people", "reason": "counts", "filter": "ids-only"}))
    ok(await api("alice", "POST", f"requests/{req['id']}/approve", {}))
    page = ok(await api("bob", "GET", "assets/people"))
    assert set(page["summary"]) == {"id"}
    assert list(_table(ok(await api("bob", "GET", "assets/people/data"))).columns) == ["id"]


async def test_an_approval_may_narrow_a_request_but_never_widen_it(api):
    await _seed(api)
    ok(await api("alice", "POST", "assets/people/filters",
                 {"name": "eu-ids", "columns": ["id"], "rows": [["region", "==", "EU"], ["id", "<", 5]]}))
    whole = ok(await api("bob", "POST", "requests", {"asset": "people", "reason": "all of it"}))
    narrowed = ok(await api("alice", "POST", f"requests/{whole['id']}/approve", {"filter": "ids-only"}))
    assert narrowed["granted_filter"] == "ids-only"
    assert list(_table(ok(await api("bob", "GET", "assets/people/data"))).columns) == ["id"]

    asked = ok(await api("carol", "POST", "requests", {"asset": "people", "reason": "EU", "filter": "eu-pay"}))
    code, err, _ = await api("alice", "POST", f"requests/{asked['id']}/approve", {"filter": "ids-only"})
    assert code == 400 and "narrow a request, not widen it" in err["message"]  # ids-only: all regions
    ok(await api("alice", "POST", f"requests/{asked['id']}/approve", {"filter": "eu-ids"}))
    got = _table(ok(await api("carol", "GET", "assets/people/data")))
    assert list(got.id) == [0, 2, 4]


async def test_filters_are_defined_by_owners_and_stewards_and_checked(api):
    await _seed(api)
    code, err, _ = await api("bob", "POST", "assets/people/filters", {"name": "mine", "columns": ["id"]})
    assert code == 403
    for body, message in (({"name": "x", "columns": ["nope"]}, "has no column 'nope'"),
                          ({"name": "x", "rows": [["nope", "==", 1]]}, "has no column 'nope'"),
                          ({"name": "x"}, "needs columns, rows or both"),
                          ({"name": "x", "rows": [["id", "~", 1]]}, "unknown operator"),
                          ({"name": "eu-pay", "columns": ["id"]}, "already has an asset filter")):
        code, err, _ = await api("alice", "POST", "assets/people/filters", body)
        assert code in (400, 409) and message in err["message"], (body, err)
    code, err, _ = await api("bob", "POST", "requests", {"asset": "people", "reason": "r", "filter": "nope"})
    assert code == 404 and "no asset filter named 'nope'" in err["message"]

    req = ok(await api("bob", "POST", "requests", {"asset": "people", "reason": "r", "filter": "eu-pay"}))
    code, err, _ = await api("alice", "DELETE", "assets/people/filters/eu-pay")
    assert code == 409 and "pending request" in err["message"]
    ok(await api("alice", "POST", f"requests/{req['id']}/reject", {}))
    ok(await api("alice", "DELETE", "assets/people/filters/eu-pay"))
    assert [f["name"] for f in ok(await api("bob", "GET", "assets/people/filters"))["filters"]] == ["ids-only"]
