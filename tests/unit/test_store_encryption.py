"""Phones at rest: Fernet tokens, the keyed blind index, the keys (cipher.py, privacy.py)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

import core.settings as settings_module
from core.settings import (
    DEV_BLIND_INDEX_KEY,
    DEV_PHONE_ENCRYPTION_KEY,
    PROJECT_ROOT,
    Settings,
)
from core.store import PhoneKeyError, StoreError, SubscriptionService
from core.store.cipher import PhoneCipher, load_phone_cipher
from core.store.models import Account, VerificationLock
from core.store.privacy import mask_phones_in_text, phone_index, stored_phone
from core.store.seed import seed_demo

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI, WANG, ZHAO = "13800138000", "13900139000", "13700137000", "13600136000"
STRANGER = "13500135000"  # no account
INDEX_KEY = "a-blind-index-key-for-tests-only"
START = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


def _key() -> str:
    return Fernet.generate_key().decode()


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- nothing in the clear ----------------------------------------------------------------


def test_no_phone_is_stored_in_the_clear(service, engine, subscription_of, plain_phones) -> None:
    phones = (ZHANG, LI, WANG, ZHAO, STRANGER)
    assert plain_phones(engine, phones) == []  # after seeding

    issue = service.issue_code(ZHANG, "c1")
    assert service.check_code(ZHANG, issue.code, "c1").status == "ok"
    wrong = _wrong(service.issue_code(STRANGER, "c2").code)
    assert [service.check_code(STRANGER, wrong, "c2").status for _ in range(5)][-1] == "locked"
    outcome = service.cancel(
        subscription_of(ZHANG, "腾讯视频VIP"),
        phone=ZHANG,
        channel="web",
        conversation_id="c1",
        idempotency_key="k1",
    )
    assert outcome.status == "cancelled"
    assert service.record_reason(outcome.reference, "换号了，新号 139-0013-9000，旧号13800138000")
    (charge,) = (c for c in service.review_charges(ZHANG) if c.after_cancellation)
    service.open_refund_case(
        charge.charge_id, phone=ZHANG, conversation_id="c1", reason="请退到 138 0013 8000"
    )
    service.open_handoff(
        conversation_id="c1", channel="web", phone=ZHANG, summary="用户 13800138000 要人工"
    )
    service.record_sms(ZHANG, "receipt", "failed", error="gateway refused 13800138000")

    assert plain_phones(engine, phones) == []
    with engine.connect() as connection:
        tokens = connection.execute(text("SELECT phone_ciphertext FROM accounts")).scalars()
        assert all(token.startswith("gAAAAA") for token in tokens)
    # The masked forms stay, for people reading tickets and records.
    assert (
        service.cancellation(outcome.reference).reason
        == "换号了，新号 139****9000，旧号138****8000"
    )


def test_lookups_go_through_the_index(service, subscription_of) -> None:
    account = service.account(ZHANG)
    assert (account.phone, account.holder_name) == (ZHANG, "张三")
    assert service.account(f" {ZHANG} ").phone == ZHANG
    assert service.account(STRANGER) is None
    assert {v.product_name for v in service.subscriptions(LI)} == {
        "爱奇艺黄金VIP",
        "百度网盘超级会员",
    }
    (seeded,) = service.cancellations(ZHANG)
    assert service.cancellation(seeded.reference).phone == ZHANG
    assert service.cancellations(STRANGER) == [] and service.subscriptions(STRANGER) == []


def test_the_stored_index_is_hmac_sha256_of_the_phone(service, session_factory, settings) -> None:
    with session_factory.begin() as session:
        stored = session.execute(select(Account.phone_index).where(Account.id == 1)).scalar_one()
    expected = hmac.new(settings.blind_index_key.encode(), ZHANG.encode(), hashlib.sha256)
    assert stored == expected.hexdigest()


def test_the_schema_refuses_a_plain_phone(service, session_factory) -> None:
    good = stored_phone(service.phone_cipher, "13100131000")
    for columns in (
        {"phone_ciphertext": "13100131000", "phone_index": good.index},
        {"phone_ciphertext": good.ciphertext, "phone_index": "13100131000"},
    ):
        with pytest.raises(IntegrityError), session_factory.begin() as session:
            session.add(Account(**columns, holder_name="x", status="active"))
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(
            VerificationLock(
                phone_ciphertext="13100131000", phone_index=good.index, locked_until=START
            )
        )


# --- the cipher and the blind index ------------------------------------------------------


def test_the_blind_index_is_deterministic_per_key_and_differs_across_keys() -> None:
    key = _key()
    one, same = PhoneCipher([key], INDEX_KEY), PhoneCipher([_key()], INDEX_KEY)
    other = PhoneCipher([key], INDEX_KEY + "-2")
    assert one.index(ZHANG) == one.index(ZHANG) == same.index(ZHANG)
    assert one.index(ZHANG) != other.index(ZHANG)
    assert one.index(ZHANG) != one.index(LI)
    assert re.fullmatch(r"[0-9a-f]{64}", one.index(ZHANG))
    assert phone_index(one, f" {ZHANG}\n") == one.index(ZHANG)


def test_encryption_is_randomised_and_round_trips() -> None:
    cipher = PhoneCipher([_key()], INDEX_KEY)
    first, second = cipher.encrypt(ZHANG), cipher.encrypt(ZHANG)
    assert first != second and ZHANG not in first
    assert cipher.decrypt(first) == cipher.decrypt(second) == ZHANG


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old, new = _key(), _key()
    by_old = PhoneCipher([old], INDEX_KEY).encrypt(ZHANG)
    both = PhoneCipher([new, old], INDEX_KEY)
    assert both.decrypt(by_old) == ZHANG
    assert not both.is_current(by_old)
    assert PhoneCipher([new], INDEX_KEY).decrypt(both.encrypt(ZHANG)) == ZHANG
    rotated = both.rotate(by_old)
    assert both.is_current(rotated) and PhoneCipher([new], INDEX_KEY).decrypt(rotated) == ZHANG


def test_a_token_of_a_missing_key_is_an_operator_error() -> None:
    token = PhoneCipher([_key()], INDEX_KEY).encrypt(ZHANG)
    with pytest.raises(PhoneKeyError, match="PHONE_ENCRYPTION_KEYS") as raised:
        PhoneCipher([_key()], INDEX_KEY).decrypt(token)
    assert raised.value.setting == "PHONE_ENCRYPTION_KEYS"
    assert isinstance(raised.value, StoreError)
    with pytest.raises(PhoneKeyError, match="rotate_keys"):
        PhoneCipher([_key()], INDEX_KEY).rotate(token)


@pytest.mark.parametrize("bad", ["", "not-a-key", "c2hvcnQ=", DEV_PHONE_ENCRYPTION_KEY[:-4]])
def test_a_malformed_key_names_the_setting_not_the_key(bad: str) -> None:
    keys = [_key(), bad] if bad else []
    with pytest.raises(PhoneKeyError, match="PHONE_ENCRYPTION_KEYS") as raised:
        PhoneCipher(keys, INDEX_KEY)
    assert not bad or bad not in str(raised.value)


def test_a_short_blind_index_key_is_refused() -> None:
    with pytest.raises(PhoneKeyError, match="BLIND_INDEX_KEY"):
        PhoneCipher([_key()], "short")


# --- keys from settings ------------------------------------------------------------------


def test_settings_read_the_keys_from_the_environment(tmp_path: Path) -> None:
    first, second = _key(), _key()
    settings = Settings.from_env(
        {"PHONE_ENCRYPTION_KEYS": f" {first} ,{second},", "BLIND_INDEX_KEY": INDEX_KEY}
    )
    assert settings.phone_encryption_keys == (first, second)
    assert settings.phone_encryption_key_file is None
    assert settings.blind_index_key == INDEX_KEY and settings.dev_only_keys() == []
    from_file = Settings.from_env({"PHONE_ENCRYPTION_KEY_FILE": "var/keys.txt"})
    assert from_file.phone_encryption_key_file == PROJECT_ROOT / "var" / "keys.txt"
    assert from_file.dev_only_keys() == ["BLIND_INDEX_KEY"]
    with pytest.raises(ValueError, match="not both"):
        Settings.from_env(
            {"PHONE_ENCRYPTION_KEYS": first, "PHONE_ENCRYPTION_KEY_FILE": str(tmp_path / "k")}
        )


def test_the_defaults_are_the_dev_keys() -> None:
    for settings in (Settings(), Settings.from_env({})):
        assert settings.phone_encryption_keys == (DEV_PHONE_ENCRYPTION_KEY,)
        assert settings.blind_index_key == DEV_BLIND_INDEX_KEY
        assert settings.dev_only_keys() == ["PHONE_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"]


def test_dev_keys_are_warned_about_loudly_once(monkeypatch, caplog) -> None:
    monkeypatch.setattr(settings_module, "_dev_key_warnings", set())
    with caplog.at_level(logging.WARNING, logger="core.settings"):
        load_phone_cipher(Settings())
        load_phone_cipher(Settings())
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2
    assert all("DEVELOPMENT-ONLY" in m for m in messages)
    assert "PHONE_ENCRYPTION_KEYS" in messages[0] and "BLIND_INDEX_KEY" in messages[1]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="core.settings"):
        load_phone_cipher(Settings(phone_encryption_keys=(_key(),), blind_index_key=INDEX_KEY))
    assert caplog.records == []


def test_a_key_file_holds_one_key_per_line(tmp_path: Path) -> None:
    first, second = _key(), _key()
    key_file = tmp_path / "phone.keys"
    key_file.write_text(f"# newest first\n{first}\n\n{second}\n", encoding="utf-8")
    settings = Settings(phone_encryption_key_file=key_file, blind_index_key=INDEX_KEY)
    cipher = load_phone_cipher(settings)
    assert cipher.is_current(PhoneCipher([first], INDEX_KEY).encrypt(ZHANG))
    assert cipher.decrypt(PhoneCipher([second], INDEX_KEY).encrypt(ZHANG)) == ZHANG


@pytest.mark.parametrize("content", [None, "", "# only a comment\n", "not-a-key\n"])
def test_a_bad_key_file_names_the_setting(tmp_path: Path, content) -> None:
    key_file = tmp_path / "phone.keys"
    if content is not None:
        key_file.write_text(content, encoding="utf-8")
    settings = Settings(phone_encryption_key_file=key_file, blind_index_key=INDEX_KEY)
    with pytest.raises(PhoneKeyError, match="PHONE_ENCRYPTION_KEY_FILE") as raised:
        load_phone_cipher(settings)
    assert str(key_file) in str(raised.value)


# --- keys that do not fit the data -------------------------------------------------------


def _service_with(service: SubscriptionService, **keys: object) -> SubscriptionService:
    settings = replace(service.settings, **keys)
    return SubscriptionService(service.session_factory, service.catalog, settings)


def test_a_wrong_encryption_key_fails_loudly_on_first_use(service) -> None:
    wrong = _service_with(service, phone_encryption_keys=(_key(),))
    with pytest.raises(PhoneKeyError, match="PHONE_ENCRYPTION_KEYS"):
        wrong.issue_code(STRANGER, "c")


def test_a_wrong_blind_index_key_fails_loudly_instead_of_finding_nothing(service) -> None:
    wrong = _service_with(service, blind_index_key=INDEX_KEY)
    with pytest.raises(PhoneKeyError, match="BLIND_INDEX_KEY"):
        wrong.account(ZHANG)
    with pytest.raises(PhoneKeyError, match="BLIND_INDEX_KEY"):
        wrong.issue_code(ZHANG, "c")


def test_the_keys_are_checked_as_soon_as_there_is_an_account(
    session_factory, catalog, settings, clock
) -> None:
    seeder = SubscriptionService(session_factory, catalog, settings, clock=clock)
    # Built on an empty store: nothing to check against yet, and nothing to get wrong.
    wrong = _service_with(seeder, blind_index_key=INDEX_KEY)
    assert wrong.account(ZHANG) is None
    seed_demo(seeder, catalog, clock())
    with pytest.raises(PhoneKeyError, match="BLIND_INDEX_KEY"):
        wrong.account(ZHANG)


@pytest.mark.parametrize(
    ("text_in", "text_out"),
    [
        ("我的号码13800138000", "我的号码138****8000"),
        ("138 0013 8000 和 +86-139-0013-9000", "138****8000 和 139****9000"),
        ("退订 TD20261124K7M2Q5，验证码 123456", "退订 TD20261124K7M2Q5，验证码 123456"),
        ("138****8000", "138****8000"),
        ("订单 213800138000", "订单 213800138000"),
    ],
)
def test_phones_in_free_text_are_masked(text_in: str, text_out: str) -> None:
    assert mask_phones_in_text(text_in) == text_out
