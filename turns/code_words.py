"""How a short typed command or code word reads, whoever reads it (the SMS channel's operator
commands, the dialogue's SMS consent): one normalisation, so both agree on what was sent."""

from __future__ import annotations

import re
import unicodedata

# Final punctuation people add to a command ("确认取消！", "TD。").
_TRAILING = "。.!！~～?？,，、"
_SPACES = re.compile(r"\s+")


def code_word(text: str) -> str:
    """The text as a code word: NFKC (full-width → ASCII), no spaces, upper case, no final stop."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).upper().rstrip(_TRAILING)
