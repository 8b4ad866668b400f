"""A marketer sends the backfill to a Braze workspace, in a real browser.

The web app, the Shopify emulator and the Braze stand-in (``python -m braze_emulator
serve``, its own process) run on real local ports. The browser connects the store with a
token, opens the wizard, chooses "Braze workspace", types a wrong key (refused by Braze,
shown on the form, the other values kept), then the right one, starts, watches the
delivery's figures move and reads the delivery in the report. The destination step is
written to ``docs/screenshots/braze-destination.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from graphql import GraphQLSchema
from playwright.sync_api import Browser, Page, expect

from braze_emulator.served import KEY, ServedBraze, serve_braze
from emulator_fixtures import serve_on_port
from shopify_backfill.destinations.braze.tables import braze_destinations
from shopify_backfill.web import create_app
from shopify_backfill.web.accounts import add_user
from shopify_backfill.wiring import Services, build_services
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig, FaultPlan
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore

from .conftest import PASSWORD, SCREENSHOTS, PageWatch, store_now, watch_page, web_settings
from .served import bound_socket, serve_socket, url_of

pytestmark = pytest.mark.browser

EMAIL = "marketer@acme.example"


def test_backfill_to_a_braze_workspace(
    browser: Browser, admin_schema: GraphQLSchema, tmp_path: Path
) -> None:
    store = ShopStore.generate(None, customers=40, orders=100, seed=13, now=store_now())
    emulator = create_emulator_app(store, schema=admin_schema, config=EmulatorConfig())
    runtime: EmulatorRuntime = emulator.state.runtime
    sock = bound_socket()
    try:
        with (
            serve_on_port(emulator) as shopify_url,
            serve_braze(tmp_path / "braze") as braze,
        ):
            settings = web_settings(
                tmp_path / "data", app_url=url_of(sock), shopify_api_url=shopify_url
            )
            services = build_services(settings)
            with services.engine.begin() as conn:
                add_user(conn, email=EMAIL, password=PASSWORD, workspace="Acme", now=store_now())
            app = create_app(services)  # Braze over the network: the stand-in's port
            with serve_socket(app, sock) as base:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                watch = watch_page(page)
                try:
                    journey(page, base, runtime, braze, services, watch)
                    watch.assert_clean("Braze journey")
                finally:
                    page.close()
                app.state.web.jobs.wait(timeout=120)
            services.dispose()
    finally:
        runtime.bulk.shutdown()
        store.close()


def journey(
    page: Page,
    base: str,
    runtime: EmulatorRuntime,
    braze: ServedBraze,
    services: Services,
    watch: PageWatch,
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Shopify", exact=True)).to_be_visible()

    # Connect with a custom app's token, then the wizard's toggle and preview.
    page.get_by_text("Use a custom app's access token instead").click()
    page.locator("#token-shop").fill(runtime.store.shop_domain)
    page.get_by_label("Admin API access token").fill(runtime.seed_grant.token)
    page.get_by_role("button", name="Connect with token").click()
    expect(page.get_by_role("status")).to_have_text("Store connected.")
    page.goto(f"{base}/stores")
    page.get_by_role("link", name="Start Data Backfill").click()
    page.get_by_role("switch", name="Backfill historical Shopify data").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Destination")).to_be_visible()

    # The profile store is the default; the Braze fields show once Braze is chosen.
    embedded = page.get_by_role("radio", name=re.compile("This platform's profile store"))
    expect(embedded).to_be_checked()
    endpoint = page.get_by_label("REST endpoint")
    expect(endpoint).to_be_hidden()
    page.get_by_role("radio", name=re.compile("^Braze workspace")).check()
    expect(endpoint).to_be_visible()

    # A wrong key: Braze refuses it; the form says so and keeps everything but the key.
    page.get_by_label("Name", exact=True).fill("prod")
    endpoint.fill(braze.url)
    key = page.get_by_label("REST API key")
    key.fill("not-the-key")
    page.get_by_label("Objects per request").select_option("50")
    with watch.expecting(422, r"/wizard/destinations$"):  # the form, answered 422
        page.get_by_role("button", name="Check the key and add").click()
        expect(page.locator("#braze-key-error")).to_contain_text("Braze refused this API key (401)")
    expect(endpoint).to_have_value(braze.url)
    expect(page.get_by_label("Name", exact=True)).to_have_value("prod")
    expect(page.get_by_label("Objects per request")).to_have_value("50")
    expect(key).to_have_value("")
    assert "not-the-key" not in page.content()
    with services.engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(braze_destinations)
        assert conn.execute(count).scalar() == 0

    # The right key: checked on Braze, stored, chosen.
    key.fill(KEY)
    page.get_by_role("button", name="Check the key and add").click()
    expect(page.get_by_role("status")).to_contain_text("Braze workspace added")
    expect(page.get_by_role("radio", name=re.compile("^Braze workspace"))).to_be_checked()
    host = braze.url.removeprefix("http://")
    expect(page.get_by_label("Braze workspace to deliver to")).to_have_value("prod")
    expect(page.locator("#destination-name option")).to_have_text(
        f"prod: {host} (50 objects per request)"
    )
    assert KEY not in page.content()
    page.locator("#destination").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "braze-destination.png"), full_page=True)

    # Start; the delivery's figures move while it runs, then the report.
    runtime.faults.replace(FaultPlan(latency_seconds=0.1))  # slow enough to watch
    braze.faults(latency_seconds=0.2)
    page.get_by_label(re.compile("runs only once")).check()
    page.locator('button[data-action="next"]').click()
    expect(page).to_have_url(re.compile(r"/backfills/\d+"))
    expect(page.locator('[data-destination="braze"]')).to_have_text(
        re.compile(rf"Delivering to Braze workspace\s+prod\s+\({re.escape(host)}\)")
    )
    expect(page.locator("[data-status]")).to_have_text("In Progress")
    expect(page.locator('[data-braze="sent"]')).not_to_have_text("0", timeout=60_000)
    expect(page.locator("[data-status]")).to_have_text("Completed", timeout=90_000)
    runtime.faults.replace(FaultPlan())
    braze.faults(latency_seconds=0.0)

    delivery = page.locator("[data-delivery]")
    expect(delivery.get_by_role("heading")).to_have_text(
        f"Delivered to Braze workspace prod ({host})"
    )
    stats = braze.stats()
    accepted = stats["requests"].get("201", 0) + stats["requests"].get("202", 0)
    assert accepted > 0, stats
    expect(page.locator('[data-delivery-figure="requests"]')).to_have_text(f"{accepted:,}")
    expect(page.locator('[data-delivery-figure="uncertain"]')).to_have_text("0")
    expect(page.locator("[data-uncertain]")).to_contain_text("No request was in flight")
    assert len(braze.users()) > 0
    assert KEY not in page.content()
