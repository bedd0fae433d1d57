"""The audit log is hash-chained: editing or deleting a row in the database file is caught."""

import sqlite3
import subprocess
import sys

import pytest

from mlgov_jupyter.core import models as m
from mlgov_jupyter.service import Actor, GovernanceService
from mlgov_jupyter.store.db import Store

from helpers import publish_body


@pytest.fixture
def populated(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    svc = GovernanceService(store=Store(url))
    alice, bob = Actor("alice"), Actor("bob")
    svc.publish(alice, m.Publish(**publish_body()))
    req = svc.request_access(bob, m.AccessRequestCreate(asset="churn", reason="model"))
    svc.decide(alice, req["id"], m.Decision(comment="ok"), accept=True)
    svc.read_data(bob, "churn")
    svc.store.dispose()
    return url, tmp_path / "audit.sqlite"


def verify(url):
    svc = GovernanceService(store=Store(url))
    try:
        return svc.audit_verify(Actor("carol"))
    finally:
        svc.store.dispose()


def test_intact_chain_verifies(populated):
    url, _ = populated
    result = verify(url)
    assert result == {"ok": True, "checked": 6, "first_broken": None,
                      "message": "audit chain intact: 6 events verified"}


def test_edited_row_is_named(populated):
    url, path = populated
    with sqlite3.connect(path) as db:
        db.execute("UPDATE audit_events SET actor = 'mallory' WHERE id = 3")
    result = verify(url)
    assert not result["ok"] and result["first_broken"] == 3 and "event 3" in result["message"]


def test_edited_detail_with_recomputed_hash_breaks_the_next_link(populated):
    """Someone who knows the algorithm edits event 4 and recomputes its hash: event 5 no longer
    links to it."""
    from mlgov_jupyter.core.audit import event_hash

    url, path = populated
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        row = dict(db.execute("SELECT * FROM audit_events WHERE id = 4").fetchone())
        row["detail"] = '{"comment": "nothing to see", "project": "alice"}'
        db.execute("UPDATE audit_events SET detail = ?, hash = ? WHERE id = 4",
                   (row["detail"], event_hash(row["prev_hash"], row)))
    result = verify(url)
    assert not result["ok"] and result["first_broken"] == 5 and "does not link" in result["message"]


def test_edited_hash_is_named(populated):
    url, path = populated
    with sqlite3.connect(path) as db:
        db.execute("UPDATE audit_events SET hash = CASE WHEN substr(hash, 1, 1) = 'f' THEN '0' ELSE 'f' END"
                   " || substr(hash, 2) WHERE id = 4")
    result = verify(url)
    assert not result["ok"] and result["first_broken"] == 4


def test_deleted_row_is_named(populated):
    url, path = populated
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM audit_events WHERE id = 2")
    result = verify(url)
    assert not result["ok"] and result["first_broken"] == 3 and "event 2 is missing" in result["message"]


def test_deleted_tail_is_caught_by_the_head(populated):
    url, path = populated
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM audit_events WHERE id = 6")
    result = verify(url)
    assert not result["ok"] and "removed" in result["message"]


def test_cli_exit_codes(populated):
    url, path = populated
    ok = subprocess.run([sys.executable, "-m", "mlgov_jupyter.cli", "audit-verify", "--db-url", url],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("OK: audit chain intact")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE audit_events SET detail = '{}' WHERE id = 5")
    bad = subprocess.run([sys.executable, "-m", "mlgov_jupyter.cli", "audit-verify", "--db-url", url],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "event 5" in bad.stdout


def test_failed_operation_writes_no_audit_event(populated):
    url, _ = populated
    svc = GovernanceService(store=Store(url))
    with pytest.raises(Exception):
        svc.publish(Actor("bob"), m.Publish(**publish_body(project="alice")))  # bob is not a member
    # the refused publish keeps nothing; its refusal is the one event written, on its own
    assert verify(url)["checked"] == 7
    events = svc.audit_events(Actor("alice"), m.AuditQuery(project="alice"))["events"]
    assert (events[0]["action"], events[0]["actor"]) == ("access.denied", "bob")
    assert "asset.publish" not in [e["action"] for e in events[1:2]]


def test_project_log_and_its_column_are_tamper_evident(populated):
    url, path = populated
    svc = GovernanceService(store=Store(url))
    try:
        events = svc.audit_events(Actor("alice"), m.AuditQuery(project="alice"))["events"]
        assert [e["action"] for e in reversed(events) if e["action"] != "access.denied"] == [
                                                         "project.create", "asset.publish",
                                                         "access.request", "access.accept",
                                                         "grant.create", "asset.consume"]
        with pytest.raises(Exception):
            svc.audit_events(Actor("bob"), m.AuditQuery(project="alice"))  # not owner or steward
    finally:
        svc.store.dispose()
    with sqlite3.connect(path) as db:  # hide an event from the project's log
        db.execute("UPDATE audit_events SET project = 'elsewhere' WHERE id = 6")
    result = verify(url)
    assert not result["ok"] and result["first_broken"] == 6
