"""A monitor with a one-minute schedule runs by itself in a real `jupyter server` on captured data,
its alert reaches a webhook receiver and an SMTP server started here, a restart neither loses nor
repeats a scheduled run, and a stopped monitor raises inactive and missing alerts (issue 11)."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime

import numpy as np
import pandas as pd
from aiosmtpd.controller import Controller
from sklearn.linear_model import LogisticRegression

import mlgov_jupyter
from mlgov_jupyter.core import webhooks
from mlgov_jupyter.core.monitoring import fit_baseline
from tests.helpers import wait
from tests.live import LiveServer
from tests.test_notifications import Mailbox, Receiver, free_port

rng = np.random.default_rng(11)
REF = pd.DataFrame({"age": rng.normal(40, 10, 2000), "income": rng.normal(50, 15, 2000)})
LABEL = (REF.age > 40).astype(int)


def executions(db) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT id, status, created_at, created_by FROM monitoring_executions "
                           "WHERE monitor_id IS NOT NULL ORDER BY id").fetchall()


def test_scheduled_monitor_alerts_by_webhook_and_email_and_survives_restart(tmp_path):
    receiver, box = Receiver(), Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    config = ("c.MlgovApp.monitor_tick_seconds = 1.0\n"
              "c.MlgovApp.delivery_interval = 0.3\n"
              "c.MlgovApp.webhook_allowed_hosts = ['127.0.0.1']\n"
              "c.MlgovApp.email_domains = ['example.org']\n"
              f"c.MlgovApp.smtp_host = '127.0.0.1'\nc.MlgovApp.smtp_port = {smtp.port}\n"
              "c.MlgovApp.smtp_from = 'mlgov@example.org'\n")
    server = LiveServer(tmp_path, config=config)
    try:
        client = mlgov_jupyter.connect(url=server.url, token="alice-token")
        model = LogisticRegression().fit(REF, LABEL)
        client.publish(model, "risk-model")
        client.deploy("risk-prod", model="risk-model")
        hook = client.add_channel("webhook", receiver.url, events=["alert.raised", "monitor.inactive",
                                                                    "monitor.missing"])
        client.add_channel("email", "alice@example.org", events=["alert.raised"])
        served = mlgov_jupyter.capture(model, deployment="risk-prod", client=client, flush_seconds=3600)
        shifted = REF.sample(600, random_state=1).reset_index(drop=True)
        shifted["age"] += 15
        served.predict(shifted)
        assert served.flush() == 600
        client.create_monitor("risk-dq", deployment="risk-prod", baseline=fit_baseline(REF),
                              schedule="* * * * *")

        # nobody runs anything: the scheduler does, at the next minute
        first = wait(lambda: executions(server.db), 75, "the first scheduled run")
        assert first[0][1] == "CompletedWithViolations" and first[0][3] == "mlgov-scheduler"
        raised = wait(lambda: [c for c in receiver.calls if json.loads(c[1]).get("event") == "alert.raised"],
                      20, "the alert at the webhook")
        headers, body, _path = raised[0]
        assert webhooks.verify(hook["secret"], body, headers.get(webhooks.SIGNATURE_HEADER))
        payload = json.loads(body)
        assert payload["payload"]["monitor"] == "risk-dq" and payload["payload"]["kind"] == "violation"
        mail = wait(lambda: box.messages, 20, "the alert email")
        assert mail[0][1] == ["alice@example.org"] and "violation alert raised" in mail[0][2]
        # the monitor's alert is visible where people look
        assert [a["kind"] for a in client.alerts()] == ["violation"]
        assert client.monitor("risk-dq")["alert"] == "InAlert"

        # a restart: the schedule is in the store; the next run happens once, after it
        server.stop()
        with sqlite3.connect(server.db) as con:
            (next_run,) = con.execute("SELECT next_run_at FROM monitors WHERE name = 'risk-dq'").fetchone()
        assert next_run is not None
        server = LiveServer(tmp_path, config=config)
        client = mlgov_jupyter.connect(url=server.url, token="alice-token")
        served = mlgov_jupyter.capture(model, deployment="risk-prod", client=client, flush_seconds=3600)
        served.predict(REF.sample(300, random_state=2))
        served.flush()
        runs = wait(lambda: (lambda r: r if len(r) >= 2 else None)(executions(server.db)), 75,
                    "a scheduled run after the restart")
        time.sleep(3)  # a doubled run would show by now
        runs = executions(server.db)
        minutes = [datetime.fromisoformat(r[2]).strftime("%H:%M") for r in runs]
        assert len(minutes) == len(set(minutes)), runs  # never two runs for one fire time
        assert runs[1][1] == "Completed"  # only the 300 new, unshifted rows

        # stopped: inactive, and the deployment has no active monitor (missing), each delivered
        client.stop_monitor("risk-dq")
        events = wait(lambda: (lambda e: e if {"monitor.inactive", "monitor.missing"} <= e else None)(
            {json.loads(c[1]).get("event") for c in receiver.calls}), 20, "inactive and missing at the webhook")
        assert {"monitor.inactive", "monitor.missing"} <= events
        assert sorted(a["kind"] for a in client.alerts()) == ["inactive", "missing"]
    finally:
        server.stop()
        smtp.stop()
        receiver.close()
