"""Search counted in SQL (totals, facets, the page) and cached per store generation: the same
answers as a recount in Python, on SQLite and (MLGOV_TEST_PG_URL) PostgreSQL; any change to
assets, by any code path, is seen by the next search; access labels equal ``_access``."""

import random
from collections import Counter

import pytest
from sqlalchemy import create_engine, select, text, update

from mlgov_jupyter.core import models as m
from mlgov_jupyter.service import Actor, GovernanceService
from mlgov_jupyter.store import tables as t
from mlgov_jupyter.store.db import Store

ALICE, BOB, CAROL = Actor("alice"), Actor("bob"), Actor("carol")
WORDS = ["churn", "credit", "events", "weather", "loans", "spend"]


@pytest.fixture(params=["sqlite", "postgresql"])
def svc(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'mlgov.sqlite'}" if request.param == "sqlite" else \
        request.getfixturevalue("fresh_pg_url")
    service = GovernanceService(store=Store(url))
    yield service
    service.store.dispose()


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


def _newest_matches(svc, actor, limit, **query):
    """Every match's (id, summary), newest first (by asset id), from pages of a search whose
    bound is lifted: the reference a bounded answer is checked against."""
    from mlgov_jupyter.service import search

    bound = search.SEARCH_EXACT_TOTAL
    search.SEARCH_EXACT_TOTAL = 10**6
    try:
        _, items = _everything(svc, actor, **query)
    finally:
        search.SEARCH_EXACT_TOTAL = bound
    with svc.store.transaction(write=False) as s:
        ids = dict(s.execute(select(t.Asset.name, t.Asset.id)).all())
    return sorted(items, key=lambda a: -ids[a["name"]])[:limit]


@pytest.mark.parametrize("query", [{"q": "churn"}, {"kind": "dataset"}, {"tag": "pii"}, {"q": "credit", "tag": "crm"},
                                   {"classification": "internal", "owner": "alice"}])
def test_past_the_bound_the_total_is_a_lower_bound_and_counts_are_the_newest_matches(svc, monkeypatch, query):
    from mlgov_jupyter.service import search

    _catalog(svc)
    full, _ = _everything(svc, CAROL, **query)
    assert full["total_is_lower_bound"] is False
    bound = max(1, full["total"] // 3)
    newest = _newest_matches(svc, CAROL, bound, **query)
    monkeypatch.setattr(search, "SEARCH_EXACT_TOTAL", bound)
    svc._search_cache_obj = search._SearchCache(0)  # counted afresh
    first = svc.search(CAROL, m.SearchQuery(page_size=100, **query))
    assert first["total"] == bound and first["total_is_lower_bound"] is True, query
    assert first["facets"] == _recount(newest), query  # facets of the newest `bound` matches
    pages = [a["name"] for p in range(1, 50) for a in svc.search(CAROL, m.SearchQuery(page=p, page_size=7,
                                                                                       **query))["items"]]
    assert sorted(pages) == sorted(a["name"] for a in newest)  # pages cover exactly those, once each
    if "q" not in query:  # without words: newest first, as below the bound
        assert pages == [a["name"] for a in sorted(newest, key=lambda a: a["updated_at"], reverse=True)] \
            or len({a["updated_at"] for a in newest}) < len(newest)
    monkeypatch.setattr(search, "SEARCH_EXACT_TOTAL", full["total"])  # exactly at the bound: exact
    exact = svc.search(CAROL, m.SearchQuery(page_size=100, **query))
    assert (exact["total"], exact["total_is_lower_bound"], exact["facets"]) == \
        (full["total"], False, full["facets"])


def test_stored_counts_follow_every_change_to_assets(svc):
    """The sidebar's open reads search_facet_counts (triggers, migration 0019): after inserts,
    updates of every counted column, deprecation, unlisting and deletes by raw SQL, they equal a
    recount, with and without deprecated assets."""
    _catalog(svc, n=80)
    with Store(svc.store.url, migrate=False).transaction() as s:  # another process, raw SQL
        s.execute(text("UPDATE assets SET deprecated_at = created_at WHERE name IN ('a001', 'a002', 'a011')"))
        s.execute(text("UPDATE assets SET kind = 'model', owner = 'zoe', classification = 'pii' WHERE name = 'a004'"))
        s.execute(text("UPDATE assets SET listed = :t WHERE name = 'a003'"), {"t": True})  # listed again
        s.execute(text("UPDATE assets SET listed = :f WHERE name = 'a005'"), {"f": False})
        s.execute(text("UPDATE assets SET project_id = (SELECT id FROM projects WHERE name = 'ops') "
                       "WHERE name = 'a006'"))
    with svc.store.transaction() as s:
        s.execute(update(t.Asset).where(t.Asset.name == "a007").values(tags=["pii", "pii", "new"]))  # each counts
        s.execute(update(t.Asset).where(t.Asset.name == "a008").values(tags=[]))
        for name in ("a009", "a012"):
            a = s.execute(select(t.Asset).where(t.Asset.name == name)).scalar_one()
            s.execute(text("DELETE FROM asset_revisions WHERE asset_id = :id"), {"id": a.id})
            s.execute(text("DELETE FROM asset_fts WHERE rowid = :id"), {"id": a.id}) if svc.store.is_sqlite else None
            s.delete(a)
    for include in (False, True):
        first, items = _everything(svc, CAROL, include_deprecated=include)
        assert first["total_is_lower_bound"] is False
        with svc.store.transaction(write=False) as s:
            rows = s.execute(select(t.Asset.name).where(t.Asset.listed.is_(True), *(
                [] if include else [t.Asset.deprecated_at.is_(None)]))).scalars().all()
        assert sorted(a["name"] for a in items) == sorted(rows)
        assert first["facets"] == _recount(items), include
    with svc.store.transaction(write=False) as s:
        tags = set(s.execute(select(t.AssetTag.tag, t.AssetTag.asset_id)).all())
        want = {(tag, a.id) for a in s.execute(select(t.Asset)).scalars() for tag in a.tags}
    assert tags == want


async def test_rest_and_the_notebook_say_a_bounded_total_honestly(api, monkeypatch):
    """Over the real server: past the bound the answer says total_is_lower_bound and the
    notebook's results read "3+ assets"; the sidebar's open stays exact (stored counts)."""
    from mlgov_jupyter.kernel.widgets.search_results import SearchResults
    from mlgov_jupyter.service import search

    assert (await api("alice", "POST", "projects", {"name": "risk"}))[0] == 201
    for i in range(5):
        body = {"name": f"churn{i}", "project": "risk", "format": "uri", "location": f"s3://b/{i}/",
                "description": "churn scores", "tags": ["crm"]}
        assert (await api("alice", "POST", "assets", body))[0] == 201
    monkeypatch.setattr(search, "SEARCH_EXACT_TOTAL", 3)
    code, page, _ = await api("bob", "GET", "assets", q="churn")
    assert code == 200 and (page["total"], page["total_is_lower_bound"]) == (3, True)
    assert page["facets"]["tag"] == {"crm": 3} and [a["name"] for a in page["items"]] == ["churn4", "churn3", "churn2"]
    results = SearchResults(page, client=None)
    assert repr(results).splitlines()[0].startswith("3+ assets (the newest 3 counted")
    assert "3+ assets" in results._repr_html_()
    code, page, _ = await api("bob", "GET", "assets", q="churn", page=2)
    assert code == 200 and page["items"] == [] and page["total_is_lower_bound"] is True
    code, page, _ = await api("bob", "GET", "assets")
    assert (page["total"], page["total_is_lower_bound"], page["facets"]["tag"]) == (5, False, {"crm": 5})
    assert repr(SearchResults(page, client=None)).splitlines()[0] == "5 asset(s)"


def test_the_migrations_fill_equals_what_the_triggers_kept(svc):
    """Migration 0019 fills asset_tags and search_facet_counts of an existing catalog with its own
    statements: run again on a catalog the triggers kept, they give the same rows."""
    import importlib.util
    from pathlib import Path

    import mlgov_jupyter

    path = Path(mlgov_jupyter.__file__).parent / "store/migrations/versions/0019_search_counts.py"
    spec = importlib.util.spec_from_file_location("mlgov_migration_0019", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    _catalog(svc, n=60)
    with svc.store.transaction() as s:
        s.execute(update(t.Asset).where(t.Asset.name.in_(["a001", "a002"])).values(deprecated_at=t.Asset.created_at))

    def rows(s):
        return (set(s.execute(text("SELECT facet, value, deprecated, n FROM search_facet_counts WHERE n <> 0")).all()),
                set(s.execute(text("SELECT tag, asset_id FROM asset_tags")).all()))

    with svc.store.transaction() as s:
        kept = rows(s)
        s.execute(text("DELETE FROM search_facet_counts"))
        s.execute(text("DELETE FROM asset_tags"))
        pg = not svc.store.is_sqlite
        s.execute(text(migration._FILL_TAGS_PG if pg else migration._FILL_TAGS_SQLITE))
        s.execute(text(migration._FILL_PG if pg else migration._FILL_SQLITE))
        assert rows(s) == kept and len(kept[0]) > 20 and len(kept[1]) > 20


@pytest.mark.parametrize("query", [{"q": "loans", "tag": "crm", "classification": "internal"},
                                   {"q": "churn", "project": "clinic", "tag": "pii"}, {"q": "cred", "owner": "bob"},
                                   {"q": "events weather", "kind": "model", "include_deprecated": True},
                                   {"q": "spend", "project": "nowhere"}, {"q": "churn", "tag": "nosuchtag"}])
def test_words_with_filters_answer_the_same_from_either_side(svc, monkeypatch, query):
    """SQLite takes a query's words and filters from the filters' side (their ids tested against
    the words' index) when the smallest filter is selective, else from the words' side: both give
    the same answer (totals, facets, every page), deprecated and unlisted assets included."""
    from mlgov_jupyter.service import search

    if not svc.store.is_sqlite:
        pytest.skip("one plan on PostgreSQL (its planner picks the side)")
    _catalog(svc)
    with svc.store.transaction() as s:
        s.execute(update(t.Asset).where(t.Asset.name.in_(["a020", "a021", "a040"])).values(deprecated_at=t.Asset.created_at))
    for bound in (1_000, 3):  # exact, and a lower bound (the walks stop at the newest 4 matches)
        monkeypatch.setattr(search, "SEARCH_EXACT_TOTAL", bound)
        answers = []
        # candidates joined always (any count), in an IN list always, never (any count above zero)
        for per_match, joined in ((10.0**9, 10.0**9), (10.0**9, 0.0), (0.0, 0.0)):
            monkeypatch.setattr(search, "CANDIDATES_PER_MATCH_WALKED", per_match)
            monkeypatch.setattr(search, "CANDIDATES_JOINED_PER_MATCH_WALKED", joined)
            svc._search_cache_obj = search._SearchCache(0)
            first, items = _everything(svc, CAROL, **query)
            answers.append((first["total"], first["total_is_lower_bound"], first["facets"],
                            [a["name"] for a in items]))
        assert answers[0] == answers[1] == answers[2], (bound, query)
        assert answers[0][0] > 0 or "nowhere" in str(query) or "nosuchtag" in str(query), query


def test_search_migrations_downgrade_to_0014_and_upgrade_again(svc):
    """Migrations 0019 (search counts, asset_tags; PostgreSQL's stored tsvector) and 0022 (the
    PostgreSQL tally trigger on counted columns only) downgrade to 0014 and upgrade again on a
    real store: their tables, triggers and column go and come back, and the counts the upgrade
    fills equal a recount of assets changed while they were gone."""
    from alembic import command
    from alembic.config import Config

    from mlgov_jupyter.store.db import MIGRATIONS

    _catalog(svc, n=60)
    pg = not svc.store.is_sqlite
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))

    def schema(conn):
        if pg:
            tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
            triggers = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'assets'::regclass "
                                             "AND NOT tgisinternal")).scalars())
            columns = set(conn.execute(text("SELECT column_name FROM information_schema.columns "
                                            "WHERE table_name = 'assets'")).scalars())
        else:
            tables = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars())
            triggers = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                             "AND tbl_name = 'assets'")).scalars())
            columns = {r[1] for r in conn.execute(text("PRAGMA table_info(assets)"))}
        return tables, triggers, columns

    # SQLite: 0018's downgrade rebuilds assets (batch mode), which foreign keys referencing its rows
    # forbid: run as alembic advises for SQLite, on a connection without the Store's foreign_keys=ON
    engine = svc.store.engine if pg else create_engine(svc.store.url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0014"]
        tables, triggers, columns = schema(conn)
        assert not {"asset_tags", "search_facet_counts"} & tables
        assert not [name for name in triggers if "tags" in name or "tally" in name]
        assert "search_vector" not in columns and "deprecated_at" not in columns
        # changed while the counts are gone: the upgrade's fill must see these
        conn.execute(text("UPDATE assets SET tags = :tags, owner = 'zoe' WHERE name = 'a004'"), {"tags": '["new", "pii"]'})
        conn.execute(text("UPDATE assets SET listed = :f WHERE name = 'a005'"), {"f": False})
    with engine.begin() as conn:  # PostgreSQL: after the commit that fires those updates' deferred triggers
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        assert "0022" in conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        tables, triggers, columns = schema(conn)
        assert {"asset_tags", "search_facet_counts"} <= tables and "deprecated_at" in columns
        assert ("search_vector" in columns) is pg
        if pg:  # 0022: the tally fires on the counted columns only
            attrs = conn.execute(text("SELECT tgattr::text FROM pg_trigger WHERE tgname = 'assets_search_tally'")).scalar()
            assert len(attrs.split()) == 7
    if not pg:
        engine.dispose()
    again = GovernanceService(store=Store(svc.store.url))
    try:
        first, items = _everything(again, CAROL)
        assert first["facets"] == _recount(items) and first["facets"]["tag"]["new"] == 1
        assert first["facets"]["owner"]["zoe"] == 1 and "a005" not in {a["name"] for a in items}
        assert _everything(again, CAROL, q="churn", tag="new")[1] == [a for a in items if a["name"] == "a004"
                                                                     and "churn" in a["description"]]
        again.publish(ALICE, m.Publish(name="after", project="risk", format="uri", location="s3://b/after/",
                                       description="after the upgrade", tags=["new"]))
        with again.store.transaction() as s:  # an update of an uncounted column leaves the counts
            s.execute(update(t.Asset).where(t.Asset.name == "a006").values(search_text="moved words", latest_revision=2))
        first, items = _everything(again, CAROL)
        assert first["facets"] == _recount(items) and first["facets"]["tag"]["new"] == 2
    finally:
        again.store.dispose()
