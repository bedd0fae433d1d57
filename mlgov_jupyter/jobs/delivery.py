"""The delivery job: send the outbox's pending deliveries; and the daily job: grant-expiry
notices and the retention of old notifications.

Every ``delivery_interval`` seconds (APScheduler, its own thread: never the pool that serves
requests) the job's Dispatcher claims due deliveries (service.claim_deliveries: a lease, so
service copies never send one twice) and hands each to one of ``delivery_workers`` threads, which
sends it — a webhook POST signed with its channel's secret, or an email over SMTP — and records
the attempt (service.finish_delivery: delivered; pending again after an exponential backoff on a
network error, a timeout, a 5xx, 408 or 429; failed on another 4xx, a refused target or after
``delivery_max_attempts``). Fairness: at most ``per_owner`` deliveries in flight to one person's
channels, owners taken round-robin, so someone's twenty webhooks to a receiver that answers a
byte every few seconds hold one worker, not everyone's notifications; a channel whose last
attempts all timed out waits ``slow_backoff`` seconds. A worker that finishes claims the next
due delivery at once (no wait for the next run).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ..core import webhooks
from ..core.errors import Invalid
from ..service.notifications import body_bytes

log = logging.getLogger("mlgov.jobs")

JOB_ID = "mlgov-delivery"
EXPIRY_JOB_ID = "mlgov-grant-expiry"
RETRYABLE = {408, 429}


def send_one(service, d: dict) -> str | None:
    """Attempt one claimed delivery (a row of claim_deliveries) and record it; its new status."""
    cfg = service.delivery_config
    started = time.monotonic()
    status_code, error, retry, timed_out = None, None, True, False
    try:
        if d["kind"] == "webhook" and not d["secret"]:
            error, retry = ("the channel's signing secret cannot be read (the service's key file was "
                            "replaced): add the channel again"), False
        elif d["kind"] == "webhook":
            from .webhook import post

            body = body_bytes(d["event"])
            headers = {webhooks.SIGNATURE_HEADER: webhooks.sign(d["secret"], body),
                       webhooks.EVENT_ID_HEADER: str(d["event"]["id"]),
                       webhooks.EVENT_HEADER: d["event"]["event"],
                       webhooks.TIMESTAMP_HEADER: d["event"]["timestamp"] or "",
                       "X-Mlgov-Delivery-Attempt": str(d["attempt"])}
            status_code = post(d["target"], body, headers, timeout=cfg.timeout,
                               allowed_hosts=cfg.webhook_allowed_hosts, own=cfg.own_endpoints)
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}" + (" (redirects are not followed)" if 300 <= status_code < 400 else "")
                retry = status_code >= 500 or status_code in RETRYABLE or 300 <= status_code < 400
        elif d["kind"] == "email":
            from ..service.notifications import check_email_target
            from .smtp import send

            send(cfg, check_email_target(cfg, d["target"]), d["event"])
        else:
            error, retry = f"unknown channel kind {d['kind']!r}", False
    except Invalid as exc:  # the target is refused now (e.g. its name resolves elsewhere since)
        error, retry = exc.message, False
    except Exception as exc:  # noqa: BLE001 - network, TLS, SMTP: logged on the delivery, retried
        error = f"{type(exc).__name__}: {exc}"
        timed_out = isinstance(exc, TimeoutError)  # socket.timeout too
    ms = 1000 * (time.monotonic() - started)
    return service.finish_delivery(d["id"], d["claim"], ok=error is None, status_code=status_code,
                                   error=error, retry=retry, ms=ms, timed_out=timed_out)


class Dispatcher:
    """Sends a service's due deliveries on ``workers`` threads (default: delivery_config.workers),
    at most ``per_owner`` at a time to the channels of one person. ``dispatch()`` claims what
    free workers can take and returns at once (the scheduled job); ``drain()`` sends until
    nothing is due; ``shutdown()`` ends the threads (after the sends under way)."""

    def __init__(self, service, workers: int | None = None, per_owner: int | None = None):
        cfg = service.delivery_config
        self.service = service
        self.workers = max(1, workers or cfg.workers)
        self.per_owner = max(1, per_owner or cfg.per_owner)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="mlgov-delivery")
        self._lock = threading.Lock()
        self._busy: dict[int, str] = {}  # delivery id -> channel owner, while it is sent
        self._idle = threading.Condition(self._lock)
        self._closed = False
        self.attempted = 0

    def dispatch(self) -> int:
        """Claim due deliveries for the free workers (never for an owner already at
        ``per_owner`` in flight) and start sending them; how many were started. Never raises."""
        try:
            with self._lock:
                if self._closed:
                    return 0
                free = self.workers - len(self._busy)
                if free <= 0:
                    return 0
                owners = list(self._busy.values())
                full = {o for o in owners if owners.count(o) >= self.per_owner}
                claimed = self.service.claim_deliveries(free, exclude_owners=full, per_owner=self.per_owner)
                for d in claimed:
                    self._busy[d["id"]] = d["owner"]
                    self._pool.submit(self._send, d)
                self.attempted += len(claimed)
                return len(claimed)
        except Exception:  # noqa: BLE001 - a job must survive anything: the log says what happened
            log.exception("notification delivery failed")
            return 0

    def _send(self, d: dict) -> None:
        try:
            send_one(self.service, d)
        except Exception:  # noqa: BLE001
            log.exception("sending delivery %s failed", d["id"])
        finally:
            with self._lock:
                self._busy.pop(d["id"], None)
                self._idle.notify_all()
        self.dispatch()  # the freed worker takes the next due delivery now

    def drain(self, limit: int = 200) -> int:
        """Send until nothing is due and nothing is under way (or ``limit`` attempts were
        started); how many were attempted."""
        start = self.attempted
        while self.attempted - start < limit:
            started = self.dispatch()
            with self._lock:
                if not self._busy and not started:
                    break
                if self._busy:
                    self._idle.wait(0.5)
        with self._lock:
            while self._busy:
                self._idle.wait(0.5)
        return self.attempted - start

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)


def run_deliveries(service, batch: int = 20, rounds: int = 10, workers: int | None = None) -> int:
    """Send due deliveries concurrently and fairly (a Dispatcher) until none is due, at most
    ``batch * rounds`` attempts; how many were attempted. Never raises."""
    dispatcher = Dispatcher(service, workers)
    try:
        return dispatcher.drain(batch * rounds)
    finally:
        dispatcher.shutdown()


def run_expiry_notices(service) -> int:
    """One run of the daily job: grant.expiring notices, then old read notifications and finished
    deliveries purged (retention_days). How many grantees were told (never raises)."""
    told = 0
    try:
        told = service.notify_expiring_grants()
    except Exception:  # noqa: BLE001
        log.exception("grant expiry notices failed")
    try:
        service.purge_notifications()
    except Exception:  # noqa: BLE001
        log.exception("purging old notifications failed")
    return told


def schedule(scheduler, service, settings) -> None:
    """Add the delivery job (every ``settings.delivery_interval`` s) and the grant expiry notice
    job (every ``grant_expiry_check_interval`` s, first run a minute after start); 0 turns one off."""
    from datetime import datetime, timedelta, timezone

    if settings.delivery_interval > 0:
        from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN

        dispatcher = Dispatcher(service)
        scheduler.add_job(dispatcher.dispatch, "interval", seconds=settings.delivery_interval,
                          id=JOB_ID, max_instances=1, coalesce=True)
        scheduler.add_listener(lambda _event: dispatcher.shutdown(wait=False), EVENT_SCHEDULER_SHUTDOWN)
    if settings.grant_expiry_check_interval > 0:
        scheduler.add_job(run_expiry_notices, "interval", args=[service],
                          seconds=settings.grant_expiry_check_interval, id=EXPIRY_JOB_ID, max_instances=1,
                          coalesce=True, next_run_time=datetime.now(timezone.utc) + timedelta(minutes=1))
