"""Deployments and stored monitors in team mode on a real JupyterHub: alice's kernel deploys,
captures and creates a monitor; ``mlgov serve`` (its own account) runs it and keeps the baseline
and the captured bytes; bob's kernel sees that it exists, not the data or the metrics, and can
neither run nor stop it."""

from __future__ import annotations

import uuid

from .harness import kernel_ok

CLIENT = "import mlgov_jupyter as mg\nc = mg.connect()\n"


def deployed(model: str, deployment: str, seed: int = 0) -> str:
    """Kernel code: alice's model published and deployed, its capture wrapper ``served`` and the
    training features ``X`` (a shift of +20 on age drifts)."""
    return CLIENT + f"""
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
from mlgov_jupyter import monitoring as mon
rng = np.random.default_rng({seed})
X = pd.DataFrame({{"age": rng.normal(40, 10, 1000), "income": rng.normal(50, 15, 1000)}})
m = LogisticRegression().fit(X, (X.age > 40).astype(int))
c.publish(m, {model!r})
c.deploy({deployment!r}, model={model!r})
served = mg.capture(m, deployment={deployment!r}, client=c)
"""


def test_monitor_runs_in_the_service_and_another_user_cannot_touch_it(hub):
    tag = uuid.uuid4().hex[:8]
    out = kernel_ok(hub, "alice", deployed(f"risk-{tag}", f"prod-{tag}") + f"""
served.predict(X.assign(age=X.age + 20).iloc[:300]); served.flush()
c.create_monitor("dq-{tag}", deployment="prod-{tag}", baseline=mon.fit_baseline(X), schedule="daily")
e = c.run_monitor("dq-{tag}")
print(e["status"], e["window"]["rows"], e["created_by"])
""", timeout=180)
    assert out.split() == ["CompletedWithViolations", "300", "alice"]

    out = kernel_ok(hub, "bob", CLIENT + f"""
mon = c.monitor("dq-{tag}")
print(mon["status"], "metrics" in mon["executions"][0])
for call in (lambda: c.run_monitor("dq-{tag}"), lambda: c.stop_monitor("dq-{tag}"),
             lambda: c.use("prod-{tag}-capture"), lambda: c.delete_monitor("dq-{tag}")):
    try:
        call()
        print("allowed")
    except Exception as exc:
        print(type(exc).__name__)
""", timeout=120)
    assert out.strip().split("\n") == ["Scheduled False", "Forbidden", "Forbidden", "Forbidden", "Forbidden"]

    # the baseline and the captured batches are the service's files: no user's kernel lists them
    data = hub.service_dir / "data"
    out = kernel_ok(hub, "bob", f"""
import glob, os
print(glob.glob("{data}/**/sha256/*/*", recursive=True))
try:
    os.listdir("{data}")
    print("LISTED")
except PermissionError:
    print("PermissionError")
""")
    assert out.strip().split("\n") == ["[]", "PermissionError"], out


def test_a_scheduled_monitor_runs_in_the_service_by_itself_and_its_alert_reaches_a_webhook(hub):
    """Issue 11's promise in team mode: nobody runs anything; ``mlgov serve``'s scheduler runs the
    one-minute monitor, the violation alert reaches alice's webhook (HMAC-signed with her
    channel's secret) and her in-Lab list through her own server; bob, through his server (the
    sidebar's path), sees the deployment in alert but not the metrics."""
    import json

    from helpers import wait
    from mlgov_jupyter.core import webhooks
    from tests.test_notifications import Receiver

    tag = uuid.uuid4().hex[:8]
    receiver = Receiver()
    try:
        out = kernel_ok(hub, "alice", deployed(f"sched-risk-{tag}", f"sched-prod-{tag}", seed=1) + f"""
served.predict(X.assign(age=X.age + 20).iloc[:300]); served.flush()
hook = c.add_channel("webhook", {receiver.url!r}, events=["alert.raised"])
c.create_monitor("sched-dq-{tag}", deployment="sched-prod-{tag}", baseline=mon.fit_baseline(X),
                 schedule="* * * * *")
print(hook["secret"])
""", timeout=180)
        secret = out.split()[-1]

        def executions():
            response = hub._user_api("alice", "GET", f"mlgov/monitors/sched-dq-{tag}")
            assert response.status_code == 200, response.text
            return response.json()["executions"]

        (ex,) = wait(executions, 100, "the scheduled run", log=hub.log_tail)
        assert ex["status"] == "CompletedWithViolations" and ex["created_by"] == "mlgov-scheduler", ex
        assert ex["window"]["rows"] == 300 and ex["metrics"], ex
        raised = wait(lambda: [c for c in receiver.calls if json.loads(c[1]).get("event") == "alert.raised"
                               and json.loads(c[1])["payload"].get("monitor") == f"sched-dq-{tag}"],
                      60, "the violation alert at alice's webhook", log=hub.log_tail)
        headers, body, _ = raised[0]
        assert webhooks.verify(secret, body, headers.get(webhooks.SIGNATURE_HEADER))
        assert json.loads(body)["payload"]["kind"] == "violation"
        inbox = hub._user_api("alice", "GET", "mlgov/notifications?page_size=100").json()["notifications"]
        assert any(n["event"] == "alert.raised" and n["payload"].get("monitor") == f"sched-dq-{tag}" for n in inbox)

        # bob, along the sidebar's path: the deployment is in alert; the metrics are not his to see
        response = hub._user_api("bob", "GET", f"mlgov/deployments/sched-prod-{tag}")
        assert response.status_code == 200, response.text
        (shown,) = response.json()["monitors"]
        assert shown["alert"] == "InAlert" and shown["last_execution"]["status"] == "CompletedWithViolations"
        detail = hub._user_api("bob", "GET", f"mlgov/monitors/sched-dq-{tag}").json()
        assert "metrics" not in detail["executions"][0]
        assert all(c["user"] == "bob" for c in hub._user_api("bob", "GET", "mlgov/channels").json()["channels"])
    finally:
        receiver.close()
        # the session's hub runs on: no monitor firing every minute, no deployment left unmonitored
        kernel_ok(hub, "alice", CLIENT + f"""
for call in (lambda: c.delete_monitor("sched-dq-{tag}"),
             lambda: c.update_deployment("sched-prod-{tag}", status="OutOfService")):
    try:
        call()
    except Exception as exc:
        print(type(exc).__name__, exc)
""")
