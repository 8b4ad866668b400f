"""Migrated, empty profile stores on each backend, for the tests that need a database.

One SQLite file per store, or a scratch PostgreSQL schema on the machine's server
(dropped afterwards). Test modules parametrise over ``BACKENDS``; the PostgreSQL case is
marked ``postgres``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from shopify_backfill.profiles import create_engine, scratch_postgres_schema, upgrade

POSTGRES_URL = os.environ.get(
    "SHOPIFY_BACKFILL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def migrated_engine(backend: str, folder: Path, prefix: str) -> Iterator[Engine]:
    """A migrated store: ``folder/store.db`` on SQLite, a ``prefix`` schema on PostgreSQL."""
    if backend == "sqlite":
        engine = create_engine(f"sqlite:///{folder / 'store.db'}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
    else:
        with scratch_postgres_schema(POSTGRES_URL, prefix=prefix) as engine:
            yield engine
