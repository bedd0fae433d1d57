"""The service's scheduled jobs, run by APScheduler inside the service process."""

from .checkpoints import start_jobs

__all__ = ["start_jobs"]
