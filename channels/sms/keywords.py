"""Operator-style SMS commands: 0000, 取消/TD/QXTD (+number), 确认 code words, menu numbers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

from channels import templates
from channels.sms.parse import normalize_mobile
from channels.sms.render import Offer, Option
from redaction.text import mask_phone

# Payloads Rasa parses as intents without NLU (the leading slash).
CANCEL_PAYLOAD = "/cancel_subscription"
AFFIRM_PAYLOAD = "/affirm"
DENY_PAYLOAD = "/deny"
QUERY_KEYWORD = "0000"

_CANCEL = re.compile(r"(?:取消|退订|QXTD|QX|TD)\+?(?P<number>[0-9+\-]*)")
_CONFIRM_NUMBER = re.compile(r"(?:确认|确定)(?:取消|退订)?(?P<number>[0-9]{1,2})")
_MENU_NUMBER = re.compile(r"[0-9]{1,2}")
_TRAILING = "。.!！~～?？,，、"
# Rasa reads a leading "/" as an intent with entities: only the channel may send those.
_INTENT_PREFIX = re.compile(r"^[\s/]+")
AFFIRM_WORDS = frozenset(
    {"确认", "确认取消", "确认退订", "确定", "确定取消", "确定退订", "Y", "YES"}
)
DENY_WORDS = frozenset(
    {"先不取消", "不取消", "暂不取消", "保留", "不", "否", "不要", "不用", "不用了", "算了"}
    | {"N", "NO"}
)


@dataclass(frozen=True)
class Inbound:
    """What to do with an SMS: pass `text` to the bot, or answer `reply` without the bot."""

    text: Optional[str] = None
    reply: Optional[str] = None
    picked: Optional[Option] = None


def command_word(text: str) -> str:
    """The text as a command: NFKC (full-width → ASCII), no spaces, upper case, no final stop."""
    word = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()
    return word.rstrip(_TRAILING)


def _confirmation(word: str, offer: Offer) -> Optional[Inbound]:
    """The answer to "确认要取消…吗": the code word, a refusal, or None for anything else."""
    if word in AFFIRM_WORDS:
        return Inbound(text=AFFIRM_PAYLOAD)
    if word in DENY_WORDS:
        return Inbound(text=DENY_PAYLOAD)
    numbered = _CONFIRM_NUMBER.fullmatch(word)
    if numbered:
        picked = offer.picked
        if picked is not None and int(numbered.group("number")) == picked.number:
            return Inbound(text=AFFIRM_PAYLOAD)
        if picked is not None:
            reply = templates.SMS_CONFIRM_MISMATCH.format(number=picked.number, title=picked.title)
            return Inbound(reply=reply)
        return Inbound(reply=templates.SMS_CONFIRM_CODE_WORD)
    if _MENU_NUMBER.fullmatch(word):
        # A bare digit may be a late answer to the list; it must never confirm a cancellation.
        return Inbound(reply=templates.SMS_CONFIRM_CODE_WORD)
    return None


def _cancel_command(word: str, phone: str, offer: Offer) -> Optional[Inbound]:
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
    if offer.confirming:
        # To the confirmation question "取消" would read as yes; SMS asks for the code word.
        return Inbound(reply=templates.SMS_CONFIRM_CODE_WORD)
    return Inbound(text=CANCEL_PAYLOAD)


def interpret(text: str, phone: str, offer: Optional[Offer] = None) -> Inbound:
    """Maps one inbound SMS from `phone` to a bot message or a reply, given the last offer."""
    offer = offer or Offer()
    word = command_word(text)
    if offer.confirming:
        answer = _confirmation(word, offer)
        if answer is not None:
            return answer
    command = _cancel_command(word, phone, offer)
    if command is not None:
        return command
    if _MENU_NUMBER.fullmatch(word):
        number = int(word)
        for option in offer.options:
            if option.number == number:
                return Inbound(text=option.payload, picked=option)
    plain = _INTENT_PREFIX.sub("", text)
    return Inbound(text=plain) if plain else Inbound(reply=templates.SMS_EMPTY)
