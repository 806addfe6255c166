"""Pinyin typed in Latin letters, read as the Chinese it spells: quxiao huiyuan → 取消会员.

Someone without a Chinese input method (a feature phone, a borrowed computer, a hurried SMS)
types the sound. The classifier was trained on characters, so the message is rewritten into
them before anything else reads it, the way an input method would: the syllables
(nlu/pinyin.py's `latin_syllables`) are split into the most probable words of a lexicon built
from jieba's dictionary (unigram counts), with the domain's words and the catalog's names
preferred (kouqian → 扣钱, aiqiyi → 爱奇艺).

Only a message whose Latin words are all pinyin (or the catalog's own Latin words: VIP, TV,
QQ …) is read this way, and only when its pinyin holds at least one word of two or more
syllables: English (what memberships are active, can you help me, human) and codes
(TD20261025…) stay as they are. One Han character per syllable, so the text never grows and
`read_typed_pinyin` can say where every original character went.
"""

from __future__ import annotations

import functools
import math
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from nlu.normalize import joined_with_map
from nlu.pinyin import latin_syllables

# A Latin word standing alone: not glued to digits or other letters (TD20261025 is a code).
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]+(?![A-Za-z0-9])")
# What may stand between the pinyin words of one run (spaces, xi'an, kuai-dian).
_JOINER = re.compile(r"[ '\-]*")
# Latin words that are no pinyin but belong in a pinyin message (quxiao vip, kaitong app).
_LATIN_TERMS = frozenset({"vip", "svip", "tv", "qq", "app", "td", "sms", "id", "ok"})
# The domain's words, preferred over any dictionary word that sounds the same.
DOMAIN_WORDS: Tuple[str, ...] = (
    "取消", "退订", "续订", "续费", "自动续费", "会员", "包月", "包年", "包季", "扣费", "扣款",
    "扣钱", "退款", "退费", "订阅", "关闭", "关掉", "开通", "自动", "查询", "人工", "客服",
    "验证码", "手机号", "凭证", "营业厅", "解除", "协议", "彩铃", "网盘", "视频", "音乐",
    "话费",
    # what a chat says more often than the dictionary's first choice (浜, 杀, 向, 口, 在建, 那些,
    # 似的), or a dictionary without the word at all (好的)
    "帮", "啥", "想", "扣", "再见", "哪些", "是的", "好的", "确认",
)  # fmt: skip
_DOMAIN_COUNT = 1_000_000  # above every dictionary count of a word of the same sound
_MIN_COUNT = 50  # dictionary words rarer than this are more often wrong than right
_LONGEST = 4  # syllables in a lexicon word


@functools.lru_cache(maxsize=1)
def lexicon() -> Dict[Tuple[str, ...], Tuple[str, float]]:
    """Toneless syllables → (the most frequent word that sounds so, its log probability)."""
    import jieba

    counts: Dict[str, int] = {}
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    with open(path, encoding="utf-8") as source:
        for line in source:
            word, count, *_ = line.split()
            if len(word) <= _LONGEST and int(count) >= _MIN_COUNT:
                counts[word] = int(count)
    for word in DOMAIN_WORDS + _catalog_words():
        counts[word] = _DOMAIN_COUNT
    total = sum(counts.values())
    best: Dict[Tuple[str, ...], Tuple[str, float]] = {}
    for word, count in counts.items():
        key = _reading(word)
        if not key:
            continue
        score = math.log(count / total)
        if key not in best or best[key][1] < score:
            best[key] = (word, score)
    return best


def warm_up() -> None:
    """Builds the lexicon in a background thread (once per process)."""
    import threading

    if lexicon.cache_info().currsize == 0:
        threading.Thread(target=lexicon, name="pinyin-lexicon", daemon=True).start()


def catalog_digest() -> str:
    """A digest of the catalog file, whose names the lexicon holds."""
    import hashlib

    from catalog import DEFAULT_CATALOG_PATH

    return hashlib.sha256(DEFAULT_CATALOG_PATH.read_bytes()).hexdigest()[:16]


def _reading(word: str) -> Tuple[str, ...]:
    """The toneless syllables of a word, one per character (() if a character has none).

    pypinyin's own phrase and character tables first (what lazy_pinyin would look up anyway,
    several times faster for a whole dictionary), lazy_pinyin for the rest.
    """
    from pypinyin import Style, lazy_pinyin
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    if word in phrases_dict:
        key = tuple(_toneless(readings[0]) for readings in phrases_dict[word])
    elif len(word) == 1 and ord(word) in pinyin_dict:
        key = (_toneless(pinyin_dict[ord(word)].split(",")[0]),)
    else:
        key = tuple(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))
    if len(key) != len(word) or not all(s.isascii() and s.isalpha() for s in key):
        return ()  # a character without a reading, or a Latin letter in the word
    return key


@functools.cache
def _toneless(syllable: str) -> str:
    from pypinyin import Style
    from pypinyin.style import convert

    return convert(syllable, Style.NORMAL, strict=True)


def _catalog_words() -> Tuple[str, ...]:
    """The Han-only names, aliases and vocabulary of the catalog (爱奇艺, 优酷, 自动续费)."""
    from catalog import load_catalog

    catalog = load_catalog()
    forms = [form for product in catalog.products for form in product.surface_forms]
    return tuple(w for w in forms + list(catalog.vocabulary) if w and all(_is_han(c) for c in w))


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def spell(syllables: Sequence[str]) -> Optional[Tuple[str, int]]:
    """The most probable characters for the syllables (one per syllable) and how many of them
    are in words of two or more syllables; None if a syllable has no character at all."""
    words = lexicon()
    # best[i]: (score, characters, syllables in long words) for syllables[:i]
    best: List[Optional[Tuple[float, str, int]]] = [(0.0, "", 0)] + [None] * len(syllables)
    for end in range(1, len(syllables) + 1):
        for size in range(1, min(_LONGEST, end) + 1):
            head = best[end - size]
            found = words.get(tuple(syllables[end - size : end]))
            if head is None or found is None:
                continue
            word, score = found
            candidate = (head[0] + score, head[1] + word, head[2] + (size if size > 1 else 0))
            if best[end] is None or candidate[0] > best[end][0]:  # type: ignore[index]
                best[end] = candidate
    last = best[-1]
    return (last[1], last[2]) if last else None


def read_typed_pinyin(text: str) -> Tuple[str, List[int]]:
    """`text` with its typed pinyin written in characters, and where each original index (plus
    the end) went; `text` itself (and the identity map) when it is not a pinyin message."""
    identity = list(range(len(text) + 1))
    words = list(_LATIN_WORD.finditer(text))
    if not words:
        return text, identity
    read = [latin_syllables(m.group()) for m in words]
    others = [m.group().lower() for m, r in zip(words, read, strict=True) if not r]
    if any(word not in _LATIN_TERMS for word in others):
        return text, identity  # English, or a word that is neither
    runs = _runs(text, words, read)
    spelled = []
    for run in runs:
        syllables = [s for index in run for s in read[index]]
        result = spell(syllables)
        if result is None:
            return text, identity
        spelled.append(result)
    if not any(long_words for _, long_words in spelled):
        return text, identity  # only single syllables: too little to go on (you, ni hao is 2)
    pieces = list(text)  # one entry per original character
    for run, (characters, _) in zip(runs, spelled, strict=True):
        position = 0
        for order, index in enumerate(run):
            match = words[index]
            size = len(read[index])
            pieces[match.start()] = characters[position : position + size]
            for i in range(match.start() + 1, match.end()):
                pieces[i] = ""
            position += size
            if order + 1 < len(run):  # the joiner before the run's next word goes
                for i in range(match.end(), words[run[order + 1]].start()):
                    pieces[i] = ""
    return joined_with_map(pieces)


def _runs(text: str, words: List[re.Match], read: List[Tuple[str, ...]]) -> List[List[int]]:
    """The pinyin words in runs: neighbours with only joiners between them read as one."""
    runs: List[List[int]] = []
    previous: Optional[int] = None
    for index, match in enumerate(words):
        if not read[index]:
            previous = None
            continue
        between = text[words[previous].end() : match.start()] if previous is not None else None
        if between is not None and _JOINER.fullmatch(between):
            runs[-1].append(index)
        else:
            runs.append([index])
        previous = index
    return runs
