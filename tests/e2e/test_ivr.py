"""Recorded phone calls replayed through the IVR webhook against the real bot and store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.ivr import DEV_TOKEN
from channels.ivr.replay import CallReport, http_poster, replay_call, replay_file
from core.store.references import is_valid_reference
from tests.e2e.bot import ROOT, Bot

pytestmark = pytest.mark.e2e

CALLS = ROOT / "tests" / "fixtures" / "ivr_calls"
ZHANG, LI, ZHAO = "13800138000", "13900139000", "13600136000"
PHONES = (ZHANG, LI, "13700137000", ZHAO)
TICKET = re.compile(r"^RG\d{8}[0-9A-HJKMNP-TV-Z]{6}$")


def token(bot: Bot) -> str:
    """The shared secret the running server expects."""
    return bot.env.get("IVR_TOKEN") or DEV_TOKEN


def post(bot: Bot, raw: bytes, secret: str = "") -> Tuple[int, Dict[str, Any]]:
    """POSTs raw bytes to the IVR webhook; (status, parsed JSON body)."""
    request = urllib.request.Request(
        f"{bot.url}/webhooks/ivr/webhook",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {secret or token(bot)}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode("utf-8"))


def replay(bot: Bot, name: str) -> Dict[str, CallReport]:
    """Replays one call file; the report of each call by id."""
    reports = replay_file(CALLS / name, http_poster(bot.url, token(bot)), bot.settings.sms_outbox)
    return {r.call_id: r for r in reports}


def status_of(bot: Bot, phone: str, product: str) -> str:
    """The store's status of a holder's membership."""
    return next(s.status for s in bot.store.subscriptions(phone) if s.product_name == product)


def store_state(bot: Bot) -> List[Tuple[Any, str]]:
    """Every subscription's status: what an abandoned call must not change."""
    return [(s.id, s.status) for p in PHONES for s in bot.store.subscriptions(p)]


def bot_said(report: CallReport) -> str:
    """Everything the bot said in one call."""
    return "\n".join(text for turn in report.transcript for text in turn["bot"])


def codes_sent(bot: Bot, phone: str) -> List[str]:
    """The 6-digit codes sent to `phone`."""
    return [
        m
        for sms in bot.outbox()
        if sms["to"] == phone
        for m in re.findall(r"(?<!\d)\d{6}(?!\d)", sms["text"])
    ]


def assert_cancelled_over_ivr(bot: Bot, reference: str, phone: str, product: str) -> None:
    """The store has the cancellation, made on the ivr channel, and a receipt went out."""
    assert is_valid_reference(reference)
    cancellation = bot.store.cancellation(reference)
    assert cancellation.product_name == product
    assert cancellation.channel == "ivr"
    assert status_of(bot, phone, product) == "cancelled"
    assert [m for m in bot.outbox() if m["to"] == phone and reference in m["text"]]


def test_speech_call_cancels_and_the_store_says_ivr(fresh: Bot) -> None:
    """Spoken end to end (phone as 幺三八…, code as words): one cancellation, channel ivr."""
    report = replay(fresh, "speech_cancel.jsonl")["sp-0001"]
    assert report.outcome == "cancelled", report.transcript
    assert len(report.references) == 1
    assert_cancelled_over_ivr(fresh, report.references[0], ZHANG, "腾讯视频VIP")
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "active"
    said = bot_said(report)
    assert "138****8000" in said and ZHANG not in said
    assert not any(code in said for code in codes_sent(fresh, ZHANG)), "a code was echoed"
    assert fresh.store.cancellation(report.references[0]).reason == "不怎么看了"
    assert report.transcript[-1]["action"] == "hangup", "the goodbye ends the call"


def test_dtmf_call_picks_from_the_list_by_key(fresh: Bot) -> None:
    """Keys only after the first sentence: phone#, code#, 1 (first listed), 1 (confirm), #, 2."""
    report = replay(fresh, "dtmf_cancel.jsonl")["dt-0001"]
    assert report.outcome == "cancelled", report.transcript
    listed = next(t for t in report.transcript if t["step"] == "identify_membership")
    first = re.search(r"1\. (\S+?)（", "\n".join(listed["bot"])).group(1)
    other = ({"QQ音乐绿钻", "腾讯视频VIP"} - {first}).pop()
    assert_cancelled_over_ivr(fresh, report.references[0], ZHANG, first)
    assert status_of(fresh, ZHANG, other) == "active"
    steps = [t["step"] for t in report.transcript]
    assert steps == [
        "greeting",
        "phone",
        "code",
        "identify_membership",
        "confirm",
        "reason",
        "another",
        "ended",
    ]


def test_hang_up_at_the_code_step_changes_nothing(fresh: Bot) -> None:
    """The caller hangs up after the code was sent: abandoned at `code`, store untouched."""
    before = store_state(fresh)
    report = replay(fresh, "hangup_at_code.jsonl")["hu-0001"]
    assert (report.outcome, report.step) == ("abandoned", "code")
    assert store_state(fresh) == before
    assert codes_sent(fresh, ZHANG), "the code had been sent"
    assert not [m for m in fresh.outbox() if "凭证号" in m["text"] or "TD20" in m["text"]]
    with urllib.request.urlopen(fresh.api_url("/conversations/ivr:hu-0001/tracker")) as response:
        tracker = json.loads(response.read().decode("utf-8"))
    assert tracker["slots"].get("verified_phone") is None
    assert tracker["active_loop"] in ({}, None) or not tracker["active_loop"].get("name")


def test_zero_transfers_to_a_human_with_the_ticket(fresh: Bot) -> None:
    """0 while the code is asked: a handoff ticket (channel ivr) and a transfer to the queue."""
    before = store_state(fresh)
    report = replay(fresh, "human_transfer.jsonl")["hm-0001"]
    assert report.outcome == "handed_off", report.transcript
    assert TICKET.match(report.ticket)
    transfer = report.transcript[-1]
    assert transfer["action"] == "transfer" and report.ticket in bot_said(report)
    ticket = fresh.store.handoff_ticket(report.ticket)
    assert ticket.channel == "ivr"
    assert LI not in ticket.summary
    assert store_state(fresh) == before


def test_low_confidence_never_confirms(fresh: Bot) -> None:
    """A 0.31 '确认取消' is asked again; hanging up then cancels nothing, pressing 1 does."""
    reports = replay(fresh, "low_confidence.jsonl")
    unsure = reports["lc-0001"]
    assert (unsure.outcome, unsure.step) == ("abandoned", "confirm")
    assert "没有听清楚" in unsure.transcript[-2]["bot"][0]
    assert status_of(fresh, LI, "爱奇艺黄金VIP") == "active"
    pressed = reports["lc-0002"]
    assert pressed.outcome == "cancelled"
    assert_cancelled_over_ivr(fresh, pressed.references[0], ZHANG, "腾讯视频VIP")


def test_caller_number_prefills_the_phone_but_the_code_is_still_required(fresh: Bot) -> None:
    """ANI +86 136…: the bot sends the code to that number without asking; the code is keyed."""
    report = replay(fresh, "ani_prefill.jsonl")["ani-0001"]
    assert codes_sent(fresh, ZHAO), "the code went to the caller's number"
    assert report.outcome == "cancelled", report.transcript
    assert_cancelled_over_ivr(fresh, report.references[0], ZHAO, "网易云音乐黑胶VIP")
    assert "手机号码（11位）" not in bot_said(report), "the phone was not asked"
    steps = [t["step"] for t in report.transcript]
    assert steps[:3] == ["greeting", "code", "confirm"], "the caller keys the code next"


def test_caller_number_alone_cancels_nothing(fresh: Bot) -> None:
    """Calling from the holder's number is not proof: keys instead of the code change nothing."""
    before = store_state(fresh)
    ani = "+8613600136000"
    events = [
        {"call_id": "ani-nocode", "type": "start", "ani": ani},
        {"call_id": "ani-nocode", "type": "speech", "text": "网易云音乐的会员帮我退了", "ani": ani},
        {"call_id": "ani-nocode", "type": "dtmf", "digits": "1", "ani": ani},
        {"call_id": "ani-nocode", "type": "speech", "text": "确认取消", "ani": ani},
        {"call_id": "ani-nocode", "type": "hangup", "ani": ani},
    ]
    post_event = http_poster(fresh.url, token(fresh))
    report = replay_call("ani-nocode", events, post_event, fresh.settings.sms_outbox)
    assert (report.outcome, report.step) == ("abandoned", "code"), report.transcript
    assert store_state(fresh) == before


def test_two_at_the_confirmation_goes_back_and_changes_nothing(fresh: Bot) -> None:
    """Key 2 when asked to confirm: nothing cancelled, the caller hears so."""
    before = store_state(fresh)
    events = [
        {"call_id": "back-1", "type": "start", "ani": "010-8555-1234"},
        {"call_id": "back-1", "type": "speech", "text": "取消QQ音乐绿钻", "confidence": 0.9},
        {"call_id": "back-1", "type": "dtmf", "digits": f"{ZHANG}#"},
        {"call_id": "back-1", "type": "dtmf", "digits": "{code}#"},
        {"call_id": "back-1", "type": "dtmf", "digits": "2"},
        {"call_id": "back-1", "type": "hangup"},
    ]
    post_event = http_poster(fresh.url, token(fresh))
    report = replay_call("back-1", events, post_event, fresh.settings.sms_outbox)
    assert report.outcome == "completed_no_cancel", report.transcript
    assert "没有取消" in "".join(report.transcript[-2]["bot"])
    assert store_state(fresh) == before


def test_replay_command_writes_report_and_table(fresh: Bot, tmp_path: Path) -> None:
    """`python -m channels.ivr replay FILE --url --out`: the table on stdout, one JSON per call."""
    out = tmp_path / "report.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "channels.ivr",
            "replay",
            str(CALLS / "human_transfer.jsonl"),
            "--url",
            fresh.url,
            "--token",
            token(fresh),
            "--out",
            str(out),
            "--outbox",
            str(fresh.settings.sms_outbox),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"hm-0001\s+handed_off\s+RG\d{8}", result.stdout)
    assert result.stdout.strip().endswith("handed_off: 1")
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["outcome"] == "handed_off" and TICKET.match(row["ticket"])
    assert LI not in out.read_text(encoding="utf-8"), "the report masks phone numbers"


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_utf8"),
        (b'{"type": "start"}', 400, "missing_call_id"),
        (b'{"call_id": "x y", "type": "start"}', 400, "invalid_call_id"),
        (b'{"call_id": "c1", "type": "ringing"}', 400, "invalid_type"),
        (b'{"call_id": "c1", "type": "speech", "text": 5}', 400, "invalid_text"),
        (
            b'{"call_id": "c1", "type": "speech", "text": "x", "confidence": 7}',
            400,
            "invalid_confidence",
        ),
        (b'{"call_id": "c1", "type": "dtmf", "digits": "12ab"}', 400, "invalid_digits"),
        (
            b'{"call_id": "c1", "type": "start", "x": "' + b"a" * 20000 + b'"}',
            413,
            "body_too_large",
        ),
    ],
)
def test_malformed_events_get_json_errors(bot: Bot, raw: bytes, status: int, code: str) -> None:
    """Each malformed event gets its 4xx JSON error with a Chinese message."""
    got_status, body = post(bot, raw)
    assert (got_status, body["error"]) == (status, code)
    assert re.search(r"[\u4e00-\u9fff]", body["message"])


def test_wrong_secret_is_401_and_reaches_nothing(fresh: Bot) -> None:
    """A wrong shared secret: 401 JSON, no conversation, no code sent."""
    event = {"call_id": "intruder", "type": "speech", "text": ZHANG, "confidence": 0.9}
    status, body = post(fresh, json.dumps(event).encode(), secret="not-the-secret")
    assert (status, body["error"]) == (401, "unauthorized")
    assert not fresh.outbox()


_FIELD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "call_id": st.one_of(_FIELD, st.from_regex(r"prop-[a-z0-9]{1,6}", fullmatch=True)),
            "type": st.one_of(_FIELD, st.sampled_from(["start", "speech", "dtmf", "hangup"])),
            "text": _FIELD,
            "confidence": _FIELD,
            "digits": st.one_of(_FIELD, st.from_regex(r"[0-9*#]{0,12}", fullmatch=True)),
            "ani": _FIELD,
        },
    )
)
def test_any_event_gets_2xx_or_4xx_json_from_the_server(bot: Bot, event: dict) -> None:
    """Whatever the platform sends, the running server answers JSON, 200 or 4xx, never 5xx."""
    status, body = post(bot, json.dumps(event).encode("utf-8"))
    assert status == 200 or 400 <= status < 500, body
    if status == 200:
        assert body["action"] in ("collect", "transfer", "hangup")
    else:
        assert body["error"] and body["message"]
