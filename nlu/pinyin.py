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
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

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


@functools.lru_cache(maxsize=1)
def _all_syllables() -> frozenset:
    """Every toneless syllable pypinyin knows (ü written v), without the vowelless
    interjections (m, n, ng, hm, hng), which would read too much English as pinyin."""
    from pypinyin.pinyin_dict import pinyin_dict
    from pypinyin.style import convert

    read = {
        convert(reading, Style.NORMAL, strict=True)
        for readings in pinyin_dict.values()
        for reading in readings.split(",")
    }
    return frozenset(s for s in read if s.isascii() and any(v in s for v in "aeiouv"))


@functools.lru_cache(maxsize=4096)
def latin_syllables(text: str) -> Tuple[str, ...]:
    """The syllables of pinyin typed in Latin letters (quxiao → qu xiao), or () when `text` is
    not wholly pinyin (English words, codes, a lone letter). Fewest syllables wins (xian is
    one syllable, not xi an)."""
    word = text.lower()
    if len(word) < 2 or not word.isascii() or not word.isalpha():
        return ()
    known = _all_syllables()
    longest = 6  # chuang, shuang, zhuang
    # best[i]: the fewest syllables that spell word[:i] (None: it cannot be spelled)
    best: List[Optional[Tuple[str, ...]]] = [()] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - longest), end):
            head = best[start]
            piece = word[start:end]
            if head is None or piece not in known:
                continue
            if best[end] is None or len(head) + 1 < len(best[end]):  # type: ignore[arg-type]
                best[end] = head + (piece,)
    return best[-1] or ()


def han_count(text: str) -> int:
    """How many Han characters `text` has (the ones with a reading worth comparing)."""
    return sum(1 for char in text if "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff")


@dataclass(frozen=True)
class SoundMatch:
    """A window of the text that sounds like one or more indexed words."""

    start: int
    end: int
    values: Tuple[str, ...]  # what the window sounds like (several: ambiguous)
    heard: str  # the window as written


class SoundIndex:
    """Words by their fuzzy sound key, and the window lengths worth scanning.

    Built once (at training time) and saved as JSON with the model, so a message costs one
    pinyin reading and one dict look-up per window of a length that exists.
    """

    def __init__(self, keys: Optional[Dict[str, List[str]]] = None) -> None:
        """`keys`: fuzzy sound key → the values that sound like it (as `to_dict` wrote them)."""
        self._keys: Dict[str, List[str]] = {k: list(v) for k, v in (keys or {}).items()}
        self._lengths = sorted({k.count(" ") + 1 for k in self._keys}, reverse=True)

    def add(self, form: str, value: str) -> None:
        """Indexes `form` (a written word) as sounding like `value`."""
        values = self._keys.setdefault(sound_key(form.lower()), [])
        if value not in values:
            values.append(value)
        self._lengths = sorted({k.count(" ") + 1 for k in self._keys}, reverse=True)

    def to_dict(self) -> Dict[str, List[str]]:
        """The index as plain JSON data."""
        return {key: list(values) for key, values in sorted(self._keys.items())}

    def lookup(self, text: str) -> List[str]:
        """The values whose sound key equals the sound of the whole `text`."""
        return list(self._keys.get(sound_key(text.lower()), []))

    def find(self, text: str, taken: Iterable[Tuple[int, int]] = ()) -> List[SoundMatch]:
        """Windows of `text` that sound like an indexed word, longest first, never overlapping
        each other or a `taken` span (start, end)."""
        if not self._keys or not text:
            return []
        used = [False] * len(text)
        for start, end in taken:
            for i in range(max(start, 0), min(end, len(text))):
                used[i] = True
        read = [fuzzy(s) for s in syllables(text.lower())]
        found: List[SoundMatch] = []
        for length in self._lengths:
            for start in range(0, len(text) - length + 1):
                end = start + length
                if any(used[start:end]):
                    continue
                values = self._keys.get(" ".join(read[start:end]))
                if not values:
                    continue
                found.append(SoundMatch(start, end, tuple(values), text[start:end]))
                for i in range(start, end):
                    used[i] = True
        return sorted(found, key=lambda m: m.start)
