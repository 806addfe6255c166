"""Log records without phone numbers or codes, whichever logger or handler they go through.

A record factory rather than a handler filter: Rasa, Sanic, rasa_sdk and structlog each set
up their own handlers at different times, but every record of every logger is made by the
one factory, so installing it once per process covers them all.
"""

from __future__ import annotations

import logging
from typing import Any

from redaction.text import redact_text, redact_value

_installed = False


class RedactingFilter(logging.Filter):
    """The same rule as a handler filter, for logging config files (dictConfig)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrites the record's message; never drops a record."""
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Replaces the message (and its arguments) with the redacted text."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is logging's problem to report, not ours
        return record
    redacted = redact_text(message)
    if redacted != message:
        record.msg = redacted
        record.args = ()
    if record.exc_info and not record.exc_text:
        # Tracebacks carry the exception message, which may quote user input.
        record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
    return record


def install() -> None:
    """Makes every log record of this process redacted from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _redact_structlog()
    _installed = True


def redact_event_dict(_logger: Any, _method: str, event_dict: dict) -> dict:
    """A structlog processor: every value redacted before it is rendered (JSON escapes
    Chinese digits, so the record factory alone would miss spoken numbers)."""
    return {key: redact_value(value) for key, value in event_dict.items()}


def _redact_structlog() -> None:
    try:
        import structlog
    except ImportError:  # the action server does not need it
        return
    processors = list(structlog.get_config()["processors"])
    if redact_event_dict not in processors:
        structlog.configure(processors=[redact_event_dict, *processors])
