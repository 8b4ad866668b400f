"""Connecting stores: token, OAuth with its checks, reauthorization of a legacy grant."""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.web.tables import web_sessions, web_users

from .conftest import BASE_URL, Web, follow_oauth, login


def test_connect_with_token_hides_and_encrypts_it(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = web.connect(web.alice)
    assert store["shop"] == web.shop.domain
    assert store["reauthorization_required"] is False
    assert store["backfill"]["status_label"] == "Backfill not started"
    listed = web.alice.get("/api/v1/stores").json()["stores"]
    assert [s["id"] for s in listed] == [store["id"]]
    page = web.alice.get("/stores")
    for text in (str(store), str(listed), page.text, caplog.text):
        assert web.shop.token not in text
    with web.services.engine.connect() as conn:
        blob = conn.execute(sa.select(shop_connections.c.access_token_encrypted)).scalar_one()
    assert web.shop.token.encode() not in blob
    detail = web.alice.get(f"/api/v1/stores/{store['id']}")
    assert detail.json()["granted_scopes"] == store["granted_scopes"]
    assert "Start Data Backfill" in web.alice.get(f"/stores/{store['id']}").text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shop": "not a shop", "token": "shpat_x"}, "shop"),
        ({"shop": "evil.example.com", "token": "shpat_x"}, "shop"),
        ({"shop": "emulator-shop.myshopify.com", "token": "   "}, "token"),
        ({"shop": "emulator-shop.myshopify.com", "token": "shpat_wrong"}, "token"),
        ({"shop": "emulator-shop.myshopify.com"}, "token"),
        ({"token": "shpat_x"}, "shop"),
        ({"shop": "emulator-shop.myshopify.com", "token": "x", "extra": 1}, "extra"),
    ],
)
def test_bad_connect_input_names_the_field(web: Web, body: dict[str, object], field: str) -> None:
    response = web.alice.post("/api/v1/stores", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert "shpat_wrong" not in response.text
    assert web.alice.get("/api/v1/stores").json() == {"stores": []}


def test_token_form_shows_the_error_next_to_the_field(web: Web) -> None:
    page = web.alice.form("/stores/token", {"shop": web.shop.domain, "token": "shpat_wrong"})
    assert page.status_code == 422
    assert 'id="token-token-error"' in page.text and "refused this token" in page.text
    assert "shpat_wrong" not in page.text
    oauth = web.alice.form("/stores/oauth", {"shop": "https://bad domain"})
    assert oauth.status_code == 422 and 'id="oauth-shop-error"' in oauth.text
    ok = web.alice.form("/stores/token", {"shop": web.shop.domain, "token": web.shop.token})
    assert ok.status_code == 303 and ok.headers["location"].endswith("?notice=connected")


def oauth_start(web: Web) -> str:
    response = web.alice.form("/stores/oauth", {"shop": web.shop.domain})
    assert response.status_code == 303
    url = response.headers["location"]
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["redirect_uri"] == f"{BASE_URL}/shopify/callback"
    assert set(query["scope"].split(",")) == {"read_customers", "read_orders", "read_all_orders"}
    return url


def test_oauth_connect_through_the_callback(web: Web) -> None:
    landed = follow_oauth(web.alice, web.shop, oauth_start(web))
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"].endswith("?notice=connected")
    stores = web.alice.get("/api/v1/stores").json()["stores"]
    assert len(stores) == 1 and "read_all_orders" in stores[0]["granted_scopes"]


def callback_params(web: Web) -> dict[str, str]:
    with httpx.Client(transport=web.shop.transport) as shopify:
        consent = shopify.get(oauth_start(web))
    return dict(parse_qsl(urlsplit(consent.headers["location"]).query))


def test_replayed_callback_is_refused(web: Web) -> None:
    params = callback_params(web)
    first = web.alice.get(f"/shopify/callback?{urlencode(params)}")
    assert first.status_code == 303
    again = web.alice.get(f"/shopify/callback?{urlencode(params)}")
    assert again.status_code == 400
    assert "state does not match" in again.text


def _end_alice_session(web: Web, how: str) -> None:
    if how == "cookie_dropped":
        web.alice.client.cookies.delete("sbf_session")
        return
    with web.services.engine.begin() as conn:  # the 7 days ran out during the consent
        user_id = conn.execute(
            sa.select(web_users.c.id).where(web_users.c.email == web.alice.email)
        ).scalar_one()
        conn.execute(
            sa.update(web_sessions)
            .where(web_sessions.c.user_id == user_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


@pytest.mark.parametrize("how", ["cookie_dropped", "session_expired"])
def test_callback_without_a_session_finishes_after_login(web: Web, how: str) -> None:
    params = callback_params(web)  # alice started the flow; the merchant approved it
    assert {"code", "shop", "state", "hmac", "host", "timestamp"} <= set(params)
    callback = f"/shopify/callback?{urlencode(params)}"
    _end_alice_session(web, how)

    landed = web.alice.get(callback)
    assert landed.status_code == 303
    target = urlsplit(landed.headers["location"])
    assert target.path == "/login"
    kept = dict(parse_qsl(target.query))["next"]
    assert kept == callback
    assert dict(parse_qsl(urlsplit(kept).query)) == params

    form = web.alice.get(landed.headers["location"])
    match = re.search(r'name="next" value="([^"]+)"', form.text)
    assert match and html.unescape(match.group(1)) == callback
    back = login(web.alice.client, web.alice.email, next_url=html.unescape(match.group(1)))
    assert back.status_code == 303 and back.headers["location"] == callback

    finished = web.alice.get(back.headers["location"])
    assert finished.status_code == 303, finished.text
    assert finished.headers["location"].endswith("?notice=connected")
    stores = web.alice.get("/api/v1/stores").json()["stores"]
    assert [store["shop"] for store in stores] == [web.shop.domain]
    assert "read_all_orders" in stores[0]["granted_scopes"]


def test_tampered_callback_is_refused(web: Web) -> None:
    params = {**callback_params(web), "shop": "other-shop.myshopify.com"}
    response = web.alice.get(f"/shopify/callback?{urlencode(params)}")
    assert response.status_code == 400
    assert "hmac" in response.text
    assert web.alice.get("/api/v1/stores").json() == {"stores": []}


def test_callback_from_another_session_is_refused(web: Web) -> None:
    params = callback_params(web)  # started by alice
    response = web.bob.get(f"/shopify/callback?{urlencode(params)}")
    assert response.status_code == 400
    assert web.bob.get("/api/v1/stores").json() == {"stores": []}
    # The state was not consumed by the refused attempt: alice can still finish.
    assert web.alice.get(f"/shopify/callback?{urlencode(params)}").status_code == 303


def test_oauth_api_returns_the_install_url_and_refuses_api_keys(web: Web) -> None:
    response = web.alice.post("/api/v1/stores/oauth", json={"shop": web.shop.domain})
    assert response.status_code == 200
    assert "/admin/oauth/authorize?" in response.json()["authorize_url"]
    bad = web.alice.post("/api/v1/stores/oauth", json={"shop": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "shop"
    secret = web.alice.post("/api/v1/api-keys", json={"name": "k"}).json()["secret"]
    scripted = web.anonymous()
    refused = scripted.post(
        "/api/v1/stores/oauth",
        json={"shop": web.shop.domain},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert refused.status_code == 403


def test_legacy_grant_requires_reauthorization_before_start(web: Web) -> None:
    store = web.connect(web.alice, token=web.shop.legacy_token())
    assert store["reauthorization_required"] is True
    assert store["missing_scopes"] == ["read_all_orders"]
    page = web.alice.get("/stores")
    assert "Reauthorize access required" in page.text
    assert web.alice.get(f"/stores/{store['id']}/wizard").status_code == 303
    start = web.alice.post(
        f"/api/v1/stores/{store['id']}/backfill",
        json={"enable": True, "acknowledge_runs_once": True},
    )
    assert start.status_code == 409
    assert start.json()["error"]["code"] == "reauthorization_required"
    assert web.alice.get("/api/v1/backfills").json()["backfills"][0]["status"] == "not_started"

    via_api = web.alice.post(f"/api/v1/stores/{store['id']}/reauthorize")
    assert "read_all_orders" in via_api.json()["authorize_url"]
    form = web.alice.form(f"/stores/{store['id']}/reauthorize", {})
    assert form.status_code == 303
    landed = follow_oauth(web.alice, web.shop, form.headers["location"])
    assert landed.headers["location"].endswith("?notice=reauthorized")
    after = web.alice.get(f"/api/v1/stores/{store['id']}").json()
    assert after["reauthorization_required"] is False
    assert after["connected_at"] == store["connected_at"]  # the window does not move
