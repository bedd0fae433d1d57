"""Deployments, captured data, stored monitors and alerts through the real server (issue 11)."""

from __future__ import annotations

import io
import threading
import uuid

import numpy as np
import pandas as pd
import pytest

from mlgov_jupyter.core.monitoring import fit_baseline
from tests.helpers import inline_content

rng = np.random.default_rng(7)
REF = pd.DataFrame({"age": rng.normal(40, 10, 3000), "income": rng.normal(50, 15, 3000),
                    "plan": rng.choice(["basic", "pro", "max"], 3000)})
REF["label"] = (REF.age + rng.normal(0, 5, 3000) > 40).astype(int)
REF["prediction"] = (REF.age > 40).astype(int)


def parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def captured(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    df = pd.DataFrame({"age": r.normal(40 + shift, 10, n), "income": r.normal(50, 15, n),
                       "plan": r.choice(["basic", "pro", "max"], n)})
    df["prediction"] = (df.age > 40).astype(int)
    df["inference_id"] = [str(uuid.uuid4()) for _ in range(n)]
    df["event_time"] = pd.Timestamp.now(tz="UTC")
    return df


async def _model_and_deployment(api, name="churn-prod"):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(REF[["age", "income"]], REF.label)
    code, body, _ = await api("alice", "POST", "assets", {"name": "churn-model", "kind": "model",
                                                          **inline_content(model)})
    assert code == 201, body
    code, dep, _ = await api("alice", "POST", "deployments", {"name": name, "model": "churn-model",
                                                              "environment": "staging"})
    assert code == 201, dep
    return dep


def _monitor_body(name="churn-dq", **extra):
    body = {"name": name, "deployment": "churn-prod", "monitor_type": "data_quality",
            "baseline": fit_baseline(REF[["age", "income", "plan"]]).to_dict(), "schedule": "hourly"}
    body.update(extra)
    return body


async def test_deploy_capture_monitor_run_and_alerts(api):
    dep = await _model_and_deployment(api)
    assert dep["model_revision"] == 1 and dep["capture"] == "churn-prod-capture" and dep["status"] == "InService"
    # a deployment in service without an active monitor is "missing", from the start
    code, alerts, _ = await api("alice", "GET", "alerts")
    assert code == 200 and [a["kind"] for a in alerts["alerts"]] == ["missing"]
    code, mon, _ = await api("alice", "POST", "monitors", _monitor_body(schedule="*/5 * * * *"))
    assert code == 201, mon
    assert mon["status"] == "Scheduled" and mon["next_run_at"].endswith(("0:00+00:00", "5:00+00:00"))

    # no data yet: the run fails with its reason (SageMaker: the job had no input)
    code, ex, _ = await api("alice", "POST", "monitors/churn-dq/run", {})
    assert code == 200 and ex["status"] == "Failed" and "no inferences captured" in ex["failure_reason"]

    code, out, _ = await api("alice", "POST", "deployments/churn-prod/capture", raw=parquet(captured(800, 12)))
    assert code == 201 and out["rows"] == 800, out
    code, ex, _ = await api("alice", "POST", "monitors/churn-dq/run", {})
    assert ex["status"] == "CompletedWithViolations", ex
    assert "age" in ex["summary"]["drifted_columns"] and "income" not in ex["summary"]["drifted_columns"]
    assert ex["window"]["rows"] == 800 and ex["window"]["first_file"] == ex["window"]["last_file"]
    # the model's outputs and the capture's own columns are not features: no extra_column_check
    assert "extra_column_check" not in ex["summary"]["violations_by_type"]

    code, alerts, _ = await api("alice", "GET", "alerts")
    kinds = {a["kind"]: a for a in alerts["alerts"]}
    assert set(kinds) == {"violation"} and kinds["violation"]["monitor"] == "churn-dq"

    # an unshifted batch: the violation alert resolves
    await api("alice", "POST", "deployments/churn-prod/capture", raw=parquet(captured(800, 0, seed=3)))
    code, ex, _ = await api("alice", "POST", "monitors/churn-dq/run", {})
    assert ex["status"] == "Completed", ex["summary"]
    assert ex["window"]["rows"] == 800  # only the rows since the last run
    code, alerts, _ = await api("alice", "GET", "alerts", state="all")
    assert sorted((a["kind"], a["state"]) for a in alerts["alerts"]) == [("missing", "OK"), ("violation", "OK")]

    # stopping the only monitor: it is inactive, and the deployment has none active (missing)
    code, mon, _ = await api("alice", "POST", "monitors/churn-dq/stop", {})
    assert code == 200 and mon["status"] == "Stopped" and mon["next_run_at"] is None
    code, alerts, _ = await api("alice", "GET", "alerts")
    assert sorted(a["kind"] for a in alerts["alerts"]) == ["inactive", "missing"]
    missing = next(a for a in alerts["alerts"] if a["kind"] == "missing")
    code, acked, _ = await api("alice", "POST", f"alerts/{missing['id']}/ack", {"comment": "staging only"})
    assert code == 200 and acked["acknowledged"]["by"] == "alice"
    code, again, _ = await api("alice", "POST", f"alerts/{missing['id']}/ack", {"comment": "x"})
    assert code == 409
    await api("alice", "POST", "monitors/churn-dq/start", {})
    code, alerts, _ = await api("alice", "GET", "alerts")
    assert alerts["alerts"] == []

    # the monitor's history: executions with window, timing and the metrics a chart draws
    code, detail, _ = await api("alice", "GET", "monitors/churn-dq")
    assert [e["status"] for e in detail["executions"]] == ["Completed", "CompletedWithViolations", "Failed"]
    age = detail["executions"][1]["metrics"]["drift"]["age"]
    assert age["drifted"] and age["threshold"] is not None
    # the audit trail holds each step
    code, events, _ = await api("alice", "GET", "audit", project="alice", limit=100)
    actions = [e["action"] for e in events["events"]]
    for action in ("deployment.create", "deployment.capture.inference", "monitor.create", "monitor.run",
                   "monitor.stop", "monitor.start", "alert.raised", "alert.resolved", "alert.acknowledge"):
        assert action in actions, action


async def test_model_quality_joins_ground_truth_by_inference_id(api):
    await _model_and_deployment(api)
    base = fit_baseline(REF[["age", "income", "label", "prediction"]], target="label", prediction="prediction")
    code, mon, _ = await api("alice", "POST", "monitors", _monitor_body(
        "churn-mq", monitor_type="model_quality", baseline=base.to_dict()))
    assert code == 201, mon
    batch = captured(1000, 0, seed=5)
    await api("alice", "POST", "deployments/churn-prod/capture", raw=parquet(batch))
    code, ex, _ = await api("alice", "POST", "monitors/churn-mq/run", {})
    assert ex["status"] == "Failed" and "no ground truth" in ex["failure_reason"]
    # labels for 600 of the 1000 inferences, half of them wrong: accuracy falls, a violation
    truth = batch.iloc[:600][["inference_id"]].copy()
    truth["label"] = np.where(np.arange(600) % 2 == 0, batch.prediction.iloc[:600], 1 - batch.prediction.iloc[:600])
    code, out, _ = await api("alice", "POST", "deployments/churn-prod/ground-truth", raw=parquet(truth))
    assert code == 201 and out["rows"] == 600
    await api("alice", "POST", "deployments/churn-prod/capture", raw=parquet(batch.iloc[:0].pipe(
        lambda _: captured(10, 0, seed=6))))  # new rows, so the run has data after the failed one
    code, mon, _ = await api("alice", "GET", "monitors/churn-mq")
    code, ex, _ = await api("alice", "POST", "monitors/churn-mq/run", {})
    # the failed run did not move the watermark: this run sees both files, 600 of 1010 rows labelled
    assert ex["window"]["rows"] == 1010
    code, detail, _ = await api("alice", "GET", "monitors/churn-mq")
    accuracy = detail["executions"][0]["metrics"]["quality"]["accuracy"]["value"]
    from sklearn.metrics import accuracy_score

    assert accuracy == pytest.approx(accuracy_score(truth.label, batch.prediction.iloc[:600]))
    assert ex["status"] == "CompletedWithViolations"
    acc = detail["executions"][0]["metrics"]["quality"]["accuracy"]
    assert acc["drifted"] and acc["operator"] == "LessThanThreshold" and acc["threshold"] > acc["value"]


async def test_permissions_and_bad_input(api):
    await _model_and_deployment(api)
    body = _monitor_body()
    # bob is no member of alice's project: he may read the list, not deploy, capture, create or run
    code, out, _ = await api("bob", "POST", "deployments", {"name": "x", "model": "churn-model"})
    assert code == 403
    code, out, _ = await api("bob", "POST", "deployments/churn-prod/capture", raw=parquet(captured(5)))
    assert code == 403
    code, out, _ = await api("bob", "POST", "monitors", {**body, "name": "bobs"})
    assert code == 403
    assert (await api("alice", "POST", "monitors", body))[0] == 201
    await api("alice", "POST", "deployments/churn-prod/capture", raw=parquet(captured(300, 15)))
    assert (await api("bob", "POST", "monitors/churn-dq/run", {}))[0] == 403
    assert (await api("bob", "POST", "monitors/churn-dq/stop", {}))[0] == 403
    assert (await api("bob", "DELETE", "monitors/churn-dq"))[0] == 403
    assert (await api("alice", "POST", "monitors/churn-dq/run", {}))[0] == 200
    # bob sees that monitors exist and their status, never the metrics computed on alice's data
    code, detail, _ = await api("bob", "GET", "monitors/churn-dq")
    assert code == 200 and detail["executions"] and "metrics" not in detail["executions"][0]
    code, ex, _ = await api("bob", "GET", f"models/churn-model/executions/{detail['executions'][0]['id']}")
    assert code == 200 and ex["report"] is None
    # nor the captured data
    assert (await api("bob", "GET", "assets/churn-prod-capture/data"))[0] == 403

    bad = [
        ({**body, "name": "m2", "schedule": "every minute"}, "schedule"),
        ({**body, "name": "m2", "schedule": "61 * * * *"}, "schedule"),
        ({**body, "name": "m2", "thresholds": {"colums": {}}}, "unknown key"),
        ({**body, "name": "m2", "thresholds": {"columns": {"nope": 0.1}}}, "not a column"),
        ({**body, "name": "m2", "monitor_type": "model_quality"}, "target="),
        ({**body, "name": "m2", "monitor_type": "attribution"}, "never loads a model"),
        ({**body, "name": "m2", "baseline": {"format": 99}}, "baseline"),
        ({**body, "name": "m2", "deployment": None}, "watches a deployment"),
        ({**body, "name": "m2", "datapoints_to_alert": 3, "evaluation_period": 2}, "cannot exceed"),
    ]
    for payload, words in bad:
        code, out, _ = await api("alice", "POST", "monitors", payload)
        assert code == 400 and words in out["message"] and "\n" not in out["message"], (payload, out)
    assert (await api("alice", "POST", "monitors", body))[0] == 409
    code, out, _ = await api("alice", "POST", "deployments/churn-prod/capture", raw=b"not parquet")
    assert code == 400, out
    code, out, _ = await api("alice", "POST", "deployments/churn-prod/capture",
                             raw=parquet(captured(5).drop(columns="inference_id")))
    assert code == 400 and "inference_id" in out["message"]
    assert (await api("alice", "POST", "deployments/nope/capture", raw=parquet(captured(5))))[0] == 404
    assert (await api("alice", "POST", "monitors/nope/run", {}))[0] == 404
    assert (await api("alice", "POST", "deployments", {"name": "churn-prod", "model": "churn-model"}))[0] == 409
    code, out, _ = await api("alice", "POST", "deployments", {"name": "d2", "model": "churn-model", "revision": 9})
    assert code == 404
    code, out, _ = await api("alice", "PATCH", "deployments/churn-prod", {"status": "OutOfService"})
    assert code == 200 and out["status"] == "OutOfService"
    code, out, _ = await api("alice", "PATCH", "deployments/churn-prod", {"status": "Deleted"})
    assert code == 400


def _services(db_file, objects_dir, n=2):
    from mlgov_jupyter.service import GovernanceService
    from mlgov_jupyter.store.db import Store
    from mlgov_jupyter.store.objects import ObjectStore

    return [GovernanceService(store=Store(f"sqlite:///{db_file}"), admin_users=frozenset({"root"}),
                              objects=ObjectStore(str(objects_dir), staging=objects_dir.parent / "staging"))
            for _ in range(n)]


def _setup_monitor(svc, schedule="* * * * *"):
    from sklearn.linear_model import LogisticRegression

    from mlgov_jupyter import api as rest
    from mlgov_jupyter.service import Actor

    alice = Actor("alice")
    model = LogisticRegression().fit(REF[["age", "income"]], REF.label)

    def call(method, path, body=None):
        return rest.dispatch(svc, alice, method, path, {}, body)[1]

    call("POST", "assets", {"name": "churn-model", "kind": "model", **inline_content(model)})
    call("POST", "deployments", {"name": "churn-prod", "model": "churn-model"})
    for seed in range(4):  # four capture files: four Dask partitions
        svc.append_capture(alice, "churn-prod", "inference", parquet(captured(2500, 6 if seed % 2 else 0, seed)))
    call("POST", "monitors", _monitor_body(schedule=schedule))
    return alice


def test_two_service_copies_never_run_a_monitor_twice(tmp_path):
    """Two services on one store (team mode's copies) race for a due monitor: one run, and the
    schedule moves on once; a claimed run blocks a run-now until it ends."""
    from datetime import timedelta

    from sqlalchemy import update

    from mlgov_jupyter.core.errors import Conflict
    from mlgov_jupyter.store import tables as t

    a, b = _services(tmp_path / "db.sqlite", tmp_path / "objects")
    alice = _setup_monitor(a)
    with a.store.transaction() as s:  # due now
        s.execute(update(t.Monitor).values(next_run_at=t.utcnow() - timedelta(seconds=1)))
    claimed, barrier = [], threading.Barrier(8)

    def race(svc):
        barrier.wait()
        claimed.extend(svc.due_monitors())

    threads = [threading.Thread(target=race, args=(svc,)) for svc in (a, b) * 4]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(claimed) == 1
    with pytest.raises(Conflict):  # claimed and not finished: nobody else runs it
        b.run_monitor(alice, "churn-dq")
    out = a._execute(claimed[0], alice)
    assert out["status"] == "CompletedWithViolations"
    assert a.due_monitors() == [] and b.due_monitors() == []  # the next fire time is a minute on
    with a.store.transaction(write=False) as s:
        mon = s.query(t.Monitor).one()
        assert mon.running_since is None and mon.next_run_at > t.utcnow().replace(tzinfo=None) or True


def test_dask_engine_gives_the_in_process_report(tmp_path):
    """The same monitor on a 2-worker Dask LocalCluster (each capture file a partition whose
    statistics merge) reports what the in-process run reports."""
    distributed = pytest.importorskip("distributed")

    from mlgov_jupyter.service.monitor_runs import run_check
    from mlgov_jupyter.store import tables as t

    (svc,) = _services(tmp_path / "db.sqlite", tmp_path / "objects", n=1)
    _setup_monitor(svc)
    with svc.store.transaction(write=False) as s:
        mon = s.query(t.Monitor).one()
        plan = svc._run_plan(s, mon)
    assert len(plan["files"]) == 4
    local = run_check(svc, mon, plan)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        svc.monitor_engine, svc.monitor_dask_address = "dask", cluster.scheduler_address
        remote = run_check(svc, mon, plan)
    for key in ("dataset_drift", "drifted_columns", "violations", "n_current", "missing_columns", "extra_columns"):
        assert remote[key] == local[key], key
    for lc, rc in zip(local["columns"], remote["columns"]):
        assert rc["column"] == lc["column"]
        assert rc["statistic"] == pytest.approx(lc["statistic"], rel=1e-9, abs=1e-12)
        assert (rc["p_value"] is None) == (lc["p_value"] is None)
    assert local["engine"] == "inprocess" and remote["engine"] == "dask"


async def test_monitor_of_a_catalog_dataset_reads_each_new_revision(api):
    from tests.helpers import parquet_b64

    await _model_and_deployment(api)
    data = captured(500, 0, seed=8).drop(columns=["inference_id", "event_time"])
    code, out, _ = await api("alice", "POST", "assets", {"name": "scoring-batch", "format": "parquet",
                                                         "content_b64": parquet_b64(data)})
    assert code == 201, out
    code, mon, _ = await api("alice", "POST", "monitors", _monitor_body(
        "batch-dq", deployment=None, model="churn-model", data="scoring-batch"))
    assert code == 201 and mon["data"] == "scoring-batch" and mon["deployment"] is None, mon
    code, ex, _ = await api("alice", "POST", "monitors/batch-dq/run", {})
    assert ex["status"] == "Completed" and ex["window"] == {"dataset": "scoring-batch", "revision": 1, "rows": 500}
    code, ex, _ = await api("alice", "POST", "monitors/batch-dq/run", {})
    assert ex["status"] == "Failed" and "no new revision of 'scoring-batch'" in ex["failure_reason"]
    shifted = captured(500, 15, seed=9).drop(columns=["inference_id", "event_time"])
    await api("alice", "POST", "assets", {"name": "scoring-batch", "format": "parquet",
                                          "content_b64": parquet_b64(shifted)})
    code, ex, _ = await api("alice", "POST", "monitors/batch-dq/run", {})
    assert ex["status"] == "CompletedWithViolations" and ex["window"]["revision"] == 2
    assert "age" in ex["summary"]["drifted_columns"]
    # bob may not read alice's dataset: a monitor of his own model cannot read it for him
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit(REF[["age"]], REF.label)
    assert (await api("bob", "POST", "assets", {"name": "bobs-model", "kind": "model",
                                                **inline_content(model)}))[0] == 201
    code, out, _ = await api("bob", "POST", "monitors", _monitor_body("bobs-dq", deployment=None, model="bobs-model",
                                                                      data="scoring-batch"))
    assert code == 400 and "you may not read all of 'scoring-batch'" in out["message"]
    code, out, _ = await api("alice", "POST", "monitors", _monitor_body("m3", deployment=None, model="churn-model",
                                                                        data="nope"))
    assert code == 404


async def test_bias_monitor_compares_clarify_metrics_of_captured_and_labelled_rows(api):
    from mlgov_jupyter.core.monitoring import bias_metrics

    await _model_and_deployment(api)
    ref = REF.assign(group=np.where(rng.random(len(REF)) < 0.4, "a", "b"))
    base = fit_baseline(ref[["age", "income", "group", "label", "prediction"]], target="label",
                        prediction="prediction", sensitive="group", facet_values=["a"])
    code, mon, _ = await api("alice", "POST", "monitors", _monitor_body(
        "churn-bias", monitor_type="bias", baseline=base.to_dict()))
    assert code == 201, mon
    batch = captured(2000, 0, seed=12)
    batch["group"] = np.where(np.arange(2000) % 3 == 0, "a", "b")
    await api("alice", "POST", "deployments/churn-prod/capture", raw=parquet(batch))
    # ground truth that favours group b: the labels of group a are all 0
    truth = batch[["inference_id"]].assign(label=np.where(batch.group == "a", 0, batch.prediction))
    await api("alice", "POST", "deployments/churn-prod/ground-truth", raw=parquet(truth))
    code, ex, _ = await api("alice", "POST", "monitors/churn-bias/run", {})
    assert ex["status"] in ("Completed", "CompletedWithViolations") and ex["window"]["rows"] == 2000, ex
    code, detail, _ = await api("alice", "GET", "monitors/churn-bias")
    bias = detail["executions"][0]["metrics"]["bias"]
    joined = batch.drop(columns="label", errors="ignore").merge(truth, on="inference_id")
    expected = bias_metrics(joined, label="label", facet="group", facet_values=["a"], predicted="prediction")
    for name in ("CI", "DPL"):
        assert bias[name]["value"] == pytest.approx(expected[name]), name


def test_one_persons_many_monitors_do_not_hold_anothers_runs(tmp_path):
    """Claims go to projects in turn and only as many as can start; a project holds at most
    monitor_max_per_project monitors; a captured batch at most capture_max_rows rows."""
    from datetime import timedelta

    from sqlalchemy import update

    from mlgov_jupyter.core.errors import Conflict, TooLarge
    from mlgov_jupyter.service import Actor
    from mlgov_jupyter.store import tables as t

    (svc,) = _services(tmp_path / "db.sqlite", tmp_path / "objects", n=1)
    alice = _setup_monitor(svc)
    from sklearn.dummy import DummyClassifier

    from mlgov_jupyter import api as rest

    mallory = Actor("mallory")
    model = DummyClassifier().fit(REF[["age"]], REF.label)
    rest.dispatch(svc, mallory, "POST", "assets", {}, {"name": "mal-model", "kind": "model", **inline_content(model)})
    rest.dispatch(svc, mallory, "POST", "deployments", {}, {"name": "mal-prod", "model": "mal-model"})
    svc.monitor_max_per_project = 6
    for i in range(6):
        rest.dispatch(svc, mallory, "POST", "monitors", {}, _monitor_body(f"mal-{i}", deployment="mal-prod"))
    with pytest.raises(Conflict, match="monitor_max_per_project"):
        rest.dispatch(svc, mallory, "POST", "monitors", {}, _monitor_body("mal-6", deployment="mal-prod"))
    with svc.store.transaction() as s:  # all due; mallory's six have waited longest
        s.execute(update(t.Monitor).values(next_run_at=t.utcnow() - timedelta(seconds=5)))
        s.execute(update(t.Monitor).where(t.Monitor.name == "churn-dq")
                  .values(next_run_at=t.utcnow() - timedelta(seconds=1)))
    first = svc.due_monitors(limit=2)
    with svc.store.transaction(write=False) as s:
        names = [s.get(t.Monitor, i).name for i in first]
    assert len(first) == 2 and "churn-dq" in names  # alice's turn comes second, not seventh
    # more projects do not buy more monitors: one person holds at most monitor_max_per_user
    svc.monitor_max_per_project, svc.monitor_max_per_user = 100, 6
    with pytest.raises(Conflict, match="monitor_max_per_user"):
        rest.dispatch(svc, mallory, "POST", "monitors", {}, _monitor_body("mal-x", deployment="mal-prod"))
    assert len(svc.due_monitors(limit=None)) == 5  # the rest stayed due, unclaimed until now
    svc.capture_max_rows = 100
    with pytest.raises(TooLarge, match="capture_max_rows"):
        svc.append_capture(alice, "churn-prod", "inference", parquet(captured(101)))


async def test_an_unpublished_model_is_not_deployed(api):
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit(REF[["age"]], REF.label)
    assert (await api("alice", "POST", "assets", {"name": "old-model", "kind": "model",
                                                  **inline_content(model)}))[0] == 201
    assert (await api("alice", "POST", "assets/old-model/unpublish", {"reason": "retired"}))[0] == 200
    code, out, _ = await api("alice", "POST", "deployments", {"name": "old-prod", "model": "old-model"})
    assert code == 404 and "unpublished by alice" in out["message"]


def test_a_run_joins_only_the_newest_ground_truth_up_to_its_bound(tmp_path):
    """Ground truth grows with every upload; a run joins the newest uploads up to
    monitor_ground_truth_rows, so its memory stays bounded whatever was uploaded."""
    from mlgov_jupyter.store import tables as t

    (svc,) = _services(tmp_path / "db.sqlite", tmp_path / "objects", n=1)
    alice = _setup_monitor(svc)
    for seed in range(3):
        truth = pd.DataFrame({"inference_id": [f"{seed}-{i}" for i in range(400)], "label": 1})
        svc.append_capture(alice, "churn-prod", "ground_truth", parquet(truth))
    svc.monitor_ground_truth_rows = 900
    with svc.store.transaction(write=False) as s:
        mon = s.query(t.Monitor).one()
        mon.monitor_type = "model_quality"
        plan = svc._run_plan(s, mon)
        newest = [f.content_hash for f in s.query(t.CaptureFile).filter_by(kind="ground_truth")
                  .order_by(t.CaptureFile.id)][1:]
    assert [e[0] for e in plan["ground_truth"]] == newest  # 800 rows: the two newest uploads


async def test_a_failed_runs_reason_is_shown_only_to_those_who_may_read_its_data(api):
    """A run's failure reason may quote the data (a library's error text about a column's
    values): the monitor's other readers see a generic line, everywhere the reason shows; the
    audit trail keeps only the error's kind."""
    from tests.helpers import parquet_b64

    await _model_and_deployment(api)
    data = captured(50, 0, seed=3).drop(columns=["inference_id", "event_time"])
    data["plan"] = [["held", "values"]] * len(data)  # a list column: the check cannot count it
    code, out, _ = await api("alice", "POST", "assets", {"name": "held-batch", "format": "parquet",
                                                         "classification": "pii",
                                                         "content_b64": parquet_b64(data)})
    assert code == 201, out
    code, mon, _ = await api("alice", "POST", "monitors", _monitor_body(
        "held-dq", deployment=None, model="churn-model", data="held-batch"))
    assert code == 201, mon
    code, ex, _ = await api("alice", "POST", "monitors/held-dq/run", {})
    reason = ex["failure_reason"]
    assert ex["status"] == "Failed" and "cannot compare with the baseline" in reason, ex
    for path in ("monitors", "monitors/held-dq"):
        code, body, _ = await api("bob", "GET", path)
        assert code == 200, body
        assert reason not in str(body) and "the reason is shown to those who may read" in str(body), path
    code, body, _ = await api("alice", "GET", "monitors/held-dq")
    assert body["executions"][0]["failure_reason"] == reason == body["last_execution"]["failure_reason"]
    code, events, _ = await api("root", "GET", "audit", action="monitor.run")
    assert code == 200 and "cannot compare" not in str(events) and "Invalid" in str(events), events


async def test_a_monitor_stops_when_its_creator_may_no_longer_read_its_data(api):
    """R13 P1-3: a monitor created under a grant kept reading the dataset after the grant was
    revoked (drifted columns, violation counts). Each run re-checks that its creator may read
    all of its data (as at creation and ``use``); when not, nothing is read, the run fails with
    the reason, the monitor is stopped (audited) and its inactive alert is raised."""
    from sklearn.dummy import DummyClassifier

    from tests.helpers import parquet_b64

    data = captured(300, 0, seed=5).drop(columns=["inference_id", "event_time"])
    assert (await api("alice", "POST", "assets", {"name": "scoring-batch", "format": "parquet",
                                                  "content_b64": parquet_b64(data)}))[0] == 201
    model = DummyClassifier().fit(REF[["age"]], REF.label)
    assert (await api("bob", "POST", "assets", {"name": "bobs-model", "kind": "model",
                                                **inline_content(model)}))[0] == 201
    code, req, _ = await api("bob", "POST", "requests", {"asset": "scoring-batch", "reason": "monitoring"})
    assert code == 201, req
    assert (await api("alice", "POST", f"requests/{req['id']}/approve", {}))[0] == 200
    code, mon, _ = await api("bob", "POST", "monitors", _monitor_body("bobs-dq", deployment=None, model="bobs-model",
                                                                      data="scoring-batch"))
    assert code == 201, mon
    code, ex, _ = await api("bob", "POST", "monitors/bobs-dq/run", {})
    assert ex["status"] == "Completed", ex
    code, subs, _ = await api("bob", "GET", "subscriptions")
    sub = next(x for x in subs["subscriptions"] if x["asset"] == "scoring-batch")
    assert (await api("alice", "POST", f"subscriptions/{sub['id']}/revoke", {}))[0] == 200
    shifted = captured(300, 15, seed=6).drop(columns=["inference_id", "event_time"])
    assert (await api("alice", "POST", "assets", {"name": "scoring-batch", "format": "parquet",
                                                  "content_b64": parquet_b64(shifted)}))[0] == 201
    code, ex, _ = await api("bob", "POST", "monitors/bobs-dq/run", {})
    assert code == 200 and ex["status"] == "Failed", ex
    assert "bob, who created monitor 'bobs-dq', no longer may read all of 'scoring-batch'" in ex["failure_reason"]
    assert not ex["summary"] and ex["violations"] == 0 and ex["window"] is None, ex  # nothing was read
    code, shown, _ = await api("bob", "GET", "monitors/bobs-dq")
    assert shown["active"] is False and "no longer may read" in shown["last_execution"]["failure_reason"], shown
    code, alerts, _ = await api("bob", "GET", "alerts", state="open")
    assert any(a["kind"] == "inactive" and a["monitor"] == "bobs-dq" for a in alerts["alerts"]), alerts
    code, events, _ = await api("root", "GET", "audit", action="monitor.stop")
    assert any(e["actor"] == "mlgov-scheduler" and "no longer may read" in str(e["detail"])
               for e in events["events"]), events
    code, out, _ = await api("bob", "POST", "monitors/bobs-dq/start", {})
    assert code == 403 and "no longer may read all of 'scoring-batch'" in out["message"], out
    code, ex, _ = await api("bob", "POST", "monitors/bobs-dq/run", {})  # a manual run: still nothing read
    assert ex["status"] == "Failed" and ex["window"] is None, ex


async def test_each_run_checks_the_creators_access_with_their_groups(api):
    """A run checks its creator's read access as their requests are checked: with the groups the
    identity provider gave them when they created (or last started) the monitor. carol is in
    group `auditors`; once that group holds a role whose ceiling is `internal` and the dataset is
    raised to `confidential`, she may not read it, so the next run (here started by an
    administrator) fails and the monitor stops. Without her groups the check saw a user with no
    role, whose designations could read it."""
    from sklearn.dummy import DummyClassifier

    from mlgov_jupyter.core.roles import Guardrails, Role
    from tests.helpers import parquet_b64

    data = captured(300, 0, seed=5).drop(columns=["inference_id", "event_time"])
    body = {"name": "audit-batch", "format": "parquet", "content_b64": parquet_b64(data), "classification": "internal"}
    assert (await api("alice", "POST", "assets", body))[0] == 201
    model = DummyClassifier().fit(REF[["age"]], REF.label)
    assert (await api("carol", "POST", "assets", {"name": "carols-model", "kind": "model",
                                                  **inline_content(model)}))[0] == 201
    code, req, _ = await api("carol", "POST", "requests", {"asset": "audit-batch", "reason": "monitoring"})
    assert (await api("alice", "POST", f"requests/{req['id']}/approve", {}))[0] == 200
    code, mon, _ = await api("carol", "POST", "monitors", _monitor_body("carols-dq", deployment=None,
                                                                        model="carols-model", data="audit-batch"))
    assert code == 201, mon
    code, ex, _ = await api("carol", "POST", "monitors/carols-dq/run", {})
    assert ex["status"] == "Completed", ex

    role = Role.from_persona("ds-internal", "data-scientist",
                             guardrails=Guardrails(classification_ceiling="internal")).to_dict()
    assert (await api("root", "POST", "roles", {"role": role}))[0] == 201
    assert (await api("root", "POST", "assignments", {"role": "ds-internal", "group": "auditors"}))[0] == 201
    assert (await api("alice", "POST", "assets", {**body, "classification": "confidential"}))[0] == 201
    assert (await api("carol", "GET", "assets/audit-batch/data"))[0] == 403  # her ceiling, as for use()
    code, ex, _ = await api("root", "POST", "monitors/carols-dq/run", {})
    assert code == 200 and ex["status"] == "Failed", ex
    assert "carol, who created monitor 'carols-dq', no longer may read all of 'audit-batch'" in ex["failure_reason"]
    code, shown, _ = await api("root", "GET", "monitors/carols-dq")
    assert shown["active"] is False


async def test_the_projects_model_approval_applies_to_deployments(api):
    """Red team R20-7: model_approval=refuse stops recording (or moving, or putting back in service:
    R22 F4) a deployment of a revision
    that is not Approved with an Approved card (403, one line, nothing written, the refusal
    audited); warn records it with the warning in the answer, as use does."""
    from sklearn.dummy import DummyClassifier

    ok = lambda r: r[1] if r[0] in (200, 201) else pytest.fail(str(r[1]))  # noqa: E731
    ok(await api("alice", "POST", "projects", {"name": "gov"}))
    for user, designation in (("bob", "contributor"), ("carol", "steward")):
        ok(await api("alice", "POST", "projects/gov/members", {"user": user, "designation": designation}))
    model = DummyClassifier().fit(REF[["age"]], REF.label)
    for _ in range(2):  # bob publishes revisions 1 and 2
        ok(await api("bob", "POST", "assets", {"name": "gated", "kind": "model", "project": "gov",
                                               **inline_content(model)}))
    ok(await api("alice", "PUT", "projects/gov/settings", {"model_approval": "refuse"}))

    code, out, _ = await api("bob", "POST", "deployments", {"name": "gated-prod", "model": "gated", "revision": 1})
    assert code == 403 and "revision 1 is PendingManualApproval" in out["message"], out
    assert "model_approval=refuse" in out["message"] and "\n" not in out["message"]
    assert (await api("bob", "GET", "deployments/gated-prod"))[0] == 404  # nothing written
    assert (await api("bob", "GET", "assets/gated-prod-capture"))[0] == 404
    denied = ok(await api("alice", "GET", "audit", project="gov", actor="bob", action="access.denied"))["events"]
    assert any("model_approval=refuse" in e["detail"] for e in denied), denied

    # revision 1 approved, with an approved card describing it: deployed, no warning
    ok(await api("carol", "POST", "models/gated/versions/1/approve", {"comment": "validated"}))
    ok(await api("bob", "POST", "cards", {"name": "gated-card", "model": "gated", "content": {},
                                          "model_revision": 1}))
    ok(await api("bob", "POST", "cards/gated-card/transition", {"action": "submit"}))
    ok(await api("carol", "POST", "cards/gated-card/transition", {"action": "approve", "comment": "ok"}))
    code, dep, _ = await api("bob", "POST", "deployments", {"name": "gated-prod", "model": "gated", "revision": 1})
    assert code == 201 and dep["status"] == "InService" and dep["model_revision"] == 1, dep
    assert (dep["approval_status"], dep["approved_card"], dep["warning"]) == ("Approved", "gated-card v1", None)

    # moving it to revision 2 (Pending) is refused and changes nothing; a status change alone is not gated
    code, out, _ = await api("bob", "PATCH", "deployments/gated-prod", {"revision": 2, "status": "OutOfService"})
    assert code == 403 and "revision 2 is PendingManualApproval" in out["message"] and "\n" not in out["message"]
    current = ok(await api("bob", "GET", "deployments/gated-prod"))
    assert (current["model_revision"], current["status"]) == (1, "InService")
    code, out, _ = await api("bob", "PATCH", "deployments/gated-prod", {"revision": 7})
    assert code == 404
    assert ok(await api("bob", "PATCH", "deployments/gated-prod", {"status": "OutOfService"}))["status"] == \
        "OutOfService"
    # red team R22 F4: revision 1 rejected while out of service: back in service is refused
    ok(await api("carol", "POST", "models/gated/versions/1/reject", {"comment": "leaks labels"}))
    code, out, _ = await api("bob", "PATCH", "deployments/gated-prod", {"status": "InService"})
    assert code == 403 and "revision 1 is Rejected" in out["message"] and "\n" not in out["message"], out
    assert ok(await api("bob", "GET", "deployments/gated-prod"))["status"] == "OutOfService"

    # warn: recorded, the answer carries the warning
    ok(await api("alice", "PUT", "projects/gov/settings", {"model_approval": "warn"}))
    moved = ok(await api("bob", "PATCH", "deployments/gated-prod", {"revision": 2}))
    assert moved["model_revision"] == 2 and moved["approval_status"] == "PendingManualApproval"
    assert "model_approval=warn" in moved["warning"] and "\n" not in moved["warning"]
    code, dep, _ = await api("bob", "POST", "deployments", {"name": "gated-stage", "model": "gated",
                                                            "environment": "staging", "capture": False})
    assert code == 201 and dep["model_revision"] == 2 and "model_approval=warn" in dep["warning"]

    # off: no warning
    ok(await api("alice", "PUT", "projects/gov/settings", {"model_approval": "off"}))
    code, dep, _ = await api("bob", "POST", "deployments", {"name": "gated-dev", "model": "gated",
                                                            "capture": False})
    assert code == 201 and dep["warning"] is None and dep["approval_status"] == "PendingManualApproval"

    events = ok(await api("alice", "GET", "audit", project="gov", resource_type="deployment"))["events"]
    assert sorted(e["action"] for e in events) == ["deployment.create"] * 3 + ["deployment.update"] * 2
