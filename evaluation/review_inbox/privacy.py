"""What a review file may show of a user's text: nothing that identifies a person.

The tracker store is redacted already (redaction/), but a store filled before the wrapper,
or by another bot, may not be; so the project's redaction rules run again, then what they
keep on purpose (references, long plain ASCII runs, the masked phone's last four digits) and
what they never look at (people's names, e-mail addresses) is replaced by a placeholder.
`problem` is the last check before anything is written: a text it objects to is not written.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Iterable, Optional

from core.digits import SPOKEN_DIGITS
from redaction.text import REDACTED, redact_text

# Placeholders the operator sees instead of personal data. A text holding one is shown in
# the review file but never trained on (merge.py): the model must not learn a placeholder.
PHONE, NUMBER, CODE, REFERENCE, EMAIL, NAME, HIDDEN = (
    "〈手机号〉",
    "〈数字〉",
    "〈编号〉",
    "〈凭证号〉",
    "〈邮箱〉",
    "〈姓名〉",
    "〈已隐去〉",
)
PLACEHOLDER = re.compile(r"〈[^〈〉]{1,4}〉")

_MASKED_PHONE = re.compile(r"\d{3}\*{4}\d{4}")
_STARS = re.compile(r"\*{3,}")
# core/references.py's shape (TD/RF/RG + date + 6), also typed with spaces, dashes, lower-case.
_REFERENCE = re.compile(r"(?i)(?:TD|RF|RG)[\s\-]*(?:\d[\s\-]*){8}(?:[0-9A-Z][\s\-]*){5}[0-9A-Z]")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# A token of six or more letters and digits with at least two digits: an order id, a code.
_CODE_LIKE = re.compile(r"(?<![A-Za-z0-9])(?=(?:[A-Za-z]*\d){2})[A-Za-z0-9\-]{6,}(?![A-Za-z0-9])")
# Four or more digits of any script, or spoken (幺三八零), possibly split by spaces or dashes.
_DIGIT = rf"[\d{''.join(SPOKEN_DIGITS)}]"
_DIGIT_RUN = re.compile(rf"{_DIGIT}(?:[\s\-–—]{{0,2}}{_DIGIT}){{3,}}")
# Explicit cues: 我叫X / 我是X先生 / X女士 / 姓X.
_NAME_CUES = (
    re.compile(r"(?<=我叫)[\u4e00-\u9fff]{2,3}"),
    re.compile(r"(?<=名字是)[\u4e00-\u9fff]{2,3}"),
    re.compile(r"[\u4e00-\u9fff]{1,2}(?:先生|女士|小姐|老师)"),
    re.compile(r"(?<=我姓)[\u4e00-\u9fff]"),
)
# The same cues written in Latin letters, pinyin (wo jiao zhangsan, wang xiansheng) or English
# (my name is Li Lei, I'm Wei): the words after the cue, or the word before the title, go. An
# English "I am"/"I'm"/"this is" counts only before a capitalised word (I am angry stays).
_LATIN_NAME_CUES = (
    re.compile(r"(?i)(?<![a-z])(?:wo\s*jiao|wo\s*xing|ming\s*zi\s*shi|my\s+name\s+is)\s*"
               r"(?P<name>[a-z]+(?:\s+[a-z]+)?)"),
    re.compile(r"(?<![A-Za-z])(?:[Ii]\s+am|[Ii]'m|[Tt]his\s+is)\s+"
               r"(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"),
    re.compile(r"(?i)(?<![a-z])(?P<name>[a-z]+\s*(?:xiansheng|nvshi|nüshi|xiaojie|laoshi))"
               r"(?![a-z])"),
)  # fmt: skip
# The commonest surnames (about 85 % of people): a word jieba tags as a person's name counts
# as one only when it starts with one of them, which keeps 老公 or a brand name out.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤欧"
)

_lock = threading.Lock()
_tagger = None


def _person_tagger(keep_words: Iterable[str]):
    """jieba's part-of-speech tagger on a dictionary of its own (the NLU's stays untouched)."""
    global _tagger
    with _lock:
        if _tagger is None:
            import jieba
            import jieba.posseg

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            for word in keep_words:
                tokenizer.add_word(word, freq=200_000, tag="nz")
            _tagger = jieba.posseg.POSTokenizer(tokenizer)
    return _tagger


def _catalog_words() -> list:
    """Membership names and aliases: not personal, and never to be read as a person's name."""
    from catalog import load_catalog
    from nlu.jieba_words import catalog_words

    return catalog_words(load_catalog())


def _hide_names(text: str) -> str:
    for cue in _NAME_CUES:
        text = cue.sub(NAME, text)
    for cue in _LATIN_NAME_CUES:
        text = cue.sub(lambda m: m.group(0)[: m.start("name") - m.start()] + NAME, text)
    if not re.search(r"[\u4e00-\u9fff]{2}", text):
        return text
    tagger = _person_tagger(_catalog_words())
    out = []
    for pair in tagger.cut(text):
        word, flag = pair.word, pair.flag
        person = (
            flag == "nr"
            and 2 <= len(word) <= 4
            and (word[0] in SURNAMES or (word[0] in "小老阿" and word[1] in SURNAMES))
        )
        out.append(NAME if person else word)
    return "".join(out)


def scrub(text: str) -> str:
    """`text` as a review file may show it: phones, codes, references, long numbers, e-mail
    addresses and people's names replaced by placeholders (membership names are kept)."""
    # References first: the redaction rules keep them, and may cut one typed with spaces.
    text = _REFERENCE.sub(REFERENCE, text or "")
    text = redact_text(text).replace(REDACTED, HIDDEN)
    text = _EMAIL.sub(EMAIL, text)
    text = _MASKED_PHONE.sub(PHONE, text)
    text = _STARS.sub(NUMBER, text)
    text = _CODE_LIKE.sub(CODE, text)
    text = _DIGIT_RUN.sub(NUMBER, text)
    text = _hide_names(text)
    return re.sub(r"\s+", " ", text).strip()


def problem(text: str) -> Optional[str]:
    """Why `text` must not be written to a review file (a number, code, reference, e-mail
    address or masked value in it), or None."""
    checks = (
        (_DIGIT_RUN, "a run of four or more digits"),
        (_REFERENCE, "a reference number"),
        (_CODE_LIKE, "a code-like token"),
        (_EMAIL, "an e-mail address"),
        (_STARS, "a masked value"),
    )
    for pattern, what in checks:
        if pattern.search(text):
            return what
    return None
