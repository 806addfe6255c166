"""The bot's messages as SMS: numbered replies for buttons, no screen-only bits, segments."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from channels import templates

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
# Actions whose buttons ask to confirm a cancellation: in SMS these need the code word.
CONFIRM_ACTIONS = frozenset({"utter_ask_cancel_confirmed"})
_NUMBERED_TITLE = re.compile(r"^\s*\d+\s*[.、．]\s*")
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^)]*)\)")
# Paired **bold** / __bold__ only: a masked phone's 138****8000 keeps its asterisks.
_MARKDOWN_EMPHASIS = re.compile(
    r"(?<![*_0-9A-Za-z])(\*\*|__)(?=[^*_\s])(.+?)(?<=[^*_\s])\1(?![*_0-9A-Za-z])"
)
_BACKTICK = re.compile(r"`")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class Option:
    """One numbered choice offered in an SMS; replying `number` sends `payload`."""

    number: int
    payload: str
    title: str


@dataclass(frozen=True)
class Sms:
    """One SMS as the gateway sends it (possibly several concatenated segments)."""

    text: str
    segments: int


@dataclass(frozen=True)
class Offer:
    """What the last reply offered: numbered options, and whether it asked to confirm."""

    options: Tuple[Option, ...] = ()
    confirming: bool = False
    picked: Optional[Option] = None  # the option picked from the list before, if any


@dataclass
class Rendered:
    """A turn's reply: the SMS to send and what it offered."""

    messages: List[Sms] = field(default_factory=list)
    offer: Offer = field(default_factory=Offer)

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


def _title(button: Dict[str, Any]) -> str:
    return _NUMBERED_TITLE.sub("", str(button.get("title") or "")).strip()


def _is_confirmation(message: Dict[str, Any]) -> bool:
    if message.get("utter_action") in CONFIRM_ACTIONS:
        return True
    return any(
        b.get("payload") == "/affirm" and "确认取消" in str(b.get("title", ""))
        for b in message.get("buttons") or []
    )


def _options(buttons: Sequence[Dict[str, Any]]) -> Tuple[Option, ...]:
    return tuple(
        Option(number=i, payload=str(b.get("payload") or _title(b)), title=_title(b))
        for i, b in enumerate(buttons, 1)
        if b.get("payload") or _title(b)
    )


def _with_menu(text: str, options: Sequence[Option], confirming: bool) -> str:
    """Adds "回复1 …，回复2 …" unless the text already says what to reply."""
    if confirming or all(o.title and o.title in text for o in options):
        return text
    menu = templates.SMS_OPTION_SEPARATOR.join(
        templates.SMS_OPTION.format(number=o.number, title=o.title) for o in options
    )
    menu += templates.SMS_OPTIONS_END
    return f"{text}\n{menu}" if text else menu


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


def render(
    bot_messages: Sequence[Dict[str, Any]], max_segments: int = DEFAULT_MAX_SEGMENTS
) -> Rendered:
    """The bot's messages of one turn as SMS, and the options the last menu offered."""
    texts: List[str] = []
    offer = Offer()
    for message in bot_messages:
        text = plain_text(str(message.get("text") or ""))
        buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict)]
        if buttons:
            confirming = _is_confirmation(message)
            options = _options(buttons)
            offer = Offer(options=options, confirming=confirming)
            text = _with_menu(text, options, confirming)
        if text:
            texts.append(text)
    return Rendered(messages=_pack(texts, max(1, max_segments)), offer=offer)
