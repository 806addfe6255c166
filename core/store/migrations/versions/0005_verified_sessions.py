"""Identity owned by the store: verified sessions, and where each code request came from.

- `verified_sessions`: one row per conversation whose user proved a phone (a code the store
  checked, or a channel assertion that proves the phone). Actions trust nothing else.
- `verification_challenges.client_key` / `.own_line`: the source of each code request, for
  the per-conversation and per-client ceilings and the IVR caller's own-line ceiling.

Existing challenges count as typed numbers with no client key. verification_locks is no
longer written (a lockout belongs to the conversation's burnt challenge), so the per-number
locks of revision 0004 no longer block anyone; the table stays for the downgrade.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=False)
CLIENT_INDEX = "ix_verification_challenges_client_key_created_at"
SESSION_PHONE_INDEX = "ix_verified_sessions_phone_index"


def upgrade() -> None:
    op.create_table(
        "verified_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("phone_ciphertext", sa.String(255), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
        sa.CheckConstraint("method IN ('code', 'assertion')", name="ck_verified_sessions_method"),
        sa.CheckConstraint(
            "phone_ciphertext LIKE 'gA%'", name="ck_verified_sessions_phone_encrypted"
        ),
        sa.CheckConstraint("length(phone_index) = 64", name="ck_verified_sessions_phone_indexed"),
        sa.PrimaryKeyConstraint("id", name="pk_verified_sessions"),
        sa.UniqueConstraint("conversation_id", name="uq_verified_sessions_conversation_id"),
    )
    op.create_index(SESSION_PHONE_INDEX, "verified_sessions", ["phone_index"])
    op.add_column("verification_challenges", sa.Column("client_key", sa.String(64), nullable=True))
    op.add_column(
        "verification_challenges",
        sa.Column("own_line", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(CLIENT_INDEX, "verification_challenges", ["client_key", "created_at"])


def downgrade() -> None:
    op.drop_index(CLIENT_INDEX, table_name="verification_challenges")
    # SQLite drops columns by copying the table (batch mode); PostgreSQL alters it in place.
    with op.batch_alter_table("verification_challenges") as batch:
        batch.drop_column("own_line")
        batch.drop_column("client_key")
    op.drop_index(SESSION_PHONE_INDEX, table_name="verified_sessions")
    op.drop_table("verified_sessions")
