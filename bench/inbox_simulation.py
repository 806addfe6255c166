"""The inbox bench's users and operator: conversations as the bot would have run them on
the model's parses, saved through Rasa's SQLTrackerStore, and a review file labelled as an
operator would."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from bench.inbox_families import FAMILIES, SEED

# How a simulated user tries again after each kind of failure (parsed by the model too).
CORRECTION = "不是这个意思"
HANDOFF = "转人工"
RETRIES = {
    "cancel_subscription": "取消自动续费",
    "check_subscription": "查一下我开了哪些会员",
    "report_unexpected_charge": "怎么还在扣我钱",
}
# Every third misunderstood user gives up and asks for a person instead of trying again.
GIVE_UP_EVERY = 3


def conversations(
    utterances: Sequence[Tuple[str, str]], parses: Dict[str, Dict], seed: int = SEED
) -> Dict[str, List]:
    """Tracker events of one conversation per (intent, text), as the bot would have run it.

    The model's parse decides: a fallback gets the bot's rephrase request, a wrong intent an
    answer the user corrects (不是这个意思); then the user tries again the usual way or, every
    GIVE_UP_EVERY-th time, asks for a person. A right parse gets an answer and ends there.
    """
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    def user(text: str, at: float) -> UserUttered:
        parse = parses[text]
        return UserUttered(
            text, parse.get("intent"), parse.get("entities"), parse_data=parse, timestamp=at
        )

    def bot(response: str, at: float, not_understood: bool = False) -> List:
        metadata = {
            "utter_action": response,
            "next": {"expects": None, "not_understood": not_understood},
        }
        return [
            ActionExecuted(response, timestamp=at),
            BotUttered("……", metadata=metadata, timestamp=at),
            ActionExecuted("action_listen", timestamp=at),
        ]

    out: Dict[str, List] = {}
    misses = 0
    at = time.time() - 86_400
    rng = random.Random(seed)
    for n, (intent, text) in enumerate(utterances):
        at += rng.uniform(30, 300)
        events = [ActionExecuted("action_listen", timestamp=at), user(text, at)]
        got = (parses[text].get("intent") or {}).get("name")
        if got == intent:
            events += bot("utter_answer", at)
        else:
            if got == "nlu_fallback":
                events.insert(2, ActionExecuted("action_handle_fallback", timestamp=at))
                events += bot("utter_rephrase", at, not_understood=True)
            else:
                events += bot("utter_answer", at)
                events += [user(CORRECTION, at + 5), *bot("utter_how_can_help", at + 5)]
            misses += 1
            if misses % GIVE_UP_EVERY == 0 or intent not in RETRIES:
                events += [
                    user(HANDOFF, at + 10),
                    ActionExecuted("action_handoff", timestamp=at + 10),
                ]
            else:
                events += [user(RETRIES[intent], at + 10), *bot("utter_answer", at + 10)]
        out[f"bench-{n:04d}"] = events
    return out


def fill_store(url: str, conversations_: Dict[str, List]) -> None:
    """Saves the conversations through Rasa's SQLTrackerStore (its own schema)."""
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(domain=Domain.empty(), host=url)
    try:
        for sender, events in conversations_.items():
            asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    finally:
        store.engine.dispose()


def review_as_operator(review: Path, truth: Dict[str, str], families: Dict[str, str]) -> Dict:
    """Labels the review file as an operator would: a group whose examples mostly come from
    one family gets that family's intent (lines of other intents deleted); others discarded.
    Returns, per family, the ids of the groups holding its examples and its rank."""
    import yaml

    document = yaml.safe_load(review.read_text(encoding="utf-8"))
    found: Dict[str, List[Tuple[int, str, float]]] = {name: [] for name in FAMILIES}
    for rank, group in enumerate(document["groups"], start=1):
        names = Counter(families[e] for e in group["examples"] if e in families)
        for name, count in names.items():
            found[name].append((rank, group["id"], count / len(group["examples"])))
        top = names.most_common(1)
        if top and top[0][1] * 2 >= len(group["examples"]):
            intent = FAMILIES[top[0][0]][0]
            group["intent"] = intent
            group["examples"] = [e for e in group["examples"] if truth.get(e) == intent]
        else:
            group["discard"] = True
    review.write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return found
