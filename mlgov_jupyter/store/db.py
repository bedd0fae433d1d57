"""Engine, sessions and migrations. SQLite file (WAL) by default, any SQLAlchemy URL by config."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..core.errors import Conflict, Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"


def default_db_url() -> str:
    from jupyter_core.paths import jupyter_data_dir

    folder = Path(jupyter_data_dir()) / "mlgov"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlgov.sqlite'}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # Writers take the lock up front: no deadlock when two writers upgrade from read.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("mlgov_write")
                             else "BEGIN")


# What the drivers say when the disk is full or the store is read-only (SQLite messages; the
# PostgreSQL SQLSTATEs 53100 disk_full and 25006 read_only_sql_transaction, also 53xxx resources).
_UNWRITABLE = (("database or disk is full", "disk is full"),
               ("readonly database", "the database is read-only"),
               ("unable to open database file", "the database file cannot be opened"),
               ("disk i/o error", "disk I/O error"),
               ("database is locked", "it is busy (another change held it too long); try again"))
_UNWRITABLE_SQLSTATE = {"53100": "disk full", "25006": "the database is read-only",
                        "53200": "out of memory", "53000": "insufficient resources"}


def unwritable_reason(exc: OperationalError) -> str | None:
    """The short reason if ``exc`` means the store cannot be written (disk full, read-only);
    None for any other operational error (those stay bugs: a 500)."""
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in _UNWRITABLE_SQLSTATE:
        return _UNWRITABLE_SQLSTATE[state]
    text = str(orig if orig is not None else exc).lower()
    return next((reason for needle, reason in _UNWRITABLE if needle in text), None)


class OverDeadline(Exception):
    """A transaction's statement was stopped at its deadline (``Store.transaction``); nothing it
    read was kept. Not a caller's error: the host runs the call again where it may take longer."""


@contextmanager
def _stop_at(session: Session, deadline: float | None) -> Iterator[None]:
    """SQLite: stop the session's statements once ``time.monotonic()`` passes ``deadline``
    (sqlite3's progress handler, asked every ``STOP_CHECK_STEPS`` virtual machine steps, ~0.1 ms);
    the connection goes back to the pool without it."""
    if deadline is None:
        yield
        return
    driver = session.connection().connection.driver_connection
    driver.set_progress_handler(lambda: time.monotonic() > deadline, STOP_CHECK_STEPS)
    try:
        yield
    finally:
        driver.set_progress_handler(None, 0)


STOP_CHECK_STEPS = 10_000  # SQLite virtual machine steps between checks of a deadline


class Store:
    """Owns the engine and hands out transactions. Knows nothing of users or rules."""

    def __init__(self, url: str | None = None, migrate: bool = True):
        self.url = url or default_db_url()
        is_sqlite = self.url.startswith("sqlite")
        # The server runs service calls on worker threads; each call has its own session.
        self.engine = create_engine(self.url, connect_args={"check_same_thread": False} if is_sqlite else {})
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(mlgov_write=True),
                                   expire_on_commit=False)
        if migrate:
            self.migrate()

    def migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")  # independent branches may each add tables

    @contextmanager
    def transaction(self, write: bool = True, deadline: float | None = None) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception.
        ``deadline`` (``time.monotonic()`` seconds; SQLite only, else ignored): a statement still
        running then is stopped and ``OverDeadline`` raised (``_stop_at``)."""
        session = (self._write if write else self._read)()
        try:
            with session.begin(), _stop_at(session, deadline if self.is_sqlite else None):
                yield session
        except OperationalError as exc:
            if deadline is not None and "interrupted" in str(getattr(exc, "orig", exc)):
                raise OverDeadline() from None
            reason = unwritable_reason(exc)
            if reason is None:
                raise
            raise Unavailable(f"the governance store cannot be written: {reason}") from None
        except (IntegrityError, StaleDataError):
            # two writers raced for the same unique name, or for a row one of them deleted (possible
            # on PostgreSQL): nothing was kept
            raise Conflict("the change collided with another one made at the same time; try again") from None
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
