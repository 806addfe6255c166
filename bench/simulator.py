"""An agenda-based user simulator: a goal, a behaviour, and the next move read from the bot's texts.

Pure logic: the bot, the SMS outbox and the store are callables handed in by the caller.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

REFERENCE = re.compile(r"TD\d{8}[0-9A-HJKMNP-TV-Z]{6}")
_CONFIRM_QUESTION = re.compile(r"确认要取消(.+?)的自动续费吗")
_LIST_LINE = re.compile(r"^\s*(\d+)[.、]\s*(.+)$", re.MULTILINE)
_SPOKEN = dict(zip("0123456789", "零幺二三四五六七八九", strict=True))
_ORDINALS = "零一二三四五六七八九"

BEHAVIOURS = tuple(
    "direct wrong_code_first choose_by_number digression no_then_yes spoken_digits".split()
)


@dataclass(frozen=True)
class Goal:
    """What the simulated user wants: one membership of one phone cancelled."""

    phone: str
    product: str  # the catalog's canonical name
    aliases: Tuple[str, ...]  # how the user may name it


def _goal(phone: str, product: str, aliases: str) -> Goal:
    return Goal(phone, product, tuple(aliases.split("|")))


def _pool(templates: str) -> Tuple[str, ...]:
    return tuple(templates.split("|"))


# The contract's demo data: the memberships that can be cancelled in a conversation.
DEMO_GOALS = (
    _goal("13800138000", "腾讯视频VIP", "腾讯视频|腾讯视频会员|腾讯会员|腾讯视频VIP"),
    _goal("13800138000", "QQ音乐绿钻", "绿钻|QQ音乐会员|QQ音乐绿钻|QQ音乐的绿钻"),
    _goal("13900139000", "爱奇艺黄金VIP", "爱奇艺|爱奇艺会员|奇艺VIP|爱奇艺黄金VIP"),
    _goal("13600136000", "网易云音乐黑胶VIP", "网易云音乐|黑胶|网易云会员|网易云音乐的会员"),
)

# What the user says, one pool per move; {s} membership, {p} phone, {c} code, {n}/{cn} number.
OPEN_NAMED = _pool(
    "帮我把{s}的自动续费关了|我想取消{s}|{s}不想续了，帮我退订|怎么退订{s}|取消{s}的自动续费|"
    "我不想要{s}了 帮我退掉|{s}帮我退了吧|请帮我关闭{s}的自动续费"
)
OPEN_UNNAMED = _pool("我想取消自动续费|帮我退订会员|不想再扣费了，帮我取消会员|我要取消包月会员")
PHONE = _pool("{p}|我的手机号是{p}|号码是{p}|{p} 这个号|手机号{p}")
CODE = _pool("{c}|验证码{c}|验证码是{c}|收到了 {c}|{c}是验证码")
CHOOSE = _pool("{n}|第{cn}个|选{n}|{n}号|要第{cn}个")
CONFIRM = _pool("确认取消|确认|是的，取消吧|对，确认取消|好的 取消")
DENY = _pool("先不取消了|算了，先不取消|我再想想，先不取消")
AGAIN = _pool("我想了想，还是帮我取消{s}吧|还是取消{s}吧|算了，还是把{s}取消了吧")
DIGRESS = _pool(
    "取消了之后已经扣的钱会退吗|取消后还能用到月底吗|法律上我有权随时取消自动续费吗|"
    "商家不让取消合法吗|取消以后想再开怎么办|退订后还会扣费吗"
)
REASON = _pool("价格太贵了|不怎么用了|跳过|没时间看|换别的平台了")
BYE = _pool("不用了，谢谢|没有了 谢谢|不用了")
CORRECT = _pool("不对，我要取消的是{s}|不是这个，是{s}")

# Bot texts that end the attempt, checked in order: "cue=failure reason".
FAILURE_CUES = tuple(
    tuple(pair.split("="))
    for pair in _pool(
        "iPhone 上自行取消=app_store_steps|取消过了=already_cancelled|尚未取消=partner_failed|"
        "还没有确认取消=partner_timeout|锁定=locked|次数已达上限=code_rate_limited|"
        "已停止办理=flow_stopped|正在为您转接人工=handed_off|系统繁忙=system_busy"
    )
)
# Moves that may be made only max_repeats times in one conversation.
REPEATABLE = ("phone", "code", "choose", "confirm", "restate")
# Bot texts that ask what the user wants, or say goodbye: the flow ended without the goal.
RESTART_CUES = _pool("请问您想办理什么|有什么可以帮您|祝您生活愉快|还有其他需要|还有其他问题")
# Bot texts that ask for the SMS code (sent, resent, expired, wrong format, sent just now).
CODE_ASKED = _pool("验证码已发送|6位验证码|验证码是6位数字|已经过期|重新发送验证码|发过验证码")


def spoken(digits: str, rng: random.Random) -> str:
    """Digits as said aloud (1 as 幺), sometimes in groups."""
    words = "".join(_SPOKEN[d] for d in digits)
    if len(words) == 11 and rng.random() < 0.5:
        return f"{words[:3]} {words[3:7]} {words[7:]}"
    return words


def written_phone(phone: str, rng: random.Random) -> str:
    """A phone number as typed: plain or in 3-4-4 groups."""
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}" if rng.random() < 0.2 else phone


def numbered_list(text: str) -> List[Tuple[int, str]]:
    """The (number, line) items of a numbered list in the bot's text."""
    return [(int(n), line) for n, line in _LIST_LINE.findall(text)]


@dataclass
class UserSimulator:
    """One simulated user: opens, then answers each bot turn until done or failed."""

    goal: Goal
    behaviour: str
    rng: random.Random
    max_stalls: int = 2
    max_repeats: int = 3
    reference: Optional[str] = None
    failure: Optional[str] = None
    moves: List[str] = field(default_factory=list)
    turns_to_reference: Optional[int] = None

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r}")
        self.mention = self.rng.choice(self.goal.aliases)
        self.digress_at = self.rng.choice(("phone", "confirm"))
        self.done: set = set()  # one-off moves made: wrong_code, deny, again, digress, reason…
        self.stalls = 0
        self.pending = "open"  # the agenda item a digression interrupted

    def _say(self, kind: str, text: str) -> Optional[str]:
        # A bot that asks for the same thing again and again is going round in circles.
        if kind in REPEATABLE and self.moves.count(kind) >= self.max_repeats:
            return self._fail(f"repeated@{kind}")
        self.moves.append(kind)
        return text

    def _pick(self, pool: Sequence[str], **values: str) -> str:
        return self.rng.choice(pool).format(**values)

    def opening(self) -> str:
        """The first message: names the membership, unless the user will pick from the list."""
        self.moves.append("open")
        if self.behaviour == "choose_by_number":
            return self._pick(OPEN_UNNAMED)
        return self._pick(OPEN_NAMED, s=self.mention)

    def respond(self, texts: Sequence[str], code_for: Callable[[], Optional[str]]) -> Optional[str]:
        """The next message after the bot's `texts`, or None when the conversation is over."""
        text = "\n".join(texts)
        if self.reference is not None:
            return self._wrap_up(text)
        match = REFERENCE.search(text)
        if match and "已为您取消" in text:
            self.reference = match.group(0)
            self.turns_to_reference = len(self.moves)
            return self._wrap_up(text)
        for cue, reason in FAILURE_CUES:
            if cue in text:
                return self._fail(reason)
        if f"没有开通{self.goal.product}" in text:
            return self._fail("not_held")
        if "没有取消" in text:
            return self._after_abort()
        if "验证码不正确" in text:
            return self._after_wrong_code(code_for)
        asked = _CONFIRM_QUESTION.search(text)
        if asked:
            return self._confirm(asked.group(1))
        if "要取消哪一个" in text:
            return self._choose(text)
        if any(cue in text for cue in CODE_ASKED):
            return self._code(code_for)
        if "手机号码" in text:
            return self._phone()
        return self._stall(text, code_for)

    def _fail(self, reason: str) -> Optional[str]:
        self.failure = reason
        return None

    def _wrap_up(self, text: str) -> Optional[str]:
        # After the reference: give a reason when asked, decline another, then stop.
        if "原因" in text and "reason" not in self.done:
            self.done.add("reason")
            return self._say("reason", self._pick(REASON))
        if "其他会员" in text and "bye" not in self.done:
            self.done.add("bye")
            return self._say("bye", self._pick(BYE))
        return None

    def _after_abort(self) -> Optional[str]:
        if self.behaviour == "no_then_yes" and "deny" in self.done and "again" not in self.done:
            self.done.add("again")
            self.pending = "open"
            return self._say("again", self._pick(AGAIN, s=self.mention))
        return self._fail("unexpected_abort")

    def _after_wrong_code(self, code_for: Callable[[], Optional[str]]) -> Optional[str]:
        if not (self.behaviour == "wrong_code_first" and self.moves[-1:] == ["wrong_code"]):
            # The real code was refused: retry it, but only as often as a stall allows.
            self.stalls += 1
            if self.stalls > self.max_stalls:
                return self._fail("code_rejected")
        return self._code(code_for, allow_wrong=False)

    def _confirm(self, named: str) -> Optional[str]:
        if named != self.goal.product:
            if "correct" in self.done:
                return self._fail("wrong_membership_offered")
            self.done.add("correct")
            return self._say("correct", self._pick(CORRECT, s=self.mention))
        if self._digress_now("confirm"):
            return self._say("digress", self._pick(DIGRESS))
        if self.behaviour == "no_then_yes" and "deny" not in self.done:
            self.done.add("deny")
            return self._say("deny", self._pick(DENY))
        self.pending = "confirm"
        return self._say("confirm", self._pick(CONFIRM))

    def _choose(self, text: str) -> Optional[str]:
        for number, line in numbered_list(text):
            if self.goal.product in line:
                self.pending = "choose"
                cn = _ORDINALS[number] if number < 10 else str(number)
                return self._say("choose", self._pick(CHOOSE, n=str(number), cn=cn))
        return self._fail("goal_not_in_list")

    def _code(
        self, code_for: Callable[[], Optional[str]], allow_wrong: bool = True
    ) -> Optional[str]:
        code = code_for()
        if code is None:
            return self._fail("no_code_sent")
        self.pending = "code"
        if allow_wrong and self.behaviour == "wrong_code_first" and "wrong_code" not in self.done:
            self.done.add("wrong_code")
            wrong = f"{(int(code) + self.rng.randint(1, 999_998)) % 1_000_000:06d}"
            return self._say("wrong_code", self._pick(CODE, c=wrong))
        if self.behaviour == "spoken_digits" and self.rng.random() < 0.5:
            return self._say("code", self._pick(CODE, c=spoken(code, self.rng)))
        return self._say("code", self._pick(CODE, c=code))

    def _phone(self) -> Optional[str]:
        if self._digress_now("phone"):
            return self._say("digress", self._pick(DIGRESS))
        self.pending = "phone"
        if self.behaviour == "spoken_digits":
            return self._say("phone", self._pick(PHONE, p=spoken(self.goal.phone, self.rng)))
        return self._say("phone", self._pick(PHONE, p=written_phone(self.goal.phone, self.rng)))

    def _digress_now(self, where: str) -> bool:
        if self.behaviour != "digression" or self.digress_at != where or "digress" in self.done:
            return False
        self.done.add("digress")
        self.pending = where
        return True

    def _stall(self, text: str, code_for: Callable[[], Optional[str]]) -> Optional[str]:
        # Not a question we recognise: say again what the agenda needs now, a few times at most;
        # after a bot that asks what we want or says goodbye, that is the goal itself.
        self.stalls += 1
        if any(cue in text for cue in RESTART_CUES):
            self.pending = "open"
        if self.stalls > self.max_stalls:
            understood = "没太理解" not in text and "没能理解" not in text
            return self._fail(("stuck" if understood else "not_understood") + f"@{self.pending}")
        if self.pending == "phone":
            return self._say("phone", self._pick(PHONE, p=self.goal.phone))
        if self.pending == "code":
            return self._code(code_for, allow_wrong=False)
        if self.pending == "confirm":
            return self._say("confirm", self._pick(CONFIRM))
        if self.pending == "open" and self.behaviour == "choose_by_number":
            return self._say("open", self._pick(OPEN_UNNAMED))
        pool = AGAIN if "restate" not in self.moves else OPEN_NAMED
        return self._say("restate", self._pick(pool, s=self.mention))


@dataclass
class Outcome:
    """How one simulated conversation ended."""

    success: bool
    reason: str  # "ok" or why it failed
    turns: int  # user turns up to the reference (all turns when it failed)


def classify(
    sim: UserSimulator, goal_cancelled: bool, reference_product: Optional[str], limit: str = ""
) -> Outcome:
    """Success = the bot gave a reference for the goal and the store shows the goal cancelled."""
    turns = sim.turns_to_reference or len(sim.moves)
    if sim.reference and goal_cancelled and reference_product == sim.goal.product:
        return Outcome(True, "ok", turns)
    if sim.reference and reference_product not in (None, sim.goal.product):
        return Outcome(False, "wrong_membership_cancelled", turns)
    if sim.reference:
        return Outcome(False, "reference_but_store_unchanged", turns)
    if sim.failure or limit:
        return Outcome(False, sim.failure or limit, turns)
    return Outcome(
        False, "cancelled_without_reference" if goal_cancelled else "no_reference", turns
    )


@dataclass
class Turn:
    """One exchange: what the user said and what the bot answered."""

    user: str
    bot: List[str]
    seconds: float


def converse(
    sim: UserSimulator,
    say: Callable[[str], List[str]],
    code_for: Callable[[], Optional[str]],
    max_turns: int = 16,
    max_seconds: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
) -> Tuple[List[Turn], str]:
    """Plays one conversation; returns the turns and the limit that cut it short ('' if none)."""
    turns: List[Turn] = []
    start = clock()
    message: Optional[str] = sim.opening()
    while message is not None:
        if len(turns) >= max_turns:
            return turns, "turn_limit"
        if clock() - start > max_seconds:
            return turns, "time_limit"
        before = clock()
        try:
            texts = say(message)
        except OSError:  # urllib's and aiohttp's connection errors and timeouts
            return turns, "http_error"
        turns.append(Turn(message, texts, clock() - before))
        message = sim.respond(texts, code_for)
    return turns, ""
