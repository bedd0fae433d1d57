"""Issue 13 item 9 in the sidebar at its default width: a model never checked reads "Not
monitored" (not a green OK), an acknowledged alert is muted (grey "InAlert ✓", not counted as
open) beside an open one (red), and a clean model is OK. Screenshots test-artifacts/truth-*.png."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from .ui import open_lab, shot, tab

pytestmark = pytest.mark.browser


def _seed(base: str) -> None:
    import mlgov_jupyter
    from mlgov_jupyter import monitoring as mon
    from sklearn.linear_model import LogisticRegression

    alice = mlgov_jupyter.connect(url=base, token="alice-token")
    alice.create_project("ops", description="models in production")
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"age": rng.normal(40, 5, 300), "income": rng.normal(50, 10, 300)})
    drifted = pd.DataFrame({"age": rng.normal(55, 5, 300), "income": rng.normal(50, 10, 300)})
    baseline = mon.fit_baseline(ref)
    model = LogisticRegression().fit([[0], [1]], [0, 1])
    for name in ("fraud-model", "churn-model", "demand-model", "idle-model"):
        alice.publish(model, name=name, project="ops", description=name)
    for name in ("fraud-model", "churn-model"):
        alice.record_execution(name, mon.check(baseline, drifted).to_dict())
    alice.record_execution("demand-model", mon.check(baseline, ref).to_dict())
    alice.acknowledge_alert("churn-model", comment="retraining on May data")


def test_dashboard_states_tell_the_truth(lab_server, browser, pages):
    _seed(lab_server)
    from playwright.sync_api import expect

    ctx, page, panel = open_lab(browser, lab_server, "bob-token", pages, width=0)
    tab(panel, "Dashboard").click()
    models = panel.get_by_label("Models", exact=True).locator("tbody tr")
    expect(models).to_have_count(4)
    row = {n: models.filter(has_text=n) for n in ("fraud", "churn", "demand", "idle")}
    expect(row["idle"].locator(".jp-mlgov-tone-info")).to_have_text("Not monitored")
    expect(row["idle"].locator(".jp-mlgov-tone-ok")).to_have_count(0)
    assert "never checked" in row["idle"].locator(".jp-mlgov-badge").first.get_attribute("title").lower()
    expect(row["demand"].locator(".jp-mlgov-tone-ok")).to_have_text("OK")
    expect(row["fraud"].locator(".jp-mlgov-tone-error")).to_have_text("InAlert")
    expect(row["churn"].locator(".jp-mlgov-tone-muted").first).to_have_text("InAlert ✓")
    expect(row["churn"].locator(".jp-mlgov-tone-error")).to_have_count(0)
    alerts = panel.get_by_label("Alerts", exact=True)
    expect(alerts.locator(".jp-mlgov-alertRow")).to_have_count(2)  # idle is no alert
    expect(alerts.locator(".jp-mlgov-count")).to_have_text("1")  # one open, one acknowledged
    acked = alerts.locator(".jp-mlgov-alertRow-acked")
    expect(acked).to_contain_text("churn-model")
    expect(acked).to_contain_text("acknowledged by alice")
    colors = page.evaluate("""() => {
        const c = s => getComputedStyle(document.querySelector('#mlgov-sidebar ' + s)).color;
        return [c('.jp-mlgov-alertRow .jp-mlgov-tone-error'), c('.jp-mlgov-alertRow-acked .jp-mlgov-badge')];
    }""")
    assert colors[0] != colors[1], colors
    shot(page, panel, "truth-1-alerts")
    panel.get_by_label("Models", exact=True).scroll_into_view_if_needed()
    # at the default width each model's name stays whole and nothing is cut off on the right
    box = panel.bounding_box()
    for r in models.all():
        b = r.bounding_box()
        assert b["x"] + b["width"] <= box["x"] + box["width"] + 1, (b, box)
        link = r.get_by_role("button").first
        assert link.bounding_box()["height"] < 30, link.inner_text()  # one line
    shot(page, panel, "truth-2-models")
    ctx.close()
