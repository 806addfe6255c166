"""Checks of a smart-speaker request: size, encoding, JSON shape, types, control characters.

Shape (see docs/channels/voice.md):
{"version": "1.0", "session": {"id": str, "new": bool}, "user": {"id": str},
 "device": {"id": str}?, "request": {"type": "launch"|"text"|"no_input"|"end"?,
 "text": str?, "nbest": [{"text": str, "confidence": number?}]?}}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from channels.guard import MAX_MESSAGE_CHARS, RequestRejected, clean_text, json_object
from turns.nbest import Hypothesis

MAX_ID_CHARS = 256
MAX_HYPOTHESES = 10
REQUEST_TYPES = ("launch", "text", "no_input", "end")
# JSON's \ud800 escapes decode to lone surrogates, which no UTF-8 reply could carry back.
_UNENCODABLE = re.compile("[\ud800-\udfff]")


def _clean(text: str) -> str:
    return clean_text(_UNENCODABLE.sub("", text))


@dataclass(frozen=True)
class VoiceRequest:
    """A checked turn from the speaker platform."""

    session_id: str
    new_session: bool
    user_id: str
    device_id: Optional[str]
    kind: str  # one of REQUEST_TYPES
    hypotheses: Tuple[Hypothesis, ...]  # best first; empty when nothing was heard


def _section(data: Dict[str, Any], name: str, required: bool = True) -> Dict[str, Any]:
    value = data.get(name)
    if value is None:
        if required:
            raise RequestRejected(400, f"missing_{name}")
        return {}
    if not isinstance(value, dict):
        raise RequestRejected(400, f"invalid_{name}")
    return value


def _identifier(section: Dict[str, Any], name: str, required: bool = True) -> Optional[str]:
    value = section.get("id")
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RequestRejected(400, f"invalid_{name}")
    value = _clean(str(value))
    if not value or len(value) > MAX_ID_CHARS:
        raise RequestRejected(400, f"invalid_{name}")
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RequestRejected(400, "invalid_text")
    # ASR text is never this long; a longer one is cut rather than refused mid-conversation
    return _clean(value)[:MAX_MESSAGE_CHARS]


def _confidence(value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestRejected(400, "invalid_nbest")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise RequestRejected(400, "invalid_nbest")
    return value


def _hypotheses(request: Dict[str, Any]) -> Tuple[Hypothesis, ...]:
    text = _text(request.get("text"))
    nbest = request.get("nbest")
    if nbest is None:
        nbest = []
    if not isinstance(nbest, list) or len(nbest) > MAX_HYPOTHESES:
        raise RequestRejected(400, "invalid_nbest")
    found = []
    for item in nbest:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise RequestRejected(400, "invalid_nbest")
        found.append(Hypothesis(_text(item["text"]), _confidence(item.get("confidence"))))
    found = [h for h in found if h.text]
    if text and not any(h.text == text for h in found):
        found.insert(0, Hypothesis(text, None))  # the platform's own pick leads
    return tuple(found)


def parse_voice_request(body: bytes) -> VoiceRequest:
    """Validates a voice request body; raises RequestRejected with a 4xx status and a code."""
    data = json_object(body)
    version = data.get("version")
    if version is not None and not isinstance(version, str):
        raise RequestRejected(400, "invalid_version")
    session = _section(data, "session")
    user = _section(data, "user")
    device = _section(data, "device", required=False)
    request = _section(data, "request")
    new = session.get("new", False)
    if not isinstance(new, bool):
        raise RequestRejected(400, "invalid_session")
    kind = request.get("type", "text")
    if kind not in REQUEST_TYPES:
        raise RequestRejected(400, "invalid_type")
    hypotheses = _hypotheses(request)
    if kind == "text" and not hypotheses:
        kind = "launch" if new else "no_input"
    return VoiceRequest(
        session_id=_identifier(session, "session"),
        new_session=new,
        user_id=_identifier(user, "user"),
        device_id=_identifier(device, "device", required=False),
        kind=kind,
        hypotheses=hypotheses if kind == "text" else (),
    )
