"""The speed section of the report: targets, tables, plots and notes from the measurements."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench.speed_plan import (
    LEVELS,
    MULTI,
    MULTI_WORKERS,
    NO_CACHE,
    PHONES,
    RAMP_S,
    WARMUP_S,
    WINDOW_S,
)

TARGETS = (  # label, goal, "max" or "min", where in a bot's result
    ("CPU per turn at 32 concurrent (ms)", 13, "max", ("level", 32, "cpu_ms_per_turn")),
    ("one conversation p50 (ms)", 25, "max", ("level", 1, "p50_ms")),
    ("8 concurrent p99 (ms)", 150, "max", ("level", 8, "p99_ms")),
    ("turns/s at 32 concurrent", 150, "min", ("level", 32, "turns_per_s")),
    ("start to first answer (s)", 20, "max", ("startup", "first_answer_s")),
    ("training, cold (s; median of a full run's 3)", 120, "max", ("training", "seconds")),
    ("peak RSS of a server process (MiB; 1.2 GiB)", 1229, "max", ("rss",)),
)


def _value(bot: dict, where: tuple) -> Optional[float]:
    if where[0] == "level":
        return next((x[where[2]] for x in bot["levels"] if x["concurrency"] == where[1]), None)
    if where[0] == "rss":
        return max(bot["peak_rss_bytes"].values()) / 2**20
    return bot[where[0]][where[1]]


def _r(x: Any) -> Any:
    """A table cell: floats with one decimal (the report would show three)."""
    return f"{x:.1f}" if isinstance(x, float) else x


def _mb(n: float) -> str:
    return f"{n / 2**20:.0f}"


def _met(value: Optional[float], goal: float, kind: str) -> Optional[str]:
    if value is None:
        return None
    return "yes" if (value <= goal if kind == "max" else value >= goal) else "NO"


def target_rows(bots: Dict[str, dict]) -> List[list]:
    """Each target: goal, every shipped variant, stock, ratio, met (best variant; no cache)."""
    rows = []
    for label, goal, kind, where in TARGETS:
        names = ("shipped", NO_CACHE, MULTI, "stock")
        a, n, m, b = (_value(bots[x], where) if x in bots else None for x in names)
        best = [x for x in (a, m) if x is not None]
        best_value = (min if kind == "max" else max)(best) if best else None
        ratio = f"{a / b:.2f}×" if a is not None and b else None
        sign = "≤" if kind == "max" else "≥"
        rows.append(
            [label, f"{sign} {goal}", _r(a), _r(n), _r(m), _r(b), ratio,
             _met(best_value, goal, kind), _met(n, goal, kind)]
        )  # fmt: skip
    return rows


def floor_rows(name: str, bot: dict) -> List[list]:
    """Parse and action calls alone, their sum per turn, and a whole turn at 1 conversation."""
    f = bot["floors"]
    rows = [
        [name, what, x["n"], _r(x["p50_ms"]), _r(x["p95_ms"]), _r(x["cpu_ms"])]
        for what, x in f.items()
    ]
    k = bot.get("calls", {}).get("action_server_calls_per_turn", 0.0)
    parse, _, read = (x["p50_ms"] for x in f.values())
    bot["sum_of_parts_ms"] = parts = parse + k * read
    turn = bot["levels"][0]["p50_ms"]
    rows.append([name, f"sum of parts: parse + {k:.2f} × store read", None, _r(parts), None, None])
    rows.append(
        [name, f"REST turn, c=1 ({turn / parts:.2f} × the sum)", None, _r(turn), None, None]
    )
    one = bot["levels"][0]
    for server, label in (("rasa", "Rasa server"), ("actions", "action server")):
        cpu = 1000 * one["cpu_s"][server] / max(1, one["turns"])
        rows.append([name, f"CPU per REST turn at c=1: {label}", one["turns"], None, None, _r(cpu)])
    return rows


def move_rows(bots: Dict[str, dict]) -> List[list]:
    """p50/p95 per kind of user move (open, phone, code, confirm, ...) at 1 conversation."""
    rows = []
    for name, bot in bots.items():
        for move, x in sorted(bot["levels"][0]["by_move"].items(), key=lambda kv: -kv[1]["n"]):
            rows.append([name, move, x["n"], _r(x["p50_ms"]), _r(x["p95_ms"])])
    return rows


def size_row(name: str, bot: dict) -> list:
    """Training time and memory, model size, startup, the servers' peak memory."""
    t, up, rss = bot["training"], bot["startup"], bot["peak_rss_bytes"]
    return [name, _r(t["seconds"]), _mb(t["peak_rss_bytes"]), _mb(t["size_bytes"])] + [
        _r(up["rasa_ready_s"]),
        _r(up["first_answer_s"]),
        _mb(up["rasa_rss_bytes"]) if "rasa_rss_bytes" in up else None,
        _mb(rss["rasa"]),
        _mb(rss["actions"]),
    ]


def section(bots: Dict[str, dict], notes: List[str]) -> Dict[str, Any]:
    """The speed.json section: targets, levels, floors, size and startup."""
    keys = ("p50_ms", "p95_ms", "p99_ms", "turns_per_s", "cpu_ms_per_turn")
    levels = [
        [name, x["concurrency"], x["turns_measured"], *(_r(x[k]) for k in keys), x["errors"]]
        + [f"{x['repeated_text_share']:.0%}" if name in ("shipped", MULTI) else None]
        for name, bot in bots.items()
        for x in bot["levels"]
    ]
    tables = [
        ("Targets (shipped bot; stock = Rasa's default recommended config on the same data)",
         f"target|goal|shipped|{NO_CACHE}|{MULTI}|stock|shipped/stock|"
         "met (shipped or 2 workers)|met without the parse cache", target_rows(bots)),
        ("Per-turn latency and throughput by concurrent conversations, after warm-up",
         "bot|concurrent|turns|p50 ms|p95 ms|p99 ms|turns/s|CPU ms/turn|errors|"
         "parse cache hits ≤", levels),
        ("Latency by the user's move, 1 conversation (what each step of the flow costs)",
         "bot|move|turns|p50 ms|p95 ms", move_rows(bots)),
        ("The floor: NLU parse alone, one action call alone (sequential), and a whole turn",
         "bot|what|n|p50 ms|p95 ms|CPU ms", [r for n, b in bots.items() for r in floor_rows(n, b)]),
        ("Size and startup", "bot|training s|training peak MiB|model MiB|Rasa ready s|"
         "first answer s|Rasa RSS at first answer MiB|Rasa peak RSS MiB|"
         "action server peak RSS MiB",
         [size_row(n, b) for n, b in bots.items()]),
    ]  # fmt: skip
    figures = [
        ("speed_latency.png", "Per-turn latency percentiles against concurrent conversations"),
        ("speed_throughput.png", "Throughput (turns/s) against concurrent conversations"),
    ]
    return {
        "title": "Speed and size: REST turns with the action server and store",
        "tables": [{"caption": c, "columns": cols.split("|"), "rows": r} for c, cols, r in tables],
        "figures": [{"path": path, "caption": caption} for path, caption in figures],
        "notes": notes,
        "data": bots,
    }


def plot(bots: Dict[str, dict], results_dir: Path) -> None:
    """speed_latency.png (p50/p95/p99) and speed_throughput.png against concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = (
        ("speed_latency.png", ("p50_ms", "p95_ms", "p99_ms"), "ms per turn", "log"),
        ("speed_throughput.png", ("turns_per_s",), "turns/s", "linear"),
    )
    for filename, keys, ylabel, yscale in plots:
        fig, ax = plt.subplots(figsize=(7, 4))
        colours = ("tab:blue", "tab:purple", "tab:green", "tab:orange")
        for (name, bot), colour in zip(bots.items(), colours, strict=False):
            cs = [x["concurrency"] for x in bot["levels"]]
            for key, style in zip(keys, ("-", "--", ":"), strict=False):
                label = f"{name} {key.split('_')[0]}" if len(keys) > 1 else name
                ys = [x[key] for x in bot["levels"]]
                ax.plot(cs, ys, style, marker="o", color=colour, label=label)
        if len(keys) == 1:
            ax.axhline(150, color="grey", linestyle="--", label="target at 32 concurrent")
            ax.set_ylim(bottom=0)
        else:
            ax.plot([1], [25], "kx", label="target: p50 at 1")
            ax.plot([8], [150], "k+", markersize=10, label="target: p99 at 8")
        ax.set(xscale="log", yscale=yscale, xlabel="concurrent conversations", ylabel=ylabel)
        ax.set_xticks(LEVELS, [str(c) for c in LEVELS])
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(results_dir / filename, dpi=120)
        plt.close(fig)


def describe(bots: Dict[str, dict], quick: bool, load_before: Tuple[float, ...]) -> List[str]:
    """The notes: how it was measured, on what machine, under what load."""
    after = [x["loadavg_1m_after"] for b in bots.values() for x in b["levels"]]
    notes = [
        f"Loopback only; {os.cpu_count()} CPU cores shared by both servers and the load generator "
        f"(one asyncio process, its CPU time is in the data). 1-minute load average "
        f"{load_before[0]:.2f} before the run, {min(after):.2f}–{max(after):.2f} after the "
        "levels; other developers' jobs may have been running: the numbers are what this "
        "machine gave.",
        f"Each level runs {RAMP_S:.0f} s before a {WINDOW_S[quick]:.0f} s measured window, after "
        f"a {WARMUP_S[quick]:.0f} s warm-up at 8 concurrent; conversations are the simulator's "
        f"(six behaviours, codes from the SMS outbox) on {len(PHONES)} extra bench accounts, "
        "the store reseeded before each level, so no two live conversations share a phone.",
        "Latency: client-side, request to full answer of each REST turn started in the window; "
        "turns/s: turns completed in the window; CPU ms/turn: both servers' CPU time over the "
        "level divided by its turns. When a whole conversation takes longer than the window "
        "(at 32 and 64 concurrent), the turns measured lean to a conversation's first steps.",
        "Parse cache (rasa_patches/parse_cache.py, on in the shipped bot): a conversation turn "
        "whose exact text was parsed before and holds nothing personal (no phone, code or "
        "digit run) is answered from the cache. 'parse cache hits ≤' is the share of a level's "
        "turns whose text this server had been sent before: the cache's hit rate at most. The "
        "simulator's users say a few hundred sentences, so this is higher than a real user "
        f"base's: '{NO_CACHE}' (PARSE_CACHE_SIZE=0) is the same bot with every turn parsed, "
        "the last column of the targets says which targets hold without the cache. The NLU "
        "floor (/model/parse) is never cached.",
        f"'{MULTI}': one `rasa run` with SANIC_WORKERS={MULTI_WORKERS}, trackers and locks in "
        "Redis (rasa_plugins.redis_tracker_store.RedisTrackerStore inside the redacting wrapper, "
        "rasa_plugins.redis_lock_store.AtomicRedisLockStore); its CPU ms/turn includes the Redis "
        "server's CPU time, its peak RSS is the largest worker's.",
        "Memory: a one-worker bot keeps every conversation of the run in Rasa's in-memory "
        "tracker store (the development default; thousands of bench conversations by the end), "
        "so its peak RSS grows with the run; 'RSS at first answer' is the process with its "
        "model loaded. The two-worker bot keeps conversations in Redis.",
        "Sum of parts = parse p50 + (action-server calls per user turn, counted in Rasa's "
        "trackers at 1 conversation; a form's validation call is inside the form's event, so "
        "this undercounts) × p50 of the store-reading action.",
        "Stock = bench/baselines/stock_policies.yml: Rasa's default recommended pipeline and "
        "policies, JiebaTokenizer in place of WhitespaceTokenizer (which refuses Chinese).",
    ]
    for name, bot in bots.items():
        t = bot["training"]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(t["measured_at"]))
        reused = f", measured at {when} and reused" if t["reused"] else ""
        stale = "; the data changed since" if t["stale"] else ""
        runs = t.get("runs_s") or ()
        took = (
            f"trained cold {len(runs)} times: {', '.join(f'{x:.0f}' for x in runs)} s, median "
            f"{t['seconds']:.0f} s"
            if len(runs) > 1
            else f"trained cold in {t['seconds']:.0f} s"
        )
        if name in (NO_CACHE, MULTI):
            continue  # the shipped model, measured once above
        notes.append(
            f"{name}: {t['model']}, {took} (1-minute load average {t['loadavg_1m']:.2f} when "
            f"the last ended){reused}{stale}."
        )
    return notes
