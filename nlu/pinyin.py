"""How Chinese text sounds: one toneless pinyin syllable per character, and a fuzzy key.

Speech recognisers write words that sound right and read wrong (疼讯视频 for 腾讯视频, 取销 for
取消). What they keep is the sound, so the NLU compares sounds: `syllables` gives one syllable
per character (the same length as the text, so offsets stay exact), `fuzzy` folds the
confusions Mandarin speakers and recognisers make (tones are already gone; 平翘舌 zh/z ch/c
sh/s, n/l, 前后鼻音 in/ing en/eng an/ang), and `sound_key` joins them into a comparable key.

pypinyin (pinned in pyproject.toml) reads characters with its phrase dictionary, so a
polyphone gets the reading its neighbours imply (银行 yin hang, 行为 xing wei).
"""

from __future__ import annotations

import functools
from typing import List, Tuple

from pypinyin import Style, lazy_pinyin

# Initials first (longest first), then finals: each pair is (heard, folded to).
_INITIALS: Tuple[Tuple[str, str], ...] = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FINALS: Tuple[Tuple[str, str], ...] = (("ing", "in"), ("eng", "en"), ("ang", "an"))


def _keep(chars: str) -> List[str]:
    """Characters without a reading (Latin letters, digits, punctuation) stand for themselves."""
    return [char.lower() for char in chars]


@functools.lru_cache(maxsize=4096)
def _syllables(text: str) -> Tuple[str, ...]:
    read = lazy_pinyin(text, style=Style.NORMAL, errors=_keep)
    if len(read) != len(text):  # pypinyin never merges characters, but offsets must be exact
        read = [lazy_pinyin(char, style=Style.NORMAL, errors=_keep)[0] for char in text]
    return tuple(read)


def syllables(text: str) -> List[str]:
    """One toneless syllable per character of `text` (other characters lower-cased as they are)."""
    return list(_syllables(text))


@functools.lru_cache(maxsize=2048)
def fuzzy(syllable: str) -> str:
    """The syllable with the common mishearings folded: zhuan → zuan, ning → lin, sheng → sen."""
    for heard, folded in _INITIALS:
        if syllable.startswith(heard):
            syllable = folded + syllable[len(heard) :]
            break
    for heard, folded in _FINALS:
        if syllable.endswith(heard):
            syllable = syllable[: -len(heard)] + folded
            break
    return syllable


def sound_key(text: str, exact: bool = False) -> str:
    """The sound of `text` as one string: toneless syllables, fuzzy-folded unless `exact`."""
    read = syllables(text)
    return " ".join(read if exact else (fuzzy(s) for s in read))
