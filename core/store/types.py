"""Column types shared by the models."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy.types import DateTime, Numeric, TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores an aware datetime as naive UTC and hands back aware UTC.

    Naive input is refused: its time zone would be a guess, and a wrong guess shifts
    charge and expiry times by hours without anyone noticing.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        """Converts an aware datetime to naive UTC for storage."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError("naive datetimes are not accepted; give a time zone")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        """Marks a stored naive UTC datetime as UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


_CENT = Decimal("0.01")


class Money(TypeDecorator):
    """An amount in yuan with two decimals, as Decimal in Python and NUMERIC(10, 2) in SQL.

    SQLite keeps NUMERIC as a float; ten digits with two decimals survive that exactly, so
    values are read back as floats there and turned into Decimal here, to the cent.
    """

    impl = Numeric(10, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        """Plain floats from SQLite (converted below), native Decimal elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(10, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(10, 2))

    def process_bind_param(self, value: Any, dialect: Any) -> Optional[Decimal]:
        """Accepts Decimal or int only: a float amount is already a rounding bug."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        return Decimal(value).quantize(_CENT)

    def process_result_value(self, value: Any, dialect: Any) -> Optional[Decimal]:
        """The stored amount as a Decimal to the cent."""
        if value is None:
            return None
        if isinstance(value, float):
            value = repr(value)
        return Decimal(value).quantize(_CENT)
