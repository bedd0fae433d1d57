"""Shared steps of the view tests: open JupyterLab as a user with the ML Governance panel shown,
switch tabs, take screenshots into test-artifacts/."""

from __future__ import annotations

import re

from .lab import ARTIFACTS, SERVER_TOKEN

TIMEOUT_MS = 15_000
# Wide enough that a card's charts and tables are readable without horizontal scrolling.
PANEL_WIDTH = 460


def open_panel(page):
    """Open the ML Governance panel of a loaded JupyterLab page; the panel's locator."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="mlgov-sidebar"]')
    tab.wait_for()
    # JupyterLab restores the last layout while starting; open the panel once that is done, and
    # again if the restore closed it after our click.
    page.locator("#jupyterlab-splash").wait_for(state="detached")
    panel = page.locator("#mlgov-sidebar")
    for _ in range(5):
        if panel.is_visible():
            break
        if "lm-mod-current" not in (tab.get_attribute("class") or ""):
            tab.click()
        try:
            panel.wait_for(state="visible", timeout=3_000)
        except PlaywrightTimeout:
            pass
    panel.wait_for(state="visible")
    return panel


def open_lab(browser, base: str, token: str, pages: list, width: int = PANEL_WIDTH):
    """A new browser context logged in by ``token``, with the panel open; (context, page, panel)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    pages.append(page)
    page.goto(f"{base}lab?token={token}")
    panel = open_panel(page)
    page_token = page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).token")
    assert page_token != SERVER_TOKEN, "the browser must act as the user of " + token
    if width:
        widen(page, panel, width)
    return context, page, panel


def widen(page, panel, width: int) -> None:
    """Drag the left area's split handle until the panel is ``width`` pixels wide."""
    box = panel.bounding_box()
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    hb = handle.bounding_box()
    if box is None or hb is None:
        return
    y = hb["y"] + hb["height"] / 2
    x = hb["x"] + hb["width"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + (width - box["width"]), y, steps=4)
    page.mouse.up()


def tab(panel, name: str):
    return panel.get_by_role("tab", name=re.compile(f"^{name}"))


def shot(page, panel, name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    panel.screenshot(path=str(path))
    return str(path)


def dark_theme(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Settings$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Theme$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^JupyterLab Dark$")).click()
    page.locator('body[data-jp-theme-light="false"]').wait_for(state="attached")
    page.wait_for_timeout(300)
