"""Slots shared by threads, granted fairly by user (red team R12 N3): a waiter whose user holds
fewer slots goes before one whose user holds more, then first come, first served. A plain
semaphore wakes whichever thread the OS picks, so users who hold every slot and ask again at once
could keep the others waiting until they gave up."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter


class FairSlots:
    """``n`` slots. ``acquire(user, timeout)`` -> True once one is this caller's (False after
    ``timeout`` seconds); ``release(user)`` gives it back; ``waiting()``: callers waiting now.
    ``user`` None (the service itself) counts as a user holding nothing."""

    def __init__(self, n: int):
        self.n = n
        self.in_use = 0
        self.held: Counter = Counter()
        self._waiting: list[tuple[int, object]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()

    def _may_take(self, me: tuple[int, object]) -> bool:
        free = self.n - self.in_use
        if free <= 0:
            return False
        key = (self.held[me[1]], me[0])
        return sum(1 for w in self._waiting if (self.held[w[1]], w[0]) < key) < free

    def acquire(self, user, timeout: float) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            me = (next(self._seq), user)
            self._waiting.append(me)
            try:
                while not self._may_take(me):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
                self.in_use += 1
                self.held[user] += 1
                return True
            finally:
                self._waiting.remove(me)
                self._cond.notify_all()  # who is first may have changed

    def release(self, user) -> None:
        with self._cond:
            self.in_use -= 1
            self.held[user] -= 1
            if self.held[user] <= 0:
                del self.held[user]
            self._cond.notify_all()

    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)
