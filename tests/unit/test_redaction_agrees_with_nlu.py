"""Redaction reads at least every phone number and code the NLU reads, however written.

The NLU side is the real one without a trained model: the normaliser of the pipeline's first
component (nlu/normalize.py) and the entity ruler of nlu/catalog_entities.py, built from the
catalog as training builds it.
"""

from __future__ import annotations

import re
from typing import List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import load_catalog
from nlu.catalog_entities import CODE, PHONE, CatalogEntityExtractor, build_pipeline
from nlu.normalize import normalize
from redaction.text import digit_of, mask_phones_in_text, redact_text

ZHANG = "13800138000"

# Every way a digit may be written: ASCII, full-width, spoken (幺 and 两 too, Traditional 兩),
# and another script's decimal digits (Devanagari) that Python's \d also matches.
_SPOKEN = {0: ["零", "〇", "○"], 1: ["一", "幺"], 2: ["二", "两", "兩"]}
SPELLINGS = {
    d: [str(d), chr(0xFF10 + d), chr(0x0966 + d)] + _SPOKEN.get(d, ["零一二三四五六七八九"[d]])
    for d in range(10)
}
# Separators between any two digits: what the NLU joins (space, dashes, full-width ones) and
# what it does not (no-break space, doubled or mixed) but a person still reads as a number.
SEPARATORS = ["", " ", "-", "\u2013", "\u2014", "\uff0d", "\u3000", "\u00a0", "  ", " - "]
# Half the examples keep to what the NLU joins, so that it reads the number often.
NLU_SEPARATORS = ["", "", "", "", " ", "-", "\u2013", "\u2014", "\uff0d", "\u3000"]
PREFIXES = ["", "+86", "86", "+86 ", "0086", "\uff0b\uff18\uff16", "+86-", "0086 "]
AROUND = ["", "我的手机号是", "号码", "请发到", "，谢谢", "。", "吧", "手机：", " ", "\n"]


@pytest.fixture(scope="module")
def nlu_entities():
    """The pipeline's text -> [(entity, value)] for phone numbers and codes."""
    extractor = CatalogEntityExtractor({}, None, None, build_pipeline(load_catalog()))

    def read(text: str) -> List[Tuple[str, str]]:
        return [
            (e["entity"], e["value"])
            for e in extractor.extract(normalize(text))
            if e["entity"] in (PHONE, CODE)
        ]

    return read


def digits_of(text: str) -> str:
    """Every digit-like character of `text`, as ASCII digits, in order."""
    return "".join(d for d in (digit_of(c) for c in text) if d is not None)


def _no_number_left(read, redacted: str) -> None:
    assert not [e for e in read(redacted) if e[0] == PHONE], redacted
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", normalize(redacted)), redacted


@st.composite
def spelled(draw, digits: str) -> str:
    """`digits` written with a random spelling of each digit and random separators."""
    readable = draw(st.booleans())
    separators = NLU_SEPARATORS if readable else SEPARATORS
    out = [draw(st.sampled_from(PREFIXES))] if len(digits) == 11 else []
    for i, digit in enumerate(digits):
        if i:
            out.append(draw(st.sampled_from(separators)))
        spellings = SPELLINGS[int(digit)]
        out.append(draw(st.sampled_from(spellings[:2] + spellings[3:] if readable else spellings)))
    return "".join(out)


@st.composite
def phone_texts(draw) -> Tuple[str, str]:
    """(a valid mobile, a sentence that spells it in some way)."""
    mobile = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
    text = draw(st.sampled_from(AROUND)) + draw(spelled(mobile)) + draw(st.sampled_from(AROUND))
    return mobile, text


@st.composite
def code_texts(draw) -> Tuple[str, str]:
    """(a 6-digit code, a sentence that spells it in some way)."""
    code = draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    head = draw(st.sampled_from(["", "验证码", "验证码是", "code "]))
    return code, head + draw(spelled(code)) + draw(st.sampled_from(["", "。", ".", "，好", " "]))


@pytest.mark.parametrize(
    "text",
    [
        "138\u20130013\u20138000",  # en dash
        "138\u20140013\u20148000",  # em dash
        "\uff11\uff13\uff18\uff0d\uff10\uff10\uff11\uff13\uff0d\uff18\uff10\uff10\uff10",
        "幺三八 零零幺三 八零零零",
        "一三八零零一三八零零零",
        "138零零幺三8000",
        "+8613800138000",
        "0086 13800138000",
        "008613800138000",
        "+86 138 0013 8000",
        "0086-138-0013-8000",
        "\uff0b\uff18\uff16 \uff11\uff13\uff18 \uff10\uff10\uff11\uff13 \uff18\uff10\uff10\uff10",
        "1 3 8 0 0 1 3 8 0 0 0",
        "我的号码是138\u30000013\u30008000谢谢",
    ],
)
def test_every_spelling_the_nlu_reads_is_masked(nlu_entities, text: str) -> None:
    """The brief's spellings: the NLU reads 13800138000, redaction leaves only 138****8000."""
    assert (PHONE, ZHANG) in nlu_entities(text)
    for rule in (redact_text, mask_phones_in_text):
        redacted = rule(text)
        assert "138****8000" in redacted
        assert digits_of(redacted) == "1388000"
        _no_number_left(nlu_entities, redacted)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=phone_texts())
def test_a_phone_the_nlu_reads_is_never_left_readable(nlu_entities, case) -> None:
    """If the NLU reads the number, redaction keeps at most its masked form; and whatever
    the spelling, neither the NLU nor a digit scan can read a number in the redacted text."""
    mobile, text = case
    for rule in (redact_text, mask_phones_in_text):
        redacted = rule(text)
        if (PHONE, mobile) in nlu_entities(text):
            assert len(digits_of(redacted)) <= 7, (text, redacted)
            assert f"{mobile[:3]}****{mobile[-4:]}" in redacted or (
                rule is redact_text and digits_of(redacted) == ""
            ), (text, redacted)
        _no_number_left(nlu_entities, redacted)
        assert mobile not in digits_of(redacted)
        assert rule(redacted) == redacted


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=code_texts())
def test_a_code_the_nlu_reads_is_hidden(nlu_entities, case) -> None:
    """A code the NLU reads leaves no digit behind, and none the NLU could read again."""
    code, text = case
    redacted = redact_text(text)
    if (CODE, code) in nlu_entities(text):
        assert digits_of(redacted) == "", (text, redacted)
    assert not [e for e in nlu_entities(redacted) if e[0] == CODE], (text, redacted)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("验证码482913.", "验证码******."),
        ("验证码 482\u2013913", "验证码 ******"),
        ("置信度0.987654", "置信度0.987654"),
        ("TD20261125ABC123", "TD20261125ABC123"),
        ("本月扣了25元，12月4日到期", "本月扣了25元，12月4日到期"),
        ("timestamp 1764985200.5", "timestamp 1764985200.5"),
        ("三三两两", "三三两两"),
    ],
)
def test_codes_and_what_is_not_personal(text: str, expected: str) -> None:
    """A code before a full stop is hidden; decimals, references, dates and idioms stay."""
    assert redact_text(text) == expected


# Short texts over digits in every spelling, separators, letters, plus signs and words.
_ALPHABET = "".join(sorted({c for forms in SPELLINGS.values() for c in forms}))
_NOISE = st.text(
    alphabet=st.sampled_from(list(_ALPHABET + " -\u2013\u2014\uff0d\u3000+\uff0bAbT.个月号码是，")),
    max_size=30,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_NOISE)
def test_no_text_gives_the_nlu_a_number_after_redaction(nlu_entities, text: str) -> None:
    """Whatever the text (numbers glued together, letters, mixed scripts), the redacted text
    gives the NLU no phone number and no code."""
    redacted = redact_text(text)
    assert not nlu_entities(redacted), (text, redacted)
    assert not [e for e in nlu_entities(mask_phones_in_text(text)) if e[0] == PHONE], text
