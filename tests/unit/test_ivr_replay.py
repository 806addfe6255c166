"""The call replay: reading call files, filling codes, deciding outcomes, the report and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from channels.ivr.__main__ import main
from channels.ivr.replay import (
    CallReport,
    ReplayError,
    load_calls,
    replay_call,
    summary_table,
    write_reports,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ivr_calls"


class FakePlatform:
    """Answers each event with the next scripted body; records what was sent."""

    def __init__(self, bodies: List[Dict[str, Any]], status: int = 200) -> None:
        self.bodies = list(bodies)
        self.status = status
        self.sent: List[Dict[str, Any]] = []

    def __call__(self, event: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
        self.sent.append(event)
        if event["type"] == "hangup":
            return 200, {"action": "hangup", "ended": True, "step": self.bodies[0]["step"]}
        body = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        return self.status, body


def collect(step: str, **extra: Any) -> Dict[str, Any]:
    return {"action": "collect", "step": step, "messages": [f"at {step}"], **extra}


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    """A development outbox holding one code for 13800138000 and one for 13900139000."""
    path = tmp_path / "outbox.jsonl"
    lines = [
        {"to": "13800138000", "text": "【退订助手】您的验证码是 111111", "sent_at": "x"},
        {"to": "13900139000", "text": "【退订助手】您的验证码是 222222", "sent_at": "x"},
        {"to": "13800138000", "text": "【退订助手】您的验证码是 654321", "sent_at": "x"},
    ]
    path.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in lines))
    return path


def test_calls_are_grouped_in_order_even_when_interleaved() -> None:
    """Two calls' events mixed in one file come out per call, each in its own order."""
    lines = [
        '{"call_id": "a", "type": "start"}',
        '{"call_id": "b", "type": "start"}',
        "",
        "// a comment line",
        '{"call_id": "a", "type": "hangup"}',
    ]
    calls = load_calls(lines)
    assert list(calls) == ["a", "b"]
    assert [e["type"] for e in calls["a"]] == ["start", "hangup"]


@pytest.mark.parametrize("line", ["{oops", '{"type": "start"}', "[1]", '{"call_id": "a"}'])
def test_a_bad_line_is_named(line: str) -> None:
    """A broken replay file says which line is wrong."""
    with pytest.raises(ReplayError, match="line 2"):
        load_calls(['{"call_id": "a", "type": "start"}', line])


def test_code_placeholder_is_filled_from_the_outbox_for_the_phone_keyed_in(outbox: Path) -> None:
    """{code} is the latest code sent to the phone this call gave; {code:PHONE} names it."""
    platform = FakePlatform([collect("phone"), collect("code"), collect("confirm")])
    events = [
        {"call_id": "c", "type": "dtmf", "digits": "13800138000#"},
        {"call_id": "c", "type": "dtmf", "digits": "{code}#"},
        {"call_id": "c", "type": "speech", "text": "验证码{code:13900139000}"},
    ]
    report = replay_call("c", events, platform, outbox)
    assert platform.sent[1]["digits"] == "654321#"
    assert platform.sent[2]["text"] == "验证码222222"
    text = json.dumps(report.transcript, ensure_ascii=False)
    assert "654321" not in text and "222222" not in text and "13800138000" not in text
    assert "138****8000" in text


def test_caller_number_is_used_for_the_code_when_no_phone_was_said(outbox: Path) -> None:
    """With ANI pre-fill the caller never says the phone: the ANI's mobile fills {code}."""
    platform = FakePlatform([collect("code"), collect("confirm")])
    events = [
        {"call_id": "c", "type": "start", "ani": "+86 139 0013 9000"},
        {"call_id": "c", "type": "dtmf", "digits": "{code}#"},
    ]
    replay_call("c", events, platform, outbox)
    assert platform.sent[1]["digits"] == "222222#"


def test_missing_code_is_an_error_outcome(outbox: Path) -> None:
    """No code for that phone: the call's outcome is error, saying why."""
    platform = FakePlatform([collect("code")])
    events = [
        {"call_id": "c", "type": "dtmf", "digits": "13700137000#"},
        {"call_id": "c", "type": "dtmf", "digits": "{code}#"},
    ]
    report = replay_call("c", events, platform, outbox)
    assert report.outcome == "error" and "{code}" in report.error


def test_cancelled_with_reference(outbox: Path) -> None:
    """A reply carrying a cancellation reference makes the call `cancelled`."""
    platform = FakePlatform(
        [collect("confirm"), collect("reason", cancelled=["TD202611263GTHC8"]), collect("another")]
    )
    events = [{"call_id": "c", "type": "speech", "text": t} for t in ("x", "确认取消", "跳过")]
    events.append({"call_id": "c", "type": "hangup"})
    report = replay_call("c", events, platform, outbox)
    assert (report.outcome, report.references) == ("cancelled", ["TD202611263GTHC8"])
    assert report.detail() == "TD202611263GTHC8"


def test_transfer_is_handed_off_and_stops_the_call(outbox: Path) -> None:
    """A transfer ends the replay of that call; its ticket is the detail."""
    transfer = {
        "action": "transfer",
        "step": "handoff",
        "transfer": {"queue": "q", "ticket": "RG20261126YFZ7VY"},
    }
    platform = FakePlatform([collect("phone"), transfer])
    events = [
        {"call_id": "c", "type": "start"},
        {"call_id": "c", "type": "dtmf", "digits": "0"},
        {"call_id": "c", "type": "speech", "text": "never sent"},
    ]
    report = replay_call("c", events, platform, outbox)
    assert (report.outcome, report.ticket, report.turns) == ("handed_off", "RG20261126YFZ7VY", 2)


def test_hang_up_mid_flow_is_abandoned_at_that_step(outbox: Path) -> None:
    """Hanging up while the code is asked: abandoned, step=code."""
    platform = FakePlatform([collect("phone"), collect("code")])
    events = [
        {"call_id": "c", "type": "speech", "text": "取消绿钻"},
        {"call_id": "c", "type": "dtmf", "digits": "13800138000#"},
        {"call_id": "c", "type": "hangup"},
    ]
    report = replay_call("c", events, platform, outbox)
    assert (report.outcome, report.step, report.detail()) == ("abandoned", "code", "step=code")


def test_a_file_that_just_stops_is_hung_up_for_it(outbox: Path) -> None:
    """No hangup event at the end: the replay sends one so the conversation ends."""
    platform = FakePlatform([collect("confirm")])
    report = replay_call("c", [{"call_id": "c", "type": "speech", "text": "x"}], platform, outbox)
    assert platform.sent[-1] == {"call_id": "c", "type": "hangup"}
    assert (report.outcome, report.step) == ("abandoned", "confirm")


def test_bot_closing_without_cancel_is_completed_no_cancel(outbox: Path) -> None:
    """The bot said goodbye (hangup action) and nothing was cancelled."""
    bye = {"action": "hangup", "step": "ended", "messages": ["再见"]}
    platform = FakePlatform([collect("confirm"), bye])
    events = [{"call_id": "c", "type": "speech", "text": t} for t in ("x", "先不取消", "再见")]
    report = replay_call("c", events, platform, outbox)
    assert report.outcome == "completed_no_cancel"


def test_http_error_is_an_error_outcome(outbox: Path) -> None:
    """A 401 from the endpoint (wrong token) is reported, not hidden."""
    platform = FakePlatform([{"error": "unauthorized", "message": "…"}], status=401)
    report = replay_call("c", [{"call_id": "c", "type": "start"}], platform, outbox)
    assert (report.outcome, report.error) == ("error", "unauthorized")


def test_summary_table_and_report_file(tmp_path: Path) -> None:
    """One row per call with its detail, a count per outcome, one JSON line per call."""
    reports = [
        CallReport("a", "cancelled", references=["TD202611263GTHC8"], turns=7),
        CallReport("b", "abandoned", step="code", turns=4),
        CallReport("c", "handed_off", ticket="RG20261126YFZ7VY", turns=3),
    ]
    table = summary_table(reports)
    assert "TD202611263GTHC8" in table and "step=code" in table and "RG20261126YFZ7VY" in table
    assert table.splitlines()[-1] == "abandoned: 1, cancelled: 1, handed_off: 1"
    out = tmp_path / "report.jsonl"
    write_reports(reports, out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["outcome"] for r in rows] == ["cancelled", "abandoned", "handed_off"]


def test_cli_refuses_a_missing_or_broken_file(tmp_path: Path, capsys) -> None:
    """Exit 2 with a readable message; no traceback."""
    assert main(["replay", str(tmp_path / "nope.jsonl")]) == 2
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    assert main(["replay", str(broken)]) == 2
    assert "line 1" in capsys.readouterr().err


def test_every_fixture_call_file_is_well_formed() -> None:
    """The recorded calls used by the end-to-end tests parse, and each ends or is ended."""
    files = sorted(FIXTURES.glob("*.jsonl"))
    assert len(files) >= 6
    for path in files:
        calls = load_calls(path.read_text(encoding="utf-8").splitlines())
        assert calls, path.name
        for events in calls.values():
            assert events[0]["type"] == "start", path.name
