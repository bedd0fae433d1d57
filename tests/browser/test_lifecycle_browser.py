"""Catalog lifecycle and card filters in the sidebar of a real JupyterLab with the real server
(issue 13): alice (owner) deprecates her dataset on its asset page (reason, replacement; a
Deprecated badge and a notice), it leaves the results until "Show deprecated" is ticked (then
with its badge), bob (a grantee, no owner) sees no lifecycle buttons, alice unpublishes it after
the confirmation (bob's grant ends), and the Cards tab filters by words, status and risk.
Screenshots at the default sidebar width go to test-artifacts/lifecycle-*.png."""

from __future__ import annotations

import pytest

from .lab import ARTIFACTS
from .ui import open_lab

pytestmark = pytest.mark.browser


def _seed(base: str) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mlgov_jupyter

    alice = mlgov_jupyter.connect(url=base, token="alice-token")
    bob = mlgov_jupyter.connect(url=base, token="bob-token")
    alice.create_project("risk", description="credit risk")
    df = pd.DataFrame({"customer": range(40), "tenure": [i % 9 for i in range(40)],
                       "churned": [i % 3 == 0 for i in range(40)]})
    alice.publish(df, name="churn-events", project="risk", description="customer churn events, old labels")
    alice.publish(df.assign(tenure=df.tenure + 1), name="churn-events-v2", project="risk",
                  description="customer churn events, labels fixed")
    bob.subscribe("churn-events", reason="retention study")
    alice.approve(alice.requests(incoming=True, status="pending")[0]["id"])
    X, y = df[["customer", "tenure"]], df["churned"]
    for name, use, risk in (("tumour-screen", "mammography referral triage", "High"),
                            ("churn-offers", "retention offers for marketing", "Low")):
        alice.card_from_session(LogisticRegression().fit(X, y), name, train=(X, y), project="risk")
        alice.update_card(name, intended_uses={"purpose_of_model": use, "risk_rating": risk})


def _shot(panel, name: str, show=None) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if show is not None:
        show.scroll_into_view_if_needed()
    panel.screenshot(path=str(ARTIFACTS / f"lifecycle-{name}.png"))


def _results(panel):
    return panel.get_by_label("Search results", exact=True).locator(".jp-mlgov-result")


def _search(panel, words: str):
    panel.get_by_role("tab", name="Catalog").click()
    search = panel.get_by_label("Search the catalog", exact=True)
    search.fill(words)
    search.press("Enter")


def _no_horizontal_scroll(panel) -> None:
    overflow = panel.evaluate(
        "el => [...el.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1 "
        "&& ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.clientWidth > 0).map(e => e.className)")
    assert not overflow, overflow


def test_deprecate_show_unpublish_and_filter_cards(lab_server, browser, pages):
    _seed(lab_server)
    from playwright.sync_api import expect

    import mlgov_jupyter

    _ctx, _page, panel = open_lab(browser, lab_server, "alice-token", pages, width=0)
    _search(panel, "churn events")
    expect(_results(panel)).to_have_count(2)
    _results(panel).filter(has_text="churn-events").filter(has_text="old labels").click()
    detail = panel.locator(".jp-mlgov-asset")
    expect(detail.locator(".jp-mlgov-assetName")).to_have_text("churn-events")
    lifecycle = detail.get_by_label("Lifecycle", exact=True)
    lifecycle.get_by_role("button", name="Deprecate…").click()
    form = lifecycle.get_by_role("form", name="Deprecate")
    form.get_by_role("button", name="Deprecate").is_disabled()
    form.get_by_label("Reason", exact=True).fill("labels fixed in churn-events-v2")
    form.get_by_label("Replacement (optional)", exact=True).fill("churn-events-v2")
    form.get_by_role("button", name="Deprecate").click()
    expect(detail.locator(".jp-mlgov-assetTitle .jp-mlgov-deprecated")).to_have_text("Deprecated")
    notice = detail.locator(".jp-mlgov-lifecycleNotice")
    expect(notice).to_contain_text("Deprecated by alice on 20")
    expect(notice).to_contain_text("Use churn-events-v2 instead.")
    _shot(panel, "asset-deprecated", notice)
    _no_horizontal_scroll(panel)

    panel.get_by_role("button", name="‹ Back to results").click()
    _search(panel, "churn events")
    expect(_results(panel)).to_have_count(1)
    expect(_results(panel).first).to_contain_text("churn-events-v2")
    panel.get_by_role("checkbox", name="Show deprecated").check()
    expect(_results(panel)).to_have_count(2)
    old = _results(panel).filter(has_text="old labels")
    expect(old.locator(".jp-mlgov-deprecated")).to_have_text("Deprecated")
    expect(_results(panel).filter(has_text="labels fixed").locator(".jp-mlgov-deprecated")).to_have_count(0)
    _shot(panel, "results-show-deprecated")
    _no_horizontal_scroll(panel)

    # bob holds a grant, owns nothing: the badge, no lifecycle buttons
    _bctx, _bpage, bob_panel = open_lab(browser, lab_server, "bob-token", pages, width=0)
    _search(bob_panel, "churn events")
    bob_panel.get_by_role("checkbox", name="Show deprecated").check()
    expect(_results(bob_panel)).to_have_count(2)
    _results(bob_panel).filter(has_text="old labels").click()
    bob_detail = bob_panel.locator(".jp-mlgov-asset")
    expect(bob_detail.locator(".jp-mlgov-lifecycleNotice")).to_contain_text("Use churn-events-v2 instead.")
    expect(bob_detail.get_by_label("Lifecycle", exact=True)).to_have_count(0)

    # alice unpublishes after the confirmation; bob's grant ends
    old.click()
    lifecycle = detail.get_by_label("Lifecycle", exact=True)
    lifecycle.get_by_role("button", name="Unpublish…").click()
    form = lifecycle.get_by_role("form", name="Unpublish")
    expect(form.locator(".jp-mlgov-lifecycleWarn")).to_contain_text("This cannot be undone.")
    form.get_by_label("Reason", exact=True).fill("consent withdrawn")
    _shot(panel, "unpublish-confirm", form)
    _no_horizontal_scroll(panel)
    form.get_by_role("button", name="Unpublish for good").click()
    expect(detail.locator(".jp-mlgov-unpublishedNotice")).to_contain_text(
        "Unpublished by alice on 20")
    expect(detail.get_by_label("Lifecycle", exact=True)).to_have_count(0)
    expect(detail.get_by_label("Access", exact=True)).to_have_count(0)  # nobody can use it
    _shot(panel, "asset-unpublished", detail.locator(".jp-mlgov-unpublishedNotice"))
    bob = mlgov_jupyter.connect(url=lab_server, token="bob-token")
    assert [(s["status"], s["grant_status"]) for s in bob.subscriptions()] == [("revoked", "revoked")]

    # the Cards tab's filters
    panel.get_by_role("tab", name="Cards").click()
    cards = panel.get_by_label("Model cards", exact=True).locator(".jp-mlgov-result")
    expect(cards).to_have_count(2)
    panel.get_by_label("Search model cards", exact=True).fill("mammography")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("tumour-screen")
    panel.get_by_label("Risk rating", exact=True).select_option("High")
    panel.get_by_label("Card status", exact=True).select_option("Draft")
    expect(cards).to_have_count(1)
    _shot(panel, "cards-filtered")
    _no_horizontal_scroll(panel)
    panel.get_by_label("Risk rating", exact=True).select_option("Low")
    expect(cards).to_have_count(0)
    expect(panel.locator(".jp-mlgov-cardsView .jp-mlgov-empty")).to_have_text("No model cards match these filters.")
    panel.get_by_label("Search model cards", exact=True).fill("")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("churn-offers")
