"""Deployments and stored monitors in team mode on a real JupyterHub: alice's kernel deploys,
captures and creates a monitor; ``mlgov serve`` (its own account) runs it and keeps the baseline
and the captured bytes; bob's kernel sees that it exists, not the data or the metrics, and can
neither run nor stop it."""

from __future__ import annotations

import uuid

from .harness import kernel_ok

CLIENT = "import mlgov_jupyter as mg\nc = mg.connect()\n"


def test_monitor_runs_in_the_service_and_another_user_cannot_touch_it(hub):
    tag = uuid.uuid4().hex[:8]
    out = kernel_ok(hub, "alice", CLIENT + f"""
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
from mlgov_jupyter import monitoring as mon
rng = np.random.default_rng(0)
X = pd.DataFrame({{"age": rng.normal(40, 10, 1000), "income": rng.normal(50, 15, 1000)}})
m = LogisticRegression().fit(X, (X.age > 40).astype(int))
c.publish(m, "risk-{tag}")
c.deploy("prod-{tag}", model="risk-{tag}")
served = mg.capture(m, deployment="prod-{tag}", client=c)
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
