"""Registered external data: datasets that stay where they are (an S3/GCS/ADLS prefix, a shared
directory) and are read by the service with its own credentials, which no user ever sees.

Only locations under a prefix the administrator allowed can be registered
(``c.MlgovApp.external_locations = {"s3://lake/curated/": {"region": "eu-west-1"}, "/data/shared/": {}}``):
otherwise anyone who may publish could make the service read its own private files.
"""

from __future__ import annotations

import os
import posixpath

from ..core.errors import Forbidden, Invalid

FORMATS = ("parquet", "csv")


class ExternalLocations:
    """The allowed prefixes, each with its filesystem's keyword arguments."""

    def __init__(self, prefixes: dict | None = None, private: tuple = ()):
        """``private``: local directories never readable this way (the service's own data)."""
        self.prefixes = {_normal(p, trailing=True): dict(o or {}) for p, o in (prefixes or {}).items()}
        self.private = tuple(os.path.realpath(p) for p in private)

    def resolve(self, location: str):
        """``(filesystem, path)`` of ``location``; Forbidden outside every allowed prefix."""
        if not isinstance(location, str) or not location or "\x00" in location:
            raise Invalid("an external dataset needs a location")
        target = _normal(location, trailing=False)
        for prefix, options in self.prefixes.items():
            if target == prefix.rstrip("/") or target.startswith(prefix):
                return _filesystem(target, options)
        allowed = ", ".join(self.prefixes) or "none are configured (c.MlgovApp.external_locations)"
        raise Forbidden(f"{location!r} is not under a location the mlgov service may read ({allowed})")

    def dataset(self, location: str, file_format: str):
        """A ``pyarrow.dataset`` over the location's files; Invalid if nothing readable is there."""
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs

        if file_format not in FORMATS:
            raise Invalid(f"an external dataset is parquet or csv, not {file_format!r}")
        fs, path = self.resolve(location)
        fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False)) \
            if file_format == "parquet" else "csv"
        try:
            data = ds.dataset(path, format=fmt, filesystem=fs, exclude_invalid_files=False)
        except (pa.ArrowException, OSError) as exc:
            raise Invalid(f"cannot read {location!r} as {file_format}: {str(exc).splitlines()[0]}") from None
        if not data.files:
            raise Invalid(f"no {file_format} files at {location!r}")
        if isinstance(fs, pafs.LocalFileSystem):
            self._check_local_files(location, data.files)
        return data

    def _check_local_files(self, location: str, files: list) -> None:
        """Each file, symbolic links followed, must stay under an allowed prefix and outside the
        service's private directories (a link planted in a shared folder could point anywhere)."""
        roots = [os.path.realpath(p) for p in self.prefixes if "://" not in p]
        for f in files:
            real = os.path.realpath(f)
            inside = any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots)
            private = any(real == p or real.startswith(p.rstrip("/") + "/") for p in self.private)
            if not inside or private:
                raise Forbidden(f"{location!r} leads to a file outside the locations the mlgov service may read")

    def listing_hash(self, data) -> str:
        """A hash of the files' paths, sizes and modification times: it changes when the data does."""
        import hashlib

        fs = data.filesystem
        infos = sorted((i.path, i.size, str(i.mtime_ns)) for i in fs.get_file_info(sorted(data.files)))
        return "listing:" + hashlib.sha256(repr(infos).encode()).hexdigest()


def _normal(location: str, trailing: bool) -> str:
    """A URL or path with ``..`` and ``.`` resolved (so ``/data/shared/../../etc`` is ``/etc``)."""
    scheme, sep, rest = location.partition("://")
    if not sep:
        scheme, rest = "", location
    path = posixpath.normpath("/" + rest.lstrip("/")) if not sep else posixpath.normpath(rest)
    if sep and (path.startswith("..") or path == "."):
        raise Invalid(f"not a location: {location!r}")
    out = f"{scheme}://{path.lstrip('/')}" if sep else path
    return out.rstrip("/") + "/" if trailing else out


def _filesystem(location: str, options: dict):
    import pyarrow.fs as pafs

    from .objects import _remote, _root_of

    if "://" not in location or location.startswith("file://"):
        return pafs.LocalFileSystem(), location.removeprefix("file://")
    return _remote(location, options), _root_of(location)
