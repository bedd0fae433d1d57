"""Monitoring checks stored as a model's history, and the dashboard over all models."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlgov_jupyter
from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Conflict, Forbidden, Invalid, NotFound


@pytest.fixture
def clients(tmp_path, monkeypatch):
    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'mon.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    alice, bob = mlgov_jupyter.connect(user="alice"), mlgov_jupyter.connect(user="bob")
    alice.create_project("risk")
    alice.publish(LogisticRegression().fit([[0], [1]], [0, 1]), name="scorer", project="risk")
    return alice, bob


def test_checks_are_kept_per_model_and_shown_on_the_dashboard(clients):
    alice, bob = clients
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 3000), "c": rng.choice(list("abc"), 3000)})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1, 3000), "c": rng.choice(list("abc"), 3000)})
    report = mon.check(mon.fit_baseline(ref), cur)
    assert "x" in report.drifted_columns
    stored = alice.record_execution("scorer", report)
    assert stored["status"] == "CompletedWithViolations" and stored["summary"]["drifted_columns"] == report.drifted_columns
    calm = mon.check(mon.fit_baseline(ref), ref.sample(frac=1.0, random_state=1))
    alice.record_execution("scorer", calm.to_dict())
    history = alice.executions("scorer")
    assert [e["status"] for e in history] == ["Completed", "CompletedWithViolations"]
    full = alice.execution("scorer", stored["id"])
    assert full["report"]["drifted_columns"] == report.drifted_columns
    # anyone sees the status and the summary; the report (its charts hold values of the data)
    # only those who may read the model's data
    seen = bob.execution("scorer", stored["id"])
    assert seen["report"] is None and seen["summary"]["drifted_columns"] == report.drifted_columns
    assert "'a'" not in repr(seen) and '"a"' not in repr(seen)
    board = bob.dashboard()
    assert board[0]["model"] == "scorer" and board[0]["executions"] == 2 and board[0]["alert"] == "OK"

    with pytest.raises(Conflict):
        alice.acknowledge_alert("scorer")  # the latest check is clean
    alice.record_execution("scorer", report)
    assert bob.dashboard()[0]["alert"] == "InAlert"
    with pytest.raises(Forbidden):
        bob.acknowledge_alert("scorer", comment="not mine")  # not a member of risk
    ack = alice.acknowledge_alert("scorer", comment="retraining next week")
    assert bob.dashboard()[0]["acknowledged"] == ack and ack["by"] == "alice"
    with pytest.raises(Conflict):
        alice.acknowledge_alert("scorer")
    with pytest.raises(Forbidden):
        bob.record_execution("scorer", report)  # not a member of risk
    with pytest.raises(NotFound):
        alice.execution("scorer", 999)
    with pytest.raises(Invalid):
        alice.record_execution("scorer", {"violations": "lots"})


def test_alert_rule_counts_failing_checks_in_a_window(tmp_path):
    """SageMaker's rule: InAlert when checks with violations among the last EvaluationPeriod
    reach DatapointsToAlert; an acknowledgement belongs to the newest failing check."""
    from mlgov_jupyter.core import models as m
    from helpers import inline_content as _content
    from mlgov_jupyter.service import Actor, GovernanceService
    from mlgov_jupyter.store.db import Store

    svc = GovernanceService(store=Store(f"sqlite:///{tmp_path / 'rule.sqlite'}"),
                            alert_evaluation_period=3, alert_datapoints=2)
    alice = Actor("alice")
    svc.publish(alice, m.Publish(name="scorer", kind="model", **_content(LogisticRegression().fit([[0], [1]], [0, 1]))))
    bad, good = {"violations": [{"feature_name": "x"}]}, {"violations": []}

    def state():
        return svc.dashboard(alice)["models"][0]["alert"]

    for report, expected in ((bad, "OK"), (good, "OK"), (bad, "InAlert"), (bad, "InAlert"),
                             (good, "InAlert"), (good, "OK")):
        svc.record_execution(alice, "scorer", m.ExecutionCreate(report=report))
        assert state() == expected
    svc.record_execution(alice, "scorer", m.ExecutionCreate(report=bad))
    svc.record_execution(alice, "scorer", m.ExecutionCreate(report=bad))
    ack = svc.acknowledge_alert(alice, "scorer", m.Decision(comment="on it"))
    board = svc.dashboard(alice)
    assert board["models"][0]["acknowledged"]["execution"] == ack["execution"] == 8
    assert board["alert_rule"] == {"evaluation_period": 3, "datapoints_to_alert": 2, "monitor_max_age_days": None}


def test_approved_models_nobody_checks_are_unmonitored(tmp_path):
    import sqlite3

    from mlgov_jupyter.core import models as m
    from helpers import inline_content as _content
    from mlgov_jupyter.service import Actor, GovernanceService
    from mlgov_jupyter.store.db import Store

    path = tmp_path / "stale.sqlite"
    svc = GovernanceService(store=Store(f"sqlite:///{path}"), monitor_max_age_days=7)
    alice, carol = Actor("alice"), Actor("carol")
    svc.publish(alice, m.Publish(name="scorer", kind="model",
                                 **_content(LogisticRegression().fit([[0], [1]], [0, 1]))))
    svc.set_member(alice, "alice", m.MemberSet(user="carol", designation="steward"))

    def state():
        return svc.dashboard(alice)["models"][0]["alert"]

    assert state() == "NotMonitored"  # never checked: unknown, not OK (no approved card: no alert)
    svc.create_card(alice, m.CardCreate(name="scorer-card", model="scorer", content={}))
    svc.transition_card(alice, "scorer-card", m.CardTransition(action="submit"))
    svc.transition_card(carol, "scorer-card", m.CardTransition(action="approve"))
    assert state() == "Unmonitored"  # approved, never checked
    svc.record_execution(alice, "scorer", m.ExecutionCreate(report={"violations": []}))
    assert state() == "OK"
    with sqlite3.connect(path) as db:
        db.execute("UPDATE monitoring_executions SET created_at = '2026-01-01 00:00:00.000000'")
    assert state() == "Unmonitored"  # the last check is too old


async def test_executions_are_deleted_by_owners_and_stewards_and_audited(api):
    ok = lambda r: r[0] in (200, 201) or pytest.fail(str(r[1]))  # noqa: E731
    from tests_models import model_b64

    ok(await api("alice", "POST", "projects", {"name": "risk"}))
    ok(await api("alice", "POST", "projects/risk/members", {"user": "bob", "designation": "contributor"}))
    ok(await api("alice", "POST", "projects/risk/members", {"user": "carol", "designation": "steward"}))
    ok(await api("alice", "POST", "assets", {"name": "scorer", "kind": "model", "project": "risk",
                                             "format": "skops", "content_b64": model_b64()}))
    first = (await api("bob", "POST", "models/scorer/executions", {"report": {"violations": [{"x": 1}]}}))[1]
    second = (await api("bob", "POST", "models/scorer/executions", {"report": {"violations": []}}))[1]
    status, body, _ = await api("bob", "DELETE", f"models/scorer/executions/{first['id']}")
    assert status == 403 and body["message"] == \
        "only owners and stewards of project 'risk' delete its monitoring executions"
    assert (await api("carol", "DELETE", f"models/scorer/executions/{first['id']}")) [:2] == \
        (200, {"model": "scorer", "deleted": first["id"]})
    assert (await api("alice", "DELETE", f"models/scorer/executions/{first['id']}"))[0] == 404
    ok(await api("alice", "DELETE", f"models/scorer/executions/{second['id']}"))
    assert (await api("alice", "GET", "models/scorer/executions"))[1]["executions"] == []
    events = (await api("alice", "GET", "audit", project="risk"))[1]["events"]
    deletes = [e for e in events if e["action"] == "monitor.execution.delete"]
    assert sorted((e["actor"], json.loads(e["detail"])["execution"]) for e in deletes) == \
        sorted([("carol", first["id"]), ("alice", second["id"])])


async def test_a_stored_row_that_cannot_be_shown_does_not_take_the_dashboard_down(api, jp_serverapp):
    ok = lambda r: r[0] in (200, 201) or pytest.fail(str(r[1]))  # noqa: E731
    from tests_models import model_b64

    def strict(raw):
        return json.loads(raw, parse_constant=lambda c: pytest.fail(f"{c} in a response"))

    ok(await api("alice", "POST", "projects", {"name": "risk"}))
    for name in ("scorer", "ranker"):
        ok(await api("alice", "POST", "assets", {"name": name, "kind": "model", "project": "risk",
                                                 "format": "skops", "content_b64": model_b64()}))
    nan = (await api("alice", "POST", "models/scorer/executions", {"report": {"violations": []}}))[1]["id"]
    garbage = (await api("alice", "POST", "models/ranker/executions", {"report": {"violations": []}}))[1]["id"]
    store = jp_serverapp.web_app.settings["mlgov_service"].store
    with store.engine.begin() as conn:  # rows as an older release (or a broken disk) left them
        conn.exec_driver_sql("UPDATE monitoring_executions SET summary = '{\"n_current\": NaN}', "
                             "report = '{\"x\": NaN}' WHERE id = ?", (nan,))
        conn.exec_driver_sql("UPDATE monitoring_executions SET summary = '{not json', report = '[' "
                             "WHERE id = ?", (garbage,))
    status, _, resp = await api("bob", "GET", "dashboard")
    assert status == 200
    models = {m["model"]: m for m in strict(resp.body)["models"]}
    assert models["scorer"]["latest"]["unreadable"] and models["ranker"]["latest"]["summary"] is None
    for name, ex in (("scorer", nan), ("ranker", garbage)):
        status, _, resp = await api("alice", "GET", f"models/{name}/executions")
        assert status == 200 and strict(resp.body)["executions"][0]["unreadable"] is True
        status, _, resp = await api("alice", "GET", f"models/{name}/executions/{ex}")
        assert status == 200 and strict(resp.body)["report"] is None
        ok(await api("alice", "DELETE", f"models/{name}/executions/{ex}"))


def test_a_report_is_shown_by_the_datasets_it_was_computed_on(clients):
    """The red team's F3: a report on a pii dataset, for a model with no card, was shown to anyone
    granted the model. The datasets an execution was computed on are stored with it; when it does
    not say, only the model's project sees the report."""
    alice, bob = clients
    carol = mlgov_jupyter.connect(user="carol")
    patients = pd.DataFrame({"ssn": ["123-45-6789", "987-65-4321"], "age": [40, 50]})
    alice.publish(patients, name="patients", project="risk", classification="pii")
    report = {"dataset_drift": True, "drifted_columns": ["ssn"],
              "charts": [{"column": "ssn", "labels": ["123-45-6789", "987-65-4321"], "counts": [1, 1]}]}

    def record(**extra):
        return alice._call("POST", "models/scorer/executions", body={"report": report, **extra})

    unknown = alice.record_execution("scorer", report, datasets=[])  # none named: as an older client
    on_patients = record(datasets=["patients", "patients"])
    on_none = record(datasets=[])  # names nothing over REST: unknown too (the red team's G4)
    assert unknown["datasets"] is None and on_patients["datasets"] == ["patients"] and on_none["datasets"] is None
    assert [e["datasets"] for e in alice.executions("scorer")] == [None, ["patients"], None]
    with pytest.raises(Invalid, match="no asset named 'nope'"):
        record(datasets=["nope"])

    def seen(client):
        return {name: client.execution("scorer", ex["id"])["report"] is not None
                for name, ex in (("unknown", unknown), ("patients", on_patients), ("none", on_none))}

    assert seen(alice) == {"unknown": True, "patients": True, "none": True}
    assert seen(bob) == {"unknown": False, "patients": False, "none": False}  # an outsider
    req = bob.subscribe("scorer", reason="score")
    alice.approve(req["id"])
    assert seen(bob) == {"unknown": False, "patients": False, "none": False}  # the model alone
    assert "123-45-6789" not in repr([bob.execution("scorer", e["id"]) for e in (unknown, on_patients)])
    # a card with no lineage does not open what the execution does not vouch for
    alice._call("POST", "cards", body={"name": "scorer-card", "model": "scorer", "content": {},
                                       "lineage": {"training": [], "evaluation": []}})
    assert seen(bob)["unknown"] is False
    req = bob.subscribe("patients", reason="audit the check")
    alice.approve(req["id"])
    assert seen(bob) == {"unknown": False, "patients": True, "none": False}  # the model and its data
    alice.add_member("risk", "carol", "consumer")
    assert seen(carol)["unknown"] is seen(carol)["none"] is True  # the model's project (who may read the model)
    dave = mlgov_jupyter.connect(user="dave")
    alice.add_member("risk", "dave", "viewer")
    assert seen(dave)["unknown"] is False  # a member who may not read the model's data
