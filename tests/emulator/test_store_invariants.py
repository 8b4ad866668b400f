"""Generated stores obey the store invariants Shopify enforces on customers.

Shopify keeps a customer's email and phone unique within a store: ``CustomerInput.email``
is "The unique email address of the customer" and ``CustomerInput.phone`` "The unique
phone number for the customer" (admin 2026-07 schema), ``customerSet`` upserts "by a
unique key (email or phone)", and ``customerCreate`` / ``customerUpdate`` answer a reused
one with the userErrors "Email has already been taken" / "Phone has already been taken"
(``TAKEN``). Emails compare trimmed and case-insensitively, phones in E.164.

- https://shopify.dev/docs/api/admin-graphql/latest/objects/Customer
- https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerCreate
- https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerSet

What identity resolution must still meet, real stores have on orders instead: guest
checkouts carrying a customer's (or an earlier guest's) email and phone, and customers'
orders carrying another address or a household's phone. Those cases must keep occurring
at their documented rates (docs/emulator-store.md, "Buyers" and "Customers").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopify_emulator.store import ShopStore
from shopify_emulator.synth import unique_phone

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
SHOP_REGION = "US"


def email_key(email: str) -> str:
    """Shopify's comparison of emails: trimmed, case-insensitive."""
    return email.strip().casefold()


def phone_key(phone: str, region: str | None) -> str:
    """E.164 where the number parses (``region`` for numbers without ``+``), else the text.

    A number that does not parse would be refused by Shopify ("Phone is invalid"); the
    generator keeps a few as nasty data, and they must still be the customer's own.
    """
    text = phone.strip()
    try:
        number = phonenumbers.parse(text, region or SHOP_REGION)
    except phonenumbers.NumberParseException:
        return "text:" + text.casefold()
    if not phonenumbers.is_possible_number(number):
        return "text:" + text.casefold()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def customer_region(customer: dict[str, Any]) -> str | None:
    region: str | None = (customer["defaultAddress"] or {}).get("countryCodeV2")
    return region


def looks_valid_email(email: str) -> bool:
    """One ``@``, a local part without spaces or a trailing dot, a dotted domain."""
    local, _, domain = email.partition("@")
    return (
        bool(local)
        and not local.endswith(".")
        and " " not in email
        and "@" not in domain
        and "." in domain.strip(".")
    )


def duplicates(keys: list[str]) -> list[str]:
    return sorted(key for key, count in Counter(keys).items() if count > 1)


def assert_customers_unique(customers: list[dict[str, Any]]) -> None:
    emails = [email_key(c["email"]) for c in customers if c["email"]]
    assert duplicates(emails) == [], "Email has already been taken"
    # Under the customer's own country and under the shop's: a number without ``+`` may
    # be read either way, and no reading may make two customers' phones one.
    for hint in (customer_region, lambda _customer: SHOP_REGION):
        phones = [phone_key(c["phone"], hint(c)) for c in customers if c["phone"]]
        assert duplicates(phones) == [], "Phone has already been taken"


def generated(customers: int, orders: int, seed: int) -> tuple[list[Any], list[Any]]:
    with ShopStore.generate(None, customers=customers, orders=orders, seed=seed, now=NOW) as s:
        return list(s.iter_all_customers()), list(s.iter_all_orders())


@pytest.mark.parametrize(
    ("customers", "orders", "seed"),
    [(1, 5, 0), (7, 30, 1), (30, 120, 3), (400, 2_000, 5), (3_000, 3_000, 11)],
)
def test_no_two_customers_share_an_email_or_a_phone(customers: int, orders: int, seed: int) -> None:
    """Shopify refuses a taken email or phone; sizes from one customer to thousands."""
    found, _ = generated(customers, orders, seed)
    assert len(found) == customers
    assert_customers_unique(found)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**31), customers=st.integers(20, 160))
def test_uniqueness_holds_for_any_seed(seed: int, customers: int) -> None:
    """The same rule over arbitrary seeds and sizes (uniqueness is by construction)."""
    found, _ = generated(customers, customers * 2, seed)
    assert_customers_unique(found)


@given(seed=st.integers(min_value=0, max_value=2**31), slots=st.sets(st.integers(0, 10**7)))
def test_unique_phone_is_injective_and_valid(seed: int, slots: set[int]) -> None:
    """Distinct slots, distinct E.164 numbers that Shopify would accept as phones."""
    numbers = {unique_phone(seed, slot) for slot in slots}
    assert len(numbers) == len(slots)
    for text in numbers:
        parsed = phonenumbers.parse(text)
        assert phonenumbers.is_valid_number(parsed), text
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == text


# --------------------------------------------------------------------------- shared contacts


@pytest.fixture(scope="module")
def store() -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    yield generated(2_500, 12_000, 23)


def share(part: int, whole: int) -> float:
    assert whole > 0
    return part / whole


def test_customers_keep_their_nasty_contacts(
    store: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """Invalid emails and phones stay (each the customer's own), as do missing ones."""
    customers, _ = store
    emails = [c["email"] for c in customers if c["email"]]
    invalid = [e for e in emails if not looks_valid_email(e)]
    assert 0.01 < share(len(invalid), len(customers)) < 0.04
    assert 0.05 < share(sum(c["email"] is None for c in customers), len(customers)) < 0.11
    phones = [(c["phone"], customer_region(c)) for c in customers if c["phone"]]
    unparseable = [p for p, region in phones if phone_key(p, region).startswith("text:")]
    vanity = [p for p, _ in phones if any(ch.isalpha() for ch in p)]
    assert {"n/a", "00000000000"} <= {p for p, _ in phones}, "placeholders, once each"
    assert unparseable and vanity


def test_guest_orders_share_contacts_with_customers_and_guests(
    store: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """Guests checking out with a customer's email/phone, returning guests, a shop's number.

    Rates (synth.py): 7% of orders are guests; a quarter of guests with contacts are a
    registered customer, 15% an earlier guest; 5% of guest phones come from the 555 pool.
    """
    customers, orders = store
    emails = {email_key(c["email"]) for c in customers if c["email"]}
    phones = {phone_key(c["phone"], customer_region(c)) for c in customers if c["phone"]}
    guests = [o for o in orders if o["_customerId"] is None]
    assert 0.05 < share(len(guests), len(orders)) < 0.09
    guest_emails = [email_key(o["email"]) for o in guests if o["email"]]
    guest_phones = [phone_key(o["phone"], None) for o in guests if o["phone"]]
    assert 0.4 < share(len(guest_emails), len(guests)) < 0.6
    assert 0.35 < share(len(guest_phones), len(guests)) < 0.55

    customers_email = sum(e in emails for e in guest_emails)
    assert 0.12 < share(customers_email, len(guest_emails)) < 0.32
    customers_phone = sum(p in phones for p in guest_phones)
    assert 0.07 < share(customers_phone, len(guest_phones)) < 0.25

    seen: set[str] = set()
    repeated = 0
    for key in guest_emails:
        if key not in emails:
            repeated += key in seen
            seen.add(key)
    assert 0.05 < share(repeated, len(guest_emails)) < 0.25, "returning guests"
    pool = [p for p in guest_phones if p[5:9] == "5550" and p[9] == "1"]
    assert pool, "guests giving a shared 555-01XX number"
    assert any(o["email"] != o["email"].strip() for o in guests if o["email"])


def test_customers_orders_carry_other_contacts(
    store: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """A customer checking out with another address or a household's phone (3% each)."""
    customers, orders = store
    by_id = {int(c["legacyResourceId"]): c for c in customers}
    emails = {email_key(c["email"]) for c in customers if c["email"]}
    phones = {phone_key(c["phone"], customer_region(c)) for c in customers if c["phone"]}
    own = [o for o in orders if o["_customerId"] is not None]
    other_email = [
        o
        for o in own
        if o["email"] and email_key(o["email"]) != email_key(by_id[o["_customerId"]]["email"] or "")
    ]
    assert 0.015 < share(len(other_email), len(own)) < 0.045
    household = [o for o in other_email if email_key(o["email"]) in emails]
    assert 0.1 < share(len(household), len(other_email)) < 0.5
    other_phone = [o for o in own if o["phone"] and o["phone"] != by_id[o["_customerId"]]["phone"]]
    assert 0.015 < share(len(other_phone), len(own)) < 0.045
    shared = Counter(phone_key(o["phone"], None) for o in other_phone)
    assert any(key in phones for key in shared), "another customer's phone"
    assert any(count > 1 for count in shared.values()), "a phone on several customers' orders"
