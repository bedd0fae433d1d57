"""``mlgov`` command line: the team service (``mlgov serve``) and administration outside a
notebook (``mlgov audit-verify``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EVENT_COLUMNS = ("id", "ts", "actor", "action", "resource_type", "resource_id", "detail",
                 "prev_hash", "hash")


class Unusable(Exception):
    """Input that cannot be verified at all (exit 2): bad URL, unreadable key, no such store."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # a traitlets application: its own options and config file
        from .server.serve import MlgovServe

        MlgovServe.launch_instance(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="mlgov", description="mlgov-jupyter administration")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the governance service as a JupyterHub service (team mode); "
                                 "mlgov serve --help-all for its options")
    verify = sub.add_parser("audit-verify", help="verify the audit trail read-only; exit 1 if broken, "
                                                 "2 if it cannot be read")
    verify.add_argument("--db-url", help="SQLAlchemy URL (default: the Jupyter data dir's SQLite file)")
    verify.add_argument("--public-key", type=Path,
                        help="the service's Ed25519 public key (PEM): also check signed checkpoints")
    verify.add_argument("--checkpoints", type=Path,
                        help="the checkpoint directory (NNNNNN.json files), checked with the database's rows")
    args = parser.parse_args(argv)
    if args.command == "audit-verify":
        try:
            result = audit_verify(args.db_url, args.public_key, args.checkpoints)
        except Unusable as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return 2
        print(("OK: " if result.ok else "BROKEN: ") + result.message)
        return 0 if result.ok else 1
    parser.error(f"unknown command {args.command}")
    return 2


def _default_url() -> str:
    from jupyter_core.paths import jupyter_data_dir

    return f"sqlite:///{Path(jupyter_data_dir()) / 'mlgov' / 'mlgov.sqlite'}"


def read_only_engine(url: str):
    """An engine that cannot write: SQLite opened with ``mode=ro`` (the file must exist; WAL side
    files may be created, the database file is never written), PostgreSQL with
    ``default_transaction_read_only``. Never migrates. Unusable for a bad URL."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            path = parsed.database
            if not path or path == ":memory:" or not Path(path).is_file():
                raise Unusable(f"no SQLite database file at {path!r}")
            uri = Path(path).resolve().as_uri().replace("file://", "file:", 1)
            return _snapshot_reads(create_engine(f"sqlite:///{uri}?mode=ro&uri=true"))
        if parsed.get_backend_name() == "postgresql":
            # one snapshot for head, events and checkpoints: a write meanwhile changes nothing seen
            return create_engine(parsed, isolation_level="REPEATABLE READ",
                                 connect_args={"options": "-c default_transaction_read_only=on"})
        return create_engine(parsed)  # other dialects: opened as given
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise Unusable(f"not a usable database URL: {str(exc).splitlines()[0]}") from None


def _snapshot_reads(engine):
    """SQLite: a real BEGIN, so that every read of one verification sees one snapshot."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")

    return engine


def _load_key(path: Path):
    from .core.errors import Invalid
    from .store.anchor import load_public_key

    try:
        return load_public_key(path.read_bytes())
    except OSError as exc:
        raise Unusable(f"cannot read public key {path}: {exc.strerror}") from None
    except Invalid as exc:
        raise Unusable(f"{path}: {exc}") from None


def audit_verify(db_url: str | None, public_key: Path | None = None, checkpoints: Path | None = None):
    """Verify the store's audit trail with plain SQL over a read-only connection (the ORM may be
    newer than the store). Returns a ``core.audit.Verification``; raises Unusable."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import DBAPIError

    from .core import audit as chain
    from .store.anchor import read_checkpoint_dir, read_heads

    if checkpoints is not None and public_key is None:
        raise Unusable("--checkpoints needs --public-key (a checkpoint is only as good as its signature)")
    if checkpoints is not None and not checkpoints.is_dir():
        raise Unusable(f"no checkpoint directory at {checkpoints}")
    key = _load_key(public_key) if public_key is not None else None
    # the directory first: what it holds was written after its events committed (see below)
    files = read_checkpoint_dir(checkpoints) if checkpoints is not None else []
    heads = read_heads(checkpoints) if checkpoints is not None else []
    engine = read_only_engine(db_url or _default_url())
    try:
        with engine.connect() as conn, conn.begin():
            tables = set(inspect(conn).get_table_names())
            if "audit_events" not in tables:
                raise Unusable("the database holds no mlgov store (no audit_events table)")
            columns = {c["name"] for c in inspect(conn).get_columns("audit_events")}
            cols = EVENT_COLUMNS + tuple(c for c in ("project", "signature") if c in columns)
            head = None
            if "audit_head" in tables:
                row = conn.execute(text("SELECT last_id, last_hash FROM audit_head WHERE id = 1")).first()
                head = {"last_id": row[0], "last_hash": row[1]} if row else None
            events = (dict(r._mapping) for r in conn.execution_options(yield_per=1000).execute(
                text(f"SELECT {', '.join(cols)} FROM audit_events ORDER BY id")))
            if key is None:
                if head is None:
                    return chain.Verification(False, 0, None, chain.HEAD_MISSING)
                return chain.verify(events, head)
            sources = []
            note = ""
            if "audit_checkpoints" in tables:
                rows = conn.execute(text("SELECT payload, signature FROM audit_checkpoints ORDER BY seq"))
                sources = [("database", _parse_row(p, s)) for p, s in rows]
            else:
                note = " (this store predates checkpoints: no audit_checkpoints table)"
            result = chain.verify_anchored(events, head, sources + files, key, heads=heads)
            if note:
                result = chain.Verification(result.ok, result.checked, result.first_broken,
                                            result.message + note, result.checkpoints, result.covered)
            return result
    except DBAPIError as exc:
        raise Unusable(f"cannot read the database: {str(exc.orig).splitlines()[0]}") from None
    finally:
        engine.dispose()


def _parse_row(payload: str, signature: str):
    import json

    try:
        return {"payload": json.loads(payload), "signature": signature}
    except (TypeError, ValueError):
        return None  # malformed: verification names it


if __name__ == "__main__":
    sys.exit(main())
