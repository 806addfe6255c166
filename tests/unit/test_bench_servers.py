"""bench.servers: a multi-worker server's CPU and memory are read over its whole process tree;
the bench's variants are started by stack/launch.py like every other start."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import servers

# A parent that starts two busy children, as `rasa run` with SANIC_WORKERS=2 does.
PARENT = """
import subprocess, sys, time
kids = [subprocess.Popen([sys.executable, "-c", "import time\\nt=time.process_time()\\n"
        "while time.process_time() - t < 0.4: pass\\ntime.sleep(60)"]) for _ in range(2)]
print(" ".join(str(k.pid) for k in kids), flush=True)
time.sleep(60)
"""


def test_process_tree_and_cpu_cover_the_children() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    kids: list = []
    try:
        kids = [int(p) for p in parent.stdout.readline().split()]
        tree = servers.process_tree(parent.pid)
        assert tree[0] == parent.pid and set(kids) <= set(tree)
        deadline = time.monotonic() + 20
        # Each child burns 0.4 s of CPU; the parent alone burns almost none.
        while sum(servers._cpu_seconds(p) for p in tree) < 0.75:  # noqa: SLF001
            assert time.monotonic() < deadline, "children's CPU time never showed"
            time.sleep(0.1)
        assert servers._cpu_seconds(parent.pid) < 0.5  # noqa: SLF001
    finally:
        parent.kill()
        parent.wait()
        for kid in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(kid, 9)


def test_process_tree_of_a_gone_process_is_just_itself() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert servers.process_tree(gone.pid) == [gone.pid]


def test_repeated_training_reports_the_median_and_every_run(monkeypatch) -> None:
    times = iter([100.0, 160.0, 95.0, 120.0])

    def train(config: object, name: str) -> servers.TrainResult:
        return servers.TrainResult(servers.ROOT / f"{name}.tar.gz", next(times), 1, 1, 0.0)

    monkeypatch.setattr(servers, "train", train)
    three = servers.trained_repeatedly(servers.SHIPPED_CONFIG, "shipped", 3)
    assert three.seconds == 100.0 and three.runs_s == (100.0, 160.0, 95.0)
    one = servers.trained_repeatedly(servers.SHIPPED_CONFIG, "shipped", 1)
    assert one.seconds == 120.0 and one.runs_s == (120.0,)


def test_redis_reachable_says_whether_the_multi_worker_bench_can_run(
    redis_prefix: str, monkeypatch
) -> None:
    assert servers.redis_reachable()
    monkeypatch.setattr(servers, "HOST", "127.0.0.2")  # nothing listens there
    assert not servers.redis_reachable()


def test_the_stock_bot_is_rasa_as_shipped_with_the_baseline_credentials(tmp_path: Path) -> None:
    bot = servers.Servers(Path("stock.tar.gz"), tmp_path, stock=True)
    command = bot.stack.rasa[0].command
    assert command[command.index("--credentials") + 1] == str(servers.STOCK_CREDENTIALS)
    assert command[command.index("--model") + 1] == "stock.tar.gz" and "env" not in command
    assert "nlg:" not in (tmp_path / "endpoints.yml").read_text()
    # No server outlives the bench; no resend limits for the simulated users.
    assert all(server.tied for server in bot.stack.servers)
    assert bot.env["RESEND_INTERVAL_SECONDS"] == "0" and bot.env["RASA_API_TOKEN"]
    assert bot.url == bot.stack.url and bot.action_url == bot.stack.action_url


def test_the_multi_worker_bot_shares_redis_trackers_and_locks(tmp_path: Path) -> None:
    bot = servers.Servers(Path("shipped.tar.gz"), tmp_path, workers=2)
    endpoints = (tmp_path / "endpoints.yml").read_text()
    assert bot.env["SANIC_WORKERS"] == "2" and "lock_store:" in endpoints
    assert "rasa_plugins.answer_nlg.AnswerGenerator" in endpoints
