"""A real Redis for the store tests: a fresh key prefix, its keys deleted afterwards."""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """An unused alphanumeric key prefix; skipped without Redis, failed under CI=true."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    prefix = f"t{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        for db in (0, 1):
            handle = redis.Redis.from_url(REDIS_URL, db=db, socket_timeout=3)
            for key in handle.scan_iter(f"{prefix}:*"):
                handle.delete(key)
            handle.close()
        client.close()


def redis_host_port() -> tuple:
    """(host, port) of the test Redis."""
    import redis

    kwargs = redis.connection.parse_url(REDIS_URL)
    return kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379))
