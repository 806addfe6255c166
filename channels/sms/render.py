"""A turn's answer as SMS: plain text, numbered menus for its options, segments."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Mapping, Sequence, Tuple

from channels import templates
from channels.options import KeyedOption, keyed
from turns.answer import Answer, Option

# A single SMS holds 70 UCS-2 units (any Chinese text) or 160 GSM-7 characters; a long
# message is split into parts that each lose room to the concatenation header.
UCS2_SINGLE, UCS2_PART = 70, 67
GSM_SINGLE, GSM_PART = 160, 153
DEFAULT_MAX_SEGMENTS = 5
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€")  # each costs two septets
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^)]*)\)")
# Paired **bold** / __bold__ only: a masked phone's 138****8000 keeps its asterisks.
_MARKDOWN_EMPHASIS = re.compile(
    r"(?<![*_0-9A-Za-z])(\*\*|__)(?=[^*_\s])(.+?)(?<=[^*_\s])\1(?![*_0-9A-Za-z])"
)
_BACKTICK = re.compile(r"`")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class Sms:
    """One SMS as the gateway sends it (possibly several concatenated segments)."""

    text: str
    segments: int


@dataclass
class Rendered:
    """A turn's reply: the SMS to send, and the numbered menu it showed (if any)."""

    messages: List[Sms] = field(default_factory=list)
    menu: Tuple[KeyedOption, ...] = ()

    @property
    def text(self) -> str:
        """Everything the user receives, in order."""
        return "\n".join(sms.text for sms in self.messages)

    @property
    def segments(self) -> int:
        """Segments billed for the whole reply."""
        return sum(sms.segments for sms in self.messages)


def count_segments(text: str) -> int:
    """How many SMS segments `text` costs: 70/67 UCS-2 units, or 160/153 if all GSM-7."""
    if not text:
        return 0
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        septets = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        return 1 if septets <= GSM_SINGLE else math.ceil(septets / GSM_PART)
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    if sum(units) <= UCS2_SINGLE:
        return 1
    # Parts are filled greedily and a surrogate pair is never split, as handsets do.
    parts, used = 1, 0
    for unit in units:
        if used + unit > UCS2_PART:
            parts, used = parts + 1, 0
        used += unit
    return parts


def plain_text(text: str) -> str:
    """The text without screen-only formatting: markdown, HTML tags, blank lines."""
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _MARKDOWN_EMPHASIS.sub(r"\2", text)
    text = _BACKTICK.sub("", text)
    text = _HTML_TAG.sub("", text)
    text = _BLANK_LINES.sub("\n", text)
    return text.strip()


def _options(raw: Iterable[Mapping[str, Any]]) -> Tuple[Option, ...]:
    return tuple(
        Option(str(o.get("payload")), str(o.get("title") or "")) for o in raw if o.get("payload")
    )


def shown_menu(text: str, options: Sequence[Option]) -> Tuple[KeyedOption, ...]:
    """The numbered menu SMS adds under `text`: none when the options have no titles to show
    or the text already says what to reply (a numbered list, the words of a confirmation)."""
    menu = keyed(options)
    if not menu or not all(o.title for o in menu) or all(o.title in text for o in menu):
        return ()
    return menu


def _with_menu(text: str, menu: Sequence[KeyedOption]) -> str:
    """Adds "回复1 …，回复2 …。" under the text."""
    line = templates.SMS_OPTION_SEPARATOR.join(
        templates.SMS_OPTION.format(number=o.number, title=o.title) for o in menu
    )
    line += templates.SMS_OPTIONS_END
    return f"{text}\n{line}" if text else line


def _pack(texts: List[str], max_segments: int) -> List[Sms]:
    """Merges texts into as few SMS as fit `max_segments` each; a longer text goes alone."""
    messages: List[Sms] = []
    current = ""
    for text in texts:
        merged = f"{current}\n{text}" if current else text
        if current and count_segments(merged) > max_segments:
            messages.append(Sms(current, count_segments(current)))
            merged = text
        current = merged
    if current:
        messages.append(Sms(current, count_segments(current)))
    return messages


def render(answer: Answer, max_segments: int = DEFAULT_MAX_SEGMENTS) -> Rendered:
    """The answer's messages as SMS; a message's titled options become a numbered menu."""
    texts: List[str] = []
    menu: Tuple[KeyedOption, ...] = ()
    for message in answer.messages:
        text = plain_text(str(message.get("text") or ""))
        options = _options(message.get("options") or ())
        if options:
            # The last message with options decides what a number means next time.
            menu = shown_menu(text, options)
            if menu:
                text = _with_menu(text, menu)
        if text:
            texts.append(text)
    return Rendered(messages=_pack(texts, max(1, max_segments)), menu=menu)


def render_text(text: str, max_segments: int = DEFAULT_MAX_SEGMENTS) -> Rendered:
    """One of the channel's own sentences as SMS."""
    return render(Answer(texts=(text,), messages=({"text": text, "options": []},)), max_segments)


def menu_of(answer: Answer) -> Tuple[KeyedOption, ...]:
    """The numbered menu the SMS of `answer` showed (what a number replied to it picks)."""
    return render(answer).menu
