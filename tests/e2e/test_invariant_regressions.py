"""Sequences the invariant test (tests/e2e/test_invariants.py) found breaking an invariant,
shrunk by hypothesis and written out: the user's texts in, the invariant checked after every
turn (and in forks of the conversation at its end).

{own} is the number of a holder freshly seeded like the demo holder named, {other} another
holder's, {unknown} a valid number nobody holds, {code} the code the outbox last sent to the
number last given; "<switch>" continues in a new conversation. Ones marked xfail were not
fixed when they were found: the lead flips them as the dialogue is fixed.
"""

from __future__ import annotations

import pytest

from evaluation.invariants import checks
from evaluation.invariants.moves import Sequence, said
from evaluation.invariants.runner import Run, Runner

pytestmark = pytest.mark.e2e

ZHANG, ZHAO = "13800138000", "13600136000"


def holds(run: Run, kind: str) -> None:
    """No violation of `kind` in the run (its transcript shows which turn broke it)."""
    broken = [v for v in run.violations if v.kind == kind]
    assert not broken, f"{kind}: {broken[0].detail}\n{run.transcript()}"


def test_a_whole_cancellation_keeps_every_invariant(invariant_runner: Runner) -> None:
    """The plain path, as a baseline: ask, number, code, yes."""
    run = invariant_runner.run(
        Sequence(ZHANG, said("我要取消腾讯视频会员", "{own}", "{code}", "确认取消"))
    )
    for kind in checks.KINDS:
        if kind not in (checks.NO_WAY_TO_HUMAN, checks.NO_WAY_TO_CANCEL):
            holds(run, kind)


def test_a_greeting_while_a_number_is_asked_for_gets_one_question(invariant_runner: Runner) -> None:
    """Found: 你好 at the phone prompt got the greeting's question and the prompt again."""
    run = invariant_runner.run(Sequence(ZHANG, said("帮我把爱奇艺自动续费关了", "你好")))
    holds(run, checks.TWO_QUESTIONS)


def test_a_greeting_while_a_code_is_asked_for_gets_one_question(invariant_runner: Runner) -> None:
    """Found: 你好 at the code prompt got the greeting's question and the code prompt."""
    run = invariant_runner.run(Sequence(ZHANG, said("{own}", "你好")))
    holds(run, checks.TWO_QUESTIONS)


def test_the_same_cancel_request_twice_at_the_phone_prompt_gets_an_answer(
    invariant_runner: Runner,
) -> None:
    """Found: the second 帮我把爱奇艺自动续费关了 while the number is asked for got no response."""
    run = invariant_runner.run(
        Sequence(ZHANG, said("帮我把爱奇艺自动续费关了", "帮我把爱奇艺自动续费关了"))
    )
    holds(run, checks.SILENT_TURN)
    holds(run, checks.NO_WAY_TO_CANCEL)


def test_the_open_question_is_not_asked_three_times_without_another_way(
    invariant_runner: Runner,
) -> None:
    """Found: a yes and a code out of context, then a greeting: 请问有什么可以帮您 three times."""
    run = invariant_runner.run(Sequence(ZHANG, said("是嘅", "输入234940", "老铁在吗")))
    holds(run, checks.PROMPT_THREE_TIMES)


def test_a_human_is_reached_once_the_verified_session_idled_out(invariant_runner: Runner) -> None:
    """Found: 转人工 after the verified session's idle time got "verification expired", an
    invalid-number message and a phone prompt instead of a human (forks of a verified
    conversation are unverified too)."""
    run = invariant_runner.run(
        Sequence(ZHANG, said("帮我把爱奇艺自动续费关了", "{own}", "{code}", "<wait 601>", "转人工"))
    )
    last = [step for step in run.steps if step.text][-3]  # before the two forks
    assert last.text == "转人工" and "utter_handoff" in last.responses, run.transcript()
    holds(run, checks.NO_WAY_TO_HUMAN)


def test_a_fork_at_the_membership_list_still_reaches_a_cancellation(
    invariant_runner: Runner,
) -> None:
    """Found: at the membership list (after a membership the holder lacks and the code given
    twice), 我要取消腾讯视频会员 in an unverified copy of the conversation got no response."""
    run = invariant_runner.run(
        Sequence(ZHANG, said("帮我把爱奇艺自动续费关了", "{own}", "{code}", "{code}"))
    )
    holds(run, checks.NO_WAY_TO_CANCEL)


def test_a_yes_at_the_reason_question_gets_one_question(invariant_runner: Runner) -> None:
    """Found: yep at 方便说一下取消的原因吗 got 请问有什么可以帮您 and the reason question again."""
    run = invariant_runner.run(
        Sequence(
            ZHANG, said("我要取消腾讯视频会员", "{own}", "{code}", "好嘞", "喂喂 听得到吗", "yep")
        )
    )
    holds(run, checks.TWO_QUESTIONS)


def test_a_yes_after_the_charges_overview_gets_an_answer(invariant_runner: Runner) -> None:
    """Found: after a cancellation, 号码是我自己的 once the charges were listed (no charge
    matched the ¥25 claimed) got no response."""
    texts = (
        "网易云因乐自动续费关掉",
        "手机号{own}",
        "好呀",
        "{code}",
        "{other}",
        "同意",
        "这笔25块的扣费是什么 我要退",
        "号码是我自己的",
    )
    run = invariant_runner.run(Sequence(ZHAO, said(*texts)))
    holds(run, checks.SILENT_TURN)


def test_greeting_three_times_gets_another_way(invariant_runner: Runner) -> None:
    """Found (bench): 你好你好 three times got the greeting's question three times."""
    run = invariant_runner.run(Sequence(ZHANG, said("你好你好", "你好你好", "你好你好")))
    holds(run, checks.PROMPT_THREE_TIMES)


def test_a_cancel_request_after_nothing_left_to_cancel_gets_an_answer(
    invariant_runner: Runner,
) -> None:
    """Found (bench): a holder with no membership asks again to cancel once verified."""
    run = invariant_runner.run(
        Sequence(
            "13700137000",
            said("我要退会员 现在就退", "俺的号{own}", "{code}", "我要退会员 现在就退"),
        )
    )
    holds(run, checks.SILENT_TURN)


def test_a_cancel_request_at_the_confirmation_is_not_taken_for_the_yes(
    invariant_runner: Runner,
) -> None:
    """Found (bench): at 确认要取消QQ音乐绿钻的自动续费吗, 取消自动续废 (a cancel request, not a
    yes) cancelled. By the invariant only a yes confirms; if the dialogue means a repeated
    request to be the yes, the lead changes the definition (evaluation/invariants/checks.py)."""
    texts = (
        "取肖绿钻",
        "手机 {own}",
        "{code}",
        "小助手你好",
        "网易云的连续包月帮我停掉",
        "1",
        "不明扣费",
        "👌 确认",
        "{own} 取消QQ音乐绿钻自动续费",
        "号码是{own}",
        "取消自动续废",
    )
    run = invariant_runner.run(Sequence(ZHANG, said(*texts)))
    holds(run, checks.UNCHOSEN_CANCELLATION)


def test_another_number_while_verified_does_not_repeat_the_overview_a_third_time(
    invariant_runner: Runner,
) -> None:
    """Found (survey of 1000 on the tree of 05:45): verified for one holder, the user gives
    another holder's number twice and gets the memberships overview and 要取消哪一个 three
    times in a row, with no other way offered (and the new number is never taken up)."""
    texts = (
        "我的网盘会员有效期到哪天",
        "{own}",
        "{code}",
        "{other}是我的手机号",
        "{other}是我的手机号",
    )
    run = invariant_runner.run(Sequence("13900139000", said(*texts)))
    holds(run, checks.PROMPT_THREE_TIMES)
