"""Engines, migrations and exact types on both backends."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

import shopify_backfill
from conftest import Store
from shopify_backfill.errors import ConfigError
from shopify_backfill.profiles import (
    create_engine,
    current_revision,
    scratch_postgres_schema,
    upgrade,
)
from shopify_backfill.profiles.db import alembic_config
from shopify_backfill.profiles.schema import metadata, purchases, users
from store_engines import POSTGRES_URL


def _import_every_table_module() -> None:
    """Each area defines its tables on the shared metadata in its own ``tables`` module."""
    for module in pkgutil.walk_packages(shopify_backfill.__path__, "shopify_backfill."):
        if module.name.endswith(".tables"):
            importlib.import_module(module.name)


def test_migrated_store_matches_the_table_definitions(engine: Engine) -> None:
    upgrade(engine)  # a second upgrade is a no-op
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(engine) == head
    _import_every_table_module()
    assert {"backfills", "campaigns"} <= set(metadata.tables)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_sqlite_engine_is_configured_for_a_shared_writer(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'nested' / 'store.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    engine.dispose()


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(
            sa.insert(purchases).values(
                workspace_id=store.workspace_id,
                user_id=999_999_999,
                product_id="p",
                currency="CAD",
                price=Decimal("1.00"),
                quantity=1,
                time=datetime.now(UTC),
                properties={},
                source="test",
                historical=True,
                created_at=datetime.now(UTC),
            )
        )


def test_money_and_json_numbers_stay_exact(store: Store) -> None:
    price = Decimal("0.10")
    total = Decimal("12345678901234567.890123456789")
    moment = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    with store.engine.begin() as conn:
        user_id = conn.execute(
            sa.insert(users)
            .values(
                workspace_id=store.workspace_id,
                custom_attributes={"total": total, "big_id": 2**63 - 1},
                created_at=moment,
                updated_at=moment,
            )
            .returning(users.c.id)
        ).scalar_one()
        conn.execute(
            sa.insert(purchases).values(
                workspace_id=store.workspace_id,
                user_id=user_id,
                product_id="p",
                currency="CAD",
                price=price,
                quantity=1,
                time=moment,
                properties={"price": price},
                source="test",
                historical=True,
                created_at=moment,
            )
        )
    with store.engine.connect() as conn:
        custom = conn.execute(
            sa.select(users.c.custom_attributes).where(users.c.id == user_id)
        ).scalar_one()
        row = conn.execute(sa.select(purchases).where(purchases.c.user_id == user_id)).one()
    assert custom == {"total": total, "big_id": 2**63 - 1}
    assert isinstance(custom["total"], Decimal)
    assert str(row.price) == "0.10" and isinstance(row.price, Decimal)
    assert row.properties["price"] == price
    assert row.time == moment and row.time.tzinfo is not None


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), store.engine.begin() as conn:
        conn.execute(
            sa.insert(users).values(
                workspace_id=store.workspace_id,
                custom_attributes={},
                created_at=datetime(2026, 1, 1),
                updated_at=datetime.now(UTC),
            )
        )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/db", "unsupported database URL"),
        ("postgresql+psycopg2://localhost/db", "unsupported PostgreSQL driver"),
    ],
)
def test_unsupported_urls_are_refused_with_the_fix(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_engine(url)


def test_invalid_schema_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="invalid PostgreSQL schema name"):
        create_engine(POSTGRES_URL, schema="x; DROP TABLE users")


@pytest.mark.postgres
def test_scratch_schema_is_isolated_and_dropped() -> None:
    with scratch_postgres_schema(POSTGRES_URL, prefix="test_scratch") as engine:
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            tables = conn.exec_driver_sql(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).scalar()
        assert schema is not None and schema.startswith("test_scratch_")
        _import_every_table_module()
        assert tables == len(metadata.tables) + 1  # plus alembic_version
    admin = create_engine(POSTGRES_URL)
    with admin.connect() as conn:
        remaining = conn.exec_driver_sql(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
            (schema,),
        ).scalar()
    admin.dispose()
    assert remaining == 0
