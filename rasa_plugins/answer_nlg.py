"""Rasa's response generator, plus what comes next: every message made from a response carries
the channel-neutral `next` description (turns/answer.py) that channels render.

Named in endpoints.yml (`nlg: type: rasa_plugins.answer_nlg.AnswerGenerator`). Every bot
message passes through `generate`, the domain's own utter actions and the action server's
responses alike (Rasa hands an action's buttons and variables in as keyword arguments).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from turns.answer import NEXT_KEY, describe


class AnswerGenerator(TemplatedNaturalLanguageGenerator):
    """The domain's responses (Rasa's templated generator) with a `next` description.

    A subclass, so the agent keeps its responses in step with a reloaded domain as it does
    for its own generator.
    """

    def __init__(
        self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None
    ) -> None:
        """Rasa builds it from the `nlg` endpoint with the loaded domain."""
        super().__init__((domain or Domain.empty()).responses)

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> Optional[Dict[str, Any]]:
        """The response's message for this channel, with what it expects next."""
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message is None:
            return None
        buttons = list(message.get("buttons") or []) + list(kwargs.get("buttons") or [])
        message[NEXT_KEY] = describe(utter_action, buttons, kwargs)
        return message
