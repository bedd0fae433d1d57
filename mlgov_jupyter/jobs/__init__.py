"""The service's scheduled jobs, run by APScheduler inside the service process."""

from .checkpoints import run_checkpoint, start_jobs

__all__ = ["run_checkpoint", "start_jobs"]
