"""What the role manager costs a request: the same service calls decided by the fixed
designation rules and by stored roles through Cedar (PolicyAuthorizer), in one run.

    python benchmarks/request_overhead.py [--calls 500] [--roles 40]

Also times `%load_ext mlgov_jupyter` in a fresh interpreter (target: under 0.5 s).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from mlgov_jupyter.core import models as m  # noqa: E402
from mlgov_jupyter.core.authz import DesignationAuthorizer  # noqa: E402
from mlgov_jupyter.core.roles import Guardrails, Role, personas  # noqa: E402
from mlgov_jupyter.demo import _content  # noqa: E402  (a small frame as inline content)
from mlgov_jupyter.service import Actor, GovernanceService  # noqa: E402
from mlgov_jupyter.store.db import Store  # noqa: E402


def seed(url: str, roles: int) -> None:
    svc = GovernanceService(store=Store(url), admin_users=frozenset({"root"}))
    root, alice, bob = Actor("root"), Actor("alice"), Actor("bob")
    kinds = [p.id for p in personas() if p.activities]
    for i in range(roles):
        role = Role.from_persona(f"r{i}", kinds[i % len(kinds)],
                                 guardrails=Guardrails(classification_ceiling="confidential"))
        svc.save_role(root, m.RoleBody(role=role.to_dict()))
        svc.assign(root, m.AssignmentCreate(role=f"r{i}", user=f"user{i}"))
    svc.assign(root, m.AssignmentCreate(role="r0", user="bob"))
    svc.create_project(alice, m.ProjectCreate(name="risk"))
    df = pd.DataFrame({"a": range(100), "b": ["x", "y"] * 50})
    svc.publish(alice, m.Publish(name="churn", project="risk", description="customer churn", **_content(df)))
    req = svc.request_access(bob, m.AccessRequestCreate(asset="churn", reason="bench"))
    svc.decide(alice, req["id"], m.Decision(), accept=True)
    svc.store.dispose()


def time_calls(services: dict, calls: int) -> dict:
    """Median µs per call for each service, the services interleaved call by call so that the
    machine's load drifts the same way for both."""
    bob = Actor("bob")
    out = {label: {} for label in services}
    for name, call in (("get_asset", lambda svc: svc.get_asset(bob, "churn")),
                       ("search", lambda svc: svc.search(bob, m.SearchQuery(q="churn"))),
                       ("read_data (audited write)", lambda svc: svc.read_data(bob, "churn"))):
        samples = {label: [] for label in services}
        for svc in services.values():
            call(svc)  # warm (the policy is built on first use)
        for _ in range(calls):
            for label, svc in services.items():
                t = time.perf_counter()
                call(svc)
                samples[label].append(time.perf_counter() - t)
        for label in services:
            out[label][name] = statistics.median(samples[label]) * 1e6
    return out


def load_ext_seconds() -> float:
    code = ("import time; from IPython.core.interactiveshell import InteractiveShell; "
            "sh = InteractiveShell.instance(); t = time.perf_counter(); "
            "sh.run_line_magic('load_ext', 'mlgov_jupyter'); print(time.perf_counter() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 env={"MLGOV_SERVER_URL": "http://127.0.0.1:9/", "PATH": ""}).stdout)
            for _ in range(3)]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--roles", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        seed(url, args.roles)
        timed = time_calls({"fixed": GovernanceService(store=Store(url), authorizer=DesignationAuthorizer()),
                            "stored": GovernanceService(store=Store(url))}, args.calls)
        fixed, stored = timed["fixed"], timed["stored"]
    print(f"service calls, median of {args.calls} (SQLite, {args.roles} stored roles, bob holds one):")
    print(f"{'call':<28}{'designations µs':>18}{'stored roles µs':>18}{'overhead µs':>14}{'ratio':>8}")
    for name in fixed:
        print(f"{name:<28}{fixed[name]:>18.0f}{stored[name]:>18.0f}{stored[name] - fixed[name]:>14.0f}"
              f"{stored[name] / fixed[name]:>8.2f}")
    seconds = load_ext_seconds()
    print(f"%load_ext mlgov_jupyter: {seconds:.3f} s (target < 0.5 s: {'met' if seconds < 0.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
