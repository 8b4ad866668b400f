"""The pictures in Chromium: the preview's chart (screenshot), progress bars that move, and
the "Working…" state of a slow button, with no console error, failed request or 400+
response on the way (``conftest.watch_page``)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from graphql import GraphQLSchema
from playwright.sync_api import Browser, expect

from emulator_fixtures import serve_on_port
from shopify_backfill.web import create_app
from shopify_backfill.web.accounts import add_user
from shopify_backfill.wiring import build_services
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig, FaultPlan
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore

from .conftest import PASSWORD, SCREENSHOTS, store_now, watch_page, web_settings
from .served import bound_socket, serve_socket, url_of

pytestmark = pytest.mark.browser

EMAIL = "charts@acme.example"
BUSY_PROBE = """
document.addEventListener("submit", () => setTimeout(() => sessionStorage.setItem("busy",
  [...document.querySelectorAll("button[type=submit]:disabled")].map((b) => b.textContent)
    .join("|")), 20));
"""
"""Records the disabled buttons' words just after a submit; sessionStorage outlives the
navigation that follows, so the test reads it on the next page."""


def test_chart_and_moving_progress(
    browser: Browser, admin_schema: GraphQLSchema, tmp_path: Path
) -> None:
    store = ShopStore.generate(None, customers=60, orders=240, seed=5, now=store_now())
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
                add_user(conn, email=EMAIL, password=PASSWORD, workspace="Acme", now=store_now())
            app = create_app(services)
            with serve_socket(app, sock) as base:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                watch = watch_page(page)
                page.add_init_script(BUSY_PROBE)
                try:
                    page.goto(f"{base}/login")
                    page.get_by_label("Email").fill(EMAIL)
                    page.get_by_label("Password").fill(PASSWORD)
                    page.get_by_role("button", name="Log in").click()
                    page.get_by_text("Use a custom app's access token instead").click()
                    page.locator("#token-shop").fill(store.shop_domain)
                    page.get_by_label("Admin API access token").fill(runtime.seed_grant.token)
                    page.get_by_role("button", name="Connect with token").click()
                    expect(page.get_by_role("status")).to_have_text("Store connected.")
                    page.get_by_role("link", name="Start Data Backfill").click()
                    page.get_by_role("switch", name="Backfill historical Shopify data").check()
                    runtime.faults.replace(FaultPlan(latency_seconds=0.3))  # a slow preview
                    page.get_by_role("button", name="Next").click()
                    expect(page.get_by_role("heading", name="Preview")).to_be_visible(
                        timeout=60_000
                    )
                    # While the preview was computed, the pressed button said so.
                    busy = page.evaluate("sessionStorage.getItem('busy')")
                    assert busy == "Working…", busy
                    chart = page.get_by_role("img", name=re.compile("^Orders per day"))
                    expect(chart).to_be_visible()
                    assert page.locator("[data-chart] rect[data-day]").count() >= 90
                    expect(page.locator("[data-chart-summary]")).to_contain_text("busiest day")
                    page.locator("#preview").screenshot(path=str(SCREENSHOTS / "preview-chart.png"))

                    runtime.faults.replace(FaultPlan(latency_seconds=0.15))  # watchable
                    page.get_by_label(re.compile("runs only once")).check()
                    page.locator('button[data-action="next"]').click()
                    expect(page).to_have_url(re.compile(r"/backfills/\d+"))
                    bar = page.get_by_role("progressbar", name="Orders")
                    expect(bar).to_be_visible()
                    seen: set[str] = set()
                    deadline = time.monotonic() + 90
                    while time.monotonic() < deadline:
                        if page.locator("[data-status]").inner_text() == "Completed":
                            break
                        if bar.count():
                            for kind in ("customers", "orders"):
                                value = page.locator(f'progress[data-bar="{kind}"]')
                                now = value.get_attribute("aria-valuenow")
                                if now is not None:
                                    seen.add(f"{kind}:{now}")
                        time.sleep(0.1)
                    orders_seen = {v for v in seen if v.startswith("orders:")}
                    assert len(orders_seen) >= 2, seen  # the bar moved while we watched
                    expect(page.locator("[data-status]")).to_have_text("Completed", timeout=90_000)
                    runtime.faults.replace(FaultPlan())
                    expect(page.locator('[data-bars="written"] li')).to_have_count(5)
                    watch.assert_clean("chart and progress")
                finally:
                    page.close()
                app.state.web.jobs.wait(timeout=120)
            services.dispose()
    finally:
        runtime.bulk.shutdown()
        store.close()
