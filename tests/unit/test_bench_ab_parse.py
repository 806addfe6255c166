"""The parse-time A/B's report and verdict (the measuring itself is the bench's, not a test's)."""

from __future__ import annotations

from bench.ab_parse import HELD_OUT, markdown, messages


def _data(before: float, after: float) -> dict:
    return {
        "before_rev": "aaa",
        "after_rev": "bbb",
        "messages": 3,
        "passes": 5,
        "runs": 1,
        "limit_pct": 15.0,
        "before": {"runs": [before], "median": before},
        "after": {"runs": [after], "median": after},
    }


def test_a_change_within_the_budget_is_reported_as_such() -> None:
    text = markdown(_data(4.0, 4.4))
    assert "aaa → bbb" in text and "+10.0 %" in text and "within the 15 % budget" in text


def test_a_change_over_the_budget_is_flagged() -> None:
    assert "+25.0 % (OVER the 15 % budget)" in markdown(_data(4.0, 5.0))


def test_both_sides_parse_the_held_out_messages() -> None:
    texts = messages()
    assert HELD_OUT[0] == "tests/nlu_holdout.yml"
    assert len(texts) >= 299 and all(isinstance(t, str) and t for t in texts)


def test_the_sides_alternate_run_by_run() -> None:
    from bench.ab_speed import alternating

    assert [alternating(i) for i in range(3)] == [
        ("before", "after"),
        ("after", "before"),
        ("before", "after"),
    ]
