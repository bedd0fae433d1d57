"""Locks a write takes before it checks what it depends on (red team R15, issue 9).

A check and the write that relies on it must see the same state: on PostgreSQL (READ COMMITTED)
two transactions both pass a plain SELECT's check and both commit. Rows that exist are locked
with SELECT ... FOR UPDATE; what has no row (a content digest, a per-user count) is serialized
with a transaction-level advisory lock, released at commit or rollback. SQLite serializes write
transactions (BEGIN IMMEDIATE), so there these are no-ops or plain reads.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.errors import NotFound
from ..store import tables as t


def advisory_key(name: str) -> int:
    """A 63-bit (non-negative BIGINT) key for ``name`` (e.g. ``"content:sha256:..."``)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


def advisory_lock(s: Session, *names: str) -> None:
    """Hold PostgreSQL advisory locks on ``names`` until the transaction ends (taken in key
    order, so two callers never wait on each other crosswise); nothing on SQLite."""
    if s.get_bind().dialect.name == "sqlite":
        return
    for key in sorted({advisory_key(n) for n in names}):
        s.execute(select(func.pg_advisory_xact_lock(key)))


def lock_rows(s: Session, *assets: t.Asset) -> None:
    """Lock the assets' rows until commit (in id order) and re-read them: the objects then hold
    what the last writer committed (populate_existing refreshes only rows that are fetched)."""
    ids = sorted({a.id for a in assets})
    s.execute(select(t.Asset).where(t.Asset.id.in_(ids)).order_by(t.Asset.id).with_for_update()
              .execution_options(populate_existing=True)).scalars().all()


def lock_listed(s: Session, *assets: t.Asset) -> None:
    """``lock_rows``, then refuse an unpublished one with unpublish's message (NotFound).
    Whatever attaches to an asset or puts it back to use (a deployment, a monitor, a card, a
    filter, a capture, a request) takes this first: it then commits before an unpublish of the
    asset checks what is attached, or sees the asset unlisted."""
    from .lifecycle import unpublished_message

    lock_rows(s, *assets)
    for a in assets:
        if not a.listed:
            raise NotFound(unpublished_message(a))
