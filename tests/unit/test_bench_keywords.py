"""The keyword-rule baseline: contract examples and Rasa-shaped results."""

from __future__ import annotations

import pytest

from bench.baselines.keywords import KeywordNLU


@pytest.fixture(scope="module")
def nlu() -> KeywordNLU:
    """The baseline with the project's catalog."""
    return KeywordNLU()


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("你好", "greet"),
        ("再见", "goodbye"),
        ("谢谢", "thank"),
        ("是的", "affirm"),
        ("不用了", "deny"),
        ("先不取消了", "deny"),
        ("不想再扣费了", "cancel_subscription"),
        ("我开了哪些会员", "check_subscription"),
        ("上周取消的办好了吗", "query_cancellation"),
        ("有哪些取消方式", "ask_cancel_methods"),
        ("取消后还能用到月底吗", "ask_consequences"),
        ("都取消了怎么还扣我钱", "report_unexpected_charge"),
        ("商家不让取消合法吗", "ask_legal_rights"),
        ("转人工", "request_human"),
        ("今天天气怎么样", "out_of_scope"),
    ],
)
def test_contract_examples(nlu: KeywordNLU, text: str, intent: str) -> None:
    """The contract's own example utterances get their labels."""
    assert nlu.parse(text)["intent"]["name"] == intent


def test_result_has_rasas_shape(nlu: KeywordNLU) -> None:
    """text, intent {name, confidence} and entities with value and offsets."""
    result = nlu.parse("帮我把爱奇艺自动续费关了")
    assert result["text"] == "帮我把爱奇艺自动续费关了"
    assert result["intent"] == {"name": "cancel_subscription", "confidence": 1.0}
    assert result["entities"] == [
        {"entity": "service", "value": "爱奇艺黄金VIP", "start": 3, "end": 6}
    ]


def test_longest_catalog_name_wins(nlu: KeywordNLU) -> None:
    """腾讯视频VIP is one service, not 腾讯视频 plus leftovers; aliases match case-insensitively."""
    entities = nlu.parse("退订腾讯视频vip和网易云")["entities"]
    assert [(e["value"], e["start"], e["end"]) for e in entities] == [
        ("腾讯视频VIP", 2, 9),
        ("网易云音乐黑胶VIP", 10, 13),
    ]


def test_numbers_by_regex(nlu: KeywordNLU) -> None:
    """Phone, code and reference numbers, each once, references upper-cased."""
    result = nlu.parse("13800138000 验证码482913 单号td20261124k7m2q5")
    assert [(e["entity"], e["value"]) for e in result["entities"]] == [
        ("phone_number", "13800138000"),
        ("verification_code", "482913"),
        ("reference_number", "TD20261124K7M2Q5"),
    ]
    assert result["intent"]["name"] == "query_cancellation"  # 单号 is a query cue


def test_entities_alone_are_inform(nlu: KeywordNLU) -> None:
    """An utterance that only gives a number or a name is `inform`."""
    assert nlu.parse("13800138000")["intent"]["name"] == "inform"
    assert nlu.parse("验证码482913")["intent"]["name"] == "inform"
    assert nlu.parse("腾讯视频那个")["intent"]["name"] == "inform"


def test_no_normaliser(nlu: KeywordNLU) -> None:
    """Spoken digits are not numbers to the rules: that is what the baseline lacks."""
    assert nlu.parse("一三八零零一三八零零零")["entities"] == []
