"""Conversations: seeded simulated users cancel memberships over REST, per behaviour, per bot."""

from __future__ import annotations

import json
import math
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import servers
from bench.simulator import BEHAVIOURS, DEMO_GOALS, Goal, UserSimulator, classify, converse

SEED = 2026
PER_BEHAVIOUR = {False: 36, True: 6}  # 6 behaviours × 36 = 216 conversations per bot
MAX_TURNS = 16
MAX_SECONDS = 60.0
EXAMPLES_PER_REASON = 2


def plan(per_behaviour: int) -> List[Tuple[str, Goal, int]]:
    """The conversations to play: (behaviour, goal, seed), the same for every bot."""
    # Picking from a list needs a holder with several memberships: 13800138000 or 13900139000.
    listed = [g for g in DEMO_GOALS if g.phone != "13600136000"]
    conversations = []
    for i in range(per_behaviour):
        for k, behaviour in enumerate(BEHAVIOURS):
            goals = listed if behaviour == "choose_by_number" else DEMO_GOALS
            conversations.append((behaviour, goals[i % len(goals)], SEED + 97 * i + k))
    return conversations


def play_all(
    bot: servers.Servers, name: str, conversations: List[Tuple[str, Goal, int]]
) -> List[dict]:
    """Plays every conversation on a freshly seeded store; one record per conversation."""
    store = bot.store()
    records = []
    for i, (behaviour, goal, seed) in enumerate(conversations):
        bot.reseed()
        sim = UserSimulator(goal, behaviour, random.Random(seed))
        sender = f"dialogue-{name}-{i}"
        started = time.monotonic()
        turns, limit = converse(
            sim,
            lambda text, sender=sender: bot.say(sender, text),
            lambda phone=goal.phone: bot.outbox.code_for(phone),
            max_turns=MAX_TURNS,
            max_seconds=MAX_SECONDS,
        )
        status = {s.product_name: s.status for s in store.subscriptions(goal.phone)}
        cancellation = store.cancellation(sim.reference) if sim.reference else None
        outcome = classify(
            sim,
            status.get(goal.product) == "cancelled",
            cancellation.product_name if cancellation else None,
            limit,
        )
        records.append(
            {
                "bot": name,
                "behaviour": behaviour,
                "phone": goal.phone,
                "goal": goal.product,
                "success": outcome.success,
                "reason": outcome.reason,
                "turns": outcome.turns,
                "all_turns": len(turns),
                "repairs": sim.stalls,
                "seconds": round(time.monotonic() - started, 3),
                "turn_ms": [round(t.seconds * 1000, 1) for t in turns],
                "moves": sim.moves,
                "transcript": [[t.user, t.bot] for t in turns],
            }
        )
    return records


def training_overlap() -> Tuple[int, int]:
    """(distinct simulator sentences, how many appear verbatim in data/nlu), numbers aside."""
    import re

    import yaml

    from bench import simulator as sim

    annotation = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
    examples = set()
    for path in (servers.ROOT / "data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in (item.get("examples") or "").splitlines():
                examples.add(annotation.sub(r"\1", line.strip().removeprefix("- ").strip()))
    aliases = {a for g in DEMO_GOALS for a in g.aliases}
    named = (sim.OPEN_NAMED, sim.AGAIN, sim.CORRECT)
    fixed = (sim.OPEN_UNNAMED, sim.CONFIRM, sim.DENY, sim.DIGRESS, sim.REASON, sim.BYE)
    sentences = {t.format(s=a) for pool in named for t in pool for a in aliases}
    sentences |= {t for pool in fixed for t in pool}
    return len(sentences), len(sentences & examples)


def wilson(successes: int, n: int, z: float = 1.96) -> Tuple[float, float]:
    """The 95% Wilson score interval of a success rate."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def summarise(records: List[dict]) -> Dict[str, Any]:
    """n, successes, rate with its interval, mean turns of successes, failure reasons."""
    wins = [r for r in records if r["success"]]
    low, high = wilson(len(wins), len(records))
    return {
        "n": len(records),
        "successes": len(wins),
        "success_rate": len(wins) / len(records) if records else None,
        "ci95": [round(low, 4), round(high, 4)],
        "mean_turns_success": (sum(r["turns"] for r in wins) / len(wins)) if wins else None,
        # Successes where the user had to say something again because the bot did not move on.
        "repaired_successes": sum(1 for r in wins if r["repairs"]),
        "failures": dict(Counter(r["reason"] for r in records if not r["success"]).most_common()),
    }


def _rate(s: Optional[Dict[str, Any]]) -> Optional[str]:
    if not s:
        return None
    low, high = s["ci95"]
    return f"{s['success_rate']:.1%} ({s['successes']}/{s['n']}; 95% CI {low:.0%}–{high:.0%})"


def _turns(s: Optional[Dict[str, Any]]) -> Optional[str]:
    return f"{s['mean_turns_success']:.2f}" if s and s["mean_turns_success"] else None


def section(results: Dict[str, List[dict]], notes: List[str]) -> Dict[str, Any]:
    """The dialogue.json section: success and turns per behaviour and bot, failure reasons."""
    groups = list(BEHAVIOURS) + ["all"]
    stats = {
        bot: {g: summarise([r for r in recs if g == "all" or r["behaviour"] == g]) for g in groups}
        for bot, recs in results.items()
    }
    shipped, stock = stats.get("shipped", {}), stats.get("stock", {})
    rows = []
    for g in groups:
        a, b = shipped.get(g), stock.get(g)
        ratio = (
            f"{a['success_rate'] / b['success_rate']:.2f}×"
            if a and b and b["success_rate"]
            else None
        )
        repaired = [s["repaired_successes"] if s else None for s in (a, b)]
        rows.append([g, (a or b)["n"], _rate(a), _rate(b), ratio, _turns(a), _turns(b), *repaired])
    failures = [
        [bot, g, reason, count]
        for bot, per in stats.items()
        for g in BEHAVIOURS
        for reason, count in per[g]["failures"].items()
    ]
    examples: Dict[str, List[Any]] = {}
    for bot, recs in results.items():
        for r in recs:
            key = f"{bot}:{r['reason']}"
            if not r["success"] and len(examples.setdefault(key, [])) < EXAMPLES_PER_REASON:
                examples[key].append(r["transcript"])
    return {
        "title": "Conversations: simulated users cancelling over REST",
        "tables": [
            {
                "caption": "Task success per behaviour (success = the bot said a reference and "
                "the store shows that membership cancelled), and user turns per success",
                "columns": [
                    "behaviour",
                    "n",
                    "success (shipped)",
                    "success (stock)",
                    "shipped/stock",
                    "turns per success (shipped)",
                    "turns per success (stock)",
                    "successes after a repeat (shipped)",
                    "successes after a repeat (stock)",
                ],
                "rows": rows,
            },
            {
                "caption": "Why conversations failed (counted)",
                "columns": ["bot", "behaviour", "reason", "count"],
                "rows": failures,
            },
        ],
        "figures": [{"path": "dialogue_success.png", "caption": "Task success rate per behaviour"}],
        "notes": notes,
        # Whole transcripts only for the failure examples: the rest keeps moves and timings.
        "data": {
            "summary": stats,
            "failure_examples": examples,
            "conversations": {
                bot: [{k: v for k, v in r.items() if k != "transcript"} for r in recs]
                for bot, recs in results.items()
            },
        },
    }


def plot(stats: Dict[str, Dict[str, Any]], path: Path) -> None:
    """Grouped bars: success rate per behaviour, one bar per bot, with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(BEHAVIOURS) + ["all"]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(stats))
    for k, (bot, per) in enumerate(stats.items()):
        xs = [i + (k - (len(stats) - 1) / 2) * width for i in range(len(groups))]
        rates = [per[g]["success_rate"] or 0.0 for g in groups]
        errors = [
            [r - per[g]["ci95"][0] for g, r in zip(groups, rates, strict=True)],
            [per[g]["ci95"][1] - r for g, r in zip(groups, rates, strict=True)],
        ]
        ax.bar(xs, rates, width, yerr=errors, capsize=3, label=bot)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("task success rate")
    ax.legend(ncol=2, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _models(quick: bool, notes: List[str]) -> Dict[str, Path]:
    """The shipped model and the stock baseline; --quick trains only a missing shipped model."""
    models = {}
    for name, config in servers.CONFIGS.items():
        last = servers.recorded(name)
        if not quick:
            models[name] = servers.trained(config, name).model
        elif last or name == "shipped":
            models[name] = (last or servers.trained(config, name)).model
        else:
            notes.append("--quick: no trained stock baseline yet, so only the shipped bot ran.")
    return models


def run(results_dir: Path, quick: bool) -> dict:
    """Plays the simulated conversations on both bots; writes dialogue.json and its plot."""
    results_dir.mkdir(parents=True, exist_ok=True)
    notes: List[str] = []
    conversations = plan(PER_BEHAVIOUR[quick])
    results: Dict[str, List[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-dialogue-") as tmp:
        for name, model in _models(quick, notes).items():
            print(f"[dialogue] {name}: {len(conversations)} conversations", file=sys.stderr)
            with servers.Servers(model, Path(tmp) / name, stock=name == "stock") as bot:
                results[name] = play_all(bot, name, conversations)
            stale = " (older than the current data)" * servers.is_stale(
                model, servers.CONFIGS[name]
            )
            notes.append(f"{name}: model {model.name}{stale}.")
    total, seen = training_overlap()
    notes += [
        f"The simulated users say {total} distinct sentences besides phone numbers, codes and "
        f"list numbers; {seen} of them appear verbatim in data/nlu (the rest are new phrasings "
        "of the same small pools, so this measures the flow more than NLU robustness, which "
        "the NLU section covers).",
        f"{len(conversations)} conversations per bot ({PER_BEHAVIOUR[quick]} per behaviour), "
        f"seed {SEED}, one at a time over the REST channel with the real action server and a "
        "SQLite store reseeded with the demo data before each conversation; goals are the "
        "demo's cancellable memberships (爱奇艺 goes through the simulated 支付宝 partner, "
        "set to succeed).",
        f"Each conversation is bounded to {MAX_TURNS} user turns and {MAX_SECONDS:.0f} s; "
        "turns per success count the user's messages up to the one answered with the "
        "reference (the reason question and the goodbye after it are not counted).",
        "Failure reasons: a bot message that ends the attempt (already_cancelled, "
        "partner_failed, locked, flow_stopped, handed_off, unexpected_abort, ...), "
        "not_understood@<step> / stuck@<step> when the bot did not move on after two "
        "rephrasings at that step, repeated@<move> when the user had to give the same thing "
        "(phone, code, confirmation, ...) a fourth time, turn_limit / time_limit / http_error.",
    ]
    data = section(results, notes)
    plot(data["data"]["summary"], results_dir / "dialogue_success.png")
    (results_dir / "dialogue.json").write_text(json.dumps(data, ensure_ascii=False, indent=1))
    return data
