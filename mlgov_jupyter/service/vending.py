"""Credential vending: short-lived presigned URLs to a dataset revision's Parquet file, for those
who may read it whole, when an administrator turns it on (``presigned_urls``, off by default).

A presigned URL lets its holder GET one object of the service's S3 bucket until it expires,
without any credential of their own; whoever holds the URL can read the file, so:

- only a grant (or membership) that covers the whole dataset gets one: a grant scoped by an asset
  filter is a 403 (columns and rows cannot be enforced on a raw file; ``use`` scans it instead);
- registered external data is a 403 (the service reads it with credentials no user sees; vending
  it would hand out reads under those credentials);
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
        """Presigned GET URLs to each Parquet file of a dataset revision (the latest by default).

        ``expires``: seconds the URLs live (default ``presigned_url_seconds``, at most it and at
        most 3600). Returns ``{"name", "revision", "format": "parquet", "expires_in" (seconds),
        "expires_at" (ISO 8601 UTC), "files": [{"url", "size_bytes", "content_hash"}]}``, and
        ``deprecated`` (who, why, the replacement) for a deprecated asset.
        Forbidden (403) without the right to read the whole dataset (no grant, a grant scoped by
        an asset filter) or for registered external data; Conflict (409) when vending is off, for
        the local-directory store or another store than S3, and for content that is not a
        Parquet dataset; NotFound (404) for an unknown asset or revision; Invalid (400) for an
        ``expires`` out of range. Audited (``asset.vend``)."""
        seconds = self._vend_seconds(expires)
        objects = self.objects_store()
        with self.store.transaction() as s:
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
            if rev.format.startswith("external-"):
                raise Forbidden(f"{a.name!r} is registered data the service reads with its own credentials: "
                                f"no URL is vended for it; use it (a scan)")
            if rev.format != "parquet" or not rev.content_hash:
                raise Conflict(f"{a.name!r} revision {rev.revision} is not a Parquet dataset ({rev.format}): "
                               f"URLs are vended for datasets only")
            if not self.presigned_urls:
                raise Conflict("this server does not vend presigned URLs (an administrator turns them on: "
                               "presigned_urls)")
            signer = _signer(objects)
            expires_at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
            files = [{"url": signer(objects.path(rev.content_hash), seconds), "size_bytes": rev.size_bytes,
                      "content_hash": rev.content_hash}]
            detail = {"project": pname, "revision": rev.revision, "files": [rev.content_hash],
                      "expires_at": expires_at.isoformat(timespec="seconds"), "seconds": seconds,
                      "grant": grant.id if grant else None}
            self._audit(s, actor, "asset.vend", "asset", a.name, detail)
            answer = {"name": a.name, "revision": rev.revision, "format": "parquet", "expires_in": seconds,
                      "expires_at": detail["expires_at"], "files": files}
            if a.deprecated_at is not None:  # the client warns, naming the replacement
                answer["deprecated"] = views.lifecycle(a)["deprecated"]
            return answer

    def _vend_seconds(self, expires: int | None) -> int:
        longest = min(int(self.presigned_url_seconds), MAX_SECONDS)
        if expires is None:
            return longest
        if not 1 <= expires <= longest:
            raise Invalid(f"expires must be 1 to {longest} seconds (presigned_url_seconds), not {expires}")
        return int(expires)


def _signer(objects):
    """``sign(path, seconds) -> url`` for the object store: S3 only (Conflict otherwise)."""
    if objects.is_local:
        raise Conflict("the local store cannot vend URLs (presigned URLs need an S3 object store: objects_url)")
    scheme = objects.url.split("://", 1)[0].lower()
    if scheme not in ("s3", "s3a"):
        raise Conflict(f"presigned URLs are vended for S3 object stores only, not {scheme}://")
    try:
        import botocore.session
        from botocore.config import Config
    except ImportError:
        raise Conflict("presigned URLs need botocore on the server (pip install 'mlgov-jupyter[s3]')") from None
    options = _client_options(objects.options)
    # path-style URLs for an endpoint of one's own (MinIO and the like); AWS's default otherwise
    style = {"s3": {"addressing_style": "path"}} if "endpoint_url" in options else {}
    client = botocore.session.get_session().create_client(
        "s3", config=Config(signature_version="s3v4", **style), **options)

    def sign(path: str, seconds: int) -> str:
        bucket, _, key = path.partition("/")
        return client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                             ExpiresIn=seconds)

    return sign


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
