"""个人信息保护法 requests of one person, by phone number: export (第四十五条), delete (第四十七条).

python -m core.store.subject_rights export PHONE [--out FILE] [--url URL]
                                      [--tracker-url URL | --endpoints endpoints.yml]
python -m core.store.subject_rights delete PHONE [--yes] [--url URL]
                                      [--tracker-url URL | --endpoints endpoints.yml]

`export` writes everything held about the number as JSON (to --out, created readable by its
owner only, else stdout). `delete` without --yes only counts; with --yes it deletes or
anonymises what may go and keeps the business records with the masked number only (see
core/store/subject_data.py, docs/privacy.md). Each run writes one audit row (operator,
counts, never the number in full). Exit 0 done, 2 failed (nothing changed), 3 refused
(memberships still renewing: cancel them first).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

from sqlalchemy.engine import Engine

from core.identity.conversation import namespaced
from core.settings import Settings
from core.store.cipher import PhoneCipher, load_phone_cipher
from core.store.context import audit, operator_name
from core.store.db import SessionFactory, unit_of_work
from core.store.errors import (
    InvalidPhone,
    PhoneKeyError,
)
from core.store.privacy import normalize_phone
from core.store.retention import OPEN_FAILURES, open_failure, opened_stores
from core.store.subject_data import (
    ActiveMemberships,
    count_export,
    delete_subject,
    export_subject,
    find_subject,
)
from core.store.tracker_retention import tracker_transaction

# The SMS channel names a number's conversation by a keyed hash of it (channels/sms
# sender_id, same key): with the key, that conversation is found without any stored link.
SMS_SECRET_ENV = "SMS_WEBHOOK_SECRET"


def parse_phone(raw: str) -> str:
    """The mobile number of an operator's input, written any way core.phone reads (spaces,
    dashes, +86 / 0086, full-width digits); InvalidPhone otherwise."""
    return normalize_phone(raw)


def sms_conversation(phone: str, env: Optional[Dict[str, str]] = None) -> Optional[str]:
    """The number's SMS conversation id, when the SMS channel's secret is known."""
    secret = (os.environ if env is None else env).get(SMS_SECRET_ENV, "").strip()
    if not secret:
        return None
    digest = hmac.new(secret.encode("utf-8"), phone.encode("utf-8"), hashlib.sha256)
    return namespaced("sms", digest.hexdigest()[:24])


def run_export(
    store: SessionFactory,
    cipher: PhoneCipher,
    phone: str,
    tracker: Optional[Engine] = None,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> Dict[str, Any]:
    """The export of `phone`, with its audit row written in the same transaction."""
    own = [c for c in [sms_conversation(phone)] if c]
    with unit_of_work(store) as session, ExitStack() as stack:
        subject = find_subject(session, cipher, phone, own)
        connection = stack.enter_context(tracker_transaction(tracker)) if tracker else None
        data = export_subject(session, subject, connection)
        now = clock()
        data["subject"]["exported_at"] = now.isoformat()
        audit(
            session,
            at=now,
            action="subject_data_exported",
            channel="cli",
            phone=phone,
            detail={
                "operator": operator_name(),
                "counts": count_export(data),
                "tracker_store": tracker is not None,
            },
        )
    return data


def run_delete(
    store: SessionFactory,
    cipher: PhoneCipher,
    phone: str,
    tracker: Optional[Engine] = None,
    dry_run: bool = True,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> Dict[str, int]:
    """Deletes (dry_run: counts) what may go of `phone`'s data, in one store transaction
    with the tracker store's nested inside it, and one audit row; ActiveMemberships refuses
    (and is audited) before anything changes."""
    own = [c for c in [sms_conversation(phone)] if c]
    try:
        with unit_of_work(store) as session:
            subject = find_subject(session, cipher, phone, own)
            if tracker is not None:
                with tracker_transaction(tracker) as connection:
                    counts = delete_subject(session, cipher, subject, connection, dry_run)
            else:
                counts = delete_subject(session, cipher, subject, None, dry_run)
            audit(
                session,
                at=clock(),
                action="subject_data_delete_dry_run" if dry_run else "subject_data_deleted",
                channel="cli",
                phone=phone,
                detail={
                    "operator": operator_name(),
                    "counts": counts,
                    "tracker_store": tracker is not None,
                },
            )
    except ActiveMemberships as exc:
        with unit_of_work(store) as session:
            audit(
                session,
                at=clock(),
                action="subject_data_delete_refused",
                channel="cli",
                phone=phone,
                detail={"operator": operator_name(), "reason": str(exc)},
            )
        raise
    return counts


_FAILURES = {
    "phone": ("手机号无效，应为11位数字", "the phone number is not 11 digits"),
    "settings": ("配置无效", "invalid settings"),
    "store_url": ("业务数据库地址（STORE_URL / --url）无效", "the store URL is not a database URL"),
    "store_missing": ("找不到业务数据库文件", "the store's SQLite file does not exist"),
    "store_down": ("无法连接业务数据库", "the store database is unavailable"),
    "tracker": (
        "对话记录库（TRACKER_STORE_URL / --endpoints）不可用",
        "the tracker store cannot be used",
    ),
    "out": ("无法写入导出文件", "the export file cannot be written"),
}


def _fail(kind: str, detail: str = "") -> int:
    chinese, english = _FAILURES[kind]
    suffix = f": {detail}" if detail else ""
    print(
        f"个人信息请求失败：{chinese}，未做任何更改。\n"
        f"subject request failed: {english}{suffix}; nothing was changed.",
        file=sys.stderr,
    )
    return 2


def _write(path: Optional[str], data: Dict[str, Any]) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if path is None:
        sys.stdout.write(text)
        return
    # The file holds the full number and everything else: readable by its owner only.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.store.subject_rights",
        description="Export (个人信息保护法第四十五条) or delete (第四十七条) what is held about "
        "one phone number; see docs/privacy.md.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("export", "write everything held about the number as JSON"),
        ("delete", "delete or anonymise what may go (counts only without --yes)"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("phone", help="the mobile number, e.g. 13800138000")
        command.add_argument("--url", help="store URL (default: STORE_URL or the SQLite file)")
        trackers = command.add_mutually_exclusive_group()
        trackers.add_argument("--tracker-url", help="Rasa SQL tracker store URL")
        trackers.add_argument("--endpoints", help="the endpoints.yml Rasa runs with")
        if name == "export":
            command.add_argument("--out", help="file to write (mode 600); default stdout")
        else:
            command.add_argument("--yes", action="store_true", help="really delete")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line; 0 done, 2 failed, 3 refused."""
    args = _parser().parse_args(argv)
    try:
        phone = parse_phone(args.phone)
    except InvalidPhone:
        return _fail("phone")
    try:
        settings = Settings.from_env()
        cipher = load_phone_cipher(settings)
    except (ValueError, PhoneKeyError) as exc:
        return _fail("settings", str(exc))
    url = args.url or settings.store_url
    try:
        with opened_stores(url, args.tracker_url, args.endpoints, settings) as (factory, tracker):
            if args.command == "export":
                data = run_export(factory, cipher, phone, tracker)
            else:
                counts = run_delete(factory, cipher, phone, tracker, dry_run=not args.yes)
    except OPEN_FAILURES as exc:
        return _fail(*open_failure(exc))
    except ActiveMemberships as exc:
        print(
            f"未删除：该号码仍有自动续费的会员，请先为其办理取消。\n"
            f"not deleted: {exc}; cancel them first.",
            file=sys.stderr,
        )
        return 3
    if args.command == "export":
        try:
            _write(args.out, data)
        except OSError as exc:
            return _fail("out", str(exc))
        if args.out:
            print(f"exported {Path(args.out)}: {count_export(data)}")
        return 0
    mode = "done" if args.yes else "dry run, nothing deleted; add --yes to delete"
    masked = f"{phone[:3]}****{phone[-4:]}"
    print(f"deletion for {masked} ({mode}):")
    for key, value in counts.items():
        print(f"  {key:<28}{value:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
