"""The service's scheduled jobs, run by APScheduler inside the service process."""

from .checkpoints import run_checkpoint
from .scheduler import start_scheduler

__all__ = ["run_checkpoint", "start_scheduler"]
