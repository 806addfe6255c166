"""Runs random conversations through the real servers and checks every turn.

Each sequence gets its own clock (the development clock moved STEP forward) and its own
holders (core.store.seed.seed_holders), so code ceilings and intervals never collide.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from core.dev_clock import write_offset
from core.sms.outbox import latest_code
from core.store.seed import fresh_number, seed_holders
from evaluation.invariants import checks
from evaluation.invariants.checks import Turn, Violation
from evaluation.invariants.moves import (
    ANSWER,
    CANCEL_WITH_PHONE,
    PHONE_OTHER,
    PHONE_OWN,
    PHONE_UNKNOWN,
    SWITCH,
    TEMPLATES,
    TEXT,
    WAIT,
    Move,
    Numbers,
    Sequence,
    text_of,
    wait_seconds,
)
from stack.bot import Bot
from turns.questions import turn_question
from turns.record import last_question, template_of

# How far the clock moves before each sequence: past every code ceiling's day.
STEP_SECONDS = 2 * 86400
HUMAN_REQUEST = "转人工"
CANCEL_REQUEST = "我要取消腾讯视频会员"
GIVES_NUMBER = {PHONE_OWN: "own", PHONE_OTHER: "other", PHONE_UNKNOWN: "unknown"}


class InvariantBroken(AssertionError):
    """A sequence broke an invariant (one subclass per kind, so hypothesis shrinks each)."""


ERRORS = {
    kind: type(f"Broken_{kind}", (InvariantBroken,), {"__doc__": f"The {kind} invariant."})
    for kind in checks.KINDS
}


@dataclass
class Step:
    """What one move did, for the transcript."""

    conversation: str
    move: Move
    text: str
    responses: List[str]
    violations: List[Violation]


@dataclass
class Run:
    """One sequence's run: its numbers, steps, violations and how long it took."""

    sequence: Sequence
    numbers: Numbers
    steps: List[Step] = field(default_factory=list)
    violations: List[Violation] = field(default_factory=list)
    turns: int = 0
    seconds: float = 0.0
    # What the turns did: cancellations, refund cases, tickets made, SMS sent (forks aside).
    effects: Dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("cancellations", "refund_cases", "tickets", "sms"), 0
        )
    )

    def transcript(self) -> str:
        """The run as readable lines: each move, its text and responses, what broke."""
        lines = [f"holder like {self.sequence.template}; moves {list(self.sequence.moves)}"]
        for step in self.steps:
            if step.move.kind == WAIT:
                lines.append(f"  ({wait_seconds(step.move)} s pass)")
                continue
            if step.move.kind == SWITCH:
                lines.append(f"  (the user continues in a new conversation {step.conversation})")
                continue
            lines.append(f"  [{step.conversation}] {step.move!r} 用户：{step.text!r}")
            lines.append(f"      -> {step.responses}")
            lines += [f"      !! {v.kind}: {v.detail}" for v in step.violations]
        return "\n".join(lines)

    def raise_first(self) -> None:
        """Raises the error of the first violation's kind, with the transcript."""
        if self.violations:
            first = self.violations[0]
            raise ERRORS[first.kind](f"{first.kind}: {first.detail}\n{self.transcript()}")


@dataclass
class _Conversation:
    sender: str
    given: List[str] = field(default_factory=list)
    refund_consent: bool = False
    turns: int = 0
    # The question the bot's last turn asked.
    asked: Optional[str] = None


class OutboxTail:
    """The SMS outbox lines written since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.position = self.path.stat().st_size if self.path.exists() else 0

    def new_lines(self) -> List[Dict[str, Any]]:
        """Lines appended since the last call (complete lines only)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.position)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.position += end
        return [json.loads(line) for line in data[:end].decode("utf-8").splitlines() if line]


class Runner:
    """Runs sequences on `bot`, whose clock reads `clock_file`."""

    def __init__(self, bot: Bot, clock_file: Path, seed: int = 0) -> None:
        self.bot = bot
        self.clock_file = Path(clock_file)
        self.offset = 0.0
        self.rng = random.Random(seed)
        self.outbox = OutboxTail(bot.settings.sms_outbox)
        self.rate_waits = 0
        # Totals over every run of this runner.
        self.sequences = 0
        self.turns = 0

    # HTTP

    def _request(self, method: str, url: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        for _ in range(20):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return json.loads(response.read().decode("utf-8") or "null")
            except urllib.error.HTTPError as error:
                if error.code != 429:
                    raise
                # The REST channel's per-sender rate limit: a person would have waited too.
                answer = json.loads(error.read().decode("utf-8"))
                self.rate_waits += 1
                time.sleep(float(answer.get("retry_after", 1)))
        raise RuntimeError("rate limited twenty times in a row")

    def say(self, sender: str, text: str) -> None:
        """One user message over REST."""
        self._request(
            "POST", f"{self.bot.url}/webhooks/rest/webhook", {"sender": sender, "message": text}
        )

    def tracker(self, sender: str) -> Dict[str, Any]:
        """The REST conversation's tracker (its events and slots)."""
        return self._request("GET", self.bot.api_url(f"/conversations/rest:{sender}/tracker"))

    def fork(self, sender: str) -> str:
        """A new conversation holding a copy of `sender`'s events; returns its sender."""
        events = self.tracker(sender)["events"]
        copy = f"{sender}-fork-{uuid.uuid4().hex[:6]}"
        self._request("PUT", self.bot.api_url(f"/conversations/rest:{copy}/tracker/events"), events)
        return copy

    # One sequence

    def prepare(self, template: str) -> Numbers:
        """Moves the clock on and seeds the sequence's holders (its own and another)."""
        self.offset += STEP_SECONDS
        write_offset(self.clock_file, self.offset)
        now = self.bot.store.now()
        other_template = next(t for t in TEMPLATES if t != template)
        own, other = seed_holders(self.bot.store, [template, other_template], now, self.rng)
        unknown = fresh_number(self.rng)
        while unknown in (own, other) or self.bot.store.account(unknown) is not None:
            unknown = fresh_number(self.rng)
        return Numbers(own=own, other=other, unknown=unknown)

    def _new_conversation(self) -> _Conversation:
        return _Conversation(sender=f"inv-{uuid.uuid4().hex[:16]}")

    def _code_for(self, conversation: _Conversation, numbers: Numbers) -> Optional[str]:
        current = conversation.given[-1] if conversation.given else numbers.own
        return latest_code(self.bot.settings.sms_outbox, current)

    def run(self, sequence: Sequence, reach: bool = True) -> Run:
        """Runs `sequence` and checks every turn (and, at the end, that a human and a
        cancellation can still be reached)."""
        started = time.perf_counter()
        numbers = self.prepare(sequence.template)
        every = (numbers.own, numbers.other, numbers.unknown)
        run = Run(sequence, numbers)
        conversation = self._new_conversation()
        state = self.bot.store.state_of(list(every))
        self.outbox.new_lines()
        for move in sequence.moves:
            if move.kind == SWITCH:
                # The same user continues from a new conversation (a reload, another channel).
                if conversation.turns:
                    conversation = self._new_conversation()
                run.steps.append(Step(conversation.sender, move, "", [], []))
                continue
            if move.kind == WAIT:
                # Time passes for the servers (codes expire, sessions idle out), not for Rasa.
                self.offset += wait_seconds(move)
                write_offset(self.clock_file, self.offset)
                run.steps.append(Step(conversation.sender, move, "", [], []))
                continue
            text = text_of(move, numbers, self._code_for(conversation, numbers), conversation.asked)
            conversation.given += numbers_in(move, numbers, text)
            self.say(conversation.sender, text)
            conversation.turns += 1
            run.turns += 1
            tracker = self.tracker(conversation.sender)
            events = tracker.get("events") or []
            after = self.bot.store.state_of(list(every))
            turn = Turn(
                conversation=conversation.sender,
                move=move,
                text=text,
                responses=responses_of_last_turn(events),
                asked_before=last_question(events),
                events=events,
                slots=tracker.get("slots") or {},
                sent=self.outbox.new_lines(),
                before=state,
                after=after,
                numbers=list(dict.fromkeys([*reversed(conversation.given), *every])),
                refund_consent=conversation.refund_consent,
            )
            found = checks.check_turn(turn)
            _count_effects(run.effects, turn)
            if set(after.refund_cases) - set(state.refund_cases):
                conversation.refund_consent = False
            elif checks.consents_to_refund(move, text, turn.asked_before):
                conversation.refund_consent = True
            state = after
            conversation.asked = turn_question(turn.responses)
            run.steps.append(Step(conversation.sender, move, text, turn.responses, found))
            run.violations += found
        if reach and conversation.turns:
            run.violations += self.reachability(conversation.sender, run)
        run.seconds = time.perf_counter() - started
        self.sequences += 1
        self.turns += run.turns
        return run

    def reachability(self, sender: str, run: Run) -> List[Violation]:
        """Forks of the conversation: "转人工" must get a human, the cancel request a flow."""
        found = []
        for text, reached, kind in (
            (HUMAN_REQUEST, checks.reaches_human, checks.NO_WAY_TO_HUMAN),
            (CANCEL_REQUEST, checks.reaches_cancellation, checks.NO_WAY_TO_CANCEL),
        ):
            fork = self.fork(sender)
            self.say(fork, text)
            responses = responses_of_last_turn(self.tracker(fork).get("events") or [])
            problems = [] if reached(responses) else [Violation(kind, f"{text!r} -> {responses}")]
            run.steps.append(Step(fork, Move("fork"), text, responses, problems))
            found += problems
        self.outbox.new_lines()
        return found


def _count_effects(effects: Dict[str, int], turn: Turn) -> None:
    for name in ("cancellations", "refund_cases", "tickets"):
        effects[name] += len(set(getattr(turn.after, name)) - set(getattr(turn.before, name)))
    effects["sms"] += len(turn.sent)


def numbers_in(move: Move, numbers: Numbers, text: str = "") -> List[str]:
    """The sequence's numbers a move gives (`text`: what was said for it)."""
    if move.kind == ANSWER:
        return [numbers.own] if numbers.own in text.replace(" ", "") else []
    if move.kind.startswith(TEXT):
        names = ("own", "other", "unknown")
        return [getattr(numbers, name) for name in names if f"{{{name}}}" in move.kind]
    given = GIVES_NUMBER.get(move.kind) or ("own" if move.kind == CANCEL_WITH_PHONE else None)
    return [getattr(numbers, given)] if given else []


def responses_of_last_turn(events: List[Dict[str, Any]]) -> List[str]:
    """The response names of the bot events after the latest user message."""
    names: List[str] = []
    for event in events:
        if event.get("event") == "user":
            names = []
        elif event.get("event") == "bot":
            names.append(template_of(event) or "<no response name>")
    return names


def tally(runs: List[Run]) -> Tuple[int, int, Dict[str, int]]:
    """(sequences, turns, violations by kind) over `runs`."""
    kinds: Dict[str, int] = {kind: 0 for kind in checks.KINDS}
    for run in runs:
        for violation in run.violations:
            kinds[violation.kind] += 1
    return len(runs), sum(run.turns for run in runs), kinds
