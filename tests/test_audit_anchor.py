"""Signed checkpoints anchor the audit chain: someone holding the database but not the signing
key rewrites it consistently (every hash and the head recomputed) and ``mlgov audit-verify``,
run as a separate process on a read-only connection, still names what was changed."""

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from mlgov_jupyter.core import audit as chain
from mlgov_jupyter.core import models as m
from mlgov_jupyter.core.errors import Conflict, Forbidden, NotFound
from mlgov_jupyter.jobs.checkpoints import run_checkpoint
from mlgov_jupyter.service import Actor, GovernanceService
from mlgov_jupyter.store.anchor import AuditAnchor
from mlgov_jupyter.store.db import MIGRATIONS, Store

PG_URL = os.environ.get("MLGOV_TEST_PG_URL")
ROOT, ALICE = Actor("root"), Actor("alice")
EVENTS, EVERY = 200, 20  # 200 events, a checkpoint every 20: checkpoint k signs 20k-19 .. 20k


# ---- fixtures and helpers ------------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="MLGOV_TEST_PG_URL not set"))])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.sqlite'}"
    return request.getfixturevalue("fresh_pg_url")


def anchor_for(tmp_path):
    return AuditAnchor(tmp_path / "keys" / "audit.pem", tmp_path / "checkpoints")


def service(url, anchor=None):
    return GovernanceService(store=Store(url), anchor=anchor, admin_users=frozenset({"root"}))


def grow(svc, n):
    for _ in range(n):
        svc.create_project(ALICE, m.ProjectCreate(name=f"p{uuid.uuid4().hex[:12]}"))


@pytest.fixture
def anchored(db_url, tmp_path):
    """200 events, 10 checkpoints in the database and the directory; (url, tmp_path)."""
    svc = service(db_url, anchor_for(tmp_path))
    for _ in range(EVENTS // EVERY):
        grow(svc, EVERY)
        assert svc.checkpoint_now() is not None
    svc.store.dispose()
    return db_url, tmp_path


def cli(url, tmp_path, key=True, checkpoints=True):
    args = [sys.executable, "-m", "mlgov_jupyter.cli", "audit-verify", "--db-url", url]
    if key:
        args += ["--public-key", str(tmp_path / "keys" / "audit.pub")]
    if checkpoints:
        args += ["--checkpoints", str(tmp_path / "checkpoints")]
    run = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, (run.stdout + run.stderr).strip()


def rows(conn, first=1):
    return [dict(r._mapping) for r in conn.execute(text(
        "SELECT * FROM audit_events WHERE id >= :f ORDER BY id"), {"f": first})]


def rehash(conn, first):
    """What someone who knows the algorithm does: recompute every hash from ``first`` on, and
    the head."""
    prev = conn.execute(text("SELECT hash FROM audit_events WHERE id = :i"), {"i": first - 1}).scalar()
    prev = prev or chain.GENESIS
    last_id = first - 1
    for ev in rows(conn, first):
        digest = chain.event_hash(prev, ev)
        conn.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i"),
                     {"p": prev, "h": digest, "i": ev["id"]})
        prev, last_id = digest, ev["id"]
    conn.execute(text("UPDATE audit_head SET last_id = :i, last_hash = :h WHERE id = 1"),
                 {"i": last_id, "h": prev})


def tamper(url, *statements, rehash_from=None):
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for stmt in statements:
                conn.execute(text(stmt))
            if rehash_from is not None:
                rehash(conn, rehash_from)
    finally:
        engine.dispose()


def forged_append(url):
    engine = create_engine(url)
    with engine.begin() as conn:
        last = conn.execute(text("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")).one()
        ev = {"id": last[0] + 1, "ts": "2026-01-01T00:00:00+00:00", "actor": "bob",
              "action": "access.accept", "resource_type": "request", "resource_id": "7",
              "detail": chain.canonical({"project": "risk"}), "project": "risk"}
        digest = chain.event_hash(last[1], ev)
        conn.execute(text("INSERT INTO audit_events (id, ts, actor, action, resource_type, resource_id,"
                          " detail, project, prev_hash, hash) VALUES (:id, :ts, :actor, :action,"
                          " :resource_type, :resource_id, :detail, :project, :prev_hash, :hash)"),
                     {**ev, "prev_hash": last[1], "hash": digest})
        conn.execute(text("UPDATE audit_head SET last_id = :i, last_hash = :h WHERE id = 1"),
                     {"i": ev["id"], "h": digest})
    engine.dispose()
    return ev["id"]


# ---- the five consistent rewrites ------------------------------------------------------------

def test_clean_store_verifies(anchored):
    url, tmp = anchored
    code, out = cli(url, tmp)
    assert code == 0, out
    assert out == "OK: audit chain intact: 200 events verified, events 1-200 signed in 10 checkpoints"
    code, out = cli(url, tmp, key=False, checkpoints=False)  # links only, as before
    assert code == 0 and out == "OK: audit chain intact: 200 events verified"


def test_a_edit_with_recomputed_chain_names_the_event(anchored):
    url, tmp = anchored
    tamper(url, "UPDATE audit_events SET actor = 'mallory' WHERE id = 40", rehash_from=40)
    assert cli(url, tmp, key=False, checkpoints=False)[0] == 0  # the links alone cannot tell
    code, out = cli(url, tmp)
    assert code == 1 and out == ("BROKEN: audit event 40 was altered: its hash differs from the one "
                                 "signed in checkpoint 2")
    code, out = cli(url, tmp, checkpoints=False)  # the database's own signed rows catch it too
    assert code == 1 and "audit event 40 was altered" in out


def test_b_forged_append_is_caught_before_any_checkpoint(anchored):
    """The service signs each event as it writes it: an event appended without the key is named
    at once (no checkpoint needed), a signature copied from another event does not fit, and the
    next checkpoint refuses to sign the forgery. One that takes the place of signed events (their
    checkpoint rows deleted too) is caught by the directory."""
    url, tmp = anchored
    forged = forged_append(url)
    code, out = cli(url, tmp)
    assert code == 1 and out == (f"BROKEN: audit event {forged} is not signed by the service's key: "
                                 "forged, or written by something that does not hold the key")
    assert cli(url, tmp, key=False, checkpoints=False)[0] == 0  # the links alone cannot tell
    tamper(url, f"UPDATE audit_events SET signature = (SELECT signature FROM audit_events WHERE id = 200)"
                f" WHERE id = {forged}")
    code, out = cli(url, tmp)
    assert code == 1 and out == f"BROKEN: audit event {forged} has an invalid signature: forged or altered"
    svc = service(url, anchor_for(tmp))
    with pytest.raises(Conflict, match=f"audit event {forged} has an invalid signature"):
        svc.checkpoint_now()
    svc.store.dispose()
    tamper(url, "DELETE FROM audit_events WHERE id > 190", "DELETE FROM audit_checkpoints WHERE seq = 10",
           rehash_from=191)
    forged = forged_append(url)
    code, out = cli(url, tmp)
    assert code == 1 and out == ("BROKEN: audit event 191 was altered: its hash differs from the one "
                                 "signed in checkpoint 10")


def test_c_delete_with_renumbering_names_the_event(anchored):
    url, tmp = anchored
    tamper(url, "DELETE FROM audit_events WHERE id = 40",
           "UPDATE audit_events SET id = -id WHERE id > 40",
           "UPDATE audit_events SET id = -id - 1 WHERE id < 0", rehash_from=40)
    assert cli(url, tmp, key=False, checkpoints=False)[0] == 0
    code, out = cli(url, tmp)
    assert code == 1 and out.startswith("BROKEN: audit event 40 was altered: its hash differs from "
                                        "the one signed in checkpoint 2")


def test_d_truncated_tail_is_named(anchored):
    url, tmp = anchored
    tamper(url, "DELETE FROM audit_events WHERE id > 150", rehash_from=151)  # head back to 150
    assert cli(url, tmp, key=False, checkpoints=False)[0] == 0
    code, out = cli(url, tmp)
    assert code == 1 and out == ("BROKEN: events 151-200 were removed: checkpoint 10 signed event 200 "
                                 "but the store ends at event 150")


def test_e_wipe_is_caught_by_the_directory(anchored):
    url, tmp = anchored
    tamper(url, "DELETE FROM audit_events", "DELETE FROM audit_checkpoints", "DELETE FROM audit_head")
    code, out = cli(url, tmp)
    assert code == 1 and out == ("BROKEN: events 1-200 were removed: checkpoint 10 signed event 200 "
                                 "but the store holds no audit events")
    code, out = cli(url, tmp, key=False, checkpoints=False)  # no traceback without the head row
    assert code == 1 and "audit head row is missing" in out
    tamper(url, "INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, '" + "0" * 64 + "')")
    code, out = cli(url, tmp)  # a fresh, empty-looking store
    assert code == 1 and "events 1-200 were removed" in out


# ---- the checkpoints themselves --------------------------------------------------------------

def _rewrite_file(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.chmod(0o644)
    path.write_text(json.dumps(doc))


def test_f_newest_events_removed_after_the_last_checkpoint_are_caught_by_the_head_log(anchored):
    """Each committed write appends its new head, signed, to the directory's head log: deleting
    the newest events (not yet in a checkpoint) with the head fixed is caught, and so is an edit."""
    url, tmp = anchored
    svc = service(url, anchor_for(tmp))
    grow(svc, 10)  # events 201-210, signed one by one, in no checkpoint yet
    svc.store.dispose()
    assert cli(url, tmp)[0] == 0
    tamper(url, "DELETE FROM audit_events WHERE id > 205", rehash_from=206)
    code, out = cli(url, tmp)
    assert code == 1 and out == ("BROKEN: events 206-210 were removed: the head log signed event 210 "
                                 "but the store ends at event 205")
    assert cli(url, tmp, checkpoints=False)[0] == 0  # the database alone cannot tell


def test_g_a_rewrite_before_any_checkpoint_is_caught(tmp_path):
    """A fresh store, no checkpoint yet: stripping every signature and rewriting the chain leaves
    nothing the key vouches for (BROKEN even without the directory), and the head log names it."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    svc = service(url, anchor_for(tmp_path))
    grow(svc, 9)
    svc.store.dispose()
    tamper(url, "UPDATE audit_events SET signature = NULL", "DELETE FROM audit_events WHERE id > 6",
           "UPDATE audit_events SET actor = 'mallory' WHERE id = 4", rehash_from=4)
    code, out = cli(url, tmp_path, checkpoints=False)
    assert code == 1 and "none of the 6 events is signed" in out, out
    code, out = cli(url, tmp_path)
    assert code == 1 and out == "BROKEN: audit event 4 was altered: its hash differs from the one in the head log"


def test_h_an_altered_head_log_line_is_named(anchored):
    url, tmp = anchored
    svc = service(url, anchor_for(tmp))
    grow(svc, 2)
    svc.store.dispose()
    log_file = tmp / "checkpoints" / "heads.log"
    lines = log_file.read_text().splitlines()
    rec = json.loads(lines[-1])
    rec["event"] += 50  # claim more events than there were, without the key
    log_file.write_text("\n".join(lines[:-1] + [json.dumps(rec)]) + "\n")
    code, out = cli(url, tmp)
    assert code == 1 and out == (f"BROKEN: the head log's entry for event {rec['event']} has an invalid "
                                 "signature: altered")


def test_tampered_checkpoint_file_or_row_is_named(anchored):
    url, tmp = anchored
    path = tmp / "checkpoints" / "000003.json"
    original = path.read_text()
    _rewrite_file(path, lambda d: d["payload"]["event_hashes"].__setitem__(0, "0" * 64))
    code, out = cli(url, tmp)
    assert code == 1 and out.startswith("BROKEN: checkpoint 3 in file 000003.json has an invalid signature")
    path.write_text(original)
    assert cli(url, tmp)[0] == 0
    tamper(url, "UPDATE audit_checkpoints SET signature = 'AAAA' || substr(signature, 5) WHERE seq = 4")
    code, out = cli(url, tmp)
    assert code == 1 and out.startswith("BROKEN: checkpoint 4 in the database has an invalid signature")


def test_checkpoints_signed_by_another_key_are_refused(anchored):
    url, tmp = anchored
    other = AuditAnchor(tmp / "other" / "k.pem", None)
    doc = json.loads((tmp / "checkpoints" / "000002.json").read_text())
    forged = {**doc["payload"], "key_id": other.key_id}
    tamper(url, "DELETE FROM audit_checkpoints WHERE seq = 2")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_checkpoints (seq, first_event, last_event, payload, signature)"
                          " VALUES (2, 21, 40, :p, :s)"), {"p": chain.canonical(forged), "s": other.sign(forged)})
    engine.dispose()
    code, out = cli(url, tmp, checkpoints=False)
    assert code == 1 and f"it names key {other.key_id}" in out


def test_missing_checkpoint_in_the_chain_is_named(anchored):
    url, tmp = anchored
    tamper(url, "DELETE FROM audit_checkpoints WHERE seq = 5")
    assert cli(url, tmp)[0] == 0  # the directory still holds it
    code, out = cli(url, tmp, checkpoints=False)
    assert code == 1 and out == "BROKEN: checkpoint 5 is missing (the next one found is 6)"


def test_files_are_write_once_and_read_only(anchored):
    _url, tmp = anchored
    folder = tmp / "checkpoints"
    # checkpoints are write-once; the head log since checkpoint 9 (heads-000010.log) and the one
    # before are kept, older rotations are covered and gone
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:06d}.json" for i in range(1, 11)] + [
        "heads-000009.log", "heads-000010.log"]
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o444" for p in folder.glob("*.json"))
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in folder.glob("heads*.log"))
    key = tmp / "keys" / "audit.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600" and oct(key.parent.stat().st_mode & 0o777) == "0o700"
    anchor = anchor_for(tmp)  # the same key is loaded again
    assert (tmp / "keys" / "audit.pub").read_text() == anchor.public_key_pem
    with pytest.raises(Conflict, match="never overwritten"):
        anchor.write({"seq": 3}, "x")


# ---- read-only verification ------------------------------------------------------------------

def test_verify_never_writes_the_store(anchored, tmp_path):
    url, tmp = anchored
    if not url.startswith("sqlite"):
        pytest.skip("file checks")
    path = tmp / "audit.sqlite"
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    assert cli(url, tmp)[0] == 0
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    path.chmod(0o444)
    try:
        code, out = cli(url, tmp)
        assert code == 0, out
    finally:
        path.chmod(0o644)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def _alembic_at(url, revision):
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return engine


def _old_events(conn, n):
    """Events as releases before 0006 wrote them: no project column, the project in the detail."""
    prev = chain.GENESIS
    for i in range(1, n + 1):
        ev = {"id": i, "ts": f"2025-01-01T00:00:{i:02d}+00:00", "actor": "alice",
              "action": "project.create" if i == 1 else "asset.publish", "resource_type": "asset",
              "resource_id": f"a{i}", "detail": chain.canonical({"project": "risk", "revision": i})}
        digest = chain.event_hash(prev, ev)
        conn.execute(text("INSERT INTO audit_events (id, ts, actor, action, resource_type, resource_id,"
                          " detail, prev_hash, hash) VALUES (:id, :ts, :actor, :action, :resource_type,"
                          " :resource_id, :detail, :prev, :hash)"), {**ev, "prev": prev, "hash": digest})
        prev = digest
    conn.execute(text("UPDATE audit_head SET last_id = :n, last_hash = :h WHERE id = 1"), {"n": n, "h": prev})


def test_store_without_checkpoints_table_is_read_and_not_migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = _alembic_at(url, "0005")
    with engine.begin() as conn:
        _old_events(conn, 3)
    engine.dispose()
    anchor_for(tmp_path)  # a key, as the verifier holds one
    code, out = cli(url, tmp_path)  # a key vouches for none of an old store's events: said so
    assert code == 1 and "none of the 3 events is signed" in out and "predates checkpoints" in out
    assert cli(url, tmp_path, key=False, checkpoints=False) == (0, "OK: audit chain intact: 3 events verified")
    with sqlite3.connect(tmp_path / "old.sqlite") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == ("0005",)


def test_unusable_input_exits_2(anchored, tmp_path):
    url, tmp = anchored
    for args in (["--db-url", "nonsense://x"], ["--db-url", f"sqlite:///{tmp_path / 'none.sqlite'}"],
                 ["--db-url", url, "--public-key", str(tmp_path / "missing.pub")],
                 ["--db-url", url, "--checkpoints", str(tmp / "checkpoints")]):
        run = subprocess.run([sys.executable, "-m", "mlgov_jupyter.cli", "audit-verify", *args],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert run.stderr.startswith("ERROR: ") and run.stderr.count("\n") == 1, run.stderr
    assert not (tmp_path / "none.sqlite").exists()


# ---- migration backfill (issue 8, item 5) ------------------------------------------------------

def test_store_from_before_0006_verifies_after_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = _alembic_at(url, "0005")
    with engine.begin() as conn:
        _old_events(conn, 3)
    engine.dispose()
    svc = service(url)  # upgrades to head
    try:
        svc.create_project(ALICE, m.ProjectCreate(name="risk"))  # alice owns the old events' project
        assert svc.audit_verify(ROOT) == {"ok": True, "checked": 4, "first_broken": None,
                                          "message": "audit chain intact: 4 events verified"}
        events = svc.audit_events(ALICE, m.AuditQuery(project="risk"))["events"]
        assert [e["id"] for e in events] == [4, 3, 2, 1]
    finally:
        svc.store.dispose()


# ---- the service: checkpoints, head row, routes ------------------------------------------------

def test_service_checkpoints_and_their_routes(tmp_path):
    from mlgov_jupyter.kernel.client import Client
    from mlgov_jupyter.kernel.transport import LocalTransport

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    svc = service(url, anchor_for(tmp_path))
    try:
        grow(svc, 3)
        with pytest.raises(Forbidden, match="only administrators may sign audit checkpoints"):
            svc.audit_checkpoint(ALICE)
        made = svc.audit_checkpoint(ROOT)
        assert made["message"] == "checkpoint 1 signed events 1-4"  # 3 and alice's refusal
        assert made["checkpoint"]["payload"]["event_hashes"][-1] == made["checkpoint"]["payload"]["head_hash"]
        assert svc.audit_checkpoint(ROOT) == {"checkpoint": None, "message": "head has not moved"}
        root, alice = (LocalTransport(url, "root", frozenset({"root"})), LocalTransport(url, "alice"))
        root._service = alice._service = svc
        grow(svc, 1)
        assert Client(root).audit_checkpoint()["message"] == "checkpoint 2 signed events 5-5"
        listed = Client(root).audit_checkpoints()
        assert [d["payload"]["seq"] for d in listed] == [2, 1]
        assert listed[0]["payload"]["prev_checkpoint"] == chain.payload_digest(listed[1]["payload"])
        key = Client(alice).audit_public_key()
        assert key["public_key"] == svc.anchor.public_key_pem and key["key_id"] == svc.anchor.key_id
        with pytest.raises(Forbidden):
            Client(alice).audit_checkpoints()
        with pytest.raises(Forbidden):
            Client(alice).audit_checkpoint()
        result = svc.audit_verify(ALICE)
        assert result["ok"] and result["checkpoints"] == 2 and result["covered"] == 5
    finally:
        svc.store.dispose()


def test_without_a_key_there_are_no_checkpoints(tmp_path):
    svc = service(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        with pytest.raises(Conflict, match="no audit signing key"):
            svc.audit_checkpoint(ROOT)
        with pytest.raises(NotFound):
            svc.audit_public_key(ALICE)
    finally:
        svc.store.dispose()


def test_deleted_head_row_gives_a_clear_message(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    svc = service(url, anchor_for(tmp_path))
    try:
        grow(svc, 2)
        tamper(url, "DELETE FROM audit_head")
        with pytest.raises(Conflict, match="audit head row is missing"):
            grow(svc, 1)
        with pytest.raises(Conflict, match="audit head row is missing"):
            svc.checkpoint_now()
        result = svc.audit_verify(ROOT)
        assert not result["ok"] and "audit head row is missing" in result["message"]
        assert not service(url).audit_verify(ROOT)["ok"]  # without an anchor too
    finally:
        svc.store.dispose()


def test_a_broken_chain_is_never_signed(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    svc = service(url, anchor_for(tmp_path))
    try:
        grow(svc, 3)
        tamper(url, "UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
        with pytest.raises(Conflict, match="audit event 2 does not verify"):
            svc.checkpoint_now()
        assert not list((tmp_path / "checkpoints").glob("*.json"))
    finally:
        svc.store.dispose()


# ---- the scheduled job -------------------------------------------------------------------------

def _wait_for(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def checkpoint_job(svc, interval: float):
    """A started scheduler holding the checkpoint job as the service schedules it (every
    ``interval`` s; none when 0); the caller shuts it down."""
    from types import SimpleNamespace

    from apscheduler.schedulers.background import BackgroundScheduler

    from mlgov_jupyter.jobs import checkpoints

    scheduler = BackgroundScheduler(daemon=True)
    checkpoints.schedule(scheduler, svc, SimpleNamespace(audit_checkpoint_interval=interval))
    scheduler.start()
    return scheduler


def _settled(count, quiet=0.5, limit=15.0):
    """``count()`` once it is over 0 and has not changed for ``quiet`` seconds."""
    end, last, since = time.monotonic() + limit, count(), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif last and time.monotonic() - since >= quiet:
            return last
    raise AssertionError(f"still changing after {limit} s: {last}")


def test_job_checkpoints_when_the_head_moves_and_only_then(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    svc = service(url, anchor_for(tmp_path))
    folder = tmp_path / "checkpoints"
    scheduler = checkpoint_job(svc, 0.1)
    try:
        time.sleep(0.5)
        assert not list(folder.glob("*.json"))  # nothing to sign yet
        grow(svc, 2)
        # one checkpoint, or two when a run fell between the two events (a loaded CI machine)
        signed = _settled(lambda: len(list(folder.glob("*.json"))))
        assert signed in (1, 2)
        time.sleep(0.5)  # several more runs: the head has not moved
        assert len(list(folder.glob("*.json"))) == signed
        grow(svc, 1)
        assert _wait_for(lambda: len(list(folder.glob("*.json"))) == signed + 1)
    finally:
        scheduler.shutdown()
        svc.store.dispose()
    assert json.loads((folder / f"{signed + 1:06d}.json").read_text())["payload"]["first_event"] == 3


def test_job_survives_a_failing_run(tmp_path, caplog):
    class Failing:
        calls = 0

        def checkpoint_now(self):
            Failing.calls += 1
            raise RuntimeError("database gone")

    assert run_checkpoint(Failing()) is None and "audit checkpoint failed" in caplog.text
    scheduler = checkpoint_job(Failing(), 0.05)
    try:
        assert _wait_for(lambda: Failing.calls >= 4) and scheduler.running
    finally:
        scheduler.shutdown()
    scheduler = checkpoint_job(Failing(), 0)  # 0: checkpoints off
    try:
        assert scheduler.get_jobs() == []
    finally:
        scheduler.shutdown()


def test_in_process_client_signs_with_the_personal_key(tmp_path, monkeypatch):
    """connect() without a server writes to the personal store and signs with the key the
    personal server keeps beside it, so its events verify like the server's."""
    import mlgov_jupyter
    from mlgov_jupyter.kernel import transport

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    for var in ("MLGOV_SERVER_URL", "MLGOV_DB_URL", "MLGOV_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(transport, "_STORES", {})
    client = mlgov_jupyter.connect()
    client.create_project("signed-here")
    folder = tmp_path / "data" / "mlgov"
    db = sqlite3.connect(folder / "mlgov.sqlite")
    (event_id, digest, signature), = db.execute("SELECT id, hash, signature FROM audit_events").fetchall()
    db.close()
    key = AuditAnchor(folder / "audit-signing-key.pem", None).public_key
    assert chain.signature_valid(key, chain.event_statement(event_id, digest), signature)
    assert client.whoami()["is_admin"]  # the person owns the personal store
    transport._STORES[""].dispose()


def test_verification_while_others_write_never_cries_wolf(tmp_path):
    """The head log and checkpoint files are read before the database snapshot, so an event
    committed during a verification never looks removed (it did 5 times in 63 under load)."""
    import threading

    url = f"sqlite:///{tmp_path / 'busy.sqlite'}"
    svc = service(url, anchor_for(tmp_path))
    grow(svc, 5)
    svc.checkpoint_now()
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            grow(svc, 1)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for th in threads:
        th.start()
    try:
        verdicts = [svc.audit_verify(Actor("root")) for _ in range(25)]
        runs = [cli(url, tmp_path) for _ in range(2)]
    finally:
        stop.set()
        for th in threads:
            th.join()
        svc.store.dispose()
    assert all(v["ok"] for v in verdicts), [v["message"] for v in verdicts if not v["ok"]]
    assert all(code == 0 for code, _ in runs), runs
    assert verdicts[-1]["checked"] > verdicts[0]["checked"]  # the writers did write meanwhile
