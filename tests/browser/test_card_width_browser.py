"""Issue 13 items 3 and 4 at the sidebar's own widths: a card with two versions whose curves
differ; at 250, 320 and 640 px the rendered card stacks label over value where narrow (no value
wrapping one character a line, no name cut) and the diff summarises curves and fits the panel
(no horizontal scroll). Screenshots in test-artifacts/card-width-*.png."""

from __future__ import annotations

import pytest

from .ui import open_lab, shot, tab, widen

pytestmark = pytest.mark.browser

CARD = "credit-risk-logistic-regression-champion"
WIDTHS = (250, 320, 640)


def _seed(base: str) -> None:
    import mlgov_jupyter
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    alice = mlgov_jupyter.connect(url=base, token="alice-token")
    alice.create_project("credit", description="credit scoring")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6]
    m1 = LogisticRegression(max_iter=2000).fit(X[:400], y[:400])
    alice.card_from_session(m1, CARD, train=(X[:400], y[:400]), test=(X[400:], y[400:]), project="credit")
    m2 = LogisticRegression(max_iter=2000, C=0.05).fit(X[:300], y[:300])
    alice.card_from_session(m2, CARD, train=(X[:300], y[:300]), test=(X[400:], y[400:]), project="credit")
    alice.update_card(CARD, intended_uses={"purpose_of_model": "score credit applications",
                                           "risk_rating": "Medium"})


def _no_horizontal_scroll(panel) -> None:
    over = panel.evaluate(
        """el => [...el.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1
                && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.clientWidth > 0
                && !['SELECT', 'INPUT', 'TEXTAREA'].includes(e.tagName))
               .map(e => e.tagName + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth)""")
    assert over == [], over


def test_card_and_diff_at_sidebar_widths(lab_server, browser, pages):
    _seed(lab_server)
    from playwright.sync_api import expect

    ctx, page, panel = open_lab(browser, lab_server, "alice-token", pages, width=0)
    default = panel.bounding_box()["width"]
    tab(panel, "Cards").click()
    panel.get_by_label("Model cards", exact=True).locator(".jp-mlgov-result").first.click()
    frame = panel.frame_locator("iframe.jp-mlgov-cardFrame")
    expect(frame.locator("h1")).to_contain_text(CARD)
    changes = panel.get_by_label("Changes", exact=True)
    changes.get_by_label("Compare from version", exact=True).select_option("1")
    changes.get_by_role("button", name="Compare").click()
    diff = changes.get_by_label("Differences", exact=True)
    expect(diff).to_contain_text("20 points")
    text = diff.inner_text()
    assert ".value[0]" not in text and ".value[1]" not in text  # no row per coordinate
    assert len(diff.locator("li").all()) < 30

    for width in WIDTHS:
        widen(page, panel, width)
        box = panel.bounding_box()
        assert abs(box["width"] - width) < 12, (box, width)
        page.wait_for_timeout(300)
        # the rendered card: nothing wider than its frame, values not one character a line
        body = frame.locator("body")
        sizes = body.evaluate(
            "b => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert sizes[0] <= sizes[1] + 1, (width, sizes)
        narrowest = body.evaluate(
            """b => Math.min(...[...document.querySelectorAll('table.kv td, table.kv th')]
                   .map(e => e.getBoundingClientRect().width))""")
        if width < 420:  # stacked: each value as wide as the card
            assert narrowest > width - 80, (width, narrowest)
        words = body.evaluate(  # no value broken inside a word it could have kept whole
            """b => [...document.querySelectorAll('td')].filter(td => {
                   const r = document.createRange(); r.selectNodeContents(td);
                   return r.getClientRects().length > 2 * (td.textContent.split(/\\s+/).length + 1);
               }).map(td => td.textContent.slice(0, 40))""")
        assert words == [], (width, words)
        name = frame.locator("h1")
        assert name.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), width  # the name is not cut
        panel.get_by_label("Rendered card", exact=True).scroll_into_view_if_needed()
        shot(page, panel, f"card-width-{width}-card")
        frame.locator("svg").first.scroll_into_view_if_needed()
        svg = frame.locator("svg").first.bounding_box()
        iframe = panel.locator("iframe.jp-mlgov-cardFrame").bounding_box()
        assert svg["x"] + svg["width"] <= iframe["x"] + iframe["width"] + 1, (width, svg, iframe)
        shot(page, panel, f"card-width-{width}-chart")
        # the diff fits the panel
        diff.scroll_into_view_if_needed()
        _no_horizontal_scroll(panel)
        for item in diff.locator("li").all()[:5]:
            b = item.bounding_box()
            assert b["x"] + b["width"] <= box["x"] + box["width"] + 1, (width, b, box)
        changes.scroll_into_view_if_needed()
        shot(page, panel, f"card-width-{width}-diff")
    print(f"default sidebar width: {default:.0f} px")
    ctx.close()
