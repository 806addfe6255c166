"""Speech rendering of the assistant's messages, for any channel that talks instead of shows.

Stable API (the voice assistant channel and the phone IVR use it; keep it this small):

    render_speech(messages) -> Speech
        `messages` are dicts {"text": ..., "options" (or "buttons"): [{"title", "payload"}]?}, as
        an Answer's messages or Rasa's collector have them; anything without text is skipped.
    render_reprompt(messages) -> Optional[Speech]
        the last question of those messages (or their last sentence), to ask again.
    speech_from_text(text) -> Speech
        one of a channel's own sentences, rendered the same way.
    Speech.text   what to say, for engines without SSML: Chinese words, no ASCII digits, no
                  screen-only marks (lists, arrows, brackets, stars, "回复").
    Speech.ssml   the same as one valid <speak> document; reference numbers, masked phones and
                  service numbers are spelled in groups with <say-as interpret-as="characters">
                  and short <break>s, so a TTS engine reads them one character at a time.
    Speech.then(other) -> Speech   both, one after the other.

Money is said as 二十五元 (jiao and fen too), dates as 十二月四日, times as 十八点三十分, short
counts as words (两小时, 三个工作日); long numbers (10086, 0000) digit by digit with 幺 for one,
as Chinese operators read them; a masked phone 138****8000 becomes 尾号八零零零的号码.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union
from xml.sax.saxutils import escape

from channels import templates
from channels.options import keyed
from channels.voice_numbers import (
    cardinal,
    date_words,
    digit_groups,
    money_words,
    number_words,
    spell_digits,
    time_words,
)
from turns.answer import Option

__all__ = ["Speech", "render_reprompt", "render_speech", "speech_from_text"]

MESSAGE_BREAK = '<break time="300ms"/>'
GROUP_BREAK = '<break time="150ms"/>'


@dataclass(frozen=True)
class Spelled:
    """Characters read one by one, in groups with a short pause between groups."""

    groups: Tuple[str, ...]


Piece = Union[str, Spelled]
Sentence = List[Piece]


@dataclass(frozen=True)
class Speech:
    """What to say: plain text and SSML."""

    text: str
    ssml: str

    def then(self, other: Speech) -> Speech:
        """This speech followed by `other`."""
        if not self.text:
            return other
        if not other.text:
            return self
        inner = _inner(self.ssml) + MESSAGE_BREAK + _inner(other.ssml)
        return Speech(text=self.text + other.text, ssml=f"<speak>{inner}</speak>")


EMPTY = Speech(text="", ssml="<speak></speak>")

# Private-use characters mark where a spelled item sits while the text is rewritten.
_MARK = "\ue000"
_INDEX_BASE = 0xE100
# Private-use marks, plus what XML cannot carry at all (lone surrogates, U+FFFE/U+FFFF).
_PRIVATE = re.compile("[\ue000-\uf8ff\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

# TD20261126ZH6F5W (and the RF/RG tickets): prefix, year, month-day, then the code in threes.
_REFERENCE = re.compile(
    r"(?<![A-Za-z0-9])([A-Z]{2})(\d{4})(\d{4})([0-9A-Z]{3})([0-9A-Z]{3})(?![A-Za-z0-9])"
)
_MASKED_PHONE = re.compile(r"(号码)?(?<!\d)\d{3}\*{4}(\d{4})(?!\d)")
_MONEY_PER = re.compile(r"[¥￥](\d+(?:\.\d{1,2})?)/(月|季|年)")
_MONEY = re.compile(r"[¥￥](\d+(?:\.\d{1,2})?)|(?<![\d.])(\d+(?:\.\d{1,2})?)元")
_PERIOD_WORDS = {"月": "每月", "季": "每季度", "年": "每年"}
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)(\d{4})年")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})[日号]")
_TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?![\d:])")
_LONG_NUMBER = re.compile(r"\d{4,}")
_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?")
_TWO = re.compile(r"(?<![\d.])2(?=个|小时|次|天|位|周|年|分钟|秒|条|家)")
_LIST_LINE = re.compile(r"(?m)^(\s*\d{1,2}\.\s*)(.*)$")
_LIST_ITEM = re.compile(r"(^|\n|[：:；;]\s*)(\d{1,2})\.\s*")
_CHOOSE_BY_NUMBER = re.compile(r"(?:可以)?回复序号或会员名称")
_CHOOSE_EXAMPLE = re.compile(r"请回复列表中的序号（比如“\d+”）或会员名称")
_REPLY = re.compile(r"回复(?=[“\"])")
_OR_QUOTED = re.compile(r"”或(?=“)")
_SLASH_WORDS = re.compile(r"(?<=[\u4e00-\u9fff])\s*/\s*(?=[\u4e00-\u9fff])")
_SENTENCE_END = re.compile(r"(?<=[。！？])")


def _inner(ssml: str) -> str:
    return ssml.removeprefix("<speak>").removesuffix("</speak>")


class _Rewriter:
    """Rewrites one message's text into speakable text with marks for spelled items."""

    def __init__(self) -> None:
        self.spelled: List[Spelled] = []

    def mark(self, *groups: str) -> str:
        """Stores a spelled item; returns the two characters standing for it in the text."""
        self.spelled.append(Spelled(tuple(g for g in groups if g)))
        return _MARK + chr(_INDEX_BASE + len(self.spelled) - 1)

    def rewrite(self, text: str) -> str:
        """Every rewrite, in an order where earlier ones protect what later ones would spoil."""
        text = _PRIVATE.sub("", _CONTROL.sub("", text.replace("\r", "")))
        text = _REFERENCE.sub(lambda m: self.mark(*m.groups()), text)
        text = _MASKED_PHONE.sub(
            lambda m: templates.SPEECH_MASKED_PHONE.format(tail=self.mark(m.group(2))), text
        )
        text = _LIST_LINE.sub(_list_line, text)
        text = _screen_phrases(text)
        text = _MONEY_PER.sub(lambda m: _PERIOD_WORDS[m.group(2)] + money_words(m.group(1)), text)
        text = _MONEY.sub(lambda m: money_words(m.group(1) or m.group(2)), text)
        text = _ISO_DATE.sub(_iso_date, text)
        text = _YEAR.sub(lambda m: spell_digits(m.group(1), one="一") + "年", text)
        text = _MONTH_DAY.sub(
            lambda m: f"{cardinal(int(m.group(1)))}月{cardinal(int(m.group(2)))}日", text
        )
        text = _TIME.sub(_time, text)
        text = _LIST_ITEM.sub(lambda m: f"{m.group(1)}第{cardinal(int(m.group(2)))}，", text)
        text = _LONG_NUMBER.sub(lambda m: self.mark(*digit_groups(m.group())), text)
        text = _TWO.sub("两", text)
        text = _NUMBER.sub(lambda m: number_words(m.group(1), m.group(2)), text)
        return _punctuation(text)

    def pieces(self, text: str) -> List[Piece]:
        """The rewritten text split into plain parts and spelled items."""
        out: List[Piece] = []
        parts = text.split(_MARK)
        if parts[0]:
            out.append(parts[0])
        for part in parts[1:]:
            out.append(self.spelled[ord(part[0]) - _INDEX_BASE])
            if part[1:]:
                out.append(part[1:])
        return out


def _list_line(match: re.Match) -> str:
    """In a list line spaces separate fields (date, name, amount): each becomes a pause."""
    return match.group(1) + re.sub(r"(?<![A-Za-z])\s+|\s+(?![A-Za-z])", "，", match.group(2))


def _screen_phrases(text: str) -> str:
    """Turns what only works on a screen into what works said aloud."""
    items = re.findall(r"(?:^|\n)\s*1\.\s*([^（(\n，,]+)", text)
    example = (
        templates.SPEECH_OR_SAY_ITEM.format(item=items[0].strip())
        if items
        else templates.SPEECH_OR_SAY_NAME
    )
    text = _CHOOSE_EXAMPLE.sub(templates.SPEECH_CHOOSE_BY_ORDINAL, text)
    text = _CHOOSE_BY_NUMBER.sub(templates.SPEECH_SAY_FIRST + example, text)
    text = re.sub(r"的话回复(?=[“\"])", templates.SPEECH_IF_SO_SAY, text)
    text = _REPLY.sub(templates.SPEECH_SAY, text)
    return _OR_QUOTED.sub("”或者", text)


def _iso_date(match: re.Match) -> str:
    return date_words(*match.groups()) or match.group()


def _time(match: re.Match) -> str:
    return time_words(int(match.group(1)), int(match.group(2))) or match.group()


def _punctuation(text: str) -> str:
    """Arrows, slashes, brackets and line breaks become pauses a listener can follow."""
    text = re.sub(r"\s*→\s*", "，", text)
    text = _SLASH_WORDS.sub("或", text)
    text = re.sub(r"[《》]", "", text)
    text = re.sub(r"[*#`_|~^\\/<>{}\[\]]", " ", text)
    text = re.sub(r"[（(]", "，", text)
    text = re.sub(r"[）)]", "，", text)
    text = re.sub(r"[；;]", "。", text)
    text = re.sub(r"\s*\n+\s*", "。", text)
    # A space between Chinese words separates fields ("包月 ¥25/月"): a pause. Between Latin
    # words ("App Store") it stays; anywhere else TTS would only stumble on it.
    text = re.sub(r"(?<=[^\x00-\x7f])[ \t]+(?=[^\x00-\x7f])", "，", text)
    text = re.sub(r"(?<![A-Za-z])\s+|\s+(?![A-Za-z])", "", text)
    text = re.sub(r"[，,、]*[，,][，,、]*", "，", text)
    text = re.sub(r"([：:])[。，]+", r"\1", text)
    text = re.sub(r"，+(?=[：:])", "", text)
    text = re.sub(r"，(?=[。！？；])", "", text)
    text = re.sub(r"([。！？])[，。]+", r"\1", text)
    text = re.sub(r"^[，。：]+", "", text)
    if text and text[-1] not in "。！？" and text[-1] != _MARK:
        text = text.rstrip("，：") + "。"
    return text


def _buttons_hint(message: Dict[str, Any]) -> str:
    """The options (or buttons) said as choices, unless the text already names them all."""
    raw = message.get("options") or message.get("buttons") or []
    offered = [
        Option(str(o.get("payload") or ""), str(o.get("title") or ""))
        for o in raw
        if isinstance(o, dict)
    ]
    titles = [o.title for o in keyed(offered) if o.title]
    text = str(message.get("text") or "")
    if not titles or all(t in text for t in titles):
        return ""
    quoted = [f"“{t}”" for t in titles]
    options = (
        quoted[0] if len(quoted) == 1 else "、".join(quoted[:-1]) + templates.SPEECH_OR + quoted[-1]
    )
    return "\n" + templates.SPEECH_OPTIONS.format(options=options)


def _sentences(message: Dict[str, Any]) -> List[Sentence]:
    """One message as spoken sentences."""
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        return []
    rewriter = _Rewriter()
    pieces = rewriter.pieces(rewriter.rewrite(text + _buttons_hint(message)))
    sentences: List[Sentence] = [[]]
    for piece in pieces:
        if isinstance(piece, Spelled):
            sentences[-1].append(piece)
            continue
        for part in filter(None, _SENTENCE_END.split(piece)):
            sentences[-1].append(part)
            if part[-1] in "。！？":
                sentences.append([])
    return [s for s in sentences if s]


def _spoken_group(group: str) -> str:
    """One group of a spelled item, as plain text: digits in words, letters one by one."""
    words: List[str] = []
    for ch in group:
        if ch.isdigit() and words and not words[-1].isascii():
            words[-1] += spell_digits(ch)  # digits run together: 二零二六
        else:
            words.append(spell_digits(ch) if ch.isdigit() else ch)
    return " ".join(words)  # letters apart, so TTS says T D rather than a word


def _plain(sentence: Iterable[Piece]) -> str:
    out = []
    for piece in sentence:
        if isinstance(piece, Spelled):
            out.append("，".join(_spoken_group(g) for g in piece.groups))
        else:
            out.append(piece)
    return "".join(out)


def _ssml(sentence: Iterable[Piece]) -> str:
    out = []
    for piece in sentence:
        if isinstance(piece, Spelled):
            groups = [
                f'<say-as interpret-as="characters">{escape(g)}</say-as>' for g in piece.groups
            ]
            out.append(GROUP_BREAK.join(groups))
        else:
            out.append(escape(piece))
    return "".join(out)


def _speech(messages: Sequence[List[Sentence]]) -> Speech:
    messages = [m for m in messages if m]
    if not messages:
        return EMPTY
    text = "".join(_plain(s) for m in messages for s in m)
    inner = MESSAGE_BREAK.join("".join(_ssml(s) for s in m) for m in messages)
    return Speech(text=text, ssml=f"<speak>{inner}</speak>")


def render_speech(messages: Sequence[Dict[str, Any]]) -> Speech:
    """Every text message (with its buttons said as options), as one speech."""
    return _speech([_sentences(m) for m in messages if isinstance(m, dict)])


def render_reprompt(messages: Sequence[Dict[str, Any]]) -> Optional[Speech]:
    """The last question asked in `messages` and what follows it, else their last sentence."""
    for message in reversed([m for m in messages if isinstance(m, dict)]):
        sentences = _sentences(message)
        if not sentences:
            continue
        for i in range(len(sentences) - 1, -1, -1):
            if "？" in _plain(sentences[i]):
                return _speech([sentences[i:]])
        return _speech([[_from_request(sentences[-1])]])
    return None


def _from_request(sentence: Sentence) -> Sentence:
    """ "为了……，请告诉我……" → "请告诉我……": the part that asks."""
    for i in range(len(sentence) - 1, -1, -1):
        piece = sentence[i]
        if isinstance(piece, str) and "，请" in piece:
            return [piece[piece.rindex("，请") + 1 :], *sentence[i + 1 :]]
    return sentence


def speech_from_text(text: str) -> Speech:
    """A channel's own sentence as speech."""
    return render_speech([{"text": text}])
