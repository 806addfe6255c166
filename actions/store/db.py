"""Engines, session factories, the unit of work and schema upgrades."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ContextManager, Iterator, Protocol

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from actions.store.errors import StoreUnavailable

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# An arbitrary constant naming the advisory lock taken while upgrading a PostgreSQL schema.
_UPGRADE_LOCK = 74_616_001


class SessionFactory(Protocol):
    """Anything that opens a Session in a transaction, like sessionmaker.begin()."""

    def begin(self) -> ContextManager[Session]:
        """A context manager yielding a Session that commits on success, rolls back on error."""
        ...


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A 2.0-style engine for `url`, set up for SQLite or PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        # Connections die behind load balancers and restarts; test them before use.
        kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, future=True, **kwargs)


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    in_memory = not database or database == ":memory:" or "mode=memory" in url
    connect_args = dict(kwargs.pop("connect_args", {}))
    # The action server answers from several threads; sessions never share a connection.
    connect_args.setdefault("check_same_thread", False)
    if in_memory:
        # Every connection to ":memory:" is a new, empty database: keep exactly one.
        kwargs.setdefault("poolclass", StaticPool)
    elif not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling starts transactions late and never for SELECT;
        # switch it off and issue BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front: concurrent writers then wait for each other
        # (busy timeout) instead of failing with "database is locked" on lock upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    """A 2.0-style session factory bound to `engine`."""
    return sessionmaker(bind=engine, future=True)


def upgrade_schema(engine: Engine) -> None:
    """Runs Alembic `upgrade head` on `engine` in one transaction."""
    # Imported here: Alembic is only needed when the schema is upgraded.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with translate_outage(), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several action servers may start at once; one upgrades, the others then find
            # the schema at head. The lock ends with the transaction.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class MigratingSessionFactory:
    """A session factory that upgrades the schema to head before its first session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = make_session_factory(engine)
        self._lock = threading.Lock()
        self._upgraded = False

    def ensure_schema(self) -> None:
        """Upgrades the schema once per process; later calls return at once."""
        if self._upgraded:
            return
        with self._lock:
            if not self._upgraded:
                upgrade_schema(self.engine)
                self._upgraded = True

    def begin(self) -> ContextManager[Session]:
        """A transactional session, after the schema is at head."""
        self.ensure_schema()
        return self._sessions.begin()

    def __call__(self) -> Session:
        """A plain session, after the schema is at head."""
        self.ensure_schema()
        return self._sessions()


@contextmanager
def translate_outage() -> Iterator[None]:
    """Turns a lost or refused database connection into StoreUnavailable, nothing else."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailable(f"the store database is unavailable: {exc.orig!r}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable(f"the store database connection was lost: {exc.orig!r}") from exc
        raise


@contextmanager
def unit_of_work(session_factory: SessionFactory) -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back if it raises."""
    with translate_outage(), session_factory.begin() as session:
        yield session
