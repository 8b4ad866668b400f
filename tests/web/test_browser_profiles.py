"""After Completed in a real browser: from the report to one customer's purchases.

The backfill is run through the app's API (the journey up to Completed is
``test_browser.py``'s); then Chromium logs in, opens the completed report, follows its
link to the imported profiles, searches a customer by email, opens the profile and sees
its purchases. Writes ``docs/screenshots/profiles.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from shopify_backfill.profiles.schema import purchases, users
from shopify_backfill.web import create_app
from shopify_backfill.wiring import build_services

from .conftest import PASSWORD, SCREENSHOTS, Shop, make_user, watch_page, web_settings
from .served import bound_socket, serve_socket, url_of

pytestmark = pytest.mark.browser

START = {"enable": True, "acknowledge_runs_once": True}


def test_report_to_profiles_to_purchases(browser: Browser, shop: Shop, tmp_path: Path) -> None:
    sock = bound_socket()
    services = build_services(web_settings(tmp_path / "data", app_url=url_of(sock)))
    app = create_app(services, transport=shop.transport)
    alice = make_user(services, app, "alice@acme.example", "Acme")
    try:
        store = alice.post("/api/v1/stores", json={"shop": shop.domain, "token": shop.token})
        started = alice.post(f"/api/v1/stores/{store.json()['id']}/backfill", json=START)
        assert started.status_code == 202, started.text
        app.state.web.jobs.wait(timeout=120)
        backfill_id = started.json()["backfill_id"]
        with services.engine.connect() as conn:
            email, bought = conn.execute(
                sa.select(users.c.email, sa.func.count(purchases.c.id))
                .join(purchases, purchases.c.user_id == users.c.id)
                .where(users.c.workspace_id == alice.workspace_id, users.c.email.is_not(None))
                .group_by(users.c.id, users.c.email)
                .order_by(sa.func.count(purchases.c.id).desc(), users.c.id)
                .limit(1)
            ).one()
        assert bought > 0

        with serve_socket(app, sock) as base:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            watch = watch_page(page)
            try:
                page.goto(f"{base}/backfills/{backfill_id}")
                page.get_by_label("Email").fill(alice.email)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_role("heading", name="Completed")).to_be_visible()
                expect(page.locator("[data-segment-size]")).not_to_have_text("0")

                page.get_by_role("link", name="Open the imported profiles").click()
                expect(page).to_have_url(re.compile(r"/profiles$"))
                page.get_by_label("Search by email, phone or Shopify customer id").fill(email)
                page.get_by_role("button", name="Search").click()
                expect(page.locator("tr[data-profile-id]")).to_have_count(1)
                row = page.locator("tr[data-profile-id]")
                expect(row).to_contain_text(email)
                row.get_by_role("link").click()

                expect(page).to_have_url(re.compile(r"/profiles/\d+$"))
                expect(page.locator('[data-attribute="email"]')).to_have_text(email)
                expect(page.locator("tr[data-purchase]")).to_have_count(min(bought, 200))
                expect(page.locator("[data-purchases-total]")).to_contain_text(
                    f"{bought:,} purchase"
                )
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                # The purchases at the top of the picture (the page goes on for long).
                page.evaluate("document.getElementById('purchases-heading').scrollIntoView()")
                page.screenshot(path=str(SCREENSHOTS / "profiles.png"))
                watch.assert_clean("report to profile")
            finally:
                page.close()
    finally:
        app.state.web.jobs.wait(timeout=120)
        alice.client.__exit__(None, None, None)
        services.dispose()
