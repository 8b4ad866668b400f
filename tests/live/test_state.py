"""Where live sync stands (``live.state``), read from deliveries recorded and processed
the way the receiver and the worker do it: pending, processed, failed, uninstalled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from backfill.conftest import Shop, connect
from shopify_backfill.live import privacy
from shopify_backfill.live.intake import Delivery, record
from shopify_backfill.live.process import process_pending
from shopify_backfill.live.state import (
    elapsed_words,
    read_live_sync,
    short_reason,
    topic_words,
)
from shopify_backfill.live.tables import live_sync_state
from shopify_backfill.wiring import Services

T0 = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
CUSTOMER = {
    "id": 7001,
    "admin_graphql_api_id": "gid://shopify/Customer/7001",
    "email": "ada@buyer.example",
    "first_name": "Ada",
    "created_at": "2026-12-08T09:00:00-05:00",
    "updated_at": "2026-12-08T09:00:00-05:00",
}


def _record(services: Services, shop: Shop, topic: str, body: dict[str, Any], at: datetime) -> None:
    with services.engine.begin() as conn:
        delivery = Delivery(
            shop.domain,
            topic,
            f"{topic}-{at.isoformat()}",
            None,
            "2026-07",
            None,
            orjson.dumps(body),
        )
        assert record(conn, delivery, at) == "recorded"


def _read(services: Services, shop: Shop, now: datetime) -> Any:
    with services.engine.connect() as conn:
        return read_live_sync(conn, shop.domain, now=now)


def test_a_connected_shop_with_nothing_received_is_on_and_up_to_date(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=2, orders=2, seed=5)
    services: Services = make_services()
    connect(services, shop)

    state = _read(services, shop, T0)

    assert state.on and state.status_words == "On"
    assert state.last_topic is None and state.last_received_at is None
    assert state.up_to_date and state.lag_words == "Up to date" and state.lag_seconds == 0
    assert state.failures == 0 and state.latest_failure_reason is None
    assert state.reconciled_through is None
    assert state.to_json()["last_event"] is None


def test_pending_processed_and_failed_deliveries_give_lag_last_event_and_failures(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=2, orders=2, seed=5)
    services: Services = make_services()
    connect(services, shop)
    broken = {**CUSTOMER, "id": "not-a-number", "admin_graphql_api_id": None, "tags": 7}
    _record(services, shop, "customers/update", CUSTOMER, T0)
    _record(services, shop, "customers/update", broken, T0 + timedelta(minutes=1))
    done = process_pending(services.engine, now=T0 + timedelta(minutes=2))
    assert (done.applied, done.failed) == (1, 1)
    _record(services, shop, "orders/create", {"id": 1}, T0 + timedelta(minutes=3))
    _record(services, shop, "orders/create", {"id": 2}, T0 + timedelta(minutes=4))

    state = _read(services, shop, T0 + timedelta(minutes=13))

    assert state.last_topic == "orders/create" and state.last_topic_words == "Order created"
    assert state.last_received_at == T0 + timedelta(minutes=4)
    assert state.pending == 2 and not state.up_to_date
    assert state.lag_seconds == 600, "now minus the oldest pending delivery's received_at"
    assert state.lag_words == "10 minutes behind (2 events waiting)"
    assert state.failures == 1
    assert state.latest_failure_at == T0 + timedelta(minutes=2)
    reason = state.latest_failure_reason or ""
    assert "unreadable customer" in reason and len(reason) <= 120
    assert "ada@buyer.example" not in str(state.to_json()), "no payload in the figures"
    assert state.to_json()["failures_last_24h"] == 1

    a_day_later = _read(services, shop, T0 + timedelta(minutes=2, hours=24, seconds=1))
    assert a_day_later.failures == 0 and a_day_later.latest_failure_reason is None

    process_pending(services.engine, now=T0 + timedelta(minutes=20))
    assert _read(services, shop, T0 + timedelta(minutes=21)).pending == 0


def test_reconciled_point_and_uninstall_show_and_stop_live_sync(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=2, orders=2, seed=5)
    services: Services = make_services()
    connect(services, shop)
    point = T0 - timedelta(minutes=7)
    with services.engine.begin() as conn:
        conn.execute(
            sa.insert(live_sync_state).values(shop_domain=shop.domain, reconciled_through=point)
        )
        privacy.uninstalled(conn, shop.domain, T0)

    state = _read(services, shop, T0)

    assert state.reconciled_through == point
    assert state.connected and not state.has_token and not state.on
    assert state.status_words == "Off: the app was uninstalled from the store"
    assert state.to_json()["on"] is False
    with services.engine.connect() as conn:
        nobody = read_live_sync(conn, "nobody.myshopify.com", now=T0)
    assert not nobody.on and nobody.status_words == "Off: the store is not connected"


def test_reasons_are_shortened_and_carry_no_payload() -> None:
    long = "ValueError: unreadable order 12: " + "x" * 400
    assert short_reason(long) == ("unreadable order 12: " + "x" * 400)[:119].rstrip() + "…"
    echoed = (
        "ValidationError: 1 validation error for Customer\nemail\n  "
        "[type=string_type, input_value={'email': 'ada@buyer.example'}]"
    )
    assert short_reason(echoed) == "1 validation error for Customer"
    assert short_reason("KeyError: ada@buyer.example at +1 555 010 9999") == ("[email] at [phone]")
    assert short_reason(None) is None
    assert topic_words("orders/updated") == "Order updated"
    assert topic_words("shop/redact") == "Store data deletion requested"
    assert (elapsed_words(59), elapsed_words(61), elapsed_words(7200)) == (
        "59 seconds",
        "1 minute",
        "2 hours",
    )
