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

log = logging.getLogger("mlgov.jobs")

JOB_ID = "mlgov-monitors"


def tick(service) -> int:
    """One pass: start every due monitor's run on the monitor pool; then the alert pass. The
    number of runs started. Never raises (a job must survive anything; the log says what)."""
    from ..service.monitors import SCHEDULER

    started = 0
    try:
        for monitor_id in service.due_monitors():
            service.monitor_executor.submit(_run, service, monitor_id, SCHEDULER)
            started += 1
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
