"""Per-decision overhead of the role manager's PolicyAuthorizer (Cedar via cedarpy).

    python benchmarks/policy_benchmark.py [--decisions 20000] [--users 1000] [--projects 50]

Builds every persona as a role plus project-profile roles for ``--projects`` projects, assigns
them to ``--users`` users (directly, through groups, and scoped to projects), then times a
mix of allowed and denied decisions (search, consume with guardrails, approvals with
separation of duties, scoped publishes). Prints microseconds per decision next to the
default DesignationAuthorizer as a baseline.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlgov_jupyter.core import authz
from mlgov_jupyter.core.authz import DesignationAuthorizer, Principal, Resource
from mlgov_jupyter.core.roles import (
    CLASSIFICATIONS,
    Assignment,
    Guardrails,
    PolicyAuthorizer,
    Role,
    personas,
    profile,
)


def build(users: int, projects: int, seed: int = 7):
    rnd = random.Random(seed)
    roles = [Role.from_persona(f"r-{p.id}", p.id, guardrails=Guardrails(classification_ceiling="confidential",
                                                                        max_grant_days=90))
             for p in personas() if p.activities]
    assignments = []
    project_names = [f"p{i}" for i in range(projects)]
    for i, name in enumerate(project_names):
        setup = profile("regulated-pii" if i % 2 else "sandbox").apply(name, f"u{i % users}")
        roles += setup.roles
        assignments += setup.assignments
    for u in range(users):
        r = rnd.choice(roles[:7])
        scoped = rnd.random() < 0.5
        assignments.append(Assignment(r.name, user=f"u{u}", projects=rnd.sample(project_names, 2) if scoped else ()))
    for g in range(10):
        assignments.append(Assignment(rnd.choice(roles[:7]).name, group=f"g{g}"))
    principals = []
    for u in range(users):
        des = {p: rnd.choice(authz.DESIGNATIONS) for p in rnd.sample(project_names, 3)}
        principals.append(Principal(f"u{u}", groups=(f"g{u % 10}",), designations=des))
    actions = [authz.CATALOG_SEARCH, authz.CATALOG_CONSUME, authz.CATALOG_CONSUME, authz.CATALOG_DECIDE,
               authz.CATALOG_PUBLISH, authz.CARD_APPROVE, authz.AUDIT_READ, authz.MONITOR_RUN]
    return roles, assignments, principals, project_names, actions


def requests(principals, project_names, actions, n, seed=11):
    rnd = random.Random(seed)
    now = time.time()
    out = []
    for _ in range(n):
        p = rnd.choice(principals)
        project = rnd.choice(list(p.designations) + project_names[:2])
        attrs = {"granted_at": now - rnd.randint(0, 120) * 86400, "requester": rnd.choice([p.name, "someone"])}
        out.append((p, rnd.choice(actions), Resource("asset", f"a{rnd.randint(0, 999)}", project,
                                                     rnd.choice(CLASSIFICATIONS), attrs=attrs)))
    return out


def timed(authorizer, reqs) -> tuple:
    t0 = time.perf_counter()
    allowed = sum(authorizer.decide(p, a, r).allowed for p, a, r in reqs)
    return (time.perf_counter() - t0) / len(reqs) * 1e6, allowed


def cedar_floor(n: int = 5000) -> float:
    """One cedarpy call with a single trivial policy: the fixed cost of crossing into Cedar."""
    import cedarpy
    ps = cedarpy.PolicySet.from_str("permit (principal, action, resource);")
    ents = cedarpy.Entities.from_json_str("[]")
    req = {"principal": {"type": "User", "id": "u"}, "action": {"type": "Action", "id": "a"},
           "resource": {"type": "Resource", "id": "r"}, "context": {}}
    t0 = time.perf_counter()
    for _ in range(n):
        cedarpy.is_authorized(req, ps, ents)
    return (time.perf_counter() - t0) / n * 1e6


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=20000)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--projects", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    roles, assignments, principals, project_names, actions = build(args.users, args.projects)
    t0 = time.perf_counter()
    az = PolicyAuthorizer(roles, assignments)
    build_ms = (time.perf_counter() - t0) * 1e3
    reqs = requests(principals, project_names, actions, args.decisions)
    timed(az, reqs[:500])  # warm up
    runs = [timed(az, reqs) for _ in range(args.rounds)]
    base = [timed(DesignationAuthorizer(), reqs) for _ in range(args.rounds)]
    us = statistics.median(r[0] for r in runs)
    print(f"roles: {len(roles)}, assignments: {len(assignments)}, Cedar policies: "
          f"{az.policy_text.count(';')}, built and parsed in {build_ms:.1f} ms")
    print(f"PolicyAuthorizer (cedarpy): {us:.1f} microseconds/decision "
          f"(median of {args.rounds} x {args.decisions}; {runs[0][1] / args.decisions:.0%} allowed)")
    print(f"DesignationAuthorizer baseline: {statistics.median(b[0] for b in base):.2f} microseconds/decision")
    print(f"cedarpy floor (one trivial policy, empty context): {cedar_floor():.1f} microseconds/call")


if __name__ == "__main__":
    main()
