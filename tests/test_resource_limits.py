"""Bounded work: PDF exports (size limits, a worker process with a timeout, a cache per version,
their own threads), request body and row caps, over REST as a user meets them."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import threading
import time

import pytest

from helpers import publish_body
from tests_models import model_b64

from mlgov_jupyter.service import cards as card_service


def ok(r):
    assert r[0] in (200, 201), r[1]
    return r[1]


async def _card(api, rows: int, name="scorer-card"):
    ok(await api("alice", "POST", "projects", {"name": "risk"}))
    ok(await api("alice", "POST", "assets", {"name": "scorer", "kind": "model", "project": "risk",
                                             "format": "skops", "content_b64": model_b64()}))
    details = {f"detail {i}": f"value {i}" for i in range(rows)}
    ok(await api("alice", "POST", "cards", {"name": name, "model": "scorer",
                                            "content": {"additional_information": {"custom_details": details}}}))


@pytest.fixture
def service(jp_serverapp):
    return jp_serverapp.web_app.settings["mlgov_service"]


@pytest.fixture
def renders(monkeypatch):
    """Each PDF render's worker thread, and how many ran at once."""
    real, seen, lock = subprocess.run, [], threading.Lock()
    state = {"now": 0, "max": 0, "delay": 0.0}

    def run(*args, **kwargs):
        import time

        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            seen.append(threading.current_thread().name)
        try:
            time.sleep(state["delay"])
            return real(*args, **kwargs)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(card_service.subprocess, "run", run)
    return seen, state


async def test_a_card_too_large_to_render_as_pdf_is_a_400_and_other_formats_still_work(api):
    # ~92k characters of schema-valid content: 6,600 table rows took 19-250 s of CPU to lay out
    await _card(api, 3000)
    status, body, _ = await api("bob", "GET", "cards/scorer-card/export", format="pdf")
    assert status == 400
    assert body["message"] == ("model card 'scorer-card' version 1 has 3000 table rows; a PDF export "
                               "renders at most 1000 (export it as HTML, JSON or Markdown)")
    status, body, _ = await api("bob", "GET", "cards/scorer-card/export", format="html")
    assert status == 200 and body.startswith(b"<!DOCTYPE html>")


async def test_pdf_exports_run_apart_bounded_and_cached(api, service, renders):
    seen, state = renders
    await _card(api, 20)
    state["delay"] = 0.5
    calls = [api("bob", "GET", "cards/scorer-card/export", format="pdf") for _ in range(4)]
    exports = asyncio.gather(*calls)
    await asyncio.sleep(0.2)
    # while exports render, every other call is served at once (it does not wait for them)
    status, body, _ = await asyncio.wait_for(api("bob", "GET", "whoami"), 2.0)
    assert status == 200
    results = await exports
    assert all(r[0] == 200 and r[1].startswith(b"%PDF") for r in results)
    assert all(name.startswith("mlgov-export") for name in seen)
    assert 1 <= state["max"] <= service.limits.export_workers
    before = len(seen)
    # the same version again, rendered alike (bob may not read the model: no content hash, R20-5):
    # from the cache, no render
    status, body, _ = await api("bob", "GET", "cards/scorer-card/export", format="pdf")
    assert status == 200 and body == results[0][1] and len(seen) == before
    # an approval changes what is rendered: a new PDF
    ok(await api("alice", "POST", "cards/scorer-card/transition", {"action": "submit"}))
    status, body, _ = await api("alice", "GET", "cards/scorer-card/export", format="pdf")
    assert status == 200 and len(seen) == before + 1


async def test_a_pdf_export_that_runs_out_of_time_is_stopped_with_a_503(api, service, renders):
    await _card(api, 20)
    service.limits = dataclasses.replace(service.limits, export_timeout=0.05)
    status, body, _ = await api("bob", "GET", "cards/scorer-card/export", format="pdf")
    assert status == 503
    assert body["message"] == ("exporting model card 'scorer-card' version 1 as PDF took longer than "
                               "0.05 s and was stopped; try HTML")


async def test_a_body_over_max_body_bytes_is_a_413_with_one_line(api, service):
    service.limits = dataclasses.replace(service.limits, max_body_bytes=4096)
    status, body, _ = await api("alice", "POST", "projects", raw='{"name": "' + "x" * 5000 + '"}')
    assert status == 413
    assert body["message"] == "the request body is 5012 bytes; the mlgov server accepts at most 4096 bytes (max_body_bytes)"
    assert (await api("alice", "POST", "projects", {"name": "small"}))[0] == 201


async def test_the_client_reports_a_413_as_a_one_line_error(api, service, jp_http_port, jp_base_url):
    from mlgov_jupyter.core.errors import Invalid, TooLarge
    from mlgov_jupyter.kernel.transport import HttpTransport

    service.limits = dataclasses.replace(service.limits, max_body_bytes=4096)
    client = HttpTransport(f"http://localhost:{jp_http_port}{jp_base_url}", "alice-token")
    with pytest.raises(TooLarge) as err:
        await asyncio.to_thread(client.request, "POST", "projects", body={"name": "x" * 5000})
    assert isinstance(err.value, Invalid)
    assert str(err.value).endswith("accepts at most 4096 bytes (max_body_bytes)")


async def test_a_parquet_publish_over_publish_max_rows_is_a_413(api, service):
    import pandas as pd

    ok(await api("alice", "POST", "projects", {"name": "risk"}))
    service.limits = dataclasses.replace(service.limits, publish_max_rows=10)
    status, body, _ = await api("alice", "POST", "assets",
                                publish_body("many", df=pd.DataFrame({"a": range(11)}), project="risk"))
    assert status == 413
    assert body["message"] == "the Parquet content holds 11 rows; at most 10 may be published (publish_max_rows)"
    ok(await api("alice", "POST", "assets", publish_body("few", df=pd.DataFrame({"a": range(10)}), project="risk")))


async def test_a_cached_pdf_is_answered_while_every_render_slot_is_busy(api, service, renders):
    """Red team R22 F2: two users' renders held both export threads and a third user's cached
    export waited 3 s. Renders take a slot of export_workers inside the export threads, which are
    more: a cached PDF is answered meanwhile."""
    seen, state = renders
    await _card(api, 20)
    status, cached, _ = await api("alice", "GET", "cards/scorer-card/export", format="pdf")
    assert status == 200 and len(seen) == 1
    state["delay"] = 1.5
    renders_now = asyncio.gather(*(api(user, "GET", "cards/scorer-card/export", format="pdf")
                                   for user in ("bob", "carol")))
    await asyncio.sleep(0.3)
    assert state["now"] == service.limits.export_workers == 2  # both slots rendering
    started = time.monotonic()
    status, body, _ = await asyncio.wait_for(api("alice", "GET", "cards/scorer-card/export", format="pdf"), 5)
    assert status == 200 and body == cached and time.monotonic() - started < 1.0
    assert state["now"] == 2  # still rendering: alice's answer did not wait for them
    assert all(r[0] == 200 for r in await renders_now)
    assert state["max"] == 2
