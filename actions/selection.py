"""Understands which item of a numbered list the user picked: 第二个, 2, 1和3, 两个都, 全部."""

from __future__ import annotations

import re
from typing import List

_NUMERALS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ALL = re.compile(
    r"全部|所有|全都|都要|都取消|都退|都关|都不要|都给|一起|统统|通通|两个都|这两个|都帮"
)
_LAST = re.compile(r"最后一个|最后那个")
_FROM_END = re.compile(r"倒数第\s*([0-9]{1,2}|[一二两三四五六七八九])")
_EXCEPT = re.compile(r"除了?(.*?)(?:以外|之外|外)?[，,\s]*(?:其他|其余|别的|剩下)")
_FIRST_N = re.compile(r"前([2-9两二三四五六七八九])个")
_ORDINAL = re.compile(r"第\s*([0-9]{1,2}|[一二两三四五六七八九])")
_DIGITS = re.compile(r"(?<![0-9])([0-9]{1,2})(?![0-9])")
_BARE_NUMERAL = re.compile(
    r"^\s*(?:选|要|就|是)?\s*([一二两三四五六七八九])\s*(?:号|个)?\s*(?:吧|啊|呀|哈)?\s*$"
)


def _value(token: str) -> int:
    return int(token) if token.isdigit() else _NUMERALS[token]


def parse_choice(text: str, count: int) -> List[int]:
    """1-based positions the user picked from a list of `count` items ([] if none)."""
    if count <= 0 or not text:
        return []
    excepted = _EXCEPT.search(text)
    if excepted:
        dropped = set(parse_choice(excepted.group(1), count))
        return [i for i in range(1, count + 1) if i not in dropped] if dropped else []
    from_end = _FROM_END.search(text)
    if from_end:
        position = count - _value(from_end.group(1)) + 1
        return [position] if 1 <= position <= count else []
    if _ALL.search(text):
        return list(range(1, count + 1))
    if _LAST.search(text):
        return [count]
    first_n = _FIRST_N.search(text)
    if first_n:
        return list(range(1, min(_value(first_n.group(1)), count) + 1))
    picks: List[int] = [_value(m.group(1)) for m in _ORDINAL.finditer(text)]
    if not picks:
        picks = [int(m.group(1)) for m in _DIGITS.finditer(text)]
    if not picks:
        bare = _BARE_NUMERAL.match(text)
        if bare:
            picks = [_value(bare.group(1))]
    chosen: List[int] = []
    for pick in picks:
        if 1 <= pick <= count and pick not in chosen:
            chosen.append(pick)
    return chosen
