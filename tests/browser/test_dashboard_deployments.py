"""The Dashboard's deployments: a deployment with captured data, a data-quality monitor and three
runs (one drifted in age) shows with its monitor and alert; its view lists the monitor's
executions and a chart per metric over time with the threshold dashed and the drifted run red;
Run now adds an execution; an alert is acknowledged; another user's Run now is refused in one line."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from .ui import dark_theme, open_lab, shot, tab, widen

pytestmark = pytest.mark.browser


def _batch(n: int, shift: float, seed: int) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    df = pd.DataFrame({"age": r.normal(40 + shift, 10, n), "income": r.normal(50, 15, n),
                       "plan": r.choice(["basic", "pro", "max"], n)})
    df["prediction"] = (df.age > 40).astype(int)
    df["inference_id"] = [str(uuid.uuid4()) for _ in range(n)]
    df["event_time"] = pd.Timestamp.now(tz="UTC")
    return df


def _seed(base: str):
    import mlgov_jupyter
    from mlgov_jupyter.core.monitoring import fit_baseline
    from sklearn.linear_model import LogisticRegression

    alice = mlgov_jupyter.connect(url=base, token="alice-token")
    ref = _batch(3000, 0, seed=1)
    label = (ref.age + np.random.default_rng(2).normal(0, 5, len(ref)) > 40).astype(int)
    alice.publish(LogisticRegression().fit(ref[["age", "income"]], label), name="churn-model",
                  description="churn scores")
    dep = alice.deploy("churn-prod", model="churn-model", environment="production")
    alice.create_monitor("churn-dq", deployment="churn-prod", type="data_quality",
                         baseline=fit_baseline(ref[["age", "income", "plan"]]), schedule="hourly")
    ref["label"], ref["prediction"] = label, (ref.age > 40).astype(int)
    alice.create_monitor("churn-mq", deployment="churn-prod", type="model_quality", schedule="daily",
                         baseline=fit_baseline(ref[["age", "income", "label", "prediction"]], target="label",
                                               prediction="prediction"))
    runs, quality = [], []
    for shift, seed in ((0, 3), (0, 6), (12, 5)):  # the third batch drifts in age
        batch = _batch(600, shift, seed)
        alice.send_capture("churn-prod", batch)
        runs.append(alice.run_monitor("churn-dq"))
        # labels: right for the first batch, a third of them wrong after
        wrong = np.arange(len(batch)) % 3 == 0 if seed != 3 else np.zeros(len(batch), bool)
        alice.upload_ground_truth("churn-prod", pd.DataFrame({
            "inference_id": batch.inference_id, "label": np.where(wrong, 1 - batch.prediction, batch.prediction)}))
        quality.append(alice.run_monitor("churn-mq"))
    assert [r["status"] for r in runs] == ["Completed", "Completed", "CompletedWithViolations"], runs
    assert all(q["status"] != "Failed" for q in quality), quality
    return alice, dep


def _no_horizontal_scroll(page) -> None:
    overflow = page.evaluate("""() => [...document.querySelectorAll('#mlgov-sidebar .jp-mlgov-body')]
        .filter(b => !b.hidden).map(b => b.scrollWidth - b.clientWidth)""")
    assert all(o <= 0 for o in overflow), overflow


def test_deployment_view_monitor_charts_run_now(lab_server, browser, pages):
    alice, dep = _seed(lab_server)
    assert dep["model_revision"] == 1
    from playwright.sync_api import expect

    ctx, page, panel = open_lab(browser, lab_server, "alice-token", pages, width=320)
    tab(panel, "Dashboard").click()
    deployments = panel.get_by_label("Deployments", exact=True)
    row = deployments.locator("tr[data-deployment='churn-prod']")
    expect(row).to_contain_text("churn-model@1")
    expect(row).to_contain_text("production")
    expect(row).to_contain_text("churn-dq")
    expect(row).to_contain_text("churn-mq")
    expect(row.locator(".jp-mlgov-badge", has_text="Scheduled")).to_have_count(2)
    expect(row).to_contain_text("last run")
    expect(row.locator(".jp-mlgov-tone-error")).to_have_text("violation")
    # the Alerts section lists the monitor's open alert above the models
    alerts = panel.get_by_label("Deployment alerts")
    alert = alerts.locator(".jp-mlgov-depAlert")
    expect(alert).to_have_count(len(alice.alerts()))
    alert = alerts.locator(".jp-mlgov-depAlert", has_text="churn-dq")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("violation")
    expect(alert).to_contain_text("churn-dq")
    _no_horizontal_scroll(page)
    shot(page, panel, "deployments-1-dashboard-320")

    # acknowledging it: marked as seen (muted, "✓"), no longer counted as open
    alert.get_by_label("Comment on alert", exact=False).fill("age shift expected after the campaign")
    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert.locator(".jp-mlgov-ack")).to_contain_text("Acknowledged by alice")
    expect(row.locator(".jp-mlgov-tone-muted", has_text="violation ✓")).to_have_count(1)
    if not [a for a in alice.alerts() if not a["acknowledged"]]:
        expect(row.locator(".jp-mlgov-tone-error")).to_have_count(0)

    # the deployment: its monitor, executions and charts
    row.get_by_role("button", name="churn-prod").click()
    view = panel.locator(".jp-mlgov-deployment")
    expect(view.locator(".jp-mlgov-meta")).to_contain_text("churn-model@1")
    expect(view.locator(".jp-mlgov-meta")).to_contain_text("1800 rows in 3 files")
    expect(view.locator(".jp-mlgov-meta")).to_contain_text("1800 labels")
    # the model-quality monitor: one chart per metric over its runs, the baseline's constraint dashed
    view.get_by_role("button", name="churn-mq", exact=True).click()
    quality = view.get_by_label("Executions of churn-mq")
    expect(quality.locator("tbody tr")).to_have_count(3)
    accuracy = quality.locator("figure[data-series='quality:accuracy']")
    expect(accuracy.locator("svg circle")).to_have_count(3)
    expect(accuracy.locator("line.jp-mlgov-threshold")).to_have_count(1)
    assert quality.locator("figure.jp-mlgov-chart").first.get_attribute("data-series").startswith("quality:")
    # a run with a quality violation and no drift names the kind of violation
    expect(quality.locator("tbody tr", has_text="quality metric past its threshold")).not_to_have_count(0)
    _no_horizontal_scroll(page)
    shot(page, panel, "deployments-2-quality-320")
    monitor = view.get_by_label("Monitor churn-dq")
    monitor.get_by_role("button", name="churn-dq", exact=True).click()
    expect(monitor).to_contain_text("hourly")
    expect(monitor).to_contain_text("next")
    expect(monitor.locator(".jp-mlgov-tone-muted", has_text="violation ✓")).to_have_count(1)
    history = view.get_by_label("Executions of churn-dq")
    executions = history.locator("tbody tr")
    expect(executions).to_have_count(3)
    expect(executions.first).to_contain_text("violations")
    expect(executions.first).to_contain_text("age")
    expect(executions.first).to_contain_text("600")
    age = history.locator("figure[data-series='drift:age']")
    expect(age.locator("svg circle")).to_have_count(3)
    expect(age.locator("svg line.jp-mlgov-threshold")).to_have_count(1)
    assert age.locator("svg line.jp-mlgov-threshold").get_attribute("stroke-dasharray") == "4 3"
    expect(age.locator("circle.jp-mlgov-point-flagged")).to_have_count(1)
    # the drifted run is the last point, red (the theme's error colour); the others are not
    colors = age.locator("circle").evaluate_all("cs => cs.map(c => getComputedStyle(c).fill)")
    err = page.evaluate("""() => { const p = document.createElement('span');
        document.body.appendChild(p); p.style.color = 'var(--jp-error-color1)';
        const c = getComputedStyle(p).color; p.remove(); return c; }""")
    assert colors[-1] == err and colors[0] != err, (colors, err)
    # every column's chart flags exactly the runs the service says drifted in it
    runs = alice.monitor("churn-dq")["executions"]
    for col in ("age", "income", "plan"):
        drifted = sum(bool(e["metrics"]["drift"][col]["drifted"]) for e in runs)
        chart = history.locator(f"figure[data-series='drift:{col}']")
        expect(chart.locator("circle")).to_have_count(3)
        expect(chart.locator("circle.jp-mlgov-point-flagged")).to_have_count(drifted)
    # charts of drifted columns first
    first = history.locator("figure.jp-mlgov-chart").first
    assert first.get_attribute("data-series") == "drift:age"
    # within the panel: the chart as wide as the panel, nothing scrolls sideways
    svg_w = age.locator("svg").evaluate("s => s.getBoundingClientRect().width")
    panel_w = panel.evaluate("p => p.getBoundingClientRect().width")
    assert svg_w <= panel_w - 20, (svg_w, panel_w)
    _no_horizontal_scroll(page)
    shot(page, panel, "deployments-2-view-320")

    # Run now adds an execution (new rows captured since the last run)
    alice.send_capture("churn-prod", _batch(400, 0, seed=8))
    monitor.get_by_role("button", name="Run now").click()
    expect(executions).to_have_count(4)
    expect(executions.first).to_contain_text("400")
    expect(age.locator("svg circle")).to_have_count(4)
    newest = executions.first.locator("td").first.inner_text().split()[0]
    expect(monitor).to_contain_text(f"last run {newest}")
    # Stop, then Start
    monitor.get_by_role("button", name="Stop").click()
    expect(monitor.locator(".jp-mlgov-badge", has_text="Stopped")).to_have_count(1)
    monitor.get_by_role("button", name="Start").click()
    expect(monitor.locator(".jp-mlgov-badge", has_text="Scheduled")).to_have_count(1)

    widen(page, panel, 640)
    page.wait_for_timeout(300)
    _no_horizontal_scroll(page)
    svg_w = age.locator("svg").evaluate("s => s.getBoundingClientRect().width")
    assert svg_w > 500, svg_w
    shot(page, panel, "deployments-3-view-640")
    history.scroll_into_view_if_needed()
    panel.screenshot(path="/tmp/dashboard-deployment.png")
    ctx.close()

    # bob (no member of alice's project): sees the deployment, not the data's metrics; may not run it
    ctx, page, panel = open_lab(browser, lab_server, "bob-token", pages, width=320)
    tab(panel, "Dashboard").click()
    panel.get_by_label("Deployments", exact=True).get_by_role("button", name="churn-prod").click()
    panel.get_by_role("button", name="churn-dq", exact=True).click()
    history = panel.get_by_label("Executions of churn-dq")
    expect(history.locator("tbody tr")).to_have_count(4)
    expect(history.get_by_label("Metrics withheld")).to_be_visible()
    expect(history.locator("figure")).to_have_count(0)
    monitor = panel.get_by_label("Monitor churn-dq")
    expect(monitor.locator(".jp-mlgov-depAlertHead")).to_contain_text("churn-dq")
    for action in ("Run now", "Stop", "Start"):  # not his to run: no buttons that would be refused
        expect(monitor.get_by_role("button", name=action)).to_have_count(0)
    expect(history.locator("tbody tr")).to_have_count(4)
    shot(page, panel, "deployments-4-refused")
    dark_theme(page)
    history.locator("tbody").scroll_into_view_if_needed()
    shot(page, panel, "deployments-5-dark")
    ctx.close()
