"""Engines for the profile store, and programmatic Alembic migrations.

One function decides how every engine is configured, so SQLite and PostgreSQL behave
alike from the caller's point of view: transactions really begin at ``BEGIN`` (SQLite's
driver otherwise defers them to the first write, which lets a read-then-write batch race
another writer), foreign keys are enforced, a busy writer is waited for rather than
failed, and JSON numbers stay exact decimals.
"""

from __future__ import annotations

import re
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine, make_url

from shopify_backfill.errors import ConfigError
from shopify_backfill.profiles.types import json_dumps, json_loads

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
_MIGRATION_LOCK_KEY: Final = 0x5B0F_11  # PostgreSQL advisory lock serialising migrations
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def create_engine(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    """Build an engine for ``sqlite:///...`` or ``postgresql+psycopg://...``.

    ``schema`` (PostgreSQL only) confines every unqualified name, including Alembic's
    version table, to that schema through ``search_path``; tests use it to run side by
    side in one database.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {
        "json_serializer": json_dumps,
        "json_deserializer": json_loads,
        "echo": echo,
    }
    if backend == "sqlite":
        if schema is not None:
            raise ConfigError("schema= is only meaningful for PostgreSQL URLs")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, **options)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise ConfigError(
                f"unsupported PostgreSQL driver {parsed.get_driver_name()!r} in {url!r}; "
                "use postgresql+psycopg://user@host:port/database"
            )
        if schema is not None:
            _check_schema_name(schema)
            options["connect_args"] = {"options": f"-csearch_path={schema}"}
        return sa.create_engine(parsed, pool_pre_ping=True, **options)
    raise ConfigError(
        f"unsupported database URL {url!r}; use sqlite:///path or "
        "postgresql+psycopg://user@host:port/database"
    )


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # IMMEDIATE takes the write lock up front: a batch reads, then writes, and a
        # deferred transaction would fail (not wait) if another writer slipped in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _check_schema_name(schema: str) -> None:
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ConfigError(
            f"invalid PostgreSQL schema name {schema!r}: use lower-case letters, digits and "
            "underscores, starting with a letter or underscore"
        )


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic configuration pointing at the packaged revisions; no ini file needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store to ``revision``; safe to call from several processes at once."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the store is at, or ``None`` before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def scratch_postgres_schema(url: str, prefix: str = "t") -> Iterator[Engine]:
    """A migrated engine confined to a fresh, uniquely named schema, dropped afterwards.

    Lets concurrent test runs (and engineers) share one PostgreSQL database without
    seeing each other's rows.
    """
    schema = f"{prefix}_{secrets.token_hex(6)}"
    _check_schema_name(schema)
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine = create_engine(url, schema=schema)
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        admin.dispose()


@contextmanager
def dry_run_connection(engine: Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction for a long dry run that never blocks the live store.

    A SQLite file is copied (online backup) and the dry run works on the copy: holding
    SQLite's single write lock while the whole window is read from Shopify would make
    every live write wait, then fail. PostgreSQL runs it in a transaction on the store
    itself, rolled back at the end (other writers only wait if they insert the very
    rows the dry run holds).
    """
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        folder = Path(tempfile.mkdtemp(prefix="audit-snapshot-"))
        try:
            copy = folder / "snapshot.db"
            with engine.connect() as live:
                source = live.connection.driver_connection
                if not isinstance(source, sqlite3.Connection):
                    raise ConfigError("the SQLite engine does not use the sqlite3 driver")
                target = sqlite3.connect(copy)
                try:
                    source.backup(target)
                finally:
                    target.close()
            snapshot = create_engine(f"sqlite:///{copy}")
            try:
                with snapshot.connect() as conn, conn.begin():
                    yield conn
            finally:
                snapshot.dispose()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()
