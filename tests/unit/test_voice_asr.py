"""Spoken input: ASR clean-up and the choice among n-best hypotheses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.voice_asr import Expectation, choose, clean_asr_text, expectation_for, score
from channels.voice_request import Hypothesis
from turns.answer import Answer, answer_of, describe


def parse(intent: str, confidence: float = 1.0, *entities: str) -> dict:
    return {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [{"entity": e, "value": "x"} for e in entities],
    }


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("嗯，嗯，那个，帮我取消绿钻", "帮我取消绿钻"),
        ("幺三八，零零幺三，八零零零", "幺三八零零幺三八零零零"),
        ("验证码是三幺零，二四零。", "验证码是三幺零二四零。"),
        ("那个，就是说，我要转人工", "我要转人工"),
        ("额，取消吧", "取消吧"),
        ("好啊", "好啊"),
        ("金额不对", "金额不对"),
        ("嗯", ""),
        ("啊？", ""),
        ("？？？", ""),
        ("嗯哼。", ""),
        ("查一下凭证号 T D 二零二六 幺幺二六 九五八 三幺幺", "查一下凭证号 TD20261126958311"),
        ("凭证号是t d，二零二六，幺幺二六，二三五，三a二", "凭证号是TD202611262353A2"),
        ("TD开头的", "TD开头的"),
    ],
)
def test_clean_asr_text(heard: str, meant: str) -> None:
    """Fillers and pauses inside spoken numbers go; a bare interjection is nothing heard."""
    assert clean_asr_text(heard) == meant


@given(st.text(max_size=60))
def test_clean_asr_text_never_grows_or_fails(text: str) -> None:
    """Cleaning only removes."""
    assert len(clean_asr_text(text)) <= len(text)


def asked(response: str) -> Answer:
    """The answer of a turn that asked `response`."""
    return answer_of([{"text": "…", "next": describe(response)}])


def test_expectations_follow_what_the_last_answer_asks() -> None:
    """The last question says what a right hypothesis contains."""
    assert expectation_for(asked("utter_ask_phone_number")).entities == {"phone_number"}
    assert expectation_for(asked("utter_ask_verification_code")).entities == {"verification_code"}
    assert expectation_for(asked("utter_code_sent_to_caller")).entities == {"verification_code"}
    assert expectation_for(asked("utter_subscription_list")).entities == {"service"}
    assert expectation_for(asked("utter_ask_cancel_confirmed")).intents == {"affirm", "deny"}
    assert expectation_for(asked("utter_ask_confirm_again")).intents == {"affirm", "deny"}
    assert expectation_for(asked("utter_greet")) == Expectation()
    assert expectation_for(None) == Expectation()


def test_the_hypothesis_with_the_asked_for_entity_wins_over_a_more_confident_one() -> None:
    """Asked for the phone: the reading that yields a phone number beats ASR's favourite."""
    hyps = [Hypothesis("要三八零零要三八零零零", 0.9), Hypothesis("幺三八零零幺三八零零零", 0.5)]
    parses = [parse("inform", 1.0), parse("inform", 1.0, "phone_number")]
    assert choose(hyps, parses, expectation_for(asked("utter_ask_phone_number"))) == 1


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
    assert choose(hyps, parses, expectation_for(asked("utter_ask_cancel_confirmed"))) == 1


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
    index = choose(hyps, parses, expectation_for(asked("utter_ask_phone_number")))
    assert 0 <= index < len(rows)
    assert all(
        score(p, h, i, Expectation()) > -1
        for i, (h, p) in enumerate(zip(hyps, parses, strict=True))
    )
