"""Short answers (好的, 行, 不用了, 没有了, 算了, 不要了 …) read as a plain yes or no.

Only a message that is nothing but a short answer is read here: "腾讯视频不要了" names a
membership and is the dialogue's to read; "不用了谢谢" is still a no. What a yes or a no then
means depends on the question just asked (turns.questions).
"""

from __future__ import annotations

import re
from typing import Optional

YES = "yes"
NO = "no"

_YES_WORDS = (
    "好 好的 好滴 好嘞 好吧 好呀 好啊 行 行的 行吧 行啊 可以 可以的 可以啊 可以呀 没问题 "
    "嗯 嗯嗯 嗯嗯嗯 恩 恩恩 是 是的 是啊 是呀 对 对的 对啊 对呀 对对 对对对 要 要的 需要 "
    "ok okay 好嘞好嘞 中 成 得嘞 当然 当然可以 那好 那行 那就这样 就这样吧 同意 愿意"
).split()
_NO_WORDS = (
    "不 不要 不要了 不用 不用了 不需要 不需要了 没有 没有了 没了 没啦 没事 没事了 没别的 "
    "没别的了 算了 算了吧 算啦 不了 不了吧 先不了 先不用了 暂时不用 暂时不用了 暂时不需要 "
    "不必了 不必 别了 不办了 不弄了 不想要了 不行 no 没其他的了 没有其他的了 没其他了 "
    "没有别的了 就这些 就这些了 不用麻烦了 没啥了 没啥事了"
).split()
# What may come around a short answer without changing it: particles, thanks, fillers.
_AROUND = re.compile(
    r"^(?:呃|额|那个|那|嗯|哦|噢|喔)*|(?:啊|呀|吧|哈|啦|哦|嘛|呢|的|了|谢谢|谢了|谢谢你|多谢)*$"
)
_PUNCT = re.compile(r"[\s,，.。!！?？~～、…;；:：\"'“”‘’]+")
_YES = frozenset(_YES_WORDS)
_NO = frozenset(_NO_WORDS)


def _bare(text: str) -> str:
    text = _PUNCT.sub("", text.strip().lower())
    return text


def _parts(text: str) -> list[str]:
    return [p for p in _PUNCT.split(text.strip().lower()) if p]


def _one(part: str) -> Optional[str]:
    if part in _YES:
        return YES
    if part in _NO:
        return NO
    trimmed = _AROUND.sub("", part)
    if trimmed in _YES:
        return YES
    if trimmed in _NO:
        return NO
    return None


_FILLERS = frozenset({"谢谢", "谢谢你", "谢了", "多谢", "嗯", "哦", "好", "那个"})


def reading(text: Optional[str]) -> Optional[str]:
    """'yes' or 'no' when the whole message is a short answer, otherwise None.

    A message of several short parts reads as its last decisive part when the parts agree
    or the earlier ones are fillers ("嗯，不用了" is a no; "好的不用了" is a no; "不是，好的"
    is not a short answer).
    """
    if not isinstance(text, str) or not text.strip() or len(text) > 16:
        return None
    found = _reading(text)
    # "好的谢谢" closes with thanks (the contract's `thank`); "不用了谢谢" is still a no.
    return None if found == YES and "谢" in text else found


def _reading(text: str) -> Optional[str]:
    bare = _bare(text)
    whole = _one(bare)
    if whole is not None:
        return whole
    for size in range(1, len(bare) // 2 + 1):
        # said twice or more: 没了没了, 行吧行吧
        if len(bare) % size == 0 and bare[:size] * (len(bare) // size) == bare:
            return _one(bare[:size])
    parts = _parts(text)
    if len(parts) < 2:
        return None
    readings = [None if p in _FILLERS else _one(p) for p in parts]
    if any(r is None and p not in _FILLERS for r, p in zip(readings, parts, strict=True)):
        return None
    decided = [r for r in readings if r is not None]
    if not decided:
        return YES if parts[-1] in ("好",) else None
    if len(set(decided)) == 1:
        return decided[0]
    # "好的，不用了": a polite yes followed by a no is a no; the reverse is not clear.
    if decided[-1] == NO and parts[0] in ("好", "好的", "嗯", "行"):
        return NO
    return None
