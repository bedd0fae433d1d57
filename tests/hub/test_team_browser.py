"""Team mode in a browser: alice signs in through the hub's login form, her own JupyterLab opens at
/user/alice/lab, and its ML Governance sidebar (forwarded by her server to ``mlgov serve`` with
her token) shows bob's pending request; she approves it there, and bob's kernel can use the data.
Screenshots: /tmp/mlgov-team-*.png."""

from __future__ import annotations

import os
import re
import shutil
import uuid

import pytest

from browser.ui import open_panel
from .harness import kernel_ok

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000
SHOTS = "/tmp/mlgov-team-{}.png"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (see tests/browser/conftest.py)."""
    path = os.environ.get("MLGOV_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not os.path.isfile(path):
        pytest.skip("Chromium not found (apt-get install -y chromium, or set MLGOV_CHROMIUM)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _log_in(browser, hub, user: str):
    """A fresh browser context signed in to the hub as ``user`` by its login form, at their lab."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{hub.url}hub/login?next=/user/{user}/lab")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(f"/user/{user}/lab"))
    return context, page


def test_alice_approves_bobs_request_in_her_hub_lab(hub, browser):
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:8]
    project, asset = f"web-{tag}", f"web-churn-{tag}"
    kernel_ok(hub, "alice", f"""
import pandas as pd, mlgov_jupyter as mg
c = mg.connect()
c.create_project({project!r})
c.publish(pd.DataFrame({{"x": [10, 20, 30]}}), name={asset!r}, project={project!r})
""")
    kernel_ok(hub, "bob", f"import mlgov_jupyter as mg; mg.connect().subscribe({asset!r}, reason='q3 dashboard {tag}')")

    context, page = _log_in(browser, hub, "alice")
    try:
        panel = open_panel(page)
        expect(panel.locator(".jp-mlgov-user")).to_have_text("alice")
        requests_tab = panel.get_by_role("tab", name=re.compile("Requests"))
        requests_tab.click()
        card = panel.get_by_label("Incoming requests", exact=True).locator(".jp-mlgov-card",
                                                                           has_text=asset)
        expect(card).to_have_count(1)
        expect(card).to_contain_text(f"bob → {asset}")
        expect(card).to_contain_text(f"q3 dashboard {tag}")
        card.get_by_role("textbox").fill("approved in team mode")
        page.screenshot(path=SHOTS.format("1-alice-pending"))
        card.get_by_role("button", name="Approve").click()
        expect(card).to_have_count(0)
        page.screenshot(path=SHOTS.format("2-alice-approved"))
    except Exception:
        page.screenshot(path=SHOTS.format("failed"))
        raise
    finally:
        context.close()

    out = kernel_ok(hub, "bob", f"import mlgov_jupyter as mg; print(mg.connect().use({asset!r})['x'].tolist())")
    assert out.strip() == "[10, 20, 30]"
    out = kernel_ok(hub, "bob", f"""
import mlgov_jupyter as mg
print([(r["status"], r["decided_by"], r["decision_comment"]) for r in mg.connect().requests()
       if r["asset"] == {asset!r}])
""")
    assert out.strip() == repr([("accepted", "alice", "approved in team mode")])


def test_a_browser_signs_in_to_the_service_with_hub_oauth(hub, browser):
    """Opening the service itself in a browser: the hub's OAuth (with PKCE) signs alice in and
    the service's own cookie identifies her; without a sign-in the API gives 403, never a 500."""
    import json

    context, page = _log_in(browser, hub, "alice")
    try:
        response = page.goto(f"{hub.url}services/mlgov/api/mlgov/whoami")
        assert response.status == 200, (response.status, page.content()[:500])
        assert json.loads(page.locator("body").inner_text())["name"] == "alice"
        cookies = {c["name"] for c in context.cookies()}
        assert "service-mlgov" in cookies or "__Host-service-mlgov" in cookies, cookies
    finally:
        context.close()
    context = browser.new_context()
    try:
        response = context.request.get(f"{hub.url}services/mlgov/api/mlgov/whoami")
        assert response.status == 403 and "sign in through JupyterHub" in response.json()["message"]
    finally:
        context.close()


def test_the_dashboard_deployment_view_through_the_hub(hub, browser):
    """The sidebar's deployment view in team mode: alice's Lab (her server forwarding to ``mlgov
    serve``) lists her deployment in alert, opens it, and shows its monitor's executions and a
    drift chart per column; bob's Lab shows the same deployment without the charts."""
    from playwright.sync_api import expect

    from browser.ui import tab

    tag = uuid.uuid4().hex[:8]
    dep, monitor = f"web-prod-{tag}", f"web-dq-{tag}"
    kernel_ok(hub, "alice", f"""
import numpy as np, pandas as pd, mlgov_jupyter as mg
from sklearn.linear_model import LogisticRegression
from mlgov_jupyter import monitoring as mon
c = mg.connect()
rng = np.random.default_rng(2)
X = pd.DataFrame({{"age": rng.normal(40, 10, 1000), "income": rng.normal(50, 15, 1000)}})
m = LogisticRegression().fit(X, (X.age > 40).astype(int))
c.publish(m, "web-risk-{tag}")
c.deploy({dep!r}, model="web-risk-{tag}")
served = mg.capture(m, deployment={dep!r}, client=c)
c.create_monitor({monitor!r}, deployment={dep!r}, baseline=mon.fit_baseline(X), schedule="daily")
for shift in (0, 20):
    served.predict(X.assign(age=X.age + shift).iloc[:300]); served.flush()
    c.run_monitor({monitor!r})
""", timeout=180)
    for user, charts in (("alice", True), ("bob", False)):
        context, page = _log_in(browser, hub, user)
        try:
            panel = open_panel(page)
            tab(panel, "Dashboard").click()
            row = panel.get_by_label("Deployments", exact=True).locator(f"tr[data-deployment='{dep}']")
            expect(row).to_contain_text(f"web-risk-{tag}@1")
            expect(row.locator(".jp-mlgov-tone-error")).to_have_text("violation")
            row.get_by_role("button", name=dep).click()
            view = panel.locator(".jp-mlgov-deployment")
            view.get_by_label(f"Monitor {monitor}").get_by_role("button", name=monitor, exact=True).click()
            # the monitor's buttons show to those who may run it only
            expect(view.get_by_role("button", name="Run now")).to_have_count(1 if charts else 0)
            history = view.get_by_label(f"Executions of {monitor}")
            expect(history.locator("tbody tr")).to_have_count(2)
            figures = history.locator("figure.jp-mlgov-chart")
            if charts:
                expect(figures.first).to_be_visible()
                assert history.locator("figure[data-series^='drift:']").count() >= 2
            else:
                expect(figures).to_have_count(0)
            page.screenshot(path=SHOTS.format(f"3-{user}-deployment"))
        except Exception:
            page.screenshot(path=SHOTS.format(f"failed-{user}-deployment"))
            raise
        finally:
            context.close()
