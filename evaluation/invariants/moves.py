"""A user's turn as a move (what kind of thing is said, and which one), drawn by hypothesis,
and how a move becomes text once the sequence's numbers and codes are known."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import List, Optional, Tuple

from hypothesis import strategies as st

from evaluation.invariants.pools import NOISE, garble, pick, pool, utterances
from turns.questions import QUESTIONS

SAY = "say:"
# Intents whose examples are said as they are (no number or code in them).
INTENTS = (
    "cancel_subscription",
    "check_subscription",
    "report_unexpected_charge",
    "query_cancellation",
    "request_human",
    "resend_code",
    "ask_cancel_methods",
    "ask_consequences",
    "ask_legal_rights",
    "greet",
    "thank",
    "goodbye",
    "out_of_scope",
    "inform",
)
AFFIRM, DENY = "affirm", "deny"
PHONE_OWN, PHONE_OTHER, PHONE_UNKNOWN, PHONE_INVALID = (
    "phone_own",
    "phone_other",
    "phone_unknown",
    "phone_invalid",
)
CODE_RIGHT, CODE_WRONG = "code_right", "code_wrong"
CHOICE, NOISE_KIND, SWITCH, WAIT = "choice", "noise", "switch", "wait"
# A cooperative answer to the question just asked (a number, the code, a yes, the first one):
# without it random users would seldom get as far as a confirmation or a refund offer.
ANSWER = "answer"
# What a wait lets pass (seconds): the resend interval, a code's life, a verified session's
# idle time, a lockout (core/settings.py defaults). A sequence's waits stay under a day.
WAITS = (65, 301, 601, 901)
# A literal text (regression tests): {own}, {other}, {unknown} and {code} are filled in.
TEXT = "text:"
CANCEL_WITH_PHONE = "cancel_with_phone"
# Intents whose examples are a user's choice (never garbled into noise).
CHOSEN_INTENTS = frozenset({"affirm", "deny", "request_human"})

# Half the moves are cooperative answers (ANSWER); the others are drawn uniformly from this
# list, where repeats weigh the moves that move a conversation forward.
KINDS: Tuple[str, ...] = (
    SAY + "cancel_subscription",
    PHONE_OWN,
    CODE_RIGHT,
    AFFIRM,
    DENY,
    CHOICE,
    NOISE_KIND,
    SWITCH,
    WAIT,
    *(SAY + intent for intent in INTENTS),
    SAY + "cancel_subscription",
    SAY + "report_unexpected_charge",
    PHONE_OWN,
    CODE_RIGHT,
    CODE_RIGHT,
    AFFIRM,
    AFFIRM,
    DENY,
    PHONE_OTHER,
    PHONE_UNKNOWN,
    PHONE_INVALID,
    CODE_WRONG,
    CANCEL_WITH_PHONE,
    NOISE_KIND,
)
CHOICES = ("1", "2", "3", "第一个", "第二个", "最后一个", "都要", "腾讯视频", "QQ音乐绿钻", "咪咕")
# The demo holders a sequence's holder copies (core.store.seed.HOLDER_DATA).
TEMPLATES = ("13800138000", "13600136000", "13900139000", "13700137000")


@dataclass(frozen=True)
class Move:
    """One user turn: its kind and an index choosing among that kind's texts."""

    kind: str
    index: int = 0

    def __repr__(self) -> str:
        return f"Move({self.kind!r}, {self.index})"


@dataclass(frozen=True)
class Sequence:
    """A random conversation: whose data the holder has, and the user's moves."""

    template: str
    moves: Tuple[Move, ...]


def moves_strategy(max_moves: int) -> st.SearchStrategy:
    """Lists of 1..max_moves moves."""
    index = st.integers(0, 999)
    move = st.one_of(
        st.builds(Move, st.sampled_from(KINDS), index), st.builds(Move, st.just(ANSWER), index)
    )
    return st.lists(move, min_size=1, max_size=max_moves).map(tuple)


def sequences(max_moves: int) -> st.SearchStrategy:
    """Random conversations of at most `max_moves` moves."""
    return st.builds(Sequence, st.sampled_from(TEMPLATES), moves_strategy(max_moves))


@dataclass
class Numbers:
    """The sequence's numbers: its holder's, another holder's, a valid one nobody holds."""

    own: str
    other: str
    unknown: str


def wrong_code(index: int, right: Optional[str]) -> str:
    """A six-digit code that is not `right`."""
    code = f"{(index * 7919 + 104729) % 1000000:06d}"
    return code if code != right else f"{(int(code) + 1) % 1000000:06d}"


def _with_phone(index: int, phone: str) -> str:
    templates = pool("inform", ("phone",))
    variant = index % 4
    if variant == 0:
        return phone
    if variant == 1:
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    return pick(templates, index // 4).template.format(phone=phone)


def invalid_phone(index: int, phone: str) -> str:
    """A number that is not a mobile number: a digit short or over, a landline."""
    return (phone[:10], phone + "8", "0" + phone[1:], "2" + phone[1:])[index % 4]


def _answer(index: int, numbers: Numbers, code: Optional[str], asked: Optional[str]) -> str:
    about = QUESTIONS[asked].about if asked in QUESTIONS else None
    if about in ("phone", "reference_or_phone"):
        return _with_phone(index, numbers.own)
    if about == "code":
        return code or wrong_code(index, None)
    if about in ("which_membership", "which_to_cancel"):
        return ("1", "第一个", "2", "都要")[index % 4]
    if about == "reason":
        return ("太贵了", "不怎么用", "跳过")[index % 3]
    if about in ("confirm_cancel", "refund", "human", "cancel_another", "anything_else"):
        return pick(pool(AFFIRM), index).template
    # Nothing asked, or an open "what for": a request that starts a flow.
    intent = ("cancel_subscription", "report_unexpected_charge", "check_subscription")[index % 3]
    return pick(pool(intent), index // 3).template


def text_of(move: Move, numbers: Numbers, code: Optional[str], asked: Optional[str] = None) -> str:
    """What the user types for `move`; `code` is the code the outbox last sent them, if any,
    `asked` the question the bot's last turn asked (turns.questions)."""
    kind, index = move.kind, move.index
    if kind == ANSWER:
        return _answer(index, numbers, code, asked)
    if kind.startswith(TEXT):
        right = code or wrong_code(index, None)
        fill = {"own": numbers.own, "other": numbers.other, "unknown": numbers.unknown}
        return kind[len(TEXT) :].format(code=right, **fill)
    if kind.startswith(SAY):
        return pick(pool(kind[len(SAY) :]), index).template
    if kind in (AFFIRM, DENY):
        return pick(pool(kind), index).template
    if kind == PHONE_OWN:
        return _with_phone(index, numbers.own)
    if kind == PHONE_OTHER:
        return _with_phone(index, numbers.other)
    if kind == PHONE_UNKNOWN:
        return _with_phone(index, numbers.unknown)
    if kind == PHONE_INVALID:
        return invalid_phone(index, numbers.own)
    if kind in (CODE_RIGHT, CODE_WRONG):
        given = code if kind == CODE_RIGHT and code else wrong_code(index, code)
        if index % 3 == 0:
            return given
        return pick(pool("inform", ("code",)), index).template.format(code=given)
    if kind == CANCEL_WITH_PHONE:
        return pick(pool("cancel_subscription", ("phone",)), index).template.format(
            phone=numbers.own
        )
    if kind == CHOICE:
        return pick(CHOICES, index)
    if kind == NOISE_KIND:
        if index % 2 == 0:
            return pick(NOISE, index // 2)
        # Garbled yes, no or "a human" may still mean it: noise must never be a choice.
        every = [
            u
            for intent, items in utterances().items()
            if intent not in CHOSEN_INTENTS
            for u in items
            if not u.needs
        ]
        return garble(pick(every, index // 2).template, index)
    raise ValueError(f"no text for a {kind} move")


def random_sequence(rng: random.Random, max_moves: int) -> Sequence:
    """A sequence drawn without hypothesis (for quick runs)."""
    count = rng.randint(1, max_moves)
    moves: List[Move] = [
        Move(ANSWER if rng.random() < 0.5 else rng.choice(KINDS), rng.randint(0, 999))
        for _ in range(count)
    ]
    return Sequence(rng.choice(TEMPLATES), tuple(moves))


def wait_seconds(move: Move) -> int:
    """How long a wait move lets pass."""
    return pick(WAITS, move.index)


def said(*texts: str) -> Tuple[Move, ...]:
    """Moves of literal texts ({own}, {other}, {unknown}, {code} filled in); "<switch>" starts
    a new conversation for the same user, "<wait N>" lets N seconds pass (N one of WAITS)."""
    moves = []
    for text in texts:
        if text == "<switch>":
            moves.append(Move(SWITCH))
        elif text.startswith("<wait "):
            moves.append(Move(WAIT, WAITS.index(int(text[6:-1]))))
        else:
            moves.append(Move(TEXT + text))
    return tuple(moves)
