"""core.phone: the one reading of a mainland mobile number, and the one masking of it."""

from __future__ import annotations

import re
import unicodedata
from typing import List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import load_catalog
from core.digits import SPOKEN_DIGITS, digit_of
from core.phone import MOBILE_PATTERN, is_mobile, mask_phone, parse_mobile
from nlu.catalog_entities import PHONE, CatalogEntityExtractor, build_pipeline
from nlu.normalize import normalize
from redaction.text import mask_phones_in_text

ZHANG = "13800138000"
ASCII_MOBILE = re.compile(r"1[3-9][0-9]{9}")

mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
# How one digit may be written: ASCII, full-width, another script's decimal digit.
digit_forms = st.sampled_from(["ascii", "fullwidth", "devanagari", "arabic_indic"])
_BASES = {"ascii": 0x30, "fullwidth": 0xFF10, "devanagari": 0x0966, "arabic_indic": 0x0660}
separators = st.sampled_from(
    ["", "", "", " ", "-", "\u2013", "\u2014", "\uff0d", "\u3000", "\u00a0", ".", "  ", " - "]
)
prefixes = st.sampled_from(
    ["", "+86", "86", "+86 ", "0086", "0086 ", "+0086", "\uff0b\uff18\uff16", "(+86) ", "+86-"]
)


@st.composite
def written(draw, number: str) -> str:
    """`number` as someone may write it: a country code, any digits, any layout between."""
    out = [draw(prefixes)]
    for digit in number:
        out.append(chr(_BASES[draw(digit_forms)] + int(digit)))
        out.append(draw(separators))
    return " " * draw(st.integers(0, 2)) + "".join(out).rstrip()


@given(mobiles.flatmap(lambda m: st.tuples(st.just(m), written(m))))
def test_every_written_form_of_a_mobile_reads_as_its_eleven_digits(pair: Tuple[str, str]) -> None:
    number, text = pair
    assert parse_mobile(text) == number
    assert is_mobile(number) and not (text != number and is_mobile(text))


@given(st.text(max_size=40))
def test_whatever_is_read_is_a_mobile_in_ascii_and_reading_again_keeps_it(text: str) -> None:
    read = parse_mobile(text)
    assert read is None or (ASCII_MOBILE.fullmatch(read) and parse_mobile(read) == read)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_eleven_digits_are_a_mobile_exactly_when_they_start_13_to_19(digits: str) -> None:
    expected = digits if re.fullmatch(MOBILE_PATTERN, digits) else None
    assert parse_mobile(digits) == expected


@given(mobiles, st.sampled_from(["", "+86", "0086"]), st.text(alphabet="0123456789", min_size=1))
def test_a_digit_more_or_less_is_not_a_mobile(number: str, prefix: str, extra: str) -> None:
    assert parse_mobile(prefix + number + extra) is None
    assert parse_mobile(prefix + number[:-1]) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", ZHANG),
        ("+86 138 0013 8000", ZHANG),
        ("008613800138000", ZHANG),  # two of the old parsers refused 0086
        ("8613800138000", ZHANG),
        ("１３８００１３８０００", ZHANG),  # the IVR parser returned full-width digits
        ("(+86) 138.0013.8000", ZHANG),
        ("12800138000", None),  # no mobile starts with 12
        ("01088886666", None),  # a Beijing landline
        ("1380013800", None),
        ("138001380001", None),
        ("86 1380013800", None),
        ("一三八零零一三八零零零", None),  # spoken digits are the NLU's to read
        ("", None),
        (None, None),
        (13800138000, None),  # not text
    ],
)
def test_the_cases_the_five_old_parsers_disagreed_on(raw, expected) -> None:
    assert parse_mobile(raw) == expected


@given(mobiles)
def test_a_masked_mobile_keeps_three_and_four_digits(number: str) -> None:
    masked = mask_phone(number)
    assert masked == number[:3] + "****" + number[-4:]
    assert mask_phone(" " + number + " ") == masked


@given(st.text(max_size=20))
def test_masking_never_shows_more_than_seven_characters(text: str) -> None:
    shown = [c for c in mask_phone(text) if c != "*"]
    assert len(shown) <= 7 and len(mask_phone(text)) == len(text.strip())


def test_nothing_to_mask() -> None:
    assert mask_phone(None) is None
    assert mask_phone("1234") == "****"


def test_the_one_spoken_digit_table_reads_every_digit() -> None:
    assert sorted(set(SPOKEN_DIGITS.values())) == list("0123456789")
    assert digit_of("幺") == "1" and digit_of("兩") == "2" and digit_of("\uff18") == "8"
    assert digit_of("十") is None and digit_of("a") is None


# --- the finders agree with the parser -----------------------------------------------------


@pytest.fixture(scope="module")
def nlu_phones():
    """The NLU's text -> the phone_number values its entity rules find."""
    extractor = CatalogEntityExtractor({}, None, None, build_pipeline(load_catalog()))

    def read(text: str) -> List[str]:
        return [e["value"] for e in extractor.extract(normalize(text)) if e["entity"] == PHONE]

    return read


# What the NLU joins into one number: ASCII or full-width digits, single spaces or dashes.
nlu_separators = st.sampled_from(["", "", "", " ", "-", "\u2013", "\u2014"])
nlu_prefixes = st.sampled_from(["", "+86", "86", "0086", "\uff0b\uff18\uff16"])


@st.composite
def typed(draw, number: str) -> str:
    """`number` as the NLU reads it whole: ASCII or full-width digits, grouped 3-4-4 or not,
    after a country code (+86, 86, 0086) or not, with single spaces or dashes between groups."""
    prefix = draw(nlu_prefixes)
    out = [prefix, draw(nlu_separators) if prefix else ""]
    for index, digit in enumerate(number):
        wide = draw(st.booleans())
        out.append(chr(0xFF10 + int(digit)) if wide else digit)
        if index in (2, 6):
            out.append(draw(nlu_separators))
    return "".join(out)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mobiles.flatmap(lambda m: st.tuples(st.just(m), typed(m))))
def test_the_nlu_finds_the_number_the_parser_reads(nlu_phones, pair: Tuple[str, str]) -> None:
    number, text = pair
    assert parse_mobile(text) == number
    assert [parse_mobile(value) for value in nlu_phones(f"我的手机号是{text}")] == [number]


@st.composite
def said_in_text(draw, number: str) -> str:
    """`number` written in a message: the parser's forms without the platforms' dots and brackets
    (a person's "138.0013.8000" is not read as a number by the NLU either)."""
    return draw(written(number).filter(lambda text: not set(text) & set("().")))


@settings(max_examples=60)
@given(mobiles.flatmap(lambda m: st.tuples(st.just(m), said_in_text(m))))
def test_redaction_masks_every_number_the_parser_reads(pair: Tuple[str, str]) -> None:
    number, text = pair
    masked = mask_phones_in_text(f"号码{text}，谢谢")
    assert number not in "".join(d or "" for d in map(digit_of, masked))
    assert mask_phone(number) in unicodedata.normalize("NFKC", masked)
