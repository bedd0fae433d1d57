"""The ML Governance sidebar in a real JupyterLab with the real extension and server:
alice publishes, bob finds the asset by a word of its description and requests access,
alice approves in her browser, bob sees access granted; alice revokes, bob is back to no access.
A server error shows as one line; the panel is also shot in the dark theme. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from .lab import ARTIFACTS
from .ui import open_lab

pytestmark = pytest.mark.browser

def _seed(base: str) -> None:
    """alice creates project risk and publishes a DataFrame, through the real client over HTTP."""
    import mlgov_jupyter

    alice = mlgov_jupyter.connect(url=base, token="alice-token")
    alice.create_project("risk", description="credit and churn risk")
    df = pd.DataFrame({"customer_id": range(40), "tenure": [i % 7 for i in range(40)],
                       "plan": ["basic", "pro"] * 20, "churned": [i % 3 == 0 for i in range(40)]})
    alice.publish(df, name="churn", project="risk", description="customer churn events",
                  tags=["churn", "crm"], classification="confidential")
    plans = pd.DataFrame({"plan": ["basic", "pro"], "monthly_price": [9.0, 29.0]})
    alice.publish(plans, name="plans", project="risk", description="price plans",
                  tags=["crm"], classification="internal")


def _open_lab(browser, base: str, token: str, pages: list):
    """The panel at JupyterLab's default sidebar width (the other views widen it)."""
    return open_lab(browser, base, token, pages, width=0)


def _shot(page, panel, name: str) -> None:
    panel.screenshot(path=str(ARTIFACTS / f"sidebar-{name}.png"))


def test_request_and_approve_in_the_sidebar(lab_server, browser, pages):
    _seed(lab_server)
    from playwright.sync_api import expect

    # bob searches by a word of the description and opens the asset
    bob_ctx, bob, bob_panel = _open_lab(browser, lab_server, "bob-token", pages)
    expect(bob_panel.locator(".jp-mlgov-user")).to_have_text("bob")
    search = bob_panel.get_by_label("Search the catalog", exact=True)
    search.fill("customer")
    search.press("Enter")
    results = bob_panel.get_by_label("Search results", exact=True).locator(".jp-mlgov-result")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("churn")
    expect(results.first).to_contain_text("no access")
    expect(bob_panel.get_by_role("group", name="Kind")).to_contain_text("dataset1")
    expect(bob_panel.get_by_role("group", name="Classification")).to_contain_text("confidential1")
    _shot(bob, bob_panel, "1-bob-search")

    # a server error shows as one line in the panel (query longer than the API allows)
    search.fill("x" * 300)
    search.press("Enter")
    error = bob_panel.get_by_role("alert")
    expect(error).to_contain_text("256")
    assert "\n" not in error.inner_text().strip().rstrip("×").strip()
    bob_panel.get_by_label("Dismiss error", exact=True).click()
    expect(error).to_have_count(0)
    search.fill("")
    search.press("Enter")
    expect(results).to_have_count(2)
    # facet filter: classification=confidential narrows to churn
    bob_panel.get_by_role("group", name="Classification").get_by_role(
        "button", name=re.compile("^confidential")).click()
    expect(results).to_have_count(1)
    results.first.click()

    detail = bob_panel.locator(".jp-mlgov-asset")
    expect(detail.locator(".jp-mlgov-assetName")).to_have_text("churn")
    expect(detail.get_by_label("Schema", exact=True)).to_contain_text("customer_id")
    expect(detail.get_by_label("Schema", exact=True)).to_contain_text("tenure")
    expect(detail.get_by_label("Revisions", exact=True)).to_contain_text("alice")
    expect(detail.locator(".jp-mlgov-meta")).to_contain_text("confidential")
    detail.get_by_label("Why do you need access?", exact=True).fill("retrain the churn model for Q3")
    _shot(bob, bob_panel, "2-bob-detail")
    detail.get_by_role("button", name="Request access").click()
    expect(detail.locator(".jp-mlgov-assetTitle .jp-mlgov-badge")).to_have_text("pending")
    expect(detail.get_by_label("Access", exact=True)).to_contain_text("Access requested")

    # alice sees the incoming request (with a pending count) and approves it
    alice_ctx, alice, alice_panel = _open_lab(browser, lab_server, "alice-token", pages)
    requests_tab = alice_panel.get_by_role("tab", name=re.compile("Requests"))
    expect(requests_tab.locator(".jp-mlgov-count")).to_have_text("1")
    requests_tab.click()
    incoming = alice_panel.get_by_label("Incoming requests", exact=True).locator(".jp-mlgov-card")
    expect(incoming).to_have_count(1)
    expect(incoming.first).to_contain_text("bob → churn")
    expect(incoming.first).to_contain_text("retrain the churn model for Q3")
    incoming.first.get_by_role("textbox").fill("ok for Q3 retraining")
    _shot(alice, alice_panel, "3-alice-incoming")
    incoming.first.get_by_role("button", name="Approve").click()
    expect(incoming).to_have_count(0)
    expect(requests_tab.locator(".jp-mlgov-count")).to_have_count(0)
    alice_panel.get_by_label("Show requests", exact=True).select_option("accepted")
    expect(incoming.first).to_contain_text("accepted by alice")
    _shot(alice, alice_panel, "4-alice-decided")

    # bob refreshes and sees access granted, and his request accepted with the comment
    bob_panel.get_by_role("button", name="Refresh").click()
    expect(detail.locator(".jp-mlgov-assetTitle .jp-mlgov-badge")).to_have_text("granted")
    expect(detail.get_by_label("Access", exact=True)).to_contain_text("Access granted")
    _shot(bob, bob_panel, "5-bob-granted")
    bob_panel.get_by_role("tab", name=re.compile("Requests")).click()
    mine = bob_panel.get_by_label("My requests", exact=True).locator(".jp-mlgov-card")
    expect(mine.first).to_contain_text("accepted")
    expect(mine.first).to_contain_text("ok for Q3 retraining")
    expect(bob_panel.get_by_label("Incoming requests", exact=True)).to_have_count(0)
    expect(bob_panel.get_by_label("My subscriptions", exact=True)).to_contain_text("grant active")

    # alice revokes the subscription; bob is back to "no access" and may ask again
    alice_panel.get_by_role("button", name="Revoke churn for bob").click()
    expect(alice_panel.get_by_label("Subscribers", exact=True)).to_contain_text("revoked")
    _shot(alice, alice_panel, "6-alice-revoked")
    bob_panel.get_by_role("button", name="Refresh").click()
    expect(bob_panel.get_by_label("My subscriptions", exact=True)).to_contain_text("revoked")
    bob_panel.get_by_role("tab", name="Catalog").click()
    expect(detail.locator(".jp-mlgov-assetTitle .jp-mlgov-badge")).to_have_text("no access")
    expect(detail.get_by_role("button", name="Request access")).to_be_visible()

    # the same panel in the dark theme (theme variables only, no hard-coded colours)
    bob.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Settings$")).click()
    bob.locator(".lm-Menu-itemLabel", has_text=re.compile("^Theme$")).click()
    bob.locator(".lm-Menu-itemLabel", has_text=re.compile("^JupyterLab Dark$")).click()
    expect(bob.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    bob.wait_for_timeout(300)
    _shot(bob, bob_panel, "7-bob-dark")
    bob.screenshot(path=str(ARTIFACTS / "lab-bob-dark.png"))

    alice_ctx.close()
    bob_ctx.close()
