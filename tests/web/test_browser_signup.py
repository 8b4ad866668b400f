"""A new merchant in a real browser: sign up, connect the store through the consent screen.

The web app and the emulator (``oauth_consent="screen"``, as ``emulator serve`` runs it)
serve on real local ports. The browser signs up on ``/signup``, lands on the partner page,
starts the connection, cancels on Shopify's consent screen (and is told so), starts again
and presses Install. Writes ``docs/screenshots/signup.png`` and ``consent.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from graphql import GraphQLSchema
from playwright.sync_api import Browser, expect

from emulator_fixtures import serve_on_port
from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.web import create_app
from shopify_backfill.web.tables import web_users
from shopify_backfill.wiring import build_services
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore

from .conftest import PASSWORD, SCREENSHOTS, store_now, watch_page, web_settings
from .served import bound_socket, serve_socket, url_of

pytestmark = pytest.mark.browser

EMAIL = "new.merchant@initech.example"


def test_sign_up_then_connect_through_the_consent_screen(
    browser: Browser, admin_schema: GraphQLSchema, tmp_path: Path
) -> None:
    store = ShopStore.generate(None, customers=10, orders=20, seed=5, now=store_now())
    config = EmulatorConfig(oauth_consent="screen")
    emulator = create_emulator_app(store, schema=admin_schema, config=config)
    runtime: EmulatorRuntime = emulator.state.runtime
    sock = bound_socket()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with serve_on_port(emulator) as shopify_url:
            settings = web_settings(
                tmp_path / "data", app_url=url_of(sock), shopify_api_url=shopify_url
            )
            services = build_services(settings)
            app = create_app(services)
            with serve_socket(app, sock) as base:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                watch = watch_page(page)
                try:
                    page.goto(f"{base}/login")
                    page.get_by_role("link", name="Create an account").click()
                    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
                    page.get_by_label("Email").fill(EMAIL)
                    page.get_by_label("Password").fill(PASSWORD)
                    page.get_by_label("Workspace name").fill("Initech")
                    page.screenshot(path=str(SCREENSHOTS / "signup.png"), full_page=True)
                    page.get_by_role("button", name="Create account").click()
                    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
                    expect(page.locator(".who")).to_have_text(f"{EMAIL} · Initech")

                    domain = runtime.store.shop_domain
                    page.get_by_label("Store domain").first.fill(domain)
                    page.get_by_role("button", name="Connect with Shopify").click()
                    expect(
                        page.get_by_role("heading", name="Install shopify-backfill?")
                    ).to_be_visible()
                    expect(page.locator("[data-shop]")).to_have_text(domain)
                    expect(page.locator("[data-scopes] li")).to_contain_text(
                        ["View all orders, including those older than 60 days"]
                    )
                    page.screenshot(path=str(SCREENSHOTS / "consent.png"), full_page=True)

                    # Cancel: back on the partner page, told nothing was connected.
                    page.get_by_role("button", name="Cancel").click()
                    expect(page).to_have_url(re.compile(r"/stores\?notice=connect_cancelled$"))
                    expect(page.get_by_role("status")).to_contain_text("cancelled on Shopify")

                    # Again, and Install.
                    page.get_by_label("Store domain").first.fill(domain)
                    page.get_by_role("button", name="Connect with Shopify").click()
                    page.get_by_role("button", name="Install").click()
                    expect(page.get_by_role("status")).to_have_text("Store connected.")
                    watch.assert_clean("sign-up and connection")
                finally:
                    page.close()
            with services.engine.connect() as conn:
                workspace = conn.execute(
                    sa.select(web_users.c.workspace_id).where(web_users.c.email == EMAIL)
                ).scalar_one()
                connected = conn.execute(
                    sa.select(shop_connections.c.workspace_id, shop_connections.c.shop_domain)
                ).all()
            assert [tuple(row) for row in connected] == [(workspace, runtime.store.shop_domain)]
            services.dispose()
    finally:
        runtime.bulk.shutdown()
        store.close()
