"""Catalog search past the service's exact-count bound in the sidebar of a real JupyterLab
(issue 13): over a catalog of 2,500 assets the open (no words) reads "2,500 assets" (stored
counts, exact); a word in half of them reads "1,000+ assets" with a tooltip saying what was
counted, its facet counts are those of the newest 1,000 matches (said above them) and the pager
stops at them. A search of more than 8 words is refused with one line in the panel (each word is a
prefix FTS5 expands; red team R21 F2).
Screenshot at the default sidebar width: test-artifacts/search-bound.png."""

from __future__ import annotations

import sys

import pytest

from .lab import ARTIFACTS, REPO, LabServer
from .ui import open_lab

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def big_lab(tmp_path_factory):
    """A lab server over a store of 2,500 assets, built by the search benchmark's bulk loader
    (the store's own tables and triggers; 'shared' is in every second asset)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from catalog_search import build
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    tmp = tmp_path_factory.mktemp("lab")
    build(f"sqlite:///{tmp / 'mlgov.sqlite'}", 2500, batch=2500)
    server = LabServer(tmp).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_a_broad_word_reads_1000_plus(big_lab, browser, pages):
    from playwright.sync_api import expect

    from mlgov_jupyter.service.search import SEARCH_EXACT_TOTAL

    _ctx, _page, panel = open_lab(browser, big_lab, "alice-token", pages, width=0)
    header = panel.locator(".jp-mlgov-resultsHeader")
    expect(header).to_contain_text("2,500 assets")  # the open: exact
    search = panel.get_by_label("Search the catalog", exact=True)
    search.fill("shared")
    search.press("Enter")
    bound = f"{SEARCH_EXACT_TOTAL:,}"
    expect(header).to_contain_text(f"{bound}+ assets")
    assert f"newest {bound}" in header.get_attribute("title")
    expect(header).to_contain_text(f"1 / {SEARCH_EXACT_TOTAL // 20}")  # pages: the newest 1,000 only
    facets = panel.locator(".jp-mlgov-facets > summary")
    expect(facets).to_contain_text(f"counts of the newest {bound}")
    kinds = panel.get_by_role("group", name="Kind", exact=True).locator(".jp-mlgov-facetCount")
    counts = [int(kinds.nth(i).inner_text()) for i in range(kinds.count())]
    assert sum(counts) == SEARCH_EXACT_TOTAL, counts  # the kinds of exactly the newest 1,000
    ARTIFACTS.mkdir(exist_ok=True)
    panel.screenshot(path=str(ARTIFACTS / "search-bound.png"))
    # nine words: one line saying why, in the panel; eight are searched
    search.fill("shared a b c d e f g h")
    search.press("Enter")
    expect(panel.get_by_role("alert")).to_contain_text("a search takes at most 8 words")
    search.fill("shared a b c d e f g")
    search.press("Enter")
    expect(panel.get_by_role("alert")).to_have_count(0)
