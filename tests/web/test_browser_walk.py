"""Issue 18's acceptance walk: a new marketer, start to finish, in one real browser.

The web app, the emulator (consent screen on, as ``emulator serve`` runs it) and a real
SMTP server (aiosmtpd) run on local ports. Chromium signs up, connects the store with
Install on Shopify's consent screen, switches the risk mode to seed-compatible, pauses
one at-risk campaign and undoes it, starts the backfill, watches the bars move, reads
the completed report, opens the completion email as received by the SMTP server and
follows its report link, then finds a profile by email and sees its purchases.

No page may log a console error, throw, fail a request or answer 400+ on the way
(``watch_page``). One screenshot per step: ``docs/screenshots/walk-NN-*.png``, listed in
docs/web.md "The marketer's walk".
"""

from __future__ import annotations

import re
import socket
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from graphql import GraphQLSchema
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from emulator_fixtures import serve_on_port
from shopify_backfill.campaigns import add_campaigns, list_campaigns, parse_spec, risk_mode
from shopify_backfill.profiles.schema import purchases, users
from shopify_backfill.web import create_app
from shopify_backfill.web.tables import web_users
from shopify_backfill.wiring import Services, build_services
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig, FaultPlan
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore

from .conftest import PASSWORD, SCREENSHOTS, PageWatch, store_now, watch_page, web_settings
from .served import bound_socket, serve_socket, url_of
from .test_backfill_flow import RISKY
from .test_profiles import Inbox, Links

pytestmark = pytest.mark.browser

EMAIL = "new.marketer@umbrella.example"
WORKSPACE = "Umbrella"
AT_RISK = "Order count changed"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_marketers_walk(browser: Browser, admin_schema: GraphQLSchema, tmp_path: Path) -> None:
    store = ShopStore.generate(None, customers=40, orders=120, seed=7, now=store_now())
    emulator = create_emulator_app(
        store, schema=admin_schema, config=EmulatorConfig(oauth_consent="screen")
    )
    runtime: EmulatorRuntime = emulator.state.runtime
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    sock = bound_socket()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with serve_on_port(emulator) as shopify_url:
            settings = web_settings(
                tmp_path / "data",
                app_url=url_of(sock),
                shopify_api_url=shopify_url,
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
            )
            services = build_services(settings)
            app = create_app(services)
            with serve_socket(app, sock) as base:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                watch = watch_page(page)
                try:
                    walk(page, watch, base, runtime, services, inbox)
                finally:
                    runtime.faults.replace(FaultPlan())
                    page.close()
                app.state.web.jobs.wait(timeout=120)
            services.dispose()
    finally:
        controller.stop()
        runtime.bulk.shutdown()
        store.close()


def shot(page: Page, number: int, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"walk-{number:02d}-{name}.png"), full_page=True)


def walk(
    page: Page,
    watch: PageWatch,
    base: str,
    runtime: EmulatorRuntime,
    services: Services,
    inbox: Inbox,
) -> None:
    # 1. Sign up: a new user in a new workspace, logged in at once.
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Workspace name").fill(WORKSPACE)
    shot(page, 1, "signup")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    expect(page.locator(".who")).to_have_text(f"{EMAIL} · {WORKSPACE}")
    watch.assert_clean("sign up")
    workspace_id = seed_campaigns(services)

    # 2. Connect through Shopify's consent screen: Install.
    domain = runtime.store.shop_domain
    page.get_by_label("Store domain").first.fill(domain)
    page.get_by_role("button", name="Connect with Shopify").click()
    expect(page.get_by_role("heading", name="Install shopify-backfill?")).to_be_visible()
    expect(page.locator("[data-shop]")).to_have_text(domain)
    shot(page, 2, "consent")
    page.get_by_role("button", name="Install").click()
    expect(page.get_by_role("status")).to_have_text("Store connected.")
    expect(page.get_by_role("link", name="Start Data Backfill")).to_be_visible()
    shot(page, 3, "connected")
    watch.assert_clean("connect")

    # 3. The wizard's preview, in the default (silent) mode, then seed-compatible.
    page.get_by_role("link", name="Start Data Backfill").click()
    page.get_by_role("switch", name="Backfill historical Shopify data").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Preview")).to_be_visible(timeout=60_000)
    mode = page.locator("[data-risk-mode]")
    expect(mode).to_have_attribute("data-risk-mode", "silent")
    expect(page.locator("[data-fix]")).to_have_count(0)
    page.get_by_role("radio", name=re.compile("^Seed-compatible")).check()
    page.get_by_role("button", name="Switch risk mode").click()
    expect(page.get_by_role("status")).to_contain_text("Risk mode switched to seed-compatible")
    expect(mode).to_have_attribute("data-risk-mode", "seed_compatible")
    expect(page.locator('[data-figure="predicted-messages"]')).not_to_contain_text(
        re.compile(r"^\s*0 message")
    )
    row = page.locator(f'tr[data-campaign="{AT_RISK}"]')
    expect(row.locator('[data-fix="pause"]')).to_be_visible()
    page.locator("#risk").scroll_into_view_if_needed()
    shot(page, 4, "risk-mode")
    watch.assert_clean("risk mode")

    # 4. One campaign's fix, confirmed, applied, then undone.
    row.locator('[data-fix="pause"]').click()
    expect(page.locator("[data-confirmation]")).to_contain_text("is paused now and stays paused")
    shot(page, 5, "fix-confirm")
    page.get_by_role("button", name="Pause it").click()
    expect(page.get_by_role("status")).to_contain_text("The fix was applied")
    applied = page.locator("[data-applied-fixes] li")
    expect(applied).to_have_count(1)
    expect(applied).to_contain_text(f"{AT_RISK}: paused during the backfill")
    assert campaign_status(services, workspace_id, AT_RISK) == "paused"
    shot(page, 6, "fix-applied")
    applied.get_by_role("button", name=re.compile("^Undo")).click()
    expect(page.get_by_role("status")).to_contain_text("The fix was undone")
    expect(page.locator("[data-applied-fixes]")).to_have_count(0)
    assert campaign_status(services, workspace_id, AT_RISK) == "active"
    with services.engine.connect() as conn:
        assert risk_mode(conn, workspace_id) == "seed_compatible"
    shot(page, 7, "fix-undone")
    watch.assert_clean("fix and undo")

    # 5. Start; the bars move while Shopify answers slowly enough to watch.
    runtime.faults.replace(FaultPlan(latency_seconds=0.15))
    page.get_by_label(re.compile("runs only once")).check()
    page.locator('button[data-action="next"]').click()
    expect(page).to_have_url(re.compile(r"/backfills/\d+"))
    expect(page.locator("[data-status]")).to_have_text("In Progress")
    report_path = urlpath(page.url)
    seen = watch_bars(page)
    orders_seen = {value for kind, value in seen if kind == "orders"}
    assert len(orders_seen) >= 2, seen  # the orders bar moved while we watched
    expect(page.locator("[data-status]")).to_have_text("Completed", timeout=90_000)
    runtime.faults.replace(FaultPlan())
    watch.assert_clean("progress")

    # 6. The completed report.
    expect(page).to_have_url(f"{base}{report_path}")
    expect(page.get_by_role("heading", name="Completed")).to_be_visible()
    expect(page.locator('[data-report="orders-imported"]')).not_to_have_text("0")
    expect(page.locator("[data-segment-size]")).not_to_have_text("0")
    shot(page, 9, "report")
    watch.assert_clean("report")

    # 7. The completion email, as the SMTP server received it; its report link.
    message = wait_for_email(inbox)
    assert message["To"] == EMAIL, message["To"]
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    markup = html.get_content()
    links = Links()
    links.feed(markup)
    report_url = f"{base}{report_path}"
    assert report_url in links.hrefs, links.hrefs
    # Shown as a mail client would: a blank page of its own (not under the app's CSP).
    page.goto("about:blank")
    page.set_content(markup)
    shot(page, 10, "email")
    full_report = page.get_by_role("link", name="Open the full report")
    expect(full_report).to_have_attribute("href", report_url)
    full_report.click()
    expect(page).to_have_url(report_url)
    expect(page.get_by_role("heading", name="Completed")).to_be_visible()
    shot(page, 11, "email-link")
    watch.assert_clean("email link")

    # 8. A profile found by email, and its purchases.
    email, bought = best_buyer(services, workspace_id)
    page.get_by_role("link", name="Open the imported profiles").click()
    expect(page).to_have_url(re.compile(r"/profiles$"))
    page.get_by_label("Search by email, phone or Shopify customer id").fill(email)
    page.get_by_role("button", name="Search").click()
    found = page.locator("tr[data-profile-id]")
    expect(found).to_have_count(1)
    expect(found).to_contain_text(email)
    shot(page, 12, "profile-search")
    found.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/profiles/\d+$"))
    expect(page.locator('[data-attribute="email"]')).to_have_text(email)
    expect(page.locator("tr[data-purchase]")).to_have_count(min(bought, 200))
    expect(page.locator("[data-purchases-total]")).to_contain_text(f"{bought:,} purchase")
    page.evaluate("document.getElementById('purchases-heading').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "walk-13-purchases.png"))
    watch.assert_clean("profile")


def seed_campaigns(services: Services) -> int:
    """The new workspace's campaigns (the marketer's Braze, stood in by rows), one of
    them at risk in seed-compatible mode; the mode itself stays the default."""
    with services.engine.begin() as conn:
        workspace_id = int(
            conn.execute(
                sa.select(web_users.c.workspace_id).where(web_users.c.email == EMAIL)
            ).scalar_one()
        )
        add_campaigns(conn, workspace_id, [parse_spec(spec) for spec in RISKY])
    return workspace_id


BARS = """() => ({
  status: document.querySelector("[data-status]")?.textContent ?? "",
  bars: [...document.querySelectorAll("progress[data-bar]")]
    .map((bar) => [bar.dataset.bar, bar.getAttribute("aria-valuenow")]),
})"""
"""One read of the status and every bar: the page reloads into the report at the end, so
separate reads could find a bar and then wait for it on a page that no longer has it."""


def watch_bars(page: Page) -> set[tuple[str, str]]:
    """The bars' values seen until Completed (screenshot 08 once the orders bar moves)."""
    seen: set[tuple[str, str]] = set()
    shot_taken = False
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            now = page.evaluate(BARS)
            if now["status"].strip() == "Completed":
                break
            seen |= {(kind, value) for kind, value in now["bars"] if value is not None}
            if not shot_taken and any(k == "orders" and v != "0" for k, v in now["bars"]):
                shot(page, 8, "progress")
                shot_taken = True
        except PlaywrightError:  # the reload into the report, mid-read
            pass
        time.sleep(0.1)
    assert shot_taken, f"the orders bar never moved: {seen}"
    return seen


def wait_for_email(inbox: Inbox, timeout: float = 30) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if inbox.messages:
            assert len(inbox.messages) == 1, [m["Subject"] for m in inbox.messages]
            return inbox.messages[0]
        time.sleep(0.1)
    raise AssertionError("no completion email reached the SMTP server")


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0]


def campaign_status(services: Services, workspace_id: int, name: str) -> str:
    with services.engine.connect() as conn:
        return next(c.status for c in list_campaigns(conn, workspace_id) if c.name == name)


def best_buyer(services: Services, workspace_id: int) -> tuple[str, int]:
    """The imported customer with the most purchases (ties: the first imported)."""
    with services.engine.connect() as conn:
        email, bought = conn.execute(
            sa.select(users.c.email, sa.func.count(purchases.c.id))
            .join(purchases, purchases.c.user_id == users.c.id)
            .where(users.c.workspace_id == workspace_id, users.c.email.is_not(None))
            .group_by(users.c.id, users.c.email)
            .order_by(sa.func.count(purchases.c.id).desc(), users.c.id)
            .limit(1)
        ).one()
    assert bought > 0
    return str(email), int(bought)
