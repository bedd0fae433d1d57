"""Shared fixtures: a real jupyter-server with the mlgov extension, several users by token."""

from __future__ import annotations

import json
import os
import time
import uuid
import warnings

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TOKENS = {"alice-token": "alice", "bob-token": "bob", "carol-token": "carol", "root-token": "root",
          "dave-token": "dave"}


@pytest.fixture
def db_file(tmp_path):
    return tmp_path / "mlgov.sqlite"


@pytest.fixture
def jp_server_config(db_file):
    return {
        "ServerApp": {
            "jpserver_extensions": {"mlgov_jupyter": True},
            "identity_provider_class": "mlgov_jupyter.server.identity.TokenIdentityProvider",
            "authorizer_class": "mlgov_jupyter.server.identity.SharedServerAuthorizer",
            "allow_unauthenticated_access": False,
        },
        "TokenIdentityProvider": {"tokens": TOKENS, "user_groups": {"carol": ["auditors"]}},
        "MlgovApp": {"db_url": f"sqlite:///{db_file}", "admin_users": ["root"]},
    }


@pytest.fixture
def api(jp_fetch):
    """api(user, method, path, body=None, **params) -> (status, json)."""

    async def call(user, method, path, body=None, raw=None, **params):
        token = {v: k for k, v in TOKENS.items()}[user]
        kwargs = {"method": method, "headers": {"Authorization": f"token {token}"},
                  "raise_error": False, "params": {k: v for k, v in params.items() if v is not None}}
        if method not in ("GET", "DELETE"):
            kwargs["body"] = raw if raw is not None else json.dumps(body or {})
        resp = await jp_fetch("api", "mlgov", *path.split("/"), **kwargs)
        ctype = resp.headers.get("Content-Type", "")
        payload = json.loads(resp.body) if "json" in ctype and "ndjson" not in ctype and resp.body else resp.body
        return resp.code, payload, resp

    return call


@pytest.fixture
def fresh_pg_url():
    """A fresh PostgreSQL database on $MLGOV_TEST_PG_URL's server for one test, dropped afterwards
    (with the client's cached store, if a test opened one); skipped when the variable is unset."""
    base = os.environ.get("MLGOV_TEST_PG_URL")
    if not base:
        pytest.skip("MLGOV_TEST_PG_URL not set")
    from sqlalchemy import create_engine, text

    name = f"mlgov_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    from mlgov_jupyter.kernel import transport

    store = transport._STORES.pop(url, None)
    if store is not None:
        store.dispose()
    _drop(admin, name)
    admin.dispose()


def _drop(admin, name: str) -> None:
    """DROP DATABASE ... WITH (FORCE), which ends this role's sessions on it; a session of another
    role (someone's psql as postgres looking at the server) cannot be ended by this role: wait a
    little for it, then leave the database with a warning rather than fail the test."""
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    for _ in range(10):
        try:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
            return
        except ProgrammingError as exc:
            if "InsufficientPrivilege" not in type(exc.orig).__name__:
                raise
            time.sleep(0.5)
    warnings.warn(f"left database {name}: another role's session is connected to it")


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A real S3-compatible server (moto's, tests/s3_server.py) with a bucket, for one module."""
    from s3_server import S3Server

    server = S3Server(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()
