"""The n-best choice: turns.nbest's scoring, and the server feature (rasa_patches/nbest.py)
that reads what the dialogue waits for from the tracker and logs the chosen reading."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_patches import catalog, guard, nbest
from turns.nbest import (
    ASR_HYPOTHESES,
    MAX_PARSED,
    Expectation,
    Hypothesis,
    as_metadata,
    choose,
    expectation_for,
    hypotheses_of,
    score,
)

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def parse(intent: Optional[str], confidence: float = 1.0, *entities: str) -> dict:
    return {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [{"entity": e, "value": "x"} for e in entities],
    }


# --- the scoring (pure) ---


def test_expectations_follow_the_slot_the_active_form_asks_for() -> None:
    """Phone step → phone entity, code → code, membership → service or a pick, confirm → yes/no."""
    assert expectation_for("cancel_form", "phone_number").entities == {"phone_number"}
    assert expectation_for("identity_form", "verification_code").entities == {"verification_code"}
    which = expectation_for("cancel_form", "subscription_id")
    assert which.entities == {"service"} and which.intents == {"inform"}
    assert expectation_for("cancel_form", "cancel_confirmed").intents == {"affirm", "deny"}
    assert expectation_for("reason_form", "cancel_reason") == Expectation()
    assert expectation_for(None, "phone_number") == Expectation(), "no form: nothing asked"
    assert expectation_for(None, None) == Expectation()


def test_the_hypothesis_with_the_asked_for_entity_wins_over_a_more_confident_one() -> None:
    """Asked for the phone: the reading that yields a phone number beats ASR's favourite."""
    hyps = [Hypothesis("要三八零零要三八零零零", 0.9), Hypothesis("幺三八零零幺三八零零零", 0.5)]
    parses = [parse("inform", 1.0), parse("inform", 1.0, "phone_number")]
    assert choose(hyps, parses, expectation_for("cancel_form", "phone_number")) == 1


def test_a_fallback_loses_to_an_understood_reading() -> None:
    """nlu_fallback counts as not understood at all."""
    hyps = [Hypothesis("取消包约", 0.8), Hypothesis("取消绿钻", 0.6)]
    parses = [parse("nlu_fallback", 0.45), parse("cancel_subscription", 0.9)]
    assert choose(hyps, parses, Expectation()) == 1


def test_a_recognised_membership_name_tips_the_balance() -> None:
    """With no question pending, a catalog entity shows the words were heard right."""
    hyps = [Hypothesis("帮我取消藤训视频", 0.7), Hypothesis("帮我取消腾讯视频", 0.6)]
    parses = [parse("cancel_subscription"), parse("cancel_subscription", 1.0, "service")]
    assert choose(hyps, parses, Expectation()) == 1


def test_the_expected_intent_counts_at_the_confirmation() -> None:
    """At 确认要取消吗 a yes/no reading beats an off-topic one."""
    hyps = [Hypothesis("确认取笑", 0.6), Hypothesis("确认取消", 0.5)]
    parses = [parse("out_of_scope", 0.9), parse("affirm", 0.9)]
    assert choose(hyps, parses, expectation_for("cancel_form", "cancel_confirmed")) == 1


def test_ties_go_to_the_platforms_order() -> None:
    """Equal understanding and no confidences: the first stays first."""
    hyps = [Hypothesis("a", None), Hypothesis("b", None)]
    assert choose(hyps, [parse("affirm"), parse("affirm")], Expectation()) == 0
    assert choose([Hypothesis("a", None)], [parse("nlu_fallback")], Expectation()) == 0


def test_asr_confidence_decides_between_equally_understood_readings() -> None:
    """Same intent, same entities: the ASR's confidence decides."""
    hyps = [Hypothesis("a", 0.2), Hypothesis("b", 0.9)]
    assert choose(hyps, [parse("affirm"), parse("affirm")], Expectation()) == 1


def test_choose_needs_something() -> None:
    """An empty list is a programming error."""
    with pytest.raises(ValueError):
        choose([], [], Expectation())


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(0, 1)),
            st.sampled_from(["affirm", "deny", "inform", "nlu_fallback", None]),
            st.floats(0, 1),
            st.lists(st.sampled_from(["service", "phone_number", "verification_code"]), max_size=3),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_choose_always_returns_a_valid_index(rows: list) -> None:
    """Any mixture of parses gives an index into the list, and score is finite."""
    hyps = [Hypothesis(str(i), c) for i, (c, *_rest) in enumerate(rows)]
    parses = [
        {"intent": {"name": n, "confidence": conf}, "entities": [{"entity": e} for e in ents]}
        for _c, n, conf, ents in rows
    ]
    index = choose(hyps, parses, expectation_for("cancel_form", "phone_number"))
    assert 0 <= index < len(rows)
    assert all(
        score(p, h, i, Expectation()) > -1
        for i, (h, p) in enumerate(zip(hyps, parses, strict=True))
    )


def test_the_metadata_round_trip_and_malformed_lists() -> None:
    """What a channel writes is what the server reads; anything malformed is no list at all."""
    hyps = [Hypothesis("确认取消", 0.5), Hypothesis("确认取笑", None)]
    assert hypotheses_of({ASR_HYPOTHESES: as_metadata(hyps)}) == hyps
    assert hypotheses_of({ASR_HYPOTHESES: [{"text": " 好 ", "confidence": 7}]}) == [
        Hypothesis("好", None)
    ]
    for junk in (None, {}, {ASR_HYPOTHESES: "x"}, {ASR_HYPOTHESES: [{"text": 1}]}, "meta"):
        assert hypotheses_of(junk) == []  # type: ignore[arg-type]


# --- the server feature, on a real tracker ---

# text → parse the scripted processor gives
NLU: Dict[str, dict] = {
    "要三八零零要三八零零零": parse("inform", 0.95),
    "幺三八零零幺三八零零零": parse("inform", 0.9, "phone_number"),
    "确认取笑": parse("out_of_scope", 0.7),
    "确认取消": parse("affirm", 0.97),
    "帮我取消藤训视频": parse("cancel_subscription", 0.9),
    "帮我取消腾讯视频": parse("cancel_subscription", 0.9, "service"),
}


class ScriptedProcessor:
    """The part of MessageProcessor the feature calls: parse_message(message, tracker)."""

    def __init__(self) -> None:
        self.parsed: List[Tuple[str, Optional[DialogueStateTracker]]] = []

    async def parse_message(
        self, message: UserMessage, tracker: Optional[DialogueStateTracker] = None
    ) -> dict:
        self.parsed.append((message.text, tracker))
        return {"text": message.text, **NLU.get(message.text, parse("nlu_fallback", 0.3))}


def tracker_at(slot: Optional[str], loop: Optional[str] = "cancel_form") -> DialogueStateTracker:
    """A conversation whose form `loop` asks for `slot` (None: no form active)."""
    events = [ActiveLoop(loop), SlotSet("requested_slot", slot)] if loop else []
    return DialogueStateTracker.from_events("nbest-test", events, slots=DOMAIN.slots)


def spoken(*hyps: Tuple[str, Optional[float]]) -> UserMessage:
    """A message as a spoken channel sends it: the first hypothesis as the text."""
    listed = [Hypothesis(t, c) for t, c in hyps]
    return UserMessage(
        hyps[0][0],
        CollectingOutputChannel(),
        "nbest-test",
        input_channel="voice",
        metadata={ASR_HYPOTHESES: as_metadata(listed), "voice": {"session": "abc"}},
    )


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> List[UserMessage]:
    """The messages Rasa's own _handle_message_with_tracker would log (it is stubbed)."""
    seen: List[UserMessage] = []

    async def original(self, message: UserMessage, tracker: DialogueStateTracker) -> None:
        seen.append(message)

    monkeypatch.setattr(nbest, "_original", original)
    return seen


def handle(processor: ScriptedProcessor, message: UserMessage, tracker) -> None:
    asyncio.run(nbest.handle_message_with_tracker(processor, message, tracker))  # type: ignore


PHONE_HEARD = [("要三八零零要三八零零零", 0.7), ("幺三八零零幺三八零零零", 0.55)]


@pytest.mark.parametrize(
    ("slot", "loop", "hyps", "chosen"),
    [
        # asked for the phone: the 2nd reading holds the number
        ("phone_number", "cancel_form", PHONE_HEARD, 1),
        # the same words outside any form: ASR's favourite, as understood as the other
        (None, None, PHONE_HEARD, 1),
        # at the confirmation: the yes, not the off-topic reading ASR preferred
        ("cancel_confirmed", "cancel_form", [("确认取笑", 0.6), ("确认取消", 0.5)], 1),
        # a catalog name heard right, no form
        (None, None, [("帮我取消藤训视频", 0.82), ("帮我取消腾讯视频", 0.61)], 1),
        # the first already best
        ("cancel_confirmed", "cancel_form", [("确认取消", 0.6), ("确认取笑", 0.5)], 0),
    ],
)
def test_the_server_chooses_from_the_trackers_state(logged, slot, loop, hyps, chosen) -> None:
    """Tracker state → chosen hypothesis; its text is logged and the choice is in the parse."""
    processor = ScriptedProcessor()
    tracker = tracker_at(slot, loop)
    message = spoken(*hyps)
    handle(processor, message, tracker)
    (sent,) = logged
    assert sent.text == hyps[chosen][0]
    assert sent.parse_data["text"] == hyps[chosen][0]
    heard = hyps[chosen][1]
    assert sent.parse_data["asr"] == {"chosen": chosen, "n": len(hyps), "confidence": heard}
    assert [text for text, _ in processor.parsed] == [t for t, _ in hyps]
    assert all(t is tracker for _, t in processor.parsed), "each parse sees the tracker"


def test_the_expected_entity_decides_only_while_its_form_asks(logged) -> None:
    """The same list gives different choices in different states: at the confirmation the
    yes, at the phone step the number."""
    hyps = [("确认取消", 0.5), ("幺三八零零幺三八零零零", 0.6)]
    handle(ScriptedProcessor(), spoken(*hyps), tracker_at("cancel_confirmed"))
    handle(ScriptedProcessor(), spoken(*hyps), tracker_at("phone_number"))
    assert [m.text for m in logged] == ["确认取消", "幺三八零零幺三八零零零"]


def test_only_the_first_hypotheses_are_parsed(logged) -> None:
    """Each parse costs time; the tail of a long list is ignored but counted."""
    processor = ScriptedProcessor()
    hyps = [(f"噪声{i}", None) for i in range(8)]
    handle(processor, spoken(*hyps), tracker_at(None, None))
    assert len(processor.parsed) == MAX_PARSED
    assert logged[0].parse_data["asr"] == {"chosen": 0, "n": 8, "confidence": None}


def test_a_typed_message_is_left_to_rasa(logged) -> None:
    """No hypotheses (every typed channel), or a parse already given: nothing parsed here."""
    processor = ScriptedProcessor()
    typed = UserMessage("确认取消", CollectingOutputChannel(), "t", input_channel="rest")
    given = spoken(("确认取笑", 0.6), ("确认取消", 0.5))
    given.parse_data = {"text": "确认取笑", **parse("out_of_scope")}
    handle(processor, typed, tracker_at("cancel_confirmed"))
    handle(processor, given, tracker_at("cancel_confirmed"))
    assert processor.parsed == []
    assert [m.text for m in logged] == ["确认取消", "确认取笑"]
    assert typed.parse_data is None


# --- the guard knows it, and no switch turns it off ---


def test_the_guard_knows_the_patched_functions() -> None:
    """Declared with the fingerprints of the installed Rasa's functions it replaces and calls."""
    (patch,) = (p for p in catalog.ALL if p.name == "nbest")
    assert patch.module == "rasa_patches.nbest" and patch.kind == guard.FEATURE
    assert set(patch.upstream) == {
        "rasa.core.processor:MessageProcessor._handle_message_with_tracker",
        "rasa.core.processor:MessageProcessor.parse_message",
    }
    assert guard.mismatch(patch.written_for, patch.upstream) is None
    assert patch in catalog.ALWAYS_ON and patch not in catalog.SWITCHED


def test_the_speed_switch_cannot_turn_it_off() -> None:
    """RASA_PATCHES=none leaves n-best on (said in the log); naming it is refused as unknown.
    In a fresh process: prepare really patches Rasa."""
    code = (
        "from rasa_patches import startup, guard\n"
        "from rasa.core.processor import MessageProcessor\n"
        "out = startup.prepare('test', {'RASA_PATCHES': 'none'})\n"
        "names = ('nbest', 'parse_cache')\n"
        "print([(o.patch.name, o.status) for o in out if o.patch.name in names])\n"
        "print(MessageProcessor._handle_message_with_tracker.__module__)\n"
        "try:\n"
        "    startup.prepare('test', {'RASA_PATCHES_DISABLE': 'nbest'})\n"
        "except SystemExit as exit:\n"
        "    print('refused' if 'unknown patches: nbest' in str(exit) else exit)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    lines = done.stdout.strip().splitlines()
    assert lines == [
        "[('parse_cache', 'disabled'), ('nbest', 'applied')]",
        "rasa_patches.nbest",
        "refused",
    ], done.stderr[-2000:]
