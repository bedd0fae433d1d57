"""Catalog operations: projects, publish, search, read, access requests, subscriptions."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .. import views
from ..core import authz, json_text, row_filters
from ..core import models as m
from ..core.authz import Resource
from ..core.catalog import scan_batch_rows
from ..core.errors import Conflict, Forbidden, GovernanceError, Invalid, NotFound, TooLarge
from ..core.roles.catalog import CLASSIFICATION_RANK
from ..core.model_trust import unpublishable_types
from ..store import tables as t
from .asset_filters import AssetFilterService, narrows
from .base import Actor, ServiceBase
from .content_refs import delete_unreferenced, hold_content
from .lifecycle import unpublished_message
from .locks import lock_listed, lock_rows
from .search import SearchService
from .uploads import taken_digest

# bytes per piece of a content download (Parquet file, model, file): each piece is held until its
# reader takes it, so a slow reader holds about this much (the read-back chunk of objects is 8 MiB)
DOWNLOAD_CHUNK = 1 << 20


class CatalogService(SearchService, AssetFilterService, ServiceBase):
    # ---- identity and projects ---------------------------------------------------------------

    def whoami(self, actor: Actor) -> dict:
        with self.store.transaction(write=False) as s:
            p = self._principal(s, actor)
            return {"name": actor.name, "display_name": actor.display_name or actor.name,
                    "is_admin": p.is_admin, "groups": list(actor.groups),
                    "presigned_urls": bool(self.presigned_urls),  # the server vends URLs (vending.py)
                    "projects": [{"name": k, "designation": v}
                                 for k, v in sorted(p.designations.items())]}

    def list_projects(self, actor: Actor) -> dict:
        with self.store.transaction(write=False) as s:
            self._authorize(s, actor, authz.PROJECT_READ, Resource(type="project"))
            projects = s.execute(select(t.Project).order_by(t.Project.name)).scalars().all()
            return {"projects": [views.project(p, self._members(s, p.id)) for p in projects]}

    def create_project(self, actor: Actor, body: m.ProjectCreate) -> dict:
        with self.store.transaction() as s:
            p = self._create_project(s, actor, body.name, body.description)
            return views.project(p, self._members(s, p.id))

    def _create_project(self, s: Session, actor: Actor, name: str, description: str) -> t.Project:
        self._authorize(s, actor, authz.PROJECT_CREATE, Resource(type="project", name=name))
        if s.execute(select(t.Project.id).where(t.Project.name == name)).first():
            raise Conflict(f"project {name!r} already exists")
        p = t.Project(name=name, description=description, created_by=actor.name)
        s.add(p)
        s.flush()
        s.add(t.Membership(project_id=p.id, user=actor.name, designation="owner"))
        self._audit(s, actor, "project.create", "project", name, {"description": description, "project": name})
        s.flush()
        return p

    def set_member(self, actor: Actor, project: str, body: m.MemberSet) -> dict:
        with self.store.transaction() as s:
            p = self._locked_project(s, project)
            self._authorize(s, actor, authz.PROJECT_MANAGE, Resource(type="project", name=project,
                                                                     project=project))
            row = s.execute(select(t.Membership).where(t.Membership.project_id == p.id,
                                                       t.Membership.user == body.user)).scalar_one_or_none()
            if row is None:
                s.add(t.Membership(project_id=p.id, user=body.user, designation=body.designation))
            else:
                if body.designation != "owner":
                    self._keep_an_owner(s, p, row, f"make {body.user} {body.designation}")
                row.designation = body.designation
            self._audit(s, actor, "project.member.set", "project", project,
                        {"user": body.user, "designation": body.designation, "project": project})
            s.flush()
            return views.project(p, self._members(s, p.id))

    def remove_member(self, actor: Actor, project: str, user: str) -> dict:
        with self.store.transaction() as s:
            p = self._locked_project(s, project)
            self._authorize(s, actor, authz.PROJECT_MANAGE, Resource(type="project", name=project,
                                                                     project=project))
            row = s.execute(select(t.Membership).where(t.Membership.project_id == p.id,
                                                       t.Membership.user == user)).scalar_one_or_none()
            if row is None:
                raise NotFound(f"{user} is not a member of project {project}")
            self._keep_an_owner(s, p, row, f"remove {user}")
            self._audit(s, actor, "project.member.remove", "project", project,
                        {"user": user, "designation": row.designation, "project": project})
            s.delete(row)
            s.flush()
            return views.project(p, self._members(s, p.id))

    def _locked_project(self, s: Session, name: str) -> t.Project:
        """Project ``name`` with its row locked until the transaction ends (PostgreSQL; SQLite
        serializes writers): membership changes of one project run one after the other, so the
        caller's designation and "another owner is left" are read after the last change, never
        both passed at once by two owners demoting each other. NotFound if there is none."""
        p = s.execute(select(t.Project).where(t.Project.name == name).with_for_update()).scalar_one_or_none()
        if p is None:
            raise NotFound(f"no project named {name!r} (see %mlgov projects)")
        return p

    def _keep_an_owner(self, s: Session, p: t.Project, row: t.Membership, what: str) -> None:
        """Conflict when ``row`` is the project's last owner: a project always keeps one."""
        if row.designation == "owner" and not any(
                m.designation == "owner" and m.id != row.id for m in self._members(s, p.id)):
            raise Conflict(f"cannot {what}: {row.user} is the last owner of project {p.name}; "
                           f"make someone else owner first")

    # ---- publish ------------------------------------------------------------------------------

    def publish(self, actor: Actor, body: m.Publish) -> dict:
        """A new asset, or a new revision of one. The content (an upload, or small base64 content)
        is checked and described from its staged file, stored in the object store under its hash,
        and only then recorded (the database keeps metadata, hash and size, never the bytes)."""
        if body.kind == "feature_group" and body.features is None:
            raise Invalid("a feature group needs features: record_id and event_time columns")
        staged = self._staged_content(actor, body)
        if body.format.startswith("external-"):
            self._check_may_publish(actor, body.name, body.project)
            self._check_external_location(actor, body)
            stored, described = self._describe_external(body)
            return self._record_publish(actor, body, stored, described)
        try:
            described = self._describe(body, staged) if staged is not None else None
            stored = self.objects_store().adopt(staged, taken_digest(staged)) if staged is not None else None
        finally:
            if staged is not None:
                staged.unlink(missing_ok=True)
        try:
            return self._record_publish(actor, body, stored[:2] if stored else None, described)
        except BaseException:
            if stored is not None and stored[2]:
                self._forget_unreferenced(stored[0])
            raise

    def _forget_unreferenced(self, digest: str) -> None:
        """Delete content this publish stored if no revision refers to it (the publish was
        refused after storing it): nobody fills the store with content nothing records."""
        with self.store.transaction() as s:
            delete_unreferenced(s, self.objects_store(), [digest])

    def _check_external_location(self, actor: Actor, body: m.Publish) -> None:
        """Before any byte of ``body.location`` is read: Forbidden outside the allowed prefixes
        (the configuration alone decides); NotFound with one message (``_nothing_to_register``)
        when nothing is listed there, or when it holds, or lies in, data registered by another
        project that the caller may not read whole (registering it again would read it without a
        grant, past its asset filters and classification). Both answers are the same, so a
        refusal never tells whether a guessed path exists or is someone's registered location
        (red team R13 P1-4); neither case reads a file (a listing only)."""
        from ..store.external import same_or_inside

        external = self.external_locations()
        external.resolve(body.location)
        if not external.has_files(body.location):
            raise NotFound(_nothing_to_register(body))
        project = body.project or actor.name
        with self.store.transaction(write=False) as s:
            names = self._project_names(s)
            rows = s.execute(select(t.AssetRevision.location, t.Asset)
                             .join(t.Asset, t.Asset.id == t.AssetRevision.asset_id)
                             .where(t.AssetRevision.format.like("external-%"))).all()
            principal = None
            for location, a in rows:
                if names[a.project_id] == project or not location \
                        or not same_or_inside(location, body.location):
                    continue
                principal = principal or self._principal(s, actor)
                if not self._may_read_data(s, principal, a, names[a.project_id]):
                    raise NotFound(_nothing_to_register(body))

    def _describe_external(self, body: m.Publish) -> tuple:
        """Registered data, read in place with the service's credentials, in a decode worker
        (store/decode_worker.py): a hash of its file listing (paths, sizes, times) stands for its
        content; schema and summary from one pass."""
        fmt = body.format.removeprefix("external-")
        described, listing = self.decoder().describe_external(body.location, fmt,
                                                              self.limits.publish_max_decoded_bytes)
        if described[2] > self.limits.publish_max_rows:
            raise TooLarge(f"{body.location!r} holds {described[2]} rows; at most "
                           f"{self.limits.publish_max_rows} may be registered (publish_max_rows)")
        return ("sha256:" + listing.split(":", 1)[1], None), described

    def _staged_content(self, actor: Actor, body: m.Publish):
        """The content as a staged file (None for a URI asset). The caller's right to publish is
        checked first, so nobody else makes the service read or store anything."""
        if body.format == "uri" or body.format.startswith("external-"):
            if not body.location:
                raise Invalid(f"a {body.format} asset needs a location")
            if body.content_b64 or body.upload:
                raise Invalid(f"a {body.format} asset carries no content")
            return None
        if bool(body.content_b64) == bool(body.upload):
            raise Invalid(f"a {body.format} asset needs content: an upload or content_b64 (one of them)")
        if body.upload:
            return self._take_upload(actor, body.upload, body.name)
        self._check_may_publish(actor, body.name, body.project)
        return self._stage_b64(actor, body)

    def _stage_b64(self, actor: Actor, body: m.Publish):
        staged = self.objects_store().new_staging_file()
        try:
            staged.write_bytes(base64.b64decode(body.content_b64, validate=True))
        except (binascii.Error, ValueError):
            staged.unlink(missing_ok=True)
            raise Invalid("content_b64 is not valid base64") from None
        return staged

    def _describe(self, body: m.Publish, staged) -> tuple | None:
        if body.format == "parquet":
            # decoded in a worker process with a memory limit: a footer may lie about what it holds
            return self.decoder().describe_parquet(str(staged), self.limits.publish_max_rows,
                                                   self.limits.publish_max_decoded_bytes)
        if body.format == "skops":
            _check_skops(staged)
        return None

    def _record_publish(self, actor: Actor, body: m.Publish, stored: tuple | None, described: tuple | None) -> dict:
        with self.store.transaction() as s:
            project_name = body.project or actor.name
            # the project and the asset of that name (in any project) in one round trip
            found = s.execute(select(t.Project, t.Asset).outerjoin(t.Asset, t.Asset.name == body.name)
                              .where(t.Project.name == project_name)).first()
            p, a = found if found is not None else (None, None)
            if p is None:
                if body.project is not None:
                    raise NotFound(f"no project named {project_name!r} (create it with "
                                   f"%mlgov projects --new {project_name})")
                p = self._create_project(s, actor, project_name, f"{actor.name}'s own project")
                a = s.execute(select(t.Asset).where(t.Asset.name == body.name)).scalar_one_or_none()
            elif body.project is None and p.created_by != actor.name:
                # someone else took the name: a default publish must never land in their project
                raise Conflict(f"the project named {actor.name!r} was created by {p.created_by}, not by "
                               f"you: publish into one of your projects with --project")
            new = a is None
            if a is not None:  # a new revision: its row locked and re-read, as unpublish locks it
                lock_rows(s, a)
            if a is not None and a.project_id != p.id:
                raise Conflict(f"asset {body.name!r} already belongs to another project")
            if a is not None and a.kind != body.kind:
                raise Conflict(f"asset {body.name!r} is a {a.kind}, not a {body.kind}")
            if a is not None and not a.listed:  # a tombstone keeps its name and its trail
                raise Conflict(f"{unpublished_message(a)}; its name is not reused: publish under another name")
            # a new revision keeps the asset's metadata unless the body gives it
            old_class = a.classification if a is not None else None
            classification = body.classification or old_class or "internal"
            principal = self._authorize(s, actor, authz.CATALOG_PUBLISH,
                                        Resource(type="asset", name=body.name, project=p.name,
                                                 classification=classification))
            if old_class and CLASSIFICATION_RANK[classification] < CLASSIFICATION_RANK[old_class] \
                    and not principal.is_admin and principal.designations.get(p.name) not in ("owner", "steward"):
                raise Forbidden(f"{actor.name} may not lower the classification of {body.name!r} from "
                                f"{old_class} to {classification}: only owners and stewards of project "
                                f"{p.name} may")
            rev = self._revision(actor, body, stored, described)
            rev.classification = classification
            if stored is not None and not body.format.startswith("external-"):
                hold_content(s, self.objects_store(), rev.content_hash)  # not deleted under us
            if body.kind == "feature_group":
                _check_features(body.features, rev.schema)
            now = datetime.now(timezone.utc)
            if a is None:
                a = t.Asset(name=body.name, kind=body.kind, project_id=p.id, owner=actor.name,
                            created_at=now, latest_revision=0)
                s.add(a)
                a.description, a.tags, a.glossary_terms = "", [], []
            if body.description is not None:
                a.description = body.description
            if body.tags is not None:
                a.tags = list(dict.fromkeys(body.tags))
            if body.glossary_terms is not None:
                a.glossary_terms = list(dict.fromkeys(body.glossary_terms))
            a.classification = classification
            a.latest_revision, a.updated_at = a.latest_revision + 1, now
            if not self.store.is_sqlite:  # in the asset's INSERT (or UPDATE), not an UPDATE after it
                a.search_text = _search_text(_index_fields(a, rev))
            s.flush()
            rev.asset_id, rev.revision = a.id, a.latest_revision
            s.add(rev)
            self._index(s, a, rev)
            if old_class and old_class != classification:
                self._audit(s, actor, "asset.classify", "asset", a.name,
                            {"old": old_class, "new": classification, "revision": rev.revision,
                             "project": p.name})
            self._audit(s, actor, "asset.publish", "asset", a.name,
                        {"revision": rev.revision, "kind": a.kind, "project": p.name,
                         "content_hash": rev.content_hash, "classification": a.classification})
            s.flush()
            revs = [rev] if new else self._revisions(s, a.id)  # a new asset has this revision only
            return views.asset_detail(a, p.name, revs, "owner")

    def _revision(self, actor: Actor, body: m.Publish, stored: tuple | None,
                  described: tuple | None) -> t.AssetRevision:
        rev = t.AssetRevision(format=body.format, location=body.location, filename=body.filename,
                              created_by=actor.name, schema=[], summary={},
                              features=body.features.model_dump() if body.features else {})
        if stored is not None:
            rev.content_hash, rev.size_bytes = stored
        if described is not None:
            rev.schema, rev.summary, rev.row_count = described
        return rev

    def _index(self, s: Session, a: t.Asset, rev: t.AssetRevision) -> None:
        """Keep the full-text index current: SQLite's FTS5 table, or (other databases) the
        search_text column under PostgreSQL's GIN tsvector index."""
        fields = _index_fields(a, rev)
        if not self.store.is_sqlite:
            a.search_text = _search_text(fields)  # unchanged when publish set it before its flush
            return
        s.execute(text("DELETE FROM asset_fts WHERE rowid = :id"), {"id": a.id})
        s.execute(text("INSERT INTO asset_fts (rowid, name, description, tags, columns, glossary) "
                       "VALUES (:id, :name, :description, :tags, :columns, :glossary)"), fields)

    def _revisions(self, s: Session, asset_id: int) -> list[t.AssetRevision]:
        return list(s.execute(select(t.AssetRevision).where(t.AssetRevision.asset_id == asset_id)
                              .order_by(t.AssetRevision.revision)).scalars())

    # ---- read (search: service/search.py) -----------------------------------------------------

    def get_asset(self, actor: Actor, name: str) -> dict:
        with self.store.transaction(write=False) as s:
            a = self._asset(s, name)
            pname = self._project_names(s)[a.project_id]
            principal = self._authorize(s, actor, authz.CATALOG_READ, self._asset_resource(a, pname))
            if not a.listed and not (principal.is_admin or pname in principal.designations):
                raise NotFound(unpublished_message(a))  # its tombstone: for its project and admins
            reveal = self._may_read_data(s, principal, a, pname)
            out = views.asset_detail(a, pname, self._revisions(s, a.id), self._access(s, principal, a, pname),
                                     reveal=reveal)
            scope = None if reveal else self._scope(s, self._active_grant(s, a.id, actor.name))
            if scope is not None:
                out["asset_filter"] = scope.name
                if scope.rows is None:  # a summary over rows outside the scope would tell their values
                    summary = self._revisions(s, a.id)[-1].summary or {}
                    out["summary"] = {c: summary[c] for c in scope.columns if c in summary}
            return out

    def read_data(self, actor: Actor, name: str, revision: int | None = None, columns=None,
                  row_filter=None, form: str = "arrow", start: int | None = None,
                  offset: int | None = None) -> tuple[dict, Iterator[bytes] | None]:
        """The content of an asset revision, only for its project or a grant holder. Audited.

        A dataset comes as an Arrow IPC stream of a scan (``columns``: a list of names or its
        JSON; ``row_filter``: see core/row_filters.py), or with ``form="parquet"`` as its stored
        Parquet file; a model or file as stored. Returns ``(meta, chunks)``: meta has ``rows``
        for a scan; chunks is an iterator of bytes (None for a URI asset). Invalid for columns or
        a filter the data does not have, before anything is sent. A resumed read (red team R14
        finding 5), authorized and audited afresh like the first: ``start`` skips that many rows
        of a scan's output (same revision, columns and filter: same rows, same order), ``offset``
        that many bytes of a whole file (meta ``range``: ``[offset, size]``); Invalid for the
        other kind, or an offset past the end."""
        wanted = _columns(columns)
        expression_terms = row_filters.normalise(row_filter)
        objects = self.objects_store()  # before the transaction: its first use may move old blobs
        # a scan's worker is leased before the transaction: waiting for a read slot must not hold
        # the store (a write transaction locks SQLite for everyone)
        leased = {"worker": self._scan_worker(name, revision, form)}  # the scan takes it out
        try:
            return self._read_data(actor, name, revision, wanted, expression_terms, form, objects, leased,
                                   start or 0, offset or 0)
        finally:
            if leased.get("worker") is not None:  # refused, or not a scan after all
                self.decoder().release_unused(leased["worker"])

    def _scan_worker(self, name: str, revision: int | None, form: str):
        """A decode worker leased for ``read_data`` when the revision it names is read by a scan
        (None otherwise, and for names that do not resolve: the read itself says why). Nothing is
        authorized here; the read is, in its transaction."""
        try:
            with self.store.transaction(write=False) as s:
                ref, number, _ = self._model_ref(s, name, revision)
                a = self._asset(s, ref)
                number = number or a.latest_revision
                fmt = s.execute(select(t.AssetRevision.format).where(
                    t.AssetRevision.asset_id == a.id, t.AssetRevision.revision == number)).scalar()
        except GovernanceError:
            return None
        if fmt and (fmt.startswith("external-") or fmt == "capture" or (fmt == "parquet" and form == "arrow")):
            return self.decoder().lease_read()
        return None

    def _read_data(self, actor: Actor, name: str, revision, wanted, expression_terms, form: str, objects,
                   leased: dict, start: int = 0, offset: int = 0) -> tuple[dict, Iterator[bytes] | None]:
        from ..store.scan import ARROW_STREAM

        with self.store.transaction() as s:
            # a model revision may be named by its alias: NAME@ALIAS (service/model_versions.py)
            name, revision, alias = self._model_ref(s, name, revision)
            a = self._asset(s, name)
            if not a.listed:
                raise NotFound(unpublished_message(a))
            pname = self._project_names(s)[a.project_id]
            grant = self._active_grant(s, a.id, actor.name)
            principal = self._authorize_consume(s, actor, a, pname)
            revs = self._revisions(s, a.id)
            number = revision or a.latest_revision
            rev = next((r for r in revs if r.revision == number), None)
            if rev is None:
                raise NotFound(f"asset {name!r} has no revision {number} (latest is {a.latest_revision})")
            if rev.classification and rev.classification != a.classification \
                    and CLASSIFICATION_RANK[rev.classification] > CLASSIFICATION_RANK[a.classification]:
                # an old revision keeps what it was published under: the higher of the two applies
                self._authorize(s, actor, authz.CATALOG_CONSUME, self._consume_resource(
                    s, a, pname, actor.name, classification=rev.classification))
            # a grant scoped by an asset filter limits what the scan returns, unless the caller
            # may read the whole asset anyway (its project, a role)
            scope = self._scope(s, grant)
            if scope is not None and self._may_read_data(s, principal, a, pname):
                scope = None
            if scope is not None:
                if rev.format not in ("parquet", "capture", "external-parquet", "external-csv") or form != "arrow":
                    raise Forbidden(f"your grant on {name!r} is scoped by asset filter {scope.name!r}: "
                                    f"read it as a dataset scan (use)")
                wanted, expression_terms = scope.columns_for(wanted), scope.rows_for(expression_terms)
            meta = {"name": a.name, "kind": a.kind, "revision": rev.revision, "format": rev.format,
                    "content_hash": rev.content_hash, "location": rev.location,
                    "filename": rev.filename, "features": rev.features or None}
            if scope is not None:
                meta["asset_filter"] = scope.name
            if a.deprecated_at is not None:  # the client warns, naming the replacement
                meta["deprecated"] = views.lifecycle(a)["deprecated"]
            detail = {"revision": rev.revision, "content_hash": rev.content_hash,
                      "grant": grant.id if grant else None, "project": pname}
            if a.kind == "model":  # the project's model_approval gate: a 403, or a warning in meta
                gate = self._model_gate(s, a, rev, pname, actor)
                meta.update(gate, alias=alias)
                detail.update(approval_status=gate["approval_status"], alias=alias)
            if scope is not None:
                detail["asset_filter"] = scope.name
            chunks = None
            if rev.format.startswith("external-") or rev.format == "capture" \
                    or (rev.format == "parquet" and form == "arrow"):
                if form != "arrow":
                    raise Invalid(f"{'captured' if rev.format == 'capture' else 'registered external'} data is "
                                  "read as an Arrow stream (format=arrow)")
                if offset:
                    raise Invalid("a dataset scan resumes with start (rows received), not a byte offset or Range")
                batch_rows = scan_batch_rows(rev.summary or {}, rev.schema or [])
                text_max = {k: v.get("max_length") for k, v in (rev.summary or {}).items() if "max_length" in v}
                # user-supplied Parquet (published, captured by serving code, registered):
                # decoded in a worker process with a memory limit
                if rev.format == "parquet":
                    source = {"digest": rev.content_hash}
                elif rev.format == "capture":  # every batch its deployment's capturers sent
                    digests, batch_rows, text_max = self._capture_digests(s, a)
                    source = {"digest": digests}
                else:  # the worker checks the listing is still the one registered (409 otherwise)
                    source = {"location": rev.location, "format": rev.format.removeprefix("external-"),
                              "listing": "listing:" + rev.content_hash.split(":", 1)[1]}
                scan = self.decoder().scan(source, wanted, expression_terms, batch_rows=batch_rows,
                                           text_max=text_max, worker=leased.pop("worker", None), start=start)
                meta.update(media_type=ARROW_STREAM, rows=scan.rows())
                if rev.format != "parquet":
                    meta["location"] = None
                if scope is not None:  # the whole file's hash would confirm a guess of hidden values
                    meta["content_hash"] = None
                detail.update({k: v for k, v in (("columns", wanted), ("filter", expression_terms),
                                                 ("start", start)) if v})
                chunks = scan.ipc_chunks()
            elif wanted is not None or expression_terms is not None:
                raise Invalid("columns and filter apply to a dataset read as an Arrow stream (format=arrow)")
            elif start:
                raise Invalid("start (rows received) resumes a dataset scan (format=arrow); a file resumes "
                              "from a byte offset (offset, or the header Range: bytes=N-)")
            elif rev.content_hash:
                size = objects.size(rev.content_hash)  # Invalid if missing: a 400, not a cut stream
                if offset:
                    if offset > size:
                        raise Invalid(f"offset {offset} is past the end of this content ({size} bytes)")
                    meta["range"] = [offset, size]
                    detail["offset"] = offset
                chunks = objects.chunks(rev.content_hash, DOWNLOAD_CHUNK, offset)
            self._audit(s, actor, "asset.consume", "asset", name, detail)
            return meta, chunks

    # ---- access requests, subscriptions, grants -----------------------------------------------

    def request_access(self, actor: Actor, body: m.AccessRequestCreate) -> dict:
        with self.store.transaction() as s:
            a = self._asset(s, body.asset)
            # its row locked (and re-read) until commit: two requests by one user at the same
            # instant run one after the other, the second sees the first pending (409), and an
            # unpublish in flight is seen (PostgreSQL's READ COMMITTED; SQLite serializes writers)
            lock_listed(s, a)
            pname = self._project_names(s)[a.project_id]
            principal = self._authorize(s, actor, authz.CATALOG_SUBSCRIBE, self._asset_resource(a, pname))
            access = self._access(s, principal, a, pname)
            if access in ("owner", "steward", "member"):
                raise Conflict(f"you already have access to {a.name!r} as {access} of project {pname}: "
                               f"use it (%mlgov use {a.name}), no request needed")
            if access == "granted":
                raise Conflict(f"you already hold a grant on {a.name!r}")
            if access == "pending":
                raise Conflict(f"you already have a pending request for {a.name!r}")
            asked = self._filter(s, a, body.filter, lock=True) if body.filter else None  # vs its delete
            r = t.AccessRequest(asset_id=a.id, requester=actor.name, reason=body.reason,
                                requester_groups=list(actor.groups), filter_id=asked.id if asked else None)
            s.add(r)
            s.flush()
            detail = {"asset": a.name, "reason": body.reason, "project": pname}
            if asked is not None:
                detail["asset_filter"] = asked.name
            self._audit(s, actor, "access.request", "request", r.id, detail)
            self._notify(s, "access.requested", project=pname, users=self._deciders(s, a.project_id, a.owner),
                         subject=f"{actor.name} asks for access to {a.name}",
                         payload={"request": r.id, "asset": a.name, "requester": actor.name,
                                  "reason": body.reason, "asset_filter": detail.get("asset_filter")})
            return views.access_request(r, a, pname, asked.name if asked else None)

    def _mine_or_incoming(self, s: Session, actor: Actor, incoming: bool, names: dict, who, stmt):
        """Rows the actor made, or (incoming) rows on assets of projects they own or steward."""
        if not incoming:
            return stmt.where(who == actor.name)
        principal = self._principal(s, actor)
        if principal.is_admin:
            return stmt
        mine = [pid for pid, n in names.items() if principal.designations.get(n) in ("owner", "steward")]
        return stmt.where(t.Asset.project_id.in_(mine))

    def list_requests(self, actor: Actor, q: m.RequestQuery) -> dict:
        with self.store.transaction(write=False) as s:
            names = self._project_names(s)
            stmt = self._mine_or_incoming(
                s, actor, q.incoming, names, t.AccessRequest.requester,
                select(t.AccessRequest, t.Asset).join(t.Asset, t.Asset.id == t.AccessRequest.asset_id))
            if q.status:
                stmt = stmt.where(t.AccessRequest.status == q.status)
            rows = s.execute(stmt.order_by(t.AccessRequest.id.desc())).all()
            granted = dict(s.execute(select(t.Subscription.request_id, t.Grant.filter_id)
                                     .join(t.Grant, t.Grant.subscription_id == t.Subscription.id)
                                     .where(t.Subscription.request_id.in_([r.id for r, _a in rows]))).all())
            filters = self._filter_names(s, {r.filter_id for r, _a in rows} | set(granted.values()))
            return {"requests": [views.access_request(r, a, names[a.project_id], filters.get(r.filter_id),
                                                      filters.get(granted.get(r.id)))
                                 for r, a in rows]}

    def decide(self, actor: Actor, request_id: int, body: m.Decision, accept: bool) -> dict:
        with self.store.transaction() as s:
            # locked until commit: a second decision at the same instant waits, then reads the
            # first one's status (409), never "pending" (PostgreSQL's READ COMMITTED)
            r = s.get(t.AccessRequest, request_id, with_for_update=True)
            if r is None:
                raise NotFound(f"no access request {request_id}")
            a = s.get(t.Asset, r.asset_id)
            pname = self._project_names(s)[a.project_id]
            try:
                self._authorize(s, actor, authz.CATALOG_DECIDE,
                                self._asset_resource(a, pname, requester=r.requester))
            except Forbidden:
                if not self._may_know(s, actor, pname, r.requester):  # the reason names the project
                    raise Forbidden(f"you may not decide access request {request_id}") from None
                raise
            if r.requester == actor.name:
                raise Forbidden("you may not decide your own access request (separation of duties)")
            if r.status != "pending":
                raise Conflict(f"access request {request_id} is already {r.status}")
            if accept:
                held = self._active_grant(s, a.id, r.requester)
                if held is not None:  # a second grant would outlive the first one's revocation
                    raise Conflict(f"{r.requester} already holds an active grant ({held.id}) on {a.name!r}: "
                                   f"reject this request, or revoke that grant first")
            # the filters asked and granted locked (vs their delete, which would widen the grant)
            named = self._filter(s, a, body.filter) if accept and body.filter else None
            locked = self._locked_filters(s, a, {r.filter_id, named.id if named else None})
            asked = locked.get(r.filter_id)
            scope = locked[named.id] if named else asked
            if accept and not narrows(scope, asked):
                raise Invalid(f"asset filter {body.filter!r} would grant more than the request asked for "
                              f"({'asset filter ' + repr(asked.name) if asked else 'the whole asset'}); "
                              f"an approval may narrow a request, not widen it")
            now = datetime.now(timezone.utc)
            r.status = "accepted" if accept else "rejected"
            r.decided_by, r.decision_comment, r.decided_at = actor.name, body.comment, now
            detail = {"asset": a.name, "requester": r.requester, "comment": body.comment, "project": pname}
            if accept and scope is not None:
                detail["asset_filter"] = scope.name
            self._audit(s, actor, "access.accept" if accept else "access.reject", "request", r.id, detail)
            self._notify(s, "access.decided", users=[r.requester],
                         subject=f"your request for {a.name} was {r.status} by {actor.name}",
                         payload={"request": r.id, "asset": a.name, "status": r.status, "decided_by": actor.name,
                                  "comment": body.comment, "asset_filter": detail.get("asset_filter")})
            if accept:
                sub = t.Subscription(asset_id=a.id, subscriber=r.requester, request_id=r.id,
                                     status="approved", created_at=now)
                s.add(sub)
                s.flush()
                g = t.Grant(subscription_id=sub.id, asset_id=a.id, grantee=r.requester,
                            status="active", created_at=now, filter_id=scope.id if scope else None,
                            expires_at=self._grant_expiry(s, r, pname, now))
                s.add(g)
                s.flush()
                self._audit(s, actor, "grant.create", "grant", g.id,
                            {"asset": a.name, "grantee": r.requester, "subscription": sub.id, "project": pname,
                             "asset_filter": scope.name if scope else None})
            s.flush()
            return views.access_request(r, a, pname, asked.name if asked else None,
                                        scope.name if accept and scope else None)

    def _may_know(self, s: Session, actor: Actor, project: str, *people: str) -> bool:
        """Whether a refusal may name the project behind a request or subscription: to its
        members, the people it concerns and administrators, not to someone probing ids."""
        p = self._principal(s, actor)
        return p.is_admin or project in p.designations or actor.name in people

    def _grant_expiry(self, s: Session, r: t.AccessRequest, project: str, now: datetime):
        """Time-boxed grants: the strictest max_grant_days of the requester's roles, their group
        roles included (groups as the identity provider said when they asked)."""
        az = self._authorizer(s)
        if not hasattr(az, "roles_of"):
            return None
        from ..core.roles import grant_expiry

        principal = self._principal(s, Actor(r.requester, groups=tuple(r.requester_groups or ())))
        return grant_expiry([az.roles[n] for n in az.roles_of(principal, project)], now)

    def list_subscriptions(self, actor: Actor, q: m.SubscriptionQuery) -> dict:
        with self.store.transaction(write=False) as s:
            stmt = self._mine_or_incoming(
                s, actor, q.incoming, self._project_names(s), t.Subscription.subscriber,
                select(t.Subscription, t.Asset).join(t.Asset, t.Asset.id == t.Subscription.asset_id))
            out = []
            for sub, a in s.execute(stmt.order_by(t.Subscription.id.desc())).all():
                g = s.execute(select(t.Grant).where(t.Grant.subscription_id == sub.id)).scalar_one_or_none()
                scope = self._scope(s, g)
                out.append(views.subscription(sub, a, g, scope.name if scope else None))
            return {"subscriptions": out}

    def end_subscription(self, actor: Actor, subscription_id: int, revoke: bool) -> dict:
        """revoke: an owner/steward ends it; cancel: the subscriber ends their own."""
        with self.store.transaction() as s:
            sub = s.get(t.Subscription, subscription_id, with_for_update=True)  # one ending wins
            if sub is None:
                raise NotFound(f"no subscription {subscription_id}")
            a = s.get(t.Asset, sub.asset_id)
            pname = self._project_names(s)[a.project_id]
            if revoke:
                try:
                    self._authorize(s, actor, authz.CATALOG_REVOKE, self._asset_resource(a, pname))
                except Forbidden:
                    if not self._may_know(s, actor, pname, sub.subscriber):
                        raise Forbidden(f"you may not revoke subscription {subscription_id}") from None
                    raise
            elif sub.subscriber != actor.name:
                raise Forbidden(f"only its subscriber may cancel subscription {subscription_id}; "
                                f"owners revoke instead")
            if sub.status != "approved":
                raise Conflict(f"subscription {subscription_id} is already {sub.status}")
            now = datetime.now(timezone.utc)
            sub.status, sub.ended_by, sub.ended_at = ("revoked" if revoke else "cancelled"), actor.name, now
            g = s.execute(select(t.Grant).where(t.Grant.subscription_id == sub.id)).scalar_one_or_none()
            if g is not None and g.status == "active":
                g.status, g.ended_at = "revoked", now
            self._audit(s, actor, "subscription.revoke" if revoke else "subscription.cancel",
                        "subscription", sub.id, {"asset": a.name, "subscriber": sub.subscriber,
                                                 "grant": g.id if g else None, "project": pname})
            s.flush()
            scope = self._scope(s, g)
            return views.subscription(sub, a, g, scope.name if scope else None)


# ---- helpers ------------------------------------------------------------------------------

def _nothing_to_register(body: m.Publish) -> str:
    """The one refusal of a location with nothing the caller may register: nothing there, or
    another project's registered data they may not read (the message tells neither apart)."""
    fmt = body.format.removeprefix("external-")
    return (f"nothing at {body.location!r} that you may register as {fmt}: no files there, or data "
            f"another project registered, which needs a grant of it (find it with %mlgov search, then "
            f"subscribe)")


def _columns(columns) -> list[str] | None:
    """A list of column names from a list or its JSON text; None for all."""
    if columns is None or columns == "":
        return None
    if isinstance(columns, str):
        columns = json_text.loads(columns, "columns", ": give a JSON list of column names")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise Invalid("columns must be a list of column names")
    return list(dict.fromkeys(columns))


def _check_skops(data) -> None:
    """A skops model may hold only what readers load unnamed (core.model_trust): anything else
    would run its publisher's code in a reader's kernel. The bytes can still be a ``file``."""
    try:
        extra = unpublishable_types(data)
    except ValueError as exc:
        raise Invalid(f"the skops content cannot be read: {exc}") from None
    if extra:
        raise Invalid(f"the model holds types that are not on the reviewed list (functions run code "
                      f"when loaded): {', '.join(extra)}; publish the bytes as a file instead")


def _check_features(features: m.FeatureDefinitions, schema: list) -> None:
    columns = {c["name"] for c in schema}
    for role, col in (("record_id", features.record_id), ("event_time", features.event_time)):
        if col not in columns:
            raise Invalid(f"feature group {role} column {col!r} is not in the data")
    unknown = sorted(set(features.descriptions) - columns)
    if unknown:
        raise Invalid(f"feature descriptions name unknown columns: {', '.join(unknown)}")


def _index_fields(a: t.Asset, rev: t.AssetRevision) -> dict:
    """What the full-text index holds of an asset at this revision (``id``: the asset's, None
    before its INSERT)."""
    return {"id": a.id, "name": a.name.replace("_", " ").replace("-", " ") + " " + a.name,
            "description": a.description, "tags": " ".join(a.tags),
            "columns": " ".join(c["name"].replace("_", " ") + " " + c["name"] for c in rev.schema),
            "glossary": " ".join(a.glossary_terms)}


def _search_text(fields: dict) -> str:
    """PostgreSQL's search_text column (under its GIN tsvector index) from ``_index_fields``."""
    return " ".join(str(v) for k, v in fields.items() if k != "id")
