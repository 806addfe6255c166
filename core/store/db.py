"""Engines, session factories, the unit of work and schema upgrades."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ContextManager, Iterator, Optional, Protocol, Union

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

from core.store.cipher import PhoneCipher
from core.store.errors import StoreError, StoreUnavailable

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# An arbitrary constant naming the advisory lock taken while upgrading a PostgreSQL schema.
_UPGRADE_LOCK = 74_616_001
# What Core statements run on: a Session, or the plain Connection of connection_unit_of_work.
Executor = Union[Session, Connection]


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
    else:
        # SQLAlchemy 1.4 opens and closes a file database's connection around every
        # transaction (NullPool); 2.0 pools them, as here: a tenth of an action call's CPU.
        kwargs.setdefault("poolclass", QueuePool)
        if not database.startswith("file:"):
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
            if not in_memory:
                # Write-ahead log: a commit appends to one file and syncs it once (the
                # rollback journal's create, sync, write, sync, delete cost ~20 % of the action
                # server's time), and readers no longer wait for a writer. FULL keeps every
                # commit on disk before the user is told it happened.
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = FULL")
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


def upgrade_schema(
    engine: Engine, cipher: Optional[PhoneCipher] = None, revision: str = "head"
) -> None:
    """Runs Alembic `upgrade` to `revision` on `engine` in one transaction.

    `cipher` encrypts the phones a migration finds in the clear; without it the keys are read
    from the environment, and only if a migration needs them.
    """
    _migrate(engine, cipher, "upgrade", revision)


def downgrade_schema(engine: Engine, revision: str, cipher: Optional[PhoneCipher] = None) -> None:
    """Runs Alembic `downgrade` to `revision` on `engine` in one transaction."""
    _migrate(engine, cipher, "downgrade", revision)


def _migrate(engine: Engine, cipher: Optional[PhoneCipher], direction: str, revision: str) -> None:
    # Imported here: Alembic is only needed when the schema changes.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["phone_cipher"] = cipher
    with translate_outage(), migration_connection(engine) as connection:
        if connection.dialect.name == "postgresql":
            # Several action servers may start at once; one upgrades, the others then find
            # the schema at head. The lock ends with the transaction.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for migrations, committed when the block ends.

    On SQLite, foreign keys are off meanwhile (the PRAGMA is ignored inside a transaction),
    since rebuilding a referenced table drops it; they are checked before the commit instead.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise StoreError(f"a migration broke foreign keys: {broken[:5]!r}")
        finally:
            # The connection goes back to the pool: it must enforce foreign keys again.
            if sqlite and not connection.invalidated:
                _sqlite_pragma(connection, "PRAGMA foreign_keys = ON")


def _sqlite_pragma(connection: Connection, statement: str) -> None:
    # On the driver's connection, so that SQLAlchemy does not begin a transaction first.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


class MigratingSessionFactory:
    """A session factory that upgrades the schema to head before its first session."""

    def __init__(self, engine: Engine, cipher: Optional[PhoneCipher] = None) -> None:
        self.engine = engine
        self.cipher = cipher
        self._sessions = make_session_factory(engine)
        self._lock = threading.Lock()
        self._upgraded = False

    def ensure_schema(self) -> None:
        """Upgrades the schema once per process; later calls return at once."""
        if self._upgraded:
            return
        with self._lock:
            if not self._upgraded:
                upgrade_schema(self.engine, self.cipher)
                self._upgraded = True

    def begin(self) -> ContextManager[Session]:
        """A transactional session, after the schema is at head."""
        self.ensure_schema()
        return self._sessions.begin()

    def begin_connection(self) -> ContextManager[Connection]:
        """A connection in a transaction, without an ORM session, after the schema is at head."""
        self.ensure_schema()
        return self.engine.begin()

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


@contextmanager
def connection_unit_of_work(session_factory: SessionFactory) -> Iterator[Executor]:
    """unit_of_work for Core statements only, on a plain connection when the factory has one."""
    # Setting up and tearing down an ORM session cost about a third of a one-statement read.
    # The same engine, pool and BEGIN run the statements; a factory whose engine is unknown
    # gives a session, on which Core statements run the same way.
    if isinstance(session_factory, MigratingSessionFactory):
        begin = session_factory.begin_connection
    elif isinstance(session_factory, sessionmaker) and isinstance(
        session_factory.kw.get("bind"), Engine
    ):
        begin = session_factory.kw["bind"].begin
    else:
        begin = session_factory.begin
    with translate_outage(), begin() as executor:
        yield executor
