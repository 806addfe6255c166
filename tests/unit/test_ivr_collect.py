"""What the IVR collects next, and what a key press means, decided from the conversation state."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.ivr.collect import (
    AFFIRM,
    DENY,
    HUMAN,
    SKIP_REASON,
    CallState,
    Collect,
    Option,
    dtmf_text,
    next_collect,
    state_of,
    turn_outcome,
)

ROOT = Path(__file__).resolve().parents[2]
YES_NO = [{"title": "确认取消", "payload": "/affirm"}, {"title": "先不取消", "payload": "/deny"}]
LIST = [{"title": "1. QQ音乐绿钻", "payload": "1"}, {"title": "2. 腾讯视频VIP", "payload": "2"}]


@lru_cache(maxsize=1)
def domain() -> Domain:
    """The project's domain (its slots, requested_slot included)."""
    return Domain.load(str(ROOT / "domain.yml"))


def bot(text: str, response: str, buttons: Optional[List[Dict[str, Any]]] = None) -> BotUttered:
    """A bot utterance as Rasa stores it: buttons in data, the response name in metadata."""
    return BotUttered(text, data={"buttons": buttons}, metadata={"utter_action": response})


def tracker_with(events: List[Event], sender: str = "ivr-test") -> DialogueStateTracker:
    """A tracker over the project's slots, with these events applied."""
    tracker = DialogueStateTracker(sender, domain().slots)
    for event in events:
        tracker.update(event)
    return tracker


def in_form(slot: str, *after: Event) -> List[Event]:
    """The caller spoke, the cancel form asks for `slot`."""
    return [
        UserUttered("取消腾讯视频"),
        ActiveLoop("cancel_form"),
        SlotSet("requested_slot", slot),
        *after,
    ]


@pytest.mark.parametrize(
    ("slot", "step", "digits", "terminator"),
    [
        ("phone_number", "phone", 11, "#"),
        ("verification_code", "code", 6, "#"),
        ("cancel_confirmed", "confirm", 1, None),
    ],
)
def test_form_slots_decide_the_input(slot, step, digits, terminator) -> None:
    """Phone: 11 digits ended by #; code: 6 digits; confirmation: one key."""
    collect = next_collect(state_of(tracker_with(in_form(slot))))
    assert (collect.step, collect.max_digits, collect.terminator) == (step, digits, terminator)
    assert collect.to_json()["input"] == ["speech", "dtmf"]


def test_confirmation_keys_are_one_and_two() -> None:
    """1 confirms, 2 goes back."""
    collect = next_collect(state_of(tracker_with(in_form("cancel_confirmed"))))
    assert collect.to_json()["dtmf"]["keys"] == {"1": "确认取消", "2": "返回"}
    assert dtmf_text("1", collect) == AFFIRM and dtmf_text("2", collect) == DENY


def test_numbered_list_maps_keys_to_its_buttons() -> None:
    """The membership list: key n sends the n-th button's payload; titles lose their numbers."""
    events = in_form(
        "subscription_id", bot("您的号码下开通了以下会员…", "utter_subscription_list", LIST)
    )
    collect = next_collect(state_of(tracker_with(events)))
    assert collect.step == "identify_membership"
    assert collect.options == (Option("1", "1", "QQ音乐绿钻"), Option("2", "2", "腾讯视频VIP"))
    assert dtmf_text("2", collect) == "2"
    assert dtmf_text("7", collect) is None


def test_yes_no_buttons_outside_a_form_become_a_menu() -> None:
    """'还需要取消其他会员吗' with buttons: a keyed menu at the step the bot set."""
    buttons = [{"title": "还要取消", "payload": "/affirm"}, {"title": "不用了", "payload": "/deny"}]
    events = [
        UserUttered("跳过"),
        SlotSet("next_step", "another"),
        bot("还需要取消其他会员吗？", "utter_ask_another", buttons),
    ]
    collect = next_collect(state_of(tracker_with(events)))
    assert collect.step == "another"
    assert [(o.key, o.payload) for o in collect.options] == [("1", AFFIRM), ("2", DENY)]


def test_buttons_of_an_earlier_turn_do_not_count() -> None:
    """Only the latest turn's buttons are on offer."""
    events = [
        UserUttered("帮助"),
        bot("需要为您转人工客服吗？", "utter_offer_human", YES_NO),
        UserUttered("查会员"),
        bot("请告诉我手机号。", "utter_ask_phone_for_check"),
    ]
    assert next_collect(state_of(tracker_with(events))).options == ()


def test_greeting_listen_and_ended() -> None:
    """Before the caller spoke: greeting; after: listen; after a goodbye: ended."""
    greeted = [UserUttered("/greet"), bot("您好…", "utter_greet")]
    assert next_collect(state_of(tracker_with(greeted))).step == "greeting"
    spoke = greeted + [UserUttered("你们几点下班"), bot("抱歉…", "utter_out_of_scope")]
    assert next_collect(state_of(tracker_with(spoke))).step == "listen"
    bye = spoke + [UserUttered("再见"), bot("好的，感谢您的使用，再见！", "utter_goodbye")]
    assert next_collect(state_of(tracker_with(bye))).step == "ended"


def test_requested_slot_of_a_finished_form_is_ignored() -> None:
    """A stale requested_slot without an active loop does not ask for digits."""
    events = in_form("phone_number", ActiveLoop(None))
    assert next_collect(state_of(tracker_with(events))).step == "listen"


def test_reason_step_skips_on_any_key() -> None:
    """The optional reason question: # (or any key) skips it."""
    collect = next_collect(CallState(active_loop="reason_form", requested_slot="cancel_reason"))
    assert collect.step == "reason"
    assert dtmf_text("#", collect) == SKIP_REASON


@pytest.mark.parametrize(
    ("digits", "step", "text"),
    [
        ("13800138000#", "phone", "13800138000"),
        ("138*0013#8000", "phone", "13800138000"),
        ("291591#", "code", "291591"),
        ("0", "phone", HUMAN),
        ("0#", "code", HUMAN),
        ("0", "confirm", HUMAN),
        ("0", "listen", HUMAN),
        ("#", "phone", None),
        ("5", "confirm", None),
        ("1", "listen", None),
    ],
)
def test_dtmf_meaning_depends_on_the_step(digits: str, step: str, text: Optional[str]) -> None:
    """Digits are the text during entry; 0 is a human everywhere; other keys only in menus."""
    collect = next_collect(
        CallState(
            active_loop="cancel_form" if step != "listen" else None,
            requested_slot={
                "phone": "phone_number",
                "code": "verification_code",
                "confirm": "cancel_confirmed",
            }.get(step),
            caller_spoke=True,
        )
    )
    assert collect.step == step
    assert dtmf_text(digits, collect) == text


def test_turn_outcome_reads_references_tickets_and_closings() -> None:
    """Only the cancellation responses give references; the handoff gives the ticket."""
    outcome = turn_outcome(
        [
            bot(
                "腾讯视频VIP已经在11月5日取消过了，凭证号TD20261105ABCDE1…",
                "utter_already_cancelled",
            ),
            bot("已为您取消QQ音乐绿钻的自动续费，凭证号：TD202611263GTHC8。", "utter_cancelled"),
            SlotSet("next_step", "another"),
            bot("好的，正在为您转接人工客服，工单号RG20261126YFZ7VY。", "utter_handoff"),
        ]
    )
    assert outcome.references == ["TD202611263GTHC8"]
    assert outcome.ticket == "RG20261126YFZ7VY"
    assert not outcome.closing and len(outcome.texts) == 3
    assert turn_outcome([bot("再见！", "utter_goodbye")]).closing


def test_collect_json_is_what_the_platform_reads() -> None:
    """The platform-facing object names the step, the inputs, digits, terminator and timeout."""
    assert Collect("code", max_digits=6, terminator="#", timeout_seconds=15).to_json() == {
        "step": "code",
        "input": ["speech", "dtmf"],
        "dtmf": {"max_digits": 6, "terminator": "#"},
        "timeout_seconds": 15,
    }


def test_code_sent_to_the_caller_collects_the_code_but_accepts_a_phone() -> None:
    """With caller-id pre-fill the phone is known while still requested: key the code (or a
    different phone, hence up to 11 digits)."""
    sent = bot("验证码已发送到您来电的号码136****6000…", "utter_code_sent_to_caller")
    events = in_form("phone_number", SlotSet("phone_number", "136****6000"), sent)
    collect = next_collect(state_of(tracker_with(events)))
    assert (collect.step, collect.max_digits, collect.terminator) == ("code", 11, "#")
    assert dtmf_text("291591#", collect) == "291591"
