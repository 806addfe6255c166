"""Alembic environment: the connection given programmatically, else STORE_URL, else Settings."""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from core.store.db import make_engine, migration_connection
from core.store.models import metadata

config = context.config


def _url() -> str:
    url = os.environ.get("STORE_URL")
    if url:
        return url
    from core.settings import Settings

    return Settings().store_url


def _configure(**kwargs: object) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **kwargs)


def _run(connection: Connection) -> None:
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Writes the SQL for the migrations instead of running them (`alembic upgrade --sql`)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Runs the migrations on the given connection, or on a new engine for the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with migration_connection(engine) as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


# Only the command line configures logging; a programmatic upgrade keeps the app's logging.
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_offline()
else:
    run_online()
