"""Deprecated path: use `type: rasa_plugins.redis_tracker_store.RedisTrackerStore`."""

from rasa_plugins.redis_tracker_store import RedisTrackerStore  # noqa: F401
