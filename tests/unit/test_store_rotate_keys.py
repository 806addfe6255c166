"""Key rotation: re-encrypting the stored phones with a new first key (rotate_keys.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from core.store import InvalidArgument, PhoneKeyError, SubscriptionService
from core.store.cipher import PhoneCipher
from core.store.rotate_keys import main, rotate_phone_keys
from core.store.seed import seed_demo

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI = "13800138000", "13900139000"
INDEX_KEY = "a-blind-index-key-for-rotation-tests"
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
# The demo accounts, three challenges, one verified session (lockouts write no lock row),
# one number given.
PHONE_ROWS = 4 + 3 + 1 + 1


def _service(session_factory, catalog, settings, clock, *keys: str) -> SubscriptionService:
    keyed = replace(settings, phone_encryption_keys=keys, blind_index_key=INDEX_KEY)
    return SubscriptionService(session_factory, catalog, keyed, clock=clock)


@pytest.fixture
def old_service(session_factory, catalog, settings, clock) -> SubscriptionService:
    """The demo data and some verification rows, every phone encrypted with OLD."""
    service = _service(session_factory, catalog, settings, clock, OLD)
    seed_demo(service, catalog, clock())
    service.remember_conversation_phone("c1", ZHANG)
    service.issue_code(ZHANG, "c1")
    wrong = f"{(int(service.issue_code(LI, 'c2').code) + 1) % 1_000_000:06d}"
    while service.check_code(LI, wrong, "c2").status != "locked":
        pass
    proved = service.issue_code(ZHANG, "c3")
    assert service.check_code(ZHANG, proved.code, "c3").status == "ok"
    return service


def _tokens(engine) -> list[str]:
    with engine.connect() as connection:
        return [
            token
            for table in (
                "accounts",
                "verification_challenges",
                "verification_locks",
                "verified_sessions",
                "conversation_phones",
            )
            for token in connection.execute(text(f"SELECT phone_ciphertext FROM {table}")).scalars()
        ]


def test_rotation_moves_every_phone_to_the_new_key(
    old_service, engine, session_factory, catalog, settings, clock
) -> None:
    both = _service(session_factory, catalog, settings, clock, NEW, OLD)
    assert both.account(ZHANG).holder_name == "张三"  # old rows readable with [new, old]
    with pytest.raises(PhoneKeyError, match="PHONE_ENCRYPTION_KEYS"):
        _service(session_factory, catalog, settings, clock, NEW).account(ZHANG)

    tables = rotate_phone_keys(session_factory, both.phone_cipher, batch_size=2)
    assert {t.table: (t.rows, t.rotated) for t in tables} == {
        "accounts": (4, 4),
        "verification_challenges": (3, 3),
        "verification_locks": (0, 0),
        "verified_sessions": (1, 1),
        "conversation_phones": (1, 1),
    }
    new_only = PhoneCipher([NEW], INDEX_KEY)
    assert len(_tokens(engine)) == PHONE_ROWS
    assert all(new_only.is_current(token) for token in _tokens(engine))

    service = _service(session_factory, catalog, settings, clock, NEW)
    assert service.account(ZHANG).phone == ZHANG  # readable with [new] alone
    (cancellation,) = service.cancellations(ZHANG)
    assert service.cancellation(cancellation.reference).phone == ZHANG
    assert service.issue_code(LI, "c2").status == "locked"
    assert service.session_phone("c3") == ZHANG  # the session reads with [new] alone


def test_rotation_is_idempotent(old_service, engine, session_factory) -> None:
    both = PhoneCipher([NEW, OLD], INDEX_KEY)
    rotate_phone_keys(session_factory, both)
    after_first = _tokens(engine)
    again = rotate_phone_keys(session_factory, both, batch_size=3)
    assert sum(t.rotated for t in again) == 0 and sum(t.rows for t in again) == PHONE_ROWS
    assert _tokens(engine) == after_first


def test_rotation_without_the_old_key_is_an_operator_error(old_service, session_factory) -> None:
    with pytest.raises(PhoneKeyError, match="PHONE_ENCRYPTION_KEYS"):
        rotate_phone_keys(session_factory, PhoneCipher([NEW], INDEX_KEY))
    with pytest.raises(InvalidArgument):
        rotate_phone_keys(session_factory, PhoneCipher([NEW, OLD], INDEX_KEY), batch_size=0)


def test_the_command_line_rotates(
    old_service, engine, store_url, monkeypatch, capsys, tmp_path: Path
) -> None:
    monkeypatch.delenv("PHONE_ENCRYPTION_KEY_FILE", raising=False)
    monkeypatch.setenv("BLIND_INDEX_KEY", INDEX_KEY)
    monkeypatch.setenv("PHONE_ENCRYPTION_KEYS", f"{NEW},{OLD}")
    assert main(["--url", store_url, "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert f"re-encrypted {PHONE_ROWS} of {PHONE_ROWS} stored phones" in out
    assert "accounts 4/4" in out
    assert main(["--url", store_url]) == 0
    assert f"re-encrypted 0 of {PHONE_ROWS}" in capsys.readouterr().out

    monkeypatch.delenv("PHONE_ENCRYPTION_KEYS")
    key_file = tmp_path / "phone.keys"
    key_file.write_text(f"{NEW}\n", encoding="utf-8")
    monkeypatch.setenv("PHONE_ENCRYPTION_KEY_FILE", str(key_file))
    assert main(["--url", store_url]) == 0  # the old key is no longer needed


def test_the_command_line_names_a_bad_key(old_service, store_url, monkeypatch, capsys) -> None:
    monkeypatch.delenv("PHONE_ENCRYPTION_KEY_FILE", raising=False)
    monkeypatch.setenv("BLIND_INDEX_KEY", INDEX_KEY)
    monkeypatch.setenv("PHONE_ENCRYPTION_KEYS", "not-a-key")
    assert main(["--url", store_url]) == 1
    assert "PHONE_ENCRYPTION_KEYS" in capsys.readouterr().err
    monkeypatch.setenv("PHONE_ENCRYPTION_KEYS", NEW)  # OLD was dropped too early
    assert main(["--url", store_url]) == 1
    assert "PHONE_ENCRYPTION_KEYS" in capsys.readouterr().err
    assert main(["--url", "not a url"]) == 2
