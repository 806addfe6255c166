"""Phone numbers at rest: Fernet encryption (with key rotation) and a keyed blind index.

The keys come from settings (PHONE_ENCRYPTION_KEYS or PHONE_ENCRYPTION_KEY_FILE, and
BLIND_INDEX_KEY); `load_phone_cipher` reads them when a service is built, never at import.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.settings import Settings, warn_about_dev_keys
from core.store.errors import PhoneKeyError

KEYS_SETTING = "PHONE_ENCRYPTION_KEYS"
KEY_FILE_SETTING = "PHONE_ENCRYPTION_KEY_FILE"
INDEX_SETTING = "BLIND_INDEX_KEY"
# Shorter HMAC keys could be guessed; `secrets.token_urlsafe(32)` gives 43 characters.
MIN_INDEX_KEY_LENGTH = 16
NEW_KEY_HINT = (
    "make one with: python -c "
    "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class PhoneCipher:
    """Encrypts phones with the first of its Fernet keys, decrypts with any of them."""

    def __init__(
        self,
        encryption_keys: Sequence[str],
        index_key: str,
        *,
        keys_setting: str = KEYS_SETTING,
        index_setting: str = INDEX_SETTING,
    ) -> None:
        self.keys_setting = keys_setting
        self.index_setting = index_setting
        if not encryption_keys:
            raise PhoneKeyError(keys_setting, f"no encryption key is given; {NEW_KEY_HINT}")
        fernets = [_fernet(key, n, keys_setting) for n, key in enumerate(encryption_keys, 1)]
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)
        if not isinstance(index_key, str) or len(index_key) < MIN_INDEX_KEY_LENGTH:
            raise PhoneKeyError(
                index_setting, f"the key must be at least {MIN_INDEX_KEY_LENGTH} characters long"
            )
        self._index_key = index_key.encode()

    def encrypt(self, phone: str) -> str:
        """A Fernet token of `phone`, made with the first key (new each time)."""
        return self._primary.encrypt(phone.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The phone in `token`; PhoneKeyError if none of the keys opens it."""
        try:
            return self._all.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise self._undecryptable() from exc

    def index(self, phone: str) -> str:
        """The blind index of `phone`: hex HMAC-SHA256 with the blind-index key."""
        return hmac.new(self._index_key, phone.encode(), hashlib.sha256).hexdigest()

    def is_current(self, token: str) -> bool:
        """Whether `token` was made with the first key (rotation has nothing to do)."""
        try:
            self._primary.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """`token` re-encrypted with the first key; PhoneKeyError if no key opens it."""
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise self._undecryptable() from exc

    def _undecryptable(self) -> PhoneKeyError:
        return PhoneKeyError(
            self.keys_setting,
            "a stored phone number cannot be decrypted with any configured key: the key it was "
            "encrypted with is missing (keep retired keys after the new first key until "
            "`python -m core.store.rotate_keys` has run) or the data is corrupt",
        )


def _fernet(key: str, position: int, setting: str) -> Fernet:
    try:
        return Fernet(key.strip())
    except (ValueError, TypeError, AttributeError) as exc:
        # The key itself is never quoted: error messages end up in logs.
        raise PhoneKeyError(
            setting,
            f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes); "
            f"{NEW_KEY_HINT}",
        ) from exc


def read_key_file(path: Path) -> list[str]:
    """The keys in a key file: one per line, blank lines and '#' comments skipped."""
    setting = f"{KEY_FILE_SETTING} ({path})"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise PhoneKeyError(setting, f"cannot read the key file: {reason}") from exc
    keys = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise PhoneKeyError(setting, f"the key file holds no key; {NEW_KEY_HINT}")
    return keys


def load_phone_cipher(settings: Settings) -> PhoneCipher:
    """The cipher of `settings`' keys; warns loudly (once) about development-only keys."""
    warn_about_dev_keys(settings)
    if settings.phone_encryption_key_file is not None:
        path = settings.phone_encryption_key_file
        return PhoneCipher(
            read_key_file(path),
            settings.blind_index_key,
            keys_setting=f"{KEY_FILE_SETTING} ({path})",
        )
    return PhoneCipher(settings.phone_encryption_keys, settings.blind_index_key)
