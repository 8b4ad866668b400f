"""Live sync end to end: the stand-in sends its webhooks to the served partner page.

A store is connected (which subscribes its webhooks to the page's address) and
backfilled; then orders and customers are created and updated on the stand-in, which
delivers them as Shopify does, here with every delivery duplicated, groups shuffled and
20% dropped. The page records and applies what arrives; one reconciliation pass reads
what was lost. Every order of both periods must then be in the store exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from graphql import GraphQLSchema

from emulator_fixtures import ADMIN_SECRET
from shopify_backfill.backfill.tables import backfills
from shopify_backfill.live.tables import webhook_deliveries
from shopify_backfill.profiles import export_profiles
from shopify_backfill.web.app import create_app
from shopify_backfill.wiring import build_services
from shopify_backfill.wiring.live import LiveSync
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.store import ShopStore
from shopify_emulator.transport import EmulatorTransport

from .conftest import Shop, SwitchableTransport, close_shop, make_user, store_now, web_settings
from .served import bound_socket, serve_socket, url_of


def _admin(shop: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"X-Shopify-Access-Token": shop.token, "X-Emulator-Admin": ADMIN_SECRET}
    with httpx.Client(
        transport=shop.transport, base_url=f"https://{shop.domain}", headers=headers
    ) as http:
        response = http.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


def _orders(shop: Any) -> list[dict[str, Any]]:
    headers = {"X-Shopify-Access-Token": shop.token}
    with httpx.Client(
        transport=shop.transport, base_url=f"https://{shop.domain}", headers=headers
    ) as http:
        response = http.get("/admin/api/2026-07/orders.json?status=any&limit=250")
    assert response.status_code == 200 and 'rel="next"' not in response.headers.get("link", "")
    listed: list[dict[str, Any]] = response.json()["orders"]
    return listed


def test_orders_on_both_sides_of_the_connection_are_in_the_store_once(
    admin_schema: GraphQLSchema, tmp_path: Path
) -> None:
    config = EmulatorConfig(
        admin_secret=ADMIN_SECRET,
        webhook_retry_delays_seconds=(0.05, 0.1),
        webhook_reorder_wait_seconds=0.1,
    )
    store = ShopStore.generate(None, customers=30, orders=120, seed=9, now=store_now())
    emulator = create_emulator_app(store, schema=admin_schema, config=config)
    shop = Shop(store, emulator.state.runtime, SwitchableTransport(EmulatorTransport(emulator)))
    sock = bound_socket()
    services = build_services(web_settings(tmp_path / "data", app_url=url_of(sock)))
    app = create_app(services, transport=shop.transport)
    try:
        with serve_socket(app, sock):
            user = make_user(services, app, "alice@acme.example", "Acme")
            store = user.post(
                "/api/v1/stores", json={"shop": shop.domain, "token": shop.token}
            ).json()
            started = user.post(
                f"/api/v1/stores/{store['id']}/backfill",
                json={"enable": True, "acknowledge_runs_once": True},
            )
            assert started.status_code in (200, 201, 202), started.text
            app.state.web.jobs.wait(timeout=120)
            faults = {
                "webhook_duplicates": True,
                "webhook_reorder_window": 4,
                "webhook_drop_rate": 0.2,
            }
            _admin(shop, "/emulator/faults", faults)
            for n in range(4):
                _admin(shop, "/emulator/customers", {"email": f"new{n}@buyer.example"})
            created = [_admin(shop, "/emulator/orders", {}) for _ in range(16)]
            for answer in created[:5]:
                order_id = (answer.get("order") or answer)["id"]
                _admin(shop, f"/emulator/orders/{order_id}", {"tags": "vip"})
            assert shop.runtime.webhooks.wait_idle()
            app.state.web.live.wait(timeout=60)

            records = shop.runtime.webhooks.records()
            dropped = sum(1 for r in records if r["outcome"] == "dropped")
            assert dropped > 0, "some deliveries were lost on the way"
            live = LiveSync(services, shop.transport)
            caught = live.reconcile(shop.domain, until=shop.store.now + timedelta(days=2))

        orders = _orders(shop)
        with services.engine.connect() as conn:
            window_start = conn.execute(sa.select(backfills.c.window_start)).scalar_one()
            profiles = export_profiles(conn, user.workspace_id)
            applied = conn.execute(
                sa.select(sa.func.count()).where(webhook_deliveries.c.state == "processed")
            ).scalar_one()
    finally:
        services.dispose()
        close_shop(shop)

    events = Counter(
        event["dedup_key"]
        for profile in profiles
        for event in profile["events"]
        if event["name"] == "shopify_created_order"
    )
    assert applied > 0, "deliveries arrived and were applied"
    assert caught.applied > 0, "reconciliation brought what was dropped"
    assert set(events.values()) == {1}, "no order twice"
    expected = {
        str(o["id"])
        for o in orders
        if not o.get("test") and datetime.fromisoformat(o["created_at"]) >= window_start
    }
    assert {key.split(":")[0].rsplit("/", 1)[-1] for key in events} == expected
