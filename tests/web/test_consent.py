"""The emulator's consent screen (Install / Cancel) and what the page says after each.

The emulator is switched to ``oauth_consent="screen"`` (``emulator serve``'s default);
the other tests keep the config's ``auto`` and ``conftest.follow_oauth``.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.web.tables import oauth_states

from .conftest import BASE_URL, Web

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def screen(web: Web) -> Web:
    runtime = web.shop.runtime
    runtime.config = runtime.config.model_copy(update={"oauth_consent": "screen"})
    return web


def consent_page(web: Web) -> tuple[httpx.Response, dict[str, str]]:
    start = web.alice.form("/stores/oauth", {"shop": web.shop.domain})
    assert start.status_code == 303, start.text
    with httpx.Client(transport=web.shop.transport) as shopify:
        page = shopify.get(start.headers["location"])
    assert page.status_code == 200, page.text
    return page, {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}


def decide(web: Web, fields: dict[str, str], decision: str) -> httpx.Response:
    with httpx.Client(transport=web.shop.transport, base_url="https://shopify.test") as shopify:
        answer = shopify.post("/admin/oauth/authorize", data={**fields, "decision": decision})
    assert answer.status_code == 303, answer.text
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == BASE_URL
    return web.alice.get(f"{target.path}?{target.query}")


def stores_of(web: Web) -> list[str]:
    with web.services.engine.connect() as conn:
        return [
            str(shop)
            for shop in conn.execute(
                sa.select(shop_connections.c.shop_domain).where(
                    shop_connections.c.workspace_id == web.alice.workspace_id
                )
            ).scalars()
        ]


def test_consent_screen_names_the_app_the_shop_and_the_scopes_in_words(screen: Web) -> None:
    page, fields = consent_page(screen)
    text = page.text
    assert "Install shopify-backfill?" in text
    assert f"data-shop>{screen.shop.domain}<" in text
    assert "View all orders, including those older than 60 days" in text
    assert "View customers" in text and "<code>read_all_orders</code>" in text
    assert 'value="install"' in text and 'value="cancel"' in text
    assert set(fields) == {"client_id", "scope", "redirect_uri", "state"}
    assert stores_of(screen) == []  # nothing granted before Install
    # Its own (empty) icon: a browser does not ask the stand-in for /favicon.ico (a 404).
    assert '<link rel="icon" href="data:,">' in text
    with httpx.Client(transport=screen.shop.transport, base_url="https://shopify.test") as shopify:
        assert shopify.get("/favicon.ico").status_code == 404


def test_install_connects_the_store(screen: Web) -> None:
    _, fields = consent_page(screen)
    landed = decide(screen, fields, "install")
    assert landed.status_code == 303 and "notice=connected" in landed.headers["location"]
    assert stores_of(screen) == [screen.shop.domain]


def test_cancel_returns_to_the_page_with_a_clear_message(screen: Web) -> None:
    _, fields = consent_page(screen)
    landed = decide(screen, fields, "cancel")
    assert landed.status_code == 303
    assert landed.headers["location"] == "/stores?notice=connect_cancelled"
    page = screen.alice.get(landed.headers["location"])
    assert "The installation was cancelled on Shopify" in page.text
    assert stores_of(screen) == []
    with screen.services.engine.connect() as conn:
        assert conn.execute(sa.select(oauth_states.c.used_at)).scalar_one() is not None
    # The cancelled flow cannot be finished afterwards with the same state.
    late = decide(screen, fields, "install")
    assert late.status_code == 400 and stores_of(screen) == []
    assert "What to do:" in late.text


def test_a_failed_connection_says_what_failed_and_what_to_do(screen: Web) -> None:
    _, fields = consent_page(screen)
    with httpx.Client(transport=screen.shop.transport, base_url="https://shopify.test") as shopify:
        answer = shopify.post("/admin/oauth/authorize", data={**fields, "decision": "install"})
    target = urlsplit(answer.headers["location"])
    params = dict(parse_qsl(target.query))
    params["code"] = params["code"] + "x"  # altered: the signature no longer matches
    failed = screen.alice.get(target.path, params=params)
    assert failed.status_code == 400
    assert "The store was not connected" in failed.text
    assert "signature (hmac) does not match" in failed.text
    assert "What to do:" in failed.text and "Connect with Shopify" in failed.text
    assert "Something went wrong" not in failed.text
    assert stores_of(screen) == []
