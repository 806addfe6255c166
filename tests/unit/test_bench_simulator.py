"""The bench's user simulator against a scripted fake bot: its decisions and the verdicts."""

from __future__ import annotations

import random
import re
from typing import List, Optional

import pytest

from bench.simulator import (
    BEHAVIOURS,
    DEMO_GOALS,
    Goal,
    UserSimulator,
    classify,
    converse,
    numbered_list,
    spoken,
)

ZHANG_QQ = next(g for g in DEMO_GOALS if g.product == "QQ音乐绿钻")
REAL_CODE = "482913"
REFERENCE = "TD20261125ZH6F5W"
ASK_CONFIRM = "确认要取消{s}的自动续费吗？请回复“确认取消”或“先不取消”。"
LISTED = (
    "您的号码138****8000下开通了以下会员：\n"
    "1. 腾讯视频VIP（连续包月，¥25/月），下次扣费12月6日\n"
    "2. QQ音乐绿钻（连续包月，¥15/月），下次扣费11月28日\n"
    "请问要取消哪一个？可以回复序号或会员名称。"
)
_DIGITS = str.maketrans("零幺一二三四五六七八九", "01123456789")


class FakeBot:
    """A tiny scripted 退订助手: phone → code → (list) → confirm → reference."""

    def __init__(self, named: Optional[str] = None) -> None:
        self.named = named
        self.step = "open"
        self.heard: List[str] = []
        self.cancelled: Optional[str] = None

    def say(self, text: str) -> List[str]:
        self.heard.append(text)
        digits = re.sub(r"\s", "", text).translate(_DIGITS)
        if self.step == "open":
            named = [g.product for g in DEMO_GOALS if any(a in text for a in g.aliases)]
            self.named = named[-1] if named else None
            self.step = "phone"
            return ["为了确认是机主本人操作，请告诉我开通会员的手机号码（11位）。"]
        if self.step == "phone":
            if "13800138000" not in digits:
                return ["取消后本期权益保留到期末。", "请告诉我开通会员的手机号码（11位）。"]
            self.step = "code"
            return ["验证码已发送到138****8000，5分钟内有效。", "请告诉我短信中的6位验证码。"]
        if self.step == "code":
            if REAL_CODE not in digits:
                return ["验证码不正确，您还可以再试4次。"]
            if self.named is None:
                self.step = "choose"
                return ["身份验证成功。", LISTED]
            self.step = "confirm"
            return ["身份验证成功。", ASK_CONFIRM.format(s=self.named)]
        if self.step == "choose":
            self.named = "QQ音乐绿钻" if ("2" in text or "二" in text) else "腾讯视频VIP"
            self.step = "confirm"
            return [ASK_CONFIRM.format(s=self.named)]
        if self.step == "confirm":
            if "先不" in text:
                self.step = "again"
                return [f"好的，没有取消。{self.named}的会员和自动续费都保持不变。"]
            if "确认" in text or "取消吧" in text or text == "好的 取消":
                self.cancelled = self.named
                self.step = "done"
                return [
                    f"已为您取消{self.named}的自动续费，凭证号：{REFERENCE}。",
                    "方便说一下取消的原因吗？",
                ]
            return ["取消后本期权益保留到期末。", ASK_CONFIRM.format(s=self.named)]
        if self.step == "again":
            self.step = "confirm"
            return [ASK_CONFIRM.format(s=self.named)]
        return ["感谢您的反馈，已记录。"]


def play(behaviour: str, goal: Goal = ZHANG_QQ, seed: int = 1, bot: Optional[FakeBot] = None):
    bot = bot or FakeBot()
    sim = UserSimulator(goal, behaviour, random.Random(seed))
    turns, limit = converse(sim, bot.say, lambda: REAL_CODE, max_turns=16)
    return sim, bot, turns, limit


def test_choose_by_number_opens_unnamed_and_picks_the_goal_by_its_number() -> None:
    sim, bot, _, _ = play("choose_by_number")
    assert not any(alias in bot.heard[0] for alias in ZHANG_QQ.aliases)
    choice = bot.heard[sim.moves.index("choose")]
    assert re.fullmatch(r"2|第二个|选2|2号|要第二个", choice)
    assert bot.cancelled == "QQ音乐绿钻" and sim.reference == REFERENCE


def test_numbered_list_is_parsed() -> None:
    assert [n for n, _ in numbered_list(LISTED)] == [1, 2]


def test_goal_missing_from_the_list_is_a_failure() -> None:
    goal = Goal("13800138000", "优酷VIP", ("优酷",))
    sim = UserSimulator(goal, "choose_by_number", random.Random(0))
    assert sim.respond([LISTED], lambda: REAL_CODE) is None
    assert sim.failure == "goal_not_in_list"


@pytest.mark.parametrize("seed", range(5))
def test_wrong_code_first_sends_a_wrong_code_then_the_real_one(seed: int) -> None:
    sim, bot, _, _ = play("wrong_code_first", seed=seed)
    first, second = (bot.heard[i] for i, m in enumerate(sim.moves) if "code" in m)
    assert sim.moves.count("wrong_code") == 1
    assert REAL_CODE not in first and re.search(r"\d{6}", first)
    assert REAL_CODE in second
    assert sim.reference == REFERENCE


def test_no_then_yes_denies_once_then_asks_again_and_confirms() -> None:
    sim, bot, _, _ = play("no_then_yes")
    assert sim.moves.index("deny") < sim.moves.index("again") < sim.moves.index("confirm")
    assert bot.cancelled == "QQ音乐绿钻"


def test_spoken_digits_says_the_phone_without_ascii_digits() -> None:
    sim, bot, _, _ = play("spoken_digits")
    phone = bot.heard[sim.moves.index("phone")]
    assert "幺" in phone and not re.search(r"[0-9]", phone)
    assert spoken("13800138000", random.Random(3)).replace(" ", "") == "幺三八零零幺三八零零零"


def test_digression_asks_a_question_mid_way_and_still_finishes() -> None:
    for seed in range(6):
        sim, _, _, limit = play("digression", seed=seed)
        assert sim.moves.count("digress") == 1 and not limit
        assert sim.reference == REFERENCE or sim.digress_at == "phone"


def test_a_success_needs_the_reference_and_the_store() -> None:
    sim, bot, _, _ = play("direct")
    assert sim.turns_to_reference == 4  # open, phone, code, confirm
    assert classify(sim, goal_cancelled=True, reference_product="QQ音乐绿钻").success
    unchanged = classify(sim, goal_cancelled=False, reference_product=None)
    assert not unchanged.success and unchanged.reason == "reference_but_store_unchanged"
    other = classify(sim, goal_cancelled=False, reference_product="腾讯视频VIP")
    assert other.reason == "wrong_membership_cancelled"


def test_bot_refusals_and_confusion_are_counted_as_failure_reasons() -> None:
    sim = UserSimulator(ZHANG_QQ, "direct", random.Random(0))
    sim.opening()
    assert (
        sim.respond(["QQ音乐绿钻已经在11月5日取消过了，凭证号TD20261105AAAAA1。"], lambda: None)
        is None
    )
    assert classify(sim, False, None).reason == "already_cancelled"

    sim = UserSimulator(ZHANG_QQ, "direct", random.Random(0), max_stalls=2)
    confused = ["抱歉，我没太理解您的意思，能换个说法吗？"]
    sim.opening()
    replies = [sim.respond(confused, lambda: None) for _ in range(3)]
    assert replies[0] and replies[1] and replies[2] is None
    assert classify(sim, False, None).reason == "not_understood@open"


def test_turn_limit_is_reported() -> None:
    sim = UserSimulator(ZHANG_QQ, "direct", random.Random(0), max_stalls=99, max_repeats=99)
    turns, limit = converse(sim, lambda _: ["嗯？"], lambda: None, max_turns=5)
    assert len(turns) == 5 and limit == "turn_limit"
    assert classify(sim, False, None, limit).reason == "turn_limit"


def test_every_behaviour_succeeds_against_the_fake_bot() -> None:
    for behaviour in BEHAVIOURS:
        for seed in range(4):
            sim, bot, _, limit = play(behaviour, seed=seed)
            assert not limit and sim.failure is None, (behaviour, seed, bot.heard)
            assert classify(sim, bot.cancelled == "QQ音乐绿钻", bot.cancelled).success


def test_a_bot_that_drops_the_flow_hears_the_goal_again() -> None:
    sim = UserSimulator(ZHANG_QQ, "direct", random.Random(0))
    sim.opening()
    sim.respond(["请告诉我开通会员的手机号码（11位）。"], lambda: None)
    again = sim.respond(["好的。还有其他问题随时找我，祝您生活愉快！"], lambda: None)
    assert again is not None and sim.mention in again and sim.moves[-1] == "restate"


def test_a_bot_asking_the_same_question_over_and_over_is_a_failure() -> None:
    sim = UserSimulator(ZHANG_QQ, "direct", random.Random(0))
    ask = ["这个号码好像不对，请再说一遍。", "请告诉我开通会员的手机号码（11位）。"]
    turns, limit = converse(sim, lambda _: ask, lambda: None, max_turns=16)
    assert not limit and len(turns) == 4  # the opening and three phone numbers
    assert classify(sim, False, None).reason == "repeated@phone"


def test_app_store_steps_are_not_mistaken_for_an_earlier_cancellation() -> None:
    sim = UserSimulator(ZHANG_QQ, "direct", random.Random(0))
    sim.opening()
    steps = (
        "百度网盘超级会员是通过苹果 App Store 订阅的，需要您在 iPhone 上自行取消：设置 → ……"
        "如果找不到“取消订阅”按钮，说明已经取消过了。"
    )
    assert sim.respond([steps], lambda: None) is None
    assert sim.failure == "app_store_steps"
