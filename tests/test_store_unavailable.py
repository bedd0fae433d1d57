"""A store that cannot be written (read-only file, full disk) is a 503 that says so, not a 500."""

from __future__ import annotations

import pytest

from mlgov_jupyter.core import models as m
from mlgov_jupyter.service import Actor, GovernanceService
from mlgov_jupyter.store.db import Store


@pytest.fixture
def jp_server_config(jp_server_config, db_file):
    # a real store, then served read-only (SQLite's mode=ro: as root too, unlike chmod 0444)
    store = Store(f"sqlite:///{db_file}")
    GovernanceService(store=store).create_project(Actor("alice"), m.ProjectCreate(name="fraud"))
    store.dispose()
    config = jp_server_config
    config["MlgovApp"] = {**config["MlgovApp"], "db_url": f"sqlite:///file:{db_file}?mode=ro&uri=true",
                          "audit_checkpoint_interval": 0}
    return config


async def test_a_read_only_store_is_a_503_that_says_so(api):
    status, body, _ = await api("alice", "GET", "projects")
    assert status == 200 and [p["name"] for p in body["projects"]] == ["fraud"]
    status, body, _ = await api("alice", "POST", "projects", {"name": "other"})
    assert status == 503, body
    assert body["message"] == "the governance store cannot be written: the database is read-only"
