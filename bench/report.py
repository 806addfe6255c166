"""Merges the benchmark's result sections into `bench/results/report.md`.

Section format. Each part of the benchmark writes one JSON file directly in the results
directory (`nlu.json`, `dialogue.json`, `speed.json`, ...), UTF-8, shaped like this:

    {
      "title": "NLU: intents and entities",      # the section's heading
      "tables": [                                 # in the order they are to be shown
        {"caption": "what the table shows",
         "columns": ["system", "accuracy"],       # header cells
         "rows": [["shipped", 0.957], ...]}       # cells: str, int, float or null
      ],
      "figures": [                                # PNGs written by the part
        {"path": "nlu_accuracy.png",              # relative to the results directory
         "caption": "what the plot shows"}
      ],
      "notes": ["markdown sentences shown as bullets under the section"],
      "data": {...}                               # optional: every number behind the tables
    }                                             # and plots; any extra key is ignored here

The first table of a section is its headline: `summary` prints it to the terminal.
Floats are shown with 3 decimals (1 from 10 on, none from 100 on) and null as "–".
Sections appear in the order nlu, dialogue, speed, then the others by file name; a file
that is not a valid section is listed as such instead of stopping the report.
"""

from __future__ import annotations

import json
import re
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPORT_NAME = "report.md"
ORDER = ("nlu", "dialogue", "speed", "profile")


def section_problem(data: Any) -> Optional[str]:
    """Why `data` is not a valid section, or None if it is."""
    if not isinstance(data, dict) or not isinstance(data.get("title"), str):
        return "no 'title' string"
    for table in data.get("tables", []):
        if not isinstance(table, dict) or not {"caption", "columns", "rows"} <= set(table):
            return "a table lacks caption, columns or rows"
        if any(len(row) != len(table["columns"]) for row in table["rows"]):
            return f"a row of table {table['caption']!r} has the wrong number of cells"
    for figure in data.get("figures", []):
        if not isinstance(figure, dict) or not {"path", "caption"} <= set(figure):
            return "a figure lacks path or caption"
    if not isinstance(data.get("notes", []), list):
        return "'notes' is not a list"
    return None


def load_sections(results_dir: Path) -> Tuple[List[Tuple[str, Dict[str, Any], float]], List[str]]:
    """The valid sections as (name, section, file time), and one line per invalid file."""
    files = sorted(results_dir.glob("*.json"))
    rank = {name: i for i, name in enumerate(ORDER)}
    files.sort(key=lambda p: (rank.get(p.stem, len(ORDER)), p.stem))
    sections, problems = [], []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"`{path.name}`: unreadable ({exc})")
            continue
        problem = section_problem(data)
        if problem:
            problems.append(f"`{path.name}`: not a section ({problem})")
        else:
            sections.append((path.stem, data, path.stat().st_mtime))
    return sections, problems


def cell(value: Any) -> str:
    """One table cell as text."""
    if value is None:
        return "–"
    if isinstance(value, float):
        digits = 3 if abs(value) < 10 else 1 if abs(value) < 100 else 0
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(table: Dict[str, Any]) -> str:
    """A table as Markdown, its caption in bold above it."""

    def line(cells: List[Any]) -> str:
        return "| " + " | ".join(cell(c).replace("|", "\\|") for c in cells) + " |"

    rows = [line(table["columns"]), "|" + "---|" * len(table["columns"])]
    rows += [line(row) for row in table["rows"]]
    return f"**{table['caption']}**\n\n" + "\n".join(rows)


KEPT = "_(Kept from the previous report: `{name}.json` is not in this checkout.)_"


def previous_sections(report_path: Path) -> Dict[str, str]:
    """The sections of an existing report, by part name, as Markdown (heading included).

    A part's JSON may be absent where its report section is not: nlu.json (1 MB of per-
    utterance scores) is not committed, so a fresh clone that reruns another part keeps the
    NLU section it was given instead of dropping it.
    """
    if not report_path.exists():
        return {}
    found: Dict[str, str] = {}
    for block in report_path.read_text(encoding="utf-8").split("\n## ")[1:]:
        match = re.search(r"^_From `(\w+)\.json`", block, re.MULTILINE)
        if match:
            found[match.group(1)] = "## " + block.rstrip("\n")
    return found


def render(results_dir: Path, previous: Optional[Dict[str, str]] = None) -> str:
    """The whole report as Markdown; `previous` sections stand in for absent JSON files."""
    sections, problems = load_sections(results_dir)
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    out = ["# 退订助手 benchmark report", "", f"Written {stamp} by `make bench`."]
    present = {name for name, _, _ in sections}
    kept = {k: v for k, v in (previous or {}).items() if k not in present}
    missing = [name for name in ORDER if name not in present and name not in kept]
    if missing:
        out.append("Not in this report (not run yet): " + ", ".join(missing) + ".")
    out += [f"- {p}" for p in problems]
    blocks: List[Tuple[str, List[str]]] = []
    for name, data, mtime in sections:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(mtime))
        lines = [f"## {data['title']}", "", f"_From `{name}.json`, {when}._"]
        for table in data.get("tables", []):
            lines += ["", markdown_table(table)]
        for figure in data.get("figures", []):
            lines += ["", f"![{figure['caption']}]({figure['path']})", "", f"_{figure['caption']}_"]
        if data.get("notes"):
            lines += [""] + [f"- {note}" for note in data["notes"]]
        blocks.append((name, lines))
    for name, text in kept.items():
        note = KEPT.format(name=name)
        blocks.append((name, [text] if note in text else [text, "", note]))
    rank = {name: i for i, name in enumerate(ORDER)}
    blocks.sort(key=lambda b: (rank.get(b[0], len(ORDER)), b[0]))
    for _, lines in blocks:
        out += [""] + lines
    return "\n".join(out) + "\n"


def write_report(results_dir: Path = RESULTS_DIR) -> Path:
    """Writes report.md into the results directory."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / REPORT_NAME
    path.write_text(render(results_dir, previous_sections(path)), encoding="utf-8")
    return path


def _width(text: str) -> int:
    """Terminal columns taken by `text` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def text_table(table: Dict[str, Any]) -> str:
    """A table as aligned plain text for the terminal."""
    grid = [[cell(c) for c in table["columns"]]] + [[cell(c) for c in r] for r in table["rows"]]
    widths = [max(_width(row[i]) for row in grid) for i in range(len(grid[0]))]

    def line(row: List[str]) -> str:
        return "  ".join(
            c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([table["caption"], line(grid[0]), rule] + [line(r) for r in grid[1:]])


def summary(results_dir: Path = RESULTS_DIR) -> str:
    """The headline table of every section, for the terminal."""
    sections, problems = load_sections(results_dir)
    blocks = [f"== {data['title']}\n" + text_table(data["tables"][0])
              for _, data, _ in sections if data.get("tables")]  # fmt: skip
    blocks += problems
    return "\n\n".join(blocks)


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m bench.report [RESULTS_DIR]`: writes the report and prints the summary."""
    args = sys.argv[1:] if argv is None else argv
    results_dir = Path(args[0]) if args else RESULTS_DIR
    path = write_report(results_dir)
    print(summary(results_dir))
    print(f"\nReport: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
