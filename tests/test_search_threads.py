"""Where the server runs catalog searches (``search_workers``): on its event loop with a SQLite
store, on threads of their own when configured (or with a server database)."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from helpers import publish_body


@pytest.fixture
def service(jp_serverapp):
    return jp_serverapp.web_app.settings["mlgov_service"]


@pytest.fixture
def threads(service, monkeypatch):
    """The name of the thread each search ran on."""
    seen, real = [], type(service).search

    def search(self, actor, q):
        seen.append(threading.current_thread().name)
        return real(self, actor, q)

    monkeypatch.setattr(type(service), "search", search)
    return seen


async def _publish(api, name):
    status, body, _ = await api("alice", "POST", "assets", publish_body(name))
    assert status == 201, body


async def test_on_sqlite_searches_run_on_the_event_loop_and_answer_as_before(api, service, threads):
    await _publish(api, "loans_threads")
    status, body, _ = await api("alice", "GET", "assets", q="loans_threads")
    assert status == 200 and [i["name"] for i in body["items"]] == ["loans_threads"]
    assert service.search_executor is None
    assert threads == [threading.main_thread().name]
    # a refusal raised on the loop is the same one-line JSON error
    status, body, _ = await api("alice", "GET", "assets", page="0")
    assert status == 400 and "page" in body["message"]
    status, body, _ = await api("alice", "GET", "assets", q="x" * 5000)
    assert status == 400 and set(body) == {"message"}
    # and the loop goes on serving
    assert (await api("bob", "GET", "whoami"))[0] == 200


async def test_search_workers_run_searches_on_threads_of_their_own(api, service, threads):
    service.limits = dataclasses.replace(service.limits, search_workers=2)
    await _publish(api, "loans_threads")
    answers = [await api(user, "GET", "assets", q="loans") for user in ("alice", "bob", "alice")]
    assert all(status == 200 and body["total"] == 1 for status, body, _ in answers)
    assert service.search_executor._max_workers == 2
    assert threads and all(name.startswith("mlgov-search") for name in threads)
    status, body, _ = await api("alice", "GET", "assets", page="0")
    assert status == 400 and "page" in body["message"]
