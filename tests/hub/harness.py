"""The team-mode test harness: a real JupyterHub with real Unix users (``Hub``, from
``mlgov_jupyter.team_demo`` so ``make team-demo`` shares it), plus what tests look at from outside:
the hub's processes, their owners and environments.

    hub = Hub(db_url="")                     # or a PostgreSQL URL for the service's store
    hub.start()
    out = kernel_ok(hub, "alice", "print(1)")  # alice's kernel, in her server, as Unix user alice
    hub.stop()
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlgov_jupyter.team_demo import (LOGIN_USERS, SERVICE_NAME, SERVICE_USER, Hub, HubError, Proc,
                                     process_tree)

__all__ = ["Hub", "HubError", "LOGIN_USERS", "SERVICE_NAME", "SERVICE_USER", "kernel_ok",
           "service_process", "server_process", "kernel_process", "environ", "ps_user", "process_tree"]


def kernel_ok(hub: Hub, user: str, code: str, timeout: float = 60) -> str:
    """Run ``code`` in ``user``'s kernel; its output, or AssertionError with the kernel's error."""
    out, error = hub.run_in_kernel(user, code, timeout=timeout)
    assert error is None, f"{user}'s kernel raised {error}\n{out}"
    return out


def _one(procs: list[Proc], what: str) -> Proc:
    assert len(procs) == 1, f"expected one {what}, found {[(p.pid, p.user, p.cmdline) for p in procs]}"
    return procs[0]


def service_process(hub: Hub) -> Proc:
    """The ``mlgov serve`` process the hub started (found by its data dir)."""
    return _one([p for p in hub.processes() if f"--data-dir={hub.data_dir}" in p.cmdline],
                "mlgov serve process")


def server_process(hub: Hub, user: str) -> Proc:
    """``user``'s single-user server."""
    return _one([p for p in hub.processes()
                 if p.cmdline and any(a.endswith("jupyterhub-singleuser") for a in p.cmdline[:2])
                 and p.user == user], f"single-user server of {user}")


def kernel_process(hub: Hub, user: str) -> Proc:
    """``user``'s kernel (the harness starts one per user)."""
    return _one([p for p in hub.processes() if "ipykernel_launcher" in p.cmdline and p.user == user],
                f"kernel of {user}")


def environ(pid: int) -> dict[str, str]:
    """A process's environment as it was started (read as root from /proc)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {k: v for k, _, v in pairs}


def ps_user(pid: int) -> str:
    """The process's owner as ``ps`` reports it."""
    return subprocess.run(["ps", "-o", "user=", "-p", str(pid)], capture_output=True, text=True,
                          check=True).stdout.strip()
