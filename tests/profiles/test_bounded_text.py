"""Every free-text field the mapping writes is bounded and storable, on both databases
(issue 13, #3).

Records are parsed from JSON text with the standard library, which (unlike msgspec, which
refuses the line) accepts a lone ``\\ud800`` escape, and ``\\u0000``: the most lenient path
a record can take into the mapping. Each oddity,
and a 1 MB string, goes into every free-text field of a customer and of a guest order and
of its line item; the load must succeed on SQLite and PostgreSQL, every stored value must
be within its bound (``mapping/bounds.py``), and a cut value must leave a note.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from conftest import Store
from shopify_backfill.mapping.bounds import NAME_TEXT, PHONE_TEXT, PRODUCT_ID_TEXT, PROPERTY_TEXT
from shopify_backfill.profiles.quarantine import list_issues
from shopify_backfill.profiles.schema import custom_events, purchases, users
from shopify_backfill.shopify.records import Customer, Order

MEGABYTE = "x" * 1_048_576
ODDITIES = {
    "megabyte": MEGABYTE,
    "nul": "Ann\\u0000e",
    "lone_surrogate": "Zo\\ud800e",
    "controls": "a\\u0001b\\u001fc\\td",
    "rtl_mark": "\\u202eevil\\u202c",
    "zero_width": "Jo\\u200bhn\\u200d",
    "combining": "Re\\u0301ne\\u0301",
    "emoji_zwj": "\\ud83d\\udc69\\u200d\\ud83d\\udc69\\u200d\\ud83d\\udc67",
    "four_byte": "\\ud834\\udd1e clef",
    "bom": "\\ufeffBOM",
    "newlines": "line1\\nline2\\r\\n",
}


def _json_string(raw: str) -> str:
    """A JSON string literal whose escapes (already written as ``\\uXXXX``) are kept."""
    if raw is MEGABYTE:
        return json.dumps(raw)
    return '"' + raw + '"'


def _customer(number: int, text: str) -> bytes:
    s = _json_string(text)
    return (
        f'{{"id":"gid://shopify/Customer/{number}","createdAt":"2026-05-01T00:00:00Z",'
        f'"firstName":{s},"lastName":{s},'
        f'"defaultEmailAddress":{{"emailAddress":{s}}},'
        f'"defaultPhoneNumber":{{"phoneNumber":{s}}},'
        f'"defaultAddress":{{"city":{s},"countryCodeV2":{s}}},'
        f'"tags":[{s},{s}]}}'
    ).encode()


def _order(number: int, text: str) -> bytes:
    s = _json_string(text)
    address = f'{{"city":{s},"address1":{s},"zip":{s},"countryCodeV2":"CA"}}'
    return (
        f'{{"id":"gid://shopify/Order/{number}","createdAt":"2026-05-03T00:00:00Z",'
        f'"name":{s},"currencyCode":"CAD","email":"guest{number}@example.com","phone":{s},'
        f'"tags":[{s}],"discountCodes":[{s}],"sourceName":{s},"statusPageUrl":{s},'
        f'"shippingAddress":{address},"billingAddress":{address},'
        f'"shippingLines":[{{"title":{s}}}],'
        f'"lineItems":[{{"id":"gid://shopify/LineItem/{number}0","quantity":1,'
        f'"title":{s},"name":{s},"sku":{s},"variantTitle":{s},"vendor":{s},'
        f'"customAttributes":[{{"key":{s},"value":{s}}}],'
        f'"originalUnitPriceSet":{{"shopMoney":{{"amount":"5.00","currencyCode":"CAD"}}}}}}]}}'
    ).encode()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value.keys(), *(s for item in value.values() for s in _strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _storable(text: str) -> bool:
    text.encode("utf-8")  # raises on a lone surrogate
    return "\x00" not in text


@pytest.mark.parametrize("oddity", sorted(ODDITIES))
def test_every_mapped_text_is_bounded_and_storable(store: Store, oddity: str) -> None:
    text = ODDITIES[oddity]
    number = 9100 + sorted(ODDITIES).index(oddity)
    records = [
        msgspec.convert(json.loads(_customer(number, text)), type=Customer),
        msgspec.convert(json.loads(_order(number, text)), type=Order),
    ]
    result = store.load(records)

    assert result.counts.customers_quarantined == 0
    assert result.counts.orders_imported == 1, result.issues
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                users.c.phone, users.c.first_name, users.c.last_name, users.c.home_city
            ).where(users.c.workspace_id == store.workspace_id)
        ).all()
        props = (
            conn.execute(
                sa.select(custom_events.c.properties).where(
                    custom_events.c.workspace_id == store.workspace_id
                )
            )
            .scalars()
            .all()
        )
        bought = conn.execute(
            sa.select(purchases.c.product_id, purchases.c.properties).where(
                purchases.c.workspace_id == store.workspace_id
            )
        ).all()
        issues = list_issues(conn, store.workspace_id)
    assert rows and props and bought
    for phone, *names in rows:
        assert phone is None or (len(phone) <= PHONE_TEXT and _storable(phone))
        for name in names:
            assert name is None or (len(name) <= NAME_TEXT and _storable(name))
    for stored in props:
        loaded = stored if isinstance(stored, dict) else json.loads(stored)
        for value in _strings(loaded):
            assert len(value) <= PROPERTY_TEXT and _storable(value)
    for product_id, stored in bought:
        assert len(product_id) <= PRODUCT_ID_TEXT and _storable(product_id)
        loaded = stored if isinstance(stored, dict) else json.loads(stored)
        assert all(len(v) <= PROPERTY_TEXT and _storable(v) for v in _strings(loaded))
    for issue in issues:
        assert len(issue.reason) <= 500 and _storable(issue.reason)
    if oddity == "megabyte":
        reasons = " | ".join(issue.reason for issue in issues)
        assert "first_name cut to 255 characters (was 1,048,576)" in reasons
        assert "order properties cut to 65,536 characters" in reasons
        assert "kept cut to 64 characters" in reasons
