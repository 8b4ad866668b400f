"""What differs between SQLite and PostgreSQL below SQL: ``ON CONFLICT`` spelled through
different SQLAlchemy constructs (same SQL, different classes), and psycopg's statement
preparation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


@contextmanager
def planned_per_execution(conn: sa.Connection) -> Iterator[None]:
    """Within the block, PostgreSQL plans each statement with its actual parameters.

    psycopg prepares a statement on the server once it has run five times, and the server
    may then reuse a generic plan made when the statement was prepared. For a backfill
    that plan is made in its first minutes, on nearly empty tables: the identity lookup
    was measured keeping a plan that probes the wrong index and filters 2,000 rows per
    key, 70 ms per batch instead of 10, until the next ANALYZE. The batch's statements are
    few and cheap to plan, so they are simply not prepared. (Foreign-key checks keep
    their own cached plans; a session-wide ``plan_cache_mode`` would replan those per
    row.)
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    driver: Any = conn.connection.driver_connection
    previous = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = previous
