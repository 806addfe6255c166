"""Reference numbers: shape, check character, normalisation (core/references.py)."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.references import (
    ALPHABET,
    PREFIXES,
    check_character,
    is_valid_reference,
    new_reference,
    normalize_reference,
)

CONTRACT_REGEX = re.compile(r"^TD\d{8}[0-9A-HJKMNP-TV-Z]{6}$")
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(9999, 12, 31))
prefixes = st.sampled_from(PREFIXES)
seeds = st.integers(min_value=0, max_value=2**64)
# Characters a typo or a misheard word could put in a reference.
substitutes = st.sampled_from(ALPHABET + "abcxyzILOU-_ #一")


def test_contract_example_is_valid() -> None:
    assert is_valid_reference("TD20261124K7M2Q5")
    assert check_character("20261124K7M2Q") == "5"


def test_shaped_right_but_wrong_check_character_is_invalid() -> None:
    assert CONTRACT_REGEX.fullmatch("TD20261101B2N6WD")
    assert not is_valid_reference("TD20261101B2N6WD")


def test_check_character_follows_the_contract_formula() -> None:
    payload = "20261124K7M2Q"
    values = [ALPHABET.index(ch) for ch in payload]
    expected = ALPHABET[sum(i * v for i, v in enumerate(values, start=1)) % 31]
    assert check_character(payload) == expected


@pytest.mark.parametrize("payload", ["", "2026112", "20261124K7M2QQ", "20261124K7M2U"])
def test_check_character_refuses_wrong_payloads(payload: str) -> None:
    with pytest.raises(ValueError):
        check_character(payload)


def test_new_reference_has_the_contract_shape_and_date() -> None:
    reference = new_reference("TD", date(2026, 11, 24))
    assert CONTRACT_REGEX.fullmatch(reference)
    assert reference.startswith("TD20261124")
    assert is_valid_reference(reference)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_each_prefix_makes_valid_references(prefix: str) -> None:
    reference = new_reference(prefix, date(2026, 1, 2))
    assert reference.startswith(prefix + "20260102")
    assert is_valid_reference(reference)
    assert is_valid_reference(reference, prefix=prefix)
    other = next(p for p in PREFIXES if p != prefix)
    assert not is_valid_reference(reference, prefix=other)


def test_unknown_prefix_is_refused() -> None:
    with pytest.raises(ValueError):
        new_reference("XX", date(2026, 1, 2))
    assert not is_valid_reference("XX20261124K7M2Q5")


def test_many_references_are_unique() -> None:
    # 32**5 random parts a day make a repeat among a thousand unlikely (~1.5 %); the store's
    # unique constraint and retry make it impossible (test_store_cancel, test_store_handoff).
    rng = random.Random(20261124)
    references = [new_reference("TD", date(2026, 11, 24), rng) for _ in range(1000)]
    assert len(set(references)) == len(references)
    assert all(is_valid_reference(r) for r in references)


def test_the_random_part_uses_the_whole_alphabet() -> None:
    rng = random.Random(7)
    symbols = {ch for _ in range(2000) for ch in new_reference("TD", date(2026, 1, 1), rng)[10:15]}
    assert symbols == set(ALPHABET)


@pytest.mark.parametrize(
    "text",
    [
        "td20261124k7m2q5",
        "TD 2026 1124 K7M2 Q5",
        "TD-20261124-K7M2Q5",
        "ＴＤ２０２６１１２４Ｋ７Ｍ２Ｑ５",
    ],
)
def test_normalize_accepts_lower_case_spaces_hyphens_full_width(text: str) -> None:
    assert normalize_reference(text) == "TD20261124K7M2Q5"


def test_normalize_reads_o_i_l_as_digits() -> None:
    assert normalize_reference("TD2O26ll24K7M2Q5") == "TD20261124K7M2Q5"
    assert normalize_reference("tdzo261124k7m2q5") is None  # Z in the date is not a digit


def test_normalize_does_not_check_the_check_character() -> None:
    assert normalize_reference("td20261101b2n6wd") == "TD20261101B2N6WD"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "TD",
        "TD2026112K7M2Q5",
        "TD20261124K7M2Q55",
        "XX20261124K7M2Q5",
        "单号TD20261124K7M2Q5",
        "TD20261124K7M2U5",
    ],
)
def test_normalize_returns_none_for_what_is_not_a_reference(text: str) -> None:
    assert normalize_reference(text) is None


def test_is_valid_reference_wants_the_issued_upper_case_form() -> None:
    assert not is_valid_reference("td20261124k7m2q5")
    assert not is_valid_reference(" TD20261124K7M2Q5")


@given(prefix=prefixes, day=dates, seed=seeds)
def test_new_reference_is_always_valid(prefix: str, day: date, seed: int) -> None:
    reference = new_reference(prefix, day, random.Random(seed))
    assert is_valid_reference(reference, prefix=prefix)
    assert normalize_reference(reference.lower()) == reference


def _blind_spot(position: int, old: str, new: str) -> bool:
    # In the 5 random positions "0" (value 0) and "Z" (value 31) weigh the same mod 31: the
    # contract's check character cannot tell them apart there.
    return 10 <= position <= 14 and {old, new} == {"0", "Z"}


@given(
    prefix=prefixes,
    day=dates,
    seed=seeds,
    position=st.integers(min_value=0, max_value=15),
    replacement=substitutes,
)
def test_a_single_character_change_is_detected(
    prefix: str, day: date, seed: int, position: int, replacement: str
) -> None:
    reference = new_reference(prefix, day, random.Random(seed))
    if replacement == reference[position] or _blind_spot(
        position, reference[position], replacement
    ):
        return
    changed = reference[:position] + replacement + reference[position + 1 :]
    assert not is_valid_reference(changed, prefix=prefix)


def test_the_known_blind_spot_of_the_mod_31_check() -> None:
    # Documented, not wanted: swapping 0 and Z in the random part keeps the check character.
    payload = "2026112400000"
    reference = "TD" + payload + check_character(payload)
    swapped = reference[:14] + "Z" + reference[15:]
    assert is_valid_reference(reference) and is_valid_reference(swapped)
