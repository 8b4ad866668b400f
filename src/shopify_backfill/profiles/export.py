"""A workspace's profiles as plain content, without internal ids.

Two stores hold the same data exactly when their exports are equal, whatever ids,
insertion order or batch boundaries produced them: the idempotence tests compare
exports, and the golden cases state their expected store as one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from shopify_backfill.mapping.intents import STANDARD_ATTRIBUTES
from shopify_backfill.profiles.schema import (
    aliases,
    custom_events,
    purchases,
    shop_connections,
    subscription_groups,
    user_subscriptions,
    users,
)
from shopify_backfill.profiles.types import json_dumps


def export_profiles(conn: sa.Connection, workspace_id: int) -> list[dict[str, Any]]:
    """Every profile with attributes, aliases, subscriptions, events and purchases."""
    profiles: dict[int, dict[str, Any]] = {}
    for row in conn.execute(
        sa.select(users).where(users.c.workspace_id == workspace_id).order_by(users.c.id)
    ):
        attributes = {n: getattr(row, n) for n in STANDARD_ATTRIBUTES if getattr(row, n)}
        attributes.update(row.custom_attributes or {})
        profiles[row.id] = {
            "external_id": row.external_id,
            "attributes": attributes,
            "aliases": {},
            "subscriptions": {},
            "created_by_backfill": row.created_by_backfill,
            "last_activity": _time(row.last_activity),
            "events": [],
            "purchases": [],
        }
    for user_id, label, name in conn.execute(
        sa.select(aliases.c.user_id, aliases.c.label, aliases.c.name).where(
            aliases.c.workspace_id == workspace_id
        )
    ):
        profiles[user_id]["aliases"][label] = name
    for user_id, domain, channel, state in conn.execute(
        sa.select(
            user_subscriptions.c.user_id,
            shop_connections.c.shop_domain,
            subscription_groups.c.channel,
            user_subscriptions.c.state,
        )
        .join(subscription_groups, subscription_groups.c.id == user_subscriptions.c.group_id)
        .join(shop_connections, shop_connections.c.id == subscription_groups.c.connection_id)
        .where(user_subscriptions.c.workspace_id == workspace_id)
    ):
        profiles[user_id]["subscriptions"][f"{domain}/{channel}"] = state
    events_by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
    purchases_by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(
        sa.select(custom_events).where(custom_events.c.workspace_id == workspace_id)
    ):
        events_by_user[row.user_id].append(
            {
                "name": row.name,
                "time": _time(row.time),
                "dedup_key": row.dedup_key,
                "source": row.source,
                "historical": row.historical,
                "properties": row.properties,
            }
        )
    for row in conn.execute(sa.select(purchases).where(purchases.c.workspace_id == workspace_id)):
        purchases_by_user[row.user_id].append(
            {
                "product_id": row.product_id,
                "currency": row.currency,
                "price": row.price,
                "quantity": row.quantity,
                "time": _time(row.time),
                "dedup_key": row.dedup_key,
                "source": row.source,
                "historical": row.historical,
                "properties": row.properties,
            }
        )
    for user_id, profile in profiles.items():
        profile["events"] = sorted(events_by_user.get(user_id, []), key=_canonical)
        profile["purchases"] = sorted(purchases_by_user.get(user_id, []), key=_canonical)
    return sorted(profiles.values(), key=_canonical)


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _canonical(value: Any) -> str:
    return json_dumps(_normalise_numbers(value))


def _normalise_numbers(value: Any) -> Any:
    """``Decimal("55.0")`` and ``55`` sort alike: JSON keeps no such distinction."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value.normalize()
    if isinstance(value, dict):
        return {k: _normalise_numbers(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normalise_numbers(v) for v in value]
    return value
