"""The monitor jobs: every ``monitor_tick_seconds`` the scheduler claims the monitors whose next
fire time has come (service.due_monitors: a conditional UPDATE per monitor, so service copies
sharing a store never both run one) and runs each on the monitor pool, then re-evaluates the
built-in alerts (a monitor that stopped running raises "inactive" without any run).

Why the store, not APScheduler's SQLAlchemy job store, holds the schedules: APScheduler 3 says a
persistent job store must not be shared by several schedulers (duplicate runs), and team mode may
run several service copies; a monitor's next fire time is a column updated in the claim, and
APScheduler's CronTrigger computes it (core/schedules.py).
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("mlgov.jobs")

JOB_ID = "mlgov-monitors"


ALERT_PASS_S = 30.0  # the periodic alert pass runs at most this often (runs and changes pass their own)


def tick(service) -> int:
    """One pass: claim as many due monitors as the monitor pool has free threads (a claim is a
    run starting: what waits stays due, unclaimed, for the next pass) and start them; then, at
    most every ALERT_PASS_S, the alert pass. The number of runs started. Never raises (a job
    must survive anything; the log says what)."""
    from ..service.monitors import SCHEDULER

    started = 0
    state = service.__dict__.setdefault("_monitor_tick", {"inflight": set(), "alerts_at": 0.0})
    try:
        inflight = state["inflight"]
        inflight -= {f for f in inflight if f.done()}
        free = max(1, service.monitor_workers) - len(inflight)
        if free > 0:
            for monitor_id in service.due_monitors(limit=free):
                inflight.add(service.monitor_executor.submit(_run, service, monitor_id, SCHEDULER))
                started += 1
        now = time.monotonic()
        if now - state["alerts_at"] >= ALERT_PASS_S:
            state["alerts_at"] = now
            service.evaluate_alerts()
    except Exception:  # noqa: BLE001
        log.exception("monitor tick failed")
    return started


def _run(service, monitor_id: int, actor) -> None:
    try:
        out = service._execute(monitor_id, actor)
        log.info("monitor %s: execution %s %s", out.get("monitor"), out.get("id"), out.get("status"))
    except Exception:  # noqa: BLE001
        log.exception("monitor run #%s failed", monitor_id)


def schedule(scheduler, service, settings) -> None:
    """Add the monitor tick (``settings.monitor_tick_seconds``; 0: monitors run only on demand)."""
    if settings.monitor_tick_seconds > 0:
        scheduler.add_job(tick, "interval", args=[service], seconds=settings.monitor_tick_seconds,
                          id=JOB_ID, max_instances=1, coalesce=True)
