"""What the platform plays: the bot's words as TTS text and SSML, plus the keys to press."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence
from xml.sax.saxutils import escape

from channels import templates
from channels.ivr.collect import Collect
from turns.answer import Answer


def key_hint(collect: Collect) -> str:
    """The spoken keys for this step: "确认取消请按1，返回请按2，转人工请按0。" and the like."""
    if collect.step == "confirm":
        return templates.IVR_CONFIRM_KEYS
    if collect.step == "phone":
        return templates.IVR_PHONE_KEYS
    if collect.step == "code":
        return templates.IVR_CODE_KEYS
    if collect.step == "reason":
        return templates.IVR_REASON_KEYS
    if collect.step == "greeting":
        return templates.IVR_GREETING_KEYS
    if not collect.options:
        return ""
    parts = [templates.IVR_KEY_OPTION.format(title=o.title, key=o.key) for o in collect.options]
    return templates.IVR_KEY_SEPARATOR.join(parts + [templates.IVR_HUMAN_KEY]) + "。"


def _fallback_render(texts: Sequence[str]) -> Dict[str, str]:
    """A minimal renderer, used only while channels/speech.py is not installed."""
    text = "".join(t.replace("\n", "，") for t in texts if t)
    inner = '<break time="300ms"/>'.join(escape(t.replace("\n", "，")) for t in texts if t)
    return {"text": text, "ssml": f"<speak>{inner}</speak>"}


def render_play(texts: Sequence[str], hint: str = "") -> Dict[str, str]:
    """The bot's texts, then the key hint, as {"text", "ssml"} for the platform's TTS."""
    # Buttons are not passed on: on the phone they are announced as keys by `hint`.
    messages: List[Dict[str, Any]] = [{"text": t} for t in list(texts) + [hint] if t]
    try:
        from channels.speech import render_speech
    except ImportError:
        return _fallback_render([m["text"] for m in messages])
    speech = render_speech(messages)
    return {"text": speech.text, "ssml": speech.ssml}


def collect_body(
    call_id: str,
    texts: Sequence[str],
    collect: Collect,
    answer: Optional[Answer] = None,
    failed: bool = False,
) -> Dict[str, Any]:
    """Play the texts with the step's key hint, then collect the next input."""
    body: Dict[str, Any] = {
        "call_id": call_id,
        "action": "collect",
        "play": render_play(texts, key_hint(collect)),
        "messages": list(texts),
        "step": collect.step,
        "collect": collect.to_json(),
    }
    if answer and answer.references:
        body["cancelled"] = list(answer.references)
    if failed:
        body["error"] = "unavailable"
    return body


def transfer_body(call_id: str, answer: Answer, queue: str) -> Dict[str, Any]:
    """Play the handoff message, then transfer to the agents' queue with the ticket."""
    body: Dict[str, Any] = {
        "call_id": call_id,
        "action": "transfer",
        "play": render_play(answer.texts),
        "messages": list(answer.texts),
        "step": "handoff",
        "transfer": {"queue": queue, "ticket": answer.ticket},
    }
    if answer.references:
        body["cancelled"] = list(answer.references)
    return body


def closing_body(call_id: str, answer: Answer) -> Dict[str, Any]:
    """Play the goodbye, then hang up."""
    body: Dict[str, Any] = {
        "call_id": call_id,
        "action": "hangup",
        "play": render_play(answer.texts),
        "messages": list(answer.texts),
        "step": "ended",
    }
    if answer.references:
        body["cancelled"] = list(answer.references)
    return body


def hangup_ack(call_id: str, step: str) -> Dict[str, Any]:
    """The acknowledgement of the caller's hang-up, with the step the call was at."""
    return {"call_id": call_id, "action": "hangup", "ended": True, "step": step}
