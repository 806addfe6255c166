"""The audit log becomes append-only: triggers refuse UPDATE and DELETE on audit_events.

On PostgreSQL a trigger function raises for UPDATE, DELETE and TRUNCATE; on SQLite two
triggers RAISE(ABORT). The statements live in core.store.append_only, which the models
also attach to metadata.create_all. Downgrade removes them (and nothing else).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from core.store import append_only

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    append_only.install(op.execute, op.get_context().dialect.name)


def downgrade() -> None:
    for statement in append_only.drop_statements(op.get_context().dialect.name):
        op.execute(statement)
