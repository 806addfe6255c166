"""A feature the product needs, always on: a spoken turn's n-best list chosen in the server.

A spoken channel (speaker, IVR) passes its recogniser's hypotheses on in the message metadata
(`asr_hypotheses`, turns/nbest.py) with the first as the message text, and does nothing else
with them: it cannot know what the dialogue waits for. Rasa 3.6 has no n-best input, so
before a message is logged (`MessageProcessor._handle_message_with_tracker`, which takes a
message's `parse_data` as given when it has one) this parses the first `MAX_PARSED`
hypotheses with the loaded model (`self.parse_message`, so the parse cache and every other
step of a parse apply), reads from the tracker what the active form is asking for
(`active_loop` + `requested_slot`: a phone number, a code, a membership, a yes or no), lets
turns.nbest choose, and logs the chosen reading: its text is the user's text in the tracker,
and its parse data records `"asr": {"chosen": i, "n": k, "confidence": c}` (c: the recogniser's
confidence in the chosen reading, or null).

Not switched by RASA_PATCHES / RASA_PATCHES_DISABLE (a speed switch must not change what the
assistant understands): catalog.ALWAYS_ON. If the upstream code changed, the guard skips it
with a warning like any patch, and the first hypothesis is used as plain text: worse
understanding, no failure. Drop it if Rasa gets an n-best input of its own.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.trackers import DialogueStateTracker

from turns.nbest import ASR_CHOICE, MAX_PARSED, Hypothesis, choose, expectation_for, hypotheses_of

_original = MessageProcessor._handle_message_with_tracker


def reading(message: UserMessage, hypothesis: Hypothesis) -> UserMessage:
    """The message as if the user had said `hypothesis` (same sender, channel and metadata)."""
    return UserMessage(
        hypothesis.text,
        message.output_channel,
        message.sender_id,
        input_channel=message.input_channel,
        message_id=message.message_id,
        metadata=message.metadata,
    )


async def chosen_parse(
    processor: MessageProcessor,
    message: UserMessage,
    tracker: DialogueStateTracker,
    hypotheses: List[Hypothesis],
) -> Tuple[Hypothesis, Dict[str, Any]]:
    """Parses the hypotheses; the one that best answers what the dialogue waits for, and its
    parse with the choice recorded under `asr`."""
    candidates = hypotheses[:MAX_PARSED]
    parses = [await processor.parse_message(reading(message, h), tracker) for h in candidates]
    expect = expectation_for(tracker.active_loop_name, tracker.get_slot(REQUESTED_SLOT))
    pick = choose(candidates, parses, expect)
    parse = parses[pick]
    heard = candidates[pick].confidence  # how sure the recogniser was of these words
    parse[ASR_CHOICE] = {"chosen": pick, "n": len(hypotheses), "confidence": heard}
    return candidates[pick], parse


async def handle_message_with_tracker(
    self: MessageProcessor, message: UserMessage, tracker: DialogueStateTracker
) -> None:
    """`MessageProcessor._handle_message_with_tracker`, choosing among the message's ASR
    hypotheses first when it carries any."""
    hypotheses = hypotheses_of(message.metadata) if not message.parse_data else []
    if hypotheses:
        chosen, message.parse_data = await chosen_parse(self, message, tracker, hypotheses)
        message.text = chosen.text  # the tracker logs the chosen reading as the user's words
    await _original(self, message, tracker)


def apply() -> None:
    """Makes the server choose among a spoken message's hypotheses before logging it."""
    MessageProcessor._handle_message_with_tracker = (  # type: ignore[method-assign]
        handle_message_with_tracker
    )


def switch(env: Mapping[str, str]) -> Tuple[bool, str]:
    """Always on, whatever the environment: said so in the start-up log."""
    return True, "always on"
