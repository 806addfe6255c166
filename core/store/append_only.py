"""The database triggers that make `audit_events` append-only (INSERT yes, UPDATE/DELETE no).

Migration 0003 installs them and the models attach them to `metadata.create_all`, so every
way of building the schema ends with them. They hold against any client that can write the
table, not only this code. A later migration that rebuilds `audit_events` on SQLite (batch
mode copies the table and drops the old one, triggers included) must install them again.
"""

from __future__ import annotations

from typing import Callable

TABLE = "audit_events"
# The message every refusal carries, on both databases; tests and operators look for it.
REFUSAL = "audit_events is append-only"
FUNCTION = "audit_events_append_only"

_SQLITE_CREATE = tuple(
    f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {verb} refused'); END"
    for verb in ("UPDATE", "DELETE")
)
_SQLITE_DROP = tuple(f"DROP TRIGGER IF EXISTS {TABLE}_no_{verb}" for verb in ("update", "delete"))

# No percent sign anywhere: DDL() and the psycopg2 driver would both treat it as a format.
_POSTGRES_CREATE = (
    f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = '{REFUSAL}: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$""",
    f"CREATE TRIGGER {TABLE}_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()",
    # TRUNCATE fires no row triggers; without this one it would empty the log silently.
    f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
)
_POSTGRES_DROP = (
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update_delete ON {TABLE}",
    f"DROP FUNCTION IF EXISTS {FUNCTION}()",
)

# The trigger names as the databases list them (sqlite_master, information_schema).
TRIGGER_NAMES = {
    "sqlite": {f"{TABLE}_no_update", f"{TABLE}_no_delete"},
    "postgresql": {f"{TABLE}_no_update_delete", f"{TABLE}_no_truncate"},
}


def create_statements(dialect: str) -> tuple[str, ...]:
    """The SQL that installs the append-only triggers on `dialect` (sqlite or postgresql)."""
    return _pick(dialect, _SQLITE_CREATE, _POSTGRES_CREATE)


def drop_statements(dialect: str) -> tuple[str, ...]:
    """The SQL that removes the append-only triggers on `dialect`."""
    return _pick(dialect, _SQLITE_DROP, _POSTGRES_DROP)


def _pick(dialect: str, sqlite: tuple[str, ...], postgres: tuple[str, ...]) -> tuple[str, ...]:
    if dialect == "sqlite":
        return sqlite
    if dialect == "postgresql":
        return postgres
    # Silently leaving the log unprotected on another database would be worse than failing.
    raise NotImplementedError(f"no append-only triggers for the {dialect!r} database")


def install(execute: Callable[[str], object], dialect: str) -> None:
    """Runs the create statements through `execute` (op.execute, connection.exec_driver_sql)."""
    for statement in create_statements(dialect):
        execute(statement)
