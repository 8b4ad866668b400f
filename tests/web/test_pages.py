"""What every page has and says: notices only where they apply, the navigation on error
pages, a favicon, and plain, consistent words (statuses, campaign kinds, report rows)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.tables import backfills

from .conftest import Web

START = {"enable": True, "acknowledge_runs_once": True}
NOT_ENABLED = "The backfill was not enabled"
ORDER_TRIGGER = {"type": "perform_custom_event", "event_name": "shopify_created_order"}
SINCE = "2026-01-01T00:00:00Z"


def completed_backfill(web: Web) -> tuple[int, int]:
    """A store of Alice's whose backfill really ran: (store id, backfill id)."""
    store = web.connect(web.alice)
    started = web.alice.post(f"/api/v1/stores/{store['id']}/backfill", json=START)
    assert started.status_code == 202, started.text
    web.wait()
    backfill_id: int = started.json()["backfill_id"]
    assert web.alice.get(f"/api/v1/backfills/{backfill_id}").json()["status"] == "completed"
    return store["id"], backfill_id


def notice(page: str) -> str | None:
    found = re.search(r'<div class="notice" role="status">([^<]*)</div>', page)
    return found.group(1) if found else None


def test_a_notice_shows_only_where_it_applies(web: Web) -> None:
    store = web.connect(web.alice)
    fresh = web.alice.get(f"/stores/{store['id']}?notice=not_enabled").text
    assert NOT_ENABLED in (notice(fresh) or "")
    assert notice(web.alice.get(f"/stores/{store['id']}?notice=key_revoked").text) is None
    assert notice(web.alice.get("/stores?notice=not_enabled").text) is None
    assert notice(web.alice.get("/notifications?notice=connected").text) is None

    started = web.alice.post(f"/api/v1/stores/{store['id']}/backfill", json=START)
    assert started.status_code == 202
    web.wait()
    backfill_id = started.json()["backfill_id"]
    done = web.alice.get(f"/stores/{store['id']}?notice=not_enabled").text
    assert "View report" in done and notice(done) is None
    report = web.alice.get(f"/backfills/{backfill_id}?notice=started").text
    assert 'id="report-heading">Completed' in report and notice(report) is None
    assert notice(web.alice.get(f"/backfills/{backfill_id}?notice=resumed").text) is None
    resumed = web.alice.get(f"/backfills/{backfill_id}?notice=campaigns_resumed").text
    assert notice(resumed) == "The campaigns the audit paused were resumed."


def nav_of(page: str) -> str:
    found = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, flags=re.DOTALL)
    assert found, "the page has the main navigation"
    return found.group(1)


def test_not_found_keeps_the_logged_in_users_navigation(web: Web) -> None:
    alice_store = web.connect(web.alice)
    for url in ("/no-such-page", f"/stores/{alice_store['id']}", "/backfills/999999"):
        page = web.bob.get(url)
        assert page.status_code == 404, url
        assert "<h1>Not found</h1>" in page.text
        nav = nav_of(page.text)
        assert web.bob.email in nav and "Globex" in nav and 'href="/notifications"' in nav
        logout = re.search(r'action="/logout".*?name="csrf_token" value="([^"]+)"', nav, re.S)
        assert logout and logout.group(1) == web.bob.csrf  # logging out works from here
        for other in (web.alice.email, "Acme", web.shop.domain):
            assert other not in page.text, (url, other)
    anonymous = web.anonymous().get("/no-such-page")
    assert anonymous.status_code == 404 and 'aria-label="Main"' not in anonymous.text


def test_every_page_links_a_favicon_that_is_served(web: Web) -> None:
    store = web.connect(web.alice)
    anonymous = web.anonymous()
    pages = [
        anonymous.get("/login"),
        anonymous.get("/no-such-page"),
        web.alice.get("/stores"),
        web.alice.get(f"/stores/{store['id']}"),
        web.alice.get(f"/stores/{store['id']}/wizard"),
        web.alice.get("/notifications"),
        web.alice.get("/settings/api-keys"),
        web.alice.get("/nowhere"),
    ]
    assets: set[str] = set()
    for page in pages:
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
        assets.update(re.findall(r'<(?:link|script)[^>]+(?:href|src)="(/[^"]+)"', page.text))
    assert "/static/favicon.svg" in assets
    for asset in sorted(assets):
        assert anonymous.get(asset).status_code == 200, asset
    icon = anonymous.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.content == anonymous.get("/static/favicon.svg").content
    assert icon.content.startswith(b"<svg") and len(icon.content) < 2048


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_a_campaigns_kind_is_not_repeated_after_its_name(web: Web) -> None:
    store = web.connect(web.alice)
    web.add_campaigns(
        web.alice,
        {
            "name": "Order placed canvas",
            "kind": "canvas",
            "start_at": SINCE,
            "trigger": ORDER_TRIGGER,
        },
        {"name": "Order follow-up", "kind": "canvas", "start_at": SINCE, "trigger": ORDER_TRIGGER},
        {"name": "Thank-you", "start_at": SINCE, "trigger": ORDER_TRIGGER},
    )
    page = web.alice.get(f"/stores/{store['id']}/wizard?backfill=on")
    assert page.status_code == 200
    rows = {
        name: text_of(cell)
        for name, cell in re.findall(
            r'<tr data-campaign="([^"]+)">\s*<th scope="row">(.*?)</th>', page.text, re.S
        )
    }
    assert rows == {
        "Order placed canvas": "Order placed canvas",
        "Order follow-up": "Order follow-up Canvas",
        "Thank-you": "Thank-you Campaign",
    }
    audit = text_of(page.text.split('id="risk"', 1)[1].split("</section>", 1)[0])
    assert not re.search(r"\b(\w+) \1\b", audit, flags=re.IGNORECASE), audit
    lines = web.alice.get(f"/api/v1/stores/{store['id']}/preview").json()["risk_audit"]["lines"]
    assert "- Order placed canvas [perform_custom_event]" in " ".join(lines)
    assert "- Order follow-up [canvas, perform_custom_event]" in " ".join(lines)


def report_rows(page: str) -> list[str]:
    report = page.split('id="report"', 1)[1].split("</section>", 1)[0]
    return [text_of(dt).lower() for dt in re.findall(r"<dt[^>]*>(.*?)</dt>", report, re.S)]


def test_the_report_names_each_row_once(web: Web) -> None:
    _, backfill_id = completed_backfill(web)
    view: dict[str, Any] = web.alice.get(f"/api/v1/backfills/{backfill_id}").json()
    assert view["report"]["data_points"]["by_category"].get("purchases", 0) > 0
    page = web.alice.get(f"/backfills/{backfill_id}").text
    rows = report_rows(page) + [
        text_of(label).lower()
        for label in re.findall(r'<span class="hbar-label">(.*?)</span>', page, re.S)
    ]
    assert rows.count("purchases") == 1 and "from purchases" in rows, rows
    within = {}
    for section in re.findall(r"<h3>(.*?)</h3><dl[^>]*>(.*?)</dl>", page, re.S):
        labels = [text_of(dt).lower() for dt in re.findall(r"<dt[^>]*>(.*?)</dt>", section[1])]
        within[section[0]] = labels
        assert len(labels) == len(set(labels)), (section[0], labels)
    assert set(within) == {"Customers", "Orders"}


def test_statuses_read_in_progress_and_completed_everywhere(web: Web) -> None:
    _, backfill_id = completed_backfill(web)
    for page in (web.alice.get("/stores").text, web.alice.get(f"/backfills/{backfill_id}").text):
        assert re.search(r"data-status>Completed<", page), page
    web.connect(web.bob)
    with web.services.engine.begin() as conn:  # a run left by a web process that died
        row = requests.open_backfill(
            conn,
            workspace_id=web.bob.workspace_id,
            shop_domain=web.shop.domain,
            now=datetime.now(UTC),
        )
        requests.start(conn, row, now=datetime.now(UTC) - timedelta(minutes=5))
        conn.execute(  # its worker died mid-run: the lease ran out a minute ago
            sa.update(backfills)
            .where(backfills.c.id == row.id)
            .values(
                lease_owner="gone-host:4242:web",
                lease_expires_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
    assert web.bob.get(f"/api/v1/backfills/{row.id}").json()["resumable"] is True
    orphaned = web.bob.get(f"/backfills/{row.id}").text
    assert "data-status>In Progress<" in orphaned and "No worker is running" in orphaned
    assert "data-status>In Progress<" in web.bob.get("/stores").text
