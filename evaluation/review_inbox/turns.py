"""The user turns of a conversation, each with what the bot said before and did after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from evaluation.review_inbox.store import StoredEvent

FALLBACK_INTENT = "nlu_fallback"
# Where a bot message says what it expects next (turns/answer.py's NEXT_KEY; not imported,
# so that reading a store needs nothing of the dialogue's code).
NEXT_KEY = "next"
# Actions that run when nothing was understood (the project's, then Rasa's defaults).
FALLBACK_ACTIONS = frozenset(
    {"action_handle_fallback", "action_default_fallback", "action_two_stage_fallback"}
)


@dataclass
class Turn:
    """One message a user typed or said, as the tracker store kept it."""

    conversation: str
    timestamp: float
    text: str
    intent: Optional[str]
    confidence: Optional[float]
    # The classifier's best intent other than the fallback, and its confidence.
    guess: Optional[str]
    guess_confidence: Optional[float]
    # The last response the bot sent before this message (utter_action), if any, and what
    # it expected (its channel-neutral `next`, turns/answer.py): "yes_no", "choice", ...
    bot_before: Optional[str]
    bot_expects: Optional[str] = None
    bot_not_understood: bool = False
    # The actions the bot ran in answer, up to the next message.
    actions_after: List[str] = field(default_factory=list)

    @property
    def hit_fallback(self) -> bool:
        """Whether the NLU or the dialogue fell back on this turn."""
        return self.intent == FALLBACK_INTENT or not FALLBACK_ACTIONS.isdisjoint(self.actions_after)


def _guess(parse_data: dict) -> Tuple[Optional[str], Optional[float]]:
    """The best intent other than the fallback (the fallback's ranking keeps the others)."""
    intent = parse_data.get("intent") or {}
    if intent.get("name") and intent.get("name") != FALLBACK_INTENT:
        return intent.get("name"), _float(intent.get("confidence"))
    for ranked in parse_data.get("intent_ranking") or []:
        if isinstance(ranked, dict) and ranked.get("name") not in (None, FALLBACK_INTENT):
            return ranked["name"], _float(ranked.get("confidence"))
    return None, None


def _float(value: object) -> Optional[float]:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _next(bot_metadata: Dict[str, Any]) -> Dict[str, Any]:
    """The `next` a bot message carries (rasa_plugins/answer_nlg.py), or an empty one."""
    described = bot_metadata.get(NEXT_KEY)
    return described if isinstance(described, dict) else {}


def conversation_turns(events: Iterable[StoredEvent]) -> Iterator[List[Turn]]:
    """The typed turns of each conversation in `events` (ordered by conversation), in order.

    Button payloads (`/affirm`) are not typed text and are left out, as are empty messages
    (and the actions in answer to them are nobody's).
    """
    current: Optional[str] = None
    turns: List[Turn] = []
    last: Optional[Turn] = None
    bot: Dict[str, Any] = {}
    for event in events:
        if event.conversation != current:
            if turns:
                yield turns
            current, turns, last, bot = event.conversation, [], None, {}
        data = event.data
        if event.type_name == "bot":
            metadata = data.get("metadata")
            bot = metadata if isinstance(metadata, dict) else {}
        elif event.type_name == "action":
            name = data.get("name")
            if last is not None and name and name != "action_listen":
                last.actions_after.append(name)
        elif event.type_name == "user":
            text = (data.get("text") or "").strip()
            parse_data = data.get("parse_data") or {}
            intent = parse_data.get("intent") or {}
            turn = Turn(
                conversation=event.conversation,
                timestamp=event.timestamp,
                text=text,
                intent=intent.get("name"),
                confidence=_float(intent.get("confidence")),
                guess=_guess(parse_data)[0],
                guess_confidence=_guess(parse_data)[1],
                bot_before=bot.get("utter_action"),
                bot_expects=_next(bot).get("expects"),
                bot_not_understood=_next(bot).get("not_understood") is True,
            )
            typed = bool(text) and not text.startswith("/")
            last = turn if typed else None
            if typed:
                turns.append(turn)
            bot = {}
    if turns:
        yield turns
