"""The delivery job: send the outbox's pending deliveries; and the daily job: grant-expiry
notices and the retention of old notifications.

Every ``delivery_interval`` seconds (APScheduler, its own thread: never the pool that serves
requests) the job claims due deliveries (service.claim_deliveries: a lease, so service copies
never send one twice), sends each — a webhook POST signed with its channel's secret, or an email
over SMTP — and records the attempt (service.finish_delivery: delivered; pending again after an
exponential backoff on a network error, a timeout, a 5xx, 408 or 429; failed on another 4xx, a
refused target or after ``delivery_max_attempts``).
"""

from __future__ import annotations

import logging
import time

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
    status_code, error, retry = None, None, True
    try:
        if d["kind"] == "webhook":
            from .webhook import post

            body = body_bytes(d["event"])
            headers = {webhooks.SIGNATURE_HEADER: webhooks.sign(d["secret"] or "", body),
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
            from .smtp import send

            send(cfg, d["target"], d["event"])
        else:
            error, retry = f"unknown channel kind {d['kind']!r}", False
    except Invalid as exc:  # the target is refused now (e.g. its name resolves elsewhere since)
        error, retry = exc.message, False
    except Exception as exc:  # noqa: BLE001 - network, TLS, SMTP: logged on the delivery, retried
        error = f"{type(exc).__name__}: {exc}"
    ms = 1000 * (time.monotonic() - started)
    return service.finish_delivery(d["id"], d["claim"], ok=error is None, status_code=status_code,
                                   error=error, retry=retry, ms=ms)


def run_deliveries(service, batch: int = 20, rounds: int = 10) -> int:
    """Claim and send due deliveries, ``batch`` at a time, at most ``rounds`` batches. Returns how
    many were attempted. Never raises (a job must survive anything: the log says what happened)."""
    done = 0
    try:
        for _ in range(rounds):
            claimed = service.claim_deliveries(batch)
            for d in claimed:
                send_one(service, d)
            done += len(claimed)
            if len(claimed) < batch:
                break
    except Exception:  # noqa: BLE001
        log.exception("notification delivery failed")
    return done


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
        scheduler.add_job(run_deliveries, "interval", args=[service], seconds=settings.delivery_interval,
                          id=JOB_ID, max_instances=1, coalesce=True)
    if settings.grant_expiry_check_interval > 0:
        scheduler.add_job(run_expiry_notices, "interval", args=[service],
                          seconds=settings.grant_expiry_check_interval, id=EXPIRY_JOB_ID, max_instances=1,
                          coalesce=True, next_run_time=datetime.now(timezone.utc) + timedelta(minutes=1))
