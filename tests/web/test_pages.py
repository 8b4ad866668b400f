"""What every page has and says: notices only where they apply, the navigation on error
pages, a favicon, and plain, consistent words (statuses, campaign kinds, report rows)."""

from __future__ import annotations

import re

from .conftest import Web

START = {"enable": True, "acknowledge_runs_once": True}
NOT_ENABLED = "The backfill was not enabled"


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
