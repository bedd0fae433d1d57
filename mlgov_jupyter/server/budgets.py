"""What one user, and all users together, may hold of the service at once over HTTP: request body
bytes arriving (kept in memory until the body is in) and responses being streamed (each holds a
chunk, a file or a decode worker, and a socket). Both are counted on the event loop (every
reservation and release happens there), so no lock is needed.

Beyond a budget the caller gets ``Unavailable`` (503) with one line saying which setting bounds it.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from ..core.errors import TooLarge, Unavailable


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


class BodyBudget:
    """Request body bytes in flight: ``reserve(user, n)`` before they are kept, ``release(user, n)``
    when the request is over. Unavailable when ``user`` would hold more than ``per_user`` bytes or
    everyone more than ``total``; TooLarge for ``n`` that alone is more than either."""

    def __init__(self) -> None:
        self.by_user: Counter = Counter()
        self.total = 0

    def reserve(self, user: str, n: int, per_user: int, total: int) -> None:
        if n <= 0:
            return
        if n > min(per_user, total):  # could never pass: not a matter of trying again
            raise TooLarge(f"the request body is {_mib(n)}; one user may send at most {_mib(min(per_user, total))} "
                           f"at once (body_memory_per_user, body_memory_total)")
        if self.by_user[user] + n > per_user:
            raise Unavailable(f"you already have {_mib(self.by_user[user])} of request bodies arriving or being "
                              f"read; one user may have at most {_mib(per_user)} at once (body_memory_per_user): "
                              f"try again when they are in")
        if self.total + n > total:
            raise Unavailable(f"the service is receiving {_mib(self.total)} of request bodies, the most it takes at "
                              f"once (body_memory_total): try again shortly")
        self.by_user[user] += n
        self.total += n

    def release(self, user: str, n: int) -> None:
        if n <= 0:
            return
        self.total -= n
        self.by_user[user] -= n
        if self.by_user[user] <= 0:
            del self.by_user[user]


class StreamSlots:
    """Responses streamed at once: ``await acquire(user, ...)`` before the stream is opened,
    ``release(user)`` once it ended (whichever way). A user past ``per_user`` is refused at once;
    past ``total`` a caller waits up to ``wait`` seconds for a slot, then Unavailable."""

    def __init__(self) -> None:
        self.by_user: Counter = Counter()
        self.total = 0

    async def acquire(self, user: str, per_user: int, total: int, wait: float) -> None:
        if self.by_user[user] >= per_user:
            n = self.by_user[user]
            raise Unavailable(f"you already have {n} download{'s' if n != 1 else ''} in progress (the most one "
                              f"user may have at once: stream_per_user); try again when one ends")
        self.by_user[user] += 1  # held while waiting: a user cannot queue more than per_user
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        try:
            while self.total >= total:
                if loop.time() >= deadline:
                    raise Unavailable(f"the service is busy streaming ({total} downloads in progress: "
                                      f"stream_max); try again")
                await asyncio.sleep(0.05)
        except BaseException:
            self._unhold(user)
            raise
        self.total += 1

    def release(self, user: str) -> None:
        self.total -= 1
        self._unhold(user)

    def _unhold(self, user: str) -> None:
        self.by_user[user] -= 1
        if self.by_user[user] <= 0:
            del self.by_user[user]


def budgets(settings: dict) -> tuple[BodyBudget, StreamSlots]:
    """The application's budgets (one pair per tornado Application: every route handler shares it)."""
    if "mlgov_budgets" not in settings:
        settings["mlgov_budgets"] = (BodyBudget(), StreamSlots())
    return settings["mlgov_budgets"]
