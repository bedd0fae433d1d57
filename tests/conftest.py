"""Shared fixtures: a real jupyter-server with the mlgov extension, several users by token."""

from __future__ import annotations

import json

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
