"""Phone numbers in the store: the one place phone columns are read and written.

Every write of a phone goes through `stored_phone` (a Fernet token and a blind index), every
look-up through `phone_index` and every read through `phone_from_store`, so no full phone
number is ever kept in the clear. Only key rotation (rotate_keys.py) and migration 0002
rewrite the tokens in place, with the same cipher.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import select

from core.phone import mask_phone, parse_mobile  # noqa: F401  (mask_phone: for older imports)
from core.store.cipher import PhoneCipher
from core.store.db import Executor
from core.store.errors import InvalidPhone, PhoneKeyError
from core.store.models import Account

# The store masks phones in the free text it keeps (reasons, summaries) with this.
from redaction.text import mask_phones_in_text  # noqa: F401


def normalize_phone(phone: str) -> str:
    """The mobile number `phone` is written as (core.phone.parse_mobile), as 11 ASCII digits;
    raises InvalidPhone when it is not one."""
    mobile = parse_mobile(phone)
    if mobile is None:
        raise InvalidPhone("a phone number must be a mainland mobile number (11 digits)")
    return mobile


@dataclass(frozen=True)
class StoredPhone:
    """What a row keeps of a phone: its Fernet token and its blind index."""

    ciphertext: str
    index: str

    def columns(self) -> dict[str, str]:
        """The values of a row's phone_ciphertext and phone_index columns."""
        return {"phone_ciphertext": self.ciphertext, "phone_index": self.index}


def stored_phone(cipher: PhoneCipher, phone: str) -> StoredPhone:
    """The values written to a row's phone columns for `phone`."""
    phone = normalize_phone(phone)
    return StoredPhone(cipher.encrypt(phone), cipher.index(phone))


def phone_index(cipher: PhoneCipher, phone: str) -> str:
    """The value a phone_index column is compared with to find `phone`."""
    return cipher.index(normalize_phone(phone))


def phone_from_store(cipher: PhoneCipher, ciphertext: str) -> str:
    """The phone number held in a phone_ciphertext column's value."""
    return cipher.decrypt(ciphertext)


def check_phone_keys(session: Executor, cipher: PhoneCipher) -> bool:
    """Checks the keys against one stored account; False if there is none to check.

    A wrong encryption key fails loudly on the first read anyway, but a wrong blind-index key
    would only make every look-up find nothing; this turns both into a PhoneKeyError.
    """
    row = session.execute(
        select(Account.phone_ciphertext, Account.phone_index).order_by(Account.id).limit(1)
    ).one_or_none()
    if row is None:
        return False
    phone = cipher.decrypt(row.phone_ciphertext)
    if not hmac.compare_digest(cipher.index(phone), row.phone_index):
        raise PhoneKeyError(
            cipher.index_setting,
            "the stored phones were indexed with another key, so no look-up would find them; "
            "restore the key they were indexed with",
        )
    return True
