"""The service's one scheduler: each job module of this package adds its jobs to it.

A job module exposes ``schedule(scheduler, service, settings)``; it reads its own settings
(``GovernanceSettings`` traits) and adds nothing when they turn it off.
"""

from __future__ import annotations

import importlib

from apscheduler.schedulers.background import BackgroundScheduler

JOB_MODULES = ("checkpoints", "delivery", "monitors")  # modules of mlgov_jupyter.jobs, in the order they schedule


def start_scheduler(service, settings) -> BackgroundScheduler:
    """Start a scheduler holding every job module's jobs; the caller owns it and calls
    ``.shutdown()``."""
    scheduler = BackgroundScheduler(daemon=True)
    for name in JOB_MODULES:
        importlib.import_module(f"{__package__}.{name}").schedule(scheduler, service, settings)
    scheduler.start()
    return scheduler
