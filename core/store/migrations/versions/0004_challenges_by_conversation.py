"""An index on verification_challenges.conversation_id, for conversation_phone.

Every form step after verification reads the conversation's phone back from its newest
challenge; without this index that read scans the whole table (a day of codes). Creating it
locks the table against writes while it is built: the table holds only the codes kept for
CODE_RETENTION_HOURS, so that takes moments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "ix_verification_challenges_conversation_id"


def upgrade() -> None:
    op.create_index(INDEX, "verification_challenges", ["conversation_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="verification_challenges")
