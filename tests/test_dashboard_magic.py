"""%mlgov dashboard in a real kernel of a real Jupyter server: deployments (model revision,
status, monitors, last run, alert state) above the models."""

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
    server = LiveServer(tmp_path_factory.mktemp("dashboard-magic"), config="c.MlgovApp.monitor_tick_seconds = 0\n")
    k = Kernel(server, "alice-token")
    k.ok("%load_ext mlgov_jupyter")
    k.ok(SETUP)
    yield k
    k.stop()
    server.stop()


def test_dashboard_shows_deployments_then_models(alice):
    out = alice.ok("%mlgov dashboard")
    html, text = out["data"][-1]["text/html"], out["data"][-1]["text/plain"]
    assert "no deployments (%mlgov deploy NAME --model M)" in text and "risk-model" in text
    assert "<table>" in html

    alice.ok("%mlgov deploy risk-prod --model risk-model")
    alice.ok("served = mlgov_jupyter.capture(m, deployment='risk-prod', client=mlgov_client)\n"
             "_ = served.predict(X.sample(400, random_state=1).assign(age=lambda d: d.age + 20)); served.flush()")
    alice.ok("%mlgov monitor create risk-dq --deployment risk-prod --baseline b --schedule daily")
    alice.ok("%mlgov monitor run risk-dq")
    out = alice.ok("%mlgov dashboard")
    html, text = out["data"][-1]["text/html"], out["data"][-1]["text/plain"]
    assert html.count("<table>") == 2 and html.index("risk-prod") < html.index("<b>models</b>")
    lines = text.splitlines()
    assert lines[0] == "deployments"
    row = next(line for line in lines if line.startswith("risk-prod"))
    for part in ("risk-model r1", "production", "InService", "risk-dq (Scheduled)", "violation", "400"):
        assert part in row, (part, row)
    assert "models" in lines and any(line.startswith("risk-model ") and "InAlert" in line for line in lines)
