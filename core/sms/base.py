"""The interface every SMS gateway implements (dev outbox file, HTTP provider)."""

from __future__ import annotations

from typing import Protocol


class SmsError(Exception):
    """The message could not be handed to the gateway."""


class SmsGateway(Protocol):
    """Sends one text message to one mobile number."""

    def send(self, to: str, text: str) -> None:
        """Sends `text` to the 11-digit number `to`; raises SmsError on failure."""
        ...
