"""Credential vending: short-lived presigned URLs to a dataset revision's files (its Parquet object
in the service's S3 store, or each file of data registered on S3), for those who may read it
whole, when an administrator turns it on (``presigned_urls``, off by default).

A presigned URL lets its holder GET one object until it expires, without any credential of their
own (the service's credentials sign it, and stay with the service); whoever holds the URL can read
that file, and only it, so:

- only a grant (or membership) that covers the whole dataset gets one: a grant scoped by an asset
  filter is a 403 (columns and rows cannot be enforced on a raw file; ``use`` scans it instead);
- registered external data gets one URL per file listed under its location, only while the
  listing is the one registered (a file added there since is no part of the dataset: 409);
  data registered on a local path, GCS or ADLS gets none (409);
- the local-directory store is a 409 (there is nothing to sign a URL with);
- each vending is audited (``asset.vend``: asset, revision, files, expiry) in the transaction that
  authorized it; the URL expires after ``presigned_url_seconds`` (default 900, at most 3600).

URLs are signed by botocore (AWS's own SigV4 implementation; s3fs's ``sign`` is a wrapper around
the same call), offline: signing reads the service's credentials, contacts nobody and does not
check the object exists (the revision's record says it does).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .. import views
from ..core import authz
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from .base import Actor, ServiceBase
from .lifecycle import unpublished_message

DEFAULT_SECONDS = 900  # a presigned URL's life unless configured (15 minutes)
MAX_SECONDS = 3600  # the longest life a URL may be given (an hour)


class VendingService(ServiceBase):
    presigned_urls = False  # settings: presigned_urls (off: every vending is a 409)
    presigned_url_seconds = DEFAULT_SECONDS  # settings: presigned_url_seconds

    def presigned_urls_for(self, actor: Actor, name: str, revision: int | None = None,
                           expires: int | None = None) -> dict:
        """Presigned GET URLs to each file of a dataset revision (the latest by default): its
        Parquet object in the service's S3 store, or each file of registered external data on S3.

        ``expires``: seconds the URLs live (default ``presigned_url_seconds``, at most it and at
        most 3600). Returns ``{"name", "revision", "format" ("parquet" or "csv"), "expires_in"
        (seconds), "expires_at" (ISO 8601 UTC), "files": [{"url", "size_bytes", "content_hash"}]}``
        (external files: ``"path"``, the file's name under the registered location, in place of
        ``content_hash``), and ``deprecated`` (who, why, the replacement) for a deprecated asset.
        Forbidden (403) without the right to read the whole dataset (no grant, a grant scoped by
        an asset filter); Conflict (409) when vending is off, for the local-directory store or a
        store other than S3, for registered data not on S3 or changed since it was registered,
        and for content that is not a dataset; NotFound (404) for an unknown asset or revision;
        Invalid (400) for an ``expires`` out of range. Audited (``asset.vend``).

        The files are listed and signed outside the database transaction (an S3 listing can take
        a while); the transaction that audits the vending checks the right again."""
        seconds = self._vend_seconds(expires)
        with self.store.transaction(write=False) as s:
            rev = self._vendable(s, actor, name, revision)[1]
            number, digest, fmt, location = rev.revision, rev.content_hash, rev.format, rev.location
            size = rev.size_bytes
        if fmt.startswith("external-"):
            options, listed, listing = self._external_files(location)
            if "sha256:" + listing.split(":", 1)[1] != digest:
                raise Conflict(f"the data registered as {name!r} changed since it was registered (files added, "
                               f"removed or rewritten): its owner registers it again")
            sign = _signer(options, location)
            files = [{"url": sign(path, seconds), "size_bytes": nbytes,
                      "path": path[len(_root(location)):].lstrip("/") or path.rsplit("/", 1)[-1]}
                     for path, nbytes in listed]
            audited = {"listing": digest, "file_count": len(files)}
        else:
            objects = self.objects_store()
            if objects.is_local:
                raise Conflict("the local store cannot vend URLs (presigned URLs need an S3 object store: objects_url)")
            sign = _signer(objects.options, objects.url)
            files = [{"url": sign(objects.path(digest), seconds), "size_bytes": size, "content_hash": digest}]
            audited = {"files": [digest]}
        expires_at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        with self.store.transaction() as s:
            a, rev, pname, grant = self._vendable(s, actor, name, number)
            if rev.content_hash != digest:
                raise Conflict(f"{name!r} revision {number} changed while its URLs were signed: ask again")
            detail = {"project": pname, "revision": rev.revision, **audited,
                      "expires_at": expires_at.isoformat(timespec="seconds"), "seconds": seconds,
                      "grant": grant.id if grant else None}
            self._audit(s, actor, "asset.vend", "asset", a.name, detail)
            answer = {"name": a.name, "revision": rev.revision, "format": fmt.removeprefix("external-"),
                      "expires_in": seconds, "expires_at": detail["expires_at"], "files": files}
            if a.deprecated_at is not None:  # the client warns, naming the replacement
                answer["deprecated"] = views.lifecycle(a)["deprecated"]
            return answer

    def _vendable(self, s, actor: Actor, name: str, revision: int | None) -> tuple:
        """``(asset, revision row, project name, grant)`` if ``actor`` may be vended URLs to it:
        every check but the store's (see ``presigned_urls_for`` for the errors)."""
        a = self._asset(s, name)
        if not a.listed:
            raise NotFound(unpublished_message(a))
        pname = self._project_names(s)[a.project_id]
        grant = self._active_grant(s, a.id, actor.name)
        principal = self._authorize_consume(s, actor, a, pname)  # the reason and what would help, as use()
        number = revision or a.latest_revision
        rev = next((r for r in self._revisions(s, a.id) if r.revision == number), None)
        if rev is None:
            raise NotFound(f"asset {a.name!r} has no revision {number} (latest is {a.latest_revision})")
        if rev.classification and rev.classification != a.classification:
            # an old revision keeps what it was published under: its own classification applies too
            self._authorize(s, actor, authz.CATALOG_CONSUME, self._consume_resource(
                s, a, pname, actor.name, classification=rev.classification))
        scope = self._scope(s, grant)
        if scope is not None and not self._may_read_data(s, principal, a, pname):
            raise Forbidden(f"your grant on {a.name!r} is scoped by asset filter {scope.name!r}: its columns "
                            f"and rows cannot be enforced on a raw file, so no URL is vended; use it (a scan)")
        if not (rev.format == "parquet" or rev.format.startswith("external-")) or not rev.content_hash:
            raise Conflict(f"{a.name!r} revision {rev.revision} is not a dataset ({rev.format}): "
                           f"URLs are vended for datasets only")
        if not self.presigned_urls:
            raise Conflict("this server does not vend presigned URLs (an administrator turns them on: "
                           "presigned_urls)")
        return a, rev, pname, grant

    def _external_files(self, location: str) -> tuple:
        """``(filesystem options, [(path, size)], listing hash)`` of registered data on S3."""
        if "://" not in location or location.startswith("file://"):
            raise Conflict("registered data on a path of the service's machine has no URL to vend; use it (a scan)")
        try:
            return self.external_locations().remote_files(location)
        except Invalid as exc:
            raise Conflict(f"no URL is vended for this registered data: {exc}") from None
        except OSError as exc:  # the listing failed (the store's own text may name other paths)
            raise Conflict(f"the registered location cannot be listed now ({type(exc).__name__}); "
                           f"try again later") from None

    def _vend_seconds(self, expires: int | None) -> int:
        longest = min(int(self.presigned_url_seconds), MAX_SECONDS)
        if expires is None:
            return longest
        if not 1 <= expires <= longest:
            raise Invalid(f"expires must be 1 to {longest} seconds (presigned_url_seconds), not {expires}")
        return int(expires)


def _signer(options: dict, url: str):
    """``sign(path, seconds) -> url`` for an S3 location (``url``) with pyarrow S3FileSystem
    ``options``: Conflict for another scheme."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("s3", "s3a"):
        raise Conflict(f"presigned URLs are vended for S3 only, not {scheme}://")
    try:
        import botocore.session
        from botocore.config import Config
    except ImportError:
        raise Conflict("presigned URLs need botocore on the server (pip install 'mlgov-jupyter[s3]')") from None
    options = _client_options(options)
    # path-style URLs for an endpoint of one's own (MinIO and the like); AWS's default otherwise
    style = {"s3": {"addressing_style": "path"}} if "endpoint_url" in options else {}
    client = botocore.session.get_session().create_client(
        "s3", config=Config(signature_version="s3v4", **style), **options)

    def sign(path: str, seconds: int) -> str:
        bucket, _, key = path.partition("/")
        return client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                             ExpiresIn=seconds)

    return sign


def _root(location: str) -> str:
    """A location's ``bucket/prefix`` as pyarrow names its files."""
    return location.split("://", 1)[1].rstrip("/")


def _client_options(options: dict) -> dict:
    """botocore's client arguments from the store's pyarrow S3FileSystem options (``access_key``,
    ``secret_key``, ``session_token``, ``region``, ``endpoint_override``, ``scheme``); without
    keys botocore finds the service's credentials as pyarrow does (environment, profile, role)."""
    out = {}
    for ours, theirs in (("access_key", "aws_access_key_id"), ("secret_key", "aws_secret_access_key"),
                         ("session_token", "aws_session_token"), ("region", "region_name")):
        if options.get(ours):
            out[theirs] = options[ours]
    endpoint = options.get("endpoint_override")
    if endpoint:
        out["endpoint_url"] = endpoint if "://" in endpoint else f"{options.get('scheme') or 'https'}://{endpoint}"
    out.setdefault("region_name", "us-east-1")
    return out
