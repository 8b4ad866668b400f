"""The shop's webhook subscriptions: made to point at this app, idempotently.

On connect and on re-authorization the app lists the shop's subscriptions
(``webhookSubscriptions``), creates each topic it needs that is missing
(``webhookSubscriptionCreate``, Admin GraphQL 2026-07: ``webhookSubscription: {uri}``)
and deletes a subscription of those topics that points elsewhere (an earlier public
address of the app), so running it twice changes nothing and a moved partner page
repairs itself. The three privacy topics are not subscribed here: Shopify configures
them per app (``[webhooks.privacy_compliance]`` in the app's configuration, or the
Partner Dashboard), pointing at ``/webhooks/shopify/privacy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import msgspec

from shopify_backfill.shopify import queries
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.errors import PayloadError
from shopify_backfill.shopify.paginate import PageInfo

TOPICS: Final = (
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "CUSTOMERS_CREATE",
    "CUSTOMERS_UPDATE",
    "APP_UNINSTALLED",
)
"""GraphQL spellings of the topics live sync needs (``orders/create`` ...)."""


class _Subscription(msgspec.Struct):
    id: str
    topic: str
    uri: str


class _Page(msgspec.Struct, rename="camel"):
    nodes: list[_Subscription]
    page_info: PageInfo


class _Listed(msgspec.Struct, rename="camel"):
    webhook_subscriptions: _Page


class _UserError(msgspec.Struct):
    message: str
    field: list[str] | None = None


class _Created(msgspec.Struct, rename="camel"):
    user_errors: list[_UserError]
    webhook_subscription: _Subscription | None = None


class _CreateData(msgspec.Struct, rename="camel"):
    webhook_subscription_create: _Created


class _Deleted(msgspec.Struct, rename="camel"):
    user_errors: list[_UserError]
    deleted_webhook_subscription_id: str | None = None


class _DeleteData(msgspec.Struct, rename="camel"):
    webhook_subscription_delete: _Deleted


@dataclass
class SubscriptionReport:
    """What one ``ensure_subscriptions`` did."""

    kept: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class SubscriptionError(PayloadError):
    """Shopify refused a subscription; the message carries its userErrors."""


def list_subscriptions(client: AdminClient) -> list[_Subscription]:
    found: list[_Subscription] = []
    after: str | None = None
    while True:
        page = client.data(
            queries.WEBHOOK_SUBSCRIPTIONS_QUERY, {"after": after}, _Listed
        ).webhook_subscriptions
        found.extend(page.nodes)
        if not page.page_info.has_next_page:
            return found
        after = page.page_info.end_cursor


def ensure_subscriptions(client: AdminClient, address: str) -> SubscriptionReport:
    """Make the shop send every topic in ``TOPICS`` to ``address``, and only there."""
    report = SubscriptionReport()
    present: set[str] = set()
    for subscription in list_subscriptions(client):
        if subscription.topic not in TOPICS:
            continue
        if subscription.uri == address and subscription.topic not in present:
            present.add(subscription.topic)
            report.kept.append(subscription.topic)
            continue
        deleted = client.data(
            queries.WEBHOOK_SUBSCRIPTION_DELETE_MUTATION, {"id": subscription.id}, _DeleteData
        ).webhook_subscription_delete
        _raise_on(deleted.user_errors, f"removing {subscription.topic} -> {subscription.uri}")
        report.removed.append(subscription.topic)
    for topic in TOPICS:
        if topic in present:
            continue
        created = client.data(
            queries.WEBHOOK_SUBSCRIPTION_CREATE_MUTATION,
            {"topic": topic, "uri": address},
            _CreateData,
        ).webhook_subscription_create
        _raise_on(created.user_errors, f"subscribing {topic} to {address}")
        report.created.append(topic)
    return report


def _raise_on(errors: list[_UserError], doing: str) -> None:
    if errors:
        reasons = "; ".join(error.message for error in errors)
        raise SubscriptionError(f"Shopify refused {doing}: {reasons}")
