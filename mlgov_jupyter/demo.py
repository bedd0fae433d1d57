"""Seed a demo catalog from data scikit-learn ships (no download): ``python -m mlgov_jupyter.demo``.

Two teams publish; you (the OS user) are steward of one and an outsider to the other, so the
demo shows searching, requesting access, and approving someone else's request.
"""

from __future__ import annotations

import argparse
import getpass

from .core import models as m
from .core.errors import Conflict
from .service import Actor, GovernanceService
from .store.db import Store


def _content(df) -> dict:
    """A small frame as a publish body's inline content (the client sends uploads instead)."""
    import base64
    import io

    buf = io.BytesIO()
    df.to_parquet(buf)
    return {"format": "parquet", "content_b64": base64.b64encode(buf.getvalue()).decode()}


def _frames():
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    cancer = load_breast_cancer(as_frame=True).frame
    diabetes = load_diabetes(as_frame=True).frame
    wine = load_wine(as_frame=True).frame
    return cancer, diabetes, wine


def seed(db_url: str | None = None, you: str | None = None) -> dict:
    you = you or getpass.getuser()
    svc = GovernanceService(store=Store(db_url))
    alice, bob = Actor("alice"), Actor("bob")
    cancer, diabetes, wine = _frames()
    try:
        svc.create_project(alice, m.ProjectCreate(name="clinical", description="Clinical models"))
    except Conflict:
        return {"seeded": False, "reason": "demo catalog already present"}
    svc.create_project(bob, m.ProjectCreate(name="quality", description="Product quality analytics"))
    svc.set_member(alice, "clinical", m.MemberSet(user=you, designation="steward"))
    svc.publish(alice, m.Publish(name="breast-cancer-diagnostics", project="clinical",
                                 description="Diagnostic measurements of breast masses with benign/malignant target",
                                 tags=["oncology", "classification"], classification="confidential",
                                 glossary_terms=["diagnosis"], **_content(cancer)))
    svc.publish(alice, m.Publish(name="diabetes-progression", project="clinical",
                                 description="Baseline variables and one-year disease progression",
                                 tags=["regression", "endocrinology"], classification="pii",
                                 **_content(diabetes)))
    svc.publish(bob, m.Publish(name="wine-chemistry", project="quality",
                               description="Chemical analysis of wines from three cultivars",
                               tags=["chemistry", "classification"], classification="internal",
                               **_content(wine)))
    svc.request_access(bob, m.AccessRequestCreate(asset="breast-cancer-diagnostics",
                                                  reason="benchmark a quality classifier on a second domain"))
    return {"seeded": True, "you": you}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Seed the mlgov demo catalog")
    parser.add_argument("--db-url")
    parser.add_argument("--user", help="the demo user (default: you)")
    args = parser.parse_args(argv)
    result = seed(args.db_url, args.user)
    if result["seeded"]:
        print(f"demo catalog seeded: projects clinical (alice; {result['you']} is steward) and quality "
              f"(bob), 3 datasets, 1 pending request from bob for {result['you']} to decide")
    else:
        print(f"demo catalog already present ({result['reason']}); nothing changed")


if __name__ == "__main__":
    main()
