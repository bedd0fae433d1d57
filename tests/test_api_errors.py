"""Bad input on every endpoint gets a 4xx with a one-line JSON message, never a 500."""

import json
import re

import pytest

from mlgov_jupyter import api
from mlgov_jupyter.server.openapi import openapi_document

from helpers import publish_body


def _concrete(path: str, name="churn", ident="1", user="nobody") -> str:
    path = re.sub(r"\(\?P<user>[^)]*\)", user, path)
    path = re.sub(r"\(\?P<upload>[^)]*\)", "0" * 32, path)
    path = re.sub(r"\(\?P<filter>[^)]*\)", "nofilter", path)
    path = re.sub(r"\(\?P<revision>[^)]*\)", ident, path)
    path = re.sub(r"\(\?P<alias>[^)]*\)", "champion", path)
    return re.sub(r"\(\?P<id>[^)]*\)", ident, re.sub(r"\(\?P<name>[^)]*\)", name, path))


GETS = [r for r in api.ROUTES if r.method == "GET"]


async def _seed(api_call):
    await api_call("alice", "POST", "assets", publish_body(project=None))


@pytest.mark.parametrize("route", [r for r in api.ROUTES if r.method in ("POST", "PUT") and not r.raw],
                         ids=lambda r: f"{r.method} {r.path}")
async def test_malformed_json_and_unknown_fields(api, route):
    await _seed(api)
    path = _concrete(route.path, name="alice")  # a project that exists (members route)
    if "assets/" in route.path:
        path = _concrete(route.path)
    code, body, _ = await api("alice", route.method, path, raw="{not json")
    assert code == 400 and body["message"] == "request body is not valid JSON"
    code, body, _ = await api("alice", route.method, path, raw="[1, 2]")
    assert code in (400, 404) and "\n" not in body["message"]
    code, body, _ = await api("alice", route.method, path, {"surprise": 1})
    assert code in (400, 404), body
    if code == 400:
        assert "surprise" in body["message"] or "field" in body["message"]


VALID_BODIES = {
    "members": {"user": "bob", "designation": "viewer"},
    "transition": {"action": "submit"},
    "card": {"content": {}},
    "executions": {"report": {}},
    "filters": {"name": "f", "columns": ["plan"]},
    "modelapprove": {"comment": "c"},
    "modelreject": {"comment": "c"},
    "modelalias": {"revision": 1},
    "projectsettings": {"model_approval": "warn"},
    "deprecation": {"reason": "r"},
    "unpublish": {"reason": "r"},
    "role": {"role": {"name": "nope", "persona": "data-scientist",
                      "activities": ["search-catalog"]}},
}


@pytest.mark.parametrize("route", [r for r in api.ROUTES if r.method != "GET" and "(?P" in r.path],
                         ids=lambda r: f"{r.method} {r.path}")
async def test_unknown_ids_are_404(api, route):
    valid = VALID_BODIES.get(route.resource, {})
    code, body, _ = await api("root", route.method, _concrete(route.path, name="nope", ident="999999"), valid)
    assert code == 404 and body["message"], body


@pytest.mark.parametrize("route", [r for r in GETS if "(?P" in r.path], ids=lambda r: r.path)
async def test_unknown_names_are_404(api, route):
    query = {"a": "1", "b": "2"} if route.resource == "diff" else {}
    code, body, _ = await api("alice", "GET", _concrete(route.path, name="nope", ident="999999"), **query)
    assert code == 404 and body["message"]


@pytest.mark.parametrize("field,value", [
    ("description", "x" * 5000), ("name", "n" * 300), ("name", "../etc"), ("tags", ["t" * 65]),
    ("tags", ["a"] * 51), ("classification", "secret"), ("kind", "table"), ("content_b64", "%%%"),
    ("content_b64", "bm90IHBhcnF1ZXQ="), ("project", "no such project!"), ("features", {"x": 1}),
])
async def test_publish_rejects_bad_fields(api, field, value):
    code, body, _ = await api("alice", "POST", "assets", publish_body(**{field: value}))
    assert code == 400, body
    assert "\n" not in body["message"]
    code, page, _ = await api("alice", "GET", "assets")
    assert page["total"] == 0  # nothing half-written


async def test_bad_queries_are_400(api):
    for params in ({"page": "0"}, {"page_size": "1000"}, {"kind": "table"}, {"q": "x" * 300},
                   {"unknown": "1"}, {"page": "abc"}):
        code, body, _ = await api("alice", "GET", "assets", **params)
        assert code == 400, (params, body)
    code, body, _ = await api("alice", "GET", "requests", incoming="maybe")
    assert code == 400
    for route in ("audit", "audit/export"):
        for params in ({"before": "-1"}, {"after": str(2**40)}, {"since": "yesterday"},
                       {"actor": "x" * 300}, {"limit": "0"}, {"format": "csv"}):
            code, body, _ = await api("root", "GET", route, **params)
            assert code == 400, (route, params, body)
    code, body, _ = await api("alice", "POST", "requests", {"asset": "churn", "reason": "   "})
    assert code == 400


async def test_unknown_project_on_publish_is_404(api):
    code, body, _ = await api("alice", "POST", "assets", publish_body(project="ghost"))
    assert code == 404 and "ghost" in body["message"]


async def test_unauthenticated_requests_are_refused(jp_fetch):
    resp = await jp_fetch("api", "mlgov", "whoami", headers={"Authorization": "token wrong"},
                          raise_error=False)
    assert resp.code in (401, 403)


async def test_every_route_is_in_the_openapi_document(api):
    code, doc, _ = await api("alice", "GET", "openapi.json")
    assert code == 200 and doc["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    for route in api_routes():
        path = "/" + api_base() + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route.path)
        assert (route.method, path) in documented
    assert doc == json.loads(json.dumps(openapi_document(doc["servers"][0]["url"])))


def api_routes():
    return api.ROUTES


def api_base():
    return api.BASE


GOOD_BODIES = {
    ("POST", "projects"): {"name": "p1", "description": "d"},
    ("POST", "members"): {"user": "bob", "designation": "viewer"},
    ("POST", "assets"): None,  # publish_body()
    ("POST", "uploads"): {"name": "up"},
    ("POST", "filters"): {"name": "f", "description": "d", "columns": ["plan"]},
    ("POST", "requests"): {"asset": "churn", "reason": "r"},
    ("POST", "approve"): {"comment": "c"},
    ("POST", "reject"): {"comment": "c"},
    ("POST", "ack"): {"comment": "c"},
    ("POST", "cards"): {"name": "c1", "model": "m", "content": {}},
    ("POST", "transition"): {"action": "submit", "comment": "c"},
    ("POST", "assignments"): {"role": "r", "user": "u", "group": None, "projects": []},
    ("POST", "profiles"): {"name": "n", "profile": "p", "description": "d"},
    ("POST", "modelapprove"): {"comment": "c"},
    ("POST", "modelreject"): {"comment": "c"},
    ("PUT", "projectsettings"): {"model_approval": "warn"},
    ("POST", "channels"): {"kind": "email", "target": "a@example.org"},
    ("POST", "deployments"): {"name": "d1", "model": "m", "environment": "prod"},
    ("PATCH", "deployment"): {"status": "InService"},
    ("POST", "monitors"): {"name": "m1", "deployment": "d", "schedule": "hourly", "monitor_type": "bias",
                           "baseline": {}},
    ("POST", "alertack"): {"comment": "c"},
    ("POST", "deprecation"): {"reason": "r", "replacement": "churn2"},
    ("POST", "unpublish"): {"reason": "r"},
}


def _string_fields(body: dict):
    return [k for k, v in body.items() if isinstance(v, str) and k != "content_b64"]


@pytest.mark.parametrize("key", list(GOOD_BODIES), ids=lambda k: f"{k[0]} {k[1]}")
async def test_over_long_strings_are_400_on_every_endpoint(api, key):
    route = next(r for r in api_routes() if (r.method, r.resource) == key)
    body = GOOD_BODIES[key] or publish_body()
    path = _concrete(route.path, name="x", ident="1")
    fields = _string_fields(body) + (["user"] if key == ("POST", "assignments") else [])
    assert fields
    for field in fields:
        code, reply, _ = await api("root", route.method, path, {**body, field: "x" * 100_000})
        assert code == 400 and field in reply["message"] and "\n" not in reply["message"], (field, reply)


def test_every_body_route_has_an_over_long_check():
    from mlgov_jupyter.core import models as m

    with_strings = {(r.method, r.resource) for r in api_routes()
                    if r.body is not None and r.body not in (m.Empty, m.CardUpdate, m.RoleBody, m.ExecutionCreate, m.AliasSet,
                                                          m.NotificationsRead)}
    assert with_strings <= set(GOOD_BODIES)


async def test_over_long_documents_are_400(api):
    long = "x" * 200_000
    code, body, _ = await api("root", "PUT", "cards/x", {"content": {"intended_uses": {"purpose_of_model": long}}})
    assert code == 400 and "the limit is 100000" in body["message"]
    code, body, _ = await api("root", "PUT", "cards/x",
                              {"content": {"intended_uses": {"purpose_of_model": "x" * 3000}}})
    assert code == 400 and "purpose_of_model" in body["message"]
    code, body, _ = await api("root", "POST", "roles", {"role": {"name": long, "persona": "auditor"}})
    assert code == 400 and len(body["message"]) < 300
    code, body, _ = await api("root", "POST", "models/x/executions", {"report": {"note": "y" * 6_000_000}})
    assert code == 400 and "larger than" in body["message"]


async def test_a_parquet_bomb_is_refused_before_it_is_read(api, jp_serverapp):
    """A small Parquet file of zeros decodes to many times its size: refused with a 413 as the
    streamed pass counts it, batch by batch (limit lowered here to keep the test small)."""
    import dataclasses

    import pandas as pd

    service = jp_serverapp.web_app.settings["mlgov_service"]
    service.limits = dataclasses.replace(service.limits, publish_max_decoded_bytes=8 << 20)
    zeros = pd.DataFrame({"z": [0] * 2_000_000})  # 16 MB in memory, a few kB as Parquet
    code, err, _ = await api("alice", "POST", "assets", publish_body(name="bomb", df=zeros, project=None))
    assert code == 413 and "decompresses to" in err["message"], err
    # one long string repeated: the metadata counts 8 bytes a row, the decoded batches tell
    strings = pd.DataFrame({"s": ["x" * 1500] * 20_000})  # 30 MB decoded, a few kB as Parquet
    code, err, _ = await api("alice", "POST", "assets", publish_body(name="bomb2", df=strings, project=None))
    assert code == 413 and "decompresses to" in err["message"], err
    code, ok, _ = await api("alice", "POST", "assets", publish_body(name="fine", df=zeros[:1000], project=None))
    assert code == 201, ok


async def test_deeply_nested_json_is_a_400(api):
    code, err, _ = await api("alice", "POST", "projects", raw="[" * 100_000 + "]" * 100_000)
    assert code == 400 and err["message"] == "request body is nested too deeply", err


@pytest.mark.parametrize("field", ["filter", "columns"])
async def test_deeply_nested_query_json_is_a_400(api, field):
    """Red team R15 finding 6: a query's JSON 1,500 deep (3,000 ASCII characters, within its
    9,000) was a 500 with a logged traceback for anyone, on any name."""
    import pandas as pd

    assert (await api("alice", "POST", "assets", publish_body(name="deep", df=pd.DataFrame({"a": [1]}),
                                                              project=None)))[0] == 201
    for user, name in (("alice", "deep"), ("bob", "deep"), ("bob", "no-such-asset")):
        code, err, _ = await api(user, "GET", f"assets/{name}/data", **{field: "[" * 1500 + "]" * 1500})
        assert code == 400 and err["message"] == f"{field} is nested too deeply", (user, name, err)


@pytest.mark.parametrize("raw, message", [
    ('{"report": {"n_current": NaN}}', "NaN is not a number JSON allows"),
    ('{"report": {"violations_by_type": {"x": Infinity}}}', "Infinity is not a number JSON allows"),
    ('{"report": {"x": 1e999}}', "a number is too large for a float"),  # red team R12 N6: a 500 on PostgreSQL
    # red team R13 P1-6: a 4,300-digit count was stored and every dashboard read it as Infinity
    ('{"report": {"n_current": ' + "9" * 4300 + '}}', "an integer is outside the 64-bit range"),
    ('{"report": {"n_current": %d}}' % 2**63, "an integer is outside the 64-bit range"),
    ('{"report": {"violations_by_type": {"x": %d}}}' % (-2**63 - 1), "an integer is outside the 64-bit range"),
    ('{"report": {"drifted_columns": 5}}', "report.drifted_columns must be a list of column names"),
    ('{"report": {"violations_by_type": {"x": "many"}}}', "report.violations_by_type must map"),
    ('{"report": {"n_current": "all"}}', "report.n_current must be a whole number"),
])
async def test_a_check_that_would_break_everyones_dashboard_is_refused(api, raw, message):
    from sklearn.linear_model import LogisticRegression

    from helpers import inline_content as _content

    body = {"name": "m", "project": None, "kind": "model", **_content(LogisticRegression().fit([[0], [1]], [0, 1]))}
    assert (await api("alice", "POST", "assets", body))[0] == 201
    code, err, _ = await api("alice", "POST", "models/m/executions", raw=raw)
    assert code == 400 and message in err["message"], err
    code, board, _ = await api("bob", "GET", "dashboard")
    assert code == 200 and board["models"][0]["executions"] == 0


async def test_numbers_in_queries_beyond_the_store_are_400(api):
    """Red team R14: `assets/x/data?revision=2**63` was a 500 with a logged traceback, for anyone
    (an integer overflow in the database): every revision, version or card-diff number a query
    names is bounded like the store's ids, before anything runs."""
    from helpers import publish_body

    assert (await api("alice", "POST", "assets", publish_body("churn")))[0] == 201
    for big in (2**31, 2**63, 10**30):
        for route, params, user in (("assets/churn/data", {"revision": big}, "dave"),  # no access at all
                                    ("assets/churn/data", {"revision": big}, "alice"),
                                    ("assets/churn/urls", {"revision": big}, "alice"),
                                    ("cards/churn", {"version": big}, "alice"),
                                    ("cards/churn/diff", {"a": 1, "b": big}, "alice"),
                                    ("cards/churn/export", {"version": big}, "alice")):
            code, body, _ = await api(user, "GET", route, **{k: str(v) for k, v in params.items()})
            assert code == 400, (route, params, code, body)


async def test_ids_beyond_the_store_and_nul_characters(api):
    code, err, _ = await api("alice", "POST", f"requests/{2**31}/approve", {"comment": ""})
    assert code == 404, err
    code, err, _ = await api("alice", "POST", "projects", {"name": "n", "description": "a\x00b"})
    assert code == 400 and "NUL" in err["message"], err


async def test_unreadable_content_names_no_path_of_the_service(api, jp_serverapp):
    """Red team R15 (beside finding 3): content the service can no longer read (removed from its
    store) was refused with Arrow's message, which holds the object's path on the service's
    machine; the refusal names no path."""
    import os

    code, asset, _ = await api("alice", "POST", "assets", publish_body(name="gone", project=None))
    assert code == 201, asset
    objects = jp_serverapp.web_app.settings["mlgov_service"].objects_store()
    path = objects.path(asset["revisions"][-1]["content_hash"])
    os.remove(path)
    code, err, _ = await api("alice", "GET", "assets/gone/data")
    assert code == 400 and err["message"] == ("content is not a readable Parquet file: it is missing from "
                                              "the service's store"), err
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"PAR1 not parquet " * 10)  # present, unreadable: Arrow's message, without the path
    code, err, _ = await api("alice", "GET", "assets/gone/data")
    assert code == 400 and err["message"].startswith("content is not a readable Parquet file: "), err
    assert os.path.dirname(path) not in err["message"] and "objects" not in err["message"], err


@pytest.mark.parametrize("path, raw", [
    ("projects", '{"name": "p", "description": "\\ud800"}'),
    ("roles", '{"role": {"name": "r", "persona": "custom", "activities": ["search-catalog"], '
              '"description": "\\udfff"}}'),
    ("assets/sur/filters", '{"name": "sf", "rows": [["region", "==", "\\ud800"]]}'),
])
async def test_a_lone_surrogate_is_a_400(api, path, raw):
    """Red team R16 N1: "\\ud800" parses as JSON but is no Unicode text; in a free-form field it
    reached the audit hash (UTF-8) and was a 500 with a traceback."""
    import pandas as pd

    assert (await api("root", "POST", "assets", publish_body(name="sur", df=pd.DataFrame({"region": ["EU"]}),
                                                             project=None)))[0] == 201
    code, err, _ = await api("root", "POST", path, raw=raw)
    assert code == 400 and "lone UTF-16 surrogate" in err["message"], err


async def test_a_file_whose_content_is_gone_is_a_400_resumed_or_not(api, jp_serverapp):
    """Red team R16 N2: a file download of content missing from the store dropped the connection
    without an answer (use() then retried 5 times), and resumed (offset or Range) it was a 500."""
    import os

    code, asset, _ = await api("alice", "POST", "assets", {"name": "notes", "content_b64": "aGVsbG8gd29ybGQ=",
                                                           "format": "file", "project": None})
    assert code == 201, asset
    os.remove(jp_serverapp.web_app.settings["mlgov_service"].objects_store().path(asset["revisions"][-1]["content_hash"]))
    for query in ({}, {"offset": 3}):
        code, err, _ = await api("alice", "GET", "assets/notes/data", **query)
        assert (code, err["message"]) == (400, "this revision's content is missing from the service's store"), err


async def test_a_range_header_is_for_downloads_only(jp_fetch):
    """Red team R16: a Range header on the audit export was a 400 about a query field 'offset' the
    caller never sent; routes that do not resume ignore it (RFC 9110 allows it)."""
    resp = await jp_fetch("api", "mlgov", "audit", "export", raise_error=False,
                          headers={"Authorization": "token root-token", "Range": "bytes=5-"})
    assert resp.code == 200, resp.body[:200]


@pytest.mark.parametrize("method, path", [("GET", "assets/a%00b"), ("DELETE", "roles/zz%00m"),
                                          ("GET", "monitors/%01"), ("POST", "deployments/d%00/capture")])
async def test_a_control_character_in_a_path_name_is_a_400(jp_serverapp, http_server_client, jp_base_url, method, path):
    """Red team R17-1: '%00' in a name reached PostgreSQL, which cannot hold NUL in text: a 500
    for anyone (19 routes), and a refusal's audit event failed with it (no trace of mallory's
    DELETE roles/zz%00m)."""
    resp = await http_server_client.fetch(  # the path as sent, not escaped again
        f"{jp_base_url}api/mlgov/{path}", method=method, raise_error=False,
        headers={"Authorization": "token bob-token"}, body=b"x" if method == "POST" else None)
    assert resp.code == 400 and json.loads(resp.body)["message"].endswith("in the path holds a control character"), \
        resp.body


async def test_a_column_name_with_a_control_character_is_a_400(api):
    """Red team R17-3: a Parquet column named with a NUL was a 500 on PostgreSQL (its search
    text) and, on SQLite, published a catalog PostgreSQL could not take."""
    import pandas as pd

    for name in ("a\x00b", "line\nbreak"):
        code, err, _ = await api("alice", "POST", "assets", publish_body(name="ctl", df=pd.DataFrame({name: [1]}),
                                                                          project=None))
        assert code == 400 and "holds a control character: rename it" in err["message"], err
