"""The development SMS gateway: every message becomes one JSON line in an outbox file."""

from __future__ import annotations

import fcntl
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Callable, Optional, Union

from core.clock import utc_now
from core.sms.base import SmsError
from core.sms.validation import check_message, mask_number

# A run of exactly six digits: longer runs (dates in reference numbers) are not codes.
_CODE_RUN = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")

PathLike = Union[str, os.PathLike[str]]


class OutboxSmsGateway:
    """Appends each message to a JSON Lines file that tests, tools and the demo can read."""

    def __init__(self, path: PathLike, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = Path(path)
        self._clock = clock

    def send(self, to: str, text: str) -> None:
        """Appends {"to", "text", "sent_at"} as one line; raises SmsError on failure."""
        check_message(to, text)
        sent_at = self._clock()
        if sent_at.tzinfo is None:
            raise ValueError("the outbox clock must return timezone-aware datetimes")
        record = {"to": to, "text": text, "sent_at": sent_at.isoformat(timespec="milliseconds")}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _append_line(self.path, line)
        except OSError as exc:
            raise SmsError(
                f"could not write the SMS to {mask_number(to)} to the outbox {self.path}: "
                f"{exc.strerror or exc}"
            ) from exc


def _append_line(path: Path, line: bytes) -> None:
    # O_APPEND puts every write at the current end of file, and the exclusive lock keeps
    # several processes (action server, tests, tools) from interleaving one line's bytes.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(line)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        # Closing the descriptor also releases the lock.
        os.close(fd)


def read_outbox(path: PathLike) -> list[dict]:
    """Returns every message in the outbox, oldest first ([] when there is no outbox yet)."""
    try:
        with open(path, encoding="utf-8") as handle:
            # A shared lock waits for a writer to finish its line, so none is read half-done.
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            content = handle.read()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def find_code(text: str) -> Optional[str]:
    """Returns the verification code in `text`: its only run of exactly six digits."""
    runs = _CODE_RUN.findall(text)
    return runs[0] if len(runs) == 1 else None


def latest_code(path: PathLike, to: str) -> Optional[str]:
    """Returns the code of the newest message to `to` that carries one, or None."""
    # File order, not sent_at, decides "newest": it is the order the appends happened in.
    for record in reversed(read_outbox(path)):
        if record.get("to") == to:
            code = find_code(record.get("text", ""))
            if code is not None:
                return code
    return None
