"""Which item of a numbered list the user picked (actions/selection.py)."""

from __future__ import annotations

from typing import List

import pytest

from actions.selection import parse_choice


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [
        # plain numbers
        ("1", 2, [1]),
        ("2", 2, [2]),
        (" 2 ", 3, [2]),
        ("选2", 3, [2]),
        ("2号", 3, [2]),
        ("1和3", 3, [1, 3]),
        ("1、2", 3, [1, 2]),
        ("3，1", 3, [3, 1]),
        ("2 2", 3, [2]),
        ("10", 12, [10]),
        # ordinals
        ("第二个", 2, [2]),
        ("第2个", 3, [2]),
        ("第 3 个", 3, [3]),
        ("第一个和第三个", 3, [1, 3]),
        ("第两个", 2, [2]),
        ("取消第一个吧", 2, [1]),
        # bare Chinese numerals
        ("二", 2, [2]),
        ("一", 2, [1]),
        ("选二吧", 3, [2]),
        ("就三个", 3, [3]),
        # everything, the last, the first n
        ("两个都取消", 2, [1, 2]),
        ("全部", 3, [1, 2, 3]),
        ("都取消吧", 3, [1, 2, 3]),
        ("所有的都关了", 2, [1, 2]),
        ("最后一个", 3, [3]),
        ("倒数第一", 4, [4]),
        ("前两个", 3, [1, 2]),
        ("前2个", 3, [1, 2]),
        ("前五个", 3, [1, 2, 3]),
    ],
)
def test_choices(text: str, count: int, expected: List[int]) -> None:
    """Numbers, ordinals, numerals and 'all/last/first n' map to 1-based positions."""
    assert parse_choice(text, count) == expected


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("3", 2),
        ("0", 2),
        ("第五个", 2),
        ("第0个", 2),
        ("99", 3),
        ("五", 2),
    ],
)
def test_out_of_range_picks_nothing(text: str, count: int) -> None:
    """A position outside 1..count is dropped, leaving nothing picked."""
    assert parse_choice(text, count) == []


def test_out_of_range_keeps_the_valid_ones() -> None:
    """Of '1和5' with two items only the first is kept."""
    assert parse_choice("1和5", 2) == [1]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "不知道",
        "腾讯视频VIP",
        "取消会员",
        "13800138000",
        "验证码482913",
        "一个都不取消",
        "嗯",
    ],
)
def test_non_choices_pick_nothing(text: str) -> None:
    """Text that names no position (names, long numbers, refusals) picks nothing."""
    assert parse_choice(text, 3) == []


@pytest.mark.parametrize("count", [0, -1])
def test_empty_list_picks_nothing(count: int) -> None:
    """With no items there is nothing to pick, whatever was said."""
    assert parse_choice("全部", count) == []
    assert parse_choice("1", count) == []


def test_all_but_one_excludes_it() -> None:
    """'除了第一个，其他都取消' picks every item but the first."""
    assert parse_choice("除了第一个，其他都取消", 3) == [2, 3]


def test_second_to_last_counts_from_the_end() -> None:
    """'倒数第二个' of four items is the third."""
    assert parse_choice("倒数第二个", 4) == [3]
