"""The NLU section's tables, from the scores of every system on every dataset."""

from __future__ import annotations

import json
import statistics
from typing import Any, Dict, List, Optional, Sequence

from bench.perturb import BASE_KINDS

MAX_ERROR_ROWS = 25
# The subsets a speech recogniser produces, compared side by side (issue 15).
SOUND_SUBSETS = ("homophones", "name_homophones", "verb_homophones", "asr_confusions")
# Confusion types in the order the tables show them.
CHANGE_TYPES = ("same_sound", "tone", "retroflex", "nasal", "n_l", "other")
# baseline → what the shipped system has and it lacks
BUYS = {
    "no_dictionary": "catalog dictionary in jieba",
    "no_normalizer": "normaliser",
    "ablation": "dictionary + normaliser",
    "stock_whitespace": "Chinese tokenisation, dictionary, normaliser, entity rules",
    "keywords": "the learned model (vs. rules)",
}


def entity_f1(overall: Dict[str, Any]) -> Optional[float]:
    """Entity F1, or None when nothing was expected or found."""
    return overall["f1"] if overall["tp"] + overall["fp"] + overall["fn"] else None


def build_tables(
    labels: Dict[str, str],
    clean: Sequence[Any],
    perturbed: Sequence[Any],
    runs: Dict[str, Dict[str, Any]],
    pooled: Dict[str, Any],
    twin: Dict[str, Dict[str, float]],
    separate: Sequence[Any] = (),
) -> List[Dict[str, Any]]:
    """Every table of the section, the headline first."""
    systems = list(labels)
    first = systems[0]
    n = sum(len(d.sources) for d in clean)

    def score(s: str, d: Any) -> Dict[str, Any]:
        return runs[s]["datasets"][d.name]

    def mean_perturbed(s: str, kinds: Optional[Sequence[str]] = None) -> Optional[float]:
        accuracies = [score(s, d)["accuracy"] for d in perturbed if not kinds or d.name in kinds]
        return statistics.fmean(accuracies) if accuracies else None

    base = [d for d in perturbed if d.name in BASE_KINDS]

    def entity_row(overall: Dict[str, Any]) -> List[Any]:
        return [overall["precision"], overall["recall"], entity_f1(overall)]

    intents = sorted(pooled[first]["per_intent"])
    parts = [(what, base) for base, what in BUYS.items() if base in runs and first in runs]

    def delta(mine: Optional[float], theirs: Optional[float]) -> Optional[float]:
        return None if mine is None or theirs is None else mine - theirs

    return [
        {
            "caption": f"Held-out NLU ({n} utterances in {len(clean)} files, never trained on): "
            "intent accuracy, macro F1, entity F1 (value level), the mean accuracy over "
            f"all {len(perturbed)} perturbed subsets, and over the {len(base)} subsets of "
            "reports before issue 15 (comparable with them)",
            "columns": [
                "system",
                "accuracy",
                "macro F1",
                "entity F1",
                "perturbed acc.",
                f"{len(base)}-subset acc.",
                "train s",
                "ms/parse",
                "CPU ms/parse",
            ],
            "rows": [
                [
                    labels[s],
                    pooled[s]["accuracy"],
                    pooled[s]["macro_f1"],
                    entity_f1(pooled[s]["overall"]),
                    mean_perturbed(s),
                    mean_perturbed(s, BASE_KINDS),
                    runs[s].get("train_seconds"),
                    runs[s]["ms_per_parse"],
                    runs[s].get("cpu_ms_per_parse"),
                ]
                for s in systems
            ],
        },
        {
            "caption": f"What each part buys: {labels[first]} minus the system without it "
            "(positive: the part helps), in intent accuracy on the held-out files and on each "
            "perturbed subset, and in entity F1 on the held-out files",
            "columns": ["part", "compared with", "held-out acc.", "held-out entity F1"]
            + [d.name for d in perturbed],
            "rows": [
                [
                    what,
                    labels[base],
                    delta(pooled[first]["accuracy"], pooled[base]["accuracy"]),
                    delta(entity_f1(pooled[first]["overall"]), entity_f1(pooled[base]["overall"])),
                ]
                + [
                    delta(score(first, d)["accuracy"], score(base, d)["accuracy"])
                    for d in perturbed
                ]
                for what, base in parts
            ],
        },
        {
            "caption": "Per held-out file",
            "columns": [
                "system",
                "file",
                "n",
                "accuracy",
                "macro F1",
                "entity P",
                "entity R",
                "entity F1",
            ],
            "rows": [
                [
                    labels[s],
                    d.name,
                    score(s, d)["n"],
                    score(s, d)["accuracy"],
                    score(s, d)["macro_f1"],
                    *entity_row(score(s, d)["overall"]),
                ]
                for s in systems
                for d in clean
            ],
        },
        {
            "caption": "Intent accuracy on each perturbed subset; in brackets the same "
            "utterances unperturbed, so the gap is what the perturbation costs",
            "columns": ["system"] + [f"{d.name} (n={len(d.sources)})" for d in perturbed],
            "rows": [
                [labels[s]]
                + [f"{score(s, d)['accuracy']:.3f} ({twin[s][d.name]:.3f})" for d in perturbed]
                for s in systems
            ],
        },
        {
            "caption": "Entity F1 (value level) on the held-out files and each perturbed subset",
            "columns": ["system", "held-out"] + [d.name for d in perturbed],
            "rows": [
                [labels[s], entity_f1(pooled[s]["overall"])]
                + [entity_f1(score(s, d)["overall"]) for d in perturbed]
                for s in systems
            ],
        },
        *sound_tables(labels, perturbed, runs, twin, separate),
        {
            "caption": f"Per intent on the held-out files: {labels[first]} precision, recall "
            "and F1, and every other system's F1",
            "columns": ["intent", "n", "P", "R", "F1"] + [f"F1 {labels[s]}" for s in systems[1:]],
            "rows": [
                [i, pooled[first]["per_intent"][i]["support"]]
                + [pooled[first]["per_intent"][i][k] for k in ("precision", "recall", "f1")]
                + [pooled[s]["per_intent"].get(i, {}).get("f1") for s in systems[1:]]
                for i in intents
            ],
        },
        {
            "caption": "Per entity on the held-out files (the canonical value must match)",
            "columns": ["system", "entity", "n", "P", "R", "F1"],
            "rows": [
                [labels[s], e, c["tp"] + c["fn"], c["precision"], c["recall"], c["f1"]]
                for s in systems
                for e, c in pooled[s]["per_entity"].items()
            ],
        },
        {
            "caption": f"{labels[first]}: intent errors on the held-out files",
            "columns": ["file", "utterance", "expected", "got"],
            "rows": [[d.name, *e] for d in clean for e in score(first, d)["intent_errors"]][
                :MAX_ERROR_ROWS
            ],
        },
        {
            "caption": f"{labels[first]}: entity errors on the held-out files",
            "columns": ["file", "utterance", "expected", "got"],
            "rows": [
                [d.name, t, json.dumps(w, ensure_ascii=False), json.dumps(h, ensure_ascii=False)]
                for d in clean
                for t, w, h in score(first, d)["entity_errors"]
            ][:MAX_ERROR_ROWS],
        },
    ]


def sound_tables(
    labels: Dict[str, str],
    perturbed: Sequence[Any],
    runs: Dict[str, Dict[str, Any]],
    twin: Dict[str, Dict[str, float]],
    separate: Sequence[Any] = (),
) -> List[Dict[str, Any]]:
    """The sound-alike subsets (and the hand-written files) side by side, and accuracy per
    confusion type; none when there is no sound subset."""
    sound = [d for d in perturbed if d.name in SOUND_SUBSETS]
    if not sound:
        return []
    systems = list(labels)

    def score(s: str, d: Any) -> Dict[str, Any]:
        return runs[s]["datasets"][d.name]

    def accuracy(s: str, d: Any) -> Any:
        return f"{score(s, d)['accuracy']:.3f} ({twin[s][d.name]:.3f})" if d.perturbation else (
            score(s, d)["accuracy"]
        )  # fmt: skip

    shown = [*separate, *sound]
    side_by_side = {
        "caption": "Sound-alike utterances, as a speech recogniser writes them: intent accuracy "
        "(on a perturbed subset, in brackets the same utterances unperturbed) and entity F1, "
        "every system side by side; (a) is Rasa's stock pipeline"
        + "".join(f"; `{d.name}` (n={len(d.sources)}) is written by hand" for d in separate),
        "columns": ["system"]
        + [f"{d.name} {what}" for d in shown for what in ("acc.", "entity F1")],
        "rows": [
            [labels[s]]
            + [cell for d in shown for cell in (accuracy(s, d), entity_f1(score(s, d)["overall"]))]
            for s in systems
        ],
    }
    rows = []
    for d in sound:
        kinds = [k for k in CHANGE_TYPES if any(k in c for c in d.changes)]
        for kind in kinds:
            hit = [j for j, c in enumerate(d.changes) if kind in c]
            chars = sum(c.count(kind) for c in d.changes)
            accuracy = [statistics.fmean(score(s, d)["correct"][j] for j in hit) for s in systems]
            rows.append([d.name, kind, chars, len(hit), *accuracy])
    by_type = {
        "caption": "Sound-alike subsets by confusion type: respelt characters of each type "
        "(same_sound and tone: same toneless pinyin; retroflex: 平翘舌 zh/z ch/c sh/s; nasal: "
        "前后鼻音 in/ing en/eng an/ang; n_l: n/l), the utterances with at least one, and each "
        "system's intent accuracy on those utterances",
        "columns": ["subset", "type", "characters", "utterances"]
        + [f"acc. {labels[s]}" for s in systems],
        "rows": rows,
    }

    def dump(pairs: Any) -> str:
        return json.dumps(pairs, ensure_ascii=False)

    first, error_rows = systems[0], []
    for d in separate:
        found = score(first, d)
        error_rows += [[d.name, *e] for e in found["intent_errors"][:MAX_ERROR_ROWS]]
        error_rows += [[d.name, t, dump(w), dump(h)] for t, w, h in found["entity_errors"]][
            :MAX_ERROR_ROWS
        ]
    errors = {
        "caption": f"{labels[first]}: errors on the sound-alike utterances written by hand "
        "(intents: expected and predicted; entities: expected and found (entity, value) pairs)",
        "columns": ["file", "utterance", "expected", "got"],
        "rows": error_rows,
    }
    return [side_by_side, by_type] + ([errors] if separate else [])
