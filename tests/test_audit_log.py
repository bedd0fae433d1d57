"""The audit log as users meet it: refusals leave a (bounded) trace, the log pages, filters and
exports as JSON Lines."""

import json

import pytest

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


async def test_the_log_pages_back_filters_and_exports_json_lines(api):
    assert (await api("alice", "POST", "projects", {"name": "risk"}))[0] == 201
    for i in range(7):
        assert (await api("alice", "POST", "assets", publish_body(f"d{i}", project="risk")))[0] == 201
    assert (await api("bob", "POST", "projects", {"name": "lab"}))[0] == 201
    everything = await _events(api)
    assert len(everything) == 9
    # page back through all of it, three at a time
    seen, before = [], None
    while True:
        code, page, _ = await api("root", "GET", "audit", limit=3, before=before)
        assert code == 200, page
        seen += [e["id"] for e in page["events"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == [e["id"] for e in everything] == list(range(9, 0, -1))
    # filters
    got = await _events(api, actor="bob")
    assert [(e["actor"], e["action"]) for e in got] == [("bob", "project.create")]
    got = await _events(api, action="asset.publish", resource_type="asset", resource_id="d3")
    assert [e["resource_id"] for e in got] == ["d3"]
    assert await _events(api, after=7) == everything[:2]
    first_ts = everything[-1]["ts"]
    assert len(await _events(api, since=first_ts)) == 9
    assert await _events(api, until=first_ts) == []
    assert await _events(api, since="2999-01-01T00:00:00") == []
    # export: JSON Lines, oldest first, hashes and signatures included; a project's owner gets hers
    code, raw, resp = await api("alice", "GET", "audit/export", project="risk")
    assert code == 200 and resp.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in raw.decode().splitlines()]
    assert [e["id"] for e in lines] == list(range(1, 9))
    assert all(e["project"] == "risk" and e["hash"] and "prev_hash" in e for e in lines)
    code, raw, _ = await api("root", "GET", "audit/export", after=5, limit=2)
    assert [json.loads(x)["id"] for x in raw.decode().splitlines()] == [6, 7]
    code, body, _ = await api("bob", "GET", "audit/export", project="risk")
    assert code == 403


def test_client_and_magic_page_filter_and_export(tmp_path, monkeypatch, capsys):
    import mlgov_jupyter
    from IPython.core.error import UsageError

    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'a.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    me = mlgov_jupyter.connect()
    me.create_project("risk")
    for i in range(5):
        me.create_project(f"p{i}")
    assert [e["resource_id"] for e in me.audit(limit=2, before=4)] == ["p1", "p0"]
    assert [e["resource_id"] for e in me.audit(action="project.create", resource_id="risk")] == ["risk"]
    out = tmp_path / "audit.jsonl"
    assert me.audit_export(out, limit=2) == 6  # pages of two, all of them
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [1, 2, 3, 4, 5, 6]
    try:
        me.audit(bogus=1)
    except Exception as exc:
        assert "bogus" in str(exc)
    from mlgov_jupyter.kernel.magics.audit import Audit
    from mlgov_jupyter.kernel.magics.base import Context

    cmd, ctx = Audit(), Context(shell=None, client_factory=lambda: me)
    cmd.run(cmd.parse("log --resource project:p2"), ctx)
    assert "project:p2" in capsys.readouterr().out
    cmd.run(cmd.parse("log --limit 2"), ctx)
    assert "--before 5" in capsys.readouterr().out
    assert cmd.run(cmd.parse(f"log --export {tmp_path / 'x.jsonl'} --action project.create"), ctx) == 6
    assert "wrote 6 events" in capsys.readouterr().out
    with pytest.raises(UsageError):
        cmd.parse("log --before notanumber")
