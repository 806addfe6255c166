"""The telephony platform's events: parsing, validation and the caller number (ANI)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from channels.guard import MAX_MESSAGE_CHARS, RequestRejected, clean_text, json_object
from core.identity.conversation import namespaced
from core.phone import parse_mobile
from turns.nbest import Hypothesis

EVENT_TYPES = ("start", "speech", "dtmf", "hangup")
MAX_ANI_CHARS = 64
MAX_DIGITS = 32
MAX_HYPOTHESES = 10
_CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$")
_DIGITS = re.compile(r"^[0-9*#]*$")


@dataclass(frozen=True)
class IvrEvent:
    """One checked platform event: a call start, a caller turn or a hang-up."""

    call_id: str
    type: str
    text: str = ""
    confidence: Optional[float] = None
    digits: str = ""
    ani: Optional[str] = None
    # Speech: the platform's pick (text, confidence) first, then its other readings (`nbest`).
    hypotheses: Tuple[Hypothesis, ...] = ()

    @property
    def sender_id(self) -> str:
        """The Rasa conversation id of this call, in the IVR namespace (`ivr:<call id>`)."""
        return namespaced("ivr", self.call_id)


def caller_mobile(ani: Optional[str]) -> Optional[str]:
    """The caller's 11-digit mainland mobile number, or None for landlines and hidden numbers."""
    return parse_mobile(ani) if ani else None


def _call_id(data: Dict[str, Any]) -> str:
    value = data.get("call_id")
    if value is None:
        raise RequestRejected(400, "missing_call_id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RequestRejected(400, "invalid_call_id")
    value = str(value).strip()
    if not _CALL_ID.match(value):
        raise RequestRejected(400, "invalid_call_id")
    return value


def _ani(data: Dict[str, Any]) -> Optional[str]:
    value = data.get("ani")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ANI_CHARS:
        raise RequestRejected(400, "invalid_ani")
    return clean_text(value) or None


def _confidence(data: Dict[str, Any], code: str = "invalid_confidence") -> Optional[float]:
    value = data.get("confidence")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestRejected(400, code)
    value = float(value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise RequestRejected(400, code)
    return value


def _text(data: Dict[str, Any], code: str = "invalid_text") -> str:
    if "text" not in data or data["text"] is None:
        raise RequestRejected(400, "missing_text")
    if not isinstance(data["text"], str):
        raise RequestRejected(400, code)
    # ASR never produces a turn this long; cut rather than refuse so the call goes on.
    return clean_text(data["text"])[:MAX_MESSAGE_CHARS]


def _hypotheses(data: Dict[str, Any], text: str, confidence: Optional[float]) -> List[Hypothesis]:
    """The platform's pick, then the other readings of its optional `nbest` list."""
    nbest = data.get("nbest")
    if nbest is None:
        nbest = []
    if not isinstance(nbest, list) or len(nbest) > MAX_HYPOTHESES:
        raise RequestRejected(400, "invalid_nbest")
    found = [Hypothesis(text, confidence)] if text else []
    for item in nbest:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise RequestRejected(400, "invalid_nbest")
        other = Hypothesis(_text(item, "invalid_nbest"), _confidence(item, "invalid_nbest"))
        if other.text and all(h.text != other.text for h in found):
            found.append(other)
    return found


def _digits(data: Dict[str, Any]) -> str:
    value = data.get("digits")
    if value is None:
        raise RequestRejected(400, "missing_digits")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RequestRejected(400, "invalid_digits")
    value = str(value).strip()
    if len(value) > MAX_DIGITS or not _DIGITS.match(value):
        raise RequestRejected(400, "invalid_digits")
    return value


def parse_ivr_event(body: bytes) -> IvrEvent:
    """Validates one platform event; raises RequestRejected (4xx) for anything malformed."""
    data = json_object(body)
    call_id = _call_id(data)
    kind = data.get("type")
    if kind is None:
        raise RequestRejected(400, "missing_type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise RequestRejected(400, "invalid_type")
    ani = _ani(data)
    if kind == "speech":
        text, confidence = _text(data), _confidence(data)
        hypotheses = tuple(_hypotheses(data, text, confidence)) if text else ()
        return IvrEvent(call_id, kind, text, confidence, ani=ani, hypotheses=hypotheses)
    if kind == "dtmf":
        return IvrEvent(call_id, kind, digits=_digits(data), ani=ani)
    return IvrEvent(call_id, kind, ani=ani)
