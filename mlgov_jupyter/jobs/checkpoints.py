"""The audit checkpoint job: sign the chain's head every ``audit_checkpoint_interval`` seconds.

The service's scheduler (jobs/scheduler.py, APScheduler 3) runs ``service.checkpoint_now()`` on its own thread, one
run at a time (max_instances=1), missed runs coalesced into one. The service makes no checkpoint
when the head has not moved, and takes the head lock, so several service copies may each run the
job. A failing run is logged; the next one runs as scheduled.
"""

from __future__ import annotations

import logging

log = logging.getLogger("mlgov.jobs")

JOB_ID = "mlgov-audit-checkpoint"


def run_checkpoint(service) -> dict | None:
    """One run: the new checkpoint document, or None (nothing new, or the run failed: logged)."""
    from ..core.errors import GovernanceError

    try:
        doc = service.checkpoint_now()
    except GovernanceError as exc:  # e.g. a chain that does not verify: never signed
        log.error("audit checkpoint refused: %s", exc)
        return None
    except Exception:  # noqa: BLE001 - a job must survive anything; the log says what happened
        log.exception("audit checkpoint failed")
        return None
    if doc is not None:
        p = doc["payload"]
        log.info("audit checkpoint %s signed events %s-%s", p["seq"], p["first_event"], p["last_event"])
    return doc


def schedule(scheduler, service, settings) -> None:
    """Add the checkpoint job (``settings.audit_checkpoint_interval`` seconds; 0: none)."""
    if settings.audit_checkpoint_interval > 0:
        scheduler.add_job(run_checkpoint, "interval", args=[service], seconds=settings.audit_checkpoint_interval,
                          id=JOB_ID, max_instances=1, coalesce=True)
