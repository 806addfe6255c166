"""Operator-style SMS commands and menu numbers, translated into what the assistant reads.

0000, 取消/TD/QXTD (optionally + the sender's own number) ask to cancel; another number is
refused here (the carrier vouches only for the sender's number); a number replied to a menu
the last SMS showed picks that option. Everything else, the answer to a confirmation
included, goes to the assistant as typed: the dialogue decides what it means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from channels import templates
from channels.options import KeyedOption, option_for
from channels.sms.parse import normalize_mobile
from redaction.text import mask_phone
from turns.code_words import code_word as command_word

# Payloads Rasa parses as intents without NLU (the leading slash).
CANCEL_PAYLOAD = "/cancel_subscription"
QUERY_KEYWORD = "0000"

_CANCEL = re.compile(r"(?:取消|退订|QXTD|QX|TD)\+?(?P<number>[0-9+\-]*)")
_MENU_NUMBER = re.compile(r"[0-9]{1,2}")
# Rasa reads a leading "/" as an intent with entities: only the channel may send those.
_INTENT_PREFIX = re.compile(r"^[\s/]+")


@dataclass(frozen=True)
class Inbound:
    """What to do with an SMS: pass `text` to the assistant, or answer `reply` without it."""

    text: Optional[str] = None
    reply: Optional[str] = None


def _cancel_command(word: str, phone: str) -> Optional[Inbound]:
    """0000, 取消, TD, QXTD, 取消+本机号码 start a cancellation; another number is refused."""
    if word == QUERY_KEYWORD:
        number = ""
    else:
        command = _CANCEL.fullmatch(word)
        if command is None:
            return None
        number = command.group("number")
    if number:
        other = normalize_mobile(number)
        if other is None:
            return None  # e.g. a reference number TD2026…: the assistant understands it
        if other != phone:
            return Inbound(reply=templates.SMS_OTHER_NUMBER.format(masked_phone=mask_phone(other)))
    return Inbound(text=CANCEL_PAYLOAD)


def interpret(text: str, phone: str, menu: Sequence[KeyedOption] = ()) -> Inbound:
    """Maps one inbound SMS from `phone` to a message for the assistant or a reply, given the
    numbered menu the last SMS to that phone showed."""
    word = command_word(text)
    command = _cancel_command(word, phone)
    if command is not None:
        return command
    if _MENU_NUMBER.fullmatch(word):
        option = option_for(menu, word)
        if option is not None:
            return Inbound(text=option.payload)
    plain = _INTENT_PREFIX.sub("", text)
    return Inbound(text=plain) if plain else Inbound(reply=templates.SMS_EMPTY)
