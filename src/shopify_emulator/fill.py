"""Values for schema fields the stored documents do not hold.

The store keeps what a backfill and the product's tests read (about 50 of ``Order``'s
152 fields, 27 of ``Customer``'s 49); a client written by someone else asks for more -
``taxLines``, ``risk``, ``lifetimeDuration``, ``metafields`` - and before this module such a
query failed (a non-null field it did not hold was an error, and a bulk job failed as a
whole with what looked like a Shopify-side ``INTERNAL_SERVER_ERROR``). ``Filler`` answers
every field below a served root field:

1. a value *derived* from the document (``derived.py``: totals, statuses, tax lines,
   discount applications ... consistent with what the document holds);
2. otherwise the type's own empty value: ``null`` where the schema allows it, ``[]`` for
   lists, an empty page for connections, ``false``/``0``/``""`` for scalars, zero money in
   the document's currencies, a stable id, the document's time for a ``DateTime``, the
   first (or a plausible) enum value, and an object whose own fields are filled the same
   way when selected.

Objects made here carry a private ``_ctx`` (times, currencies, a key for stable ids) so
their children stay consistent with the document they hang from; private keys (``_``)
never reach a response. Root fields are not filled: a root the emulator does not serve
(``products``, mutations) stays a named ``EMULATOR_UNSUPPORTED`` error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)

MISSING: Any = object()
"""What a derivation returns when it has nothing better than the type's empty value."""

Paginate = Callable[[list[dict[str, Any]], dict[str, Any], str], dict[str, Any]]
"""``(items, field arguments, field name) -> connection`` (the executor's list paging)."""

ENUM_DEFAULTS: dict[str, str] = {
    "CountPrecision": "EXACT",
    "CountryCode": "US",
    "CustomerProductSubscriberStatus": "NEVER_SUBSCRIBED",
    "FulfillmentStatus": "SUCCESS",
    "LanguageCode": "EN",
    "OrderReturnStatus": "NO_RETURN",
    "OrderRiskLevel": "LOW",
    "OrderRiskRecommendationResult": "ACCEPT",
    "OrderTransactionStatus": "SUCCESS",
    "RiskAssessmentResult": "LOW",
    "WeightUnit": "KILOGRAMS",
}
"""Enum values a real store shows for an ordinary object (otherwise the first value)."""

CONCRETE_DEFAULTS: dict[str, str] = {
    "PricingValue": "MoneyV2",
    "PurchasingEntity": "Customer",
}
"""Concrete types picked for a non-null abstract field (otherwise the first by name)."""

ID_DIGITS = 10**13
"""Made-up numeric ids have 13-14 digits, like the store's own."""


def stable_number(*parts: object) -> int:
    """A 13-14 digit number that depends only on ``parts``: stable ids across requests."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return ID_DIGITS + int.from_bytes(digest, "big") % (9 * ID_DIGITS)


def money_text(amount: Decimal) -> str:
    """Shopify's decimal text: no padding, at least one decimal (``"55.0"``)."""
    text = format(amount.normalize(), "f") if amount else "0"
    return text if "." in text else f"{text}.0"


def context(parent: Mapping[str, Any], shop: Mapping[str, Any]) -> dict[str, Any]:
    """Times, currencies and an identity key a filled child inherits from ``parent``."""
    inherited = parent.get("_ctx")
    if isinstance(inherited, dict):
        return inherited
    currency = parent.get("currencyCode") or shop.get("currencyCode") or "USD"
    return {
        "at": parent.get("updatedAt") or parent.get("createdAt") or shop.get("updatedAt"),
        "created": parent.get("createdAt") or shop.get("createdAt"),
        "shop": currency,
        "presentment": parent.get("presentmentCurrencyCode") or currency,
        "key": str(parent.get("id") or parent.get("__typename") or "root"),
    }


def child_context(ctx: dict[str, Any], *path: object) -> dict[str, Any]:
    """``ctx`` for an object one field (or list position) further down."""
    return {**ctx, "key": "/".join([ctx["key"], *map(str, path)])}


def money(amount: Decimal | str, currency: str) -> dict[str, Any]:
    return {
        "amount": money_text(Decimal(amount)),
        "currencyCode": currency,
    }


def bag(shop_amount: Decimal, presentment_amount: Decimal, ctx: dict[str, Any]) -> dict[str, Any]:
    return {
        "shopMoney": money(shop_amount, ctx["shop"]),
        "presentmentMoney": money(presentment_amount, ctx["presentment"]),
    }


class Filler:
    """Answers fields a parent document lacks: derived values first, then type defaults."""

    def __init__(
        self,
        schema: GraphQLSchema,
        shop: Callable[[], dict[str, Any]],
        paginate: Paginate,
        derivations: Mapping[tuple[str, str], Callable[[Fill], Any]],
        aliases: Mapping[tuple[str, str], str],
    ) -> None:
        self.schema = schema
        self._shop = shop
        self.paginate = paginate
        self.derivations = derivations
        self.aliases = aliases

    @property
    def shop(self) -> dict[str, Any]:
        return self._shop()

    # ------------------------------------------------------------------ entry points

    def value(
        self, object_type: GraphQLObjectType, name: str, args: dict[str, Any], parent: Any
    ) -> Any:
        """The raw (stored-form) value of ``object_type.name`` on ``parent``."""
        field_def = object_type.fields[name]
        if _is_connection(field_def.type):
            items = self.items(object_type, name, args, parent)
            return self.paginate(items, args, name)
        fill = Fill(self, object_type, name, args, parent)
        derive = self.derivations.get((object_type.name, name))
        if derive is not None:
            found = derive(fill)
            if found is not MISSING:
                return found
        return fill.default()

    def items(
        self, object_type: GraphQLObjectType, name: str, args: dict[str, Any], parent: Any
    ) -> list[dict[str, Any]]:
        """The nodes of a connection field: held under ``_<name>``, derived, or none."""
        if isinstance(parent, dict):
            held = parent.get("_" + name)
            if isinstance(held, list):
                return held
        derive = self.derivations.get((object_type.name, name))
        if derive is not None:
            found = derive(Fill(self, object_type, name, args, parent))
            if found is not MISSING:
                return list(found)
        return []

    def sibling(self, object_type: GraphQLObjectType, name: str, parent: dict[str, Any]) -> Any:
        """Another field of the same object, stored, aliased or filled."""
        if name in parent:
            return parent[name]
        alias = self.aliases.get((object_type.name, name))
        if alias is not None and alias in parent:
            return parent[alias]
        if name not in object_type.fields:
            return None
        return self.value(object_type, name, {}, parent)


class Fill:
    """One field to fill: what a derivation sees, and the type's default."""

    __slots__ = ("args", "filler", "name", "object_type", "parent")

    def __init__(
        self,
        filler: Filler,
        object_type: GraphQLObjectType,
        name: str,
        args: dict[str, Any],
        parent: Any,
    ) -> None:
        self.filler = filler
        self.object_type = object_type
        self.name = name
        self.args = args
        self.parent: dict[str, Any] = parent if isinstance(parent, dict) else {}

    @property
    def ctx(self) -> dict[str, Any]:
        return context(self.parent, self.filler.shop)

    def get(self, name: str) -> Any:
        """A sibling field's raw value (stored, aliased or filled)."""
        return self.filler.sibling(self.object_type, name, self.parent)

    def amount(self, name: str, side: str = "shopMoney") -> Decimal:
        """One side of a sibling ``MoneyBag`` as a number (0 when absent)."""
        found = self.get(name)
        if isinstance(found, dict) and isinstance(found.get(side), dict):
            return Decimal(str(found[side].get("amount") or "0"))
        return Decimal(0)

    def bag(self, shop_amount: Decimal, presentment_amount: Decimal | None = None) -> Any:
        return bag(
            shop_amount, shop_amount if presentment_amount is None else presentment_amount, self.ctx
        )

    def object(self, type_name: str, *path: object, **fields: Any) -> dict[str, Any]:
        """A made-up child object of ``type_name`` whose other fields fill themselves."""
        return {
            "__typename": type_name,
            "_ctx": child_context(self.ctx, self.name, *path),
            **fields,
        }

    # ------------------------------------------------------------------ defaults

    def default(self) -> Any:
        field_type = self.object_type.fields[self.name].type
        if not isinstance(field_type, GraphQLNonNull):
            return None
        inner = field_type.of_type
        if isinstance(inner, GraphQLList):
            return []
        if isinstance(inner, GraphQLScalarType):
            return self._scalar(inner.name)
        if isinstance(inner, GraphQLEnumType):
            return self._enum(inner)
        if isinstance(inner, GraphQLInterfaceType | GraphQLUnionType):
            return self.object(self._concrete(inner))
        if isinstance(inner, GraphQLObjectType):
            return self._object(inner)
        return None

    def _object(self, object_type: GraphQLObjectType) -> Any:
        if object_type.name == "MoneyV2":
            base = self.name[:-2] if self.name.endswith("V2") else self.name
            source = self.get(base + "Set") if base + "Set" in self.object_type.fields else None
            if isinstance(source, dict) and isinstance(source.get("shopMoney"), dict):
                return source["shopMoney"]
            return money(Decimal(0), self.ctx["shop"])
        if object_type.name == "MoneyBag":
            return self.bag(Decimal(0))
        if object_type.name == "Count":
            return {"count": 0, "precision": "EXACT"}
        return self.object(object_type.name)

    def _concrete(self, abstract: GraphQLInterfaceType | GraphQLUnionType) -> str:
        preferred = CONCRETE_DEFAULTS.get(abstract.name)
        if preferred is not None:
            return preferred
        names = sorted(t.name for t in self.filler.schema.get_possible_types(abstract))
        return names[0] if names else abstract.name

    def _enum(self, enum: GraphQLEnumType) -> str:
        if enum.name == "CurrencyCode":
            return str(self.ctx["shop"])
        preferred = ENUM_DEFAULTS.get(enum.name)
        return preferred if preferred in enum.values else next(iter(enum.values))

    def _scalar(self, name: str) -> Any:
        ctx = self.ctx
        if name == "Boolean":
            return False
        if name in ("Int", "Float"):
            return 0 if name == "Int" else 0.0
        if name in {"ID", "StorefrontID"}:
            return self.own_id() if self.name == "id" else _gid(self.name, ctx["key"])
        if name in ("UnsignedInt64", "BigInt"):
            if self.name == "legacyResourceId":
                return str(self.own_id().rsplit("/", 1)[-1])
            return "0"
        if name in ("Decimal", "Money"):
            return self._money_text()
        if name == "DateTime":
            return ctx["at"]
        if name == "Date":
            return str(ctx["at"] or "")[:10] or None
        if name == "URL":
            return (
                f"https://{self.filler.shop.get('myshopifyDomain', 'emulator-shop.myshopify.com')}/"
            )
        if name == "JSON":
            return {}
        if name == "UtcOffset":
            return "+00:00"
        if name == "Color":
            return "#000000"
        return ""

    def own_id(self) -> str:
        """The parent object's id: held, or made up from its context key."""
        held = self.parent.get("id")
        if isinstance(held, str):
            return held
        key = self.parent.get("_ctx", {}).get("key", "root") if self.parent else "root"
        return f"gid://shopify/{self.object_type.name}/{stable_number(key)}"

    def _money_text(self) -> str:
        """A deprecated ``Money`` field equals the shop side of its ``...Set`` sibling."""
        base = self.name[:-2] if self.name.endswith("V2") else self.name
        if base + "Set" in self.object_type.fields:
            return money_text(self.amount(base + "Set"))
        return "0.0"


def _gid(field_name: str, key: str) -> str:
    resource = field_name[:1].upper() + field_name[1:]
    if resource.endswith("Id"):
        resource = resource[:-2]
    return f"gid://shopify/{resource}/{stable_number(key, field_name)}"


def _is_connection(field_type: GraphQLOutputType) -> bool:
    named = get_named_type(field_type)
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
    )
