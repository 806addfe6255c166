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
from bench.simulator import BEHAVIOURS, Goal, UserSimulator
from bench.speed_plan import (  # noqa: F401  (re-exported: the bench's knobs live there)
    FLOOR_N,
    FLOOR_TEXTS,
    GOALS,
    LEVELS,
    MAX_TURNS,
    MULTI,
    MULTI_WORKERS,
    NO_CACHE,
    PHONES,
    RAMP_S,
    STOCK_REUSE_S,
    TIMEOUT_S,
    TRAININGS,
    WARMUP_S,
    WINDOW_S,
)
from bench.speed_report import describe, plot, section
from core.identity.conversation import namespaced

FLOOR_SENDER = namespaced("rest", "bench-floor")  # the conversation of the direct action calls


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


def post_json(
    url: str, payload: Optional[Dict[str, Any]] = None, headers: Optional[Dict[str, str]] = None
) -> Tuple[float, Any]:
    """One POST (a GET without payload); (seconds, decoded answer)."""
    body = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        url, body, {"Content-Type": "application/json", **(headers or {})}
    )
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
        "sender_id": FLOOR_SENDER,
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
    return {"next_action": action, "sender_id": FLOOR_SENDER, "tracker": tracker, "domain": domain}


def verify_floor_sender(bot: servers.Servers, phone: str = "13800138000") -> None:
    """Opens the store's verified session of the floors' conversation, as a proved code does.

    Slots prove nothing to the actions: without a session the "store read" floor would only
    measure the question for a phone number.
    """
    store = bot.store()
    issue = store.issue_code(phone, FLOOR_SENDER, "rest")
    if issue.status != "issued" or issue.code is None:
        raise RuntimeError(f"the bench store refused a code for the floors: {issue.status}")
    check = store.check_code(phone, issue.code, FLOOR_SENDER, "rest")
    if check.status != "ok":
        raise RuntimeError(f"the floors' code was not accepted: {check.status}")


def floors(bot: servers.Servers, n: int) -> Dict[str, Dict[str, Any]]:
    """NLU parse alone and one action call alone, n sequential calls each after 10 warm-ups."""
    domain = _domain()
    verify_floor_sender(bot)
    verified = {"verified_phone": "138****8000"}  # the masked cache the actions keep
    webhook = f"{bot.action_url}/webhook"
    cases: Dict[str, Tuple[str, Callable[[int], Dict[str, Any]]]] = {
        "NLU parse (/model/parse)": (
            bot.api_url("/model/parse"),
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
        # The action server wants its token, as Rasa sends it; the API's is in the URL.
        headers = bot.action_headers() if url == webhook else {}
        for i in range(10):
            post_json(url, payload(i), headers)
        before = sum(bot.cpu_seconds().values())
        ms = [post_json(url, payload(i), headers)[0] * 1000 for i in range(n)]
        cpu_ms = 1000 * (sum(bot.cpu_seconds().values()) - before) / n
        result[name] = {"n": n, **stats(ms), "cpu_ms": cpu_ms}
    return result


def calls_per_turn(bot: servers.Servers, senders: List[str]) -> Dict[str, float]:
    """Mean predicted actions and action-server calls per user turn, from Rasa's trackers."""
    domain = _domain()
    remote = set(domain.get("actions", [])) | set(domain.get("forms", {}))
    users = actions = calls = 0
    for sender in senders:
        # Our REST channel keeps each sender in its own namespace; stock Rasa's does not.
        conversation = sender if bot.stock else namespaced("rest", sender)
        events = post_json(bot.api_url(f"/conversations/{conversation}/tracker"))[1]["events"]
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
