"""Risk handling in a real browser (Debian Chromium through Playwright): the merchant
switches the workspace to seed-compatible mode, reads the audit run again, pauses one
campaign after its confirmation, undoes it, and the page says so at each step.

Writes ``docs/screenshots/risk-mode.png`` (the audit with the per-campaign fixes).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import GraphQLSchema
from playwright.sync_api import Browser, Page, expect

from emulator_fixtures import serve_on_port
from shopify_backfill.campaigns import add_campaigns, list_campaigns, parse_spec, risk_mode
from shopify_backfill.web import create_app
from shopify_backfill.web.accounts import add_user
from shopify_backfill.wiring import Services, build_services
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore

from .conftest import PASSWORD, SCREENSHOTS, store_now, watch_page, web_settings
from .served import bound_socket, serve_socket, url_of
from .test_backfill_flow import RISKY

pytestmark = pytest.mark.browser

EMAIL = "risk@acme.example"


def test_switch_mode_apply_one_fix_and_undo_it(
    browser: Browser, admin_schema: GraphQLSchema, tmp_path: Path
) -> None:
    store = ShopStore.generate(None, customers=30, orders=60, seed=5, now=store_now())
    emulator = create_emulator_app(store, schema=admin_schema, config=EmulatorConfig())
    runtime: EmulatorRuntime = emulator.state.runtime
    sock = bound_socket()
    try:
        with serve_on_port(emulator) as shopify_url:
            settings = web_settings(
                tmp_path / "data", app_url=url_of(sock), shopify_api_url=shopify_url
            )
            services = build_services(settings)
            with services.engine.begin() as conn:
                _, workspace_id = add_user(
                    conn, email=EMAIL, password=PASSWORD, workspace="Acme", now=store_now()
                )
                add_campaigns(conn, workspace_id, [parse_spec(spec) for spec in RISKY])
            app = create_app(services)
            with serve_socket(app, sock) as base:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                watch = watch_page(page)
                try:
                    risk_journey(page, base, runtime, services, workspace_id)
                    watch.assert_clean("risk journey")
                finally:
                    page.close()
            services.dispose()
    finally:
        runtime.bulk.shutdown()


def risk_journey(
    page: Page, base: str, runtime: EmulatorRuntime, services: Services, workspace_id: int
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/stores$"))
    csrf = page.request.get(f"{base}/api/v1/me").json()["csrf_token"]
    connected = page.request.post(
        f"{base}/api/v1/stores",
        data={"shop": runtime.store.shop_domain, "token": runtime.seed_grant.token},
        headers={"X-CSRF-Token": csrf},
    )
    assert connected.status == 201, connected.text()
    store_id = connected.json()["id"]

    page.goto(f"{base}/stores/{store_id}/wizard?backfill=on")
    mode = page.locator("[data-risk-mode]")
    expect(mode).to_have_attribute("data-risk-mode", "silent")
    expect(page.locator('[data-figure="predicted-messages"]')).to_contain_text("0 message")
    expect(page.locator("[data-fix]")).to_have_count(0)

    # Switch to seed-compatible: the page comes back with the audit run again.
    page.get_by_role("radio", name=re.compile("^Seed-compatible")).check()
    page.get_by_role("button", name="Switch risk mode").click()
    expect(page.get_by_role("status")).to_contain_text("Risk mode switched to seed-compatible")
    expect(mode).to_have_attribute("data-risk-mode", "seed_compatible")
    expect(page.locator('[data-figure="predicted-messages"]')).not_to_contain_text(
        re.compile(r"^\s*0 message")
    )
    row = page.locator('tr[data-campaign="Order count changed"]')
    expect(row.locator('[data-fix="pause"]')).to_be_visible()
    expect(row.locator('[data-fix="move_start"]')).to_have_count(0)
    page.locator("#risk").screenshot(path=str(SCREENSHOTS / "risk-mode.png"))

    # One fix, confirmed first.
    row.locator('[data-fix="pause"]').click()
    expect(page.locator("[data-confirmation]")).to_contain_text("is paused now and stays paused")
    page.get_by_role("button", name="Pause it").click()
    expect(page.get_by_role("status")).to_contain_text("The fix was applied")
    applied = page.locator("[data-applied-fixes] li")
    expect(applied).to_have_count(1)
    expect(applied).to_contain_text("Order count changed: paused during the backfill")
    assert _status(services, workspace_id, "Order count changed") == "paused"

    # Undone before the backfill starts.
    applied.get_by_role("button", name=re.compile("^Undo")).click()
    expect(page.get_by_role("status")).to_contain_text("The fix was undone")
    expect(page.locator("[data-applied-fixes]")).to_have_count(0)
    assert _status(services, workspace_id, "Order count changed") == "active"
    with services.engine.connect() as conn:
        assert risk_mode(conn, workspace_id) == "seed_compatible"


def _status(services: Services, workspace_id: int, name: str) -> str:
    with services.engine.connect() as conn:
        return next(c.status for c in list_campaigns(conn, workspace_id) if c.name == name)
