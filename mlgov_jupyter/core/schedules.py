"""Monitor schedules: a cron expression (five fields, minute first, as crontab) or an alias.

``hourly`` is SageMaker's ``CronExpressionGenerator.hourly()`` (minute 0 of every hour),
``daily`` its ``daily()`` (00:00 UTC). Times are UTC. The fire times come from APScheduler's
CronTrigger, the library the service's scheduler runs on.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .errors import Invalid

ALIASES = {"hourly": "0 * * * *", "daily": "0 0 * * *"}
MIN_PERIOD_S = 60.0


def trigger(expr: str):
    """The CronTrigger of ``expr``; Invalid with the reason for anything else."""
    from apscheduler.triggers.cron import CronTrigger

    text = ALIASES.get(expr.strip().lower(), expr.strip())
    if len(text.split()) != 5:
        raise Invalid(f"schedule {expr!r}: give 'hourly', 'daily' or a cron expression of five fields "
                      "(minute hour day month weekday), e.g. '*/15 * * * *'")
    try:
        return CronTrigger.from_crontab(text, timezone=timezone.utc)
    except ValueError as exc:
        raise Invalid(f"schedule {expr!r}: {exc}") from None


def next_run(expr: str, after: datetime) -> datetime:
    """The first fire time of ``expr`` strictly after ``after`` (aware, UTC)."""
    t = trigger(expr)
    return t.get_next_fire_time(None, after + timedelta(microseconds=1))


def period_s(expr: str, at: datetime | None = None) -> float:
    """Seconds between two fire times after ``at`` (now): what "within two periods" counts in."""
    at = at or datetime.now(timezone.utc)
    first = next_run(expr, at)
    return (next_run(expr, first) - first).total_seconds()


def check(expr: str) -> str:
    """``expr`` if it is a schedule firing at most once a minute; Invalid otherwise."""
    if period_s(expr) < MIN_PERIOD_S:  # pragma: no cover - five-field cron cannot fire faster
        raise Invalid(f"schedule {expr!r} fires more often than once a minute")
    return expr.strip()
