"""The audit chain: canonical form, hashing and verification (pure functions).

Each event's hash is sha256 over the previous event's hash and the canonical JSON of the
event (its id, time, actor, action, resource and detail). Editing a row breaks its own hash;
deleting one breaks the next row's link; verify names the first row that fails.

Whoever can write the database can still rewrite the whole chain consistently. Signed
checkpoints (below) anchor it: the service signs the chain's event hashes with an Ed25519 key
(RFC 8032) the database never holds, and ``verify_anchored`` names the first event that differs
from what was signed, or the signed events that are gone.
"""

from __future__ import annotations

import base64
import binascii
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
    checkpoints: int | None = None  # signed checkpoints checked (None: verified without a key)
    covered: int | None = None  # the last event a signed checkpoint covers (0: none)

    def to_dict(self) -> dict:
        out = {"ok": self.ok, "checked": self.checked, "first_broken": self.first_broken,
               "message": self.message}
        if self.checkpoints is not None:
            out.update(checkpoints=self.checkpoints, covered=self.covered)
        return out


HEAD_MISSING = ("the audit head row is missing (table audit_head, id 1): the audit trail was "
                "tampered with; nothing can be recorded until it is restored")


def _project_matches(ev: Mapping) -> bool:
    """The project column (for filtering) must say what the hashed detail says."""
    if "project" not in ev:
        return True
    try:
        return ev["project"] == json.loads(ev["detail"]).get("project")
    except (ValueError, AttributeError):
        return False


def _check_one(ev: Mapping, prev_id: int, prev_hash: str, checked: int) -> Verification | None:
    """The failure of one event in the walk (numbering, link, own hash), or None."""
    if ev["id"] != prev_id + 1:
        return Verification(False, checked, ev["id"], f"audit event {ev['id']} follows event {prev_id}: "
                                                      f"event {prev_id + 1} is missing")
    if ev["prev_hash"] != prev_hash:
        return Verification(False, checked, ev["id"], f"audit event {ev['id']} does not link to event {prev_id}")
    if event_hash(prev_hash, ev) != ev["hash"] or not _project_matches(ev):
        return Verification(False, checked, ev["id"], f"audit event {ev['id']} was altered: its hash does not match")
    return None


def _head_message(prev_id: int, head: Mapping) -> str:
    return (f"audit chain ends at event {prev_id} but its head records event {head['last_id']}: "
            f"events were removed")


def verify(events: Iterable[Mapping], head: Mapping | None = None) -> Verification:
    """Walk events in id order. ``head`` (last_id, last_hash) also catches a deleted tail.

    This catches edits by someone who does not recompute the chain; ``verify_anchored`` also
    catches consistent rewrites, against signed checkpoints."""
    prev_hash, prev_id, checked = GENESIS, 0, 0
    for ev in events:
        failure = _check_one(ev, prev_id, prev_hash, checked)
        if failure is not None:
            return failure
        prev_hash, prev_id, checked = ev["hash"], ev["id"], checked + 1
    if head is not None and (head["last_id"], head["last_hash"]) != (prev_id, prev_hash):
        return Verification(False, checked, prev_id + 1, _head_message(prev_id, head))
    return Verification(True, checked, None, f"audit chain intact: {checked} events verified")


# ---- signed checkpoints (anchoring the chain outside the database) --------------------------
#
# A checkpoint is a signed statement of the chain's head, made by the service with its Ed25519
# key (RFC 8032) and kept both in the database and as one write-once file per checkpoint, the way
# CloudTrail's digest files anchor its log files. Document shape (file and database alike):
#
#   {"payload": {"version": 1, "seq": N, "first_event": a, "last_event": b,
#                "head_hash": <hash of event b>, "event_hashes": [<hash a>, ..., <hash b>],
#                "prev_checkpoint": <sha256 hex of checkpoint N-1's canonical payload, or GENESIS>,
#                "created_at": <UTC ISO 8601>, "key_id": <first 16 hex of sha256(raw public key)>},
#    "signature": <base64 Ed25519 signature over canonical(payload).encode()>}
#
# Checkpoint 1 starts at event 1; each next one starts right after the previous one's last event.

CHECKPOINT_VERSION = 1
PAYLOAD_KEYS = frozenset({"version", "seq", "first_event", "last_event", "head_hash", "event_hashes",
                          "prev_checkpoint", "created_at", "key_id"})


def key_id(public_key) -> str:
    """First 16 hex chars of sha256 over the raw 32-byte Ed25519 public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def payload_digest(payload: Mapping) -> str:
    """What the next checkpoint's ``prev_checkpoint`` holds: sha256 hex of the canonical payload."""
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


def checkpoint_payload(seq: int, events: list, prev_payload: Mapping | None, created_at: str,
                       kid: str) -> dict:
    """The payload over ``events`` (``[(id, hash), ...]`` in id order, contiguous, non-empty)."""
    return {"version": CHECKPOINT_VERSION, "seq": seq, "first_event": events[0][0],
            "last_event": events[-1][0], "head_hash": events[-1][1],
            "event_hashes": [h for _, h in events],
            "prev_checkpoint": payload_digest(prev_payload) if prev_payload else GENESIS,
            "created_at": created_at, "key_id": kid}


def sign(private_key, payload: Mapping) -> str:
    """Base64 Ed25519 signature over the canonical payload bytes."""
    return base64.b64encode(private_key.sign(canonical(payload).encode())).decode()


def signature_valid(public_key, payload: Mapping, signature: str) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(base64.b64decode(signature, validate=True), canonical(payload).encode())
        return True
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False


def _well_formed(doc) -> bool:
    if not isinstance(doc, Mapping) or set(doc) != {"payload", "signature"}:
        return False
    p, sig = doc["payload"], doc["signature"]
    if not isinstance(p, Mapping) or set(p) != PAYLOAD_KEYS or not isinstance(sig, str):
        return False
    ints = [p[k] for k in ("version", "seq", "first_event", "last_event")]
    if any(type(v) is not int for v in ints) or not isinstance(p["event_hashes"], list):
        return False
    return (p["seq"] >= 1 and 1 <= p["first_event"] <= p["last_event"]
            and len(p["event_hashes"]) == p["last_event"] - p["first_event"] + 1
            and all(isinstance(h, str) for h in p["event_hashes"])
            and p["head_hash"] == p["event_hashes"][-1])


def _fail(checked: int, first_broken: int | None, message: str, **kw) -> Verification:
    return Verification(False, checked, first_broken, message, **kw)


def check_checkpoints(sources: Iterable[tuple[str, Mapping]], public_key) -> tuple[list, str | None]:
    """Union checkpoint documents from several sources (``("database", doc)``,
    ``("000003.json", doc)``) by seq and check them: well formed, signed by ``public_key``, the
    same where two sources hold one seq, seq 1..n without gaps, each linked to the previous one by
    digest, event ranges contiguous from event 1. Returns (payloads in seq order, None) or
    ([], one-line message naming the first bad checkpoint)."""
    kid = key_id(public_key)
    by_seq: dict[int, tuple[str, Mapping]] = {}
    for source, doc in sources:
        where = "the database" if source == "database" else f"file {source}"
        if not _well_formed(doc):
            return [], f"checkpoint in {where} is malformed (altered or not a checkpoint)"
        p = doc["payload"]
        if not signature_valid(public_key, p, doc["signature"]):
            signer = "" if p["key_id"] == kid else f" (it names key {p['key_id']}, this key is {kid})"
            return [], (f"checkpoint {p['seq']} in {where} has an invalid signature: altered or not "
                        f"signed by this key{signer}")
        seen = by_seq.get(p["seq"])
        if seen and canonical(seen[1]) != canonical(doc):
            return [], f"checkpoint {p['seq']} differs between {seen[0]} and {where}"
        by_seq.setdefault(p["seq"], (where, doc))
    payloads, prev = [], None
    for seq in sorted(by_seq):
        p = by_seq[seq][1]["payload"]
        expected_seq = prev["seq"] + 1 if prev else 1
        if seq != expected_seq:
            return [], f"checkpoint {expected_seq} is missing (the next one found is {seq})"
        if p["prev_checkpoint"] != (payload_digest(prev) if prev else GENESIS):
            return [], f"checkpoint {seq} does not link to checkpoint {seq - 1}"
        if p["first_event"] != (prev["last_event"] + 1 if prev else 1):
            return [], f"checkpoint {seq} starts at event {p['first_event']}, not right after checkpoint {seq - 1}"
        payloads.append(p)
        prev = p
    return payloads, None


def event_statement(event_id: int, event_hash_hex: str) -> dict:
    """What the service signs for each event when it writes it: ``{"event": id, "hash": hash}``."""
    return {"event": event_id, "hash": event_hash_hex}


def signature_problem(ev: Mapping, required: bool, public_key) -> str | None:
    """Why an event's own signature fails (None: fine). Unsigned events are accepted only where
    ``required`` is False: within the first checkpoint (events of a store older than signing)."""
    sig = ev.get("signature")
    if not sig:
        return (f"audit event {ev['id']} is not signed by the service's key: forged, or written "
                f"by something that does not hold the key") if required else None
    if not signature_valid(public_key, event_statement(ev["id"], ev["hash"]), sig):
        return f"audit event {ev['id']} has an invalid signature: forged or altered"
    return None


def _head_log(heads: Iterable[Mapping], covered: int, public_key) -> tuple[dict, str | None]:
    """The head log's signed heads after ``covered`` as ``{event id: hash}``, or a problem."""
    signed = {}
    for rec in heads:
        if rec["event"] <= covered:
            continue  # a checkpoint covers it
        if not signature_valid(public_key, event_statement(rec["event"], rec["hash"]), rec["signature"]):
            return {}, f"the head log's entry for event {rec['event']} has an invalid signature: altered"
        signed[rec["event"]] = rec["hash"]
    return signed, None


def verify_anchored(events: Iterable[Mapping], head: Mapping | None, sources: Iterable[tuple[str, Mapping]],
                    public_key, heads: Iterable[Mapping] = ()) -> Verification:
    """``verify`` plus the signed checkpoints: every event a checkpoint covers must carry the hash
    it signed, and the store must reach the last signed event. Events after the last checkpoint
    are link-checked only (reported in ``uncovered``). ``head`` None: the head row is missing."""
    payloads, problem = check_checkpoints(sources, public_key)
    if problem:
        return _fail(0, None, problem, checkpoints=0)
    signed = {}  # event id -> (hash, seq); events are walked in order, so this could stream
    for p in payloads:
        for offset, h in enumerate(p["event_hashes"]):
            signed[p["first_event"] + offset] = (h, p["seq"])
    covered = payloads[-1]["last_event"] if payloads else 0
    logged, problem = _head_log(heads, covered, public_key)
    if problem:
        return _fail(0, None, problem, checkpoints=len(payloads), covered=covered)
    # every event after the first checkpoint must carry its own signature, and so must every
    # event after a signed one (signing never stops); earlier ones are from before signing
    signed_from = payloads[0]["last_event"] + 1 if payloads else None
    seen_signed = False
    n = len(payloads)
    prev_hash, prev_id, checked = GENESIS, 0, 0
    for ev in events:
        result = _check_one(ev, prev_id, prev_hash, checked)
        if result is None and ev["id"] in signed and signed[ev["id"]][0] != ev["hash"]:
            result = _fail(checked, ev["id"], f"audit event {ev['id']} was altered: its hash differs "
                                              f"from the one signed in checkpoint {signed[ev['id']][1]}")
        if result is None and logged.get(ev["id"], ev["hash"]) != ev["hash"]:
            result = _fail(checked, ev["id"], f"audit event {ev['id']} was altered: its hash differs "
                                              f"from the one in the head log")
        if result is None:
            required = seen_signed or (signed_from is not None and ev["id"] >= signed_from)
            problem = signature_problem(ev, required, public_key)
            result = _fail(checked, ev["id"], problem) if problem else None
            seen_signed = seen_signed or bool(ev.get("signature"))
        if result is not None:
            return Verification(False, result.checked, result.first_broken, result.message,
                                checkpoints=n, covered=covered)
        prev_hash, prev_id, checked = ev["hash"], ev["id"], checked + 1
    if prev_id < covered:
        last = payloads[-1]
        ends = f"ends at event {prev_id}" if prev_id else "holds no audit events"
        return _fail(checked, prev_id + 1, f"events {prev_id + 1}-{covered} were removed: checkpoint "
                                           f"{last['seq']} signed event {covered} but the store {ends}",
                     checkpoints=n, covered=covered)
    last_logged = max(logged, default=0)
    if prev_id < last_logged:
        return _fail(checked, prev_id + 1, f"events {prev_id + 1}-{last_logged} were removed: the head "
                                           f"log signed event {last_logged} but the store ends at event {prev_id}",
                     checkpoints=n, covered=covered)
    if head is None:
        return _fail(checked, None, HEAD_MISSING, checkpoints=n, covered=covered)
    if (head["last_id"], head["last_hash"]) != (prev_id, prev_hash):
        return _fail(checked, prev_id + 1, _head_message(prev_id, head), checkpoints=n, covered=covered)
    message = f"audit chain intact: {checked} events verified"
    if n:
        message += f", events 1-{covered} signed in {n} checkpoint{'s' if n > 1 else ''}"
    if prev_id > covered:
        how = " signed one by one," if n or seen_signed else ""
        message += f"; events {covered + 1}-{prev_id}{how} not yet in a checkpoint"
    if checked and not n and not seen_signed:
        # a store never served with this key, or one rewritten without it: nothing is vouched for
        return _fail(checked, 1, f"none of the {checked} events is signed and no checkpoint exists: "
                                 "this key vouches for none of them (a store never served with this key, "
                                 "or rewritten without it)", checkpoints=0, covered=0)
    return Verification(True, checked, None, message, checkpoints=n, covered=covered)
