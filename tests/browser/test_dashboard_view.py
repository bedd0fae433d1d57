"""The Dashboard tab: every model with its alert state, card status and last check; a model whose
latest check drifted is InAlert, listed under Alerts, and its history and report open below."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from .ui import dark_theme, open_lab, shot, tab

pytestmark = pytest.mark.browser


def _frames():
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"age": rng.normal(40, 5, 300), "income": rng.normal(50, 10, 300),
                        "plan": rng.choice(["basic", "pro"], 300)})
    drifted = pd.DataFrame({"age": rng.normal(55, 5, 300), "income": rng.normal(50, 10, 300),
                            "plan": rng.choice(["basic", "pro"], 300)})
    return ref, drifted


def _seed(base: str) -> None:
    import mlgov_jupyter
    from mlgov_jupyter import monitoring as mon
    from sklearn.linear_model import LinearRegression, LogisticRegression

    alice = mlgov_jupyter.connect(url=base, token="alice-token")
    alice.create_project("ops", description="models in production")
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    alice.publish(LogisticRegression().fit(X, [0, 0, 1, 1]), name="fraud-model", project="ops",
                  description="card fraud scores")
    alice.publish(LinearRegression().fit(X, [1.0, 2.0, 3.0, 4.0]), name="demand-model",
                  project="ops", description="weekly demand")
    ref, drifted = _frames()
    baseline = mon.fit_baseline(ref)
    clean = mon.check(baseline, ref).to_dict()
    assert not clean["violations"] and not clean["dataset_drift"]
    alice.record_execution("fraud-model", clean)
    alice.record_execution("fraud-model", mon.check(baseline, drifted).to_dict())
    alice.record_execution("demand-model", clean)


def test_dashboard_alerts_and_history(lab_server, browser, pages):
    _seed(lab_server)
    from playwright.sync_api import expect

    # bob is no member of project ops: everyone sees the models, their checks and alerts
    ctx, page, panel = open_lab(browser, lab_server, "bob-token", pages)
    dashboard = tab(panel, "Dashboard")
    dashboard.click()
    alerts = panel.get_by_label("Alerts", exact=True)
    expect(alerts.locator(".jp-mlgov-row")).to_have_count(1)
    expect(alerts).to_contain_text("fraud-model")
    expect(alerts).to_contain_text("drift in age")
    models = panel.get_by_label("Models", exact=True).locator("tbody tr")
    expect(models).to_have_count(2)
    demand = models.filter(has_text="demand-model")
    fraud = models.filter(has_text="fraud-model")
    expect(fraud.locator(".jp-mlgov-tone-error")).to_have_text("InAlert")
    expect(demand.locator(".jp-mlgov-tone-ok")).to_have_text("OK")
    expect(fraud).to_contain_text("no card")
    # the badge colours are the theme's error and success colours
    colors = page.evaluate("""() => {
        const css = getComputedStyle(document.body);
        const [red, green] = ['.jp-mlgov-tone-error', '.jp-mlgov-tone-ok'].map(
            s => getComputedStyle(document.querySelector('#mlgov-sidebar ' + s)).color);
        const probe = document.createElement('span');
        document.body.appendChild(probe);
        probe.style.color = 'var(--jp-error-color1)';
        const err = getComputedStyle(probe).color;
        probe.style.color = 'var(--jp-success-color1)';
        const ok = getComputedStyle(probe).color;
        probe.remove();
        return {red, green, err, ok};
    }""")
    assert colors["red"] == colors["err"] and colors["green"] == colors["ok"], colors
    shot(page, panel, "dashboard-1-models")

    # the model in alert: its history (newest first); the report itself holds values of the data,
    # so bob (no member of ops) sees that it is withheld
    alerts.get_by_role("button", name="fraud-model").click()
    history = panel.get_by_label("History", exact=True).locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("violations")
    expect(history.first).to_contain_text("age")
    expect(history.nth(1)).to_contain_text("Completed")
    report = panel.locator("section[aria-label^='Check ']")
    expect(report.get_by_label("Report withheld")).to_contain_text("may read this model's data")
    expect(report.get_by_label("Drift by column", exact=True)).to_have_count(0)
    shot(page, panel, "dashboard-2-withheld")

    # bob may not acknowledge (not a member of ops): the server's refusal shows as one line
    panel.get_by_label("Acknowledgement comment").fill("looking")
    panel.get_by_role("button", name="Acknowledge").click()
    expect(panel.locator(".jp-mlgov-error")).to_contain_text("may not")

    # back to the table; the same in the dark theme
    panel.get_by_role("button", name="‹ Back to the dashboard").click()
    expect(alerts).to_be_visible()
    dark_theme(page)
    shot(page, panel, "dashboard-3-dark")
    ctx.close()

    # alice (owner of ops) reads the latest report and the older, clean one, and acknowledges
    ctx, page, panel = open_lab(browser, lab_server, "alice-token", pages)
    tab(panel, "Dashboard").click()
    panel.get_by_label("Alerts", exact=True).get_by_role("button", name="fraud-model").click()
    report = panel.locator("section[aria-label^='Check ']")
    drift = report.get_by_label("Drift by column", exact=True)
    age = drift.locator("tr", has_text="age")
    expect(age).to_contain_text("ks")
    expect(age).to_contain_text("yes")
    expect(drift.locator("tr", has_text="income")).to_contain_text("no")
    expect(report.get_by_label("Violations", exact=True)).to_contain_text("baseline_drift_check")
    shot(page, panel, "dashboard-2-history")
    history = panel.get_by_label("History", exact=True).locator("tbody tr")
    history.nth(1).get_by_role("button").click()
    expect(report.get_by_label("Drift by column", exact=True).locator(".jp-mlgov-tone-error")).to_have_count(0)
    expect(report).to_contain_text("Violations (0)")
    history.first.get_by_role("button").click()
    panel.get_by_label("Acknowledgement comment").fill("retraining on May data")
    panel.get_by_role("button", name="Acknowledge").click()
    expect(panel.locator(".jp-mlgov-ack")).to_contain_text("Acknowledged by alice")
    expect(panel.locator(".jp-mlgov-ack")).to_contain_text("retraining on May data")
    shot(page, panel, "dashboard-4-acknowledged")
    ctx.close()
    import mlgov_jupyter

    board = mlgov_jupyter.connect(url=lab_server, token="bob-token").dashboard()
    assert next(m for m in board if m["model"] == "fraud-model")["acknowledged"]["by"] == "alice"
