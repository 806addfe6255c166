"""Canonical form for Chinese user text before jieba tokenisation.

Three meaning-preserving steps, applied to user messages and training data alike:

1. full-width ASCII forms (U+FF01-U+FF5E, U+3000) become plain ASCII, except the ones
   that are the standard Chinese punctuation marks (，！？：；（）～ stay);
2. Traditional characters become Simplified by OpenCC's phrase-level ``t2s`` conversion
   (乾脆 → 干脆, 瞭解 → 了解, 乾坤 stays), never changing the length;
3. inside runs that are clearly numbers (phones, codes, references) Chinese digits
   become ASCII digits and single spaces/dashes between digit groups are dropped, and so are
   those between the groups of a reference read out in groups (TD 2026 1022 7Z3D JT).

Steps 1-2 never change the length; step 3 only replaces or deletes characters, so
the output is never longer than the input and ``normalize_with_map`` can report
where every original character ended up (used to move annotated entity spans).
"""

from __future__ import annotations

import functools
import re
from typing import Callable

from core.digits import SPOKEN_DIGITS
from core.phone import COUNTRY_CODE_PATTERN

# Chinese digit characters as spoken or as ASR writes them (幺 is "one" when reading numbers):
# the project's one table (兩 never reaches it: step 2 has made it 两).
_CN_DIGITS = SPOKEN_DIGITS
_DIGIT_CLASS = "0-9" + "".join(_CN_DIGITS)
_SEPARATORS = " -\u2013\u2014"  # U+3000 is already a plain space after step 1
# A maximal digit run with single separators between groups. Runs glued to ASCII letters
# belong to reference codes such as B2N6WD and are left alone; the digit classes in the
# look-arounds stop the regex from matching a tail of a run whose head was rejected.
_SEP_CLASS = re.escape(_SEPARATORS)  # escaped: a bare "-" would make a character range
_RUN = re.compile(
    rf"(?<![A-Za-z{_DIGIT_CLASS}])[{_DIGIT_CLASS}]+"
    rf"(?:[{_SEP_CLASS}][{_DIGIT_CLASS}]+)*(?![A-Za-z{_DIGIT_CLASS}])"
)
_SPLIT = re.compile(f"([{_SEP_CLASS}])")
# A reference (TD + 8-digit date + 6 letters or digits) read out in groups, "TD 2026 1022 7Z3D
# JT": the single spaces or dashes between its groups go, so that it is one token again.
_SPACED_REFERENCE = re.compile(
    rf"(?<![0-9A-Za-z])[Tt][Dd][{_SEP_CLASS}]?(?:[0-9][{_SEP_CLASS}]?){{8}}"
    rf"(?:[0-9A-Za-z][{_SEP_CLASS}]?){{5}}[0-9A-Za-z](?![0-9A-Za-z])"
)
_MAX_JOINED = 11  # a mainland mobile number; longer joins would glue separate numbers together
# A country code leading the first group ("+86 138 0013 8000", "0086-138…", "+86138 0013 8000")
# does not count towards the 11 digits when a mobile number's head (1 then 3-9) follows it.
_COUNTRY_CODE = re.compile(COUNTRY_CODE_PATTERN.replace(r"\+?", ""))
_MOBILE_HEAD = re.compile(r"1[3-9]")
# Reduplicated idioms made only of digit characters ("in twos and threes", "mostly").
_IDIOMS = frozenset({"三三两两", "七七八八"})
# Full-width forms that are ordinary Chinese punctuation (GB/T 15834), not "wide ASCII".
_CHINESE_PUNCTUATION = "，！？：；（）～"
# Measure words: in "15一个月" the trailing 一 counts months, it is not a digit of 15.
# Han stretches are converted on their own when a phrase would change the length.
_HAN_STRETCH = re.compile(r"([^\u3400-\u9fff\uf900-\ufaff]+)")
_UNITS = frozenset("个次年月天日周块元角毛分秒位张台部份条项种家下点期季本件遍回趟倍半些样笔")


@functools.lru_cache(maxsize=1)
def _t2s() -> Callable[[str], str]:
    """OpenCC's phrase-level Traditional -> Simplified converter (its dictionaries load once)."""
    # The official binding (the old reimplementation installed the same module name).
    import opencc

    return opencc.OpenCC("t2s").convert


@functools.lru_cache(maxsize=1)
def _width_table() -> dict[int, str]:
    """One-to-one table for step 1: full-width ASCII forms and the ideographic space."""
    table = {
        code: chr(code - 0xFEE0)
        for code in range(0xFF01, 0xFF5F)
        if chr(code) not in _CHINESE_PUNCTUATION
    }
    table[0x3000] = " "
    return table


def _to_simplified(text: str) -> str:
    """Step 2, length kept: phrases converted as OpenCC reads them (乾脆 → 干脆, 瞭解 → 了解,
    while 乾坤 and 瞭望 stay), character by character in a stretch where a phrase would change
    the length, so that every original character keeps one place in the output."""
    converted = _t2s()(text)
    if len(converted) == len(text):
        return converted
    pieces = []
    for piece in _HAN_STRETCH.split(text):
        out = _t2s()(piece)
        if len(out) != len(piece):
            out = "".join(c if len(c := _t2s()(char)) == 1 else char for char in piece)
        pieces.append(out)
    return "".join(pieces)


def _is_number(run: str) -> bool:
    """Whether a digit run is clearly a number rather than a quantity, ordinal or idiom."""
    if run in _IDIOMS:
        return False
    digits = [ch for ch in run if ch not in _SEPARATORS]
    has_strong = any(ch == "幺" or ch.isascii() for ch in digits)
    return len(digits) >= 4 or (len(digits) >= 3 and has_strong)


def _rewrite_run(run: str) -> list[str]:
    """Replacement for each character of a number run ('' for dropped separators)."""
    if not _is_number(run):
        return list(run)
    parts = _SPLIT.split(run)  # groups at even indices, separators at odd ones
    # "10-20" / "100-200" are ranges, not a split number: convert but do not join.
    is_range = len(parts) == 3 and parts[1] != " " and max(len(parts[0]), len(parts[2])) <= 3
    out = [_CN_DIGITS.get(ch, ch) for ch in parts[0]]
    joined = len(parts[0])
    lead = "".join(_CN_DIGITS.get(ch, ch) for ch in "".join(parts[0:3:2]))
    code = _COUNTRY_CODE.match(lead)
    if code and code.end() <= len(parts[0]) and _MOBILE_HEAD.match(lead, code.end()):
        joined -= code.end()
    for sep, group in zip(parts[1::2], parts[2::2], strict=True):
        if not is_range and joined + len(group) <= _MAX_JOINED:
            out.append("")  # greedy from the left: glue this group onto the number so far
            joined += len(group)
        else:
            out.append(sep)
            joined = len(group)
        out.extend(_CN_DIGITS.get(ch, ch) for ch in group)
    return out


def _trim_quantity(run: str, following: str) -> str:
    """Drop a trailing 一/两 that counts the next measure word after ASCII digits."""
    if len(run) > 1 and run[-1] in "一两" and following in _UNITS:
        head = run[:-1].rstrip(_SEPARATORS)
        if head[-1:].isascii() and head[-1:].isdigit():
            return head
    return run


def normalize(text: str) -> str:
    """Return the canonical form of a user message."""
    return normalize_with_map(text)[0]


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Normalise text and map each original index (plus the end) to its output index."""
    text = _to_simplified(text.translate(_width_table()))
    pieces: list[str] = []
    references = [m.span() for m in _SPACED_REFERENCE.finditer(text)]
    runs = [
        m
        for m in _RUN.finditer(text)
        if not any(start < m.end() and m.start() < end for start, end in references)
    ]
    spans = sorted(
        [(start, end, None) for start, end in references] + [(m.start(), m.end(), m) for m in runs]
    )
    for start, end, match in spans:
        # pieces holds one entry per original character, so its length is the read position
        pieces.extend(text[len(pieces) : start])
        if match is None:  # a reference read in groups: its separators go
            pieces.extend("" if ch in _SEPARATORS else ch for ch in text[start:end])
        else:
            run = _trim_quantity(match.group(), text[end : end + 1])
            pieces.extend(_rewrite_run(run))
    pieces.extend(text[len(pieces) :])
    return joined_with_map(pieces)


def joined_with_map(pieces: list[str]) -> tuple[str, list[int]]:
    """The text of `pieces` (what each original character became, "" if dropped) and where
    each original index (plus the end) is in it."""
    mapping, position = [], 0
    for piece in pieces:
        mapping.append(position)
        position += len(piece)
    mapping.append(position)
    return "".join(pieces), mapping


def remap_span(mapping: list[int], start: int, end: int) -> tuple[int, int]:
    """Move an original [start, end) span into normalised-text coordinates."""
    return mapping[start], mapping[end]
