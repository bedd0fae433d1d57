"""Seed a demo catalog from data scikit-learn ships (no download): ``python -m mlgov_jupyter.demo``.

Two teams publish; you (the OS user) are steward of one and an outsider to the other, so the
demo shows searching, requesting access, and approving someone else's request. So that every tab
of the sidebar has something to show, alice's screening model also has an approved model card with
its evaluation, a deployment with captured inferences, and a data-quality monitor with three runs,
the last with violations (an open alert). ``make demo`` makes you admin of the demo server (Roles).
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
    return {"seeded": True, "you": you, **_model_in_production(db_url, cancer)}


MODEL = "cancer-screening"
DEPLOYMENT = "cancer-screening-prod"
MONITOR = "cancer-screening-dq"
FEATURES = ["mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness"]


def _client(db_url: str | None, user: str):
    from .kernel.client import Client
    from .kernel.transport import LocalTransport

    return Client(LocalTransport(db_url, user))


def _batch(cancer, model, rows, shift: float = 0.0):
    import uuid

    import pandas as pd

    X = cancer.iloc[rows][FEATURES].reset_index(drop=True)
    X["mean radius"] = X["mean radius"] * (1 + shift)
    X["mean area"] = X["mean area"] * (1 + shift) ** 2
    out = X.assign(prediction=model.predict(X[FEATURES]))
    out["inference_id"] = [str(uuid.uuid4()) for _ in range(len(out))]
    out["event_time"] = pd.Timestamp.now(tz="UTC")
    return out


def _model_in_production(db_url: str | None, cancer) -> dict:
    """alice's screening model: published, an approved card (carol, a steward, reviews it) with
    its test-data evaluation, deployed with capture, a data-quality monitor run on three captured
    batches (two like the training data, the third from a recalibrated device: larger radii)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from .core.monitoring import fit_baseline

    alice, carol = _client(db_url, "alice"), _client(db_url, "carol")
    alice.add_member("clinical", "carol", "steward")
    X, y = cancer[FEATURES], cancer["target"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
    alice.publish(model, name=MODEL, project="clinical",
                  description="Flags breast masses for a second read (logistic regression on 5 measurements)",
                  tags=["oncology", "screening"], classification="confidential")
    alice.card_from_session(model, MODEL, train=(X_train, y_train), test=(X_test, y_test),
                            model_asset=MODEL, notebook_path="demo.ipynb",
                            description="Second-read screening of breast masses")
    alice.update_card(MODEL, intended_uses={
        "purpose_of_model": "Flag breast masses for a second read by a radiologist",
        "intended_uses": "Decision support only; never a diagnosis on its own",
        "risk_rating": "High"})
    alice.submit_card(MODEL, comment="ready for review")
    carol.approve_card(MODEL, comment="evaluation on held-out data reviewed")
    alice.deploy(DEPLOYMENT, model=MODEL, environment="production")
    alice.create_monitor(MONITOR, deployment=DEPLOYMENT, baseline=fit_baseline(X_train),
                         schedule="daily")
    import numpy as np

    order = np.random.default_rng(0).permutation(len(cancer))
    runs = []
    for i, shift in enumerate((0.0, 0.0, 0.25)):
        alice.send_capture(DEPLOYMENT, _batch(cancer, model, list(order[i * 150:(i + 1) * 150]), shift))
        runs.append(alice.run_monitor(MONITOR)["status"])
    return {"model": MODEL, "deployment": DEPLOYMENT, "monitor": MONITOR, "runs": runs}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Seed the mlgov demo catalog")
    parser.add_argument("--db-url")
    parser.add_argument("--user", help="the demo user (default: you)")
    args = parser.parse_args(argv)
    result = seed(args.db_url, args.user)
    if result["seeded"]:
        print(f"demo catalog seeded: projects clinical (alice; {result['you']} is steward) and quality "
              f"(bob), 3 datasets, 1 pending request from bob for {result['you']} to decide; model "
              f"{result['model']} with an approved card, deployed as {result['deployment']}, monitor "
              f"{result['monitor']} run {len(result['runs'])} times ({', '.join(result['runs'])})")
    else:
        print(f"demo catalog already present ({result['reason']}); nothing changed")


if __name__ == "__main__":
    main()
