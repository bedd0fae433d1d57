"""A pids cgroup of its own for the isolated model worker of a root kernel (red team R12 N7).

The worker's threads and processes are bounded by ``RLIMIT_NPROC`` (isolated_model._confine),
which Linux does not enforce for root: a root kernel's model started 2,000 threads in 0.1 s and
could take the machine's process ids (``pid_max``). For root the worker is moved, before it runs
any model code, into a cgroup of its own whose ``pids.max`` is its allowance (threads and
processes count alike): under cgroup v1's pids hierarchy (``/sys/fs/cgroup/pids/<the kernel's
group>/mlgov-model-<pid>``), or on cgroup v2 under the kernel's own cgroup when that delegates the
pids controller to its children (``cgroup.subtree_control`` lists ``pids``). Where neither can be
set up, ``limit_tasks`` returns None and the caller warns. The group is removed when the worker
has been reaped (``release``).
"""

from __future__ import annotations

from pathlib import Path

V1 = Path("/sys/fs/cgroup/pids")
V2 = Path("/sys/fs/cgroup")


def _parent() -> Path | None:
    """Where this process may create a pids-limited child group, or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(",") and (V1 / "cgroup.procs").exists():
            return V1 / path.lstrip("/")
    for line in lines:
        if line.startswith("0::"):
            base = V2 / line[3:].lstrip("/")
            try:
                if "pids" in (base / "cgroup.subtree_control").read_text().split():
                    return base
            except OSError:
                pass
    return None


def limit_tasks(pid: int, max_tasks: int) -> Path | None:
    """Moves process ``pid`` (all its threads) into a new cgroup with ``pids.max = max_tasks``;
    its path, or None when no pids cgroup can be made here (not Linux, not permitted, no pids
    controller)."""
    parent = _parent()
    if parent is None:
        return None
    group = parent / f"mlgov-model-{pid}"
    try:
        group.mkdir()
        (group / "pids.max").write_text(str(max_tasks))
        (group / "cgroup.procs").write_text(str(pid))
    except OSError:
        release(group)
        return None
    return group


def release(group: Path | None) -> None:
    """Removes ``group`` once its processes are gone (no error if it cannot)."""
    if group is not None:
        try:
            group.rmdir()
        except OSError:
            pass
