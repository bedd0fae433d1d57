"""References to content in the object store, which is content-addressed: one stored object
(``sha256:...``) may be held by revisions of several assets, captured batches and monitor
baselines at once, so deleting one holder's content must not take another's (red team R15 F3).

Per digest, recording a reference and deciding "nothing else holds it, delete it" are
serialized: both take the digest's advisory lock (PostgreSQL; SQLite serializes write
transactions) in the transaction that records or decides, and the deleting transaction removes
the object before it commits. A reference recorded first is seen by the delete (the object is
kept); a reference recorded after finds the object gone and is refused (Conflict), never
recorded over missing bytes.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.errors import Conflict
from ..store import tables as t
from .locks import advisory_lock

log = logging.getLogger("mlgov.content")


def _lock_names(digests) -> list[str]:
    return [f"content:{d}" for d in digests]


def hold_content(s: Session, objects, digest: str, again: str = "publish again") -> None:
    """In the transaction that records a reference to ``digest``: wait for any delete of it in
    flight, then Conflict (409) if the object is gone (removed at that moment: the caller's
    bytes were not stored again, since identical bytes were already there)."""
    advisory_lock(s, *_lock_names([digest]))
    if not objects.exists(digest):
        raise Conflict(f"the content was removed at the same moment: {again}")


def held_elsewhere(s: Session, digests, asset_id: int | None = None) -> set[str]:
    """Those of ``digests`` that a revision of another asset than ``asset_id`` (any asset when
    None), a captured batch or a monitor's baseline refers to."""
    digests = list(digests)
    rev = select(t.AssetRevision.content_hash).where(t.AssetRevision.content_hash.in_(digests))
    if asset_id is not None:
        rev = rev.where(t.AssetRevision.asset_id != asset_id)
    held = set(s.execute(rev).scalars())
    held |= set(s.execute(select(t.CaptureFile.content_hash).where(
        t.CaptureFile.content_hash.in_(digests))).scalars())
    held |= set(s.execute(select(t.Monitor.baseline_hash).where(
        t.Monitor.baseline_hash.in_(digests))).scalars())
    return held


def delete_unreferenced(s: Session, objects, digests, asset_id: int | None = None) -> tuple[list, list]:
    """Under the digests' locks, delete from ``objects`` those nothing but ``asset_id`` holds
    (see held_elsewhere), before the caller's transaction commits. ``(deleted, kept)``, sorted."""
    digests = sorted(set(digests))
    if not digests:
        return [], []
    advisory_lock(s, *_lock_names(digests))
    held = held_elsewhere(s, digests, asset_id)
    deleted = [d for d in digests if d not in held]
    for d in deleted:
        try:
            objects.delete(d)
        except OSError:  # the object store refused: the bytes stay, unreferenced
            log.exception("could not delete %s", d)
    return deleted, [d for d in digests if d in held]
