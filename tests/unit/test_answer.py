"""The channel-neutral answer: what each response says comes next, and a turn read as one."""

from __future__ import annotations

import asyncio

from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_plugins.answer_nlg import AnswerGenerator
from turns.answer import (
    CHOICE_OF,
    CODE,
    NEXT_KEY,
    NOTHING,
    PHONE,
    TEXT,
    YES_OR_NO,
    Answer,
    Option,
    answer_of,
    describe,
)


def said(response: str, text: str = "…", buttons=None, **variables) -> dict:
    """A message as an output channel receives it."""
    message = {"text": text, NEXT_KEY: describe(response, buttons, variables)}
    if buttons:
        message["buttons"] = buttons
    return message


def test_each_step_says_what_it_expects() -> None:
    assert describe("utter_ask_phone_number")["expects"] == PHONE
    assert describe("utter_ask_verification_code")["expects"] == CODE
    assert describe("utter_code_sent_to_caller")["also"] == [PHONE]
    assert describe("utter_ask_cancel_reason")["skippable"] is True
    confirm = describe("utter_ask_cancel_confirmed")
    assert (confirm["expects"], confirm["step"]) == (YES_OR_NO, "confirm_cancel")
    assert [o["payload"] for o in confirm["options"]] == ["/affirm", "/deny"]
    assert describe("utter_cancel_aborted")["expects"] is None


def test_a_turn_is_read_as_one_answer() -> None:
    buttons = [{"title": "1. 腾讯视频", "payload": "/choose{\"subscription_id\": 3}"}]
    answer = answer_of(
        [
            said("utter_cancelled", reference="TD20261206ABCDEF"),
            said("utter_ask_another"),
            said("utter_subscription_list", buttons=buttons),
        ]
    )
    assert answer.expects == CHOICE_OF and answer.step == "which_membership"
    assert answer.options == (Option(buttons[0]["payload"], "1. 腾讯视频"),)
    assert answer.references == ("TD20261206ABCDEF",)
    assert not answer.ended


def test_endings_and_tickets() -> None:
    answer = answer_of(
        [said("utter_ask_cancel_confirmed"), said("utter_handoff", reference="RG20261206ABCDEF")]
    )
    assert (answer.expects, answer.ended, answer.ticket) == (NOTHING, True, "RG20261206ABCDEF")
    assert answer_of([said("utter_goodbye")]).ended
    assert answer_of([said("utter_cancel_aborted")]).expects == TEXT
    assert answer_of([]).empty


def test_an_answer_survives_json() -> None:
    answer = answer_of([said("utter_rephrase"), said("utter_ask_cancel_confirmed")])
    assert Answer.from_dict(answer.to_dict()) == answer
    assert answer.not_understood


def test_the_generator_adds_the_description_to_domain_responses_and_action_buttons() -> None:
    domain = Domain.from_yaml(
        """
version: "3.1"
responses:
  utter_ask_another:
    - text: "还需要取消其他会员吗？"
      buttons:
        - {title: "还要取消", payload: "/affirm"}
        - {title: "不用了", payload: "/deny"}
  utter_subscription_list:
    - text: "{items}"
"""
    )
    nlg = AnswerGenerator(domain=domain)
    tracker = DialogueStateTracker("someone", [])
    another = asyncio.run(nlg.generate("utter_ask_another", tracker, "rest"))
    assert another[NEXT_KEY]["expects"] == YES_OR_NO
    assert another[NEXT_KEY]["options"][0] == {"payload": "/affirm", "title": "还要取消"}
    buttons = [{"title": "1. 咪咕视频", "payload": "/inform"}]
    listed = asyncio.run(
        nlg.generate("utter_subscription_list", tracker, "rest", items="x", buttons=buttons)
    )
    assert listed[NEXT_KEY]["options"] == [{"payload": "/inform", "title": "1. 咪咕视频"}]
