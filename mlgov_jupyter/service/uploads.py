"""Uploads: content arrives in parts into the service's private staging directory, then one
publish adopts it into the object store. Nothing is held in memory beyond one part.

An upload belongs to the user who started it, for one asset name; its state is the staged file
and a small JSON note beside it (no governance state changes until the publish, which is
authorized and audited). Resumable: a part carries the offset it starts at (409 otherwise), and
``upload_status`` says how many bytes arrived. Abandoned uploads (no part for ``STALE_SECONDS``)
are swept when an upload starts.

The staging disk is bounded three ways, each a one-line 413: one upload and one user's unfinished
uploads together at most ``upload_max_bytes`` (checked and written under one lock per user, so a
user's parallel uploads cannot each pass the check), all users' staged bytes at most
``staging_max_bytes``, and at least ``staging_min_free_bytes`` left free on the staging disk.
"""

from __future__ import annotations

import hashlib
import contextlib
import json
import os
import secrets
import threading
import weakref
import time
from pathlib import Path

from sqlalchemy import select

from ..core import authz
from ..core import models as m
from ..core.authz import Resource
from ..core.errors import Conflict, Forbidden, NotFound, TooLarge
from ..store import tables as t
from .base import Actor, ServiceBase

STALE_SECONDS = 6 * 3600  # an upload without a part for this long is abandoned
MAX_OPEN_PER_USER = 8
class _UploadLock:
    """One upload's lock; kept while anyone holds a reference (a weak-valued table)."""

    __slots__ = ("lock", "__weakref__")

    def __init__(self):
        self.lock = threading.Lock()

    def __enter__(self):
        self.lock.acquire()
        return self

    def __exit__(self, *exc):
        self.lock.release()


_locks: "weakref.WeakValueDictionary[str, _UploadLock]" = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()
_digests: dict = {}  # upload id -> (sha256 so far, bytes hashed)
_reserved_guard = threading.Lock()
_reserved = [0]  # bytes of parts being written now (in no staged file's size yet)
_taken_digests: dict = {}  # taken file -> its digest, for ObjectStore.adopt


def taken_digest(path) -> str | None:
    """The digest of a taken upload's file, if it was hashed as its parts arrived."""
    return _taken_digests.pop(str(path), None)


class UploadService(ServiceBase):
    def start_upload(self, actor: Actor, body: m.UploadStart) -> dict:
        """``{"upload_id", "size": 0, "part_max_bytes"}``. Forbidden unless the caller may publish
        ``body.name`` into ``body.project`` (their own project by default)."""
        self._check_may_publish(actor, body.name, body.project)
        objects = self.objects_store()
        objects.sweep_staging(STALE_SECONDS)
        mine = [n for n in _notes(objects.staging) if n.get("user") == actor.name]
        if len(mine) >= MAX_OPEN_PER_USER:
            raise Conflict(f"you have {len(mine)} unfinished uploads; finish or abort one first "
                           f"(abandoned ones are removed after {STALE_SECONDS // 3600} hours)")
        upload_id = secrets.token_hex(16)
        path = objects.staging / f"{upload_id}.part"
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        _note_path(path).write_text(json.dumps({"user": actor.name, "name": body.name,
                                                "project": body.project, "started": time.time()}))
        self.decoder().prewarm(2)  # the publish's describe then finds warm workers (two: split by columns)
        return {"upload_id": upload_id, "size": 0, "part_max_bytes": self.limits.upload_part_bytes}

    def _check_may_publish(self, actor: Actor, name: str, project: str | None) -> None:
        """Forbidden unless ``actor`` may publish ``name`` into ``project`` (default: their own,
        which a first publish creates). The publish itself decides again, in its transaction."""
        project_name = project or actor.name
        with self.store.transaction(write=False) as s:
            p = s.execute(select(t.Project).where(t.Project.name == project_name)).scalar_one_or_none()
            if p is None:
                if project is not None:
                    raise NotFound(f"no project named {project_name!r}")
                self._authorize(s, actor, authz.PROJECT_CREATE, Resource(type="project", name=project_name))
            else:
                self._authorize(s, actor, authz.CATALOG_PUBLISH,
                                Resource(type="asset", name=name, project=project_name))

    def append_upload(self, actor: Actor, upload_id: str, offset: int | None, data: bytes | list) -> dict:
        """Append one part at ``offset`` (the bytes received so far; None: at the end);
        ``{"upload_id", "size"}``. ``data``: the part's bytes, or the chunks it arrived in (the
        HTTP hosts pass those: written one after the other, never joined into one buffer).
        Conflict if the offset is not the current size (a part lost or sent twice: ask
        ``upload_status`` and resume); TooLarge past ``upload_max_bytes``."""
        chunks = data if isinstance(data, list) else [data]
        n = sum(len(c) for c in chunks)
        self._upload_path(actor, upload_id)  # no lock is made for an upload that is not there
        # the user's lock, then the upload's: the user's total is checked and written at once
        with _lock(f"user:{actor.name}"), _lock(upload_id):
            path = self._upload_path(actor, upload_id)  # again under the lock: not taken meanwhile
            size = path.stat().st_size
            if offset is not None and offset != size:
                raise Conflict(f"upload {upload_id} holds {size} bytes; a part must start there, not at {offset}")
            if size + n > self.limits.upload_max_bytes:
                raise TooLarge(f"the upload would exceed {self.limits.upload_max_bytes} bytes (upload_max_bytes)")
            staged = self._staged_bytes(actor)
            if staged + n > self.limits.upload_max_bytes:
                raise TooLarge(f"your unfinished uploads hold {staged} bytes; together they may hold at most "
                               f"{self.limits.upload_max_bytes} (upload_max_bytes): finish or abort some")
            # hashed as it arrives (publish then needs no pass of its own), on a thread while the
            # part is written (both release the GIL); kept by this process only: a part that
            # reaches another copy of the service makes publish hash the file
            known = _digests.pop(upload_id, None)
            digest = known[0] if known is not None and known[1] == size else hashlib.sha256() if size == 0 else None
            hashing = threading.Thread(target=_update, args=(digest, chunks)) if digest is not None else None
            if hashing is not None:
                hashing.start()
            try:
                with self._staging_room(n):
                    with path.open("ab", buffering=0) as f:
                        _write_all(f, chunks)
            finally:
                if hashing is not None:
                    hashing.join()
            if digest is not None:
                _digests[upload_id] = (digest, size + n)
            try:
                os.utime(_note_path(path))  # a part arrived: not abandoned (the sweep goes by mtime)
            except FileNotFoundError:
                pass
            return {"upload_id": upload_id, "size": size + n}

    @contextlib.contextmanager
    def _staging_room(self, n: int):
        """Reserve ``n`` bytes of staging while they are written: TooLarge (413) if all staged
        bytes would pass ``staging_max_bytes`` or the staging disk would keep less than
        ``staging_min_free_bytes`` free."""
        objects, limits = self.objects_store(), self.limits
        with _reserved_guard:
            staged, free = objects.staging_usage()
            staged += _reserved[0]
            free -= _reserved[0]
            if staged + n > limits.staging_max_bytes:
                raise TooLarge(f"the staging area holds {staged} bytes of unfinished uploads; all users' together "
                               f"may hold at most {limits.staging_max_bytes} (staging_max_bytes): try again later")
            if free - n < limits.staging_min_free_bytes:
                raise TooLarge(f"the staging disk has {max(free, 0)} bytes free; uploads keep at least "
                               f"{limits.staging_min_free_bytes} free (staging_min_free_bytes): try again later")
            _reserved[0] += n
        try:
            yield
        finally:
            with _reserved_guard:
                _reserved[0] -= n

    def _staged_bytes(self, actor: Actor) -> int:
        """Bytes held by ``actor``'s unfinished uploads."""
        total = 0
        for note in self.objects_store().staging.glob("*.json"):
            try:
                if json.loads(note.read_text()).get("user") == actor.name:
                    total += note.with_suffix(".part").stat().st_size
            except (OSError, ValueError):
                pass
        return total

    def upload_status(self, actor: Actor, upload_id: str) -> dict:
        return {"upload_id": upload_id, "size": self._upload_path(actor, upload_id).stat().st_size}

    def abort_upload(self, actor: Actor, upload_id: str) -> dict:
        path = self._upload_path(actor, upload_id)
        with _lock(upload_id):
            path.unlink(missing_ok=True)
            _note_path(path).unlink(missing_ok=True)
            _digests.pop(upload_id, None)
        return {"upload_id": upload_id, "aborted": True}

    def _take_upload(self, actor: Actor, upload_id: str, name: str) -> Path:
        """The staged file of a finished upload for ``name``, moved under the upload's lock to a
        name of its own (no part can be appended to what is then checked and stored); the
        caller adopts or deletes it."""
        with _lock(upload_id):
            path = self._upload_path(actor, upload_id)
            note = json.loads(_note_path(path).read_text())
            if note.get("name") != name:
                raise Conflict(f"upload {upload_id} was started for {note.get('name')!r}, not {name!r}")
            taken = path.with_name(f"{upload_id}.{secrets.token_hex(8)}.taken")
            os.replace(path, taken)
            _note_path(path).unlink(missing_ok=True)
            known = _digests.pop(upload_id, None)
            if known is not None and known[1] == taken.stat().st_size:
                _taken_digests[str(taken)] = "sha256:" + known[0].hexdigest()
            return taken

    def _upload_path(self, actor: Actor, upload_id: str) -> Path:
        path = self.objects_store().staging / f"{upload_id}.part"
        try:
            note = json.loads(_note_path(path).read_text())
        except (FileNotFoundError, ValueError):
            raise NotFound(f"no upload {upload_id} (finished, aborted or expired)") from None
        if note.get("user") != actor.name:
            raise Forbidden(f"upload {upload_id} is not yours")
        if not path.exists():
            raise NotFound(f"no upload {upload_id} (finished, aborted or expired)")
        return path


def _update(digest, chunks: list) -> None:
    for chunk in chunks:
        digest.update(chunk)


def _write_all(f, chunks: list) -> None:
    """Write ``chunks`` to the unbuffered file ``f`` in order (a short write goes on where it
    stopped)."""
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[f.write(view):]


def _note_path(part: Path) -> Path:
    return part.with_suffix(".json")


def _notes(staging: Path) -> list[dict]:
    out = []
    for path in staging.glob("*.json"):
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            pass
    return out


def _lock(upload_id: str) -> _UploadLock:
    with _locks_guard:
        lock = _locks.get(upload_id)
        if lock is None:
            lock = _locks[upload_id] = _UploadLock()
        return lock
