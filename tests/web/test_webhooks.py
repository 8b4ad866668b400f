"""The webhook receiver: signature first, then headers and shop; recorded once; refusals
write nothing and log no body."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from shopify_backfill.live.intake import MAX_BODY_BYTES
from shopify_backfill.live.signature import sign
from shopify_backfill.live.tables import privacy_requests, webhook_deliveries
from shopify_backfill.profiles.schema import shop_connections

from .conftest import Web

SECRET = b"emulator-app-secret"  # web_settings keeps the default app secret
MARKER = "c0ffee-body-marker@buyer.example"


def _order(**extra: Any) -> bytes:
    return orjson.dumps(
        {
            "id": 450789469,
            "admin_graphql_api_id": "gid://shopify/Order/450789469",
            "email": MARKER,
            "created_at": "2026-12-08T10:00:00-05:00",
            **extra,
        }
    )


def _headers(web: Web, body: bytes, **overrides: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": web.shop.domain,
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Triggered-At": "2026-12-08T15:00:00.000000Z",
        "X-Shopify-Hmac-Sha256": sign(SECRET, body),
    }
    headers.update(overrides)
    return headers


def _rows(web: Web) -> list[Any]:
    with web.services.engine.connect() as conn:
        return list(conn.execute(sa.select(webhook_deliveries)).all())


def _post(web: Web, body: bytes, path: str = "/webhooks/shopify", **headers: str) -> Any:
    return web.anonymous().post(path, content=body, headers=_headers(web, body, **headers))


def test_a_signed_delivery_is_recorded_once_and_a_repeat_is_acknowledged(web: Web) -> None:
    web.connect(web.alice)
    web.app.state.web.live = None  # record only: what the background pass reads
    body = _order()

    first = _post(web, body)
    again = _post(web, body)

    assert first.status_code == 200 and first.json() == {"status": "recorded"}
    assert again.status_code == 200 and again.json() == {"status": "repeat"}
    rows = _rows(web)
    assert len(rows) == 1
    row = rows[0]
    assert (row.shop_domain, row.topic, row.state) == (web.shop.domain, "orders/create", "pending")
    assert bytes(row.body) == body, "the raw body is kept for processing, byte for byte"
    assert row.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"


@pytest.mark.parametrize(
    ("signature", "why"),
    [
        (None, "missing"),
        ("", "empty"),
        (sign(b"not-the-app-secret", _order()), "signed with another secret"),
        (sign(SECRET, _order(email="someone-else@buyer.example")), "of another body"),
        ("%%%", "not base64"),
    ],
)
def test_a_forged_or_missing_signature_is_refused_and_writes_nothing(
    web: Web, signature: str | None, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    web.connect(web.alice)
    body = _order()
    headers = _headers(web, body)
    if signature is None:
        del headers["X-Shopify-Hmac-Sha256"]
    else:
        headers["X-Shopify-Hmac-Sha256"] = signature
    caplog.set_level(logging.INFO)

    response = web.anonymous().post("/webhooks/shopify", content=body, headers=headers)

    assert response.status_code == 401, why
    assert "X-Shopify-Hmac-Sha256" in response.json()["error"]
    assert _rows(web) == []
    assert MARKER not in caplog.text, "no body in the logs"


def test_a_delivery_for_a_shop_nobody_connected_is_refused(web: Web) -> None:
    web.connect(web.alice)
    body = _order()

    response = _post(web, body, **{"X-Shopify-Shop-Domain": "another-shop.myshopify.com"})

    assert response.status_code == 404
    assert "another-shop.myshopify.com is not connected" in response.json()["error"]
    assert _rows(web) == []


def test_a_huge_body_is_refused_before_it_is_read_whole(web: Web) -> None:
    web.connect(web.alice)
    body = _order(note="x" * (10 * 1024 * 1024))
    assert len(body) > MAX_BODY_BYTES

    response = _post(web, body)

    assert response.status_code == 413
    assert "larger than 2 MiB" in response.json()["error"]
    assert _rows(web) == []


@pytest.mark.parametrize(
    ("body", "overrides", "message"),
    [
        (b"{not json", {}, "the body is not JSON"),
        (b"[1, 2]", {}, "not a JSON object"),
        (None, {"X-Shopify-Topic": "products/create"}, "not one this app subscribes to"),
        (None, {"X-Shopify-Topic": ""}, "X-Shopify-Topic header is missing"),
        (None, {"X-Shopify-Webhook-Id": ""}, "X-Shopify-Webhook-Id header is missing"),
        (None, {"X-Shopify-Shop-Domain": "evil.example.com"}, "not a myshopify.com domain"),
        (None, {"X-Shopify-Triggered-At": "yesterday"}, "not an ISO 8601 time"),
        (None, {"X-Shopify-Topic": "customers/redact"}, "received at /webhooks/shopify/privacy"),
    ],
)
def test_malformed_signed_deliveries_are_refused_by_name(
    web: Web, body: bytes | None, overrides: dict[str, str], message: str
) -> None:
    web.connect(web.alice)
    payload = body if body is not None else _order()

    response = _post(web, payload, **overrides)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert _rows(web) == []


def test_privacy_topics_have_their_own_address(web: Web) -> None:
    web.connect(web.alice)
    body = orjson.dumps({"shop_domain": web.shop.domain, "customer": {"id": 207119551}})

    taken = _post(web, body, "/webhooks/shopify/privacy", **{"X-Shopify-Topic": "customers/redact"})
    misplaced = _post(web, _order(), "/webhooks/shopify/privacy")

    assert taken.status_code == 200, taken.text
    assert misplaced.status_code == 400
    assert "received at /webhooks/shopify" in misplaced.json()["error"]
    assert [row.topic for row in _rows(web)] == ["customers/redact"]


def test_a_recorded_delivery_is_applied_in_the_background(web: Web) -> None:
    web.connect(web.alice)
    body = _order()

    assert _post(web, body).status_code == 200
    web.app.state.web.live.wait(timeout=30)

    (row,) = _rows(web)
    assert row.state in ("processed", "failed"), row.state
    assert (row.body is None) == (row.state == "processed")


def test_app_uninstalled_then_shop_redact_through_the_receiver(web: Web) -> None:
    """Shopify's order: the app is uninstalled (the token goes), then 48 hours later
    shop/redact (the shop's data goes); both through the receiver and the background."""
    web.connect(web.alice)
    shop = orjson.dumps({"id": 954889, "domain": web.shop.domain})
    gone = _post(web, shop, **{"X-Shopify-Topic": "app/uninstalled", "X-Shopify-Webhook-Id": "u"})
    assert gone.status_code == 200, gone.text
    web.app.state.web.live.wait(timeout=30)
    with web.services.engine.connect() as conn:
        token = conn.execute(sa.select(shop_connections.c.access_token_encrypted)).scalar_one()
    assert token is None

    redact = orjson.dumps({"shop_id": 954889, "shop_domain": web.shop.domain})
    headers = {"X-Shopify-Topic": "shop/redact", "X-Shopify-Webhook-Id": "r"}
    assert _post(web, redact, "/webhooks/shopify/privacy", **headers).status_code == 200
    web.app.state.web.live.wait(timeout=30)
    with web.services.engine.connect() as conn:
        connections = conn.execute(sa.select(sa.func.count()).select_from(shop_connections))
        topics = list(conn.execute(sa.select(privacy_requests.c.topic)).scalars())
        assert connections.scalar_one() == 0
    assert topics == ["app/uninstalled", "shop/redact"]
