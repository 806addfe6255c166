"""A turn's messages as the dialogue sent them, read as one channel-neutral `Answer`."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel

from turns.answer import NEXT_KEY, Answer, answer_of


class AnswerCollector(CollectingOutputChannel):
    """Collects one turn's messages with their `next` description (which Rasa passes as a
    keyword argument and its own collector drops); `answer()` reads them as one Answer."""

    def __init__(self, channel: str = "collector") -> None:
        """`channel` is the name the dialogue sees, so `channel:` response variants apply."""
        super().__init__()
        self.channel = channel

    def name(self) -> str:  # type: ignore[override]  # per instance: one class, many channels
        """The output channel's name, as given (e.g. "sms")."""
        return self.channel

    @staticmethod
    def _kept(
        text: str, buttons: Optional[List[Dict[str, Any]]], kwargs: Dict[str, Any]
    ) -> Dict[str, Any]:
        message: Dict[str, Any] = {"text": text}
        if buttons:
            message["buttons"] = list(buttons)
        if kwargs.get(NEXT_KEY) is not None:
            message[NEXT_KEY] = kwargs[NEXT_KEY]
        return message

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Keeps the whole text as one message (Rasa's collector splits it on blank lines)."""
        await self._persist_message(self._kept(text, None, kwargs))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """Keeps the text, its buttons and what comes next."""
        await self._persist_message(self._kept(text, buttons, kwargs))

    def answer(self) -> Answer:
        """The collected messages read as one answer (`turns.answer.answer_of`)."""
        return answer_of(self.messages)
