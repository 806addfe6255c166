"""The NLU section's PNG plots (matplotlib, ASCII labels: no CJK font is needed)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend."""
    with warnings.catch_warnings():  # pyparsing deprecations inside matplotlib 3.5
        warnings.simplefilter("ignore")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

    return plt


def bar_chart(
    path: Path,
    groups: Sequence[str],
    series: Dict[str, Sequence[Optional[float]]],
    ylabel: str,
    title: str,
) -> None:
    """Grouped bars: one group per dataset, one bar per system (None leaves a gap)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(9, 1.5 * len(groups)), 5.6))
    width = 0.8 / max(1, len(series))
    values = [v for vs in series.values() for v in vs if v is not None]
    for i, (name, ys) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [math.nan if y is None else y for y in ys], width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=15)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if values and min(values) >= 0:
        ax.set_ylim(0, 1.0)
    # Below the axes, so that no bar hides behind it.
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax.axhline(0, color="black", linewidth=0.6)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def confusion_plot(path: Path, confusion: List[List[Any]], title: str) -> Dict[str, Any]:
    """Heat map of expected (rows) × predicted (columns) counts; returns what it drew."""
    labels = sorted({g for g, _, _ in confusion} | {p for _, p, _ in confusion})
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for gold, predicted, count in confusion:
        matrix[index[gold]][index[predicted]] += count
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 8))
    # Log-like colour scale: the diagonal would otherwise drown the few errors.
    ax.imshow([[math.log1p(c) for c in row] for row in matrix], cmap="Blues")
    ax.set_xticks(range(len(labels)))
    ax.set_yticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticklabels(labels, fontsize=8)
    peak = math.log1p(max((max(row) for row in matrix), default=0))
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                colour = "white" if math.log1p(count) > peak * 0.6 else "black"
                weight = "normal" if i == j else "bold"
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color=colour,
                        fontweight=weight)  # fmt: skip
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("expected intent")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"labels": labels, "matrix": matrix}
