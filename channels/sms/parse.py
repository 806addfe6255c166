"""Checks of an inbound SMS webhook body (JSON or form-encoded): from, to, text, message_id."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple
from urllib.parse import parse_qs

from channels.guard import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, RequestRejected, clean_text
from core.phone import parse_mobile as normalize_mobile  # the one parser (+86, full-width…)

MAX_MESSAGE_ID_CHARS = 128
MAX_FORM_FIELDS = 20
_SERVICE_NUMBER = re.compile(r"\+?[0-9]{3,20}")
_SEPARATORS = re.compile(r"[\s\-()]")
# Gateways name the same fields differently; these are the spellings accepted, first wins.
ALIASES: Dict[str, Tuple[str, ...]] = {
    "from": ("from", "From", "mobile"),
    "to": ("to", "To"),
    "text": ("text", "Text", "Body", "content"),
    "message_id": ("message_id", "MessageSid", "msg_id"),
}


@dataclass(frozen=True)
class InboundSms:
    """A checked inbound SMS; `phone` is the sender's 11-digit number."""

    phone: str
    to: str
    text: str
    message_id: Optional[str]
    too_long: bool


def _decode(body: bytes) -> str:
    if len(body) > MAX_BODY_BYTES:
        raise RequestRejected(413, "body_too_large")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRejected(400, "invalid_utf8") from exc


def _json_fields(raw: str) -> Dict[str, Any]:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise RequestRejected(400, "invalid_json") from exc
    if not isinstance(data, dict):
        raise RequestRejected(400, "not_an_object")
    return data


def _form_fields(raw: str) -> Dict[str, Any]:
    try:
        parsed = parse_qs(
            raw,
            keep_blank_values=True,
            strict_parsing=bool(raw),
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise RequestRejected(400, "invalid_utf8") from exc
    except ValueError as exc:
        raise RequestRejected(400, "invalid_form") from exc
    fields: Dict[str, Any] = {}
    for name, values in parsed.items():
        if len(values) != 1:
            raise RequestRejected(400, "duplicate_field")
        fields[name] = values[0]
    return fields


def _body_kind(content_type: str, raw: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    if kind.endswith("json"):
        return "json"
    if kind == "application/x-www-form-urlencoded":
        return "form"
    if kind in ("", "text/plain"):
        return "json" if raw.lstrip().startswith(("{", "[")) else "form"
    raise RequestRejected(415, "unsupported_media_type")


def _field(data: Dict[str, Any], name: str) -> Any:
    for alias in ALIASES[name]:
        if alias in data:
            return data[alias]
    return None


def _number_text(value: Any, name: str) -> str:
    """A field that may be sent as a JSON string or a JSON integer."""
    if value is None:
        raise RequestRejected(400, f"missing_{name}")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RequestRejected(400, f"invalid_{name}")
    return str(value)


def _message_id(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RequestRejected(400, "invalid_message_id")
    cleaned = clean_text(str(value))
    if len(cleaned) > MAX_MESSAGE_ID_CHARS:
        raise RequestRejected(400, "invalid_message_id")
    return cleaned or None


def parse_sms_request(body: bytes, content_type: str = "") -> InboundSms:
    """Validates a gateway's body {"from", "to", "text", "message_id"?}; raises RequestRejected."""
    raw = _decode(body)
    kind = _body_kind(content_type or "", raw)
    data = _json_fields(raw) if kind == "json" else _form_fields(raw)
    phone = normalize_mobile(_number_text(_field(data, "from"), "from"))
    if phone is None:
        raise RequestRejected(400, "invalid_from")
    to = _SEPARATORS.sub("", unicodedata.normalize("NFKC", _number_text(_field(data, "to"), "to")))
    if not _SERVICE_NUMBER.fullmatch(to):
        raise RequestRejected(400, "invalid_to")
    text = _field(data, "text")
    if text is None:
        raise RequestRejected(400, "missing_text")
    if not isinstance(text, str):
        raise RequestRejected(400, "invalid_text")
    message_id = _message_id(_field(data, "message_id"))
    cleaned = clean_text(text)
    return InboundSms(
        phone=phone,
        to=to,
        text=cleaned[:MAX_MESSAGE_CHARS],
        message_id=message_id,
        too_long=len(cleaned) > MAX_MESSAGE_CHARS,
    )
