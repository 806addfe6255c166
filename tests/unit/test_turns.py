"""The question table, the short-answer reading and the record of what a turn asked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from turns.questions import NOT_UNDERSTOOD, OFFERS, OTHER_WAYS, QUESTIONS, same_prompt
from turns.record import bot_turns, last_question, repeats_of
from turns.short_answers import NO, YES, reading

ROOT = Path(__file__).resolve().parents[2]
RESPONSES = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
# Responses that ask for something only conditionally ("如需…请告诉我"): offers, not questions.
ASKS_ONLY_IF_WANTED = set(OFFERS)


def _text(name: str) -> str:
    return " ".join(v.get("text", "") for v in RESPONSES[name])


def test_every_named_response_exists() -> None:
    """The tables name responses of domain.yml only."""
    named = set(QUESTIONS) | set(OFFERS) | NOT_UNDERSTOOD | OTHER_WAYS
    assert named <= set(RESPONSES), sorted(named - set(RESPONSES))


def test_every_question_of_the_domain_is_in_the_table() -> None:
    """A response that asks the user something is known to the dialogue and the channels."""
    asking = {
        name
        for name in RESPONSES
        if any(mark in _text(name) for mark in ("？", "吗", "请告诉我", "请回复", "哪一个"))
    }
    unknown = asking - set(QUESTIONS) - ASKS_ONLY_IF_WANTED
    assert not unknown, sorted(unknown)


def test_question_kinds_and_moves_are_known() -> None:
    """Every question has a known kind, and yes/no moves only where a yes/no makes sense."""
    moves = {
        "how_can_help",
        "close",
        "goodbye",
        "handoff",
        "ok_rephrase",
        "cancel",
        "file_refund",
        "no_refund",
        None,
    }
    for name, q in {**QUESTIONS, **OFFERS}.items():
        assert q.kind in ("yes_no", "choice", "open"), name
        assert q.yes in moves and q.no in moves, name
        if q.flow:
            assert q.yes is None and q.no is None, f"{name}: a form reads its own answers"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("没有了", NO),
        ("不用了", NO),
        ("算了", NO),
        ("不要了", NO),
        ("不用了谢谢", NO),
        ("嗯，不用了", NO),
        ("好的，不用了", NO),
        ("没了没了", NO),
        ("算了吧。", NO),
        ("好的", YES),
        ("行", YES),
        ("可以", YES),
        ("嗯嗯", YES),
        ("是的", YES),
        ("行吧行吧", YES),
        ("OK", YES),
        ("好滴", YES),
        ("好的谢谢", None),  # thanks, the contract's `thank`
        ("咪咕视频的会员不要了", None),  # names a membership: the dialogue's to read
        ("不是，好的", None),
        ("取消", None),
        ("13800138000", None),
        ("", None),
        ("我不要了这个会员赶紧给我退掉", None),
    ],
)
def test_short_answers(text: str, expected) -> None:
    """Bare short answers read as yes or no; anything with content is left to the NLU."""
    assert reading(text) == expected


@given(st.text(alphabet="腾讯视频爱奇艺取消查询扣费13579", min_size=1, max_size=12))
def test_content_is_never_a_short_answer(text: str) -> None:
    """Text made of content words and digits is never read as a bare yes or no."""
    assert reading(text) is None


def _bot(name: str) -> dict:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": name}}


def _user(text: str = "x") -> dict:
    return {"event": "user", "text": text}


def test_record_reads_the_last_turns_question() -> None:
    """The question of the turn before the latest user message, an offer failing one."""
    events = [
        _user(),
        _bot("utter_cancelled"),
        _bot("utter_ask_another"),
        _user("没有了"),
    ]
    assert bot_turns(events) == [["utter_cancelled", "utter_ask_another"]]
    assert last_question(events) == "utter_ask_another"
    offered = [_user(), _bot("utter_legal_rights"), _user("好的")]
    assert last_question(offered) == "utter_legal_rights"
    assert last_question([_user()]) is None


def test_repeats_count_wordings_of_one_prompt_and_stop_at_another_way() -> None:
    """utter_ask_phone_number and utter_ask_phone_again are one prompt; an offer of another
    way starts the count again."""
    events = [
        _user(),
        _bot("utter_ask_phone_number"),
        _user("啊"),
        _bot("utter_ask_phone_again"),
        _user("呃"),
    ]
    assert repeats_of(events, "utter_ask_phone_number") == 2
    assert same_prompt("utter_ask_phone_number", "utter_ask_phone_for_check")
    events[3:3] = [_bot("utter_other_ways")]
    assert repeats_of(events, "utter_ask_phone_number") == 0
    assert repeats_of(events[:2] + [_user()], "utter_ask_verification_code") == 0
