"""Fixtures for browser tests: Debian Chromium through Playwright, and a real `jupyter lab`
with the installed mlgov extension (see lab.py)."""

from __future__ import annotations

import os
import shutil

import pytest

from .lab import ARTIFACTS, LabServer, installed_labextension

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in a real Chromium (Playwright)")


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """Override pytest-jupyter's autouse loop: it would close Playwright's running loop.
    Browser tests run JupyterLab in a subprocess and need no in-process server or loop."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    """Override pytest-jupyter's in-process server cleanup (there is none here)."""
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(reason: str):
    """In CI a missing browser or extension fails the run; on a laptop it skips."""
    if _in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    candidates = [os.environ.get("MLGOV_CHROMIUM"), "/usr/bin/chromium",
                  shutil.which("chromium"), shutil.which("chromium-browser")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    _missing("Chromium not found (apt-get install -y chromium, or set MLGOV_CHROMIUM)")


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Chromium through Playwright's sync API, for one module only: while Playwright runs, its
    event loop counts as running, which would break later pytest-jupyter (asyncio) tests."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """A real `jupyter lab` subprocess on a free port; yields its base URL (ending in '/')."""
    if installed_labextension() is None:
        _missing("the mlgov-jupyter labextension is not installed (pip install -e ., or "
                 "jlpm build && jupyter labextension develop --overwrite .)")
    server = LabServer(tmp_path_factory.mktemp("lab")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pages(request):
    """Pages a test opens; on failure each one is saved as test-artifacts/failed-N.png."""
    opened: list = []
    yield opened
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, page in enumerate(opened):
            try:
                page.screenshot(path=str(ARTIFACTS / f"failed-{i}.png"))
            except Exception:  # noqa: BLE001 - best effort on an already failing test
                pass
