"""Slots shared by threads, granted fairly by user (red team R12 N3): a waiter whose user holds
fewer slots goes before one whose user holds more, then first come, first served. A plain
semaphore wakes whichever thread the OS picks, so users who hold every slot and ask again at once
could keep the others waiting until they gave up. When someone waits, ``preempt_by_share`` says
which held slots to cut: those of the user holding the most above a fair share (red team R13
P2-3), never by age alone, and whatever their age once they ran ``MIN_RUN`` seconds (R14 finding
5: users reopening their streams before the lease were never old enough to be cut)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter

MIN_RUN = 5.0  # seconds a stream runs at least before a cut (so that every stream makes progress)


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

    def waiting_users(self) -> list:
        """The user of each caller waiting now."""
        with self._cond:
            return [w[1] for w in self._waiting]


def preempt_by_share(streams, waiters, slots: int, lease: float, now: float, n: int) -> list:
    """Which held slots to cut for ``waiters``: by fair share, not by age (red team R13 P2-3, R14
    finding 5).

    ``streams``: ``(key, user, since)`` of every held slot that may be cut (``since``: monotonic
    seconds when it was taken); ``waiters``: the user of each caller waiting; ``slots``: how many
    there are; ``n``: at most how many to cut. A slot is cut only when its user holds more than
    their fair share (``slots`` / users holding or waiting), at least two (never a user's only
    stream), and at least two more than the waiter it goes to (else the cut only swaps who is
    short); its stream must have run ``min(lease, MIN_RUN)`` seconds (whatever its age beyond:
    reopening streams does not shield them). The user holding the most loses first; within that
    user, the slot held longest. When no other user is above their share, a waiter's own oldest
    slot past the whole ``lease`` is cut for it (if their user holds two or more: the lease orders
    streams within a user). Returns the keys, at most ``n``."""
    held = Counter(user for _, user, _ in streams)
    users = set(held) | set(waiters)
    if not users or not waiters or n <= 0:
        return []
    share = slots / len(users)
    ran = min(lease, MIN_RUN)
    runs: dict = {}  # per user, streams that ran MIN_RUN, oldest first
    old: dict = {}  # per user, streams past the lease, oldest first
    for key, user, since in sorted(streams, key=lambda s: s[2]):
        if now - since >= ran:
            runs.setdefault(user, []).append(key)
        if now - since >= lease:
            old.setdefault(user, []).append(key)
    cut = []
    for taker in sorted(waiters, key=lambda w: held[w])[:n]:  # each waiter takes one freed slot
        fit = [u for u, keys in runs.items()
               if keys and u != taker and held[u] > share and held[u] >= 2 and held[u] - held[taker] >= 2]
        if fit:
            user = max(fit, key=lambda u: held[u])
            key = runs[user].pop(0)
        elif old.get(taker) and held[taker] >= 2:
            user = taker  # a user's own newer call may take the place of their own older one
            key = old[user].pop(0)
        else:
            continue
        for keys in (runs.get(user), old.get(user)):
            if keys and key in keys:
                keys.remove(key)
        cut.append(key)
        held[user] -= 1
        held[taker] += 1
    return cut
