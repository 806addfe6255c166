"""Deprecated path: use `type: rasa_plugins.redis_lock_store.AtomicRedisLockStore`."""

from rasa_plugins.redis_lock_store import AtomicRedisLockStore  # noqa: F401
