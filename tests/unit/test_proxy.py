"""Acting for the holder: who is detected, who is left alone, and what the actions say."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.identity import ActionAskPhoneNumber
from actions.information import ActionCancelMethods, ActionExplainConsequences
from actions.proxy import (
    ANSWER_RESPONSE,
    ANYONE,
    EXPLAIN_RESPONSE,
    PROXY_SLOT,
    acting_for_other,
    asks_about_acting,
    explain_before_prompt,
    proxy_answer,
)
from core.identity import assertion
from core.sms.outbox import read_outbox
from tests.conftest import entity, make_tracker

# --- who acts for whom --------------------------------------------------------------------

ACTING = [
    # the reported exchange, and its spoken and Traditional forms
    ("我是机主的老婆，帮我老公取消一下腾讯视频", "您先生"),
    ("我是机主的老婆帮我老公取消一下腾讯视频", "您先生"),
    ("我是機主的老婆，幫我老公取消一下騰訊視頻", "您先生"),
    ("我是机主老婆，想退订他的会员", ANYONE),
    ("我是机主的老婆", ANYONE),
    # spouses
    ("帮我老公取消一下腾讯视频", "您先生"),
    ("替我老婆退订QQ音乐绿钻", "您爱人"),
    ("帮我爱人把爱奇艺会员退了", "您爱人"),
    ("我家那口子不会弄，我帮他退一下", "您先生"),
    ("幫我太太取消會員", "您爱人"),
    # parents, children, the elderly
    ("帮我妈取消会员", "您母亲"),
    ("替我妈退订", "您母亲"),
    ("给我爸取消爱奇艺会员", "您父亲"),
    ("给我爸的会员退了", "您父亲"),
    ("为我母亲办理退订", "您母亲"),
    ("我能帮我妈取消会员吗", "您母亲"),
    ("我能帮我妈取消会员吗？", "您母亲"),
    ("帮我爸妈把视频会员都退了", "您父母"),
    ("子女可以帮父母取消会员吗", "您父母"),
    ("孩子帮父母退订可以吗", "您父母"),
    ("儿子替老爸退订", "您父亲"),
    ("帮俺娘把那个会员退了", "您母亲"),
    ("帮我奶奶取消一下", "家里老人"),
    ("我家老人被扣了会员费", "家里老人"),
    ("家里老人被扣了会员费，我帮他退订", "家里老人"),
    ("老人不会用手机，家属怎么退订", "家里老人"),
    ("我爸的手机开了个会员，想帮他取消", "您父亲"),
    ("我妈手机上的会员怎么取消", "您母亲"),
    ("这个号码是我爸的", "您父亲"),
    ("机主是我妈", "您母亲"),
    ("机主是我老公，他在上班", "您先生"),
    ("号是登记在我妈名下的", "您母亲"),
    # family in general, strangers, not being the holder
    ("帮家里人退订会员", "您的家人"),
    ("我替家人问一下怎么退订", "您的家人"),
    ("帮朋友问一下怎么取消自动续费", "您的朋友"),
    ("能帮别人取消吗", ANYONE),
    ("我不是机主，能帮机主退订吗", ANYONE),
    ("不是机主本人可以办理吗", ANYONE),
    ("非机主能退订吗", ANYONE),
    ("机主不在身边，我能办吗", ANYONE),
    ("这不是我的手机号", ANYONE),
    ("我是他的家属", ANYONE),
    ("家属可以代办吗", ANYONE),
    ("可以代办退订吗", ANYONE),
    ("我妈让我帮她取消", "您母亲"),
    ("我是他老婆", ANYONE),
    ("帮他们退一下", ANYONE),
    ("给我妈妈退掉腾讯视频", "您母亲"),
    ("能帮我查下我爸的号吗", "您父亲"),
    ("我替老人问一下", "家里老人"),
    # full-width and spaced forms
    ("帮 我 妈 取消 会员", "您母亲"),
    ("ＶＩＰ会员帮我爸退掉", "您父亲"),
]


@pytest.mark.parametrize(("text", "who"), ACTING)
def test_acting_for_the_holder_is_recognised(text: str, who: str) -> None:
    """Someone writing for the holder is recognised, and whom they act for is worded."""
    assert acting_for_other(text) == who


HOLDERS = [
    # a holder who mentions family is a holder
    "我是机主，家里人看的腾讯视频我不要了",
    "我老婆用我的号开的会员，我是机主",
    "我就是机主本人",
    "机主是我，我老公用的会员不要了",
    "我是机主，帮我妈取消她看的腾讯视频",
    "号码是我的，会员是我老婆开的",
    "我儿子用我手机开了会员，帮我退掉",
    "孩子偷偷在我手机上开了会员",
    "我给我爸开的会员，现在不想续了",
    "我帮我妈开的会员不要了，我的号",
    "我老婆说这个会员没用，帮我取消",
    "家里人看的腾讯视频我不要了",
    "我妈说扣了好多钱",
    "我自己的手机号开的，我老公在用",
    # spoken, without punctuation (as the speaker and the IVR write it)
    "我是机主家里人看的腾讯视频我不要了",
    "我是机主我老婆用的会员不要了",
    "我是机主我要帮我妈退订",
    "我就是机主啊帮我取消",
    "机主是我本人",
    "号码是我自己的",
    "我帮我老公开的会员不要了",
    # no one else at all
    "我想取消腾讯视频",
    "帮我取消一下爱奇艺会员",
    "帮我看看开了哪些会员",
    "帮忙退订QQ音乐绿钻",
    "怎么取消自动续费",
    "我的号码是13800138000",
    "为什么扣了我30块钱",
    "代扣的话费能退吗",
    "转人工",
    "",
]


@pytest.mark.parametrize("text", HOLDERS)
def test_a_holder_is_not_taken_for_someone_else(text: str) -> None:
    """The holder, whatever family they mention, is never told about acting for someone."""
    assert acting_for_other(text) is None


# --- what the actions say -----------------------------------------------------------------


def _responses(dispatcher: CollectingDispatcher):
    return [m["response"] for m in dispatcher.messages]


def test_explained_once_before_the_phone_prompt(runtime) -> None:
    """The explanation comes before the prompt, names whom, and the slot remembers it."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text="我是机主的老婆，帮我老公取消一下腾讯视频",
        intent="cancel_subscription",
        entities=[entity("service", "腾讯视频VIP")],
        slots={"service": ["腾讯视频VIP"]},
        active_loop="cancel_form",
    )
    events = asyncio.run(ActionAskPhoneNumber().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == [
        EXPLAIN_RESPONSE,
        "utter_privacy_notice",
        "utter_ask_phone_number_for_cancel",
    ]
    assert dispatcher.messages[0]["who"] == "您先生"
    assert dispatcher.messages[0]["sms_number"] == runtime.settings.cancel_sms_number
    assert SlotSet(PROXY_SLOT, True) in events


def test_not_explained_twice(runtime) -> None:
    """Once given in a conversation, the explanation is not repeated before a prompt."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text="帮我妈取消会员",
        active_loop="cancel_form",
        slots={PROXY_SLOT: True, "privacy_notice_given": True},
    )
    events = asyncio.run(ActionAskPhoneNumber().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == ["utter_ask_phone_number_generic_cancel"]
    assert events == []


def test_a_holder_gets_the_usual_prompt(runtime) -> None:
    """A holder who mentions family hears the phone prompt alone."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text="我是机主，家里人看的腾讯视频我不要了",
        slots={"service": ["腾讯视频VIP"], "privacy_notice_given": True},
        active_loop="cancel_form",
    )
    events = asyncio.run(ActionAskPhoneNumber().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == ["utter_ask_phone_number_for_cancel"]
    assert events == []


def test_a_caller_for_someone_else_is_asked_for_the_number(runtime, outbox_path) -> None:
    """On a call, the caller's own line is not the holder's: no code goes to it."""
    conversation = "ivr:call-1"
    tracker = make_tracker(
        text="帮我妈取消会员", channel="ivr", sender_id=conversation, active_loop="cancel_form"
    )
    tracker.events[-1]["metadata"] = {
        assertion.METADATA_KEY: assertion.sign(
            runtime.settings.channel_assertion_key,
            conversation_id=conversation,
            phone="13800138000",
            source="caller_id",
            now=runtime.epoch(),
        )
    }
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAskPhoneNumber().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == [
        EXPLAIN_RESPONSE,
        "utter_privacy_notice",
        "utter_ask_phone_number_generic_cancel",
    ]
    assert read_outbox(outbox_path) == []
    assert not any(e.get("name") == "phone_number" for e in events)


def test_explain_before_prompt_is_silent_for_a_holder(runtime) -> None:
    """The helper says nothing and sets nothing when the writer is the holder."""
    dispatcher = CollectingDispatcher()
    assert explain_before_prompt(make_tracker(text="我想取消腾讯视频"), dispatcher) == []
    assert dispatcher.messages == []


def test_proxy_answer_for_a_question(runtime) -> None:
    """A question about acting for someone gets every way, with the operator's numbers."""
    dispatcher = CollectingDispatcher()
    assert proxy_answer(make_tracker(text="老人不会用手机，家属怎么退订"), dispatcher)
    assert _responses(dispatcher) == [ANSWER_RESPONSE]
    message = dispatcher.messages[0]
    assert message["hotline"] == runtime.settings.operator_hotline
    assert message["sms_keyword"] == runtime.settings.cancel_sms_keyword
    other = CollectingDispatcher()
    assert not proxy_answer(make_tracker(text="我想取消腾讯视频"), other)
    assert other.messages == []


def test_cancel_methods_for_someone_else(runtime) -> None:
    """Asked how to cancel for the holder, the ways are the ones a proxy can use."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="我不是机主，能帮机主退订吗", intent="ask_cancel_methods")
    events = asyncio.run(ActionCancelMethods().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == [ANSWER_RESPONSE]
    assert SlotSet(PROXY_SLOT, True) in events


def test_cancel_methods_for_the_holder_unchanged(runtime) -> None:
    """The holder asking how to cancel gets the usual list."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="怎么取消自动续费", intent="ask_cancel_methods")
    asyncio.run(ActionCancelMethods().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == ["utter_cancel_methods"]


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("子女可以帮父母取消会员吗", True),
        ("我能帮我妈取消会员吗？", True),
        ("老人不会用手机，家属怎么退订", True),
        ("我不是机主，可以办吗", True),
        ("帮我妈取消后会员还能用吗", False),
        ("帮我爸退订之后钱能退吗", False),
        ("帮我老公取消腾讯视频", False),
        ("我是机主，能帮我取消吗", False),
    ],
)
def test_a_question_about_acting(text: str, asks: bool) -> None:
    """Whether a message asks if someone else may do it (not what follows cancelling)."""
    assert asks_about_acting(text) is asks


def test_consequences_intent_for_a_question_about_acting(runtime) -> None:
    """ "子女可以帮父母取消会员吗" classified ask_consequences still gets the answer it asks for."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="子女可以帮父母取消会员吗", intent="ask_consequences")
    events = asyncio.run(ActionExplainConsequences().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == [ANSWER_RESPONSE]
    assert dispatcher.messages[0]["who"] == "您父母"
    assert SlotSet(PROXY_SLOT, True) in events


def test_consequences_for_a_proxy_asking_what_follows(runtime) -> None:
    """Someone asking what happens after cancelling for their mother hears the consequences."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="帮我妈取消后会员还能用吗", intent="ask_consequences")
    asyncio.run(ActionExplainConsequences().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == ["utter_consequences_general"]
