"""In-Lab notifications: an access request reaches the owner's sidebar as a badge on the ML
Governance tab and the Inbox tab, a new one as a toast in JupyterLab's notification centre, and
the Inbox lists them unread first until marked read."""

from __future__ import annotations

import pytest

from helpers import frame

from .ui import open_lab, shot, tab

pytestmark = pytest.mark.browser


def test_inbox_badge_toast_and_list(lab_server, browser, pages):
    import mlgov_jupyter
    from playwright.sync_api import expect

    alice = mlgov_jupyter.connect(url=lab_server, token="alice-token")
    bob = mlgov_jupyter.connect(url=lab_server, token="bob-token")
    alice.publish(frame(), name="churn", description="customer churn by month")
    alice.publish(frame(), name="churn-eu", description="EU customers only")
    bob.subscribe("churn", reason="retention model for Q3")

    ctx, page, panel = open_lab(browser, lab_server, "alice-token", pages)
    sidebar_tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="mlgov-sidebar"]')
    expect(sidebar_tab).to_have_attribute("data-mlgov-unread", "1")
    inbox = tab(panel, "Inbox")
    expect(inbox).to_contain_text("1")
    inbox.click()
    listing = panel.get_by_label("Inbox", exact=True)
    expect(listing.locator(".jp-mlgov-notification.jp-mod-unread")).to_have_count(1)
    expect(listing).to_contain_text("bob asks for access to churn")
    expect(listing).to_contain_text("access.requested")

    # a new request while the page is open: a toast, and the count moves (Refresh polls now)
    bob.subscribe("churn-eu", reason="EU retention")
    panel.get_by_role("button", name="Refresh").click()
    toast = page.locator(".Toastify__toast", has_text="bob asks for access to churn-eu")
    expect(toast).to_be_visible()
    expect(sidebar_tab).to_have_attribute("data-mlgov-unread", "2")
    expect(listing.locator(".jp-mlgov-notification.jp-mod-unread")).to_have_count(2)
    page.wait_for_timeout(800)  # the toast slides in
    page.screenshot(path=shot(page, panel, "notifications-inbox").replace(".png", "-page.png"))

    # the toast's action brings the Inbox forward
    tab(panel, "Catalog").click()
    expect(listing).to_be_hidden()
    toast.get_by_role("button", name="Open inbox").click()
    expect(inbox).to_have_attribute("aria-selected", "true")
    expect(listing).to_be_visible()

    # one marked read by a click, then all
    listing.locator(".jp-mlgov-notification.jp-mod-unread").first.click()
    expect(sidebar_tab).to_have_attribute("data-mlgov-unread", "1")
    expect(listing).to_contain_text("1 unread of 2")
    listing.get_by_role("button", name="Mark all read").click()
    expect(listing.locator(".jp-mlgov-notification.jp-mod-unread")).to_have_count(0)
    expect(sidebar_tab).not_to_have_attribute("data-mlgov-unread", "1")
    assert alice.notifications()["unread"] == 0
    shot(page, panel, "notifications-read")
    ctx.close()
