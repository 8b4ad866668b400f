"""Webhook subscriptions made idempotently against the stand-in's GraphQL (2026-07)."""

from __future__ import annotations

from typing import Any

from backfill.conftest import Shop, connect
from shopify_backfill.live.subscriptions import TOPICS, ensure_subscriptions, list_subscriptions
from shopify_backfill.profiles.connections import load_connection
from shopify_backfill.shopify import queries
from shopify_backfill.wiring import Services

ADDRESS = "https://partner.example.com/webhooks/shopify"


def test_subscriptions_are_created_once_and_repaired_when_the_address_moves(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=5, orders=5, seed=1)
    services: Services = make_services()
    row = connect(services, shop)
    with services.engine.connect() as conn:
        connection = load_connection(
            conn, services.cipher, workspace_id=row.workspace_id, shop_domain=shop.domain
        )
    with connection.client(transport=shop.transport) as client:
        first = ensure_subscriptions(client, ADDRESS)
        again = ensure_subscriptions(client, ADDRESS)
        moved = ensure_subscriptions(client, ADDRESS.replace("partner", "partner-2"))
        other = client.graphql(
            queries.WEBHOOK_SUBSCRIPTION_CREATE_MUTATION,
            {"topic": "PRODUCTS_CREATE", "uri": "https://elsewhere.example.com/hook"},
        )
        assert other.data is not None
        after = ensure_subscriptions(client, ADDRESS.replace("partner", "partner-2"))
        listed = list_subscriptions(client)

    assert sorted(first.created) == sorted(TOPICS) and first.removed == []
    assert again.created == [] and sorted(again.kept) == sorted(TOPICS)
    assert sorted(moved.removed) == sorted(TOPICS) == sorted(moved.created)
    assert sorted(after.kept) == sorted(TOPICS) and after.removed == []
    ours = sorted((s.topic, s.uri) for s in listed if s.topic in TOPICS)
    assert ours == sorted((t, ADDRESS.replace("partner", "partner-2")) for t in TOPICS)
    assert ("PRODUCTS_CREATE", "https://elsewhere.example.com/hook") in {
        (s.topic, s.uri) for s in listed
    }, "another topic's subscription is not ours to touch"
