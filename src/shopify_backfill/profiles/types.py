"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no timezone-aware timestamps, stores ``NUMERIC`` as binary floating point and
keeps JSON as text; PostgreSQL has all three natively. These decorators give both
backends one behaviour: aware UTC datetimes in and out, exact ``Decimal`` money, and JSON
whose numbers stay exact decimals (``json_dumps``/``json_loads`` are installed as the
engine's JSON serializer by ``profiles.db.create_engine``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import JSON, DateTime, Dialect, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)


def json_dumps(value: Any) -> str:
    """Encode JSON with ``Decimal`` as exact numbers (``Decimal("55.0")`` -> ``55.0``)."""
    return _encoder.encode(value).decode("utf-8")


def json_loads(text: str | bytes) -> Any:
    """Decode JSON reading every non-integer number as an exact ``Decimal``."""
    return _decoder.decode(text)


JsonDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
"""JSON column: JSONB on PostgreSQL (exact numeric), text on SQLite."""


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend; naive values are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value!r} given to a UTC column; attach a timezone"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Exact money: ``NUMERIC`` on PostgreSQL, decimal text on SQLite (whose NUMERIC is a float)."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            msg = f"money must be a Decimal, got {type(value).__name__} {value!r}"
            raise TypeError(msg)
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))
