"""The redaction rules: mobile numbers are masked, codes and other long digit runs hidden.

Pure functions over text and JSON-like values, shared by the tracker store wrapper, the
log record factory and the subscription store (which masks phones in free text it keeps).

Two passes, so that redaction can never read less than the NLU does:

1. the NLU's own normaliser (`nlu.normalize.normalize_with_map`: full-width forms,
   Traditional characters, spoken digits, groups split by spaces or dashes) is run, and
   every phone or code shape in its output is hidden at its place in the original text;
2. a wider net on what is left: any decimal digit of any script, spoken digits, and up to
   three separators (any space, any dash) between digits.

Channel assertion tokens (`core.identity.assertion`, `v1.<payload>.<mac>`) carry the phone in
base64: they are hidden whole, before any digit rule sees them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any, Callable, List, Tuple

from core.digits import SPOKEN_DIGITS, digit_of
from core.phone import COUNTRY_CODE_PATTERN, MOBILE_PATTERN, mask_phone
from nlu.normalize import normalize_with_map

REDACTED = "[已隐去]"
CODE_MASK = "******"

# A signed channel assertion: version, base64url payload, base64url HMAC (43 characters).
_ASSERTION = re.compile(
    r"(?<![A-Za-z0-9_\-.])v1\.[A-Za-z0-9_\-]{16,}={0,2}\.[A-Za-z0-9_\-]{16,}={0,2}"
)

# Pass 1: shapes in the NLU's normalised text (nlu/catalog_entities.py reads phone_number
# as `(+)(86)1[3-9]` + 9 digits and verification_code as 6 digits, each a whole token).
# The country code is core.phone's; the digits stay \d here: pass 2 reads any script's digits.
_NLU_PHONE = re.compile(
    rf"(?<!\d)(?:{COUNTRY_CODE_PATTERN}[ \-\u2013\u2014]?)?(1[3-9]\d{{9}})(?!\d)"
)
_NLU_CODE = re.compile(r"(?<!\d)(?<!\d\.)\d{6}(?!\d)(?!\.\d)")

# Pass 2: a view of the text of the same length, each digit of any script (and each spoken
# digit, core.digits) an ASCII digit, each separator a space, so ASCII patterns find them all.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_VIEW_PHONE = re.compile(
    r"(?<!\d)(?:\+ {0,3}(?:00)?86 {0,3}|(?:00)?86 {0,3})?(1 {0,3}[3-9](?: {0,3}\d){9})(?!\d)"
)
_VIEW_CODE = re.compile(r"(?<!\d)(?<!\d\.)\d(?: ?\d){5}(?!\d)(?!\.\d)")
_VIEW_RUN = re.compile(r"(?<!\d)\d(?: ?\d){5,}(?!\d)")
_MOBILE = re.compile(MOBILE_PATTERN)
_NON_DIGIT = re.compile(r"\D")
# Anything that could be a digit to either pass: a text without one is returned as it is.
_DIGIT_LIKE = re.compile(rf"[\d{''.join(SPOKEN_DIGITS)}]")
# Where either pass can find something: six or more digits with at most three separators
# between them. Both passes only ever look at these places (plus a little context), so a long
# text (a debug dump) costs a regex scan, not a normalisation of all of it.
_DIGIT_CLASS = rf"[\d{''.join(SPOKEN_DIGITS)}]"
_CANDIDATE = re.compile(rf"{_DIGIT_CLASS}(?:[\s{re.escape(_DASHES)}]{{0,3}}{_DIGIT_CLASS}){{5,}}")
# Context kept on each side of a candidate: a "+86 " prefix, the neighbours that decide
# whether a run is a number (letters, a measure word after it).
_CONTEXT = 4

Replacement = Tuple[int, int, str]


def _view_char(char: str) -> str:
    digit = digit_of(char)
    if digit is not None:
        return digit
    if char.isspace() or char in _DASHES:
        return " "
    if char == "\uff0b":  # full-width plus
        return "+"
    return char


class _ViewTable(dict):
    """str.translate's table for `_view`, filled in as characters are first seen."""

    def __missing__(self, code: int) -> str:
        self[code] = _view_char(chr(code))
        return self[code]


_VIEW_TABLE = _ViewTable()


def _view(text: str) -> str:
    """`text` with every digit-like character an ASCII digit and every separator a space."""
    return text.translate(_VIEW_TABLE)


def _windows(text: str) -> List[Tuple[int, int]]:
    """The places (with context) where a phone or a code may be, merged where they touch."""
    windows: List[Tuple[int, int]] = []
    for match in _CANDIDATE.finditer(text):
        start, end = max(0, match.start() - _CONTEXT), min(len(text), match.end() + _CONTEXT)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _in_windows(
    text: str, finder: Callable[[str, bool], List[Replacement]], with_codes: bool
) -> List[Replacement]:
    """`finder`'s replacements in each window of `text`, in `text`'s coordinates."""
    found: List[Replacement] = []
    for start, end in _windows(text):
        found.extend(
            (start + a, start + b, replacement)
            for a, b, replacement in finder(text[start:end], with_codes)
        )
    return found


def _nlu_matches(text: str, with_codes: bool) -> List[Replacement]:
    """Pass 1: what the NLU would read as a phone (or code), at its place in `text`."""
    normalized, mapping = normalize_with_map(text)
    found: List[Replacement] = []

    def add(match: re.Match, replacement: str) -> None:
        # mapping[i] is where original character i ended up; it never decreases.
        start, end = bisect_left(mapping, match.start()), bisect_left(mapping, match.end())
        found.append((start, end, replacement))

    for match in _NLU_PHONE.finditer(normalized):
        add(match, mask_phone("".join(digit_of(c) or c for c in match.group(1))))
    if with_codes:
        for match in _NLU_CODE.finditer(normalized):
            add(match, CODE_MASK)
    return found


# Spoken digits as letters: a number written in digits stays a number when a spoken digit
# stands beside it ("13800138000一"), which the digit view would read as one 12-digit run.
_SPOKEN_AS_LETTERS = {ord(c): "x" for c in SPOKEN_DIGITS}


def _view_matches(text: str, with_codes: bool) -> List[Replacement]:
    """Pass 2: phones (and codes, long spoken or non-ASCII runs) in the digit view."""
    view = _view(text)
    found: List[Replacement] = []
    for candidate in (view, _view(text.translate(_SPOKEN_AS_LETTERS))):
        for match in _VIEW_PHONE.finditer(candidate):
            digits = _NON_DIGIT.sub("", match.group(1))
            found.append((match.start(), match.end(), mask_phone(digits)))
    if not with_codes:
        return found
    for match in _VIEW_CODE.finditer(view):
        found.append((match.start(), match.end(), CODE_MASK))
    for match in _VIEW_RUN.finditer(view):
        original = text[match.start() : match.end()]
        # Long plain ASCII runs are ids, timestamps and references; written any other way
        # (spoken, full-width, another script) a long run is something a person said.
        if all(c.isascii() for c in original if digit_of(c) is not None):
            continue
        digits = _NON_DIGIT.sub("", match.group(0))
        masked = mask_phone(digits) if _MOBILE.fullmatch(digits) else "*" * len(digits)
        found.append((match.start(), match.end(), masked))
    return found


def _apply(text: str, replacements: List[Replacement]) -> str:
    """`text` with the replacements made; of overlapping ones the first (longest) wins."""
    out, position = [], 0
    for start, end, replacement in sorted(replacements, key=lambda r: (r[0], -r[1])):
        if start < position:
            if end > position:  # overlapping the previous one: hide the rest too
                out.append("*" * len(_NON_DIGIT.sub("", _view(text[position:end]))))
                position = end
            continue
        out.append(text[position:start])
        out.append(replacement)
        position = end
    out.append(text[position:])
    return "".join(out)


def _redact(text: str, with_codes: bool) -> str:
    if not text or not _DIGIT_LIKE.search(text):
        return text
    text = _apply(text, _in_windows(text, _nlu_matches, with_codes))
    return _apply(text, _in_windows(text, _view_matches, with_codes))


def mask_phones_in_text(text: str) -> str:
    """Free text with every mobile number in it masked ('138–0013–8000' -> '138****8000')."""
    return _redact(text, with_codes=False)


def redact_assertions(text: str) -> str:
    """`text` with every signed channel assertion token hidden."""
    return _ASSERTION.sub(REDACTED, text) if "v1." in text else text


def redact_text(text: str) -> str:
    """`text` with phones masked, codes and other spoken or typed digit runs hidden, and
    channel assertion tokens removed."""
    if not text:
        return text
    return _redact(redact_assertions(text), with_codes=True)


# Fields that hold identifiers or names, never user input: redacting a digit run inside a
# message id would break the events that refer to it.
KEEP_KEYS = frozenset(
    {"event", "timestamp", "name", "policy", "confidence", "message_id", "input_channel",
     "intent", "intent_ranking", "action_text", "model_id", "assistant_id"}
)  # fmt: skip


def redact_value(value: Any, rule: Callable[[str], str] = redact_text) -> Any:
    """A JSON-like value with `redact_text` applied to every string in it (keys untouched,
    identifier fields in KEEP_KEYS left as they are)."""
    if isinstance(value, str):
        return rule(value)
    if isinstance(value, dict):
        return {
            key: item if key in KEEP_KEYS else redact_value(item, rule)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact_value(item, rule) for item in value]
    return value
