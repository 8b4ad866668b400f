"""Creating and updating customers and orders on a running emulator.

Shopify sends ``orders/create`` or ``customers/update`` because a merchant or a buyer
changed something; the synthetic store is generated once, so the admin routes
(``/emulator/customers``, ``/emulator/orders``) make those changes here. Rows are
written exactly as the generator writes them (same columns, same document shape), so a
new customer or order is at once visible to GraphQL, REST, search and bulk exports.

A new order is a copy of a template order (the newest by default) with fresh ids,
number, times and buyer: the generator's order builder needs the whole generation
state, and a copy keeps every money bag, line item and shipping line consistent.

Times come from the store's clock: ``max(store.now, newest stored time + 1 s)``, so each
change is later than everything before it and ``updated_at_min`` filters see it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from shopify_backfill.errors import InputError
from shopify_emulator import synth
from shopify_emulator.store import ShopStore

_LOCK = threading.Lock()
"""Writes allocate ids from ``MAX(id)``: one writer at a time per process."""

CUSTOMER_FIELDS = ("email", "first_name", "last_name", "phone", "tags", "note")
ORDER_FIELDS = ("email", "tags", "note", "customer_id", "template_order_id")


def _text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{key} must be a string")
    return value.strip() or None


def _tags(payload: dict[str, Any]) -> list[str] | None:
    value = payload.get("tags")
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise InputError("tags must be a list of strings or a comma-separated string")
    return synth.sort_tags([tag.strip() for tag in value if tag.strip()])


def _unknown(payload: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(payload) - set(allowed))
    if extra:
        raise InputError(f"unknown field(s) {', '.join(extra)}; allowed: {', '.join(allowed)}")


def _tick(store: ShopStore, table: str) -> int:
    """The next change time: after ``store.now`` and after every stored change."""
    newest = store.connection().execute(f"SELECT MAX(updated_at) FROM {table}").fetchone()[0]  # noqa: S608
    return max(int(store.now.timestamp()), int(newest or 0) + 1)


def _next_id(store: ShopStore, table: str, base: int) -> int:
    top = store.connection().execute(f"SELECT MAX(id) FROM {table}").fetchone()[0]  # noqa: S608
    return int(top or base) + synth.ID_STRIDE


# --------------------------------------------------------------------------- customers


def create_customer(store: ShopStore, payload: dict[str, Any]) -> int:
    """Insert a customer from REST-style fields; returns its numeric id."""
    _unknown(payload, CUSTOMER_FIELDS)
    email, phone = _text(payload, "email"), _text(payload, "phone")
    first, last = _text(payload, "first_name"), _text(payload, "last_name")
    if not any((email, phone, first, last)):
        raise InputError("a customer needs at least one of email, phone, first_name, last_name")
    with _LOCK:
        now = _tick(store, "customers")
        customer_id = _next_id(store, "customers", synth.CUSTOMER_ID_BASE)
        doc: dict[str, Any] = {
            "__typename": "Customer",
            "id": synth.gid("Customer", customer_id),
            "legacyResourceId": str(customer_id),
            "firstName": first,
            "lastName": last,
            "email": email,
            "phone": phone,
            "defaultEmailAddress": None,
            "defaultPhoneNumber": None,
            "emailMarketingConsent": None,
            "smsMarketingConsent": None,
            "defaultAddress": None,
            "tags": _tags(payload) or [],
            "numberOfOrders": "0",
            "amountSpent": {"amount": "0.0", "currencyCode": synth.SHOP_CURRENCY},
            "createdAt": synth.iso(now),
            "updatedAt": synth.iso(now),
            "locale": "en",
            "note": _text(payload, "note"),
            "canDelete": True,
            "verifiedEmail": False,
            "validEmailAddress": email is not None,
            "taxExempt": False,
            "taxExemptions": [],
            "state": "DISABLED",
            "dataSaleOptOut": False,
            "multipassIdentifier": None,
            "_lastOrderId": None,
        }
        _contacts(doc)
        connection = store.connection()
        columns = synth.CUSTOMER_COLUMNS
        marks = ", ".join("?" for _ in columns.split(","))
        connection.execute(
            f"INSERT INTO customers ({columns}) VALUES ({marks})",  # noqa: S608
            _customer_values(store, customer_id, now, now, doc, orders=0, spent_cents=0),
        )
        connection.commit()
    return customer_id


def update_customer(store: ShopStore, customer_id: int, payload: dict[str, Any]) -> bool:
    """Apply REST-style changes; ``False`` if there is no such customer."""
    _unknown(payload, CUSTOMER_FIELDS)
    with _LOCK:
        connection = store.connection()
        row = connection.execute(
            "SELECT doc, created_at, orders_count, total_spent_cents FROM customers WHERE id = ?",
            (customer_id,),
        ).fetchone()
        if row is None:
            return False
        doc = store.codec.decode(row[0])
        for key, doc_key in (
            ("email", "email"),
            ("phone", "phone"),
            ("first_name", "firstName"),
            ("last_name", "lastName"),
            ("note", "note"),
        ):
            if key in payload:
                doc[doc_key] = _text(payload, key)
        if "tags" in payload:
            doc["tags"] = _tags(payload) or []
        _save_customer(store, customer_id, doc, row[1], row[2], row[3])
    return True


def _contacts(doc: dict[str, Any]) -> None:
    """Derived contact fields, recomputed after every change."""
    email, phone = doc.get("email"), doc.get("phone")
    doc["displayName"] = synth.display_name(doc.get("firstName"), doc.get("lastName"), email, phone)
    doc["validEmailAddress"] = email is not None
    default = doc.get("defaultEmailAddress")
    if email is None:
        doc["defaultEmailAddress"] = None
    elif isinstance(default, dict):
        default["emailAddress"] = email
    else:
        doc["defaultEmailAddress"] = {
            "emailAddress": email,
            "marketingState": "NOT_SUBSCRIBED",
            "marketingOptInLevel": None,
            "marketingUpdatedAt": None,
            "validFormat": True,
            "openTrackingLevel": "UNKNOWN",
        }
    doc["defaultPhoneNumber"] = {"phoneNumber": phone} if phone else None


def _save_customer(
    store: ShopStore,
    customer_id: int,
    doc: dict[str, Any],
    created: int,
    orders: int,
    spent_cents: int,
) -> None:
    _contacts(doc)
    now = _tick(store, "customers")
    doc["updatedAt"] = synth.iso(now)
    values = _customer_values(store, customer_id, created, now, doc, orders, spent_cents)
    columns = [name.strip() for name in synth.CUSTOMER_COLUMNS.split(",")]
    assignments = ", ".join(f"{name} = ?" for name in columns[1:])
    connection = store.connection()
    connection.execute(
        f"UPDATE customers SET {assignments} WHERE id = ?",  # noqa: S608
        (*values[1:], customer_id),
    )
    connection.commit()


def _customer_values(
    store: ShopStore,
    customer_id: int,
    created: int,
    updated: int,
    doc: dict[str, Any],
    orders: int,
    spent_cents: int,
) -> tuple[Any, ...]:
    """The ``customers`` row, column for column as ``synth.customer_row`` writes it."""
    first, last = doc.get("firstName"), doc.get("lastName")
    email, phone = doc.get("email"), doc.get("phone")
    address = doc.get("defaultAddress") or {}
    country = address.get("country")
    location = [
        (address.get(part) or "").lower() if doc.get("defaultAddress") else None
        for part in ("country", "province", "city")
    ]
    consent = doc.get("emailMarketingConsent") or {}
    search_text = " ".join(part for part in (first, last, email, phone, country) if part)
    return (
        customer_id,
        created,
        updated,
        email,
        phone,
        "".join(ch for ch in phone if ch.isdigit()) if phone else None,
        first,
        last,
        f"{last or ''}, {first or ''}".lower(),
        orjson.dumps(location).decode(),
        country,
        address.get("countryCodeV2"),
        doc.get("state") or "DISABLED",
        "\x1f".join(tag.lower() for tag in doc.get("tags") or []),
        orders,
        spent_cents,
        consent.get("marketingState"),
        search_text,
        store.codec.encode(doc),
    )


# --------------------------------------------------------------------------- orders


def create_order(store: ShopStore, payload: dict[str, Any]) -> tuple[int, int | None]:
    """Insert a copy of a template order for ``customer_id`` (or a guest).

    Returns ``(order id, buyer id)``; the buyer's order count, amount spent and last
    order move as on Shopify (so the caller can announce ``customers/update`` too).
    """
    _unknown(payload, ORDER_FIELDS)
    customer_id = numeric_field(payload, "customer_id")
    template_id = numeric_field(payload, "template_order_id")
    with _LOCK:
        connection = store.connection()
        sql = "SELECT doc, line_items FROM orders "
        row = (
            connection.execute(sql + "WHERE id = ?", (template_id,)).fetchone()
            if template_id is not None
            else connection.execute(
                sql + "WHERE test = 0 AND cancelled_at IS NULL "
                "ORDER BY financial_status = 'PAID' DESC, id DESC LIMIT 1"
            ).fetchone()
        )
        if row is None:
            raise InputError(
                f"no order {template_id} to copy"
                if template_id is not None
                else "the store has no order to copy; generate one with --orders 1 or more"
            )
        buyer = None
        if customer_id is not None:
            buyer = connection.execute(
                "SELECT doc, created_at, orders_count, total_spent_cents FROM customers "
                "WHERE id = ?",
                (customer_id,),
            ).fetchone()
            if buyer is None:
                raise InputError(f"no customer {customer_id}")
        now = max(_tick(store, "orders"), _tick(store, "customers"))
        order_id = _next_id(store, "orders", synth.ORDER_ID_BASE)
        number = int(connection.execute("SELECT MAX(number) FROM orders").fetchone()[0] or 1000) + 1
        doc = store.codec.decode(row[0])
        items = store.decode_line_items(row[1])
        buyer_doc = store.codec.decode(buyer[0]) if buyer else None
        _fresh_order(doc, order_id, number, now, buyer_doc)
        if "email" in payload:
            doc["email"] = _text(payload, "email")
        if "note" in payload:
            doc["note"] = _text(payload, "note")
        if "tags" in payload:
            doc["tags"] = _tags(payload) or []
        top_item = connection.execute("SELECT MAX(id) FROM line_items").fetchone()[0] or 0
        for offset, item in enumerate(items, start=1):
            item["id"] = synth.gid("LineItem", int(top_item) + offset * synth.ID_STRIDE)
        columns = synth.ORDER_COLUMNS
        marks = ", ".join("?" for _ in columns.split(","))
        connection.execute(
            f"INSERT INTO orders ({columns}) VALUES ({marks})",  # noqa: S608
            _order_values(store, order_id, doc, items, buyer_doc),
        )
        connection.executemany(
            "INSERT INTO line_items (id, order_id, sku) VALUES (?, ?, ?)",
            [
                (int(item["id"].rsplit("/", 1)[1]), order_id, (item.get("sku") or "").lower())
                for item in items
            ],
        )
        connection.commit()
        if buyer is not None and buyer_doc is not None and customer_id is not None:
            spent = int(buyer[3]) + _cents(doc["currentTotalPriceSet"]["shopMoney"]["amount"])
            buyer_doc["numberOfOrders"] = str(int(buyer[2]) + 1)
            buyer_doc["amountSpent"] = {
                "amount": synth.money_text(spent),
                "currencyCode": synth.SHOP_CURRENCY,
            }
            buyer_doc["_lastOrderId"] = order_id
            buyer_doc["canDelete"] = False
            _save_customer(store, customer_id, buyer_doc, buyer[1], int(buyer[2]) + 1, spent)
    return order_id, customer_id


def update_order(store: ShopStore, order_id: int, payload: dict[str, Any]) -> bool:
    """Change an order's ``email``, ``note`` or ``tags``; ``False`` if there is no such order."""
    _unknown(payload, ("email", "tags", "note"))
    with _LOCK:
        connection = store.connection()
        row = connection.execute(
            "SELECT doc, line_items, customer_id FROM orders WHERE id = ?", (order_id,)
        ).fetchone()
        if row is None:
            return False
        doc = store.codec.decode(row[0])
        for key in ("email", "note"):
            if key in payload:
                doc[key] = _text(payload, key)
        if "tags" in payload:
            doc["tags"] = _tags(payload) or []
        now = _tick(store, "orders")
        doc["updatedAt"] = synth.iso(now)
        buyer = store.customer(int(row[2])) if row[2] is not None else None
        values = _order_values(store, order_id, doc, store.decode_line_items(row[1]), buyer)
        columns = [name.strip() for name in synth.ORDER_COLUMNS.split(",")]
        assignments = ", ".join(f"{name} = ?" for name in columns[1:])
        connection.execute(
            f"UPDATE orders SET {assignments} WHERE id = ?",  # noqa: S608
            (*values[1:], order_id),
        )
        connection.commit()
    return True


def numeric_field(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise InputError(f"{key} must be a numeric id")
    return int(value)


def _cents(amount: str) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def _fresh_order(
    doc: dict[str, Any],
    order_id: int,
    number: int,
    now: int,
    buyer: dict[str, Any] | None,
) -> None:
    """Turn a copied order into a new, open, just-placed one."""
    stamp = synth.iso(now)
    doc.update(
        id=synth.gid("Order", order_id),
        legacyResourceId=str(order_id),
        name=f"#{number}",
        number=number,
        createdAt=stamp,
        updatedAt=stamp,
        processedAt=stamp,
        closed=False,
        closedAt=None,
        cancelledAt=None,
        cancelReason=None,
        test=False,
    )
    for offset, line in enumerate(doc.get("_shippingLines") or [], start=1):
        line["id"] = synth.gid("ShippingLine", order_id + offset)
    if buyer is not None:
        doc["_customerId"] = int(buyer["legacyResourceId"])
        doc["email"] = buyer.get("email")
        doc["phone"] = buyer.get("phone")
    else:
        doc["_customerId"] = None


def _order_values(
    store: ShopStore,
    order_id: int,
    doc: dict[str, Any],
    items: list[dict[str, Any]],
    buyer: dict[str, Any] | None,
) -> tuple[Any, ...]:
    """The ``orders`` row, column for column as the generator's order builder writes it."""

    def epoch(value: str | None) -> int | None:
        if value is None:
            return None
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp())

    codes = doc.get("discountCodes") or []
    customer_name = ""
    if buyer is not None:
        customer_name = " ".join(
            part for part in (buyer.get("firstName"), buyer.get("lastName")) if part
        )
    parts = (doc["name"], str(doc["number"]), doc.get("email"), doc.get("phone"), customer_name)
    search_text = " ".join(part for part in (*parts, " ".join(doc.get("tags") or [])) if part)
    quantity = sum(int(item.get("quantity") or 0) for item in items)
    return (
        order_id,
        doc["number"],
        doc["name"],
        epoch(doc["createdAt"]),
        epoch(doc["updatedAt"]),
        epoch(doc["processedAt"]),
        epoch(doc.get("closedAt")),
        epoch(doc.get("cancelledAt")),
        doc.get("_customerId"),
        1 if doc.get("test") else 0,
        (doc.get("email") or "").strip().lower() or None,
        doc.get("phone"),
        doc.get("displayFinancialStatus"),
        doc.get("displayFulfillmentStatus") or "UNFULFILLED",
        "\x1f".join(tag.lower() for tag in doc.get("tags") or []),
        doc.get("sourceName"),
        codes[0].lower() if codes else None,
        _cents(doc["totalPriceSet"]["shopMoney"]["amount"]),
        _cents(doc["currentTotalPriceSet"]["shopMoney"]["amount"]),
        quantity,
        customer_name.lower(),
        search_text,
        store.codec.encode(doc),
        store.codec.encode({"items": items}),
    )
