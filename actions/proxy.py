"""Acting for the holder: telling a spouse or a child who writes for the holder how it works.

`acting_for_other` reads one message (after nlu.normalize, so Traditional and full-width forms
count) and says whom the writer acts for, worded for the answer ("您母亲"), or None. It must
never fire for a holder who only mentions family ("我是机主，家里人看的腾讯视频我不要了"):
a holder's own claim to the number wins over any family word.

The explanation says what domain.md verifies: the code goes to the holder's phone, so the
holder has to agree; the holder's phone can also send the cancel SMS; a 营业厅 needs the
holder's ID card.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import get_runtime
from nlu.normalize import normalize

# Remembers that the explanation was given, so the phone prompt says it once per conversation.
PROXY_SLOT = "proxy_explained"
# Said before the phone prompt of a flow (a statement: the prompt is the turn's one question).
EXPLAIN_RESPONSE = "utter_proxy_explained"
# Said alone, to a question about doing it for someone else ("我能帮我妈取消吗").
ANSWER_RESPONSE = "utter_proxy_ways"
# How the answer names whom the writer acts for when the message names nobody in particular.
ANYONE = "机主"

# Family words and how the answer names them. Longer words first in the pattern, so that
# 老公 is not read as 公 and 爸妈 not as 爸.
_FAMILY = [
    ("老公 丈夫 先生 我家那口子 那口子 孩子他爸 孩他爸", "您先生"),
    ("老婆 妻子 媳妇 媳妇儿 太太 孩子他妈 孩他妈", "您爱人"),
    ("爱人 对象 老伴 老伴儿 我家那位 家那位", "您爱人"),
    ("妈妈 妈 母亲 老妈 老母亲 娘 老娘 咱妈", "您母亲"),
    ("爸爸 爸 父亲 老爸 老父亲 爹 老爹 老爷子 咱爸", "您父亲"),
    ("爸妈 父母 父母亲 二老 公婆 岳父母", "您父母"),
    ("爷爷 奶奶 外公 外婆 姥姥 姥爷 公公 婆婆", "家里老人"),
    ("岳父 岳母 丈母娘 老丈人 老太太 老头子", "家里老人"),
    ("老人 老人家 长辈 家里老人 家中老人", "家里老人"),
    ("儿子 女儿 孩子 闺女 小孩 娃", "您孩子"),
    ("哥哥 哥 姐姐 姐 弟弟 弟 妹妹 妹", "您的家人"),
    ("家人 家里人 亲人 亲戚 家属", "您的家人"),
    ("朋友 同事 同学 邻居 室友 领导", "您的朋友"),
    ("别人 他人 其他人 他 她 他们 她们", ANYONE),
]
_RELATIVES: Dict[str, str] = {word: who for words, who in _FAMILY for word in words.split()}
_REL = "|".join(sorted(map(re.escape, _RELATIVES), key=len, reverse=True))
# Words that name someone other than the writer only after a possessive ("我妈", "俺爹").
_MINE = r"(?:我|俺|我们|咱|咱们|我们家|我家|俺家|咱家)?(?:的)?"
_PHONE = r"(?:手机号码|手机号|手机|号码|电话|号|卡)"
_DO = (
    r"(?:取消|退订|退掉|退了|退|关掉|关闭|关了|关|停掉|停了|停"
    r"|办理|办|处理|弄|操作|解约|问问|问一下|问|查)"
)

# The writer's own claim to the number: a holder who mentions family is a holder.
_HOLDER = [
    # 我是机主 / 我就是机主本人, but not 我是机主的老婆 nor 我是机主老婆
    re.compile(rf"我(?:就|才)?是(?:这个号的)?(?:机主|户主)(?:本人)?(?!的|{_REL})"),
    re.compile(rf"(?:机主|户主)(?:就|正)?是我(?:本人|自己)?(?!的|{_REL}|们)"),
    re.compile(r"我(?:就)?是本人|本人(?:操作|办理|在办|来办)|我本人"),
    # the number is the writer's: 用我的号开的 / 号码是我的 / 我自己的手机号
    re.compile(rf"(?:用|拿|在)我(?:的|自己的|自己)?{_PHONE}"),
    re.compile(rf"{_PHONE}(?:是|登记在)我(?:的|自己的|本人的|自己|名下)(?!{_REL})"),
    re.compile(rf"我自己的{_PHONE}|我名下的{_PHONE}"),
]

# (pattern, group holding the family word or None). Checked in order; the first match wins.
_ACTING: List[Tuple[re.Pattern, Optional[str]]] = [
    # 我是机主的老婆 / 我是他儿子 (the word is the writer's own role, not the holder's; not
    # 我是机主家里人看的…, where the family watches)
    (re.compile(rf"我是(?:机主|户主|他|她)(?:的)?(?:{_REL})(?!看|用|在|开|追|听|玩)"), None),
    (re.compile(r"我是(?:他的|她的|他|她)?家属|作为家属"), None),
    (re.compile(r"家属(?:怎么|如何|能|可以|可不可以|能不能|代|帮|替|来)"), None),
    # 我不是机主 / 不是机主本人 / 非机主 / 机主不在身边
    (re.compile(r"不是(?:机主|户主)|非(?:机主|户主)"), None),
    (re.compile(r"(?:机主|户主)(?:本人)?不(?:在|方便|会|能|懂)"), None),
    (re.compile(rf"不是我(?:的|自己的)?{_PHONE}|{_PHONE}不是我的"), None),
    # the number belongs to a relative: 机主是我妈 / 号码是我爸的 / 我妈的手机 / 我妈名下的号
    (re.compile(rf"(?:机主|户主)是{_MINE}(?P<rel>{_REL})"), "rel"),
    (re.compile(rf"{_PHONE}(?:是|登记在){_MINE}(?P<rel>{_REL})(?:的|名下)"), "rel"),
    (re.compile(rf"(?:我|俺|咱)(?:的|们家|家)?(?P<rel>{_REL})的?(?:{_PHONE}|名下|身份证)"), "rel"),
    # acting: 帮我老公取消 / 替我妈 / 代我爸 / 帮家里人 / 孩子帮父母 (帮/替/代 alone are enough)
    (re.compile(rf"(?:帮|替|代)(?:一下)?{_MINE}(?P<rel>{_REL})(?!开|买|订|充|办了|续)"), "rel"),
    # 给我爸 / 为我妈 only with a cancelling verb: 给我爸开的会员 is the holder's own gift
    (re.compile(rf"(?:给|为){_MINE}(?P<rel>{_REL})(?:把)?(?:的)?(?:会员)?{_DO}"), "rel"),
    (re.compile(r"(?:我家|家里|家中|俺家|咱家)(?:的)?(?P<rel>老人|长辈|老人家)"), "rel"),
    (re.compile(r"(?P<rel>老人)(?:家)?(?:不会|不懂|不太会|看不懂|弄不明白|不方便)"), "rel"),
    (re.compile(rf"代(?:为|替|人)?(?:{_DO}|退订|取消)|代办"), None),
]


_POSSESSED = re.compile(rf"(?:我|俺|咱|家里|家中)(?:们家|们|家|的)?(?P<rel>{_REL})")


def acting_for_other(text: str) -> Optional[str]:
    """Whom the writer of `text` acts for, worded for the answer, or None for the holder."""
    if not text:
        return None
    plain = re.sub(r"\s+", "", normalize(text))
    if any(pattern.search(plain) for pattern in _HOLDER):
        return None
    who = None
    for pattern, group in _ACTING:
        match = pattern.search(plain)
        if match is None:
            continue
        if group:
            # A family word that names the holder ("帮我老公") words the answer best; a
            # pronoun ("帮他") stands for the relative the message names ("我妈让我帮她").
            named = _RELATIVES.get(match.group(group), ANYONE)
            return named if named != ANYONE else _named_relative(plain)
        who = ANYONE
    return who


def _named_relative(plain: str) -> str:
    """The first relative the writer names as theirs ("我妈", "家里老人"), or ANYONE."""
    for match in _POSSESSED.finditer(plain):
        if _RELATIVES[match.group("rel")] != ANYONE:
            return _RELATIVES[match.group("rel")]
    return ANYONE


# A question whether or how it can be done ("子女可以帮父母取消吗"), not what cancelling does.
_ASKS_HOW = re.compile(r"能|可以|可不可以|行不行|行吗|怎么|如何|怎样|吗|？|\?")
_ASKS_AFTER = re.compile(r"取消后|取消之后|退订后|退订之后|以后|还能|还可以|退钱|退款|权益|有效期")


def asks_about_acting(text: str) -> bool:
    """Whether `text` asks if (or how) someone else may do it, rather than what follows."""
    plain = normalize(text or "")
    return (
        acting_for_other(plain) is not None
        and bool(_ASKS_HOW.search(plain))
        and not _ASKS_AFTER.search(plain)
    )


def _latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _settings_words() -> Dict[str, str]:
    settings = get_runtime().settings
    return {
        "hotline": settings.operator_hotline,
        "sms_number": settings.cancel_sms_number,
        "sms_keyword": settings.cancel_sms_keyword,
    }


def explain_before_prompt(tracker: Tracker, dispatcher: CollectingDispatcher) -> List[EventType]:
    """Before a phone prompt: explains acting for the holder once, if the message shows it."""
    if tracker.get_slot(PROXY_SLOT):
        return []
    who = acting_for_other(_latest_text(tracker))
    if who is None:
        return []
    dispatcher.utter_message(response=EXPLAIN_RESPONSE, who=who, **_settings_words())
    return [SlotSet(PROXY_SLOT, True)]


def proxy_answer(tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    """Answers a message about acting for the holder with every way; False when it is not one.

    The caller adds `SlotSet(PROXY_SLOT, True)` to its events when this returns True, so the
    phone prompt that may follow does not explain it again.
    """
    who = acting_for_other(_latest_text(tracker))
    if who is None:
        return False
    dispatcher.utter_message(response=ANSWER_RESPONSE, who=who, **_settings_words())
    return True
