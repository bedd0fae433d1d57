"""The Cards tab: bob (a contributor) wrote a card from his session; in the sidebar he submits it,
alice (owner of the project, not the author) approves it with a comment; a transition the server
refuses shows as one line. The card shows rendered
by the server (inline SVG charts) in a sandboxed iframe; versions, diff and export work."""

from __future__ import annotations

import pytest

from .ui import dark_theme, open_lab, shot, tab

pytestmark = pytest.mark.browser

CARD = "credit-rf"


def _seed(base: str) -> None:
    import mlgov_jupyter
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    alice = mlgov_jupyter.connect(url=base, token="alice-token")
    alice.create_project("credit", description="credit scoring")
    alice.add_member("credit", "bob", "contributor")
    bob = mlgov_jupyter.connect(url=base, token="bob-token")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6]
    model = LogisticRegression(max_iter=2000).fit(X[:400], y[:400])
    bob.card_from_session(model, CARD, train=(X[:400], y[:400]), test=(X[400:], y[400:]),
                          project="credit")
    bob.update_card(CARD, intended_uses={"purpose_of_model": "score credit <applications>",
                                         "risk_rating": "Medium"})


def test_submit_and_approve_a_card(lab_server, browser, pages):
    _seed(lab_server)
    import mlgov_jupyter
    from playwright.sync_api import expect

    # bob, the author, sees his Draft in the list and submits it for review
    bob_ctx, bob, bob_panel = open_lab(browser, lab_server, "bob-token", pages)
    tab(bob_panel, "Cards").click()
    cards = bob_panel.get_by_label("Model cards", exact=True).locator(".jp-mlgov-result")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(CARD)
    expect(cards.first).to_contain_text("Draft")
    expect(cards.first).to_contain_text("risk Medium")
    expect(cards.first).to_contain_text("v2")
    shot(bob, bob_panel, "cards-1-bob-list")
    cards.first.click()
    review = bob_panel.get_by_label("Review", exact=True)
    expect(bob_panel.get_by_role("button", name="Approve")).to_have_count(0)
    frame = bob_panel.frame_locator("iframe.jp-mlgov-cardFrame")
    expect(frame.locator("h1")).to_contain_text(CARD)
    review.get_by_role("button", name="Submit for review").click()
    expect(bob_panel.locator(".jp-mlgov-assetTitle .jp-mlgov-badge")).to_have_text("pending review")
    expect(bob_panel.get_by_role("button", name="Submit for review")).to_have_count(0)
    shot(bob, bob_panel, "cards-2-bob-submitted")

    # alice (owner of project credit, not the author) approves it with a comment
    alice_ctx, alice, alice_panel = open_lab(browser, lab_server, "alice-token", pages)
    tab(alice_panel, "Cards").click()
    alice_panel.get_by_label("Model cards", exact=True).locator(".jp-mlgov-result").first.click()
    review = alice_panel.get_by_label("Review", exact=True)
    expect(review).to_contain_text("waits for your review")
    send_back = review.get_by_role("button", name="Send back")
    expect(send_back).to_be_disabled()  # a send-back needs a reason
    review.get_by_label("Review comment", exact=True).fill("metrics and intended use look right")
    expect(send_back).to_be_enabled()
    shot(alice, alice_panel, "cards-3-alice-review")

    # meanwhile root (an admin) sends it back: alice's Approve is refused with one line (409)
    root = mlgov_jupyter.connect(url=lab_server, token="root-token")
    root.send_back_card(CARD, comment="add the fairness caveats")
    review.get_by_role("button", name="Approve").click()
    error = alice_panel.get_by_role("alert")
    expect(error).to_contain_text("is Draft; cannot approve")
    assert "\n" not in error.inner_text().strip().rstrip("×").strip()
    # the view reloads to where the card is now: Draft, nothing for alice to review
    expect(alice_panel.locator(".jp-mlgov-assetTitle .jp-mlgov-badge")).to_have_text("Draft")
    expect(alice_panel.get_by_role("button", name="Approve")).to_have_count(0)
    expect(error).to_be_visible()
    shot(alice, alice_panel, "cards-3b-alice-refused")
    alice_panel.get_by_label("Dismiss error", exact=True).click()

    # bob sees why, and submits again
    bob_panel.get_by_role("button", name="Refresh").click()
    expect(bob_panel.locator(".jp-mlgov-meta")).to_contain_text("add the fairness caveats")
    bob_panel.get_by_role("button", name="Submit for review").click()
    expect(bob_panel.locator(".jp-mlgov-assetTitle .jp-mlgov-badge")).to_have_text("pending review")

    alice_panel.get_by_role("button", name="Refresh").click()
    expect(review).to_contain_text("waits for your review")
    review.get_by_role("button", name="Approve").click()
    title = alice_panel.locator(".jp-mlgov-assetTitle .jp-mlgov-badge")
    expect(title).to_have_text("Approved")
    meta = alice_panel.locator(".jp-mlgov-meta")
    expect(meta).to_contain_text("Approved by")
    expect(meta).to_contain_text("metrics and intended use look right")
    # owners may still archive; nobody may approve twice
    expect(alice_panel.get_by_role("button", name="Archive")).to_be_visible()
    expect(alice_panel.get_by_role("button", name="Approve")).to_have_count(0)

    # rendered with its charts, user text escaped, in a sandbox without scripts
    iframe = alice_panel.locator("iframe.jp-mlgov-cardFrame")
    assert iframe.get_attribute("sandbox") == ""
    frame = alice_panel.frame_locator("iframe.jp-mlgov-cardFrame")
    expect(frame.locator("h1")).to_contain_text(CARD)
    expect(frame.locator("svg").first).to_be_attached()
    expect(frame.locator("body")).to_contain_text("score credit <applications>")
    assert frame.locator("applications").count() == 0
    expect(frame.locator("body")).to_contain_text("Approved")
    alice_panel.get_by_label("Rendered card", exact=True).scroll_into_view_if_needed()
    frame.locator("svg").first.scroll_into_view_if_needed()
    shot(alice, alice_panel, "cards-4-alice-approved")

    # versions: v1 renders on its own; the diff v1 -> v2 names what bob changed
    alice_panel.get_by_label("Version", exact=True).select_option("1")
    expect(iframe).to_have_attribute("title", f"Model card {CARD} version 1")
    expect(frame.locator("body")).not_to_contain_text("score credit")
    changes = alice_panel.get_by_label("Changes", exact=True)
    changes.get_by_role("button", name="Compare").click()
    diff = changes.get_by_label("Differences", exact=True)
    expect(diff).to_contain_text("intended_uses")
    expect(diff).to_contain_text("Medium")
    changes.scroll_into_view_if_needed()
    shot(alice, alice_panel, "cards-5-diff")

    # export through the same endpoint: a Markdown download of the chosen version
    with alice.expect_download() as info:
        alice_panel.get_by_role("button", name="Markdown").click()
    download = info.value
    assert download.suggested_filename == f"{CARD}-v1.md"
    assert CARD in open(download.path(), encoding="utf-8").read()

    # bob refreshes: approved, and the dark theme keeps the panel readable
    bob_panel.get_by_role("button", name="Refresh").click()
    expect(bob_panel.locator(".jp-mlgov-assetTitle .jp-mlgov-badge")).to_have_text("Approved")
    dark_theme(bob)
    shot(bob, bob_panel, "cards-6-bob-dark")

    alice_ctx.close()
    bob_ctx.close()
