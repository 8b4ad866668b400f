"""Many rows in one statement, without SQLAlchemy's per-row work on the hot paths.

A batch writes thousands of rows per table. Going through SQLAlchemy Core for them costs
more than the database does: every value passes through a bind processor, and on
PostgreSQL ``insertmanyvalues`` renders statements with tens of thousands of
placeholders that psycopg then re-parses on every call. These helpers keep the SQL
fixed and small and convert values column by column, with the encodings the column
types use (``profiles.types``), so the stored values are the ones SQLAlchemy would have
written:

* SQLite: one prepared ``executemany`` (the ``sqlite3`` module loops in C);
* PostgreSQL: one statement per table whatever the row count, the rows passed as one
  JSON document (encoded in C by msgspec, exact decimals included) and unpacked by
  ``jsonb_array_elements``. Array parameters would be the obvious alternative, but
  psycopg renders them element by element in Python and escapes every quote of a JSON
  value with a regular expression, which costs more than the insert itself.

Statements go through ``Connection.exec_driver_sql``: they run in the caller's
transaction, and engine events (statement counters, logging) still see them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa

from shopify_backfill.errors import ConfigError
from shopify_backfill.profiles.types import ExactDecimal, UtcDateTime, json_dumps

Encoder = Callable[[Any], Any]


def _naive(value: datetime) -> ValueError:
    return ValueError(f"naive datetime {value!r} given to a UTC column; attach a timezone")


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite ``DATETIME`` text (microseconds always shown), in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise _naive(value)
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _aware_time(value: datetime | None) -> datetime | None:
    """Aware times go as they are (RFC 3339 with offset); naive ones are refused."""
    if value is not None and value.tzinfo is None:
        raise _naive(value)
    return value


def _money_type(value: Decimal) -> TypeError:
    return TypeError(f"money must be a Decimal, got {type(value).__name__} {value!r}")


def _sqlite_money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Decimal):
        raise _money_type(value)
    return str(value)


def _exact_money(value: Decimal | None) -> Decimal | None:
    if value is not None and not isinstance(value, Decimal):
        raise _money_type(value)
    return value


def _encoder(column: sa.Column[Any], backend: str) -> Encoder | None:
    """How one column's Python values become driver values (``None``: as they are)."""
    kind = column.type
    sqlite = backend == "sqlite"
    if isinstance(kind, UtcDateTime):
        return _sqlite_time if sqlite else _aware_time
    if isinstance(kind, ExactDecimal):
        return _sqlite_money if sqlite else _exact_money
    if isinstance(kind, sa.JSON):
        # ``None`` too becomes JSON ``null``, as SQLAlchemy's JSON type stores it
        # (``none_as_null=False``); on PostgreSQL the row document carries it as such.
        return json_dumps if sqlite else None
    if isinstance(kind, sa.Integer | sa.String | sa.Boolean):
        return None
    raise ConfigError(f"no bulk encoding for {column.table.name}.{column.name} ({kind!r})")


_PG_CASTS: Final = (
    (UtcDateTime, "timestamptz"),
    (ExactDecimal, "numeric"),
    (sa.BigInteger, "bigint"),
    (sa.Integer, "integer"),
    (sa.Boolean, "boolean"),
)


def _pg_field(column: sa.Column[Any], position: int) -> str:
    """Column ``position`` of the JSON row ``r`` as SQL of the column's type.

    Strings stay ``text`` and reach the column by assignment, which checks their length
    (an explicit ``::varchar(n)`` would silently truncate instead).
    """
    kind = column.type
    if isinstance(kind, sa.JSON):
        return f"r->{position}"
    for python_type, sql_type in _PG_CASTS:
        if isinstance(kind, python_type):
            return f"(r->>{position})::{sql_type}"
    return f"r->>{position}"


def _backend(conn: sa.Connection) -> str:
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database backend {name!r}; use SQLite or PostgreSQL")
    return name


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    encoders: tuple[Encoder | None, ...]

    def parameters(self, backend: str, rows: Sequence[Sequence[Any]]) -> Any:
        """SQLite: a list of row tuples (executemany); PostgreSQL: one JSON document."""
        if any(encode is not None for encode in self.encoders):
            columns = [
                values if encode is None else _encode_column(encode, values)
                for values, encode in zip(zip(*rows, strict=True), self.encoders, strict=True)
            ]
            rows = list(zip(*columns, strict=True))
        if backend == "sqlite":
            return rows if isinstance(rows, list) else list(rows)
        return (json_dumps(rows),)


def _encode_column(encode: Encoder, values: Sequence[Any]) -> list[Any]:
    """Each distinct value object encoded once (a batch repeats its load time on every
    row, an order's time on each of its purchases, a line item's properties on each
    split); the per-row steps run in C."""
    ids = list(map(id, values))
    encoded = {key: encode(value) for key, value in dict(zip(ids, values, strict=True)).items()}
    return list(map(encoded.__getitem__, ids))


@dataclass(frozen=True, slots=True)
class BulkInsert:
    """``INSERT INTO table (columns)`` for many rows, with an optional conflict rule.

    ``conflict`` names the unique columns of ``ON CONFLICT`` (``()``: any constraint;
    ``None``: no conflict clause); without ``update`` the rule is ``DO NOTHING``, with it
    ``DO UPDATE SET`` these assignments (SQL text in which ``excluded`` is the new row,
    e.g. ``"state = excluded.state"``). ``returning`` (PostgreSQL only: SQLite's
    ``executemany`` cannot return rows) names one column to return for the rows
    actually inserted.
    """

    table: sa.Table
    columns: tuple[str, ...]
    conflict: tuple[str, ...] | None = None
    update: tuple[str, ...] = ()
    returning: str | None = None

    def execute(self, conn: sa.Connection, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Insert ``rows`` (tuples in ``columns`` order); returns the ``returning`` values."""
        if not rows:
            return []
        backend = _backend(conn)
        if backend == "sqlite" and self.returning is not None:
            raise ConfigError("RETURNING is not available with SQLite's executemany")
        compiled = _compile_insert(self, backend)
        result = conn.exec_driver_sql(compiled.sql, compiled.parameters(backend, rows))
        return [row[0] for row in result] if self.returning is not None else []

    def execute_counted(self, conn: sa.Connection, rows: Sequence[Sequence[Any]]) -> int:
        """Insert ``rows`` and return how many were really inserted (not skipped)."""
        if not rows:
            return 0
        backend = _backend(conn)
        compiled = _compile_insert(self, backend)
        result = conn.exec_driver_sql(compiled.sql, compiled.parameters(backend, rows))
        return int(result.rowcount)


@functools.lru_cache(maxsize=64)
def _compile_insert(spec: BulkInsert, backend: str) -> _Compiled:
    table = spec.table
    columns = [table.c[name] for name in spec.columns]
    names = ", ".join(spec.columns)
    if backend == "sqlite":
        source = f"VALUES ({', '.join('?' for _ in columns)})"
    else:
        fields = ", ".join(_pg_field(column, i) for i, column in enumerate(columns))
        source = f"SELECT {fields} FROM jsonb_array_elements(%s::jsonb) AS r"  # noqa: S608
    sql = f"INSERT INTO {table.name} ({names}) {source}"
    if spec.conflict is not None:
        target = f" ({', '.join(spec.conflict)})" if spec.conflict else ""
        sql += f" ON CONFLICT{target} DO "
        sql += ("UPDATE SET " + ", ".join(spec.update)) if spec.update else "NOTHING"
    if spec.returning is not None:
        sql += f" RETURNING {spec.returning}"
    return _Compiled(sql, tuple(_encoder(column, backend) for column in columns))


@dataclass(frozen=True, slots=True)
class BulkUpdate:
    """``UPDATE table SET columns WHERE key = ...`` for many rows, in one statement."""

    table: sa.Table
    key: str
    columns: tuple[str, ...]

    def execute(self, conn: sa.Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Apply ``rows``: tuples of the key, then ``columns`` in that order."""
        if not rows:
            return
        backend = _backend(conn)
        compiled = _compile_update(self, backend)
        conn.exec_driver_sql(compiled.sql, compiled.parameters(backend, rows))


@functools.lru_cache(maxsize=16)
def _compile_update(spec: BulkUpdate, backend: str) -> _Compiled:
    table = spec.table
    names = (spec.key, *spec.columns)
    columns = [table.c[name] for name in names]
    if backend == "sqlite":
        # The key comes first in each row; a numbered placeholder puts it in the WHERE.
        assignments = ", ".join(f"{name} = ?{i}" for i, name in enumerate(names, 1) if i > 1)
        sql = f"UPDATE {table.name} SET {assignments} WHERE {spec.key} = ?1"  # noqa: S608
    else:
        fields = ", ".join(
            f"{_pg_field(column, i)} AS {name}"
            for i, (name, column) in enumerate(zip(names, columns, strict=True))
        )
        assignments = ", ".join(f"{name} = v.{name}" for name in spec.columns)
        sql = (
            f"UPDATE {table.name} SET {assignments} "  # noqa: S608
            f"FROM (SELECT {fields} FROM jsonb_array_elements(%s::jsonb) AS r) AS v "
            f"WHERE {table.name}.{spec.key} = v.{spec.key}"
        )
    return _Compiled(sql, tuple(_encoder(column, backend) for column in columns))
