"""A hub user's kernel cannot log in to the test PostgreSQL server as the service's role: with
no password, nor with the public one the CI script once set ('mlgov'). .ci/run now gives the
role a new random password per run; with a run whose role still has the public password this
test fails (red team R13: bob's kernel reached the store with mlgov/mlgov, which made the pg_hub
tests of "users cannot reach the store" prove nothing)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

PUBLIC_PASSWORDS = ("mlgov", "", "postgres")


def test_a_users_kernel_cannot_log_in_as_the_store_role(hub):
    url = os.environ.get("MLGOV_TEST_PG_URL")
    if not url:
        pytest.skip("MLGOV_TEST_PG_URL is not set (CI sets it; see .ci/run)")
    parts = urlsplit(url.replace("postgresql+psycopg", "postgresql"))
    if parts.password in PUBLIC_PASSWORDS:
        pytest.skip(f"this PostgreSQL role's password is a public one ({parts.password!r}): run .ci/run, "
                    f"which sets a random one, for this test to mean something")
    hub.start_server("mallory")
    code = (
        "import psycopg\n"
        f"for password in {list(PUBLIC_PASSWORDS)!r}:\n"
        "    try:\n"
        f"        psycopg.connect(host={parts.hostname!r}, port={parts.port or 5432}, user={parts.username!r},\n"
        f"                        dbname={parts.path.lstrip('/')!r}, password=password, connect_timeout=5).close()\n"
        "        print('LOGGED IN with', repr(password))\n"
        "    except psycopg.OperationalError as exc:\n"
        "        print('refused', type(exc).__name__)\n")
    out, err = hub.run_in_kernel("mallory", code, timeout=60)
    assert err is None, (out, err)
    assert "LOGGED IN" not in out and out.count("refused") == len(PUBLIC_PASSWORDS), out
