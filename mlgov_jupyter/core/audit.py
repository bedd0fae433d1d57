"""The audit chain: canonical form, hashing and verification (pure functions).

Each event's hash is sha256 over the previous event's hash and the canonical JSON of the
event (its id, time, actor, action, resource and detail). Editing a row breaks its own hash;
deleting one breaks the next row's link; verify names the first row that fails.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Mapping

GENESIS = "0" * 64


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str, event: Mapping) -> str:
    body = canonical({k: event[k] for k in ("id", "ts", "actor", "action", "resource_type",
                                            "resource_id", "detail")})
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken: int | None
    message: str

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "first_broken": self.first_broken,
                "message": self.message}


def _project_matches(ev: Mapping) -> bool:
    """The project column (for filtering) must say what the hashed detail says."""
    if "project" not in ev:
        return True
    try:
        return ev["project"] == json.loads(ev["detail"]).get("project")
    except (ValueError, AttributeError):
        return False


def verify(events: Iterable[Mapping], head: Mapping | None = None) -> Verification:
    """Walk events in id order. ``head`` (last_id, last_hash) also catches a deleted tail."""
    prev_hash, prev_id, checked = GENESIS, 0, 0
    for ev in events:
        if ev["id"] != prev_id + 1:
            return Verification(False, checked, ev["id"],
                                f"audit event {ev['id']} follows event {prev_id}: "
                                f"event {prev_id + 1} is missing")
        if ev["prev_hash"] != prev_hash:
            return Verification(False, checked, ev["id"],
                                f"audit event {ev['id']} does not link to event {prev_id}")
        if event_hash(prev_hash, ev) != ev["hash"] or not _project_matches(ev):
            return Verification(False, checked, ev["id"],
                                f"audit event {ev['id']} was altered: its hash does not match")
        prev_hash, prev_id, checked = ev["hash"], ev["id"], checked + 1
    if head is not None and (head["last_id"], head["last_hash"]) != (prev_id, prev_hash):
        return Verification(False, checked, prev_id + 1,
                            f"audit chain ends at event {prev_id} but its head records "
                            f"event {head['last_id']}: events were removed")
    return Verification(True, checked, None, f"audit chain intact: {checked} events verified")
