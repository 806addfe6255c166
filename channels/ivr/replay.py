"""Replays recorded calls through the IVR endpoint and reports each call's outcome, for QA."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from channels.ivr.collect import FLOW_STEPS
from channels.ivr.events import caller_mobile
from core.phone import MOBILE_PATTERN, mask_phone

# Dev/QA only: "{code}" stands for the latest code the dev SMS outbox holds for the call's phone.
_CODE_PLACEHOLDER = re.compile(r"\{code(?::(\d{11}))?\}")
_PHONE = re.compile(rf"(?<!\d){MOBILE_PATTERN}(?!\d)")
_DIGITS_ONLY = re.compile(r"\D")

Post = Callable[[Dict[str, Any]], Tuple[int, Dict[str, Any]]]


class ReplayError(Exception):
    """A replay file that cannot be read, with the line that is wrong."""


@dataclass
class CallReport:
    """One call's outcome: cancelled / handed_off / abandoned / completed_no_cancel / error."""

    call_id: str
    outcome: str = "completed_no_cancel"
    references: List[str] = field(default_factory=list)
    ticket: Optional[str] = None
    step: Optional[str] = None
    turns: int = 0
    error: Optional[str] = None
    transcript: List[Dict[str, Any]] = field(default_factory=list)

    def detail(self) -> str:
        """The one detail a reviewer needs: reference, ticket, step or error."""
        if self.outcome == "cancelled":
            return ", ".join(self.references)
        if self.outcome == "handed_off":
            return self.ticket or ""
        if self.outcome == "abandoned":
            return f"step={self.step}"
        return self.error or ""


def load_calls(lines: Iterable[str]) -> OrderedDict[str, List[Dict[str, Any]]]:
    """Groups a JSONL of events by call_id, keeping each call's order; raises ReplayError."""
    calls: OrderedDict[str, List[Dict[str, Any]]] = OrderedDict()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReplayError(f"line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(event, dict) or not event.get("call_id") or not event.get("type"):
            raise ReplayError(f"line {number}: an event needs call_id and type")
        calls.setdefault(str(event["call_id"]), []).append(event)
    return calls


def latest_code(outbox: Path, phone: str) -> Optional[str]:
    """The verification code last sent to `phone` in the development outbox."""
    from core.sms.outbox import latest_code as outbox_code

    return outbox_code(outbox, phone)


def http_poster(url: str, token: str, timeout: float = 60.0) -> Post:
    """POSTs one event to the IVR webhook; (status, JSON body)."""
    endpoint = url.rstrip("/") + "/webhooks/ivr/webhook"

    def post(event: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
        request = urllib.request.Request(
            endpoint,
            data=json.dumps(event, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read().decode("utf-8"))
            except ValueError:
                return exc.code, {"error": f"http_{exc.code}"}

    return post


def _mask(text: str) -> str:
    """Phone numbers in a caller's input, masked for the report."""
    return _PHONE.sub(lambda m: mask_phone(m.group()), text)


class _Call:
    """Replays one call's events, filling code placeholders from the outbox."""

    def __init__(self, call_id: str, post: Post, outbox: Path) -> None:
        self.report = CallReport(call_id)
        self.post = post
        self.outbox = outbox
        self.phone: Optional[str] = None
        self.closed_by_bot = False

    def _fill(self, value: str) -> str:
        def code(match: re.Match) -> str:
            phone = match.group(1) or self.phone
            found = latest_code(self.outbox, phone) if phone else None
            if not found:
                raise ReplayError(f"call {self.report.call_id}: no code in the outbox for {{code}}")
            return found

        return _CODE_PLACEHOLDER.sub(code, value)

    def _remember_phone(self, event: Dict[str, Any]) -> None:
        said = f"{event.get('text') or ''} {_DIGITS_ONLY.sub('', str(event.get('digits') or ''))}"
        found = _PHONE.findall(said)
        if found:
            self.phone = found[-1]
        elif self.phone is None:
            self.phone = caller_mobile(event.get("ani"))

    def send(self, event: Dict[str, Any]) -> bool:
        """Sends one event; False when the call is over (transferred, closed, or an error)."""
        original = dict(event)
        self._remember_phone(event)
        for key in ("text", "digits"):
            if isinstance(event.get(key), str):
                event[key] = self._fill(event[key])
        status, body = self.post(event)
        self.report.turns += 1
        said = original.get("text", original.get("digits"))
        self.report.transcript.append(
            {
                "caller": {"type": original["type"], **({"input": _mask(said)} if said else {})},
                "bot": body.get("messages", []),
                "action": body.get("action"),
                "step": body.get("step"),
            }
        )
        if status != 200:
            self.report.outcome, self.report.error = "error", body.get("error", str(status))
            return False
        self.report.references += body.get("cancelled", [])
        if body.get("step"):
            self.report.step = body["step"]
        if body.get("action") == "transfer":
            self.report.ticket = (body.get("transfer") or {}).get("ticket")
            return False
        if body.get("action") == "hangup":
            self.closed_by_bot = original["type"] != "hangup"
            return False
        return True

    def finish(self) -> CallReport:
        """Decides the outcome from what happened."""
        report = self.report
        if report.outcome == "error":
            return report
        if report.ticket:
            report.outcome = "handed_off"
        elif report.references:
            report.outcome = "cancelled"
        elif not self.closed_by_bot and report.step in FLOW_STEPS:
            report.outcome = "abandoned"
        else:
            report.outcome = "completed_no_cancel"
        return report


def replay_call(call_id: str, events: List[Dict[str, Any]], post: Post, outbox: Path) -> CallReport:
    """Replays one call; a file that stops without a hang-up is hung up at its end."""
    call = _Call(call_id, post, outbox)
    try:
        going = True
        for event in events:
            going = call.send(dict(event))
            if not going:
                break
        if going and events and events[-1].get("type") != "hangup":
            call.send({"call_id": call_id, "type": "hangup"})
    except ReplayError as exc:
        call.report.outcome, call.report.error = "error", str(exc)
        return call.report
    except (OSError, ValueError) as exc:
        call.report.outcome, call.report.error = "error", f"{type(exc).__name__}: {exc}"
        return call.report
    return call.finish()


def replay_file(path: Path, post: Post, outbox: Path) -> List[CallReport]:
    """Replays every call of a JSONL file, one after another."""
    with Path(path).open(encoding="utf-8") as lines:
        calls = load_calls(lines)
    return [replay_call(call_id, events, post, outbox) for call_id, events in calls.items()]


def summary_table(reports: List[CallReport]) -> str:
    """A plain-text table of the calls and a count per outcome."""
    rows = [("call", "outcome", "detail", "turns")] + [
        (r.call_id, r.outcome, r.detail(), str(r.turns)) for r in reports
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts: Dict[str, int] = {}
    for report in reports:
        counts[report.outcome] = counts.get(report.outcome, 0) + 1
    lines.append("")
    lines.append(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no calls")
    return "\n".join(lines)


def write_reports(reports: List[CallReport], out: Path) -> None:
    """One JSON object per call."""
    with Path(out).open("w", encoding="utf-8") as handle:
        for report in reports:
            handle.write(json.dumps(asdict(report), ensure_ascii=False) + "\n")


def default_outbox() -> Path:
    """The development SMS outbox (SMS_OUTBOX), where the dev gateway writes codes."""
    return Path(os.environ.get("SMS_OUTBOX", "var/sms_outbox.jsonl"))
