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
                roots = tuple(os.path.realpath(p) for p in self.prefixes if "://" not in p)
                return _filesystem(target, options, roots, self.private)
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
        except PermissionError:
            raise Forbidden(f"{location!r} leads to a file outside the locations the mlgov service may read") from None
        except (pa.ArrowException, OSError) as exc:
            if "leads outside the locations" in str(exc):
                raise Forbidden(f"{location!r} leads to a file outside the locations the mlgov service "
                                f"may read") from None
            # Arrow's text names files under the location: only the kind of error
            raise Invalid(f"cannot read {location!r} as {file_format} ({type(exc).__name__}): check that "
                          f"every file there is {file_format} with one schema") from None
        if not data.files:
            raise Invalid(f"no {file_format} files at {location!r}")
        if "://" not in location or location.startswith("file://"):
            self._check_local_files(location, data.files)  # and again at each open (_guarded_local)
        return data

    def _check_local_files(self, location: str, files: list) -> None:
        """Each file, symbolic links followed, must stay under an allowed prefix and outside the
        service's private directories (a link planted in a shared folder could point anywhere)."""
        roots = [os.path.realpath(p) for p in self.prefixes if "://" not in p]
        for f in files:
            real = os.path.realpath(f)
            if not _inside(real, roots) or _inside(real, self.private):
                raise Forbidden(f"{location!r} leads to a file outside the locations the mlgov service may read")

    def listing_hash(self, data) -> str:
        """A hash of the files' paths, sizes and modification times (local files: also inode and
        status-change time, which no one can set back as ``touch -r`` sets a modification time):
        it changes when the data does."""
        return _hash_of(data.filesystem, data.filesystem.get_file_info(sorted(data.files)))

    def has_files(self, location: str) -> bool:
        """Whether a ``pyarrow.dataset`` would find a file at ``location`` (a file, or one in its
        folder tree; names starting ``.`` or ``_`` skipped): listed, no byte of a file opened, so
        this is safe outside a decode worker. False also where the listing fails (a folder the
        service may not list). Forbidden outside every allowed prefix."""
        fs, path = self.resolve(location)
        try:
            return bool(_listed(fs, path, first=True))
        except OSError:  # pyarrow's errors of a listing (permission, not a directory) are OSErrors
            return False

    def remote_files(self, location: str) -> tuple:
        """``(options, files, listing)`` of registered data in an object store, listed but not
        read (no byte of a file is opened, so this is safe outside a decode worker): the
        filesystem options of its allowed prefix, the files a ``pyarrow.dataset`` would find
        there (``[(path, size_bytes)]``, sorted; names starting ``.`` or ``_`` are skipped, as
        pyarrow skips them) and the listing's hash (``listing_hash``'s). Invalid for a local
        path (it has no URL) or nothing there."""
        if "://" not in location or location.startswith("file://"):
            raise Invalid(f"{location!r} is a path on the service's machine: it has no URL")
        fs, path = self.resolve(location)
        options = next(o for p, o in self.prefixes.items()
                       if _normal(location, trailing=False) == p.rstrip("/")
                       or _normal(location, trailing=False).startswith(p))
        infos = _listed(fs, path)
        if not infos:
            raise Invalid(f"no files at {location!r}")
        # each file asked again, as listing_hash asks a dataset's files (a listing's times and a
        # file's own can differ in precision)
        infos = fs.get_file_info(sorted(i.path for i in infos))
        return options, [(i.path, i.size) for i in infos], _hash_of(fs, infos)


def _listed(fs, path: str, first: bool = False) -> list:
    """The ``FileInfo`` of each file a ``pyarrow.dataset`` finds at ``path`` (``first``: at most
    one, the listing stops there)."""
    import pyarrow.fs as pafs

    top = fs.get_file_info(path)
    if top.type == pafs.FileType.File:
        return [top]
    if top.type != pafs.FileType.Directory:
        return []
    infos = []
    for i in fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True)):
        if i.type == pafs.FileType.File \
                and not any(part.startswith((".", "_")) for part in i.path[len(path):].split("/")):
            infos.append(i)
            if first:
                break
    return infos


def _hash_of(fs, infos) -> str:
    import hashlib

    rows = sorted((i.path, i.size, str(i.mtime_ns)) for i in infos)
    if fs.type_name == "py::mlgov-guarded-local":
        rows = [row + _local_identity(row[0]) for row in rows]
    return "listing:" + hashlib.sha256(repr(rows).encode()).hexdigest()


def _local_identity(path: str) -> tuple:
    try:
        st = os.stat(path)
        return (st.st_ino, st.st_ctime_ns)
    except OSError:
        return (None, None)


def same_or_inside(a: str, b: str) -> bool:
    """Whether one of two locations is the other or lies inside it (after ``..`` and, for local
    paths, links are resolved): their data overlap."""
    def key(loc: str) -> str:
        try:
            out = _normal(loc, trailing=False)
        except Invalid:
            return loc
        if "://" not in out:
            out = os.path.realpath(out)
        return out.rstrip("/") + "/"

    ka, kb = key(a), key(b)
    return ka.startswith(kb) or kb.startswith(ka)


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


def _inside(real: str, roots) -> bool:
    return any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots)


def _guarded_local(roots: tuple, private: tuple):
    """A read-only local filesystem for pyarrow whose every open is checked on the file actually
    opened (its real path, read back from /proc/self/fd): under ``roots``, outside ``private``.
    A symbolic link swapped in after registration or between listing and reading is refused."""
    import pyarrow as pa
    import pyarrow.fs as pafs

    local = pafs.LocalFileSystem()

    class Handler(pafs.FileSystemHandler):
        def get_type_name(self):
            return "mlgov-guarded-local"

        def normalize_path(self, path):
            return path

        def get_file_info(self, paths):
            return local.get_file_info(paths)

        def get_file_info_selector(self, selector):
            return local.get_file_info(selector)

        def _open(self, path):
            fd = os.open(path, os.O_RDONLY)
            try:
                real = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                real = os.path.realpath(path)
            if not _inside(real, roots) or _inside(real, private) or os.fstat(fd).st_nlink > 1:
                # a hard link names another file too, which /proc does not show: refused
                os.close(fd)
                raise PermissionError(f"{path} leads outside the locations the mlgov service may read")
            return pa.PythonFile(os.fdopen(fd, "rb"), mode="r")

        def open_input_file(self, path):
            return self._open(path)

        def open_input_stream(self, path):
            return self._open(path)

        def _refuse(self, *args, **kwargs):
            raise PermissionError("registered external data is read-only")

        create_dir = delete_dir = delete_dir_contents = delete_root_dir_contents = _refuse
        delete_file = move = copy_file = open_output_stream = open_append_stream = _refuse

    return pafs.PyFileSystem(Handler())


def _filesystem(location: str, options: dict, roots: tuple = (), private: tuple = ()):
    from .objects import _remote, _root_of

    if "://" not in location or location.startswith("file://"):
        return _guarded_local(roots, private), location.removeprefix("file://")
    return _remote(location, options), _root_of(location)
