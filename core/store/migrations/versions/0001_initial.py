"""The initial store schema.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Timestamps are naive UTC in the database; core.store.types.UTCDateTime adds the zone.
UTC = sa.DateTime(timezone=False)
MONEY = sa.Numeric(10, 2)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("holder_name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint("status IN ('active', 'arrears')", name="ck_accounts_status"),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("phone", name="uq_accounts_phone"),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("code", name="uq_products_code"),
        sa.UniqueConstraint("name", name="uq_products_name"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("plan_name", sa.String(32), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("billing_channel", sa.String(16), nullable=False),
        sa.Column("partner_agreement_id", sa.String(64), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("period_end", UTC, nullable=False),
        sa.Column("next_charge_at", UTC, nullable=True),
        sa.CheckConstraint("price > 0", name="ck_subscriptions_price_positive"),
        sa.CheckConstraint(
            "period IN ('month', 'quarter', 'year')", name="ck_subscriptions_period"
        ),
        sa.CheckConstraint(
            "billing_channel IN ('phone_bill', 'alipay', 'wechat', 'app_store')",
            name="ck_subscriptions_billing_channel",
        ),
        sa.CheckConstraint("status IN ('active', 'cancelled')", name="ck_subscriptions_status"),
        sa.CheckConstraint(
            "billing_channel NOT IN ('alipay', 'wechat') OR partner_agreement_id IS NOT NULL",
            name="ck_subscriptions_partner_agreement",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_subscriptions_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_subscriptions_product_id_products"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
    )
    op.create_index("ix_subscriptions_account_id", "subscriptions", ["account_id"])
    op.create_table(
        "charges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("charged_at", UTC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_charges_amount_positive"),
        sa.CheckConstraint("status IN ('settled')", name="ck_charges_status"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_charges_subscription_id_subscriptions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_charges"),
    )
    op.create_index("ix_charges_subscription_id", "charges", ["subscription_id"])
    op.create_table(
        "cancellations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("effective_until", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_cancellations_subscription_id_subscriptions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cancellations"),
        sa.UniqueConstraint("reference", name="uq_cancellations_reference"),
        # One cancellation per subscription: a double cancellation is impossible.
        sa.UniqueConstraint("subscription_id", name="uq_cancellations_subscription_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_cancellations_idempotency_key"),
    )
    op.create_table(
        "verification_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", UTC, nullable=True),
        sa.CheckConstraint("attempts >= 0", name="ck_verification_challenges_attempts_not_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_verification_challenges"),
    )
    op.create_index(
        "ix_verification_challenges_phone_created_at",
        "verification_challenges",
        ["phone", "created_at"],
    )
    op.create_table(
        "verification_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("locked_until", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verification_locks"),
        sa.UniqueConstraint("phone", name="uq_verification_locks_phone"),
    )
    op.create_table(
        "refund_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("charge_id", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_refund_cases_amount_positive"),
        sa.CheckConstraint("status IN ('open')", name="ck_refund_cases_status"),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name="fk_refund_cases_charge_id_charges"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_refund_cases"),
        sa.UniqueConstraint("reference", name="uq_refund_cases_reference"),
        sa.UniqueConstraint("charge_id", name="uq_refund_cases_charge_id"),
    )
    op.create_table(
        "handoff_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("phone_masked", sa.String(32), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("status IN ('open')", name="ck_handoff_tickets_status"),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_tickets"),
        sa.UniqueConstraint("reference", name="uq_handoff_tickets_reference"),
    )
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_masked", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(
            "kind IN ('verification', 'receipt', 'refund', 'handoff', 'other')",
            name="ck_sms_messages_kind",
        ),
        sa.CheckConstraint("status IN ('sent', 'failed')", name="ck_sms_messages_status"),
        sa.PrimaryKeyConstraint("id", name="pk_sms_messages"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("phone_masked", sa.String(32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("sms_messages")
    op.drop_table("handoff_tickets")
    op.drop_table("refund_cases")
    op.drop_table("verification_locks")
    op.drop_index(
        "ix_verification_challenges_phone_created_at", table_name="verification_challenges"
    )
    op.drop_table("verification_challenges")
    op.drop_table("cancellations")
    op.drop_index("ix_charges_subscription_id", table_name="charges")
    op.drop_table("charges")
    op.drop_index("ix_subscriptions_account_id", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("products")
    op.drop_table("accounts")
