"""The app as a whole: OpenAPI coverage, security headers, static files, migration 0004."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

import shopify_backfill.backfill.tables
import shopify_backfill.campaigns.tables
import shopify_backfill.web.tables
from shopify_backfill.profiles import upgrade
from shopify_backfill.profiles.db import alembic_config
from shopify_backfill.profiles.schema import metadata
from store_engines import BACKENDS, migrated_engine

from .conftest import Web

WEB_TABLES = {"web_users", "web_sessions", "api_keys", "oauth_states"}

API_ROUTES = {
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/stores"),
    ("POST", "/api/v1/stores"),
    ("POST", "/api/v1/stores/oauth"),
    ("GET", "/api/v1/stores/{store_id}"),
    ("POST", "/api/v1/stores/{store_id}/reauthorize"),
    ("GET", "/api/v1/stores/{store_id}/preview"),
    ("POST", "/api/v1/stores/{store_id}/audit/fixes"),
    ("POST", "/api/v1/stores/{store_id}/risk-mode"),
    ("POST", "/api/v1/stores/{store_id}/audit/campaigns/{campaign_id}/fix"),
    ("POST", "/api/v1/stores/{store_id}/audit/fixes/{fix_id}/undo"),
    ("POST", "/api/v1/stores/{store_id}/backfill"),
    ("GET", "/api/v1/campaigns"),
    ("GET", "/api/v1/destinations"),
    ("GET", "/api/v1/backfills"),
    ("GET", "/api/v1/backfills/{backfill_id}"),
    ("GET", "/api/v1/backfills/{backfill_id}/events"),
    ("POST", "/api/v1/backfills/{backfill_id}/resume"),
    ("POST", "/api/v1/backfills/{backfill_id}/campaigns/resume"),
    ("GET", "/api/v1/profiles"),
    ("GET", "/api/v1/profiles/{profile_id}"),
    ("GET", "/api/v1/backfills/{backfill_id}/segments/bought-in-window"),
    ("GET", "/api/v1/notifications"),
    ("POST", "/api/v1/notifications/read"),
    ("GET", "/api/v1/api-keys"),
    ("POST", "/api/v1/api-keys"),
    ("DELETE", "/api/v1/api-keys/{key_id}"),
}


def test_openapi_documents_every_api_action(web: Web) -> None:
    schema = web.anonymous().get("/api/v1/openapi.json").json()
    documented = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    assert documented == API_ROUTES
    start = schema["paths"]["/api/v1/stores/{store_id}/backfill"]["post"]
    assert "acknowledge_runs_once" in str(schema["components"]["schemas"]["StartBackfill"])
    assert start["summary"] == "Start the backfill (once)"
    events = schema["paths"]["/api/v1/backfills/{backfill_id}/events"]["get"]
    assert "text/event-stream" in events["responses"]["200"]["content"]


def test_pages_carry_security_headers_and_static_files_are_served(web: Web) -> None:
    page = web.alice.get("/stores")
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert 'name="csrf-token" content="' in page.text
    css = web.anonymous().get("/static/app.css")
    assert css.status_code == 200 and ":focus-visible" in css.text
    js = web.anonymous().get("/static/app.js")
    assert js.status_code == 200 and "EventSource" in js.text
    assert web.alice.get("/").headers["location"] == "/stores"
    missing = web.alice.get("/no-such-page")
    assert missing.status_code == 404 and "Not found" in missing.text
    assert web.alice.get("/api/v1/stores/abc").json()["error"]["field"] == "path.store_id"


def test_revision_0004_follows_0003() -> None:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0004")
    assert revision is not None and revision.down_revision == "0003"


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    with migrated_engine(request.param, tmp_path_factory.mktemp("web"), "test_web") as built:
        yield built


def test_migrated_store_matches_the_web_tables(engine: Engine) -> None:
    assert shopify_backfill.backfill.tables.backfills.name in metadata.tables
    assert shopify_backfill.campaigns.tables.campaigns.name in metadata.tables
    assert set(shopify_backfill.web.tables.metadata.tables) >= WEB_TABLES
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    try:
        names = set(sa.inspect(engine).get_table_names())
        assert not WEB_TABLES & names and "campaigns" in names
    finally:
        upgrade(engine)
    assert set(sa.inspect(engine).get_table_names()) >= WEB_TABLES
