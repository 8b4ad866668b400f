"""What a backfill into an empty workspace must produce, computed from the emulator's raw
documents with SPEC §2-3 and docs/mapping.md, without the product's mapping code.

A small model of the rules, applied one record at a time in extraction order (customers
created in the window, then the window's orders by creation time): identity by alias,
then email, then phone (profiles bound to another Shopify customer are not candidates;
guests may match any profile, most recently active first, then oldest), attributes
written only when they change, consent only for profiles the backfill created, one
event per order and one purchase per line item (split by 100). Data points are counted
from the same walk.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import phonenumbers

CONSENT = {
    "SUBSCRIBED": "subscribed",
    "UNSUBSCRIBED": "unsubscribed",
    "PENDING": "unsubscribed",
    "INVALID": "unsubscribed",
    "REDACTED": "unsubscribed",
}
COUNTRY_ALIASES = {"AC": "SH", "TA": "SH", "XK": "XK"}
_LOCAL = re.compile(r"^[^\s@\"(),:;<>\[\]\\]+$")
_LABEL = re.compile(r"^[^\W_](?:[\w-]{0,61}[^\W_])?$")


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)


def text(raw: Any) -> str | None:
    if raw is None:
        return None
    cleaned = unicodedata.normalize("NFC", str(raw)).strip()
    return cleaned or None


def email_of(raw: Any) -> str | None:
    value = text(raw)
    if value is None:
        return None
    value = value.lower()
    if value.count("@") != 1 or len(value) > 254:
        return None
    local, domain = value.split("@")
    if not local or len(local) > 64 or not _LOCAL.match(local):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    labels = domain.split(".")
    return value if len(labels) >= 2 and all(_LABEL.match(label) for label in labels) else None


def phone_of(raw: Any, region: str | None) -> tuple[str | None, str | None]:
    """(attribute value, E.164 key usable for matching)."""
    value = text(raw)
    if value is None:
        return None, None
    try:
        parsed = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return value, None
    if not phonenumbers.is_possible_number(parsed):
        return value, None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164, e164


def country_of(raw: Any) -> str | None:
    value = text(raw)
    if value is None:
        return None
    value = value.upper()
    if value in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[value]
    if value in ("ZZ", "AN") or not re.fullmatch(r"[A-Z]{2}", value):
        return None
    return value


def carries(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict | tuple):
        return len(value) > 0
    return True


@dataclass
class Profile:
    order: int
    bound_to: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    email_key: str | None = None
    phone_key: str | None = None
    subscriptions: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, str]] = field(default_factory=list)
    purchases: list[tuple[str, str, str, Decimal, int, str]] = field(default_factory=list)
    last_activity: datetime | None = None


@dataclass
class Expected:
    profiles: list[Profile] = field(default_factory=list)
    data_points: int = 0
    orders_imported: int = 0
    orders_skipped_test: int = 0
    orders_unattributable: int = 0
    alias_owner: dict[tuple[str, str], Profile] = field(default_factory=dict)

    # -- identity --------------------------------------------------------------------

    def _candidates(self, key: str, value: str, guest: bool) -> list[Profile]:
        found = [
            p
            for p in self.profiles
            if (p.email_key if key == "email" else p.phone_key) == value
            and (guest or p.bound_to is None)
        ]
        never = datetime.min.replace(tzinfo=UTC)
        return sorted(found, key=lambda p: (-(p.last_activity or never).timestamp(), p.order))

    def _new(self) -> Profile:
        profile = Profile(order=len(self.profiles))
        self.profiles.append(profile)
        return profile

    def _alias(self, profile: Profile, label: str, name: str) -> None:
        owner = self.alias_owner.get((label, name))
        if owner is not None and owner is not profile:
            return
        previous = profile.aliases.get(label)
        if previous is not None and previous != name:
            self.alias_owner.pop((label, previous), None)
        profile.aliases[label] = name
        self.alias_owner[(label, name)] = profile

    def _set(self, profile: Profile, name: str, value: Any) -> None:
        if value is None or value == "":
            return
        if profile.attributes.get(name) != value:
            profile.attributes[name] = value
            self.data_points += 1

    # -- records ---------------------------------------------------------------------

    def customer(self, doc: dict[str, Any]) -> Profile:
        numeric = doc["id"].rsplit("/", 1)[1]
        address = doc.get("defaultAddress") or {}
        region = address.get("countryCodeV2")
        email = email_of((doc.get("defaultEmailAddress") or {}).get("emailAddress"))
        phone_value, phone_key = phone_of(
            (doc.get("defaultPhoneNumber") or {}).get("phoneNumber"), region
        )
        profile = self.alias_owner.get(("shopify_customer_id", numeric))
        created = False
        if profile is None:
            match = (self._candidates("email", email, False) if email else []) or (
                self._candidates("phone", phone_key, False) if phone_key else []
            )
            if match:
                profile = match[0]
            else:
                profile, created = self._new(), True
            profile.bound_to = numeric
            self._alias(profile, "shopify_customer_id", numeric)
        del created
        if email:
            self._alias(profile, "shopify_email", email)
            profile.email_key = email
        if phone_key:
            self._alias(profile, "shopify_phone", phone_key)
            profile.phone_key = phone_key
        self._set(profile, "email", email)
        self._set(profile, "first_name", text(doc.get("firstName")))
        self._set(profile, "last_name", text(doc.get("lastName")))
        self._set(profile, "phone", phone_value)
        self._set(profile, "home_city", text(address.get("city")))
        self._set(profile, "country", country_of(region))
        count = doc.get("numberOfOrders")
        if count is not None and str(count).isdigit():
            self._set(profile, "shopify_order_count", int(count))
        spent = (doc.get("amountSpent") or {}).get("amount")
        if spent is not None:
            self._set(profile, "shopify_total_spent", Decimal(spent))
        tags = doc.get("tags") or []
        if tags:
            self._set(profile, "shopify_tags", ", ".join(tags))
        email_state = CONSENT.get((doc.get("defaultEmailAddress") or {}).get("marketingState"))
        sms_state = CONSENT.get((doc.get("smsMarketingConsent") or {}).get("marketingState"))
        if email_state:
            profile.subscriptions["email"] = email_state
        if sms_state:
            profile.subscriptions["sms"] = sms_state
        return profile

    def order(self, doc: dict[str, Any], customers: dict[str, dict[str, Any]]) -> None:
        if doc.get("test"):
            self.orders_skipped_test += 1
            return
        customer_id = doc.get("_customerId")
        if customer_id is not None:
            profile = self.customer(customers[f"gid://shopify/Customer/{customer_id}"])
        else:
            found = self._guest(doc)
            if found is None:
                self.orders_unattributable += 1
                return
            profile = found
        self.orders_imported += 1
        order_id = doc["id"].rsplit("/", 1)[1]
        time = parse_time(doc["createdAt"])
        stamp = time.isoformat().replace("+00:00", "Z")
        profile.events.append((order_id, stamp))
        self.data_points += 1 + self._event_properties(doc)
        currency = doc["currencyCode"]
        for item in doc["_lineItems"]:
            self._purchases(profile, order_id, item, currency, stamp)
        if profile.last_activity is None or time > profile.last_activity:
            profile.last_activity = time

    def _guest(self, doc: dict[str, Any]) -> Profile | None:
        email = email_of(doc.get("email"))
        region = (doc.get("shippingAddress") or {}).get("countryCodeV2") or (
            doc.get("billingAddress") or {}
        ).get("countryCodeV2")
        phone_value, phone_key = phone_of(doc.get("phone"), region)
        if email:
            match = self._candidates("email", email, True)
            if match:
                return match[0]
        if phone_key:
            match = self._candidates("phone", phone_key, True)
            if match:
                return match[0]
        if not email and not phone_key:
            return None
        profile = self._new()
        if email:
            profile.email_key = email
            self._alias(profile, "shopify_email", email)
        if phone_key:
            profile.phone_key = phone_key
            self._alias(profile, "shopify_phone", phone_key)
        self._set(profile, "email", email)
        self._set(profile, "phone", phone_value)
        return profile

    def _event_properties(self, doc: dict[str, Any]) -> int:
        values = [
            doc["id"],
            doc.get("number"),
            doc.get("name"),
            doc.get("confirmed"),
            doc.get("statusPageUrl"),
            doc.get("cancelledAt"),
            (doc.get("totalPriceSet") or {}).get("shopMoney"),
            (doc.get("totalDiscountsSet") or {}).get("shopMoney"),
            doc.get("currencyCode"),
            doc.get("tags") or None,
            doc.get("discountCodes") or [],
            doc.get("sourceName"),
            doc["_lineItems"],
            doc.get("_shippingLines") or [],
            doc.get("shippingAddress"),
            doc.get("billingAddress")
            or (doc.get("shippingAddress") if doc.get("_billingIsShipping") else None),
        ]
        return sum(1 for value in values if carries(value))

    def _purchases(
        self, profile: Profile, order_id: str, item: dict[str, Any], currency: str, stamp: str
    ) -> None:
        product = (item.get("product") or {}).get("id")
        variant = item.get("variant") or {}
        product_id = (
            product.rsplit("/", 1)[1] if product else text(item.get("sku")) or text(item["title"])
        )
        price = Decimal(item["originalUnitPriceSet"]["shopMoney"]["amount"])
        line_id = item["id"].rsplit("/", 1)[1]
        quantity = int(item["quantity"])
        attributes = {a["key"]: a.get("value") for a in item.get("customAttributes") or []}
        properties = [
            text(item.get("name")),
            text(item.get("sku")),
            variant.get("id"),
            text(item.get("variantTitle")),
            text(item.get("vendor")),
            attributes,
        ]
        cost = 1 + sum(1 for value in properties if carries(value))
        index = 0
        while quantity > 0:
            chunk = min(quantity, 100)
            profile.purchases.append(
                (f"{order_id}:{line_id}:{index}", str(product_id), currency, price, chunk, stamp)
            )
            self.data_points += cost
            quantity -= chunk
            index += 1


def expected_store(
    customers: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    window_start: datetime,
    window_end: datetime,
) -> Expected:
    by_id = {doc["id"]: doc for doc in customers}
    model = Expected()

    def inside(doc: dict[str, Any]) -> bool:
        return window_start <= parse_time(doc["createdAt"]) < window_end

    for doc in sorted(filter(inside, customers), key=lambda d: (d["createdAt"], d["id"])):
        model.customer(doc)
    for doc in sorted(filter(inside, orders), key=lambda d: (d["createdAt"], d["id"])):
        model.order(doc, by_id)
    return model


def comparable(profile: Profile, domain: str) -> dict[str, Any]:
    return {
        "aliases": dict(sorted(profile.aliases.items())),
        "attributes": dict(sorted(profile.attributes.items())),
        "subscriptions": {f"{domain}/{k}": v for k, v in sorted(profile.subscriptions.items())},
        "events": sorted(profile.events),
        "purchases": sorted(profile.purchases),
    }


def comparable_export(profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "aliases": dict(sorted(profile["aliases"].items())),
        "attributes": dict(sorted(profile["attributes"].items())),
        "subscriptions": dict(sorted(profile["subscriptions"].items())),
        "events": sorted((e["dedup_key"], e["time"]) for e in profile["events"]),
        "purchases": sorted(
            (
                p["dedup_key"],
                str(p["product_id"]),
                p["currency"],
                Decimal(p["price"]),
                p["quantity"],
                p["time"],
            )
            for p in profile["purchases"]
        ),
    }
