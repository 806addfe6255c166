"""Fixtures for the store's tests: a SQLite store in a temporary folder and a fixed clock.

Test modules use them with `pytest_plugins = ["tests.unit.store_fixtures"]` and import
nothing from here at run time (pytest would then load this module twice); names for type
hints are imported under TYPE_CHECKING.
"""

from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from catalog import Catalog, load_catalog
from core.partners.base import PartnerError, PartnerTimeout
from core.settings import Settings
from core.store.db import make_engine, make_session_factory, upgrade_schema
from core.store.models import Account, Product, Subscription
from core.store.privacy import phone_index
from core.store.seed import seed_demo
from core.store.services import SubscriptionService

# 10:00 in Shanghai on the contract example's date.
START = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        """The current fake time."""
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Moves the clock forward by timedelta(**delta) and returns the new time."""
        self.now += timedelta(**delta)
        return self.now


@dataclass
class FakePartner:
    """A payment partner that answers as told and remembers every call."""

    mode: str = "ok"  # 'ok' | 'fail' | 'timeout'
    calls: list = field(default_factory=list)

    def cancel_agreement(self, *, channel: str, agreement_id: str, idempotency_key: str) -> str:
        """Records the call, then confirms, fails or times out according to `mode`."""
        self.calls.append(
            {"channel": channel, "agreement_id": agreement_id, "idempotency_key": idempotency_key}
        )
        if self.mode == "timeout":
            raise PartnerTimeout("no answer")
        if self.mode == "fail":
            raise PartnerError("agreement not found")
        return f"CONF-{len(self.calls)}"


@pytest.fixture
def clock() -> FakeClock:
    """The fixed, movable clock of the service."""
    return FakeClock()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A SQLite file in the test's temporary folder (not created yet)."""
    return f"sqlite:///{tmp_path / 'store' / 'store.db'}"


@pytest.fixture
def settings(store_url: str) -> Settings:
    """Default settings pointing at the temporary store."""
    return replace(Settings(), store_url=store_url)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The demo catalog (data/catalog.yml)."""
    return load_catalog()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """An engine on the temporary store with the schema at head."""
    engine = make_engine(store_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker:
    """Sessions on the temporary store."""
    return make_session_factory(engine)


@pytest.fixture
def partners() -> dict[str, FakePartner]:
    """Fake 支付宝 and 微信 partners that succeed unless told otherwise."""
    return {"alipay": FakePartner(), "wechat": FakePartner()}


@pytest.fixture
def service(
    session_factory: sessionmaker,
    catalog: Catalog,
    settings: Settings,
    partners: dict[str, FakePartner],
    clock: FakeClock,
) -> SubscriptionService:
    """A service on the demo data seeded at the clock's start."""
    service = SubscriptionService(session_factory, catalog, settings, partners, clock)
    seed_demo(service, catalog, clock())
    return service


def _plain_phones(engine: Engine, phones: tuple[str, ...]) -> list[tuple[str, str]]:
    found = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')).mappings():
                for column, value in row.items():
                    raw = value if isinstance(value, str) else str(value)
                    # The digits alone also catch '138 0013 8000', '138-0013-8000', ...
                    digits = re.sub(r"\D", "", raw)
                    if any(phone in raw or phone in digits for phone in phones):
                        found.append((table, column))
    return found


@pytest.fixture
def plain_phones() -> Callable[[Engine, tuple[str, ...]], list[tuple[str, str]]]:
    """Scans every column of every table with raw SQL for the phones, however spaced.

    Returns the (table, column) pairs where one of them is stored in the clear.
    """
    return _plain_phones


@pytest.fixture
def subscription_of(service: SubscriptionService) -> Callable[[str, str], int]:
    """Finds the id of a phone's subscription to a product (by canonical name)."""

    def find(phone: str, product_name: str) -> int:
        for view in service.subscriptions(phone):
            if view.product_name == product_name:
                return view.id
        raise LookupError(f"{phone} has no {product_name}")

    return find


@pytest.fixture
def add_subscription(
    service: SubscriptionService, session_factory: sessionmaker, clock: FakeClock
) -> Callable[..., int]:
    """Adds an active monthly subscription the demo data lacks; returns its id."""

    def add(
        phone: str,
        product_code: str,
        *,
        billing_channel: str,
        agreement_id: Optional[str] = None,
    ) -> int:
        now = clock()
        with session_factory.begin() as session:
            account_id = session.execute(
                select(Account.id).where(
                    Account.phone_index == phone_index(service.phone_cipher, phone)
                )
            ).scalar_one()
            product = session.execute(
                select(Product).where(Product.code == product_code)
            ).scalar_one()
            subscription = Subscription(
                account_id=account_id,
                product_id=product.id,
                plan_name="连续包月",
                price=Decimal("22.00"),
                period="month",
                billing_channel=billing_channel,
                partner_agreement_id=agreement_id,
                auto_renew=True,
                status="active",
                started_at=now - timedelta(days=20),
                period_end=now + timedelta(days=10),
                next_charge_at=now + timedelta(days=10),
            )
            session.add(subscription)
            session.flush()
            return subscription.id

    return add


PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pg_unreachable(reason: str) -> None:
    """Skips the test for an unreachable PostgreSQL, or fails it under CI=true."""
    message = f"PostgreSQL at {PG_SERVER_URL} is unreachable: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped at the end of the block.

    Skips without a server, except under CI=true, where a missing server is a failure.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER_URL, future=True, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        pg_unreachable(str(exc.orig).strip())
    separator = "&" if "?" in PG_SERVER_URL else "?"
    try:
        yield f"{PG_SERVER_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def backend_database(backend: str, folder: Path, prefix: str) -> Iterator[str]:
    """An empty database: a SQLite file in `folder`, or a fresh PostgreSQL schema `prefix_…`."""
    if backend == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'data.db'}"
    else:
        with pg_schema(prefix) as url:
            yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The database of the store (and of Rasa's tracker store, in tests that have one)."""
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty store database on `backend` (a module may define its own)."""
    prefix = request.module.__name__.rsplit(".", 1)[-1]
    with backend_database(backend, tmp_path / "store", prefix) as url:
        yield url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on the `db_url` fixture, with the schema at head."""
    engine = make_engine(db_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()
