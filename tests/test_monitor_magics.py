"""%mlgov deploy / deployments / monitor / alerts in a real kernel of a real Jupyter server (issue 11)."""

import pytest

from live import Kernel, LiveServer

SETUP = ("import numpy as np, pandas as pd, mlgov_jupyter\n"
         "from sklearn.linear_model import LogisticRegression\n"
         "from mlgov_jupyter import monitoring as mon\n"
         "rng = np.random.default_rng(0)\n"
         "X = pd.DataFrame({'age': rng.normal(40, 10, 1500), 'income': rng.normal(50, 15, 1500)})\n"
         "m = LogisticRegression().fit(X, (X.age > 40).astype(int))\n"
         "_ = mlgov_client.publish(m, 'risk-model')\n"
         "b = mon.fit_baseline(X)\n")


@pytest.fixture(scope="module")
def alice(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("monitor-magics"), config="c.MlgovApp.monitor_tick_seconds = 0\n")
    k = Kernel(server, "alice-token")
    k.ok("%load_ext mlgov_jupyter")
    k.ok(SETUP)
    yield k
    k.stop()
    server.stop()


def html_of(out) -> str:
    return "".join(d.get("text/html", "") for d in out["data"])


def test_deploy_capture_monitor_and_alerts_from_magics(alice):
    out = alice.ok("%mlgov dashboard")
    html, text = out["data"][-1]["text/html"], out["data"][-1]["text/plain"]
    assert "no deployments (%mlgov deploy NAME --model M)" in text and "risk-model" in text
    assert "<table>" in html
    out = alice.ok("%mlgov deploy risk-prod --model risk-model --environment staging")
    assert out["stdout"].strip().startswith("deployment risk-prod: risk-model revision 1 in staging, capturing to "
                                            "risk-prod-capture")
    alice.ok("served = mlgov_jupyter.capture(m, deployment='risk-prod', client=mlgov_client)\n"
             "shifted = X.sample(400, random_state=1).assign(age=lambda d: d.age + 20)\n"
             "_ = served.predict(shifted); sent = served.flush()")
    assert alice.ok("print(sent)")["stdout"].strip() == "400"
    out = alice.ok("%mlgov monitor create risk-dq --deployment risk-prod --baseline b --schedule daily")
    assert "monitor risk-dq (data_quality) of risk-prod: daily, next run" in out["stdout"]
    out = alice.ok("%mlgov monitor run risk-dq")
    assert out["stdout"].startswith("monitor risk-dq execution #") and "CompletedWithViolations" in out["stdout"]
    assert "drifted: age" in out["stdout"]

    # the dashboard: deployments (model revision, status, monitors, alert, rows) above the models
    out = alice.ok("%mlgov dashboard")
    html, text = out["data"][-1]["text/html"], out["data"][-1]["text/plain"]
    assert html.count("<table>") == 2 and html.index("risk-prod") < html.index("<b>models</b>")
    lines = text.splitlines()
    assert lines[0] == "deployments"
    row = next(line for line in lines if line.startswith("risk-prod"))
    for part in ("risk-model r1", "staging", "InService", "risk-dq (Scheduled)", "violation", "400"):
        assert part in row, (part, row)
    assert "models" in lines and any(line.startswith("risk-model ") and "InAlert" in line for line in lines)

    table = html_of(alice.ok("%mlgov monitor list"))
    assert "<table>" in table and "risk-dq" in table and "violation" in table
    view = html_of(alice.ok("%mlgov monitor show risk-dq"))
    assert "CompletedWithViolations" in view and "<svg" in view and "stroke-dasharray" in view  # threshold line
    deployments = html_of(alice.ok("%mlgov deployments"))
    assert "risk-prod" in deployments and "risk-model r1" in deployments and "400" in deployments
    alerts = html_of(alice.ok("%mlgov alerts"))
    assert "violation" in alerts and "risk-dq" in alerts
    alert_id = alice.ok("print(mlgov_client.alerts()[0]['id'])")["stdout"].strip()
    out = alice.ok(f"%mlgov alerts --ack {alert_id} --comment 'retraining'")
    assert out["stdout"].strip() == f"alert {alert_id} (violation) acknowledged by alice"
    out = alice.ok("%mlgov monitor stop risk-dq")
    assert out["stdout"].strip() == "monitor risk-dq: Stopped"
    assert "inactive" in html_of(alice.ok("%mlgov alerts"))


def test_magic_errors_are_one_line(alice):
    for line, words in [("%mlgov monitor create x --deployment risk-prod", "--baseline VAR"),
                        ("%mlgov monitor run nope", "no monitor named 'nope'"),
                        ("%mlgov monitor create y --deployment risk-prod --baseline nothere", "no variable named"),
                        ("%mlgov monitor create y --deployment risk-prod --baseline b --schedule 'every day'",
                         "schedule 'every day'"),
                        ("%mlgov monitor frobnicate", "invalid choice"),
                        ("%mlgov deploy d2 --model nope", "no asset named 'nope'")]:
        out = alice.run(line)
        assert out["error"] is not None and out["error"][0] == "UsageError", (line, out)
        assert words in out["error"][1] and "\n" not in out["error"][1].strip(), (line, out["error"][1])
