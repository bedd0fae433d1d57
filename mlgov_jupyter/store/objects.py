"""The object store: where published content (Parquet, skops, files) lives, content-addressed.

One seam for every backend: a local directory by default (in the service's private data
directory) or any URL ``pyarrow.fs`` opens (``s3://``, ``gs://``, ``abfs://``, ``hdfs://``; any other
fsspec protocol when fsspec and its driver are installed). ``pyarrow.fs`` because the service
already depends on pyarrow and scans datasets with ``pyarrow.dataset``: its native filesystems
push column and row-group reads down without a Python layer, and cover the clouds teams use.

Keys are ``<root>/sha256/<2 hex>/<64 hex>``: the same bytes are kept once. The database holds
the hash, size and format; never the bytes. Writes go to a private staging directory on local
disk first (uploads arrive there in parts), then move into the store once hashed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Iterator

from ..core.errors import Invalid

CHUNK = 8 << 20  # bytes read at a time when hashing or streaming content out


class ObjectStore:
    """Content-addressed bytes. ``url``: a directory path or a filesystem URL; ``options``:
    keyword arguments of the pyarrow filesystem (e.g. ``endpoint_override``, ``access_key``,
    ``secret_key``, ``region``, ``scheme`` for S3), held by the service only; ``staging``: a local
    directory for uploads in progress."""

    def __init__(self, url: str, staging: str | Path, options: dict | None = None):
        import pyarrow.fs as pafs

        self.url, self.options = url, dict(options or {})
        if "://" not in url or url.startswith("file://"):
            path = Path(url.removeprefix("file://"))
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.fs, self.root, self.is_local = pafs.LocalFileSystem(), str(path.resolve()), True
        else:
            self.fs, self.root, self.is_local = _remote(url, self.options), _root_of(url), False
        self.staging = Path(staging)
        self.staging.mkdir(parents=True, exist_ok=True, mode=0o700)

    def __repr__(self):
        return f"<ObjectStore {self.url}>"

    def path(self, digest: str) -> str:
        """Where ``digest`` ("sha256:<hex>") lives in ``self.fs``."""
        algo, _, hexa = digest.partition(":")
        if algo != "sha256" or len(hexa) != 64 or not all(c in "0123456789abcdef" for c in hexa):
            raise ValueError(f"not a content hash: {digest!r}")
        return f"{self.root}/sha256/{hexa[:2]}/{hexa}"

    def exists(self, digest: str) -> bool:
        import pyarrow.fs as pafs

        return self.fs.get_file_info(self.path(digest)).type == pafs.FileType.File

    def size(self, digest: str) -> int:
        """Bytes of the stored content ``digest``; Invalid (one line, no path) when it is not
        there (removed by hand, a store fault)."""
        import pyarrow.fs as pafs

        info = self.fs.get_file_info(self.path(digest))
        if info.type != pafs.FileType.File:
            raise Invalid("this revision's content is missing from the service's store")
        return info.size

    # ---- writing ------------------------------------------------------------------------------

    def new_staging_file(self) -> Path:
        """A fresh empty file in the staging directory (mode 0600)."""
        path = self.staging / f"{secrets.token_hex(16)}.part"
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return path

    def adopt(self, staged: Path, digest: str | None = None) -> tuple[str, int, bool]:
        """Hash a staged file, move it into the store under its hash and return
        ``(digest, size, new)`` (``new``: it was not stored before); the staged file is gone
        afterwards. Keeping bytes already stored is a no-op, so two publishers of the same
        content both succeed. ``digest``: the file's hash when already known (taken under the
        upload's lock, hashed as it arrived)."""
        if digest is None:
            digest, size = file_digest(staged)
        else:
            size = staged.stat().st_size
        target = self.path(digest)
        if self.exists(digest):
            staged.unlink()
            return digest, size, False
        elif self.is_local:
            Path(target).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                os.replace(staged, target)  # staging beside the store: one rename
            except OSError:  # another filesystem: copy, then rename within the store
                partial = Path(f"{target}.{secrets.token_hex(4)}.partial")
                shutil.copyfile(staged, partial)
                os.replace(partial, target)
                staged.unlink()
        else:
            with staged.open("rb") as src, self.fs.open_output_stream(target) as out:
                shutil.copyfileobj(src, out, CHUNK)
            staged.unlink()
        return digest, size, True

    def delete(self, digest: str) -> None:
        """Remove stored content (a publish that was refused after its content was stored)."""
        try:
            self.fs.delete_file(self.path(digest))
        except FileNotFoundError:
            pass

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store small content held in memory (a migration); ``(digest, size)``."""
        staged = self.new_staging_file()
        staged.write_bytes(data)
        return self.adopt(staged)[:2]

    def staging_usage(self) -> tuple[int, int]:
        """``(staged, free)``: bytes held by files in the staging directory, and bytes free on its
        filesystem."""
        staged = 0
        for path in self.staging.iterdir():
            try:
                staged += path.stat().st_size
            except FileNotFoundError:
                pass
        return staged, shutil.disk_usage(self.staging).free

    def sweep_staging(self, max_age_seconds: float) -> int:
        """Delete staged files untouched for ``max_age_seconds`` (abandoned uploads); the count."""
        now, gone = time.time(), 0
        for path in self.staging.glob("*"):
            try:
                if now - path.stat().st_mtime > max_age_seconds:
                    path.unlink()
                    gone += 1
            except FileNotFoundError:
                pass
        return gone

    # ---- reading ------------------------------------------------------------------------------

    def dataset(self, digest):
        """A ``pyarrow.dataset`` over a stored Parquet object, or over several (a list of digests:
        one dataset of their rows, e.g. a deployment's capture files), without pre-buffering (it
        would read the whole file ahead of the batches asked for)."""
        import pyarrow.dataset as ds

        fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))
        paths = [self.path(d) for d in digest] if isinstance(digest, (list, tuple)) else self.path(digest)
        return ds.dataset(paths, format=fmt, filesystem=self.fs)

    def chunks(self, digest: str, size: int = CHUNK, offset: int = 0) -> Iterator[bytes]:
        """The content in pieces of at most ``size`` bytes, from byte ``offset`` (a resumed download)."""
        with (self.fs.open_input_file if offset else self.fs.open_input_stream)(self.path(digest)) as f:
            if offset:
                f.seek(offset)
            while True:
                piece = f.read(size)
                if not piece:
                    return
                yield piece


def file_digest(path: Path) -> tuple[str, int]:
    """("sha256:<hex>", size in bytes) of a file, read in chunks."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while piece := f.read(CHUNK):
            h.update(piece)
            size += len(piece)
    return "sha256:" + h.hexdigest(), size


def _root_of(url: str) -> str:
    """The path part of a filesystem URL as pyarrow's filesystems name it (bucket/prefix)."""
    return url.split("://", 1)[1].split("?", 1)[0].rstrip("/")


def _remote(url: str, options: dict):
    """A pyarrow filesystem for ``url``: S3, GCS and ABFS natively (``options`` are the
    filesystem's keyword arguments), any other scheme through fsspec."""
    import pyarrow.fs as pafs

    scheme = url.split("://", 1)[0].lower()
    native = {"s3": "S3FileSystem", "gs": "GcsFileSystem", "gcs": "GcsFileSystem",
              "abfs": "AzureFileSystem", "abfss": "AzureFileSystem"}
    if scheme in native:
        return getattr(pafs, native[scheme])(**options)
    try:
        import fsspec
    except ImportError:
        raise ValueError(f"no filesystem for {scheme}:// URLs (install fsspec and its {scheme} driver)") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem(scheme, **options)))


def default_objects(store) -> ObjectStore:
    """A local object store for ``store`` (a ``store.db.Store``): ``objects/`` beside a SQLite
    file, else ``<Jupyter data dir>/mlgov/objects``."""
    from sqlalchemy.engine import make_url

    url = make_url(store.url)
    if store.is_sqlite and url.database and url.database != ":memory:":
        folder = Path(url.database).resolve().parent
    else:
        from jupyter_core.paths import jupyter_data_dir

        folder = Path(jupyter_data_dir()) / "mlgov"
    return ObjectStore(str(folder / "objects"), staging=folder / "uploads")


def move_blobs(store, objects: ObjectStore, batch: int = 16) -> int:
    """Move content kept in the database's ``blobs`` table (stores from before the object
    store) into ``objects``, checking each hash, and delete the rows; the number moved."""
    from sqlalchemy import delete, select

    from . import tables as t

    moved = 0
    while True:
        with store.transaction() as s:
            rows = s.execute(select(t.Blob).limit(batch)).scalars().all()
            if not rows:
                return moved
            for row in rows:
                digest, _size = objects.put_bytes(row.data)
                if digest != row.content_hash:
                    raise ValueError(f"blob {row.content_hash} holds content hashing to {digest}")
                s.execute(delete(t.Blob).where(t.Blob.content_hash == row.content_hash))
                moved += 1
