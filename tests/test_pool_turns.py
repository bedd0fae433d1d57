"""Calls on the shared pool and exports take turns per user (``server/budgets.Turns``): a user runs
at most two calls at a time on the shared pool and one export, their others waiting on the event
loop, so one user's slow calls leave threads to everyone else (red team R20-4: one user's eight
card lists of 2,000 cards made another user's whoami take 13.9 s; R20-6: one user's PDF renders
made another's cached export wait 14.2 s)."""

from __future__ import annotations

import asyncio
import threading

from mlgov_jupyter.server.budgets import pool_turns


async def test_one_users_slow_calls_hold_two_shared_threads_and_others_are_answered(
        api, jp_serverapp, monkeypatch):
    service = jp_serverapp.web_app.settings["mlgov_service"]
    real, gate, running = type(service).list_cards, threading.Event(), []

    def list_cards(self, actor, q):
        if actor.name == "alice":
            running.append(threading.current_thread().name)
            gate.wait(60)  # a slow call: held until Bob is answered (Bob waiting behind it would time out)
        return real(self, actor, q)

    monkeypatch.setattr(type(service), "list_cards", list_cards)
    alices = [asyncio.ensure_future(api("alice", "GET", "cards")) for _ in range(8)]
    await asyncio.sleep(0.5)
    assert len(running) == 2  # her other six wait their turn on the loop, holding no thread
    for _ in range(3):
        status, body, _ = await asyncio.wait_for(api("bob", "GET", "whoami"), 20)
        assert status == 200 and body["name"] == "bob"
    status, body, _ = await asyncio.wait_for(api("bob", "GET", "cards"), 20)
    assert status == 200
    gate.set()
    assert [r[0] for r in await asyncio.gather(*alices)] == [200] * 8
    assert len(running) == 8
    assert not pool_turns(jp_serverapp.web_app.settings, "shared").locks  # nothing left behind


async def test_one_users_exports_run_one_at_a_time(api, jp_serverapp, monkeypatch):
    service = jp_serverapp.web_app.settings["mlgov_service"]
    real, gate, running = type(service).export_card, threading.Event(), []

    def export_card(self, actor, *args, **kwargs):
        running.append(actor.name)
        if actor.name == "alice":
            gate.wait(60)
        return real(self, actor, *args, **kwargs)

    monkeypatch.setattr(type(service), "export_card", export_card)
    alices = [asyncio.ensure_future(api("alice", "GET", "cards/nocard/export", format="markdown"))
              for _ in range(3)]
    await asyncio.sleep(0.5)
    assert running == ["alice"]  # one export of hers at a time: the other export thread is free
    status, body, _ = await asyncio.wait_for(api("bob", "GET", "cards/nocard/export", format="markdown"), 20)
    assert status == 404 and "nocard" in body["message"]
    # a fifth of hers, with four running or waiting: refused at once (an export is a download: the
    # stream slots, four a user, refuse it before its turn would)
    more = asyncio.ensure_future(api("alice", "GET", "cards/nocard/export", format="markdown"))
    await asyncio.sleep(0.5)  # the fourth holds its slot before the fifth asks (else the fifth takes it)
    status, body, _ = await asyncio.wait_for(api("alice", "GET", "cards/nocard/export", format="markdown"), 20)
    assert status == 503 and "at once" in body["message"]
    gate.set()
    assert [r[0] for r in await asyncio.gather(*alices, more)] == [404] * 4
