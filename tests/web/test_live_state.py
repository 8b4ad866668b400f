"""The "Live sync" panel of the store page and ``live_sync`` in the store's JSON, from
signed deliveries posted to the receiver: pending, failed, reconciled, uninstalled."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from shopify_backfill.live import privacy
from shopify_backfill.live.process import process_pending
from shopify_backfill.live.signature import sign
from shopify_backfill.live.tables import live_sync_state

from .conftest import Web

SECRET = b"emulator-app-secret"
MARKER = "live-panel-marker@buyer.example"


def _post(web: Web, topic: str, body: dict[str, Any], webhook_id: str) -> None:
    raw = orjson.dumps(body)
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": web.shop.domain,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": sign(SECRET, raw),
    }
    response = web.anonymous().post("/webhooks/shopify", content=raw, headers=headers)
    assert response.status_code == 200 and response.json() == {"status": "recorded"}


def _panel(web: Web, store_id: int) -> str:
    """The Live sync panel's HTML on the store page."""
    page = web.alice.get(f"/stores/{store_id}")
    assert page.status_code == 200, page.text
    found = re.search(r"<section[^>]*data-live-sync.*?</section>", page.text, re.DOTALL)
    assert found is not None, "the store page has a Live sync panel"
    return found.group(0)


def _text(panel: str, name: str) -> str:
    """The words of the element carrying ``data-live-{name}``, tags dropped."""
    found = re.search(rf"<(\w+)[^>]*data-live-{name}[^>]*>(.*?)</\1>", panel, re.DOTALL)
    assert found is not None, name
    words = html.unescape(re.sub(r"<[^>]+>", " ", found.group(2)))
    return " ".join(words.split())


def _on(panel: str) -> str:
    found = re.search(r'data-on="(\w+)"', panel)
    assert found is not None
    return found.group(1)


def test_a_connected_store_shows_live_sync_on_and_up_to_date(web: Web) -> None:
    store = web.connect(web.alice)

    panel = _panel(web, store["id"])
    live = web.alice.get(f"/api/v1/stores/{store['id']}").json()["live_sync"]

    assert _on(panel) == "true" and _text(panel, "status") == "On"
    assert "None yet" in _text(panel, "last")
    assert "Up to date" in _text(panel, "lag")
    assert _text(panel, "failures").endswith("None")
    assert "Not yet" in _text(panel, "reconciled")
    assert "reconciliation reads from Shopify" in _text(panel, "reconciled")
    assert live["on"] is True and live["up_to_date"] is True and live["last_event"] is None
    assert live["failures_last_24h"] == 0 and live["reconciled_through"] is None


def test_pending_and_failed_deliveries_show_lag_last_event_and_the_failure(web: Web) -> None:
    store = web.connect(web.alice)
    web.app.state.web.live = None  # record only: the test applies, when it says so
    broken = {"id": "not-a-number", "email": MARKER, "tags": 7, "admin_graphql_api_id": None}
    _post(web, "customers/update", broken, "w-1")
    assert process_pending(web.services.engine).failed == 1
    _post(web, "orders/create", {"id": 450789469, "email": MARKER}, "w-2")
    point = datetime.now(UTC) - timedelta(minutes=4)
    with web.services.engine.begin() as conn:
        conn.execute(
            sa.insert(live_sync_state).values(shop_domain=web.shop.domain, reconciled_through=point)
        )

    page = web.alice.get(f"/stores/{store['id']}").text
    panel = _panel(web, store["id"])
    live = web.alice.get(f"/api/v1/stores/{store['id']}").json()["live_sync"]

    last = _text(panel, "last")
    assert "Order created, just now" in last and " UTC)" in last
    assert "behind (1 event waiting)" in _text(panel, "lag")
    failures = _text(panel, "failures")
    assert "1 event could not be applied" in failures and "unreadable customer" in failures
    assert "4 minutes ago" in _text(panel, "reconciled")
    assert MARKER not in page, "no payload on the page"
    assert live["last_event"]["topic"] == "orders/create"
    assert live["last_event"]["label"] == "Order created"
    assert live["pending"] == 1 and live["up_to_date"] is False and live["lag_seconds"] >= 0
    assert live["failures_last_24h"] == 1
    assert "unreadable customer" in live["latest_failure"]["reason"]
    assert datetime.fromisoformat(live["reconciled_through"]) == point
    assert MARKER not in str(live), "no payload in the API"


def test_after_app_uninstalled_live_sync_is_off(web: Web) -> None:
    store = web.connect(web.alice)
    with web.services.engine.begin() as conn:
        privacy.uninstalled(conn, web.shop.domain, datetime.now(UTC))

    panel = _panel(web, store["id"])
    live = web.alice.get(f"/api/v1/stores/{store['id']}").json()["live_sync"]

    assert _on(panel) == "false" and _text(panel, "status") == "Off"
    assert "the app was uninstalled" in _text(panel, "off")
    assert live["on"] is False and "uninstalled" in live["status"]


def test_the_store_json_schema_documents_live_sync(web: Web) -> None:
    schema = web.anonymous().get("/api/v1/openapi.json").json()
    answer = schema["paths"]["/api/v1/stores/{store_id}"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/StoreJson")
    live = schema["components"]["schemas"]["LiveSyncJson"]["properties"]
    assert {"on", "last_event", "lag_seconds", "failures_last_24h", "reconciled_through"} <= set(
        live
    )
