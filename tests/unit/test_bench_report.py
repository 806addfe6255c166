"""Merging the benchmark's result sections into report.md and the terminal summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report

NLU = {
    "title": "NLU: intents and entities",
    "tables": [
        {
            "caption": "Headline",
            "columns": ["system", "accuracy", "train s"],
            "rows": [["shipped", 0.97345, None], ["(b) 关键词", 0.7, 0]],
        },
        {"caption": "Errors", "columns": ["utterance", "got"], "rows": [["a|b", "deny"]]},
    ],
    "figures": [{"path": "nlu_accuracy.png", "caption": "Accuracy per system"}],
    "notes": ["Held-out files are never trained on."],
    "data": {"anything": [1, 2, 3]},
}
SPEED = {
    "title": "Speed",
    "tables": [{"caption": "Latency", "columns": ["turn", "ms"], "rows": [["p50", 23.0]]}],
    "figures": [],
    "notes": [],
}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results directory with two sections, a broken file and a non-section JSON."""
    (tmp_path / "speed.json").write_text(json.dumps(SPEED), encoding="utf-8")
    (tmp_path / "nlu.json").write_text(json.dumps(NLU, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "other.json").write_text(json.dumps({"rows": []}), encoding="utf-8")
    return tmp_path


def test_sections_in_fixed_order(results: Path) -> None:
    """nlu before dialogue before speed; invalid files listed, not fatal."""
    sections, problems = report.load_sections(results)
    assert [name for name, _, _ in sections] == ["nlu", "speed"]
    assert any("broken.json" in p and "unreadable" in p for p in problems)
    assert any("other.json" in p and "not a section" in p for p in problems)


def test_report_markdown(results: Path) -> None:
    """Tables, figures and notes of every section; missing parts named."""
    path = report.write_report(results)
    text = path.read_text(encoding="utf-8")
    assert path == results / "report.md"
    assert text.index("## NLU: intents and entities") < text.index("## Speed")
    assert "Not in this report (not run yet): dialogue, profile." in text
    assert "**Headline**" in text
    assert "| system | accuracy | train s |" in text
    assert "| shipped | 0.973 | – |" in text
    assert "| (b) 关键词 | 0.700 | 0 |" in text
    assert "a\\|b" in text  # a pipe inside a cell does not break the table
    assert "![Accuracy per system](nlu_accuracy.png)" in text
    assert "- Held-out files are never trained on." in text
    assert "anything" not in text


def test_summary_prints_headlines(results: Path) -> None:
    """The first table of each section, aligned (CJK characters count double)."""
    text = report.summary(results)
    assert "== NLU: intents and entities" in text and "== Speed" in text
    assert "Errors" not in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("system"))
    shipped = next(line for line in lines if line.startswith("shipped"))
    chinese = next(line for line in lines if line.startswith("(b)"))
    column = header.index("accuracy")
    assert shipped[column:].startswith("0.973")
    assert chinese.index("0.700") + 3 == column  # 关键词: three characters, six columns


def test_section_problems() -> None:
    """Malformed sections are recognised."""
    assert report.section_problem(NLU) is None
    assert report.section_problem({"tables": []}) == "no 'title' string"
    bad_row = {"title": "x", "tables": [{"caption": "c", "columns": ["a", "b"], "rows": [[1]]}]}
    assert "wrong number of cells" in report.section_problem(bad_row)
    assert "figure" in report.section_problem({"title": "x", "figures": [{"path": "a.png"}]})


def test_main_writes_and_prints(results: Path, capsys: pytest.CaptureFixture) -> None:
    """`python -m bench.report DIR` writes report.md and prints the summary."""
    assert report.main([str(results)]) == 0
    out = capsys.readouterr().out
    assert "== Speed" in out and str(results / "report.md") in out


def test_run_skips_a_missing_part(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A part whose module does not exist yet is skipped with a note, not a failure."""
    from bench import run

    assert run.run_part("nonexistent", tmp_path, quick=True, models_dir=None) is True
    assert "skipped" in capsys.readouterr().err


def test_run_report_only(
    results: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--report-only` runs nothing and rewrites the report from the JSON sections."""
    from bench import run

    monkeypatch.setenv("PYTHONWARNINGS", "default")  # main() sets it; restored afterwards

    assert run.main(["--report-only", "--results", str(results)]) == 0
    assert (results / "report.md").exists()
    assert "== Speed" in capsys.readouterr().out


def test_a_section_whose_json_is_absent_is_kept_from_the_previous_report(results: Path) -> None:
    """nlu.json is not committed: rerunning another part keeps the NLU section as it was."""
    report.write_report(results)
    (results / "nlu.json").unlink()
    (results / "dialogue.json").write_text(
        json.dumps({"title": "Dialogue", "tables": [], "notes": ["new"]}), encoding="utf-8"
    )
    text = report.write_report(results).read_text(encoding="utf-8")
    assert "**Headline**" in text and "| shipped | 0.973 | – |" in text
    assert "`nlu.json` is not in this checkout" in text
    assert text.index("## NLU") < text.index("## Dialogue") < text.index("## Speed")
    assert "Not in this report (not run yet): profile." in text
    again = report.write_report(results).read_text(encoding="utf-8")
    assert again.count("is not in this checkout") == 1  # kept once, not noted twice
    assert again.split("\n", 3)[3] == text.split("\n", 3)[3]
