"""Production-shaped deployments for end-to-end tests: PostgreSQL, Redis, servers, faults.

A `Deployment` runs the action server and any number of `rasa run` processes (started by
stack/, as `make run` starts them) with deploy/endpoints.production.yml (PostgreSQL tracker
store, Redis lock store), the subscription store on PostgreSQL, each in a scratch database
dropped afterwards. `TcpProxy` sits on a connection to cut it, restore it or slow it down.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set

import pytest
from sqlalchemy.engine import URL, make_url

from stack.bot import CORS, Bot
from stack.launch import (
    PRODUCTION_ENDPOINTS,
    START_TIMEOUT,
    Stack,
    build,
    free_port,
    latest_model,
    work_env,
)

PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def service_missing(message: str) -> None:
    """Skips the test, or fails it under CI=true, where every service must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def scratch_database(prefix: str) -> Iterator[URL]:
    """A new, empty PostgreSQL database named `<prefix>_<hex>`, dropped when the block ends."""
    import psycopg2

    server = make_url(PG_SERVER_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(_dsn(server), connect_timeout=3)
    except psycopg2.OperationalError as exc:
        service_missing(f"PostgreSQL at {PG_SERVER_URL} is unreachable: {str(exc).strip()}")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield server.set(drivername="postgresql+psycopg2", database=name)
    finally:
        with admin.cursor() as cursor:
            # FORCE: servers killed by a test may leave connections behind.
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _dsn(url: URL) -> str:
    parts = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
    }
    return " ".join(f"{key}={value}" for key, value in parts.items() if value)


@contextmanager
def redis_lock_prefix() -> Iterator[str]:
    """A fresh lock-store key prefix on the Redis server; its keys are deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {REDIS_URL} is unreachable: {exc}")
    prefix = f"e2e{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        # The lock store uses database 1 unless told otherwise; see rasa/core/lock_store.py.
        lock_db = redis.Redis.from_url(REDIS_URL, db=_lock_db(), socket_timeout=3)
        for key in lock_db.scan_iter(f"{prefix}:*"):
            lock_db.delete(key)
        client.close()
        lock_db.close()


def _lock_db() -> int:
    return int(os.environ.get("TEST_REDIS_LOCK_DB", "1"))


def production_env(tracker_db: URL, lock_prefix: str, action_url: str) -> Dict[str, str]:
    """The variables deploy/endpoints.production.yml reads, for these test services."""
    redis_url = make_url(REDIS_URL.replace("redis://", "postgresql://", 1))
    return {
        "ACTION_SERVER_URL": action_url,
        "TRACKER_DB_HOST": tracker_db.host or "127.0.0.1",
        "TRACKER_DB_PORT": str(tracker_db.port or 5432),
        "TRACKER_DB_NAME": tracker_db.database or "",
        "TRACKER_DB_USER": tracker_db.username or "",
        "TRACKER_DB_PASSWORD": tracker_db.password or "",
        "TRACKER_DB_SSLMODE": "disable",
        "REDIS_HOST": redis_url.host or "127.0.0.1",
        "REDIS_PORT": str(redis_url.port or 6379),
        "REDIS_DB": str(_lock_db()),
        "REDIS_PASSWORD": redis_url.password or "",
        "LOCK_KEY_PREFIX": lock_prefix,
    }


class DeploymentBot(Bot):
    """The conftest `Bot` talking to one rasa process; reseeding may wipe a PostgreSQL store."""

    # --force: it is a scratch PostgreSQL database.
    seed_args = ("--force",)


class Deployment(Stack):
    """One action server and `rasa_count` rasa processes sharing the tracker and lock stores."""

    def start(self, one_by_one: bool = True, timeout: float = START_TIMEOUT) -> None:
        """Starts the action server and every rasa process, one after the other."""
        super().start(one_by_one, timeout)

    def bot(self, index: int = 0) -> DeploymentBot:
        """A client of rasa process `index`, with the store and outbox of the deployment."""
        return DeploymentBot.of(self.rasa_url(index), self.env)


def make_deployment(
    work: Path,
    store_url: str,
    tracker_db: URL,
    lock_prefix: str,
    rasa_count: int,
    action_url: Optional[str] = None,
    extra_env: Optional[Dict[str, str]] = None,
    rasa_args: Optional[List[str]] = None,
    action_env: Optional[Dict[str, str]] = None,
    action_port: Optional[int] = None,
) -> Deployment:
    """Builds (does not start) a deployment.

    `action_url` lets a proxy sit in front of the action server, `action_env` (e.g. a
    STORE_URL through a proxy) applies to the action server only.
    """
    action_port = action_port or free_port()
    action_url = action_url or f"http://127.0.0.1:{action_port}/webhook"
    env = work_env(work, STORE_URL=store_url)
    env.update(extra_env or {})
    env.update(production_env(tracker_db, lock_prefix, action_url))
    stack = build(
        work,
        env,
        model=str(latest_model()),
        rasa_count=rasa_count,
        action_port=action_port,
        cors=CORS,
        api_token=env["RASA_API_TOKEN"],
        endpoints=PRODUCTION_ENDPOINTS,
        action_env=action_env,
        rasa_args=rasa_args or (),
        numbered=True,
    )
    return Deployment(work=work, env=stack.env, action=stack.action, rasa=stack.rasa)


class TcpProxy:
    """Forwards a local port to `target_port`; can cut the line, restore it, or slow replies.

    Runs its own event loop in a daemon thread, so blocking test code can drive it.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        """Picks a free local port; call `start` to listen."""
        self.target = (target_host, target_port)
        self.port = free_port()
        # Seconds each chunk coming back from the target is held before it is passed on.
        self.reply_delay = 0.0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Optional[asyncio.AbstractServer] = None
        self._writers: Set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        """Starts the loop and listens."""
        self._thread.start()
        self.restore()

    def restore(self) -> None:
        """Listens again: new connections reach the target."""
        self._run(self._listen())

    def cut(self) -> None:
        """Drops every open connection and refuses new ones, like a dead server."""
        self._run(self._cut())

    def close(self) -> None:
        """Cuts and stops the loop."""
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _run(self, coro) -> None:  # noqa: ANN001 - any coroutine
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer, slow=False), self._pipe(up_reader, writer, slow=True)
        )
        self._writers.difference_update((writer, up_writer))

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, slow: bool
    ) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if slow and self.reply_delay:
                    await asyncio.sleep(self.reply_delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
