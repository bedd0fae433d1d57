"""Issue 13 item 8: the demo shows every feature. The demo store (mlgov_jupyter.demo.seed) under a
real JupyterLab whose admin is the demo user (as `make demo` starts it): the Roles tab is there,
Cards shows the approved card, Dashboard the deployment, its monitor's open alert and the model's
checks. Screenshots test-artifacts/demo-*.png at the sidebar's default width."""

from __future__ import annotations

import pytest

from .ui import open_lab, shot, tab

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_lab(tmp_path_factory):
    from .conftest import _missing
    from .lab import LabServer, installed_labextension

    if installed_labextension() is None:
        _missing("the mlgov-jupyter labextension is not installed")
    server = LabServer(tmp_path_factory.mktemp("demo")).start()
    try:
        from mlgov_jupyter.demo import seed

        result = seed(f"sqlite:///{server.tmp / 'mlgov.sqlite'}", you="root")  # root: the admin
        assert result["seeded"] and result["runs"] == ["Completed", "Completed", "CompletedWithViolations"]
        yield server.url
    finally:
        server.stop()


def test_the_demo_fills_every_tab(demo_lab, browser, pages):
    from playwright.sync_api import expect

    ctx, page, panel = open_lab(browser, demo_lab, "root-token", pages, width=0)
    expect(tab(panel, "Roles")).to_be_visible()
    tab(panel, "Cards").click()
    cards = panel.get_by_label("Model cards", exact=True).locator(".jp-mlgov-result")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("cancer-screening")
    expect(cards.first).to_contain_text("Approved")
    shot(page, panel, "demo-1-cards")
    cards.first.click()
    frame = panel.frame_locator("iframe.jp-mlgov-cardFrame")
    expect(frame.locator("body")).to_contain_text("Test data evaluation")
    expect(frame.locator("svg").first).to_be_attached()
    meta = panel.locator(".jp-mlgov-meta dd")
    cut = meta.evaluate_all("els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)")
    assert cut == []  # the card's facts wrap, none cut off
    expect(panel.locator(".jp-mlgov-meta")).to_contain_text("evaluation on held-out data reviewed")
    shot(page, panel, "demo-2-card")
    tab(panel, "Dashboard").click()
    alerts = panel.get_by_label("Alerts", exact=True)
    expect(alerts).to_contain_text("cancer-screening")
    expect(alerts.locator(".jp-mlgov-count")).to_be_visible()
    models = panel.get_by_label("Models", exact=True).locator("tbody tr")
    screening = models.filter(has_text="cancer-screening")
    expect(screening.locator(".jp-mlgov-badge").first).to_have_text("InAlert")
    expect(screening).to_contain_text("Approved")
    expect(panel).to_contain_text("cancer-screening-prod")
    shot(page, panel, "demo-3-dashboard")
    ctx.close()
