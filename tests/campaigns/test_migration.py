"""Revision 0003 creates exactly the campaign tables of ``campaigns/tables.py``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

import shopify_backfill.backfill.tables
import shopify_backfill.campaigns.tables
from shopify_backfill.profiles import current_revision, upgrade
from shopify_backfill.profiles.db import alembic_config
from shopify_backfill.profiles.schema import metadata

CAMPAIGN_TABLES = {"campaigns", "triggered_messages", "audit_fixes"}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_0003_follows_the_backfill_job_revision() -> None:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0003")
    assert revision is not None
    assert revision.down_revision == "0002"


def test_migrated_store_matches_the_campaign_tables(engine: Engine) -> None:
    assert current_revision(engine) == HEAD
    assert set(metadata.tables) >= CAMPAIGN_TABLES
    assert shopify_backfill.backfill.tables.backfills.name in metadata.tables
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_0002_removes_only_the_campaign_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
    try:
        names = set(sa.inspect(engine).get_table_names())
        assert not CAMPAIGN_TABLES & names
        assert {"backfills", "users", "workspaces"} <= names
    finally:
        upgrade(engine)
    assert current_revision(engine) == HEAD
    assert set(sa.inspect(engine).get_table_names()) >= CAMPAIGN_TABLES
