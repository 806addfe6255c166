"""Re-encrypting every stored phone with the first key, after a new key was put first.

python -m core.store.rotate_keys [--url URL] [--batch-size N]

Rotation: put the new key first in PHONE_ENCRYPTION_KEYS (or the key file) and keep the old
ones after it; restart the action servers; run this; then remove the old keys. Running it
again changes nothing. The blind index does not depend on these keys and is left alone.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.settings import Settings
from core.store.cipher import PhoneCipher, load_phone_cipher
from core.store.context import audit, operator_name
from core.store.db import (
    SessionFactory,
    make_engine,
    make_session_factory,
    unit_of_work,
    upgrade_schema,
)
from core.store.errors import InvalidArgument, PhoneKeyError, StoreUnavailable
from core.store.models import (
    Account,
    ConversationPhone,
    VerificationChallenge,
    VerificationLock,
    VerifiedSession,
)

# Every table that keeps a phone_ciphertext column.
PHONE_TABLES = (
    Account,
    VerificationChallenge,
    VerificationLock,
    VerifiedSession,
    ConversationPhone,
)
DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class TableRotation:
    """How many of a table's phones were looked at and how many were re-encrypted."""

    table: str
    rows: int
    rotated: int


def rotate_phone_keys(
    session_factory: SessionFactory, cipher: PhoneCipher, batch_size: int = DEFAULT_BATCH_SIZE
) -> list[TableRotation]:
    """Re-encrypts with the first key every phone made with another; one transaction a batch.

    The run ends with one audit row: who ran it and how many rows each table had and changed.
    """
    if batch_size <= 0:
        raise InvalidArgument("batch_size must be positive")
    tables = [_rotate_table(session_factory, cipher, model, batch_size) for model in PHONE_TABLES]
    with unit_of_work(session_factory) as session:
        audit(
            session,
            at=datetime.now(timezone.utc),
            action="phone_keys_rotated",
            channel="cli",
            detail={
                "operator": operator_name(),
                **{t.table: {"rows": t.rows, "rotated": t.rotated} for t in tables},
            },
        )
    return tables


def _rotate_table(
    session_factory: SessionFactory, cipher: PhoneCipher, model: type, batch_size: int
) -> TableRotation:
    table = model.__table__
    # Nothing else ever rewrites a row's phone_ciphertext, so no row lock is needed.
    update = (
        table.update()
        .where(table.c.id == bindparam("row_id"))
        .values(phone_ciphertext=bindparam("token"))
    )
    last, rows, rotated = 0, 0, 0
    while True:
        with unit_of_work(session_factory) as session:
            batch = session.execute(
                select(table.c.id, table.c.phone_ciphertext)
                .where(table.c.id > last)
                .order_by(table.c.id)
                .limit(batch_size)
            ).all()
            if not batch:
                return TableRotation(table.name, rows, rotated)
            changes = [
                {"row_id": row_id, "token": cipher.rotate(token)}
                for row_id, token in batch
                if not cipher.is_current(token)
            ]
            if changes:
                session.execute(update, changes)
        rows += len(batch)
        rotated += len(changes)
        last = batch[-1][0]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: re-encrypts the stored phones with the first configured key."""
    parser = argparse.ArgumentParser(
        prog="python -m core.store.rotate_keys",
        description="Re-encrypt every stored phone number with the first key of "
        "PHONE_ENCRYPTION_KEYS (or PHONE_ENCRYPTION_KEY_FILE).",
    )
    parser.add_argument("--url", help="database URL (default: STORE_URL or the SQLite file)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"rows per transaction (default {DEFAULT_BATCH_SIZE})",
    )
    args = parser.parse_args(argv)
    if args.batch_size <= 0:
        parser.error("--batch-size must be positive")
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"invalid settings: {exc}", file=sys.stderr)
        return 2
    url = args.url or settings.store_url
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError as exc:
        print(f"not a database URL: {exc}", file=sys.stderr)
        return 2
    try:
        cipher = load_phone_cipher(settings)
    except PhoneKeyError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    engine = make_engine(url)
    try:
        upgrade_schema(engine, cipher)
        tables = rotate_phone_keys(make_session_factory(engine), cipher, args.batch_size)
    except (StoreUnavailable, PhoneKeyError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    counts = ", ".join(f"{t.table} {t.rotated}/{t.rows}" for t in tables)
    print(
        f"rotated {shown}: re-encrypted {sum(t.rotated for t in tables)} of "
        f"{sum(t.rows for t in tables)} stored phones with the first key ({counts})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
