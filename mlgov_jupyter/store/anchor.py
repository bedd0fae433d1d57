"""The audit anchor: the service's Ed25519 signing key and its write-once checkpoint directory.

Both live outside the database, so whoever can rewrite the database cannot re-sign a rewritten
audit chain (the scheme of CloudTrail's digest files; signatures per RFC 8032):

- ``key_file``: the private key, PEM PKCS8, mode 0600 in a 0700 directory, made on first use.
  ``<stem>.pub`` next to it holds the public key (PEM) to hand to verifiers.
- ``checkpoint_dir``: one file per checkpoint, ``000042.json`` = ``{"payload": ..., "signature":
  ...}`` (format in ``core.audit``), created with O_EXCL (never overwritten), mode 0444, in a
  0700 directory.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..core import audit as chain
from ..core.errors import Conflict, Invalid

FILE_NAME = re.compile(r"^([0-9]{6,})\.json\Z")
HEADS = "heads.log"  # the head after each write, appended; rotated to heads-NNNNNN.log at checkpoint N
HEADS_NAME = re.compile(r"^heads(-[0-9]{6,})?\.log\Z")


KEY_FILE, CHECKPOINT_DIR = "audit-signing-key.pem", "audit-checkpoints"  # defaults, in the data dir
SEALED, SEALED_INFO = "sealed:", b"mlgov: secrets sealed in the database, v1"


def private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) or tighten it: what is in it is its owner's alone."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def default_anchor(data_dir: Path) -> "AuditAnchor":
    """The anchor at its default place in ``data_dir`` (what a server uses unless configured)."""
    return AuditAnchor(data_dir / KEY_FILE, data_dir / CHECKPOINT_DIR)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``data``; FileExistsError if it exists (never overwrites)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; Invalid if it is not one."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise Invalid("not an Ed25519 public key")
    return key


def checkpoint_file(seq: int) -> str:
    return f"{seq:06d}.json"


def read_heads(folder: Path) -> list[dict]:
    """Every line of ``heads*.log`` in ``folder``: ``{"event", "hash", "signature"}``; a line that
    is not one (a write cut short by a crash) is skipped."""
    out = []
    for entry in sorted(folder.iterdir()):
        if not HEADS_NAME.match(entry.name):
            continue
        for line in entry.read_bytes().splitlines():
            try:
                rec = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(rec, dict) and type(rec.get("event")) is int and isinstance(rec.get("hash"), str) \
                    and isinstance(rec.get("signature"), str):
                out.append(rec)
    return out


def read_checkpoint_dir(folder: Path) -> list[tuple[str, object]]:
    """``[(file name, parsed document), ...]`` of every ``NNNNNN.json`` in ``folder``; a file that
    is not JSON yields ``(name, None)`` (verification calls it malformed). Other names are skipped."""
    out = []
    for entry in sorted(folder.iterdir()):
        if not FILE_NAME.match(entry.name):
            continue
        try:
            out.append((entry.name, json.loads(entry.read_bytes())))
        except (ValueError, UnicodeDecodeError):
            out.append((entry.name, None))
    return out


class AuditAnchor:
    """The signing key (created on first use if ``key_file`` is missing) and the checkpoint
    directory (None: checkpoints are kept in the database only). Raises Invalid if ``key_file``
    holds something other than an Ed25519 private key."""

    def __init__(self, key_file: Path, checkpoint_dir: Path | None):
        self.key_file = Path(key_file)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self._key = self._load_or_create()
        self.public_key: Ed25519PublicKey = self._key.public_key()
        self.public_key_pem: str = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.key_id: str = chain.key_id(self.public_key)
        self._write_public()
        if self.checkpoint_dir is not None:
            private_dir(self.checkpoint_dir)

    @property
    def public_key_file(self) -> Path:
        return self.key_file.with_name(self.key_file.stem + ".pub")

    def _load_or_create(self) -> Ed25519PrivateKey:
        private_dir(self.key_file.parent)
        if not self.key_file.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            try:
                _write_new(self.key_file, pem, 0o600)
                return key
            except FileExistsError:  # another service copy made it first: use theirs
                pass
        try:
            key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise Invalid(f"audit key file {self.key_file} is not a PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise Invalid(f"audit key file {self.key_file} is not an Ed25519 key")
        return key

    def _write_public(self) -> None:
        path = self.public_key_file
        if path.exists() and path.read_text() == self.public_key_pem:
            return
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(self.public_key_pem)
        tmp.chmod(0o644)
        os.replace(tmp, path)

    def sign(self, payload: dict) -> str:
        """Base64 Ed25519 signature over ``core.audit.canonical(payload)``."""
        return chain.sign(self._key, payload)

    def _box(self):
        """Fernet (AES-128-CBC + HMAC-SHA256, cryptography's) keyed by HKDF-SHA256 of the private
        key: secrets the database holds are readable only with the key file beside it."""
        box = self.__dict__.get("_fernet")
        if box is None:
            import base64

            from cryptography.fernet import Fernet
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF

            raw = self._key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEALED_INFO).derive(raw)
            box = self.__dict__.setdefault("_fernet", Fernet(base64.urlsafe_b64encode(key)))
        return box

    def seal(self, text: str) -> str:
        """``text`` encrypted for the database: ``"sealed:" + Fernet token``."""
        return SEALED + self._box().encrypt(text.encode()).decode()

    def unseal(self, stored: str | None) -> str | None:
        """The text ``seal`` made (a value stored before sealing is returned as it is); None if it
        was sealed with another key (the key file was replaced)."""
        if not stored or not stored.startswith(SEALED):
            return stored
        from cryptography.fernet import InvalidToken

        try:
            return self._box().decrypt(stored[len(SEALED):].encode()).decode()
        except InvalidToken:
            return None

    def write(self, payload: dict, signature: str) -> Path | None:
        """Write checkpoint ``payload['seq']`` as a new read-only file; Conflict if that file
        exists already (a checkpoint file is never replaced). None without a directory."""
        if self.checkpoint_dir is None:
            return None
        path = self.checkpoint_dir / checkpoint_file(payload["seq"])
        doc = json.dumps({"payload": payload, "signature": signature}, sort_keys=True, indent=1)
        try:
            _write_new(path, doc.encode() + b"\n", 0o444)
        except FileExistsError:
            raise Conflict(f"checkpoint file {path} exists already; it is never overwritten") from None
        return path

    def append_head(self, event_id: int, event_hash: str, signature: str) -> None:
        """Append the chain's new head (its event's own signed statement) to ``heads.log``, after
        the write committed: whoever deletes the newest events from the database cannot delete
        them here, so a truncation after the last checkpoint is caught too."""
        if self.checkpoint_dir is None:
            return
        line = json.dumps({"event": event_id, "hash": event_hash, "signature": signature},
                          sort_keys=True, separators=(",", ":")) + "\n"
        fd = os.open(self.checkpoint_dir / HEADS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def rotate_heads(self, seq: int) -> None:
        """At checkpoint ``seq``: ``heads.log`` becomes ``heads-<seq>.log``; rotations two or more
        checkpoints old are removed (every event they name is covered by a checkpoint by then)."""
        if self.checkpoint_dir is None:
            return
        current = self.checkpoint_dir / HEADS
        if current.exists():
            os.replace(current, self.checkpoint_dir / f"heads-{seq:06d}.log")
        for entry in self.checkpoint_dir.iterdir():
            found = HEADS_NAME.match(entry.name)
            if found and found.group(1) and int(found.group(1)[1:]) < seq - 1:
                entry.unlink(missing_ok=True)

    def heads(self) -> list[dict]:
        """The head log's lines (see ``read_heads``); [] without a directory."""
        if self.checkpoint_dir is None or not self.checkpoint_dir.is_dir():
            return []
        return read_heads(self.checkpoint_dir)

    def read(self) -> list[tuple[str, object]]:
        """The checkpoint files (see ``read_checkpoint_dir``); [] without a directory."""
        if self.checkpoint_dir is None or not self.checkpoint_dir.is_dir():
            return []
        return read_checkpoint_dir(self.checkpoint_dir)
