"""The one place that knows SQLite and PostgreSQL spell ``ON CONFLICT`` through different
SQLAlchemy constructs (same SQL, different classes)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shopify_backfill.errors import ConfigError


def upsert(conn: sa.Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` that supports ``on_conflict_do_nothing``/``on_conflict_do_update``."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ConfigError(f"unsupported database backend {name!r}; use SQLite or PostgreSQL")
