"""Webhook bodies (REST Admin JSON) -> the typed records the backfill's GraphQL path yields.

Shopify's order and customer webhooks carry the REST resource, not the GraphQL node the
backfill reads: snake_case keys, a numeric ``id`` beside ``admin_graphql_api_id``, money
as two-decimal strings in ``*_set`` bags, ``tags`` as one comma-separated string, consent
states in lower case, times in the shop's zone. Converting to ``records.Order`` and
``records.Customer`` here means live sync reuses the mapping unchanged, so a webhook and
the backfill give the same profile for the same order or customer.

Each value is spelled as the GraphQL API spells it (ids as gids, money as GraphQL's
``Decimal`` text, times in UTC with ``Z``, consent as the ``CustomerEmailMarketingState``
enum), so the converted record equals the GraphQL one field for field where the payload
carries the field, and even a quarantine excerpt reads the same. A body that is not the
promised shape (a field of the wrong type, no id) becomes an ``UnreadableRecord`` with a
reason naming the REST field, as a bad bulk line does; nothing here raises for bad input.
Pure: no I/O, so the webhook worker and the tests call it alike.

Field lists: https://shopify.dev/docs/api/admin-rest/2026-07/resources/order,
https://shopify.dev/docs/api/admin-rest/2026-07/resources/customer,
https://shopify.dev/docs/api/webhooks (topics ``orders/create`` ... ``customers/update``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, NoReturn

import msgspec

from shopify_backfill.shopify.records import (
    Attribute,
    Customer,
    EmailAddress,
    LineItem,
    MailingAddress,
    Money,
    MoneyBag,
    Order,
    PhoneNumber,
    Ref,
    ShippingLine,
    SmsConsent,
    UnreadableRecord,
)

Kind = Literal["order", "customer"]

TOPIC_KINDS: Final[dict[str, Kind]] = {
    "orders/create": "order",
    "orders/updated": "order",
    "customers/create": "customer",
    "customers/update": "customer",
}
"""The topics whose body is a record; the others (``app/uninstalled``, the privacy
topics) are handled elsewhere and convert to ``None``."""

EXCERPT_BYTES: Final = 200
"""As much of a bad body as the bulk path keeps of a bad line (``extract.EXCERPT_BYTES``)."""

_MAX_EXPONENT: Final = 30
"""Beyond this, an amount is no price (``"1e999999999"`` would print a billion digits)
and stays as it came, for the mapping to judge."""

_GID_TYPES: Final[dict[Kind, str]] = {"order": "Order", "customer": "Customer"}


class _Unreadable(Exception):  # noqa: N818 - a verdict on the payload, caught below
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def record_from_webhook(
    topic: str, payload: dict[str, Any]
) -> Customer | Order | UnreadableRecord | None:
    """The record ``payload`` of ``topic`` describes; ``None`` for a topic without one."""
    kind = TOPIC_KINDS.get(topic)
    if kind is None:
        return None
    record_id = _best_id(payload, kind)
    try:
        if not isinstance(payload, dict):
            raise _Unreadable("the body is not a JSON object")
        record_id = _gid(payload, _GID_TYPES[kind], kind)
        if kind == "order":
            return _order(payload, record_id)
        return _customer(payload, record_id, "customer")
    except _Unreadable as problem:
        reason = f"a {topic} webhook has an unexpected shape: {problem.reason}"
        return UnreadableRecord(kind, record_id, reason, _excerpt(payload))


# --------------------------------------------------------------------------- scalars


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong(path: str, value: Any, expected: str) -> _Unreadable:
    return _Unreadable(f"{path} is {_describe(value)}, expected {expected}")


def _object(value: Any, path: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong(path, value, "an object")
    return value


def _objects(value: Any, path: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong(path, value, "a list")
    found: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        one = _object(item, f"{path}[{index}]")
        if one is None:
            raise _wrong(f"{path}[{index}]", item, "an object")
        found.append(one)
    return found


def _text(source: dict[str, Any], key: str, path: str) -> str | None:
    value = source.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _wrong(f"{path}{key}", value, "text")


def _required_text(source: dict[str, Any], key: str, path: str) -> str:
    value = _text(source, key, path)
    if value is None:
        raise _Unreadable(f"{path}{key} is missing")
    return value


def _integer(source: dict[str, Any], key: str, path: str) -> int | None:
    value = source.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _wrong(f"{path}{key}", value, "an integer")


def _boolean(source: dict[str, Any], key: str, path: str) -> bool | None:
    value = source.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise _wrong(f"{path}{key}", value, "true or false")


def _time(source: dict[str, Any], key: str, path: str) -> str | None:
    """GraphQL's ``DateTime``: UTC with ``Z``. REST sends the shop's offset
    (``-05:00``); text that is no ISO time with an offset is kept for the mapping to
    reject with its own message, as it would a bad GraphQL value."""
    raw = _text(source, key, path)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if moment.tzinfo is None:
        return raw
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.isoformat().replace("+00:00", "Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(raw: str) -> str:
    """GraphQL's ``Decimal`` text: ``"55.00"`` -> ``"55.0"``, ``"1500"`` -> ``"1500.0"``,
    ``"143.63"`` unchanged. Not decimal text: kept, for the mapping to reject."""
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        return raw
    if not value.is_finite() or abs(value.adjusted()) > _MAX_EXPONENT:
        return raw
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def _gid(source: dict[str, Any], gid_type: str, path: str) -> str:
    """``admin_graphql_api_id`` when given, else ``gid://shopify/<Type>/<id>``."""
    prefix = f"gid://shopify/{gid_type}/"
    given = _text(source, "admin_graphql_api_id", f"{path}.")
    if given is not None:
        if not given.startswith(prefix):
            raise _Unreadable(f"{path}.admin_graphql_api_id {given[:80]!r} is not a {prefix} id")
        return given
    number = _reference(source, "id", gid_type, f"{path}.")
    if number is None:
        raise _Unreadable(f"{path}.id is missing")
    return number


def _reference(source: dict[str, Any], key: str, gid_type: str, path: str) -> str | None:
    """A numeric REST id (``product_id: 8143062695936``) as its gid."""
    value = source.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _wrong(f"{path}{key}", value, "a numeric id")
    text = str(value)
    if not text.isascii() or not text.isdigit():
        raise _Unreadable(f"{path}{key} {text[:80]!r} is not a numeric id")
    return f"gid://shopify/{gid_type}/{text}"


def _best_id(payload: Any, kind: Kind) -> str:
    """Some id for the quarantine entry of an unreadable body, even a malformed one."""
    if not isinstance(payload, dict):
        return "(no id)"
    for key in ("admin_graphql_api_id", "id"):
        value = payload.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)[:255]
    return "(no id)"


def _excerpt(payload: Any) -> str:
    try:
        body = msgspec.json.encode(payload)
    except (TypeError, ValueError, OverflowError):
        body = repr(payload).encode("utf-8", errors="replace")
    text = body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return text if len(body) <= EXCERPT_BYTES else text + "…"


def _tags(source: dict[str, Any], path: str) -> list[str]:
    """REST's ``"vip, wholesale"`` -> ``["vip", "wholesale"]`` (GraphQL's list)."""
    raw = _text(source, "tags", path)
    if raw is None:
        return []
    return [tag for tag in (part.strip() for part in raw.split(",")) if tag]


def _money_bag(
    source: dict[str, Any], key: str, plain_key: str, currency: str | None, path: str
) -> MoneyBag | None:
    """A ``*_set`` bag; a payload with only the plain amount (``total_price``) gets a bag
    of it in the order's currency."""
    bag = _object(source.get(key), f"{path}{key}")
    if bag is None:
        amount = _text(source, plain_key, path)
        if amount is None or currency is None:
            return None
        return MoneyBag(shop_money=Money(amount=_amount(amount), currency_code=currency))
    shop = _money(bag.get("shop_money"), f"{path}{key}.shop_money")
    if shop is None:
        raise _Unreadable(f"{path}{key}.shop_money is missing")
    presentment = _money(bag.get("presentment_money"), f"{path}{key}.presentment_money")
    return MoneyBag(shop_money=shop, presentment_money=presentment)


def _money(value: Any, path: str) -> Money | None:
    money = _object(value, path)
    if money is None:
        return None
    amount = _required_text(money, "amount", f"{path}.")
    currency = _required_text(money, "currency_code", f"{path}.")
    return Money(amount=_amount(amount), currency_code=currency)


# --------------------------------------------------------------------------- customer


def _address(value: Any, path: str) -> MailingAddress | None:
    """An order or customer address; REST's ``country_code`` is GraphQL's
    ``countryCodeV2``."""
    source = _object(value, path)
    if source is None:
        return None
    at = f"{path}."
    return MailingAddress(
        address1=_text(source, "address1", at),
        address2=_text(source, "address2", at),
        city=_text(source, "city", at),
        country=_text(source, "country", at),
        country_code_v2=_text(source, "country_code", at),
        first_name=_text(source, "first_name", at),
        last_name=_text(source, "last_name", at),
        province=_text(source, "province", at),
        province_code=_text(source, "province_code", at),
        zip=_text(source, "zip", at),
        phone=_text(source, "phone", at),
    )


def _consent_state(source: dict[str, Any], key: str, path: str) -> str | None:
    """REST's ``{"state": "not_subscribed"}`` -> the GraphQL enum ``NOT_SUBSCRIBED``,
    which is what ``mapping.customers.CONSENT_STATES`` reads."""
    consent = _object(source.get(key), f"{path}{key}")
    if consent is None:
        return None
    state = _text(consent, "state", f"{path}{key}.")
    return state.strip().upper() if state else None


def _customer(source: dict[str, Any], gid: str, path: str) -> Customer:
    at = f"{path}."
    email = _text(source, "email", at)
    email_state = _consent_state(source, "email_marketing_consent", at)
    phone = _text(source, "phone", at)
    sms_state = _consent_state(source, "sms_marketing_consent", at)
    orders_count = _integer(source, "orders_count", at)
    spent = _text(source, "total_spent", at)
    currency = _text(source, "currency", at)
    return Customer(
        id=gid,
        created_at=_time(source, "created_at", at) or _missing(f"{at}created_at"),
        updated_at=_time(source, "updated_at", at),
        legacy_resource_id=gid.rsplit("/", 1)[-1],
        first_name=_text(source, "first_name", at),
        last_name=_text(source, "last_name", at),
        default_email_address=(
            EmailAddress(email_address=email, marketing_state=email_state)
            if email is not None
            else None
        ),
        default_phone_number=PhoneNumber(phone_number=phone) if phone is not None else None,
        sms_marketing_consent=(
            SmsConsent(marketing_state=sms_state) if sms_state is not None else None
        ),
        default_address=_address(source.get("default_address"), f"{at}default_address"),
        tags=_tags(source, at),
        number_of_orders=str(orders_count) if orders_count is not None else None,
        amount_spent=(
            Money(amount=_amount(spent), currency_code=currency)
            if spent is not None and currency is not None
            else None
        ),
    )


def _missing(path: str) -> NoReturn:
    raise _Unreadable(f"{path} is missing")


# --------------------------------------------------------------------------- order


def _line_item(source: dict[str, Any], currency: str | None, path: str) -> LineItem:
    at = f"{path}."
    product = _reference(source, "product_id", "Product", at)
    variant = _reference(source, "variant_id", "ProductVariant", at)
    return LineItem(
        id=_gid(source, "LineItem", path),
        name=_text(source, "name", at),
        title=_text(source, "title", at),
        quantity=_integer(source, "quantity", at) or 0,
        sku=_text(source, "sku", at),
        variant_title=_text(source, "variant_title", at),
        vendor=_text(source, "vendor", at),
        product=Ref(id=product) if product is not None else None,
        variant=Ref(id=variant) if variant is not None else None,
        original_unit_price_set=_money_bag(source, "price_set", "price", currency, at),
        custom_attributes=[
            Attribute(
                key=_required_text(prop, "name", f"{at}properties[{index}]."),
                value=_text(prop, "value", f"{at}properties[{index}]."),
            )
            for index, prop in enumerate(_objects(source.get("properties"), f"{at}properties"))
        ],
    )


def _order(source: dict[str, Any], gid: str) -> Order:
    at = "order."
    currency = _text(source, "currency", at)
    customer = _object(source.get("customer"), f"{at}customer")
    return Order(
        id=gid,
        created_at=_time(source, "created_at", at) or _missing(f"{at}created_at"),
        name=_text(source, "name", at),
        # REST's ``number`` is the sequence from 1; ``order_number`` is GraphQL's number.
        number=_integer(source, "order_number", at),
        legacy_resource_id=gid.rsplit("/", 1)[-1],
        updated_at=_time(source, "updated_at", at),
        confirmed=_boolean(source, "confirmed", at),
        cancelled_at=_time(source, "cancelled_at", at),
        test=bool(_boolean(source, "test", at)),
        email=_text(source, "email", at),
        phone=_text(source, "phone", at),
        currency_code=currency,
        total_price_set=_money_bag(source, "total_price_set", "total_price", currency, at),
        total_discounts_set=_money_bag(
            source, "total_discounts_set", "total_discounts", currency, at
        ),
        tags=_tags(source, at),
        discount_codes=[
            code
            for index, entry in enumerate(
                _objects(source.get("discount_codes"), f"{at}discount_codes")
            )
            if (code := _text(entry, "code", f"{at}discount_codes[{index}].")) is not None
        ],
        source_name=_text(source, "source_name", at),
        status_page_url=_text(source, "order_status_url", at),
        customer=(
            _customer(customer, _gid(customer, "Customer", f"{at}customer"), f"{at}customer")
            if customer is not None
            else None
        ),
        shipping_address=_address(source.get("shipping_address"), f"{at}shipping_address"),
        billing_address=_address(source.get("billing_address"), f"{at}billing_address"),
        line_items=[
            _line_item(item, currency, f"{at}line_items[{index}]")
            for index, item in enumerate(_objects(source.get("line_items"), f"{at}line_items"))
        ],
        shipping_lines=[
            ShippingLine(
                title=_text(line, "title", f"{at}shipping_lines[{index}]."),
                original_price_set=_money_bag(
                    line, "price_set", "price", currency, f"{at}shipping_lines[{index}]."
                ),
            )
            for index, line in enumerate(
                _objects(source.get("shipping_lines"), f"{at}shipping_lines")
            )
        ],
    )
