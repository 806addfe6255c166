"""Phone numbers encrypted at rest: a Fernet token and a keyed blind index replace each phone.

Existing rows are encrypted in place (downgrade decrypts them). The keys are the ones given
to upgrade_schema, else those of the environment (PHONE_ENCRYPTION_KEYS or
PHONE_ENCRYPTION_KEY_FILE, and BLIND_INDEX_KEY), read only if there are rows to convert.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01
"""

from __future__ import annotations

from typing import Callable, Optional

import sqlalchemy as sa
from alembic import context, op
from alembic.operations import BatchOperations

from core.store.cipher import PhoneCipher
from core.store.errors import InvalidPhone
from core.store.privacy import phone_from_store, stored_phone

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("accounts", "verification_challenges", "verification_locks")
UNIQUE = ("accounts", "verification_locks")
BATCH_SIZE = 1000
CIPHERTEXT = sa.String(255)
INDEX = sa.String(64)
PLAIN = sa.String(64)
# As in core.store.models: a Fernet token starts with "gA"; an index is 64 hex digits.
PHONE_ENCRYPTED = "phone_ciphertext LIKE 'gA%'"
PHONE_INDEXED = "length(phone_index) = 64"


def _cipher_source() -> Callable[[], PhoneCipher]:
    """The cipher given to the migration, else one from the environment, made on first use."""
    made: list[PhoneCipher] = []

    def cipher() -> PhoneCipher:
        if not made:
            given: Optional[PhoneCipher] = context.config.attributes.get("phone_cipher")
            if given is None:
                from core.settings import Settings
                from core.store.cipher import load_phone_cipher

                given = load_phone_cipher(Settings.from_env())
            made.append(given)
        return made[0]

    return cipher


def _require_online() -> None:
    if context.is_offline_mode():
        raise RuntimeError("revision 0002 converts phone numbers in rows; it cannot run with --sql")


def _rows(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, sa.column("id", sa.Integer), *(sa.column(c, sa.String) for c in columns))


def _convert(
    name: str, source: str, targets: tuple[str, ...], convert: Callable[[int, str], tuple]
) -> None:
    """Rewrites every row's `targets` from its `source` column, BATCH_SIZE rows at a time."""
    table = _rows(name, source, *targets)
    bind = op.get_bind()
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values({target: sa.bindparam(f"new_{target}") for target in targets})
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c[source])
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH_SIZE)
        ).all()
        if not rows:
            return
        values = []
        for row_id, value in rows:
            converted = convert(row_id, value)
            values.append(
                {
                    "row_id": row_id,
                    **{f"new_{t}": v for t, v in zip(targets, converted, strict=True)},
                }
            )
        bind.execute(update, values)
        last = rows[-1][0]


def upgrade() -> None:
    _require_online()
    cipher = _cipher_source()
    for name in TABLES:
        op.add_column(name, sa.Column("phone_ciphertext", CIPHERTEXT, nullable=True))
        op.add_column(name, sa.Column("phone_index", INDEX, nullable=True))
        _convert(name, "phone", ("phone_ciphertext", "phone_index"), _encrypter(name, cipher))
    op.drop_index(
        "ix_verification_challenges_phone_created_at", table_name="verification_challenges"
    )
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            if name in UNIQUE:
                batch.drop_constraint(f"uq_{name}_phone", type_="unique")
            batch.drop_column("phone")
            _protect(batch, name)
    op.create_index(
        "ix_verification_challenges_phone_index_created_at",
        "verification_challenges",
        ["phone_index", "created_at"],
    )


def _encrypter(name: str, cipher: Callable[[], PhoneCipher]) -> Callable[[int, str], tuple]:
    def encrypt(row_id: int, phone: str) -> tuple[str, str]:
        try:
            stored = stored_phone(cipher(), phone)
        except InvalidPhone as exc:
            # The number itself is not quoted: it would end up in logs.
            raise InvalidPhone(f"{name} row {row_id}: the stored phone is not 11 digits") from exc
        return stored.ciphertext, stored.index

    return encrypt


def _protect(batch: BatchOperations, name: str) -> None:
    batch.alter_column("phone_ciphertext", existing_type=CIPHERTEXT, nullable=False)
    batch.alter_column("phone_index", existing_type=INDEX, nullable=False)
    # op.f: the names are final; the naming convention must not prefix them again.
    batch.create_check_constraint(op.f(f"ck_{name}_phone_encrypted"), PHONE_ENCRYPTED)
    batch.create_check_constraint(op.f(f"ck_{name}_phone_indexed"), PHONE_INDEXED)
    if name in UNIQUE:
        batch.create_unique_constraint(f"uq_{name}_phone_index", ["phone_index"])


def _decrypter(cipher: Callable[[], PhoneCipher]) -> Callable[[int, str], tuple]:
    def decrypt(_row_id: int, token: str) -> tuple[str]:
        return (phone_from_store(cipher(), token),)

    return decrypt


def downgrade() -> None:
    _require_online()
    cipher = _cipher_source()
    for name in TABLES:
        op.add_column(name, sa.Column("phone", PLAIN, nullable=True))
        _convert(name, "phone_ciphertext", ("phone",), _decrypter(cipher))
    op.drop_index(
        "ix_verification_challenges_phone_index_created_at", table_name="verification_challenges"
    )
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            if name in UNIQUE:
                batch.drop_constraint(f"uq_{name}_phone_index", type_="unique")
            batch.drop_constraint(op.f(f"ck_{name}_phone_encrypted"), type_="check")
            batch.drop_constraint(op.f(f"ck_{name}_phone_indexed"), type_="check")
            batch.drop_column("phone_ciphertext")
            batch.drop_column("phone_index")
            batch.alter_column("phone", existing_type=PLAIN, nullable=False)
            if name in UNIQUE:
                batch.create_unique_constraint(f"uq_{name}_phone", ["phone"])
    op.create_index(
        "ix_verification_challenges_phone_created_at",
        "verification_challenges",
        ["phone", "created_at"],
    )
