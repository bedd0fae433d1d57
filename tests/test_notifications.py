"""Notifications and channels through the real server: an access request reaches the owner in-Lab,
at a webhook receiver (HMAC checked, retried after a 500) and at an SMTP server started here;
SSRF refusals; nobody reads another's notifications or delivery log; the outbox and its claims
on the real store."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from helpers import publish_body
from mlgov_jupyter.core import models as m
from mlgov_jupyter.core import webhooks
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.jobs.delivery import run_deliveries
from mlgov_jupyter.service import Actor, GovernanceService
from mlgov_jupyter.service.notifications import DeliveryConfig
from mlgov_jupyter.store.db import Store

PG_URL = os.environ.get("MLGOV_TEST_PG_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST and answers with the next scripted
    status (then 200)."""

    def __init__(self, statuses=(), location: str | None = None):
        self.calls, self.statuses = [], list(statuses)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.calls.append((dict(self.headers), body, self.path))
                code = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(code)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?x=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def receiver():
    r = Receiver(statuses=[500])
    yield r
    r.close()


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, box
    controller.stop()


@pytest.fixture
def jp_server_config(db_file, smtp):
    from conftest import TOKENS

    controller, _box = smtp
    return {
        "ServerApp": {
            "jpserver_extensions": {"mlgov_jupyter": True},
            "identity_provider_class": "mlgov_jupyter.server.identity.TokenIdentityProvider",
            "authorizer_class": "mlgov_jupyter.server.identity.SharedServerAuthorizer",
            "allow_unauthenticated_access": False,
        },
        "TokenIdentityProvider": {"tokens": TOKENS},
        "MlgovApp": {"db_url": f"sqlite:///{db_file}", "admin_users": ["root"],
                     "webhook_allowed_hosts": ["127.0.0.1"], "email_domains": ["example.org"],
                     "smtp_host": "127.0.0.1", "smtp_port": controller.port, "smtp_from": "mlgov@example.org",
                     "delivery_interval": 0.2, "delivery_backoff": 0.3, "delivery_timeout": 3.0},
    }


async def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


async def test_access_request_reaches_owner_in_lab_by_webhook_and_email(api, receiver, smtp):
    _controller, box = smtp
    code, _, _ = await api("alice", "POST", "assets", publish_body(project=None))
    assert code == 201
    code, hook, _ = await api("alice", "POST", "channels", {"kind": "webhook", "target": receiver.url,
                                                           "events": ["access.requested"]})
    assert code == 201 and len(hook["secret"]) == 64 and hook["events"] == ["access.requested"]
    code, mail, _ = await api("alice", "POST", "channels", {"kind": "email", "target": "alice@example.org"})
    assert code == 201 and "secret" not in mail
    code, listed, _ = await api("alice", "GET", "channels")
    assert [c["id"] for c in listed["channels"]] == [hook["id"], mail["id"]]
    assert all("secret" not in c for c in listed["channels"])  # shown once only

    code, req, _ = await api("bob", "POST", "requests", {"asset": "churn", "reason": "retention model"})
    assert code == 201

    # in-Lab: at once (written in the request's transaction)
    code, mine, _ = await api("alice", "GET", "notifications")
    assert code == 200 and mine["unread"] == 1 and mine["total"] == 1
    n = mine["notifications"][0]
    assert n["event"] == "access.requested" and not n["read"] and n["project"] == "alice"
    assert n["payload"]["requester"] == "bob" and n["payload"]["request"] == req["id"]
    assert "bob asks for access to churn" in n["subject"]
    code, bobs, _ = await api("bob", "GET", "notifications")
    assert bobs["total"] == 0  # not the requester's

    # webhook: a 500 first, then the retry succeeds; each call signed over the exact body
    assert await wait_for(lambda: len(receiver.calls) >= 2), receiver.calls
    for headers, body, path in receiver.calls[:2]:
        assert path == "/hook?x=1"
        assert webhooks.verify(hook["secret"], body, headers["X-Mlgov-Signature"])
        assert headers["X-Mlgov-Signature"].startswith("sha256=")
        event = json.loads(body)
        assert headers["X-Mlgov-Event-Id"] == str(event["id"]) and headers["X-Mlgov-Timestamp"] == event["timestamp"]
        assert event["event"] == "access.requested" and event["payload"]["asset"] == "churn"
    assert receiver.calls[0][1] == receiver.calls[1][1]  # the same event, byte for byte
    assert not webhooks.verify("another secret", receiver.calls[1][1], receiver.calls[1][0]["X-Mlgov-Signature"])

    # email: received by the SMTP server
    assert await wait_for(lambda: box.messages), "no email arrived"
    sender, rcpts, content = box.messages[0]
    assert sender == "mlgov@example.org" and rcpts == ["alice@example.org"]
    assert "Subject: [mlgov] bob asks for access to churn" in content and "retention model" in content

    # the delivery log: the owner's only
    async def settled():
        return (await api("alice", "GET", f"channels/{hook['id']}/deliveries"))[1]["deliveries"][0]
    assert await wait_for_async(lambda: settled(), lambda d: d["status"] == "delivered")
    d = await settled()
    assert d["attempts"] == 2 and [a["status_code"] for a in d["log"]] == [500, 200]
    assert d["log"][0]["error"] == "HTTP 500" and d["log"][1]["error"] is None
    code, err, _ = await api("bob", "GET", f"channels/{hook['id']}/deliveries")
    assert code == 404 and "no channel" in err["message"]
    code, err, _ = await api("bob", "DELETE", f"channels/{hook['id']}")
    assert code == 404

    # the decision reaches the requester; the webhook only carries access.requested
    code, _, _ = await api("alice", "POST", f"requests/{req['id']}/approve", {"comment": "ok"})
    assert code == 200
    code, bobs, _ = await api("bob", "GET", "notifications")
    assert bobs["unread"] == 1 and bobs["notifications"][0]["event"] == "access.decided"
    assert bobs["notifications"][0]["payload"]["status"] == "accepted"

    # mark read: mine only (bob's id is ignored for alice)
    code, done, _ = await api("alice", "POST", "notifications/read", {"ids": [n["id"], bobs["notifications"][0]["id"]]})
    assert code == 200 and done == {"read": 1, "unread": 0}
    code, bobs, _ = await api("bob", "GET", "notifications", unread="true")
    assert bobs["unread"] == 1
    code, err, _ = await api("alice", "POST", "notifications/read", {})
    assert code == 400

    # audit: channel creation and deletion, the webhook's path kept out
    code, _, _ = await api("alice", "DELETE", f"channels/{mail['id']}")
    assert code == 200
    code, events, _ = await api("root", "GET", "audit", action="channel.create")
    assert {json.loads(e["detail"])["kind"] for e in events["events"]} == {"webhook", "email"}
    assert all("hook?x=1" not in json.dumps(e) for e in events["events"])
    code, events, _ = await api("root", "GET", "audit", action="channel.delete")
    assert len(events["events"]) == 1


async def wait_for_async(get, ok, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok(await get()):
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.parametrize("target, why", [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://2852039166/", "link-local"),  # 169.254.169.254 written as one number
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.1/", "private"),
    ("http://[::1]:8080/", "loopback"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[fec0::1]/", "site-local"),  # deprecated site-local IPv6
    ("http://[2002:a9fe:a9fe::]/", "link-local"),  # 6to4 embedding 169.254.169.254
    ("ftp://example.org/x", "http:// or https://"),
    ("http://user:pw@example.org/", "user name or password"),
    ("http://no-such-host.invalid/", "does not resolve"),
])
async def test_webhook_targets_the_service_must_not_reach(api, target, why):
    code, err, _ = await api("alice", "POST", "channels", {"kind": "webhook", "target": target})
    assert code == 400 and why in err["message"], err


async def test_webhook_to_this_server_and_bad_channels_refused(api, jp_http_port):
    # 127.0.0.1 is allowed here, but never this server's own port
    code, err, _ = await api("alice", "POST", "channels",
                             {"kind": "webhook", "target": f"http://127.0.0.1:{jp_http_port}/api/mlgov/projects"})
    assert code == 400 and "own" in err["message"]
    for body, status, words in [
        ({"kind": "email", "target": "eve@evil.com"}, 400, "not allowed"),
        ({"kind": "email", "target": "a@example.org\r\nBcc: x@evil.com"}, 400, "plain address"),
        ({"kind": "email"}, 400, "needs a target"),
        ({"kind": "in_lab"}, 409, "on for everyone"),
        ({"kind": "sms", "target": "+1"}, 400, "kind"),
        ({"kind": "email", "target": "a@example.org", "events": ["nope"]}, 400, "events"),
        ({"kind": "in_lab", "project": "nope"}, 404, "no project"),
    ]:
        code, err, _ = await api("alice", "POST", "channels", body)
        assert code == status and words in err["message"], (body, err)
    code, _, _ = await api("alice", "GET", "projects")  # alice's personal project exists once she publishes
    code, _, _ = await api("alice", "POST", "projects", {"name": "fraud"})
    assert code == 201
    code, err, _ = await api("bob", "POST", "channels", {"kind": "in_lab", "project": "fraud"})
    assert code == 403 and "owners" in err["message"]
    code, err, _ = await api("bob", "GET", "channels/99999/deliveries")
    assert code == 404


# ---- the outbox and the job on the real store (SQLite; PostgreSQL when MLGOV_TEST_PG_URL) ------

def _service(url, **cfg) -> GovernanceService:
    svc = GovernanceService(store=Store(url), admin_users=frozenset({"root"}))
    svc.delivery_config = DeliveryConfig(webhook_allowed_hosts=("127.0.0.1",), backoff=0.0, timeout=2.0, **cfg)
    return svc


@pytest.fixture(params=["sqlite"] + (["postgresql"] if PG_URL else []))
def store_url(request, tmp_path):
    """A fresh SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'n.sqlite'}"
    return request.getfixturevalue("fresh_pg_url")


def _project_with_members(svc):
    alice, bob, carol = Actor("alice"), Actor("bob"), Actor("carol")
    svc.create_project(alice, m.ProjectCreate(name="fraud"))
    svc.set_member(alice, "fraud", m.MemberSet(user="bob", designation="contributor"))
    svc.set_member(alice, "fraud", m.MemberSet(user="carol", designation="steward"))
    return alice, bob, carol


def test_project_channels_claims_and_retries(store_url):
    svc = _service(store_url, max_attempts=2)
    alice, bob, carol = _project_with_members(svc)
    ok, teapot, redirect = Receiver(), Receiver(statuses=[418]), Receiver(statuses=[302, 302],
                                                                        location="http://169.254.169.254/")
    try:
        team = svc.add_channel(alice, m.ChannelCreate(kind="webhook", target=ok.url, project="fraud",
                                                      events=["alert.raised"]))
        svc.add_channel(alice, m.ChannelCreate(kind="in_lab", project="fraud", events=["alert.raised"]))
        svc.add_channel(bob, m.ChannelCreate(kind="webhook", target=teapot.url))
        svc.add_channel(carol, m.ChannelCreate(kind="webhook", target=redirect.url))
        with pytest.raises(Exception, match="owners"):
            svc.add_channel(bob, m.ChannelCreate(kind="in_lab", project="fraud"))

        with svc.store.transaction() as s:  # as the lead's alert evaluation calls it
            event_id = svc._notify(s, "alert.raised", subject="churn-model drifted", project="fraud",
                                   payload={"model": "churn-model", "violations": 3})
        with svc.store.transaction() as s:
            assert svc._notify(s, "monitor.missing", subject="x", payload={}, project="fraud") is None
        # every member in-Lab (the project's in_lab channel carries alert.raised)
        for who in (alice, bob, carol):
            page = svc.notifications(who, m.NotificationQuery())
            assert [n["event_id"] for n in page["notifications"]] == [event_id]

        # two claimers at once never get the same delivery
        first, second = svc.claim_deliveries(10), svc.claim_deliveries(10)
        assert len(first) == 3 and second == []
        for d in first:
            from mlgov_jupyter.jobs.delivery import send_one

            send_one(svc, d)
        assert len(ok.calls) == 1 and len(teapot.calls) == 1 and len(redirect.calls) == 1
        assert run_deliveries(svc) == 1  # only the redirect is retried (backoff 0): a 418 is final
        assert len(redirect.calls) == 2 and len(teapot.calls) == 1
        logs = {c["target"]: svc.channel_deliveries(Actor(c["user"]), c["id"], m.DeliveryQuery())["deliveries"][0]
                for c in svc.list_channels(alice)["channels"] + svc.list_channels(bob)["channels"]
                + svc.list_channels(carol)["channels"] if c["kind"] == "webhook"}
        assert logs[ok.url]["status"] == "delivered"
        assert logs[teapot.url]["status"] == "failed" and logs[teapot.url]["attempts"] == 1
        assert logs[redirect.url]["status"] == "failed" and logs[redirect.url]["attempts"] == 2
        assert "redirects are not followed" in logs[redirect.url]["log"][-1]["error"]
        # a project channel's log: its owner(s), not a member
        with pytest.raises(Exception, match="no channel"):
            svc.channel_deliveries(bob, team["id"], m.DeliveryQuery())
        # a lost claim records nothing
        assert svc.finish_delivery(first[0]["id"], "not-the-claim", ok=True) is None
    finally:
        for r in (ok, teapot, redirect):
            r.close()
        svc.store.dispose()


def test_grant_expiring_and_card_review(store_url):
    from helpers import inline_content

    svc = _service(store_url)
    alice, bob, carol = _project_with_members(svc)
    dave = Actor("dave")
    svc.publish(alice, m.Publish(name="churn", project="fraud", **inline_content(__import__("helpers").frame())))
    req = svc.request_access(dave, m.AccessRequestCreate(asset="churn", reason="study"))
    assert {n["event"] for n in svc.notifications(carol, m.NotificationQuery())["notifications"]} == {"access.requested"}
    assert svc.notifications(bob, m.NotificationQuery())["total"] == 0  # a contributor decides nothing
    svc.decide(carol, req["id"], m.Decision(comment="ok"), accept=True)
    from mlgov_jupyter.store import tables as t

    with svc.store.transaction() as s:
        g = s.query(t.Grant).one()
        g.expires_at = datetime.now(timezone.utc) + timedelta(days=2)
    assert svc.notify_expiring_grants() == 1
    assert svc.notify_expiring_grants() == 0  # once per grant and expiry
    events = [n["event"] for n in svc.notifications(dave, m.NotificationQuery())["notifications"]]
    assert events == ["grant.expiring", "access.decided"]
    assert svc.audit_events(Actor("root"), m.AuditQuery(action="notification.grant_expiring"))["events"]

    # a card submitted for review: the project's owners and stewards, not the submitter
    from sklearn.linear_model import LogisticRegression

    svc.publish(alice, m.Publish(name="scorer", kind="model", project="fraud",
                                 **inline_content(LogisticRegression().fit([[0], [1]], [0, 1]))))
    svc.create_card(alice, m.CardCreate(name="scorer-card", model="scorer", content={}))
    svc.transition_card(alice, "scorer-card", m.CardTransition(action="submit"))
    latest = svc.notifications(carol, m.NotificationQuery())["notifications"][0]
    assert latest["event"] == "card.review_requested" and latest["payload"]["card"] == "scorer-card"
    assert all(n["event"] != "card.review_requested"
               for n in svc.notifications(alice, m.NotificationQuery())["notifications"])
    svc.store.dispose()


@pytest.mark.parametrize("address, why", [
    ("fec0::1", "site-local"),
    ("3fff::1", "documentation"),  # RFC 9637, newer than Python 3.11's tables
    ("fec0:1234::abcd", "site-local"),
    ("2002:a9fe:a9fe::", "link-local"),  # 6to4 of 169.254.169.254
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:0a00:0001::", "private"),  # 6to4 of 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("64:ff9b::7f00:1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),  # Teredo, client 192.0.2.45
    ("2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7", "link-local"),  # Teredo, server 169.254.169.254
    ("::127.0.0.1", "reserved"),  # IPv4-compatible (deprecated)
    ("4000::1", "reserved"),  # outside 2000::/3
    ("2001:db8::1", "private"),  # documentation
    ("fd00::1", "private"),
    ("fe80::1", "link-local"),
    ("ff02::1", "multicast"),
    ("::1", "loopback"),
    ("100.100.100.200", "not a public address"),  # shared (CGNAT)
])
def test_ipv6_and_embedded_ipv4_targets_refused(address, why):
    assert webhooks.refused(address) == why


@pytest.mark.parametrize("address", ["2606:4700::1111", "2001:4860:4860::8888", "2002:808:808::1",
                                     "64:ff9b::808:808", "::ffff:8.8.8.8", "8.8.8.8"])
def test_public_targets_pass(address):
    assert webhooks.refused(address) is None


def test_webhook_signature_helpers():
    body = b'{"id":1}'
    header = webhooks.sign("s3cret", body)
    assert webhooks.verify("s3cret", body, header) and not webhooks.verify("s3cret", body + b" ", header)
    assert not webhooks.verify("s3cret", body, None)
    with pytest.raises(Invalid):
        webhooks.parse_target("javascript:alert(1)")


def test_magics_in_a_real_kernel(tmp_path):
    """%mlgov channels and %mlgov notifications in real kernels of a real server: a webhook added
    (its secret printed once) receives the request, bob's refused target is one UsageError line."""
    from live import Kernel, LiveServer

    hook = Receiver()
    server = LiveServer(tmp_path, config="c.MlgovApp.webhook_allowed_hosts = ['127.0.0.1']\n"
                                         "c.MlgovApp.delivery_interval = 0.2\n")
    alice = bob = None
    try:
        alice, bob = Kernel(server, "alice-token"), Kernel(server, "bob-token")
        for k in (alice, bob):
            k.ok("%load_ext mlgov_jupyter")
        alice.ok("import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\n%mlgov publish df --name churn")
        out = alice.ok(f"%mlgov channels add webhook {hook.url} --events access.requested")
        assert "channel #1: webhook" in out["stdout"] and "signing secret (shown once" in out["stdout"]
        secret = out["stdout"].split("keep it): ")[1].split()[0]
        err = bob.run("%mlgov channels add webhook http://169.254.169.254/latest/meta-data/")["error"]
        assert err[0] == "UsageError" and "link-local" in err[1] and "\n" not in err[1]
        err = bob.run("%mlgov channels add pager 123")["error"]
        assert err[0] == "UsageError"
        bob.ok('%mlgov subscribe churn --reason "retention"')
        html = alice.ok("%mlgov notifications")["data"][0]["text/html"]
        assert "1 unread of 1" in html and "bob asks for access to churn" in html
        deadline = time.monotonic() + 15
        while not hook.calls and time.monotonic() < deadline:
            time.sleep(0.1)
        assert hook.calls and webhooks.verify(secret, hook.calls[0][1], hook.calls[0][0]["X-Mlgov-Signature"])
        listed = alice.ok("%mlgov channels list")["data"][0]["text/html"]
        assert hook.url.replace("&", "&amp;") in listed
        log = alice.ok("%mlgov channels log 1")["data"][0]["text/html"]
        assert "delivered" in log
        out = alice.ok("%mlgov notifications --read-all")
        assert "1 marked read, 0 unread" in out["stdout"]
        assert "channel #1 (webhook" in alice.ok("%mlgov channels delete 1")["stdout"]
        assert "no channels" in alice.ok("%mlgov channels")["data"][0]["text/plain"]
    finally:
        for k in (alice, bob):
            if k is not None:
                k.stop()
        server.stop()
        hook.close()


def test_two_service_copies_never_send_a_delivery_twice(store_url):
    """Two copies of the service (own engines, one store) run the delivery job at once over 60
    pending deliveries: the receiver gets each event exactly once."""
    first = _service(store_url)
    second = _service(store_url)
    hook = Receiver()
    try:
        first.add_channel(Actor("alice"), m.ChannelCreate(kind="webhook", target=hook.url))
        with first.store.transaction() as s:
            for i in range(60):
                first._notify(s, "alert.raised", subject=f"alert {i}", payload={"i": i}, users=["alice"])
        done = []
        threads = [threading.Thread(target=lambda svc=svc: done.append(run_deliveries(svc, batch=5)))
                   for svc in (first, second, first, second)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        ids = [json.loads(body)["id"] for _h, body, _p in hook.calls]
        assert sorted(ids) == sorted(set(ids)) and len(ids) == 60, (len(ids), len(set(ids)))
        assert sum(done) == 60
    finally:
        hook.close()
        first.store.dispose()
        second.store.dispose()


def test_a_receiver_dripping_its_answer_is_cut_off():
    """Each byte within the per-operation timeout, but the whole answer too slow: the exchange
    ends at twice the timeout with an error (the delivery is retried later), the job moves on."""
    from mlgov_jupyter.jobs.webhook import post

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()

    def drip():
        conn, _ = server.accept()
        conn.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
            if stop.is_set():
                break
            try:
                conn.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
        conn.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError, match="did not answer within 1 s"):
            post(f"http://127.0.0.1:{server.getsockname()[1]}/", b"{}", {}, timeout=0.5,
                 allowed_hosts=("127.0.0.1",))
        assert time.monotonic() - started < 3
    finally:
        stop.set()
        thread.join(10)
        server.close()


def test_old_read_notifications_and_finished_deliveries_are_purged(store_url):
    from mlgov_jupyter.store import tables as t

    svc = _service(store_url)
    hook = Receiver()
    try:
        svc.add_channel(Actor("alice"), m.ChannelCreate(kind="webhook", target=hook.url))
        with svc.store.transaction() as s:
            old = [svc._notify(s, "alert.raised", subject=f"old {i}", payload={}, users=["alice", "bob"])
                   for i in range(3)]
            new = svc._notify(s, "alert.raised", subject="new", payload={}, users=["alice"])
        run_deliveries(svc)
        svc.mark_read(Actor("alice"), m.NotificationsRead(all=True))  # bob's stay unread
        with svc.store.transaction() as s:
            for e in s.query(t.NotificationEvent).filter(t.NotificationEvent.id.in_(old)):
                e.created_at = datetime.now(timezone.utc) - timedelta(days=100)
        assert svc.purge_notifications() == {"notifications": 3, "deliveries": 3, "events": 0}
        assert svc.notifications(Actor("alice"), m.NotificationQuery())["total"] == 1  # the new one
        assert svc.notifications(Actor("bob"), m.NotificationQuery())["unread"] == 3  # unread: kept
        svc.mark_read(Actor("bob"), m.NotificationsRead(all=True))
        assert svc.purge_notifications() == {"notifications": 3, "deliveries": 0, "events": 3}
        with svc.store.transaction() as s:
            assert [e.id for e in s.query(t.NotificationEvent)] == [new]
    finally:
        hook.close()
        svc.store.dispose()


# ---- fairness and deadlines of the delivery job (red team F4) ------------------------------

class Tarpit:
    """A real TCP receiver that reads the request, then drips one byte every ``every`` seconds
    and never finishes its answer."""

    def __init__(self, every: float = 1.0):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(100)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop, self.accepted, self.conns = threading.Event(), 0, []
        threading.Thread(target=self._serve, args=(every,), daemon=True).start()

    def _serve(self, every):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)
            threading.Thread(target=self._drip, args=(conn, every), daemon=True).start()

    def _drip(self, conn, every):
        try:
            conn.recv(65536)
            while not self.stop.is_set():
                conn.send(b"H")
                self.stop.wait(every)
        except OSError:
            pass

    def close(self):
        self.stop.set()
        self.sock.close()
        for conn in self.conns:
            conn.close()


def test_one_owners_tarpit_webhooks_do_not_delay_anothers_delivery(store_url):
    """Bob's 20 webhooks to a receiver dripping a byte a second (each attempt cut off at 2 x 1 s),
    then alice's event to a fast receiver: the scheduled job (real APScheduler, 4 workers, one in
    flight per owner) delivers hers within a few seconds, not after bob's 20 x 2 s."""
    import types

    from apscheduler.schedulers.background import BackgroundScheduler

    from mlgov_jupyter.jobs.delivery import schedule

    svc = _service(store_url)
    svc.delivery_config = DeliveryConfig(webhook_allowed_hosts=("127.0.0.1",), backoff=60.0, timeout=1.0)
    tarpit, fast = Tarpit(every=1.0), Receiver()
    scheduler = BackgroundScheduler(daemon=True)
    try:
        bob, alice = Actor("bob"), Actor("alice")
        for i in range(20):
            svc.add_channel(bob, m.ChannelCreate(kind="webhook", target=f"{tarpit.url}/slow{i}"))
        svc.add_channel(alice, m.ChannelCreate(kind="webhook", target=f"{fast.url}/alice"))
        with svc.store.transaction() as s:
            svc._notify(s, "access.requested", subject="carol asks for bob-data", payload={}, users=["bob"])
        schedule(scheduler, svc, types.SimpleNamespace(delivery_interval=0.5, grant_expiry_check_interval=0))
        scheduler.start()
        deadline = time.monotonic() + 10
        while tarpit.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tarpit.accepted == 1  # bob's lane is busy: one of his, not four
        with svc.store.transaction() as s:
            svc._notify(s, "access.requested", subject="bob asks for alice-data", payload={}, users=["alice"])
        created = time.monotonic()
        while not fast.calls and time.monotonic() < created + 10:
            time.sleep(0.05)
        assert fast.calls, "alice's webhook did not arrive within 10 s"
        waited = time.monotonic() - created
        assert waited < 3, waited
        assert tarpit.accepted <= 3  # still one at a time for bob (each cut off after 2 s)
    finally:
        scheduler.shutdown(wait=False)
        tarpit.close()
        fast.close()
        svc.store.dispose()


def test_a_channel_whose_attempts_keep_timing_out_waits_longer(store_url):
    """Backoff 0 (retried at once), but after a channel's 3rd timeout in a row all its pending
    deliveries wait slow_backoff (600 s): three attempts, not 4 events x 5 attempts."""
    from mlgov_jupyter.store import tables as t

    svc = _service(store_url)
    svc.delivery_config = DeliveryConfig(webhook_allowed_hosts=("127.0.0.1",), backoff=0.0, timeout=0.2)
    tarpit = Tarpit(every=0.1)
    try:
        svc.add_channel(Actor("bob"), m.ChannelCreate(kind="webhook", target=tarpit.url))
        with svc.store.transaction() as s:
            for i in range(4):
                svc._notify(s, "alert.raised", subject=f"alert {i}", payload={}, users=["bob"])
        before = datetime.now(timezone.utc)
        assert run_deliveries(svc) == 3
        with svc.store.transaction() as s:
            rows = s.query(t.Delivery).all()
            assert [d.status for d in rows] == ["pending"] * 4
            assert sum(d.attempts for d in rows) == 3
            assert all(d.log[-1]["timeout"] and "did not answer" in d.log[-1]["error"] for d in rows if d.log)
            assert all((d.next_attempt_at.replace(tzinfo=timezone.utc) - before).total_seconds() > 590 for d in rows)
    finally:
        tarpit.close()
        svc.store.dispose()


def test_a_name_lookup_that_never_answers_is_cut_off(tmp_path):
    """getaddrinfo against a DNS server that swallows every query (a UDP socket on 127.0.0.2:53,
    made the resolver in a private mount namespace): the webhook fails with a TimeoutError within
    the exchange's deadline instead of blocking for the resolver's own timeouts."""
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare to give one process its own /etc/resolv.conf")
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        dns.bind(("127.0.0.2", 53))
    except OSError as exc:
        pytest.skip(f"cannot listen on 127.0.0.2:53 ({exc})")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.2\noptions timeout:5 attempts:3\n")
    code = ("import time\nfrom mlgov_jupyter.jobs.webhook import post\nt0 = time.monotonic()\n"
            "try:\n    post('http://mlgov-slow-dns.example.org/', b'{}', {}, timeout=0.5)\n"
            "except TimeoutError as exc:\n    print('timeout', round(time.monotonic() - t0, 2), exc)\n")
    try:
        out = subprocess.run(["unshare", "-m", "sh", "-c", f'mount --bind {resolv} /etc/resolv.conf && '
                              f'exec "$0" -c "$1"', sys.executable, code],
                             capture_output=True, text=True, timeout=60)
    finally:
        dns.close()
    if "mount" in out.stderr and out.returncode:
        pytest.skip(f"no private mount namespace here: {out.stderr.strip()[:200]}")
    assert out.stdout.startswith("timeout "), (out.stdout, out.stderr[-500:])
    assert float(out.stdout.split()[1]) < 1.5 and "did not resolve within 0.5 s" in out.stdout


# ---- email channels in team mode (red team F6) ----------------------------------------------

def test_team_mode_refuses_email_channels_until_email_domains_is_set(store_url, smtp):
    """mlgov serve's default: no email channel (nor a send to one added before) while
    email_domains is empty; a personal server keeps allowing any address; with email_domains set
    the team service sends to those domains only."""
    from mlgov_jupyter.server.extension import MlgovApp
    from mlgov_jupyter.server.serve import MlgovServe
    from mlgov_jupyter.store import tables as t

    assert MlgovServe().email_domains_required is True and MlgovApp().email_domains_required is False
    assert MlgovServe(email_domains_required=False).delivery_config().email_domains_required is False
    controller, box = smtp
    mail = dict(smtp_host="127.0.0.1", smtp_port=controller.port, backoff=0.0)
    svc = _service(store_url, smtp_host="127.0.0.1", smtp_port=controller.port)  # personal mode: any domain
    alice = Actor("alice")
    try:
        before = svc.add_channel(alice, m.ChannelCreate(kind="email", target="alice@outside.example"))
        svc.delivery_config = DeliveryConfig(email_domains_required=True, **mail)  # team mode
        with pytest.raises(Invalid, match=r"email channels are off until an administrator sets email_domains"):
            svc.add_channel(alice, m.ChannelCreate(kind="email", target="alice@example.org"))
        with svc.store.transaction() as s:
            svc._notify(s, "alert.raised", subject="drift", payload={}, users=["alice"])
        assert run_deliveries(svc) == 1
        with svc.store.transaction() as s:
            d = s.query(t.Delivery).one()
            assert d.status == "failed" and "email_domains" in d.log[-1]["error"]
        assert box.messages == []
        svc.delivery_config = DeliveryConfig(email_domains_required=True, email_domains=("example.org",), **mail)
        with pytest.raises(Invalid, match="not allowed"):
            svc.add_channel(alice, m.ChannelCreate(kind="email", target="alice@outside.example"))
        svc.delete_channel(alice, before["id"])
        svc.add_channel(alice, m.ChannelCreate(kind="email", target="alice@example.org"))
        with svc.store.transaction() as s:
            svc._notify(s, "alert.raised", subject="drift again", payload={}, users=["alice"])
        assert run_deliveries(svc) == 1 and len(box.messages) == 1
    finally:
        svc.store.dispose()


@pytest.mark.parametrize("address", ["x%evil.com@example.org", "evil.com!x@example.org", "a b@example.org",
                                     "x@example.org\r\nBcc: y@evil.com", '"x"@example.org'])
def test_email_local_parts_a_relay_could_route_elsewhere_are_refused(address):
    from mlgov_jupyter.service.notifications import _check_address

    with pytest.raises(Invalid, match="not a plain address"):
        _check_address(address, ["example.org"])
    assert _check_address("first.last+tag@example.org", ["example.org"]) == "first.last+tag@example.org"


def test_webhook_secrets_are_sealed_with_the_service_key(store_url, tmp_path):
    """The database holds a webhook's signing secret sealed with a key derived from the service's
    key file (a copy of the database alone cannot forge deliveries); a secret stored before is
    sealed at its next delivery; one sealed under a replaced key fails its delivery in one line."""
    from sqlalchemy import update

    from mlgov_jupyter.jobs.delivery import send_one
    from mlgov_jupyter.store import tables as t
    from mlgov_jupyter.store.anchor import AuditAnchor

    svc = _service(store_url)
    svc.anchor = AuditAnchor(tmp_path / "keys" / "audit.pem", None)
    alice = Actor("alice")
    receiver = Receiver()
    try:
        hook = svc.add_channel(alice, m.ChannelCreate(kind="webhook", target=receiver.url, events=["alert.raised"]))

        def stored():
            with svc.store.transaction(write=False) as s:
                return s.get(t.Channel, hook["id"]).secret

        def notify_and_send():
            with svc.store.transaction() as s:
                svc._notify(s, "alert.raised", subject="drift", payload={}, users=["alice"])
            return [send_one(svc, d) for d in svc.claim_deliveries(10)]

        assert stored().startswith("sealed:") and hook["secret"] not in stored()
        assert notify_and_send() == ["delivered"]
        headers, body, _ = receiver.calls[-1]
        assert webhooks.verify(hook["secret"], body, headers["X-Mlgov-Signature"])

        with svc.store.transaction() as s:  # as a release before sealing stored it
            s.execute(update(t.Channel).where(t.Channel.id == hook["id"]).values(secret="plain" * 8))
        assert notify_and_send() == ["delivered"]
        assert webhooks.verify("plain" * 8, receiver.calls[-1][1], receiver.calls[-1][0]["X-Mlgov-Signature"])
        assert stored().startswith("sealed:") and "plain" not in stored()

        svc.anchor = AuditAnchor(tmp_path / "other" / "audit.pem", None)  # the key file replaced
        calls = len(receiver.calls)
        assert notify_and_send() == ["failed"] and len(receiver.calls) == calls
        log = svc.channel_deliveries(alice, hook["id"], m.DeliveryQuery())["deliveries"][0]["log"][-1]
        assert "add the channel again" in log["error"]
    finally:
        receiver.close()
        svc.store.dispose()
