"""Conversation ids namespaced per channel: `<channel>:<the channel's own id>`.

Each channel builds its Rasa sender id with `namespaced`, so a REST sender, a web session, a
speaker user, an IVR call and an SMS number can never name each other's conversation: what a
client chooses only ever fills the part after its own channel's prefix.
"""

from __future__ import annotations

from typing import Optional, Tuple

SEPARATOR = ":"
# The channels that own a namespace. A name here is the prefix of every conversation id the
# channel creates, and the `channel` a store session records.
CHANNELS = ("rest", "web", "voice", "ivr", "sms")


def namespaced(channel: str, local_id: str) -> str:
    """The conversation id of `local_id` inside `channel`'s namespace."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel namespace {channel!r}")
    if not local_id:
        raise ValueError("a conversation id needs a non-empty local part")
    return f"{channel}{SEPARATOR}{local_id}"


def split(conversation_id: str) -> Optional[Tuple[str, str]]:
    """(channel, local id) of a namespaced id, or None for an id outside every namespace."""
    channel, sep, local = conversation_id.partition(SEPARATOR)
    if not sep or channel not in CHANNELS or not local:
        return None
    return channel, local


def channel_of(conversation_id: str) -> Optional[str]:
    """The channel whose namespace holds `conversation_id`, or None."""
    parts = split(conversation_id)
    return parts[0] if parts else None


def local_id(conversation_id: str) -> str:
    """The channel's own id inside a namespaced id (the id itself when not namespaced)."""
    parts = split(conversation_id)
    return parts[1] if parts else conversation_id
