"""Search counted in SQL (totals, facets, the page) and cached per store generation: the same
answers as a recount in Python, on SQLite and (MLGOV_TEST_PG_URL) PostgreSQL; any change to
assets, by any code path, is seen by the next search; access labels equal ``_access``."""

import os
import random
import uuid
from collections import Counter

import pytest
from sqlalchemy import create_engine, select, text, update

from mlgov_jupyter.core import models as m
from mlgov_jupyter.service import Actor, GovernanceService
from mlgov_jupyter.store import tables as t
from mlgov_jupyter.store.db import Store

PG_URL = os.environ.get("MLGOV_TEST_PG_URL")
ALICE, BOB, CAROL = Actor("alice"), Actor("bob"), Actor("carol")
WORDS = ["churn", "credit", "events", "weather", "loans", "spend"]


@pytest.fixture(params=["sqlite", "postgresql"])
def svc(request, tmp_path):
    if request.param == "sqlite":
        service = GovernanceService(store=Store(f"sqlite:///{tmp_path / 'mlgov.sqlite'}"))
        yield service
        service.store.dispose()
        return
    if not PG_URL:
        pytest.skip("MLGOV_TEST_PG_URL not set")
    name = f"mlgov_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    service = GovernanceService(store=Store(PG_URL.rsplit("/", 1)[0] + "/" + name))
    yield service
    service.store.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def _catalog(svc, n=240):
    rng = random.Random(7)
    for p in ("risk", "clinic", "ops"):
        svc.create_project(ALICE, m.ProjectCreate(name=p))
    svc.set_member(ALICE, "clinic", m.MemberSet(user="bob", designation="owner"))
    svc.set_member(ALICE, "ops", m.MemberSet(user="carol", designation="steward"))
    svc.set_member(ALICE, "clinic", m.MemberSet(user="carol", designation="consumer"))
    for i in range(n):
        who = BOB if i % 5 == 0 else ALICE
        project = "clinic" if who is BOB else rng.choice(["risk", "clinic", "ops"])
        words = rng.sample(WORDS, rng.randint(1, 3))
        svc.publish(who, m.Publish(
            name=f"a{i:03d}", kind=rng.choice(["dataset", "dataset", "model"]) if i % 7 else "model",
            project=project, format="uri", location=f"s3://b/{i}/", description=" ".join(words),
            tags=rng.sample(["pii", "crm", "gold", "raw", "eu"], rng.randint(0, 3)),
            classification=rng.choice(["public", "internal", "confidential", "pii"])))
    with svc.store.transaction() as s:  # a few hidden from search (as deprecation will), feature groups
        s.execute(update(t.Asset).where(t.Asset.name.like("%3")).values(kind="feature_group"))
        s.execute(update(t.Asset).where(t.Asset.name.in_(["a003", "a010", "a017"])).values(listed=False))


def _everything(svc, actor, **query):
    """Every result, page by page (checks the pages cover the total without repeats)."""
    first = svc.search(actor, m.SearchQuery(page_size=100, **query))
    items, page = list(first["items"]), 1
    while len(items) < first["total"]:
        page += 1
        more = svc.search(actor, m.SearchQuery(page_size=100, page=page, **query))["items"]
        assert more, "a page ran out before the total"
        items += more
    assert len({a["name"] for a in items}) == len(items) == first["total"]
    return first, items


def _recount(items):
    facets = {k: Counter(a[k] for a in items) for k in ("kind", "project", "owner", "classification")}
    facets["tag"] = Counter(tag for a in items for tag in a["tags"])
    return {k: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for k, c in facets.items()}


QUERIES = [{}, {"q": "churn"}, {"q": "credit events"}, {"q": "wea"}, {"kind": "model"},
           {"tag": "pii"}, {"q": "loans", "tag": "crm", "classification": "internal"},
           {"project": "clinic", "owner": "bob"}, {"project": "nowhere"}, {"q": "zzz"}, {"q": "%%"}]


def test_totals_and_facets_equal_a_python_recount(svc):
    _catalog(svc)
    with svc.store.transaction(write=False) as s:
        rows = s.execute(select(t.Asset, t.Project.name).join(t.Project, t.Project.id == t.Asset.project_id)
                         .where(t.Asset.listed.is_(True))).all()
    for query in QUERIES:
        for _ in range(2):  # counted, then from the cache
            first, items = _everything(svc, CAROL, **query)
            assert list(first["facets"]) == ["kind", "project", "owner", "classification", "tag"]
            assert first["facets"] == _recount(items), query
        if "q" not in query:  # without words, the set itself is checked against the store
            want = {a.name for a, pname in rows
                    if all([query.get("kind") in (None, a.kind), query.get("project") in (None, pname),
                            query.get("owner") in (None, a.owner), query.get("tag") in [None, *a.tags],
                            query.get("classification") in (None, a.classification)])}
            assert {a["name"] for a in items} == want, query
    assert _everything(svc, CAROL)[0]["total"] == 237
    newest = svc.search(CAROL, m.SearchQuery())["items"]
    assert [a["name"] for a in newest] == [f"a{i:03d}" for i in range(239, 219, -1)]
    # words: every result has all words (as prefixes), and none was left out
    _, items = _everything(svc, CAROL, q="credit events")
    want = {a.name for a, _ in rows if "credit" in a.description and "events" in a.description}
    assert {a["name"] for a in items} == want


def test_any_change_to_assets_is_seen_by_the_next_search(svc):
    _catalog(svc, n=40)
    before = svc.search(CAROL, m.SearchQuery(q="churn"))
    assert svc.search(CAROL, m.SearchQuery(q="churn")) == before  # cached, same answer
    name = before["items"][0]["name"]
    with Store(svc.store.url, migrate=False).transaction() as s:  # another process, raw SQL
        s.execute(text("UPDATE assets SET listed = :f WHERE name = :n"), {"f": False, "n": name})
    after = svc.search(CAROL, m.SearchQuery(q="churn"))
    assert after["total"] == before["total"] - 1 and name not in [a["name"] for a in after["items"]]
    svc.publish(ALICE, m.Publish(name="late", project="risk", format="uri", location="s3://b/late/",
                                 description="churn late", tags=["newtag"]))
    again = svc.search(CAROL, m.SearchQuery(q="churn"))
    assert again["total"] == after["total"] + 1 and again["facets"]["tag"]["newtag"] == 1
    assert svc.search(CAROL, m.SearchQuery())["items"][0]["name"] == "late"
    with svc.store.transaction() as s:
        s.execute(update(t.Asset).where(t.Asset.name == "late").values(tags=["renamed"]))
    assert "renamed" in svc.search(CAROL, m.SearchQuery(q="churn"))["facets"]["tag"]


def test_access_labels_on_a_page_equal_access(svc):
    _catalog(svc, n=60)
    # carol: steward of ops, consumer of clinic, a grant on one risk asset, a request on another
    risk = [a["name"] for a in _everything(svc, ALICE, project="risk")[1]]
    granted = svc.request_access(CAROL, m.AccessRequestCreate(asset=risk[0], reason="r"))
    svc.decide(ALICE, granted["id"], m.Decision(comment="ok"), True)
    svc.request_access(CAROL, m.AccessRequestCreate(asset=risk[1], reason="r"))
    svc.publish(CAROL, m.Publish(name="carols", project="ops", format="uri", location="s3://c/"))
    for actor in (ALICE, BOB, CAROL, Actor("dave")):
        _, items = _everything(svc, actor)
        with svc.store.transaction(write=False) as s:
            principal = svc._principal(s, actor)
            names = svc._project_names(s)
            for item in items:
                a = s.execute(select(t.Asset).where(t.Asset.name == item["name"])).scalar_one()
                assert item["access"] == svc._access(s, principal, a, names[a.project_id]), (actor, item)
    labels = {a["name"]: a["access"] for a in _everything(svc, CAROL)[1]}
    assert labels[risk[0]] == "granted" and labels[risk[1]] == "pending"
