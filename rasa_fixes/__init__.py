"""Work-arounds for Rasa Open Source 3.6.21 problems, applied in the Rasa server process.

`apply()` runs when Rasa loads our channels (credentials.yml), before the first message.
Each fix says what is wrong upstream, what it costs us, and how to tell it is still needed.
"""

from __future__ import annotations

from rasa_fixes import (
    action_client,
    action_result,
    debug_copies,
    event_types,
    graph_runner,
    parse_cache,
    rule_lookup,
    slot_copy,
    sparse_features,
    tf_predict,
    tracker_json,
)

_applied = False


def apply() -> None:
    """Applies every fix once per process."""
    global _applied
    if _applied:
        return
    action_result.apply()
    event_types.apply()
    debug_copies.apply()
    graph_runner.apply()
    rule_lookup.apply()
    action_client.apply()
    tracker_json.apply()
    slot_copy.apply()
    sparse_features.apply()
    tf_predict.apply()
    parse_cache.apply()
    _applied = True
