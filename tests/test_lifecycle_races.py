"""Unpublish, limits and deletes against writes at the same instant (red team R15 F2, F3, F5, F7,
F9; issue 9), at the service layer.

Races run on a fresh PostgreSQL database (READ COMMITTED: a check by plain SELECT and the write
after it are not atomic; skipped without MLGOV_TEST_PG_URL, CI sets it); the sequential cases
run on SQLite and PostgreSQL. Each service keeps its objects in its own directory: unpublish
deletes content, and stores without ``objects`` share one default directory.
"""

import json
import random

import pytest
from sqlalchemy import func, select
from sklearn.linear_model import LogisticRegression

from mlgov_jupyter.core import models as m
from mlgov_jupyter.core.errors import Conflict, Forbidden, NotFound
from mlgov_jupyter.core.monitoring import fit_baseline
from mlgov_jupyter.service import Actor, GovernanceService
from mlgov_jupyter.service import notifications
from mlgov_jupyter.store import tables as t
from mlgov_jupyter.store.db import Store
from mlgov_jupyter.store.objects import ObjectStore

from helpers import frame, inline_content, publish_body, race

ROUNDS = 8
alice, bob, carol, dave = Actor("alice"), Actor("bob"), Actor("carol"), Actor("dave")
GONE = m.AssetUnpublish(reason="retired")


def _service(url, tmp_path):
    svc = GovernanceService(store=Store(url), admin_users=frozenset({"root"}),
                            objects=ObjectStore(str(tmp_path / "objects"), staging=tmp_path / "staging"))
    svc.create_project(alice, m.ProjectCreate(name="clinic", description="shared"))
    svc.set_member(alice, "clinic", m.MemberSet(user="carol", designation="owner"))
    svc.create_project(dave, m.ProjectCreate(name="daves", description="dave's"))
    return svc


@pytest.fixture
def pg(fresh_pg_url, tmp_path):
    svc = _service(fresh_pg_url, tmp_path)
    yield svc
    svc.store.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def svc(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'mlgov.sqlite'}" if request.param == "sqlite" \
        else request.getfixturevalue("fresh_pg_url")
    service = _service(url, tmp_path)
    yield service
    service.store.dispose()


def ok(result) -> bool:
    return not isinstance(result, Exception)


def rows(svc, stmt):
    with svc.store.transaction(write=False) as s:
        return s.execute(stmt).all()


def _model():
    df = frame()
    return LogisticRegression().fit(df[["tenure"]], df["churned"])


BASELINE = fit_baseline(frame()[["tenure", "plan"]]).to_dict()


# ---- F2: whatever attaches to an asset, against its unpublish (PostgreSQL) ----------------------

def test_a_new_revision_never_lands_on_a_tombstone(pg):
    """Either the revision commits first (and unpublish counts it) or it is refused; before, 5 of
    6 pairs left revision 2 on the tombstone, whose content unpublish never deleted."""
    for i in range(ROUNDS):
        name = f"d{i}"
        pg.publish(alice, m.Publish(**publish_body(name, project="clinic")))
        again = m.Publish(**publish_body(name, project="clinic", df=frame(60 + 2 * i)))
        res = race(lambda: pg.unpublish_asset(alice, name, GONE), lambda: pg.publish(carol, again),
                   delays=(0, random.uniform(0, 0.02)))
        assert ok(res[0]), res
        (latest,), = rows(pg, select(t.Asset.latest_revision).where(t.Asset.name == name))
        (detail,), = rows(pg, select(t.AuditEvent.detail).where(t.AuditEvent.action == "asset.unpublish",
                                                               t.AuditEvent.resource_id == name))
        assert json.loads(detail)["revisions"] == latest, (name, res, latest, detail)
        if not ok(res[1]):
            assert isinstance(res[1], Conflict) and "unpublished by alice" in str(res[1]), res


def test_attachments_never_outlive_an_unpublish(pg):
    """A deployment in service, an active monitor, a card: each commits before the unpublish
    (which then refuses, or, for a card, counts it) or is refused with unpublish's message."""
    model = _model()
    for i in range(ROUNDS):
        jitter = (0, random.uniform(0, 0.02))
        pg.publish(alice, m.Publish(name=f"clf{i}", kind="model", project="clinic", description="m",
                                    **inline_content(model)))
        res = race(lambda: pg.unpublish_asset(alice, f"clf{i}", GONE),
                   lambda: pg.deploy(carol, m.DeploymentCreate(name=f"dep{i}", model=f"clf{i}", capture=False)),
                   delays=jitter)
        serving = rows(pg, select(t.Deployment.name).join(t.Asset, t.Asset.id == t.Deployment.model_asset_id)
                       .where(t.Asset.name == f"clf{i}", t.Asset.listed.is_(False),
                              t.Deployment.status == "InService"))
        assert sum(map(ok, res)) == 1 and not serving, ("deploy", i, res, serving)

        pg.publish(alice, m.Publish(name=f"clfm{i}", kind="model", project="clinic", description="m",
                                    **inline_content(model)))
        pg.publish(alice, m.Publish(**publish_body(f"ds{i}", project="clinic", df=frame(80 + 2 * i))))
        res = race(lambda: pg.unpublish_asset(alice, f"ds{i}", GONE),
                   lambda: pg.create_monitor(carol, m.MonitorCreate(name=f"mon{i}", model=f"clfm{i}",
                                                                    data=f"ds{i}", baseline=BASELINE)),
                   delays=jitter)
        watching = rows(pg, select(t.Monitor.name).join(t.Asset, t.Asset.id == t.Monitor.dataset_asset_id)
                        .where(t.Asset.name == f"ds{i}", t.Asset.listed.is_(False), t.Monitor.active.is_(True)))
        assert sum(map(ok, res)) == 1 and not watching, ("monitor", i, res, watching)

        pg.publish(alice, m.Publish(name=f"clfc{i}", kind="model", project="clinic", description="m",
                                    **inline_content(model)))
        res = race(lambda: pg.unpublish_asset(alice, f"clfc{i}", GONE),
                   lambda: pg.create_card(carol, m.CardCreate(name=f"card{i}", model=f"clfc{i}", content={})),
                   delays=jitter)
        assert ok(res[0]), res
        cards = rows(pg, select(t.ModelCard.name).join(t.Asset, t.Asset.id == t.ModelCard.model_asset_id)
                     .where(t.Asset.name == f"clfc{i}"))
        assert bool(cards) == ok(res[1]), ("card", i, res, cards)
        if cards:  # the card committed first: the unpublish came after it (audit chain order)
            first = rows(pg, select(t.AuditEvent.action).where(t.AuditEvent.action.in_(
                ("card.create", "asset.unpublish")), t.AuditEvent.resource_id.in_((f"card{i}", f"clfc{i}")))
                .order_by(t.AuditEvent.id))
            assert [a for a, in first] == ["card.create", "asset.unpublish"], first
        else:
            assert isinstance(res[1], NotFound) and "unpublished by alice" in str(res[1]), res


def test_nothing_is_put_back_to_use_after_an_unpublish(svc):
    """Without a race (R15 seq_unpub): a stopped deployment or monitor is not put back in service
    once its model or dataset was unpublished, and no filter is added to an unpublished dataset."""
    svc.publish(alice, m.Publish(name="clf", kind="model", project="clinic", description="m",
                                 **inline_content(_model())))
    svc.publish(alice, m.Publish(**publish_body("ds", project="clinic")))
    svc.deploy(alice, m.DeploymentCreate(name="dep", model="clf", capture=False))
    svc.create_monitor(alice, m.MonitorCreate(name="mon", model="clf", data="ds", baseline=BASELINE))
    svc.update_deployment(alice, "dep", m.DeploymentUpdate(status="OutOfService"))
    svc.set_monitor_active(alice, "mon", False)
    svc.unpublish_asset(alice, "clf", GONE)
    svc.unpublish_asset(alice, "ds", GONE)
    with pytest.raises(NotFound, match="'clf' was unpublished by alice"):
        svc.update_deployment(alice, "dep", m.DeploymentUpdate(status="InService"))
    with pytest.raises(NotFound, match="was unpublished by alice"):
        svc.set_monitor_active(alice, "mon", True)
    with pytest.raises(NotFound, match="'ds' was unpublished by alice"):
        svc.create_filter(alice, "ds", m.AssetFilterCreate(name="narrow", columns=["tenure"]))
    assert svc.get_deployment(alice, "dep")["status"] == "OutOfService"
    assert svc.get_monitor(alice, "mon")["active"] is False


def test_nothing_is_written_about_an_unpublished_model(svc):
    """Red team R16 N4: after its model was unpublished, its card could still be edited and
    submitted, a revision approved, an alias moved, a check recorded and ground truth captured.
    Each is unpublish's 404 now; the card can still be archived."""
    svc.publish(alice, m.Publish(name="clf", kind="model", project="clinic", description="m",
                                 **inline_content(_model())))
    svc.create_card(alice, m.CardCreate(name="clf-card", model="clf", content={}))
    svc.deploy(alice, m.DeploymentCreate(name="dep", model="clf"))
    svc.append_capture(alice, "dep", "inference", _captured_batch())
    svc.update_deployment(alice, "dep", m.DeploymentUpdate(status="OutOfService"))
    svc.unpublish_asset(alice, "clf", GONE)
    gone = "'clf' was unpublished by alice"
    for call in (lambda: svc.update_card(alice, "clf-card", m.CardUpdate(content={"model_overview": {}})),
                 lambda: svc.transition_card(alice, "clf-card", m.CardTransition(action="submit")),
                 lambda: svc.decide_model(carol, "clf", 1, m.ModelDecision(comment="ok"), approve=True),
                 lambda: svc.set_alias(alice, "clf", "champion", m.AliasSet(revision=1)),
                 lambda: svc.record_execution(alice, "clf", m.ExecutionCreate(report={"violations": []})),
                 lambda: svc.append_capture(alice, "dep", "ground_truth", _captured_batch())):
        with pytest.raises(NotFound, match=gone):
            call()
    assert svc.transition_card(carol, "clf-card", m.CardTransition(action="archive"))


def test_no_monitor_runs_on_an_unpublished_asset(svc):
    """Red team R17-2: a stopped monitor's "run now" still ran (and stored an execution, and could
    raise alerts) after its dataset or model was unpublished; a monitor could be created on a
    deployment whose capture dataset was unpublished."""
    svc.publish(alice, m.Publish(name="clf", kind="model", project="clinic", description="m",
                                 **inline_content(_model())))
    svc.publish(alice, m.Publish(**publish_body("ds", project="clinic")))
    svc.create_monitor(alice, m.MonitorCreate(name="mon", model="clf", data="ds", baseline=BASELINE))
    svc.set_monitor_active(alice, "mon", False)
    svc.unpublish_asset(alice, "ds", GONE)
    with pytest.raises(NotFound, match="'ds' was unpublished by alice"):
        svc.run_monitor(alice, "mon")
    svc.deploy(alice, m.DeploymentCreate(name="dep", model="clf"))
    svc.update_deployment(alice, "dep", m.DeploymentUpdate(status="OutOfService"))
    svc.unpublish_asset(alice, "dep-capture", GONE)
    with pytest.raises(NotFound, match="'dep-capture' was unpublished by alice"):
        svc.create_monitor(alice, m.MonitorCreate(name="mon2", deployment="dep", baseline=BASELINE))
    assert svc.list_executions(alice, "clf", m.ExecutionQuery())["executions"] == []


# ---- F3: identical bytes published while another asset holding them is unpublished -------------

def test_unpublish_never_deletes_content_a_concurrent_publish_recorded(pg):
    """dave publishes the very bytes of alice's dataset into his project while she unpublishes
    it: his publish either keeps them (recorded first: unpublish keeps them for him) or is
    refused (409, publish again); never a revision whose content is gone. Before, 1 in 6 pairs
    left dave's dataset unreadable for good. The start of the unpublish is swept over the time
    dave's publish takes to check its bytes, to meet every interleaving."""
    for i in range(ROUNDS * 2):
        body = publish_body(f"sh{i}", project="clinic", df=frame(70 + 2 * i))
        pg.publish(alice, m.Publish(**body))
        res = race(lambda: pg.unpublish_asset(alice, f"sh{i}", GONE),
                   lambda: pg.publish(dave, m.Publish(**{**body, "name": f"dsh{i}", "project": "daves"})),
                   delays=(0.005 * i, 0))
        assert ok(res[0]), res
        if ok(res[1]):
            _, chunks = pg.read_data(dave, f"dsh{i}", form="parquet")
            assert b"".join(chunks), (i, res)
        else:
            assert isinstance(res[1], Conflict) and "removed at the same moment" in str(res[1]), res
            assert not rows(pg, select(t.Asset.id).where(t.Asset.name == f"dsh{i}"))


# ---- F5: limits and deletes under concurrency (PostgreSQL) --------------------------------------

def test_monitor_limits_hold_under_concurrent_creates(pg):
    model = _model()
    pg.publish(alice, m.Publish(name="clf", kind="model", project="clinic", description="m",
                                **inline_content(model)))
    pg.publish(alice, m.Publish(**publish_body("ds", project="clinic")))
    pg.monitor_max_per_project = 3
    for j in range(2):
        pg.create_monitor(alice, m.MonitorCreate(name=f"held{j}", model="clf", data="ds", baseline=BASELINE))
    res = race(*[lambda j=j: pg.create_monitor(carol, m.MonitorCreate(name=f"new{j}", model="clf", data="ds",
                                                                    baseline=BASELINE)) for j in range(4)])
    assert sum(map(ok, res)) == 1 and all(isinstance(r, Conflict) for r in res if not ok(r)), res
    assert rows(pg, select(func.count()).select_from(t.Monitor))[0][0] == 3

    pg.monitor_max_per_project, pg.monitor_max_per_user = 50, 5  # carol holds 1
    pg.create_project(carol, m.ProjectCreate(name="carols", description="x"))
    pg.publish(carol, m.Publish(name="cclf", kind="model", project="carols", description="m",
                                **inline_content(model)))
    pg.publish(carol, m.Publish(**publish_body("cds", project="carols")))
    res = race(*[lambda j=j: pg.create_monitor(carol, m.MonitorCreate(
        name=f"c{j}", model=("clf" if j % 2 else "cclf"), data=("ds" if j % 2 else "cds"), baseline=BASELINE))
        for j in range(6)])
    assert sum(map(ok, res)) == 4 and all("monitor_max_per_user" in str(r) for r in res if not ok(r)), res
    assert rows(pg, select(func.count()).select_from(t.Monitor).where(t.Monitor.created_by == "carol"))[0][0] == 5


def test_channel_limit_and_double_deletes(pg, monkeypatch):
    monkeypatch.setattr(notifications, "MAX_CHANNELS", 2)
    res = race(*[lambda j=j: pg.add_channel(bob, m.ChannelCreate(kind="email", target=f"b{j}@example.org"))
                 for j in range(4)])
    assert sum(map(ok, res)) == 2 and all(isinstance(r, Conflict) for r in res if not ok(r)), res
    assert len(pg.list_channels(bob)["channels"]) == 2

    first = pg.list_channels(bob)["channels"][0]["id"]
    res = race(lambda: pg.delete_channel(bob, first), lambda: pg.delete_channel(bob, first))
    assert sum(map(ok, res)) == 1 and any(isinstance(r, NotFound) for r in res), res
    assert rows(pg, select(func.count()).select_from(t.AuditEvent)
                .where(t.AuditEvent.action == "channel.delete"))[0][0] == 1

    pg.publish(alice, m.Publish(name="clf", kind="model", project="clinic", description="m",
                                **inline_content(_model())))
    for i in range(ROUNDS):
        ex = pg.record_execution(alice, "clf", m.ExecutionCreate(report={"violations": []}))
        res = race(lambda: pg.delete_execution(alice, "clf", ex["id"]),
                   lambda: pg.delete_execution(carol, "clf", ex["id"]))
        assert sum(map(ok, res)) == 1 and any(isinstance(r, NotFound) for r in res), res
    assert rows(pg, select(func.count()).select_from(t.AuditEvent)
                .where(t.AuditEvent.action == "monitor.execution.delete"))[0][0] == ROUNDS


# ---- F7: a capture is checked where it is written ------------------------------------------------

def _captured_batch(n=40) -> bytes:
    import io

    df = frame(n).assign(inference_id=[f"i{k}" for k in range(n)])
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def test_capture_refused_out_of_service(svc):
    svc.publish(alice, m.Publish(name="clf", kind="model", project="clinic", description="m",
                                 **inline_content(_model())))
    svc.deploy(alice, m.DeploymentCreate(name="dep", model="clf"))
    assert svc.append_capture(alice, "dep", "inference", _captured_batch())["rows"] == 40
    svc.update_deployment(alice, "dep", m.DeploymentUpdate(status="OutOfService"))
    with pytest.raises(Conflict, match="'dep' is OutOfService: it takes captures while InService"):
        svc.append_capture(alice, "dep", "inference", _captured_batch(42))
    # labels come later, for inferences it served while in service
    assert svc.append_capture(alice, "dep", "ground_truth", _captured_batch(40))["kind"] == "ground_truth"
    svc.unpublish_asset(alice, "dep-capture", GONE)  # R15: then a capture into it was 201
    with pytest.raises(NotFound, match="'dep-capture' was unpublished"):
        svc.append_capture(alice, "dep", "ground_truth", _captured_batch(40))
    with pytest.raises(Conflict, match="OutOfService"):
        svc.append_capture(alice, "dep", "inference", _captured_batch(44))
    with pytest.raises(NotFound, match="'dep-capture' was unpublished"):
        svc.update_deployment(alice, "dep", m.DeploymentUpdate(status="InService"))
    with pytest.raises(Forbidden):
        svc.append_capture(dave, "dep", "inference", _captured_batch(46))


def test_a_capture_decoded_while_its_deployment_stops_is_refused(pg):
    """The capture is authorized and its deployment's status checked in the transaction that
    records it: a batch still decoding when the deployment is taken out of service is refused,
    never recorded after the stop (before: checked once, before a decode of up to 120 s)."""
    pg.publish(alice, m.Publish(name="clf", kind="model", project="clinic", description="m",
                                **inline_content(_model())))
    batch = _captured_batch(20_000)
    for i in range(ROUNDS // 2):
        pg.deploy(alice, m.DeploymentCreate(name=f"dep{i}", model="clf"))
        res = race(lambda: pg.append_capture(carol, f"dep{i}", "inference", batch),
                   lambda: pg.update_deployment(alice, f"dep{i}", m.DeploymentUpdate(status="OutOfService")),
                   delays=(0, 0.02))
        assert ok(res[1]), res
        order = [a for a, in rows(pg, select(t.AuditEvent.action).where(
            t.AuditEvent.resource_id == f"dep{i}", t.AuditEvent.action.in_(
                ("deployment.capture.inference", "deployment.update"))).order_by(t.AuditEvent.id))]
        if ok(res[0]):
            assert order == ["deployment.capture.inference", "deployment.update"], (res, order)
        else:
            assert isinstance(res[0], Conflict) and "OutOfService" in str(res[0]) and order == ["deployment.update"]


# ---- F9: a monitor reads under its creator's groups as last seen --------------------------------

def test_a_monitor_follows_its_creators_groups(svc):
    """carol's monitor reads a confidential dataset. She joins group temps, whose role caps reads
    at internal, and is seen with it (any authorized call): the next run, by alice, fails and
    stops the monitor, as for a revoked grant. Before, her groups were refreshed only when she
    herself started it again: the run completed (R15 mongroups.py)."""
    from mlgov_jupyter.core.roles import Guardrails, Role

    root = Actor("root")
    svc.set_member(alice, "clinic", m.MemberSet(user="carol", designation="contributor"))
    svc.publish(alice, m.Publish(name="clf", kind="model", project="clinic", description="m",
                                 **inline_content(_model())))
    svc.publish(alice, m.Publish(**publish_body("ds", project="clinic", classification="confidential")))
    svc.create_monitor(carol, m.MonitorCreate(name="mon", model="clf", data="ds", baseline=BASELINE))
    role = Role.from_persona("low", "data-scientist", guardrails=Guardrails(classification_ceiling="internal"))
    svc.save_role(root, m.RoleBody(role=role.to_dict()))
    svc.assign(root, m.AssignmentCreate(role="low", group="temps"))
    carol_now = Actor("carol", groups=("temps",))
    svc.monitors(carol_now)  # seen with her groups now
    svc.publish(alice, m.Publish(**publish_body("ds", project="clinic", classification="confidential",
                                                df=frame(60))))
    ex = svc.run_monitor(alice, "mon")
    assert ex["status"] == "Failed", ex
    assert svc.get_monitor(alice, "mon")["active"] is False
    events = rows(svc, select(t.AuditEvent.actor, t.AuditEvent.detail).where(t.AuditEvent.action == "monitor.groups"))
    assert [(a, json.loads(d)["groups"]) for a, d in events] == [("carol", ["temps"])], events
    svc.monitors(carol_now)  # the same groups again: nothing written
    assert len(rows(svc, select(t.AuditEvent.id).where(t.AuditEvent.action == "monitor.groups"))) == 1
