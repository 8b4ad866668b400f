"""The merchant's journey in a real browser (Debian Chromium through Playwright).

The web app and the emulator run on real local ports; the browser logs in, connects the
store through the OAuth pages, is told to reauthorize (the install lacks
``read_all_orders``), does so, opens the wizard, applies the audit's fixes, starts
(with a double click), watches the progress reach Completed, sees the notification and
opens the report, with no console error, failed request or 400+ response on the way
(``conftest.watch_page``). Screenshots for the README are written to ``docs/screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from graphql import GraphQLSchema
from playwright.sync_api import Browser, Page, expect

from emulator_fixtures import serve_on_port
from shopify_backfill.backfill.tables import backfills
from shopify_backfill.campaigns import list_campaigns
from shopify_backfill.web import create_app
from shopify_backfill.web.accounts import add_user
from shopify_backfill.wiring import build_services
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import DEFAULT_GRANTABLE_SCOPES, EmulatorConfig, FaultPlan
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore

from .conftest import (
    PASSWORD,
    READ_ONLY_LEGACY,
    SCREENSHOTS,
    store_now,
    watch_page,
    web_settings,
)
from .served import bound_socket, serve_socket, url_of

pytestmark = pytest.mark.browser

EMAIL = "merchant@acme.example"
CAMPAIGNS = (
    {
        "name": "Order follow-up",
        "kind": "canvas",
        "start_at": "2026-01-01T00:00:00Z",
        "trigger": {"type": "perform_custom_event", "event_name": "shopify_created_order"},
    },
    {
        "name": "Big spender",
        "start_at": "2026-01-01T00:00:00Z",
        "trigger": {"type": "change_custom_attribute_value", "attribute": "shopify_total_spent"},
    },
)


def test_merchant_journey(browser: Browser, admin_schema: GraphQLSchema, tmp_path: Path) -> None:
    store = ShopStore.generate(None, customers=40, orders=100, seed=11, now=store_now())
    # The app's existing install predates read_all_orders: Shopify grants only these.
    config = EmulatorConfig(grantable_scopes=tuple(READ_ONLY_LEGACY))
    emulator = create_emulator_app(store, schema=admin_schema, config=config)
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
            app = create_app(services)
            with serve_socket(app, sock) as base:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                watch = watch_page(page)  # no console error, failed request or 400+
                try:
                    journey(page, base, runtime, services, workspace_id)
                    watch.assert_clean("journey")
                    phone_width(browser, base, page)
                finally:
                    page.close()
                app.state.web.jobs.wait(timeout=120)
            services.dispose()
    finally:
        runtime.bulk.shutdown()
        store.close()


def journey(
    page: Page, base: str, runtime: EmulatorRuntime, services: object, workspace_id: int
) -> None:
    from shopify_backfill.campaigns import add_campaigns, parse_spec
    from shopify_backfill.profiles.schema import workspaces
    from shopify_backfill.wiring import Services

    assert isinstance(services, Services)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # Log in with the keyboard only: the email field has the focus, Tab, Enter.
    page.goto(f"{base}/stores")
    expect(page).to_have_url(re.compile(r"/login\?next=/stores$"))
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Shopify", exact=True)).to_be_visible()

    # Connect through the OAuth pages of the (emulated) shop.
    page.get_by_label("Store domain").first.fill(runtime.store.shop_domain)
    page.get_by_role("button", name="Connect with Shopify").click()
    expect(page.get_by_role("status")).to_have_text("Store connected.")
    expect(page.get_by_text("Reauthorize access required.")).to_be_visible()
    expect(page.get_by_role("button", name="Start Data Backfill")).to_be_disabled()
    page.goto(f"{base}/stores")
    page.screenshot(path=str(SCREENSHOTS / "partner-page-reauthorize.png"), full_page=True)

    # Shopify now grants read_all_orders; the merchant reauthorizes.
    runtime.config = runtime.config.model_copy(
        update={"grantable_scopes": DEFAULT_GRANTABLE_SCOPES}
    )
    page.get_by_role("button", name="Reauthorize access").click()
    expect(page.get_by_role("status")).to_contain_text("Access reauthorized")
    expect(page.get_by_text("Reauthorize access required.")).to_have_count(0)

    # Campaigns that the backfill would trigger in seed-compatible mode.
    with services.engine.begin() as conn:
        add_campaigns(conn, workspace_id, [parse_spec(spec) for spec in CAMPAIGNS])
        conn.execute(
            sa.update(workspaces)
            .where(workspaces.c.id == workspace_id)
            .values(trigger_historical=True)
        )
    page.goto(f"{base}/stores")
    page.screenshot(path=str(SCREENSHOTS / "partner-page.png"), full_page=True)

    # The wizard: toggle, Next, preview with the risk audit.
    page.get_by_role("link", name="Start Data Backfill").click()
    page.get_by_role("switch", name="Backfill historical Shopify data").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    expect(page.locator('[data-figure="orders"]')).not_to_have_text("0")
    expect(page.locator("tr[data-campaign]")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "wizard-preview.png"), full_page=True)
    page.get_by_role("button", name="Apply all fixes").click()
    expect(page.get_by_role("status")).to_have_text("The audit's fixes were applied.")
    expect(page.locator("[data-applied-fixes] li")).to_have_count(2)
    expect(page.locator('[data-figure="predicted-messages"] strong')).to_have_text("0")
    with services.engine.connect() as conn:
        statuses = {c.name: c.status for c in list_campaigns(conn, workspace_id)}
    assert statuses == {"Order follow-up": "active", "Big spender": "paused"}

    # Next requires the acknowledgement; a double click starts one backfill.
    runtime.faults.replace(FaultPlan(latency_seconds=0.1))  # slow enough to watch
    posts: list[str] = []
    page.on(
        "request",
        lambda request: (
            posts.append(request.url)
            if request.method == "POST" and request.url.endswith("/wizard/next")
            else None
        ),
    )
    next_button = page.locator('button[data-action="next"]')
    next_button.click()
    expect(page).to_have_url(re.compile(r"/wizard\?backfill=on"))  # the checkbox is required
    assert posts == []
    page.get_by_label(re.compile("runs only once")).check()
    next_button.dblclick()
    expect(page).to_have_url(re.compile(r"/backfills/\d+"))
    expect(page.locator("[data-status]")).to_have_text("In Progress")
    expect(page.locator('progress[data-bar="orders"]')).to_be_visible()
    expect(page.locator("[data-status]")).to_have_text("Completed", timeout=90_000)
    runtime.faults.replace(FaultPlan())
    with services.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(backfills)).scalar() == 1
    assert len(posts) == 1, posts

    # The report, with the campaigns the audit paused.
    expect(page.get_by_role("heading", name="Completed")).to_be_visible()
    expect(page.locator('[data-report="orders-imported"]')).not_to_have_text("0")
    expect(page.locator('[data-paused="Big spender"]')).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "completed-report.png"), full_page=True)

    # The bell: started + completed; the notification opens the report.
    expect(page.locator("[data-unread]")).to_have_text("2")
    page.locator("[data-bell]").click()
    completed = page.locator('[data-notification="completed"]')
    expect(completed).to_contain_text("completed")
    completed.get_by_role("link", name="Open the report").click()
    expect(page.get_by_role("heading", name="Completed")).to_be_visible()
    page.get_by_role("button", name="Resume these campaigns").click()
    expect(page.get_by_role("status")).to_contain_text("were resumed")
    with services.engine.connect() as conn:
        statuses = {c.name: c.status for c in list_campaigns(conn, workspace_id)}
    assert statuses["Big spender"] == "active"


def phone_width(browser: Browser, base: str, logged_in: Page) -> None:
    """Readable at 375 px: nothing wider than the screen, the main action reachable."""
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, storage_state=logged_in.context.storage_state()
    )
    phone = context.new_page()
    watch = watch_page(phone)
    try:
        for path in ("/stores", "/notifications"):
            phone.goto(f"{base}{path}")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, (path, width)
        phone.goto(f"{base}/stores")
        phone.screenshot(path=str(SCREENSHOTS / "partner-page-phone.png"), full_page=True)
        link = phone.get_by_role("link", name="View report")
        expect(link).to_be_visible()
        link.focus()
        expect(link).to_be_focused()
        watch.assert_clean("phone width")
    finally:
        context.close()
