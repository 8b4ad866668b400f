"""Taking a webhook delivery in: headers checked, shop known, recorded once.

The route calls ``read_delivery`` after the signature passed (``signature.verify``) and
``record`` in one short transaction, then answers 200: Shopify waits at most 5 s and
retries what it did not see answered, so nothing slow happens here. Each refusal is a
``Refused`` with the HTTP status and a message that names what was wrong; nothing is
written for any of them. A repeated ``X-Shopify-Webhook-Id`` is answered 200 (Shopify
must stop retrying) and recorded nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import orjson
import sqlalchemy as sa

from shopify_backfill.errors import InputError
from shopify_backfill.live.tables import webhook_deliveries
from shopify_backfill.profiles.dialect import upsert
from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.shopify.oauth import validate_shop_domain

MAX_BODY_BYTES: Final = 2 * 1024 * 1024
"""Larger than any order Shopify sends (an order holds at most a few hundred line items);
a bigger body is refused (413) before it is read whole."""

TOPICS: Final = frozenset(
    {
        "orders/create",
        "orders/updated",
        "customers/create",
        "customers/update",
        "app/uninstalled",
        "customers/data_request",
        "customers/redact",
        "shop/redact",
    }
)
PRIVACY_TOPICS: Final = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
_MAX_ID = 255


class Refused(Exception):  # noqa: N818 - an answer, not a fault of ours
    """A delivery not taken: ``status`` is what Shopify is answered."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Delivery:
    shop_domain: str
    topic: str
    webhook_id: str
    event_id: str | None
    api_version: str | None
    triggered_at: datetime | None
    body: bytes


def _header(headers: Mapping[str, str], name: str, *, required: bool) -> str | None:
    value = headers.get(name.lower())
    if value is None or not value.strip():
        if required:
            raise Refused(400, f"the {name} header is missing")
        return None
    value = value.strip()
    if len(value) > _MAX_ID:
        raise Refused(400, f"the {name} header is longer than {_MAX_ID} characters")
    return value


def _triggered_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(400, "X-Shopify-Triggered-At is not an ISO 8601 time") from None
    return stamp if stamp.tzinfo else None


def read_delivery(headers: Mapping[str, str], body: bytes) -> Delivery:
    """The delivery a signed request carries (``headers`` keyed in lower case)."""
    topic = _header(headers, "X-Shopify-Topic", required=True) or ""
    if topic not in TOPICS:
        raise Refused(400, f"topic {topic[:64]!r} is not one this app subscribes to")
    try:
        shop = validate_shop_domain(_header(headers, "X-Shopify-Shop-Domain", required=True) or "")
    except InputError:
        raise Refused(400, "X-Shopify-Shop-Domain is not a myshopify.com domain") from None
    webhook_id = _header(headers, "X-Shopify-Webhook-Id", required=True) or ""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise Refused(400, "the body is not a JSON object")
    return Delivery(
        shop_domain=shop,
        topic=topic,
        webhook_id=webhook_id,
        event_id=_header(headers, "X-Shopify-Event-Id", required=False),
        api_version=_header(headers, "X-Shopify-API-Version", required=False),
        triggered_at=_triggered_at(_header(headers, "X-Shopify-Triggered-At", required=False)),
        body=body,
    )


def record(conn: sa.Connection, delivery: Delivery, now: datetime) -> Literal["recorded", "repeat"]:
    """Store ``delivery`` ``pending`` once; refuse a shop no workspace has connected."""
    connected = conn.execute(
        sa.select(sa.func.count())
        .select_from(shop_connections)
        .where(shop_connections.c.shop_domain == delivery.shop_domain)
    ).scalar_one()
    if not connected:
        raise Refused(404, f"{delivery.shop_domain} is not connected to this app")
    inserted = conn.execute(
        upsert(conn, webhook_deliveries)
        .values(
            shop_domain=delivery.shop_domain,
            topic=delivery.topic,
            webhook_id=delivery.webhook_id,
            event_id=delivery.event_id,
            api_version=delivery.api_version,
            triggered_at=delivery.triggered_at,
            received_at=now,
            state="pending",
            body=delivery.body,
        )
        .on_conflict_do_nothing(index_elements=["shop_domain", "webhook_id"])
    )
    return "recorded" if inserted.rowcount else "repeat"
