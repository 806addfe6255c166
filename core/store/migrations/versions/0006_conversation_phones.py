"""The number each conversation was given, kept even when no code went out to it.

- `conversation_phones`: one row per (namespaced) conversation id, the number the user gave
  last (encrypted, with its blind index) and when. A code refused as too soon, over a
  ceiling, or lost by the SMS gateway no longer makes the conversation forget the number, so
  "重新发送" works later and the next question is about the code, not the number again.

Existing conversations keep finding their number through their last code, as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=False)
PHONE_INDEX = "ix_conversation_phones_phone_index"


def upgrade() -> None:
    op.create_table(
        "conversation_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("phone_ciphertext", sa.String(255), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("given_at", UTC, nullable=False),
        sa.CheckConstraint(
            "phone_ciphertext LIKE 'gA%'", name="ck_conversation_phones_phone_encrypted"
        ),
        sa.CheckConstraint(
            "length(phone_index) = 64", name="ck_conversation_phones_phone_indexed"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_phones"),
        sa.UniqueConstraint("conversation_id", name="uq_conversation_phones_conversation_id"),
    )
    op.create_index(PHONE_INDEX, "conversation_phones", ["phone_index"])


def downgrade() -> None:
    op.drop_index(PHONE_INDEX, table_name="conversation_phones")
    op.drop_table("conversation_phones")
