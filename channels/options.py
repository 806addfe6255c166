"""The options of an answer as keys: SMS menu numbers, IVR keys and spoken choices alike.

A yes/no answer is always 1 for yes and 2 for no; a list keeps its order (1, 2, 3 …), which is
also the number its titles were shown with ("1. QQ音乐绿钻" is offered as 1, titled QQ音乐绿钻).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional, Tuple

from turns.answer import AFFIRM, DENY, Answer, Option

# Yes and no keep their keys wherever they appear in a list.
_FIXED_KEYS = {AFFIRM: "1", DENY: "2"}
# The number a title was shown with: "1. ", "2、", "3．".
_NUMBERED_TITLE = re.compile(r"^\s*\d+\s*[.、．]\s*")


@dataclass(frozen=True)
class KeyedOption:
    """One option on offer: the key (or number) that picks it, its payload and its title."""

    key: str
    payload: str
    title: str

    @property
    def number(self) -> int:
        """The key as a number (SMS menus say 回复1)."""
        return int(self.key)


def plain_title(title: str) -> str:
    """A title without the number it was shown with."""
    return _NUMBERED_TITLE.sub("", title or "").strip()


def keyed(options: Iterable[Option]) -> Tuple[KeyedOption, ...]:
    """Options with their keys: yes 1, no 2, any other the position in the list."""
    return tuple(
        KeyedOption(
            _FIXED_KEYS.get(option.payload, str(index)), option.payload, plain_title(option.title)
        )
        for index, option in enumerate(options, 1)
    )


def options_of(answer: Answer) -> Tuple[KeyedOption, ...]:
    """The keyed options of what the answer asks (none when it expects no choice)."""
    return keyed(answer.options)


def option_for(options: Iterable[KeyedOption], key: str) -> Optional[KeyedOption]:
    """The option `key` picks (surrounding spaces and leading zeros ignored), or None."""
    wanted = (key or "").strip()
    if wanted.isdigit() and wanted.strip("0"):
        wanted = wanted.lstrip("0")
    return next((option for option in options if option.key == wanted), None)
