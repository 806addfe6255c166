"""The development stand-in for the 支付宝 and 微信 agreement-cancellation interfaces."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from core.partners.base import PartnerError, PartnerTimeout

CHANNELS = ("alipay", "wechat")
MODES = ("ok", "fail", "timeout")
_CHANNEL_NAMES = {"alipay": "支付宝", "wechat": "微信"}

PathLike = Union[str, os.PathLike[str]]


def ledger_path(control_path: PathLike) -> Path:
    """The sidecar next to the control file where confirmed cancellations are remembered."""
    control = Path(control_path)
    return control.with_name(f"{control.stem}.confirmations.jsonl")


def set_partner_mode(
    control_path: PathLike,
    mode: str,
    channels: Optional[Sequence[str]] = None,
    delay_seconds: float = 0.0,
) -> None:
    """Tells every SimulatedPartner on `control_path` how to behave from its next call on."""
    control: dict[str, Any] = {"mode": mode, "delay_seconds": delay_seconds}
    if channels is not None:
        control["channels"] = list(channels)
    _check_control(control, Path(control_path))
    path = Path(control_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a partner reading concurrently sees the old or the new file whole.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(control, handle)
        os.replace(tmp, path)
    finally:
        # Only left behind when writing or renaming failed.
        Path(tmp).unlink(missing_ok=True)


def read_confirmations(control_path: PathLike) -> list[dict]:
    """Every cancellation the simulated partners confirmed, oldest first."""
    try:
        with open(ledger_path(control_path), encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            content = handle.read()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def _check_control(control: Any, path: Path) -> dict[str, Any]:
    if not isinstance(control, dict):
        raise ValueError(f"partner control file {path} must hold a JSON object")
    mode = control.get("mode", "ok")
    if mode not in MODES:
        raise ValueError(f"partner control file {path}: mode must be one of {MODES}, got {mode!r}")
    channels = control.get("channels")
    if channels is not None and (
        not isinstance(channels, list) or any(channel not in CHANNELS for channel in channels)
    ):
        raise ValueError(f"partner control file {path}: channels must be a list from {CHANNELS}")
    delay = control.get("delay_seconds", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise ValueError(f"partner control file {path}: delay_seconds must be a number >= 0")
    return {"mode": mode, "channels": channels, "delay_seconds": float(delay)}


def _confirmation_id(channel: str, idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:16].upper()
    return f"SIM-{channel.upper()}-{digest}"


class SimulatedPartner:
    """Simulates the 支付宝/微信 cancellation interfaces; a control file makes it succeed,
    refuse or time out, so the demo and the tests can exercise every outcome.

    The control file ({"mode": "ok"|"fail"|"timeout", "channels": [...], "delay_seconds": n})
    is read at every call; a missing file means {"mode": "ok"}. "channels", when present,
    limits the mode to those channels (the others answer ok). A delay longer than
    `timeout_seconds` ends in PartnerTimeout whatever the mode, as a real client would give up.
    Confirmations are remembered per idempotency key, in memory and in a sidecar file next to
    the control file, so a repeated call returns the first confirmation instead of cancelling
    again, in any process.
    """

    def __init__(self, control_path: PathLike, timeout_seconds: float) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self.control_path = Path(control_path)
        self.timeout_seconds = timeout_seconds
        self._confirmed: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def cancel_agreement(self, *, channel: str, agreement_id: str, idempotency_key: str) -> str:
        """Cancels the agreement as the control file says; returns the confirmation id."""
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
        if not isinstance(agreement_id, str) or not agreement_id.strip():
            raise ValueError("agreement_id is empty")
        if not isinstance(idempotency_key, str) or not idempotency_key.strip():
            raise ValueError("idempotency_key is empty")
        control = self._read_control()
        applies = control["channels"] is None or channel in control["channels"]
        mode = control["mode"] if applies else "ok"
        delay = control["delay_seconds"] if applies else 0.0
        name = _CHANNEL_NAMES[channel]

        if mode == "timeout" or delay > self.timeout_seconds:
            time.sleep(min(delay, self.timeout_seconds))
            if mode == "ok":
                # The partner did cancel, only its answer came too late: the state is
                # "unknown" to the caller, and a retry with the same key confirms it.
                self._confirm(channel, agreement_id, idempotency_key)
            raise PartnerTimeout(
                f"{name} ({channel}) did not answer within {self.timeout_seconds:g} s "
                "(simulated); the agreement's state is unknown"
            )
        time.sleep(delay)
        if mode == "fail":
            raise PartnerError(
                f"partner refused: {name} ({channel}) rejected cancelling agreement "
                f"{agreement_id} (simulated failure)"
            )
        return self._confirm(channel, agreement_id, idempotency_key)

    def _read_control(self) -> dict[str, Any]:
        try:
            raw = self.control_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"mode": "ok", "channels": None, "delay_seconds": 0.0}
        try:
            control = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"partner control file {self.control_path} is not JSON") from exc
        return _check_control(control, self.control_path)

    def _confirm(self, channel: str, agreement_id: str, idempotency_key: str) -> str:
        with self._lock:
            record = self._confirmed.get(idempotency_key)
            if record is None:
                record = self._confirm_in_ledger(channel, agreement_id, idempotency_key)
                self._confirmed[idempotency_key] = record
        if record["channel"] != channel or record["agreement_id"] != agreement_id:
            # Same rule as real payment APIs: a key names one request, never another one.
            raise ValueError(
                f"idempotency key {idempotency_key!r} was already used for another agreement"
            )
        return record["confirmation_id"]

    def _confirm_in_ledger(
        self, channel: str, agreement_id: str, idempotency_key: str
    ) -> dict[str, str]:
        path = ledger_path(self.control_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # One exclusive lock around look-up and append: two processes confirming the
            # same key at once must not both record a cancellation.
            fcntl.flock(fd, fcntl.LOCK_EX)
            for record in _ledger_records(fd):
                if record.get("idempotency_key") == idempotency_key:
                    return record
            record = {
                "idempotency_key": idempotency_key,
                "channel": channel,
                "agreement_id": agreement_id,
                "confirmation_id": _confirmation_id(channel, idempotency_key),
                "confirmed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            return record
        finally:
            os.close(fd)


def _ledger_records(fd: int) -> list[dict]:
    chunks = []
    offset = 0
    while chunk := os.pread(fd, 65536, offset):
        chunks.append(chunk)
        offset += len(chunk)
    text = b"".join(chunks).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]
