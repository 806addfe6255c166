"""Speed and size: per-turn latency and throughput over REST at 1-64 concurrent conversations."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from bench import servers
from bench.simulator import BEHAVIOURS, DEMO_GOALS, Goal, UserSimulator

LEVELS = (1, 8, 32, 64)
WINDOW_S = {False: 20.0, True: 6.0}  # measured seconds per concurrency level
WARMUP_S = {False: 10.0, True: 3.0}  # at 8 concurrent, once per bot, not measured
RAMP_S = 2.0  # each level runs this long before its window opens
FLOOR_N = {False: 200, True: 50}
MAX_TURNS = 16
TIMEOUT_S = 60.0
MULTI_WORKERS = 2
MULTI = f"shipped, {MULTI_WORKERS} workers"
NO_CACHE = "shipped, no parse cache"
STOCK_REUSE_S = 12 * 3600  # a full run reuses a stock training measured this recently
TRAININGS = 3  # cold trainings of the shipped model in a full run: their median is reported
# Bench-only accounts, each with 张三's two memberships: no two live conversations share a phone.
PHONES = tuple(f"155{n:08d}" for n in range(1, 401))
GOALS = tuple(g for g in DEMO_GOALS if g.phone == "13800138000")
FLOOR_TEXTS = (
    "帮我把腾讯视频的自动续费关了|13800138000|验证码482913|确认取消|1|取消了之后已经扣的钱会退吗|"
    "先不取消了|幺三八零零幺三八零零零|不用了，谢谢"
).split("|")


def goal_stream(seed: int) -> Iterator[Tuple[Goal, str, int]]:
    """Endless (goal, behaviour, seed): every bench phone once per membership before any repeat."""
    n = itertools.count()
    for goal in itertools.cycle(GOALS):
        for phone in PHONES:
            i = next(n)
            yield Goal(phone, goal.product, goal.aliases), BEHAVIOURS[i % len(BEHAVIOURS)], seed + i


def percentile(values: List[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def stats(ms: List[float]) -> Dict[str, float]:
    """p50/p95/p99/mean/max of milliseconds."""
    out = {f"p{q}_ms": percentile(ms, q) for q in (50, 95, 99)}
    return {**out, "mean_ms": sum(ms) / max(1, len(ms)), "max_ms": max(ms, default=0.0)}


async def load(bot: servers.Servers, c: int, seconds: float, tag: str) -> Dict[str, Any]:
    """c simulated conversations at a time for RAMP_S + `seconds`; the window's turn latencies."""
    import aiohttp

    loop = asyncio.get_running_loop()
    goals = goal_stream(sum(map(ord, tag)))
    opens = loop.time() + RAMP_S
    closes = opens + seconds
    done = {"turns": 0, "in_window": 0, "conversations": 0, "errors": 0, "repeats": 0}
    # Texts this server was sent before that its parse cache may keep: an upper bound of the
    # cache's hit rate (exact while fewer distinct texts than PARSE_CACHE_SIZE were sent).
    seen = bot.__dict__.setdefault("sent_texts", set())
    latencies: List[float] = []
    by_move: Dict[str, List[float]] = {}
    senders: List[str] = []
    url = f"{bot.url}/webhooks/rest/webhook"

    async def conversation(session: aiohttp.ClientSession) -> None:
        goal, behaviour, seed = next(goals)
        sim = UserSimulator(goal, behaviour, random.Random(seed))
        sender, message, turns = f"{tag}-{seed}", sim.opening(), 0
        senders.append(sender)
        while message is not None and turns < MAX_TURNS and loop.time() < closes:
            if cacheable_text(message):
                done["repeats"] += message in seen
                seen.add(message)
            start = loop.time()
            try:
                async with session.post(url, json={"sender": sender, "message": message}) as r:
                    replies = await r.json() if r.status == 200 else r.status
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                replies = "connection"
            if not isinstance(replies, list):  # an HTTP error status or a failed connection
                done["errors"] += 1
                return
            end = loop.time()
            turns += 1
            done["turns"] += 1
            done["in_window"] += opens <= end <= closes
            if opens <= start < closes:
                latencies.append((end - start) * 1000)
                by_move.setdefault(sim.moves[-1], []).append((end - start) * 1000)
            texts = [x["text"] for x in replies if x.get("text")]
            message = sim.respond(texts, lambda phone=goal.phone: bot.outbox.code_for(phone))
        done["conversations"] += 1

    async def worker(session: aiohttp.ClientSession) -> None:
        while loop.time() < closes:
            await conversation(session)

    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
    ) as session:
        runs = asyncio.gather(*(worker(session) for _ in range(c)))
        await asyncio.wait_for(runs, RAMP_S + seconds + 2 * TIMEOUT_S)
    return {"latencies": latencies, "by_move": by_move, "senders": senders, **done}


def cacheable_text(text: str) -> bool:
    """Whether the shipped bot's parse cache may keep `text` (nothing personal, short)."""
    from redaction.text import redact_text

    return len(text) <= 200 and redact_text(text) == text


def run_level(bot: servers.Servers, c: int, seconds: float) -> Dict[str, Any]:
    """One concurrency level on a freshly seeded store, with the servers' CPU time around it."""
    bot.reseed()
    cpu_before, client_before = bot.cpu_seconds(), resource.getrusage(resource.RUSAGE_SELF)
    raw = asyncio.run(load(bot, c, seconds, f"c{c}"))
    cpu = {k: v - cpu_before[k] for k, v in bot.cpu_seconds().items()}
    client = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = client.ru_utime + client.ru_stime - client_before.ru_utime - client_before.ru_stime
    latencies = raw.pop("latencies")
    moves = {move: {"n": len(ms), **stats(ms)} for move, ms in raw.pop("by_move").items()}
    return {
        "concurrency": c,
        "window_s": seconds,
        "turns_measured": len(latencies),
        "turns_per_s": raw["in_window"] / seconds,
        **stats(latencies),
        "cpu_ms_per_turn": 1000 * sum(cpu.values()) / max(1, raw["turns"]),
        "cpu_s": cpu,
        "repeated_text_share": raw["repeats"] / max(1, raw["turns"]),
        "client_cpu_s": client_cpu,
        "by_move": moves,
        "loadavg_1m_after": os.getloadavg()[0],
        **raw,
    }


def post_json(url: str, payload: Optional[Dict[str, Any]] = None) -> Tuple[float, Any]:
    """One POST (a GET without payload); (seconds, decoded answer)."""
    body = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        answer = json.loads(response.read().decode("utf-8"))
    return time.perf_counter() - start, answer


def _domain() -> Dict[str, Any]:
    import yaml

    return yaml.safe_load((servers.ROOT / "domain.yml").read_text(encoding="utf-8"))


def action_payload(action: str, slots: Dict[str, Any], domain: Dict[str, Any]) -> Dict[str, Any]:
    """What Rasa POSTs to the action server to run `action`, for a one-message tracker."""
    intent = {"name": "ask_cancel_methods", "confidence": 1.0}
    tracker = {
        "sender_id": "bench-floor",
        "slots": {**{name: None for name in domain.get("slots", {})}, **slots},
        "latest_message": {"text": "有哪些取消方式", "intent": intent, "entities": []},
        "latest_event_time": time.time(),
        "followup_action": None,
        "paused": False,
        "events": [],
        "latest_input_channel": "rest",
        "active_loop": {},
        "latest_action": {"action_name": "action_listen"},
        "latest_action_name": "action_listen",
    }
    return {"next_action": action, "sender_id": "bench-floor", "tracker": tracker, "domain": domain}


def floors(bot: servers.Servers, n: int) -> Dict[str, Dict[str, Any]]:
    """NLU parse alone and one action call alone, n sequential calls each after 10 warm-ups."""
    domain = _domain()
    verified = {"verified_phone": "13800138000", "verified_at": time.time() + 3600}
    webhook = f"{bot.action_url}/webhook"
    cases: Dict[str, Tuple[str, Callable[[int], Dict[str, Any]]]] = {
        "NLU parse (/model/parse)": (
            f"{bot.url}/model/parse",
            lambda i: {"text": FLOOR_TEXTS[i % len(FLOOR_TEXTS)]},
        ),
        "action_cancel_methods (no store)": (
            webhook,
            lambda i: action_payload("action_cancel_methods", {}, domain),
        ),
        "action_check_subscriptions (store read)": (
            webhook,
            lambda i: action_payload("action_check_subscriptions", verified, domain),
        ),
    }
    result = {}
    for name, (url, payload) in cases.items():
        for i in range(10):
            post_json(url, payload(i))
        before = sum(bot.cpu_seconds().values())
        ms = [post_json(url, payload(i))[0] * 1000 for i in range(n)]
        cpu_ms = 1000 * (sum(bot.cpu_seconds().values()) - before) / n
        result[name] = {"n": n, **stats(ms), "cpu_ms": cpu_ms}
    return result


def calls_per_turn(bot: servers.Servers, senders: List[str]) -> Dict[str, float]:
    """Mean predicted actions and action-server calls per user turn, from Rasa's trackers."""
    domain = _domain()
    remote = set(domain.get("actions", [])) | set(domain.get("forms", {}))
    users = actions = calls = 0
    for sender in senders:
        events = post_json(f"{bot.url}/conversations/{sender}/tracker")[1]["events"]
        for event in events:
            users += event["event"] == "user"
            if event["event"] == "action" and event.get("name") != "action_listen":
                actions += event.get("name") != "action_session_start"
                calls += event.get("name") in remote
    return {
        "user_turns": users,
        "actions_per_turn": actions / max(1, users),
        "action_server_calls_per_turn": calls / max(1, users),
    }


def bench_bot(
    name: str,
    config: Path,
    levels: Tuple[int, ...],
    quick: bool,
    work: Path,
    workers: int = 1,
    env: Optional[Dict[str, str]] = None,
) -> dict:
    """Training, startup, floors, warm-up and every concurrency level for one bot."""
    model_name = "stock" if name == "stock" else "shipped"
    if name not in ("shipped", "stock") and servers.recorded(model_name):
        training = servers.recorded(model_name)  # the model the plain shipped run just used
    elif quick:  # trains only when there is no model at all
        training = servers.recorded(model_name) or servers.trained(config, model_name)
    elif name == "stock":
        training = servers.trained(config, model_name, STOCK_REUSE_S)
    else:
        training = servers.trained_repeatedly(config, model_name, TRAININGS)
    print(f"[speed] {name}: serving {training.model.name}", file=sys.stderr)
    result: Dict[str, Any] = {"training": {**vars(training), "model": training.model.name}}
    result["training"]["stale"] = servers.is_stale(training.model, config)
    with servers.Servers(
        training.model,
        work / name.replace(" ", "_"),
        extra_phones=PHONES,
        stock=name == "stock",
        workers=workers,
        env_overrides=env or {},
    ) as bot:
        result["startup"] = dict(bot.startup)
        result["floors"] = floors(bot, FLOOR_N[quick])
        asyncio.run(load(bot, 8, WARMUP_S[quick], "warmup"))
        result["levels"] = []
        for c in levels:
            level = run_level(bot, c, WINDOW_S[quick])
            senders = level.pop("senders")
            if c == 1:
                result["calls"] = calls_per_turn(bot, senders[:12])
            result["levels"].append(level)
            print(
                f"[speed] {name} c={c}: p50 {level['p50_ms']:.0f} ms, p99 {level['p99_ms']:.0f} "
                f"ms, {level['turns_per_s']:.1f} turns/s",
                file=sys.stderr,
            )
        result["peak_rss_bytes"] = bot.peak_rss()
    return result


def run(results_dir: Path, quick: bool) -> dict:
    """Benchmarks the shipped bot and the stock baseline; writes speed.json and two plots."""
    results_dir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    bots: Dict[str, dict] = {}
    notes: List[str] = []
    plans = [("shipped", servers.SHIPPED_CONFIG, LEVELS, 1, {})]
    if not quick:
        # What the parse cache buys, and several Sanic workers with Redis trackers and locks.
        plans.append((NO_CACHE, servers.SHIPPED_CONFIG, LEVELS, 1, {"PARSE_CACHE_SIZE": "0"}))
        if servers.redis_reachable():
            plans.append((MULTI, servers.SHIPPED_CONFIG, LEVELS, MULTI_WORKERS, {}))
        else:
            notes.append(f"No Redis on {servers.HOST}:6379: '{MULTI}' was not run.")
    if not quick or servers.recorded("stock"):
        plans.append(("stock", servers.STOCK_CONFIG, LEVELS[:2] if quick else LEVELS, 1, {}))
    else:
        notes.append("--quick: no trained stock baseline yet, so only the shipped bot was run.")
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        for name, config, levels, workers, env in plans:
            bots[name] = bench_bot(name, config, levels, quick, Path(tmp), workers, env)
            if name in (NO_CACHE, MULTI):  # the same model: the shipped run's measurement
                bots[name]["training"] = bots["shipped"]["training"]
    data = section(bots, notes + describe(bots, quick, load_before))
    plot(bots, results_dir)
    (results_dir / "speed.json").write_text(json.dumps(data, ensure_ascii=False, indent=1))
    return data


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
        "Parse cache (rasa_fixes/parse_cache.py, on in the shipped bot): a conversation turn "
        "whose exact text was parsed before and holds nothing personal (no phone, code or "
        "digit run) is answered from the cache. 'parse cache hits ≤' is the share of a level's "
        "turns whose text this server had been sent before: the cache's hit rate at most. The "
        "simulator's users say a few hundred sentences, so this is higher than a real user "
        f"base's: '{NO_CACHE}' (PARSE_CACHE_SIZE=0) is the same bot with every turn parsed, "
        "the last column of the targets says which targets hold without the cache. The NLU "
        "floor (/model/parse) is never cached.",
        f"'{MULTI}': one `rasa run` with SANIC_WORKERS={MULTI_WORKERS}, trackers and locks in "
        "Redis (rasa_fixes.redis_tracker_store.RedisTrackerStore inside the redacting wrapper, "
        "rasa_fixes.redis_lock_store.AtomicRedisLockStore); its CPU ms/turn includes the Redis "
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
