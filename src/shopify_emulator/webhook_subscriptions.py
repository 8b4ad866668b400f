"""Shop-scoped webhook subscriptions: the GraphQL side of webhooks.

``webhookSubscriptionCreate(topic:, webhookSubscription: {uri | callbackUrl, ...})``,
``webhookSubscriptionUpdate``, ``webhookSubscriptionDelete(id:)``,
``webhookSubscription(id:)``, ``webhookSubscriptions(first/last/after/before, topics,
uri, callbackUrl, format)`` and ``webhookSubscriptionsCount``, stored in the store's
database (``emu_webhook_subscriptions``), so ``--db`` keeps them across restarts.

The topic is a schema enum (``ORDERS_CREATE``), so a wrong topic is refused by
validation before any resolver runs, as on Shopify. Address checks answer Shopify's
``userErrors``: blank, unreadable, a Shopify domain, a second subscription to the same
topic and address ("Address for this topic has already been taken"). Shopify only
delivers to https; the emulator also accepts plain http to loopback hosts (a receiver
under test), and refuses http elsewhere with Shopify's message. Pub/Sub and EventBridge
addresses are stored but never delivered to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from graphql import FieldNode

from shopify_emulator.cursors import CursorError, decode_cursor, encode_cursor
from shopify_emulator.executor import RequestError, ResolveContext, parse_gid
from shopify_emulator.shopify_errors import user_error

Resolver = Callable[[ResolveContext, dict[str, Any], FieldNode, Any], Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS emu_webhook_subscriptions (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    uri TEXT NOT NULL,
    format TEXT NOT NULL,
    name TEXT,
    filter TEXT,
    include_fields TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""
_COLUMNS = "id, topic, uri, format, name, filter, include_fields, created_at, updated_at"
ID_BASE = 1_400_000_000_000
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
TAKEN = "Address for this topic has already been taken"


def topic_enum(header: str) -> str:
    """``orders/create`` (the ``X-Shopify-Topic`` spelling) -> ``ORDERS_CREATE``."""
    return header.upper().replace("/", "_")


def address_problem(uri: str | None) -> str | None:
    """Shopify's message for an address it would refuse, ``None`` when acceptable."""
    if uri is None or not uri.strip():
        return "Address can't be blank"
    uri = uri.strip()
    if uri.startswith(("pubsub://", "arn:aws:events:")):
        return None
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Address is invalid"
    host = parts.hostname.lower()
    if host.endswith((".myshopify.com", ".shopify.com")) or host in ("shopify.com",):
        return "Address cannot be a Shopify or an internal domain"
    if parts.scheme == "http" and host not in LOOPBACK:
        return "Address protocol http:// is not supported"
    return None


class WebhookSubscriptions:
    """Subscriptions of the emulator's app on its one shop."""

    def __init__(self, store: Any, *, api_version: str, wall_clock: Callable[[], float]) -> None:
        self.store = store
        self.api_version = api_version
        self.wall_clock = wall_clock
        self._lock = threading.Lock()
        connection = store.connection()
        connection.executescript(_SCHEMA)
        connection.commit()

    def _rows(self) -> list[dict[str, Any]]:
        cursor = self.store.connection().execute(
            f"SELECT {_COLUMNS} FROM emu_webhook_subscriptions ORDER BY id"  # noqa: S608
        )
        return [dict(zip(_COLUMNS.split(", "), row, strict=True)) for row in cursor]

    def addresses(self, topic: str) -> list[str]:
        """HTTP(S) addresses subscribed to ``topic`` (``orders/create``), oldest first."""
        return [
            row["uri"]
            for row in self._rows()
            if row["topic"] == topic_enum(topic) and row["uri"].startswith("http")
        ]

    def document(self, row: dict[str, Any]) -> dict[str, Any]:
        uri = row["uri"]
        if uri.startswith("pubsub://"):
            project, _, topic = uri.removeprefix("pubsub://").partition(":")
            endpoint = {
                "__typename": "WebhookPubSubEndpoint",
                "pubSubProject": project,
                "pubSubTopic": topic,
            }
        elif uri.startswith("arn:"):
            endpoint = {"__typename": "WebhookEventBridgeEndpoint", "arn": uri}
        else:
            endpoint = {"__typename": "WebhookHttpEndpoint", "callbackUrl": uri}
        return {
            "__typename": "WebhookSubscription",
            "id": f"gid://shopify/WebhookSubscription/{row['id']}",
            "legacyResourceId": str(row["id"]),
            "topic": row["topic"],
            "uri": uri,
            "callbackUrl": uri,
            "endpoint": endpoint,
            "format": row["format"],
            "name": row["name"],
            "filter": row["filter"],
            "includeFields": [f for f in row["include_fields"].split(",") if f],
            "metafieldNamespaces": [],
            "metafields": [],
            "apiVersion": {
                "__typename": "ApiVersion",
                "handle": self.api_version,
                "displayName": self.api_version,
                "supported": True,
            },
            "createdAt": row["created_at"],
            "updatedAt": row["updated_at"],
        }

    # ------------------------------------------------------------------ writes

    def _now(self) -> str:
        return datetime.fromtimestamp(self.wall_clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @staticmethod
    def _address(given: dict[str, Any]) -> tuple[str | None, str]:
        if given.get("uri") is not None:
            return given["uri"], "uri"
        return given.get("callbackUrl"), "callbackUrl"

    def create(
        self, topic: str, given: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        uri, key = self._address(given)
        field = ("webhookSubscription", key)
        problem = address_problem(uri)
        if problem is not None or uri is None:
            return None, [user_error(problem or "Address can't be blank", field, None)]
        uri = uri.strip()
        with self._lock:
            if any(row["topic"] == topic and row["uri"] == uri for row in self._rows()):
                return None, [user_error(TAKEN, field, None)]
            connection = self.store.connection()
            top = connection.execute("SELECT MAX(id) FROM emu_webhook_subscriptions").fetchone()[0]
            new_id = int(top or ID_BASE) + 1
            now = self._now()
            connection.execute(
                f"INSERT INTO emu_webhook_subscriptions ({_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_id,
                    topic,
                    uri,
                    given.get("format") or "JSON",
                    given.get("name"),
                    given.get("filter"),
                    ",".join(given.get("includeFields") or ()),
                    now,
                    now,
                ),
            )
            connection.commit()
        return self._one(new_id), []

    def update(
        self, sub_id: int, given: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        current = self._one(sub_id)
        if current is None:
            return None, [user_error("Webhook subscription does not exist", ("id",), None)]
        uri, key = self._address(given)
        if uri is None:
            uri = current["uri"]
        problem = address_problem(uri)
        field = ("webhookSubscription", key)
        if problem is not None:
            return None, [user_error(problem, field, None)]
        uri = uri.strip()
        with self._lock:
            taken = any(
                row["topic"] == current["topic"] and row["uri"] == uri and row["id"] != sub_id
                for row in self._rows()
            )
            if taken:
                return None, [user_error(TAKEN, field, None)]
            connection = self.store.connection()
            connection.execute(
                "UPDATE emu_webhook_subscriptions SET uri = ?, format = ?, name = ?, filter = ?, "
                "include_fields = ?, updated_at = ? WHERE id = ?",
                (
                    uri,
                    given.get("format") or current["format"],
                    given.get("name", current["name"]),
                    given.get("filter", current["filter"]),
                    ",".join(given.get("includeFields") or ())
                    if "includeFields" in given
                    else current["include_fields"],
                    self._now(),
                    sub_id,
                ),
            )
            connection.commit()
        return self._one(sub_id), []

    def delete(self, sub_id: int) -> bool:
        connection = self.store.connection()
        cursor = connection.execute("DELETE FROM emu_webhook_subscriptions WHERE id = ?", (sub_id,))
        connection.commit()
        return bool(cursor.rowcount > 0)

    def _one(self, sub_id: int) -> dict[str, Any] | None:
        return next((row for row in self._rows() if row["id"] == sub_id), None)

    # ------------------------------------------------------------------ reads

    def _filtered(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self._rows()
        topics = args.get("topics")
        if topics:
            rows = [row for row in rows if row["topic"] in topics]
        uri = args.get("uri") or args.get("callbackUrl")
        if uri:
            rows = [row for row in rows if row["uri"] == uri]
        if args.get("format"):
            rows = [row for row in rows if row["format"] == args["format"]]
        key = "updated_at" if args.get("sortKey") == "UPDATED_AT" else "created_at"
        if args.get("sortKey") == "ID":
            key = "id"
        rows.sort(key=lambda row: (row[key], row["id"]), reverse=bool(args.get("reverse")))
        return rows

    def page(self, args: dict[str, Any]) -> dict[str, Any]:
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            raise RequestError("you must provide one of first or last")
        if first is not None and last is not None:
            raise RequestError("providing both first and last is not supported")
        size = int(first if first is not None else last or 0)
        if not 0 <= size <= 250:
            which = "first" if first is not None else "last"
            raise RequestError(
                "The maximum number of items requested per page is 250. "
                f"Argument '{which}' on Field 'webhookSubscriptions' was {size}."
            )
        rows = self._filtered(args)
        start, stop = 0, len(rows)
        try:
            if args.get("after"):
                marker = decode_cursor(args["after"]).last_id
                start = next((i + 1 for i, r in enumerate(rows) if r["id"] == marker), stop)
            if args.get("before"):
                marker = decode_cursor(args["before"]).last_id
                stop = next((i for i, r in enumerate(rows) if r["id"] == marker), stop)
        except CursorError as error:
            raise RequestError(f"Invalid cursor: {error}") from error
        window = rows[start:stop]
        chosen = window[:size] if first is not None else window[max(0, len(window) - size) :]
        has_next = len(window) > size if first is not None else stop < len(rows)
        has_prev = start > 0 if first is not None else len(window) > size
        edges = [
            {"cursor": encode_cursor(row["id"], row["created_at"]), "node": self.document(row)}
            for row in chosen
        ]
        return {
            "edges": edges,
            "nodes": [edge["node"] for edge in edges],
            "pageInfo": {
                "hasNextPage": has_next,
                "hasPreviousPage": has_prev,
                "startCursor": edges[0]["cursor"] if edges else None,
                "endCursor": edges[-1]["cursor"] if edges else None,
            },
        }

    # ------------------------------------------------------------------ resolvers

    def _sub_id(self, value: Any) -> int | None:
        parsed = parse_gid(value)
        if parsed is None or parsed[0] != "WebhookSubscription":
            return None
        return int(parsed[1])

    def resolvers(self) -> dict[tuple[str, str], Resolver]:
        def create(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            row, errors = self.create(args["topic"], args.get("webhookSubscription") or {})
            return {
                "webhookSubscription": self.document(row) if row else None,
                "userErrors": errors,
            }

        def update(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            sub_id = self._sub_id(args["id"])
            if sub_id is None:
                errors = [user_error("Webhook subscription does not exist", ("id",), None)]
                return {"webhookSubscription": None, "userErrors": errors}
            row, errors = self.update(sub_id, args.get("webhookSubscription") or {})
            return {
                "webhookSubscription": self.document(row) if row else None,
                "userErrors": errors,
            }

        def delete(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            sub_id = self._sub_id(args["id"])
            if sub_id is None or not self.delete(sub_id):
                return {
                    "deletedWebhookSubscriptionId": None,
                    "userErrors": [
                        user_error("Webhook subscription does not exist", ("id",), None)
                    ],
                }
            return {"deletedWebhookSubscriptionId": args["id"], "userErrors": []}

        def one(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            sub_id = self._sub_id(args["id"])
            row = self._one(sub_id) if sub_id is not None else None
            return self.document(row) if row else None

        def many(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            return self.page(args)

        def count(ctx: ResolveContext, args: dict[str, Any], node: FieldNode, parent: Any) -> Any:
            total = len(self._rows())
            limit = args.get("limit", 10_000)
            shown = total if limit is None else min(total, limit)
            precision = "AT_LEAST" if limit is not None and total > limit else "EXACT"
            return {"__typename": "Count", "count": shown, "precision": precision}

        return {
            ("Mutation", "webhookSubscriptionCreate"): create,
            ("Mutation", "webhookSubscriptionUpdate"): update,
            ("Mutation", "webhookSubscriptionDelete"): delete,
            ("QueryRoot", "webhookSubscription"): one,
            ("QueryRoot", "webhookSubscriptions"): many,
            ("QueryRoot", "webhookSubscriptionsCount"): count,
        }
