"""The demo data of the contract, with dates relative to `now`.

python -m core.store.seed [--url URL] [--force]
"""

from __future__ import annotations

import argparse
import calendar
import random
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional, Sequence, Union
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from catalog import Catalog, CatalogError, load_catalog
from core.references import CANCELLATION_PREFIX, new_reference
from core.settings import Settings
from core.statuses import AccountStatus, ChargeStatus, SubscriptionStatus
from core.store.cipher import PhoneCipher, load_phone_cipher
from core.store.db import (
    SessionFactory,
    make_engine,
    make_session_factory,
    unit_of_work,
    upgrade_schema,
)
from core.store.errors import PhoneKeyError, StoreUnavailable
from core.store.models import (
    Account,
    AuditEvent,
    Cancellation,
    Charge,
    Product,
    Subscription,
    metadata,
)
from core.store.privacy import stored_phone
from core.store.services import SubscriptionService

SEED_CONVERSATION = "demo-seed"
DEMO_ACCOUNTS = (
    ("13800138000", "张三", AccountStatus.ACTIVE),
    ("13900139000", "李四", AccountStatus.ACTIVE),
    ("13700137000", "王五", AccountStatus.ACTIVE),
    ("13600136000", "赵六", AccountStatus.ARREARS),
)


@dataclass(frozen=True)
class SeedSummary:
    """How much demo data was loaded."""

    products: int
    accounts: int
    subscriptions: int
    charges: int
    cancellations: int


def shift_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by whole calendar months, the day clamped to the month's length."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


class _Loader:
    """Adds the demo rows to one session."""

    def __init__(
        self, session: Session, catalog: Catalog, zone: ZoneInfo, cipher: PhoneCipher
    ) -> None:
        self.session = session
        self.catalog = catalog
        self.zone = zone
        self.cipher = cipher
        # Memberships are keyed by product code inside the core; names are for people.
        self.plans = {item.code: item for item in catalog.products}
        self.products: dict[str, Product] = {}
        self.accounts: dict[str, Account] = {}

    def load_products(self) -> None:
        for item in self.catalog.products:
            product = Product(
                code=item.code, name=item.name, provider=item.provider, aliases=list(item.aliases)
            )
            self.session.add(product)
            self.products[item.code] = product

    def load_accounts(self) -> None:
        for phone, holder, status in DEMO_ACCOUNTS:
            account = Account(
                **stored_phone(self.cipher, phone).columns(), holder_name=holder, status=status
            )
            self.session.add(account)
            self.accounts[phone] = account
        self.session.flush()

    def use_stored_products(self) -> None:
        """Takes the products already in the store (for holders added to a seeded store)."""
        for product in self.session.execute(select(Product)).scalars():
            self.products[product.code] = product

    def add_account(self, phone: str, holder: str, status: str) -> None:
        """One more account."""
        account = Account(
            **stored_phone(self.cipher, phone).columns(), holder_name=holder, status=status
        )
        self.session.add(account)
        self.session.flush()
        self.accounts[phone] = account

    def subscribe(
        self,
        phone: str,
        product_code: str,
        plan_name: str,
        *,
        billing_channel: str,
        period_end: datetime,
        periods_paid: int = 0,
        started_at: Optional[datetime] = None,
        agreement_id: Optional[str] = None,
    ) -> Subscription:
        """An active subscription whose last paid period ends at `period_end`.

        One charge is added at the start of each of the `periods_paid` periods before it.
        """
        plan = self.plans[product_code].plan(plan_name)
        step = _PERIOD_MONTHS[plan.period]
        first = shift_months(period_end, -step * periods_paid)
        subscription = Subscription(
            account_id=self.accounts[phone].id,
            product_id=self.products[product_code].id,
            plan_name=plan.name,
            price=plan.price,
            period=plan.period,
            billing_channel=billing_channel,
            partner_agreement_id=agreement_id,
            auto_renew=True,
            status=SubscriptionStatus.ACTIVE,
            started_at=started_at or first,
            period_end=period_end,
            next_charge_at=period_end,
        )
        self.session.add(subscription)
        self.session.flush()
        for k in range(periods_paid):
            self.charge(subscription, shift_months(first, step * k))
        return subscription

    def charge(self, subscription: Subscription, at: datetime) -> None:
        self.session.add(
            Charge(
                subscription_id=subscription.id,
                amount=subscription.price,
                charged_at=at,
                status=ChargeStatus.SETTLED,
            )
        )

    def cancel(self, subscription: Subscription, at: datetime, key: str) -> None:
        subscription.status = SubscriptionStatus.CANCELLED
        subscription.auto_renew = False
        subscription.next_charge_at = None
        self.session.add(
            Cancellation(
                reference=new_reference(CANCELLATION_PREFIX, at.astimezone(self.zone).date()),
                subscription_id=subscription.id,
                idempotency_key=key,
                channel="app",
                conversation_id=SEED_CONVERSATION,
                requested_at=at,
                effective_until=subscription.period_end,
            )
        )


_DAY = timedelta(days=1)
DEMO_KEY = "demo-seed"


def _zhang(loader: _Loader, phone: str, now: datetime, key: str) -> None:
    """Three phone-bill memberships, one cancelled but charged since (the refund case)."""
    day = _DAY
    loader.subscribe(
        phone,
        "tencent_video",  # 腾讯视频VIP
        "连续包月",
        billing_channel="phone_bill",
        period_end=now + 10 * day,
        periods_paid=6,
    )
    loader.subscribe(
        phone,
        "qqmusic_green",  # QQ音乐绿钻
        "连续包月",
        billing_channel="phone_bill",
        period_end=now + 3 * day,
        periods_paid=3,
    )
    migu = loader.subscribe(
        phone,
        "migu_diamond",  # 咪咕视频钻石会员
        "连续包月",
        billing_channel="phone_bill",
        period_end=now - 5 * day,
        periods_paid=4,
    )
    loader.cancel(migu, now - 20 * day, key=f"{key}-migu")
    # Taken after the cancellation by mistake: the demo's refund case.
    loader.charge(migu, now - 2 * day)


def _li(loader: _Loader, phone: str, now: datetime, key: str) -> None:
    """Memberships billed by partners: Alipay and the App Store."""
    day = _DAY
    loader.subscribe(
        phone,
        "iqiyi_gold",  # 爱奇艺黄金VIP
        "连续包季",
        billing_channel="alipay",
        period_end=now + 40 * day,
        periods_paid=2,
        agreement_id="ALIPAY-AGR-2024000158",
    )
    loader.subscribe(
        phone,
        "baidu_netdisk_svip",  # 百度网盘超级会员
        "连续包年",
        billing_channel="app_store",
        period_end=now + 200 * day,
        periods_paid=1,
    )


def _wang(loader: _Loader, phone: str, now: datetime, key: str) -> None:
    """No memberships at all."""


def _zhao(loader: _Loader, phone: str, now: datetime, key: str) -> None:
    """An account in arrears with one membership charged yesterday."""
    day = _DAY
    vinyl = loader.subscribe(
        phone,
        "netease_vinyl",  # 网易云音乐黑胶VIP
        "连续包月",
        billing_channel="phone_bill",
        period_end=now + 29 * day,
        started_at=now - day,
    )
    loader.charge(vinyl, now - day)


# Each demo holder's memberships and charges, relative to `now`.
HOLDER_DATA = {
    "13800138000": _zhang,
    "13900139000": _li,
    "13700137000": _wang,
    "13600136000": _zhao,
}


def seed_demo(
    service_or_session_factory: Union[SubscriptionService, SessionFactory],
    catalog: Catalog,
    now: datetime,
    timezone_name: Optional[str] = None,
    phone_cipher: Optional[PhoneCipher] = None,
) -> SeedSummary:
    """Wipes every table but the audit log and loads the catalog and the demo accounts.

    References are dated in `timezone_name`, else the service's settings.timezone, else the
    default of Settings. Phones are encrypted with `phone_cipher`, else the service's, else
    the keys of the environment.
    """
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(service_or_session_factory, SubscriptionService):
        factory = service_or_session_factory.session_factory
        zone = ZoneInfo(timezone_name or service_or_session_factory.settings.timezone)
        cipher = phone_cipher or service_or_session_factory.phone_cipher
    else:
        factory = service_or_session_factory
        zone = ZoneInfo(timezone_name or Settings().timezone)
        cipher = phone_cipher or load_phone_cipher(Settings.from_env())
    with unit_of_work(factory) as session:
        # Children before parents, so foreign keys never dangle. The audit log is
        # append-only (the database refuses DELETE): it outlives every reseed.
        for table in reversed(metadata.sorted_tables):
            if table is not AuditEvent.__table__:
                session.execute(delete(table))
        loader = _Loader(session, catalog, zone, cipher)
        loader.load_products()
        loader.load_accounts()

        for phone, load in HOLDER_DATA.items():
            load(loader, phone, now, DEMO_KEY)
        session.flush()
        return SeedSummary(
            products=_count(session, Product),
            accounts=_count(session, Account),
            subscriptions=_count(session, Subscription),
            charges=_count(session, Charge),
            cancellations=_count(session, Cancellation),
        )


def fresh_number(rng: random.Random) -> str:
    """A random valid mobile number that is none of the demo numbers."""
    while True:
        phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        if phone not in HOLDER_DATA:
            return phone


def seed_holders(
    service: SubscriptionService,
    like: Sequence[str],
    now: datetime,
    rng: Optional[random.Random] = None,
) -> list[str]:
    """Adds one holder per demo number in `like`, with its memberships and charges relative
    to `now`, under a new random number (never a demo one, never one already stored).

    Returns the new numbers in the order of `like`. The store must hold the demo data's
    products (seed_demo first). For tests: each run of a conversation gets holders of its own.
    """
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError("now must be timezone-aware")
    rng = rng or random.Random()
    holders = {phone: (holder, status) for phone, holder, status in DEMO_ACCOUNTS}
    zone = ZoneInfo(service.settings.timezone)
    phones: list[str] = []
    for _ in like:
        phone = fresh_number(rng)
        while phone in phones or service.account(phone) is not None:
            phone = fresh_number(rng)
        phones.append(phone)
    with unit_of_work(service.session_factory) as session:
        loader = _Loader(session, service.catalog, zone, service.phone_cipher)
        loader.use_stored_products()
        for template, phone in zip(like, phones, strict=True):
            holder, status = holders[template]
            loader.add_account(phone, holder, status)
            # A random idempotency key: a phone written into it would be stored in clear.
            HOLDER_DATA[template](loader, phone, now, f"seed-{uuid.uuid4().hex}")
    return phones


def _count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: resets the store to the demo data."""
    parser = argparse.ArgumentParser(
        prog="python -m core.store.seed", description="Reset the store to the demo data."
    )
    parser.add_argument("--url", help="database URL (default: STORE_URL or the SQLite file)")
    parser.add_argument(
        "--force", action="store_true", help="allow a PostgreSQL URL (wipes its store tables)"
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    url = args.url or settings.store_url
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as exc:
        print(f"not a database URL: {exc}", file=sys.stderr)
        return 2
    if backend.startswith("postgres") and not args.force:
        print(
            "refusing to wipe a PostgreSQL store (production?); add --force if you mean it",
            file=sys.stderr,
        )
        return 2
    try:
        catalog = load_catalog(settings.catalog_path)
    except CatalogError as exc:
        print(f"cannot load the catalog: {exc}", file=sys.stderr)
        return 1
    engine = make_engine(url)
    try:
        cipher = load_phone_cipher(settings)
        upgrade_schema(engine, cipher)
        summary = seed_demo(
            make_session_factory(engine),
            catalog,
            datetime.now(timezone.utc),
            settings.timezone,
            phone_cipher=cipher,
        )
    except (StoreUnavailable, PhoneKeyError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(
        f"seeded {make_url(url).render_as_string(hide_password=True)}: "
        f"{summary.products} products, {summary.accounts} accounts, "
        f"{summary.subscriptions} subscriptions, {summary.charges} charges, "
        f"{summary.cancellations} cancellations"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
