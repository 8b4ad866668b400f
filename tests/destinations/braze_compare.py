"""What "Braze holds the same as the embedded store" means, for the delivery tests.

The embedded store's export (``profiles.export_profiles``) and the Braze stand-in's users
are put in one shape: per user, its attributes, its events and purchases (name or
product, time to the millisecond, properties), and its email/SMS consent. Users are
matched through any alias the embedded profile holds, since a Braze user is keyed by one
of them (the customer id first).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from braze_emulator import BrazeUser
from shopify_backfill.profiles.types import json_dumps


def _number(value: Any) -> Any:
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value.normalize()
    if isinstance(value, dict):
        return {k: _number(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value


def _ms(text: str) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=json_dumps)


def embedded_view(profile: dict[str, Any], shop: str) -> dict[str, Any]:
    return {
        "attributes": _number(profile["attributes"]),
        "email_subscribe": profile["subscriptions"].get(f"{shop}/email"),
        "sms": profile["subscriptions"].get(f"{shop}/sms"),
        "events": _sorted(
            [
                {"name": e["name"], "time": _ms(e["time"]), "properties": _number(e["properties"])}
                for e in profile["events"]
            ]
        ),
        "purchases": _sorted(
            [
                {
                    "product_id": p["product_id"],
                    "currency": p["currency"],
                    "price": _number(p["price"]),
                    "quantity": p["quantity"],
                    "time": _ms(p["time"]),
                    "properties": _number(p["properties"]),
                }
                for p in profile["purchases"]
            ]
        ),
    }


def braze_view(user: BrazeUser, sms_group: str | None) -> dict[str, Any]:
    return {
        "attributes": _number(dict(user.attributes)),
        "email_subscribe": user.email_subscribe,
        "sms": user.subscription_groups.get(sms_group) if sms_group else None,
        "events": _sorted(
            [
                {"name": e.name, "time": _ms(e.time), "properties": _number(e.properties)}
                for e in user.events
            ]
        ),
        "purchases": _sorted(
            [
                {
                    "product_id": p.product_id,
                    "currency": p.currency,
                    "price": _number(p.price),
                    "quantity": p.quantity,
                    "time": _ms(p.time),
                    "properties": _number(p.properties),
                }
                for p in user.purchases
            ]
        ),
    }


def match_users(
    profiles: list[dict[str, Any]], users: list[BrazeUser]
) -> list[tuple[dict[str, Any], BrazeUser]]:
    """Each embedded profile with the one Braze user holding one of its aliases."""
    by_alias: dict[tuple[str, str], BrazeUser] = {}
    for user in users:
        for label, name in user.aliases.items():
            assert (label, name) not in by_alias, f"two Braze users hold {label}={name}"
            by_alias[(label, name)] = user
    pairs = []
    for profile in profiles:
        found = {
            id(by_alias[key]): by_alias[key]
            for key in profile["aliases"].items()
            if key in by_alias
        }
        assert len(found) == 1, f"profile {profile['aliases']} is {len(found)} Braze users"
        pairs.append((profile, next(iter(found.values()))))
    return pairs
