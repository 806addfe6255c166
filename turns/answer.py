"""What a turn's answer says comes next, in words no channel has to interpret: the contract
between the dialogue and the channels.

The dialogue side (`rasa_plugins/answer_nlg.py`) puts one `next` description on every bot
message it makes from a response (`describe`); a channel collects the messages of a turn and
reads them as one `Answer` (`answer_of`): what the assistant expects now (free text, a phone
number, a code, one of these options with their payloads, yes or no), what was done
(references, a handoff ticket) and whether the conversation is over. A channel renders that;
it never needs a slot name, a response name or the tracker store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from turns.questions import CHOICE, NOT_UNDERSTOOD, OFFERS, QUESTIONS, YES_NO

# The key of the description in a bot message (BotUttered metadata, output-channel kwargs).
NEXT_KEY = "next"

# What the assistant expects next.
TEXT = "text"  # anything the user wants to say
PHONE = "phone"  # an 11-digit mobile number
CODE = "code"  # the SMS verification code
CHOICE_OF = "choice"  # one of `options`
YES_OR_NO = "yes_no"  # `options` hold the yes and the no payloads
NOTHING = "nothing"  # the conversation is over
EXPECTS = frozenset({TEXT, PHONE, CODE, CHOICE_OF, YES_OR_NO, NOTHING})

AFFIRM = "/affirm"
DENY = "/deny"

# Responses after which the conversation is over (a handoff ends it with a ticket).
ENDINGS = frozenset({"utter_goodbye", "utter_glad_to_help", "utter_handoff"})
HANDOFF = "utter_handoff"
# Responses reporting a cancellation done, with its reference in `reference`.
CANCELLED = frozenset({"utter_cancelled", "utter_cancelled_receipt_failed"})

# What a question is about → what it expects (questions not listed expect their kind).
_BY_TOPIC = {"phone": PHONE, "code": CODE}
# The code sent to the caller's own number: the caller may still give another number.
_ALSO = {"utter_code_sent_to_caller": (PHONE,)}
_SKIPPABLE = frozenset({"reason"})


@dataclass(frozen=True)
class Option:
    """One answer on offer: what it sends to the assistant, and its label (may be empty)."""

    payload: str
    title: str = ""

    def to_dict(self) -> Dict[str, str]:
        """As carried in a message."""
        return {"payload": self.payload, "title": self.title}


def _options(buttons: Optional[Iterable[Mapping[str, Any]]]) -> Tuple[Option, ...]:
    found = []
    for button in buttons or ():
        payload = str(button.get("payload") or "")
        if payload:
            found.append(Option(payload, str(button.get("title") or "")))
    return tuple(found)


def describe(
    response: str,
    buttons: Optional[Iterable[Mapping[str, Any]]] = None,
    variables: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """The `next` description of one message made from `response` (with its buttons and
    template variables): a statement has `expects` None; a question says what it expects."""
    variables = variables or {}
    options = _options(buttons)
    question = QUESTIONS.get(response)
    expects: Optional[str] = None
    step: Optional[str] = None
    if question is not None:
        step = question.about
        if question.kind == YES_NO:
            expects = YES_OR_NO
            options = options or (Option(AFFIRM), Option(DENY))
        elif question.kind == CHOICE:
            expects = CHOICE_OF
        else:
            expects = _BY_TOPIC.get(question.about, TEXT)
    elif options:
        expects = CHOICE_OF
    offer = OFFERS.get(response)
    reference = variables.get("reference")
    return {
        "expects": expects,
        "step": step,
        "options": [o.to_dict() for o in options],
        "also": list(_ALSO.get(response, ())),
        "skippable": step in _SKIPPABLE,
        "offer": offer.about if offer is not None else None,
        "references": [str(reference)] if response in CANCELLED and reference else [],
        "ticket": str(reference) if response == HANDOFF and reference else None,
        "ends": response in ENDINGS,
        "not_understood": response in NOT_UNDERSTOOD,
    }


@dataclass(frozen=True)
class Answer:
    """One turn of the assistant, as a channel renders it."""

    texts: Tuple[str, ...] = ()
    # Each message: its text and its options (for channels that show buttons per message).
    messages: Tuple[Dict[str, Any], ...] = ()
    expects: str = TEXT
    step: Optional[str] = None
    options: Tuple[Option, ...] = ()
    also: Tuple[str, ...] = ()
    skippable: bool = False
    offer: Optional[str] = None
    references: Tuple[str, ...] = ()
    ticket: Optional[str] = None
    ended: bool = False
    not_understood: bool = False

    @property
    def empty(self) -> bool:
        """Whether the assistant said nothing (it failed or took too long)."""
        return not self.texts

    def accepts(self, kind: str) -> bool:
        """Whether an input of `kind` (PHONE, CODE, …) is what the assistant expects now."""
        return self.expects == kind or kind in self.also

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready, for a channel that keeps the last answer between requests."""
        return {
            "texts": list(self.texts),
            "messages": [dict(m) for m in self.messages],
            "expects": self.expects,
            "step": self.step,
            "options": [o.to_dict() for o in self.options],
            "also": list(self.also),
            "skippable": self.skippable,
            "offer": self.offer,
            "references": list(self.references),
            "ticket": self.ticket,
            "ended": self.ended,
            "not_understood": self.not_understood,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        """The inverse of `to_dict`."""
        return cls(
            texts=tuple(data.get("texts") or ()),
            messages=tuple(dict(m) for m in data.get("messages") or ()),
            expects=str(data.get("expects") or TEXT),
            step=data.get("step"),
            options=_options(data.get("options")),
            also=tuple(data.get("also") or ()),
            skippable=bool(data.get("skippable")),
            offer=data.get("offer"),
            references=tuple(data.get("references") or ()),
            ticket=data.get("ticket"),
            ended=bool(data.get("ended")),
            not_understood=bool(data.get("not_understood")),
        )


def answer_of(messages: Sequence[Mapping[str, Any]]) -> Answer:
    """One turn's messages (as an output channel received them, each with its `next`) read as
    one answer: the last question decides what is expected; references and endings add up."""
    texts: List[str] = []
    shown: List[Dict[str, Any]] = []
    expects, step, options, also, skippable, offer = None, None, (), (), False, None
    references: List[str] = []
    ticket: Optional[str] = None
    ended = not_understood = False
    for message in messages:
        text = message.get("text")
        described = message.get(NEXT_KEY) or {}
        message_options = _options(described.get("options") or message.get("buttons"))
        if text:
            texts.append(str(text))
            shown.append({"text": str(text), "options": [o.to_dict() for o in message_options]})
        references += [r for r in described.get("references") or () if r not in references]
        ticket = described.get("ticket") or ticket
        not_understood = not_understood or bool(described.get("not_understood"))
        offer = described.get("offer") or offer
        if described.get("ends"):
            ended, expects = True, None
        kind = described.get("expects")
        if kind is None and message_options and not described:
            kind = CHOICE_OF  # buttons from a message without a description
        if kind is not None:
            expects, step, options = kind, described.get("step"), message_options
            also = tuple(described.get("also") or ())
            skippable = bool(described.get("skippable"))
            ended = False  # a question after a goodbye reopens the conversation
    if expects is None:
        expects = NOTHING if ended else TEXT
    return Answer(
        texts=tuple(texts),
        messages=tuple(shown),
        expects=expects,
        step=step,
        options=options,
        also=also,
        skippable=skippable,
        offer=offer,
        references=tuple(references),
        ticket=ticket,
        ended=ended,
        not_understood=not_understood,
    )
