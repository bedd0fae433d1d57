"""Fixtures for team-mode tests: a real JupyterHub with mlgov serve as a managed service, Unix users
alice, bob, mallory and the service account mlgov (see harness.py). Needs root, useradd,
JupyterHub and configurable-http-proxy; without them these tests skip (in CI they fail)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from .harness import Hub


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in a real Chromium (Playwright)")


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """Override pytest-jupyter's autouse loop: the hub runs in subprocesses, and Playwright's sync
    API (browser test) must keep its own loop."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    """Override pytest-jupyter's in-process server cleanup (there is none here)."""
    yield


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing_reason() -> str | None:
    if os.geteuid() != 0:
        return "team-mode hub tests need root (they create Unix users and spawn servers as them)"
    for tool in ("useradd", "runuser"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    if not (Path(sys.executable).parent / "jupyterhub").exists():
        return "jupyterhub is not installed in this environment (pip install -e '.[test]')"
    if not shutil.which("configurable-http-proxy"):
        return "configurable-http-proxy is not installed (npm install -g configurable-http-proxy)"
    return None


def _start(**kwargs) -> Hub:
    reason = _missing_reason()
    if reason:
        if _in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    hub = Hub(**kwargs).start()
    try:
        hub.start_servers()  # alice's, bob's and mallory's at once
    except BaseException:
        hub.stop()
        raise
    return hub


# The session hub's service checks due monitors every 2 s (a one-minute schedule runs within
# seconds of its minute) and may post webhooks to receivers the tests start on 127.0.0.1.
SESSION_SERVICE_CONFIG = ("c.MlgovServe.monitor_tick_seconds = 2.0",
                          "c.MlgovServe.delivery_interval = 0.5",
                          "c.MlgovServe.webhook_allowed_hosts = ['127.0.0.1']")


@pytest.fixture(scope="session")
def hub():
    """One hub for the whole session (SQLite store); the tests use unique names."""
    hub = _start(service_config=SESSION_SERVICE_CONFIG)
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def pg_hub():
    """A hub whose service stores in PostgreSQL ($MLGOV_TEST_PG_URL; its password goes only into
    the service's own 0600 config file)."""
    url = os.environ.get("MLGOV_TEST_PG_URL")
    if not url:
        pytest.skip("MLGOV_TEST_PG_URL is not set (CI sets it; see .ci/run)")
    hub = _start(db_url=url)
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def s3_hub(tmp_path_factory):
    """A hub whose service keeps its objects in a real S3-compatible server (moto's, run by root
    on 127.0.0.1), vends presigned URLs and may register data under s3://BUCKET/lake/; the
    S3 credentials go only into the service's 0600 config file. ``hub.s3`` is the server."""
    from s3_server import S3Server

    s3 = S3Server(tmp_path_factory.mktemp("s3"))
    try:
        hub = _start(service_config=(
            f"c.MlgovServe.objects_url = 's3://{s3.bucket}/catalog'",
            f"c.MlgovServe.objects_options = {s3.options()!r}",
            "c.MlgovServe.presigned_urls = True",
            f"c.MlgovServe.external_locations = {{'s3://{s3.bucket}/lake/': {s3.options()!r}}}"))
    except BaseException:
        s3.stop()
        raise
    hub.s3 = s3
    try:
        yield hub
    finally:
        hub.stop()
        s3.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_hub(request):
    """The session's SQLite hub, then a PostgreSQL one (when $MLGOV_TEST_PG_URL is set)."""
    return request.getfixturevalue("hub" if request.param == "sqlite" else "pg_hub")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing hub test's report ends with the hub's log (hub, proxy, service, servers)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for name in ("store_hub", "hub", "pg_hub", "s3_hub"):
            hub = getattr(item, "funcargs", {}).get(name)
            if isinstance(hub, Hub) and hub.workdir:
                report.sections.append((f"JupyterHub log ({name})", hub.log_tail(120)))
                break
