"""What the speed benchmark runs: levels, windows, bots and the bench accounts."""

from __future__ import annotations

from bench.simulator import DEMO_GOALS

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
