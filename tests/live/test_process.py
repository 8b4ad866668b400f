"""Deliveries applied: the seam at ``connected_at``, repeats and disorder, newest wins.

The webhook bodies are the stand-in's REST resources (the JSON Shopify sends as the
``orders/*`` and ``customers/*`` bodies; ``tests/live/test_payloads.py`` shows they
convert to the GraphQL records). The reference is one backfill of the same store over
the union of both periods: whichever path brought an order, it must end up the same.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from backfill.conftest import Shop, connect
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.runner import run_backfill
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.backfill.tables import backfills
from shopify_backfill.campaigns import add_campaigns, parse_spec
from shopify_backfill.campaigns.tables import triggered_messages
from shopify_backfill.live.intake import Delivery, record
from shopify_backfill.live.process import process_pending
from shopify_backfill.live.reconcile import OVERLAP, reconcile
from shopify_backfill.live.tables import webhook_deliveries
from shopify_backfill.profiles import export_profiles
from shopify_backfill.profiles.connections import load_connection
from shopify_backfill.profiles.schema import custom_events, shop_connections
from shopify_backfill.wiring import Services, after_batch_hooks

PURCHASE_FIELDS = ("product_id", "currency", "price", "quantity", "time", "dedup_key")
NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def _rest(shop: Shop, path: str, key: str) -> list[dict[str, Any]]:
    """Every item of a REST listing of the stand-in, following its Link pages."""
    found: list[dict[str, Any]] = []
    url: str | None = f"/admin/api/2026-07/{path}"
    headers = {"X-Shopify-Access-Token": shop.token}
    with httpx.Client(transport=shop.transport, base_url=shop.api_url, headers=headers) as client:
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.text
            found.extend(response.json()[key])
            match = NEXT.search(response.headers.get("link", ""))
            url = match.group(1) if match else None
    return found


def _backfill(
    services: Services,
    shop: Shop,
    *,
    connected_at: datetime,
    end: datetime,
    campaigns: tuple[dict[str, Any], ...] = (),
) -> int:
    """Connect as of ``connected_at``; backfill ``[connected_at - 90 days, end)``."""
    row = connect(services, shop)
    with services.engine.begin() as conn:
        add_campaigns(conn, row.workspace_id, [parse_spec(spec) for spec in campaigns])
        conn.execute(sa.update(shop_connections).values(connected_at=connected_at))
        conn.execute(
            sa.update(backfills)
            .where(backfills.c.id == row.id)
            .values(window_start=connected_at - timedelta(days=90), window_end=end)
        )
        requests.start(conn, get_backfill(conn, row.id), now=datetime.now(UTC))
    outcome = run_backfill(services, row.id, shop.options())
    assert outcome.status == "completed", outcome.failure_reason
    return row.workspace_id


def _deliver(services: Services, shop: Shop, items: list[tuple[str, dict[str, Any], str]]) -> None:
    with services.engine.begin() as conn:
        for topic, body, webhook_id in items:
            record(
                conn,
                Delivery(shop.domain, topic, webhook_id, None, "2026-07", None, orjson.dumps(body)),
                datetime.now(UTC),
            )


def _activity(services: Services, workspace_id: int) -> Counter[tuple[Any, ...]]:
    """Each profile's events and purchases, by the profile's Shopify keys; not by path."""
    with services.engine.connect() as conn:
        profiles = export_profiles(conn, workspace_id)
    seen: Counter[tuple[Any, ...]] = Counter()
    for profile in profiles:
        who = tuple(sorted(profile["aliases"].items()))
        for event in profile["events"]:
            fields = (
                event["name"],
                event["time"],
                event["dedup_key"],
                orjson.dumps(event["properties"], option=orjson.OPT_SORT_KEYS, default=str),
            )
            seen[(who, "event", *fields)] += 1
        for bought in profile["purchases"]:
            fields = tuple(
                bought[k]
                for k in ("product_id", "currency", "price", "quantity", "time", "dedup_key")
            )
            seen[(who, "purchase", *fields)] += 1
    return seen


def test_every_order_of_both_periods_is_in_the_store_once_as_one_backfill_has_it(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=40, orders=300, seed=21)
    now = shop.store.now
    seam = now - timedelta(days=20)
    live: Services = make_services()
    workspace_id = _backfill(live, shop, connected_at=seam, end=seam)
    orders = _rest(shop, "orders.json?status=any&limit=250", "orders")
    customers = _rest(shop, "customers.json?limit=250", "customers")
    after = [o for o in orders if datetime.fromisoformat(o["created_at"]) >= seam]
    assert after and len(after) < len(orders), "the store has orders on both sides of the seam"

    rng = random.Random(5)
    items = [("customers/create", c, f"c-{c['id']}") for c in customers]
    items += [("orders/create", o, f"o-{o['id']}") for o in orders]
    items += [("orders/updated", o, f"u-{o['id']}") for o in rng.sample(orders, 60)]
    items += rng.sample(items, 40)  # Shopify's retries: same webhook id, dropped at intake
    rng.shuffle(items)
    _deliver(live, shop, items)
    done = process_pending(live.engine)

    reference: Services = make_services()
    reference_id = _backfill(reference, shop, connected_at=seam, end=now + timedelta(days=1))
    assert _activity(live, workspace_id) == _activity(reference, reference_id)
    assert done.failed == 0
    assert done.backfills >= len(orders) - len(after), "the backfill's orders are not applied"
    with live.engine.connect() as conn:
        states = Counter(conn.execute(sa.select(webhook_deliveries.c.state)).scalars())
        bodies = conn.execute(
            sa.select(sa.func.count()).where(webhook_deliveries.c.body.is_not(None))
        ).scalar_one()
    assert states == {"processed": len(items) - 40}
    assert bodies == 0, "a processed delivery keeps no body"


def test_an_older_payload_arriving_late_does_not_overwrite_a_newer_one(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=10, orders=20, seed=3)
    services: Services = make_services()
    workspace_id = _backfill(services, shop, connected_at=shop.store.now, end=shop.store.now)
    customer = _rest(shop, "customers.json?limit=250", "customers")[0]
    newer = {**customer, "first_name": "Newer", "updated_at": "2026-07-02T10:00:00-04:00"}
    older = {**customer, "first_name": "Older", "updated_at": "2026-07-01T23:00:00-04:00"}

    _deliver(services, shop, [("customers/update", newer, "n"), ("customers/update", older, "o")])
    done = process_pending(services.engine)

    assert (done.applied, done.stale) == (1, 1)
    with services.engine.connect() as conn:
        names = [
            p["attributes"].get("first_name")
            for p in export_profiles(conn, workspace_id)
            if str(p["aliases"].get("shopify_customer_id")) == str(customer["id"])
        ]
    assert names == ["Newer"]


def test_an_unreadable_delivery_fails_alone(make_shop: Any, make_services: Any) -> None:
    shop: Shop = make_shop(customers=10, orders=20, seed=3)
    services: Services = make_services()
    _backfill(services, shop, connected_at=shop.store.now, end=shop.store.now)
    customer = _rest(shop, "customers.json?limit=250", "customers")[0]
    broken = {**customer, "id": "not-a-number", "admin_graphql_api_id": None, "tags": 7}

    _deliver(
        services, shop, [("customers/update", broken, "b"), ("customers/update", customer, "g")]
    )
    done = process_pending(services.engine)

    assert (done.applied, done.failed) == (1, 1)
    with services.engine.connect() as conn:
        failed = conn.execute(
            sa.select(webhook_deliveries).where(webhook_deliveries.c.state == "failed")
        ).one()
    assert failed.webhook_id == "b" and "unreadable customer" in (failed.error or "")
    assert failed.body is not None, "a failed delivery keeps its body for a retry"


def _client(services: Services, shop: Shop, workspace_id: int) -> Any:
    with services.engine.connect() as conn:
        connection = load_connection(
            conn, services.cipher, workspace_id=workspace_id, shop_domain=shop.domain
        )
    return connection.client(transport=shop.transport)


def test_reconciliation_catches_every_delivery_shopify_lost(
    make_shop: Any, make_services: Any
) -> None:
    """No webhook arrives at all; one reconciliation pass brings the store to what one
    backfill of both periods holds, and a second pass changes nothing."""
    shop: Shop = make_shop(customers=40, orders=300, seed=21)
    now = shop.store.now
    seam = now - timedelta(days=20)
    live: Services = make_services()
    workspace_id = _backfill(live, shop, connected_at=seam, end=seam)

    with _client(live, shop, workspace_id) as client:
        first = reconcile(live.engine, client, shop.domain, until=now + timedelta(days=1))
        before = _activity(live, workspace_id)
        second = reconcile(live.engine, client, shop.domain, until=now + timedelta(days=1))

    reference: Services = make_services()
    reference_id = _backfill(reference, shop, connected_at=seam, end=now + timedelta(days=1))
    assert before == _activity(reference, reference_id)
    assert first.since == seam and first.applied > 0 and first.unreadable == 0
    assert second.since == now + timedelta(days=1) - OVERLAP
    assert _activity(live, workspace_id) == before, "a second pass adds nothing"


def test_live_orders_trigger_campaigns_and_backfilled_ones_do_not(
    make_shop: Any, make_services: Any
) -> None:
    """SPEC 6: historical data triggers nothing (the default, silent mode); a live order
    is live, and triggers an active campaign that started before it."""
    follow_up = {
        "name": "Order follow-up",
        "start_at": "2026-01-01T00:00:00Z",
        "trigger": {"type": "perform_custom_event", "event_name": "shopify_created_order"},
    }
    shop: Shop = make_shop(customers=30, orders=200, seed=21)
    seam = shop.store.now - timedelta(days=20)
    services: Services = make_services()
    _backfill(services, shop, connected_at=seam, end=seam, campaigns=(follow_up,))
    with services.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(triggered_messages)).scalar_one()
            == 0
        )
    orders = _rest(shop, "orders.json?status=any&limit=250", "orders")
    live = [o for o in orders if datetime.fromisoformat(o["created_at"]) >= seam and not o["test"]]
    assert live

    _deliver(services, shop, [("orders/create", o, f"o-{o['id']}") for o in orders])
    done = process_pending(services.engine, hooks=after_batch_hooks(services))

    with services.engine.connect() as conn:
        sent = conn.execute(
            sa.select(triggered_messages.c.historical, triggered_messages.c.backfill_id)
        ).all()
        live_events = conn.execute(
            sa.select(sa.func.count()).where(
                custom_events.c.name == "shopify_created_order",
                custom_events.c.historical.is_(False),
            )
        ).scalar_one()
    assert done.applied == len(live)
    # Each live order's event triggers (an order the mapping could not attribute to a
    # profile has no event, so no message).
    assert 0 < live_events <= len(live)
    assert len(sent) == live_events, "one message per live order event"
    assert {(row.historical, row.backfill_id) for row in sent} == {(False, None)}
