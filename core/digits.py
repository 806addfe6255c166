"""Digits as people say and write them: the one table of spoken digits (幺三八…).

Read by the NLU normaliser, the redaction rules, the spoken-input tidying of the voice channel
and the amounts of charge claims; spelt the other way by the voice renderings.
"""

from __future__ import annotations

import unicodedata
from typing import Dict, Optional

# Chinese digit characters as spoken or as ASR writes them: 幺 is "one" when reading numbers
# aloud, 两/兩 is "two", ○ is how some input methods write 〇.
SPOKEN_DIGITS: Dict[str, str] = {
    "零": "0", "〇": "0", "○": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "兩": "2",
    "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}  # fmt: skip

# Each digit as a word, indexed by its value (one is 一 here: see ONE_ALOUD).
DIGIT_WORDS = "零一二三四五六七八九"
# One said when reading a number digit by digit (phones, codes): 幺, never mistaken for 七.
ONE_ALOUD = "幺"


def digit_of(char: str) -> Optional[str]:
    """The ASCII digit a character stands for (any script's digit, or spoken), else None."""
    if char in SPOKEN_DIGITS:
        return SPOKEN_DIGITS[char]
    value = unicodedata.decimal(char, None)
    return None if value is None else str(value)
