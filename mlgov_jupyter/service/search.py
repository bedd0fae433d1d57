"""Catalog search: one page of listed assets with its total and facet counts, counted in SQL.

Two ways to count, both exact up to ``SEARCH_EXACT_TOTAL``:

- no words and no filters (the sidebar's open): the total and facets are read from
  ``search_facet_counts``, which triggers on ``assets`` keep (migration 0019); the page is the
  newest assets, from the ``updated_at`` index. Exact at any size.
- words or filters: the matches are taken newest first (by asset id, the order of publishing),
  at most ``SEARCH_EXACT_TOTAL`` + 1 of them. Up to ``SEARCH_EXACT_TOTAL`` matches, the total,
  facets and page are exact; past it the answer says ``total_is_lower_bound: true`` and its
  total (``SEARCH_EXACT_TOTAL``), facets and best-first page are those of the newest
  ``SEARCH_EXACT_TOTAL`` matches (as GitHub's "10,000+" and Elasticsearch's track_total_hits).

Answers are cached per query under the store's search generation (migration 0014), so a
repeated query reads its counts and page order from memory and is never stale.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import NamedTuple

from sqlalchemy import (Float, Integer, String, bindparam, cast, func, literal, literal_column, null, or_, select, text,
                        true, union_all)
from sqlalchemy import column as sa_column, table as sa_table
from sqlalchemy.orm import Session

from .. import views
from ..core import authz
from ..core import models as m
from ..core.authz import Resource
from ..store import tables as t
from .base import Actor, aware

FACETS = ("kind", "project", "owner", "classification", "tag")
LOOP_WORD_CHARS = 4  # search_loop_seconds: a shorter word goes to the search threads at once
SEARCH_CACHE_ENTRIES = 256  # per service: (query, filters) counts and page orders of one generation
CANDIDATES_PER_MATCH_WALKED = 0.5  # measured at 100k on SQLite: reading a filter's candidate costs
# ~2x testing one word match against them (0.7 vs 0.4 us of CPU): candidates first when C^2 <= 0.5 * 1,000 * N
CANDIDATES_JOINED_PER_MATCH_WALKED = 0.05  # measured likewise: a candidate joined costs ~0.27 us more
# (its table, index and Bloom filter) and saves ~0.05 us per match walked, so it pays when the walk is
# over 5.6 C; at most 1,000 * N / C matches are walked, fewer for a rarer word (unknown beforehand):
# joined when C^2 <= 0.05 * 1,000 * N (a joined candidate that the walk does not need costs 0.27 us)
SEARCH_EXACT_TOTAL = 1_000  # matches counted exactly; past it the total is a lower bound (measured:
# at 100k assets on SQLite a query's CPU time grows ~5 us per match counted, bm25 ~3 us of it)


class SearchService:
    """``search``: the catalog's search box, facets and pages (mixed into CatalogService)."""

    def search(self, actor: Actor, q: m.SearchQuery) -> dict:
        """One page of listed assets matching the words (all of them, as prefixes, stemmed) and
        filters, best first (newest first without words), with facet counts.

        Returns ``{"total": int, "total_is_lower_bound": bool, "page", "page_size",
        "items": [asset summary], "facets": {facet: {value: count}}}``: ``total`` is exact
        unless ``total_is_lower_bound`` (more than ``SEARCH_EXACT_TOTAL`` matches: then total,
        facets and the pages are those of the newest ``SEARCH_EXACT_TOTAL`` matches, and pages
        past them are empty). Raises Forbidden if the caller may not search."""
        with self.store.transaction(write=False, deadline=search_deadline.get()) as s:
            principal = self._authorize(s, actor, authz.CATALOG_SEARCH, Resource(type="catalog"))
            match = None
            if q.q.strip():
                match = _fts_query(q.q)
                if match is None:
                    return _empty_page(q)
            words = tuple(re.findall(r"\w+", q.q)) if match else ()
            names = self._project_names(s)
            project_id = {v: k for k, v in names.items()}.get(q.project, -1) if q.project else None

            cache = self._search_cache(s)
            generation = s.connection().execute(_GENERATION).scalar() if cache.size else None
            key = (words, q.kind, project_id, q.owner, q.classification, q.tag, q.include_deprecated)
            counted = cache.get(generation, key)
            ids = cache.get(generation, (key, q.page, q.page_size)) if counted else None
            if counted is None or ids is None:
                if words or q.kind or project_id is not None or q.owner or q.classification or q.tag:
                    counted, ids = self._count_matches(s, q, words, match, project_id)
                else:
                    counted, ids = _stored_counts(s, q.include_deprecated), _newest_page(s, q)
                cache.put(generation, key, counted)
                cache.put(generation, (key, q.page, q.page_size), ids)
            total, bounded, counts = counted
            named = cache.get(generation, (key, "#facets"))  # (project names, facets) sorted once
            if named is None or named[0] != names:
                named = (names, _facets(counts, names))
                cache.put(generation, (key, "#facets"), named)
            return {"total": total, "total_is_lower_bound": bounded, "page": q.page, "page_size": q.page_size,
                    "items": self._search_items(s, principal, ids, names, cache, generation),
                    "facets": {facet: dict(values) for facet, values in named[1].items()}}

    @property
    def search_executor(self) -> ThreadPoolExecutor:
        """The threads hosts run searches on, apart from every other call's: ``limits.search_workers``
        and one more. Hosts give each user one of them at a time (``server/budgets.Turns``), and
        users who searched much lately ``search_workers`` of them together (``SearchShares``): the
        last is kept for the others. More threads than that only contend for the interpreter lock
        (a search is mostly Python)."""
        return self._threads("_search_pool", max(1, self.limits.search_workers) + 1, "mlgov-search")

    def search_loop_seconds(self, words: str) -> float:
        """Seconds a search for ``words`` (the query's text) may run on a host's event loop before
        it is stopped (``OverDeadline``, under ``search_deadline``) and run again on
        ``search_executor``; 0: on the threads at once. ``limits.search_loop_ms`` with a SQLite store
        for an ASCII search with no words or one token (as FTS5 splits: "id_col" is two) of at least
        ``LOOP_WORD_CHARS`` characters; else 0 (red team R18: one "word" of 70 tokens, a phrase
        FTS5 reads in steps the deadline cannot stop, held the loop 42-138 ms; R19: unicode61
        splits on 21 characters Python's regex counts as letters, e.g. U+19B0).

        Why: at 100k on SQLite a rare word over REST took 2.0-2.3 ms of server CPU a request on the
        loop, 2.9-3.5 on one thread and 3.1-5.9 on the shared pool (1 to 8 clients: the hand-over and
        the interpreter lock cost more than the search). A deadline stops statements between SQLite's
        steps, but not FTS5's expansion of a prefix into every index term it begins, which is one
        step: one word of 4+ characters took at most 42 ms, 'tag' (50 terms) 30 ms, four 3-letter
        words 160-340 ms and a hundred one-letter words 0.5 s. With a server database a search waits
        on the network: on the threads."""
        if not self.store.is_sqlite:
            return 0.0
        if not words.isascii():  # unicode61 splits on characters Python counts as letters (R19 F1)
            return 0.0
        found = re.findall(r"[A-Za-z0-9]+", words)  # FTS5's tokens of ASCII text (unicode61)
        if len(found) > 1 or (found and len(found[0]) < LOOP_WORD_CHARS):
            return 0.0
        return self.limits.search_loop_ms / 1000

    def _count_matches(self, s: Session, q: m.SearchQuery, words: tuple, match: str | None,
                       project_id: int | None) -> tuple[tuple, list[int]]:
        """((total, total_is_lower_bound, facet counts), page ids) of a query with words or
        filters, in one statement over its newest ``SEARCH_EXACT_TOTAL`` + 1 matches."""
        sqlite = self.store.is_sqlite
        if not sqlite:
            # for this transaction: a plan for these values, never the generic plan PostgreSQL
            # switches a prepared statement to after five runs (psycopg prepares a statement run
            # five times: a word with a project then walked the word's matches, 20 -> 100 ms), and
            # no parallel workers (starting one costs more than these few-millisecond reads save)
            s.execute(_PLAN_PER_VALUES)
        extra = self._card_only_models(s, words, match) if match else []
        smallest, joined = self._filter_candidates(s, q, project_id) if match and sqlite else (None, False)
        joined = joined and not extra
        params = {"match": match, "kind": q.kind, "project_id": project_id, "owner": q.owner,
                  "classification": q.classification, "tag": q.tag,
                  "first": (q.page - 1) * q.page_size, "last": q.page * q.page_size}
        if smallest is not None:
            params["candidate"] = {"kind": q.kind, "owner": q.owner, "classification": q.classification,
                                   "project": project_id, "tag": q.tag}[smallest]
        if extra:
            params["extra"] = json.dumps(extra) if sqlite else extra
        if match and not sqlite:
            params["tsquery"] = " & ".join(f"{w}:*" for w in words)
        shape = (SEARCH_EXACT_TOTAL, sqlite, bool(match), smallest, joined, bool(extra), q.include_deprecated,
                 bool(q.kind), project_id is not None, bool(q.owner), bool(q.classification), bool(q.tag))
        rows = [tuple(r) for r in s.connection().execute(_count_statement(*shape), params).all()]
        ids = [int(v) for _f, v, _n in sorted((r for r in rows if r[0] == "#page"), key=lambda r: r[2])]
        counts = [r for r in rows if r[0] not in ("", "#page")]
        total = next(n for f, _v, n in rows if f == "")
        bounded = total > SEARCH_EXACT_TOTAL
        return (min(total, SEARCH_EXACT_TOTAL), bounded, counts), ids

    def _filter_candidates(self, s: Session, q: m.SearchQuery, project_id: int | None) -> tuple[str | None, bool]:
        """The query's most selective filter (``kind``, ``owner``, ``classification``, ``tag`` or
        ``project``), when its ids are few enough that testing the words' matches against them
        costs less than reading every matching asset (SQLite): ``_count_statement`` then takes
        them from that filter's own index (and asset_tags' key when a tag is asked for too; the
        outer query applies every filter). The smallest filter's count C comes from
        ``search_facet_counts``; the words' walk reads at most ``SEARCH_EXACT_TOTAL`` * N / C
        assets before it has enough (N listed assets). Returns (None, False) to walk as before,
        else (the filter, whether its candidates are few enough to be joined: C^2 <= 0.05 * 1,000
        * N, where the walk's probes of an IN list, up to ~1,000 * N / C, cost more than a Bloom
        filter and an index of the C ids); the answer is the same either way, only the order of
        work changes."""
        wanted = {f: v for f, v in (("kind", q.kind), ("owner", q.owner), ("classification", q.classification),
                                    ("tag", q.tag), ("project", None if project_id is None else str(project_id)))
                  if v}
        if not wanted:
            return None, False
        rows = s.connection().execute(_facet_counts_statement(q.include_deprecated, tuple(wanted)),
                                      {f"v_{f}": v for f, v in wanted.items()}).all()
        counts = {f: int(n) for f, n in rows}
        smallest = min(wanted, key=lambda f: counts.get(f, 0))
        square, walked = counts.get(smallest, 0) ** 2, SEARCH_EXACT_TOTAL * counts.get("", 0)
        if square > CANDIDATES_PER_MATCH_WALKED * walked:
            return None, False
        return smallest, square <= CANDIDATES_JOINED_PER_MATCH_WALKED * walked

    def _search_cache(self, s: Session) -> "_SearchCache":
        """This service's cache of search counts and page orders: only when the store keeps the
        search generation by triggers (a table rebuilt by a later migration would lose them:
        then nothing is cached)."""
        cache = self.__dict__.get("_search_cache_obj")
        if cache is None:
            if self.store.is_sqlite:
                found = s.execute(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                                       "AND tbl_name = 'assets' AND name LIKE 'assets_search_generation_%'"
                                       )).scalar()
            else:
                found = 3 * s.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = "
                                           "'assets_search_generation' AND tgrelid = 'assets'::regclass"
                                           )).scalar()
            cache = self.__dict__.setdefault("_search_cache_obj",
                                             _SearchCache(SEARCH_CACHE_ENTRIES if found == 3 else 0))
        return cache

    def _search_items(self, s: Session, principal, ids: list[int], names: dict[int, str],
                      cache: "_SearchCache | None" = None, generation=None) -> list[dict]:
        """The page's summaries in ``ids`` order. The rows and latest revisions behind them are
        read for the whole page at once and cached under the search generation (every change
        to an asset, its revisions included, changes it); the caller's access labels are
        computed afresh for every request (grants and requests change outside it)."""
        if not ids:
            return []
        rows = cache.get(generation, ("#items", tuple(ids))) if cache is not None else None
        if rows is None:
            # the page's assets with their latest revision's row count (all a summary reads of
            # it), in one statement built once; rows with the summary's columns, not ORM objects
            # (a REST search of a rare word spent a fifth of its service time building them)
            found = {a.id: (a, _Latest(a.row_count)) for a in s.connection().execute(_PAGE_ASSETS, {"ids": ids})}
            rows = [(_PageAsset(a.id, a.owner, a.project_id), views.asset_summary(a, names[a.project_id], rev, ""))
                    for a, rev in (found[i] for i in ids if i in found)]
            if cache is not None:
                cache.put(generation, ("#items", tuple(ids)), rows)
        access = self._access_labels(s, principal, [a for a, _ in rows], names)
        return [{**summary, "project": names[a.project_id], "tags": list(summary["tags"]), "access": access[a.id]}
                for a, summary in rows]

    def _access_labels(self, s: Session, principal, page: list, names: dict[int, str]) -> dict[int, str]:
        """``_access`` for every asset of a page in a few queries: the caller's active grants and
        pending requests on the page are read at once (one statement); ``_access`` itself labels
        each asset that has one, and one asset of each (designation, published-by-caller) class
        of the others (it reads no more than those two facts of an asset), whose label the class
        shares; a class that neither names a label nor publishes is "none" without asking (such an
        asset has no grant and no request: ``_access`` would read both to say so)."""
        ids = [a.id for a in page]
        now = datetime.now(timezone.utc)
        held = {asset_id for asset_id, expires in s.connection().execute(_HELD, {"ids": ids, "name": principal.name})
                if expires is None or aware(expires) > now}
        labels, by_class = {}, {}
        for a in page:
            pname = names[a.project_id]
            if a.id in held:
                labels[a.id] = self._access(s, principal, a, pname)
                continue
            cls = (principal.designations.get(pname), a.owner == principal.name)
            if cls not in by_class:
                by_class[cls] = self._access(s, principal, a, pname) if cls[1] or cls[0] in _LABELLED else "none"
            labels[a.id] = by_class[cls]
        return labels


# when set (time.monotonic() seconds), a search's statements stop then: OverDeadline (store/db.py)
search_deadline: ContextVar[float | None] = ContextVar("mlgov_search_deadline", default=None)
_HELD = union_all(  # the caller's active grants (and when they end) and pending requests among a page's assets
    select(t.Grant.asset_id, t.Grant.expires_at).where(
        t.Grant.asset_id.in_(bindparam("ids", expanding=True)), t.Grant.grantee == bindparam("name"),
        t.Grant.status == "active"),
    select(t.AccessRequest.asset_id, null()).where(
        t.AccessRequest.asset_id.in_(bindparam("ids", expanding=True)), t.AccessRequest.requester == bindparam("name"),
        t.AccessRequest.status == "pending"))
_GENERATION = text("SELECT value FROM search_generation WHERE id = 1")
_PLAN_PER_VALUES = select(func.set_config("plan_cache_mode", "force_custom_plan", True),
                          func.set_config("max_parallel_workers_per_gather", "0", True))


@functools.lru_cache(maxsize=256)
def _count_statement(bound: int, sqlite: bool, words: bool, candidates: str | None, joined: bool, extra: bool,
                     include_deprecated: bool, kind: bool, project: bool, owner: bool, classification: bool,
                     tag: bool):
    """The counting statement of one query shape (which filters, words, candidates, card-only
    models; ``joined``: the candidates joined, not an IN list, see ``_filter_candidates``) over
    the newest ``bound`` + 1 matches (``SEARCH_EXACT_TOTAL``), built once:
    (facet, value, count) rows, ("", "", total) and ("#page", id, n) rows.
    Its values are bound at execution: ``match`` (SQLite FTS5) or ``tsquery`` (PostgreSQL),
    ``kind``, ``project_id``, ``owner``, ``classification``, ``tag``, ``candidate`` (the value of
    the ``candidates`` filter), ``extra`` (card-only model ids: a JSON list on SQLite, a list
    on PostgreSQL), ``first`` and ``last`` (the page's rows, exclusive and inclusive)."""
    cols = [t.Asset.id, t.Asset.kind, t.Asset.project_id, t.Asset.owner, t.Asset.classification,
            t.Asset.tags, t.Asset.updated_at]
    newest = t.Asset.id.desc()
    if not words:
        stmt = select(*cols, literal(0.0, Float).label("rank"))
    elif sqlite:
        # a model is also found by the words of its card alone (service/lifecycle.py): those
        # few ids join the asset index's matches, ranked after them
        matched = literal_column("asset_fts").op("MATCH")(bindparam("match"))
        if joined:
            # few candidates: read once into a table that the walk of the word's matches probes
            # through a Bloom filter and an automatic index, in this order of loops (matches,
            # candidate, asset: each '+' forbids a lookup the other way round, which would walk
            # the word's matches once per candidate or probe the candidates last); an IN list
            # probed its b-tree for each match (100k, a word in half the catalog and a
            # project's tag: 50,000 probes, ~2-3 ms of the statement's 14)
            cand = _candidates(candidates, tag).cte("candidate").prefix_with("MATERIALIZED")
            stmt = select(*cols, _FTS.c.rank.label("rank")).select_from(_FTS) \
                .join(cand, list(cand.c)[0] == literal_column("+asset_fts.rowid", Integer)) \
                .join(t.Asset, t.Asset.id == literal_column(f"+candidate.{list(cand.c)[0].name}", Integer)) \
                .where(matched)
            newest = _FTS.c.rowid.desc()  # FTS5 reads its matches in this order: no sort
        else:
            fts = select(_FTS.c.rowid.label("id"), _FTS.c.rank.label("rank")).where(matched)
            if candidates is not None:  # the word's matches tested against them: no asset read
                fts = fts.where(literal_column("+asset_fts.rowid", Integer).in_(_candidates(candidates, tag)))
            if extra:
                ids = func.json_each(bindparam("extra", type_=String)).table_valued("value").alias("extra")
                fts = union_all(fts, select(ids.c.value, literal(0.0, Float)))
            fts = fts.subquery("fts")
            stmt = select(*cols, fts.c.rank.label("rank")).join(fts, fts.c.id == t.Asset.id)
            newest = fts.c.id.desc()  # FTS5 reads its matches in this order: no sort
    else:  # PostgreSQL: assets.search_vector, to_tsvector('english', search_text) stored (0019)
        vector = literal_column("assets.search_vector")
        query = func.to_tsquery(literal_column("'english'"), bindparam("tsquery", type_=String))
        found = vector.op("@@")(query)
        stmt = select(*cols, (-func.ts_rank(vector, query)).label("rank")) \
            .where(found | t.Asset.id.in_(bindparam("extra", expanding=True)) if extra else found)
    stmt = stmt.where(t.Asset.listed.is_(True))
    if not include_deprecated:
        stmt = stmt.where(t.Asset.deprecated_at.is_(None))
    if kind:
        stmt = stmt.where(t.Asset.kind == bindparam("kind"))
    if project:
        stmt = stmt.where(t.Asset.project_id == bindparam("project_id"))
    if owner:
        stmt = stmt.where(t.Asset.owner == bindparam("owner"))
    if classification:
        stmt = stmt.where(t.Asset.classification == bindparam("classification"))
    if tag and candidates is None:  # read from asset_tags' primary key (tag, asset_id), newest first: nothing
        # sorted; candidates hold only assets with the tag already (``_candidates``): not tested twice
        stmt = stmt.join(t.AssetTag, (t.AssetTag.asset_id == t.Asset.id) & (t.AssetTag.tag == bindparam("tag")))
        if not words:
            newest = t.AssetTag.asset_id.desc()

    # the newest bound + 1 matches, once; counted past the first of them only
    # when there is that one more (both subqueries are constant: evaluated once)
    found = stmt.order_by(newest).limit(bound + 1).cte("found").prefix_with("MATERIALIZED")
    kept = or_(select(func.count()).select_from(found).scalar_subquery() <= bound,
               found.c.id > select(func.min(found.c.id)).scalar_subquery())
    parts = [select(literal(""), literal(""), func.count()).select_from(found)]
    parts += [select(literal(name), cast(col, String), func.count()).where(kept).group_by(col)
              for name, col in (("kind", found.c.kind), ("project", found.c.project_id),
                                ("owner", found.c.owner), ("classification", found.c.classification))]
    if sqlite:
        tag_value = func.json_each(found.c.tags).table_valued("value").alias("tag")
        parts.append(select(literal("tag"), tag_value.c.value, func.count()).select_from(found).join(tag_value, true())
                     .where(kept, tag_value.c.value.is_not(None)).group_by(tag_value.c.value))
    else:
        tag_value = func.json_array_elements_text(found.c.tags).table_valued("value").alias("tag")
        parts.append(select(literal("tag"), tag_value.c.value, func.count()).select_from(found).join(tag_value, true())
                     .where(kept, func.json_typeof(found.c.tags) == "array").group_by(tag_value.c.value))
    order = func.row_number().over(order_by=[found.c.rank, found.c.updated_at.desc(), found.c.id.desc()])
    ranked = select(found.c.id, order.label("n")).where(kept).subquery("ranked")
    parts.append(select(literal("#page"), cast(ranked.c.id, String), ranked.c.n)
                 .where(ranked.c.n > bindparam("first"), ranked.c.n <= bindparam("last")))
    return union_all(*parts)


@functools.lru_cache(maxsize=64)
def _facet_counts_statement(include_deprecated: bool, facets: tuple):
    """(facet, count) of the listed assets (``""``: all of them) with each facet's value bound
    as ``v_<facet>``, from search_facet_counts; built once per set of facets."""
    c = t.SearchFacetCount
    states = [False, True] if include_deprecated else [False]
    return select(c.facet, func.sum(c.n)).where(
        c.deprecated.in_(states), or_(*[(c.facet == f) & (c.value == bindparam(f"v_{f}", type_=String))
                                        for f in facets], (c.facet == "") & (c.value == ""))).group_by(c.facet)


def _candidates(smallest: str, tag: bool):
    """The ids of the filter ``smallest`` (its value bound as ``candidate``) from its own index,
    and on asset_tags' key when a tag is asked for too (bound as ``tag``)."""
    if smallest == "tag":
        return select(t.AssetTag.asset_id).where(t.AssetTag.tag == bindparam("candidate"))
    col = {"kind": t.Asset.kind, "owner": t.Asset.owner, "classification": t.Asset.classification,
           "project": t.Asset.project_id}[smallest]
    cand = select(t.Asset.id).where(col == bindparam("candidate"))
    if tag:
        cand = cand.where(select(t.AssetTag.asset_id).where(
            t.AssetTag.tag == bindparam("tag"), t.AssetTag.asset_id == t.Asset.id).exists())
    return cand


_LATEST = (select(t.AssetRevision.asset_id, func.max(t.AssetRevision.revision).label("revision"))
           .where(t.AssetRevision.asset_id.in_(bindparam("ids", expanding=True)))
           .group_by(t.AssetRevision.asset_id).subquery("latest"))
_PAGE_ASSETS = (select(*[c for c in t.Asset.__table__.c if c.name not in ("search_text", "glossary_terms")],
                       t.AssetRevision.row_count)
                .join(_LATEST, _LATEST.c.asset_id == t.Asset.id)
                .join(t.AssetRevision, (t.AssetRevision.asset_id == _LATEST.c.asset_id)
                      & (t.AssetRevision.revision == _LATEST.c.revision)))
_LABELLED = ("owner", "steward", "contributor", "consumer")  # designations _access labels without a grant
_FTS = sa_table("asset_fts", sa_column("rowid", Integer), sa_column("rank", Float))  # FTS5 (migration 0001)


class _Latest(NamedTuple):
    """What a page's summary reads of an asset's latest revision."""
    row_count: int | None


class _PageAsset(NamedTuple):
    """What access labels read of a page's asset (``_access``: its id and owner)."""
    id: int
    owner: str
    project_id: int


def _fts_query(q: str) -> str | None:
    words = re.findall(r"\w+", q)
    return " ".join(f'"{w}"*' for w in words) if words else None


def _stored_counts(s: Session, include_deprecated: bool) -> tuple[int, bool, list]:
    """(total, False, facet counts) of every listed asset, from search_facet_counts."""
    c = t.SearchFacetCount
    states = [False, True] if include_deprecated else [False]
    rows = s.execute(select(c.facet, c.value, func.sum(c.n)).where(c.deprecated.in_(states))
                     .group_by(c.facet, c.value).having(func.sum(c.n) > 0)).all()
    total = sum(int(n) for f, _v, n in rows if f == "")
    return total, False, [(f, v, int(n)) for f, v, n in rows if f != ""]


def _newest_page(s: Session, q: m.SearchQuery) -> list[int]:
    stmt = select(t.Asset.id).where(t.Asset.listed.is_(True))
    if not q.include_deprecated:
        stmt = stmt.where(t.Asset.deprecated_at.is_(None))
    return list(s.execute(stmt.order_by(t.Asset.updated_at.desc(), t.Asset.id.desc())
                          .offset((q.page - 1) * q.page_size).limit(q.page_size)).scalars())


def _facets(counts: list, names: dict[int, str]) -> dict:
    facets = {k: {} for k in FACETS}
    for facet, value, n in counts:
        if facet == "project":
            if int(value) not in names:
                continue
            value = names[int(value)]
        facets[facet][value] = n
    return {k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for k, v in facets.items()}


class _SearchCache:
    """Least recently used answers of one search generation; an answer read under an older
    generation than the newest seen is not kept (it may already be out of date)."""

    def __init__(self, size: int):
        self.size, self.generation, self.data = size, None, OrderedDict()
        self.lock = threading.Lock()

    def get(self, generation, key):
        if not self.size:
            return None
        with self.lock:
            if generation != self.generation:
                return None
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, generation, key, value) -> None:
        if not self.size:
            return
        with self.lock:
            if self.generation is None or generation > self.generation:
                self.generation, self.data = generation, OrderedDict()
            if generation == self.generation:
                self.data[key] = value
                while len(self.data) > self.size:
                    self.data.popitem(last=False)


def _empty_page(q: m.SearchQuery) -> dict:
    return {"total": 0, "total_is_lower_bound": False, "page": q.page, "page_size": q.page_size, "items": [],
            "facets": {k: {} for k in FACETS}}
