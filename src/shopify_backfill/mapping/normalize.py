"""Normalisation of the values identity and attributes depend on.

Each helper returns the clean value or ``None`` plus, where the input was present but
unusable, a human-readable note: SPEC §7 asks for records to be imported "as far as they
are valid", so a bad phone or country degrades one attribute, never the whole record.
Amounts, ids and timestamps that an event or purchase cannot do without raise
``MappingError`` instead, which quarantines the record.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

import phonenumbers

from shopify_backfill.errors import InputError
from shopify_backfill.mapping.bounds import PHONE_TEXT, cut, quote, storable
from shopify_backfill.mapping.countries import (
    ISO_3166_ALPHA2,
    SHOPIFY_CODE_ALIASES,
    SHOPIFY_UNMAPPABLE,
)

MAX_EMAIL_LENGTH: Final = 254
_LOCAL_PART = re.compile(r"^[^\s@\"(),:;<>\[\]\\]+$")
_DOMAIN_LABEL = re.compile(r"^[^\W_](?:[\w-]{0,61}[^\W_])?$")
_DECIMAL_TEXT = re.compile(r"^-?\d+(?:\.\d+)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DIGITS = re.compile(r"^[0-9]+$")


class MappingError(InputError):
    """A Shopify record cannot be mapped faithfully; the record goes to quarantine."""


@dataclass(frozen=True, slots=True)
class Normalized:
    """A cleaned value (``None`` when absent or unusable) and why it was dropped, if so."""

    value: str | None
    note: str | None = None


def clean_text(raw: str | None) -> str | None:
    """Trim and NFC-normalise free text, so that "é" typed two ways compares equal, and
    drop what no database stores (``bounds.storable``)."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", storable(raw)).strip()
    return text or None


@functools.lru_cache(maxsize=65_536)
def normalize_email(raw: str | None) -> Normalized:
    """Trim and lower-case an email; a syntactically invalid one is dropped with a note.

    An invalid address cannot be messaged and would match unrelated profiles, so it is
    neither stored as the ``email`` attribute nor used for identity (see docs/mapping.md).
    """
    text = clean_text(raw)
    if text is None:
        return Normalized(None)
    email = text.lower()
    if not is_valid_email(email):
        return Normalized(None, f"invalid email {quote(text)} ignored")
    return Normalized(email)


def is_valid_email(email: str) -> bool:
    """Pragmatic syntax check: one ``@``, a sane local part, a dotted domain."""
    if len(email) > MAX_EMAIL_LENGTH or email.count("@") != 1:
        return False
    local, domain = email.split("@")
    if not local or len(local) > 64 or not _LOCAL_PART.match(local):
        return False
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(_DOMAIN_LABEL.match(label) for label in labels)


@dataclass(frozen=True, slots=True)
class Phone:
    """A phone as written (the ``phone`` attribute) and, when parseable, its E.164 form."""

    attribute: str | None
    e164: str | None
    note: str | None = None


@functools.lru_cache(maxsize=65_536)
def normalize_phone(raw: str | None, region_hint: str | None = None) -> Phone:
    """Parse a phone to E.164, using the customer's country when it has no ``+`` prefix.

    Unparseable phones keep their text as the attribute (the merchant typed it; it may
    still mean something to them) but are never used to match profiles. Cached: parsing
    is the costliest step of mapping, and a customer recurs in every order they placed.
    """
    text = clean_text(raw)
    if text is None:
        return Phone(None, None)
    region = region_hint.upper() if region_hint else None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        note = f"phone {quote(text)} is not a parseable number; not used to match"
        if len(text) > PHONE_TEXT:
            note += f"; kept cut to {PHONE_TEXT} characters (was {len(text):,})"
        return Phone(cut(text, PHONE_TEXT), None, note)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164, e164)


def normalize_country(code: str | None) -> Normalized:
    """Validate Shopify's ``countryCodeV2`` as ISO 3166-1 alpha-2 (see ``countries.py``)."""
    text = clean_text(code)
    if text is None:
        return Normalized(None)
    upper = text.upper()
    if upper in ISO_3166_ALPHA2:
        return Normalized(upper)
    if upper in SHOPIFY_CODE_ALIASES:
        return Normalized(SHOPIFY_CODE_ALIASES[upper])
    if upper in SHOPIFY_UNMAPPABLE:
        return Normalized(None, f"country {upper} ({SHOPIFY_UNMAPPABLE[upper]}) not set")
    return Normalized(None, f"unknown country code {text!r} not set")


def parse_money(raw: str | None, what: str, *, allow_negative: bool = False) -> Decimal:
    """Exact decimal from Shopify's Decimal scalar (``"55.0"``); never via float."""
    if raw is None:
        raise MappingError(f"{what} is missing")
    amount = exact_amount(raw)
    if amount is None:
        raise MappingError(f"{what} {raw!r} is not a decimal amount")
    if amount < 0 and not allow_negative:
        raise MappingError(f"{what} {raw!r} is negative")
    return amount


def plain_amount(raw: str | None) -> Decimal | None:
    """``raw`` when ``parse_money`` would accept it as is (present, decimal, not
    negative), else ``None``: a cheap first try, before ``parse_money`` builds its error."""
    if raw is None:
        return None
    amount = exact_amount(raw)
    return amount if amount is not None and amount >= 0 else None


@functools.lru_cache(maxsize=16_384)
def exact_amount(raw: str) -> Decimal | None:
    """``raw`` as an exact ``Decimal``, or ``None`` when it is not plain decimal text.

    Cached: a store's prices and totals repeat across line items and orders, and
    ``Decimal`` values are immutable, so sharing them is safe.
    """
    text = raw.strip()
    if not _DECIMAL_TEXT.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex already guards this
        return None


def parse_currency(raw: str | None, what: str) -> str:
    """ISO 4217 currency code as Shopify sends it (three upper-case letters)."""
    if raw is None or not _CURRENCY.match(raw):
        raise MappingError(f"{what} {raw!r} is not a three-letter currency code")
    return raw


def parse_time(raw: str | None, what: str) -> datetime:
    """Shopify ``DateTime`` (ISO 8601, ``Z``) to an aware UTC datetime."""
    if raw is None:
        raise MappingError(f"{what} is missing")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise MappingError(f"{what} {raw!r} is not an ISO 8601 timestamp") from error
    if moment.tzinfo is None:
        raise MappingError(f"{what} {raw!r} has no timezone")
    return moment.astimezone(UTC)


def parse_count(raw: str | None, what: str) -> int:
    """Shopify ``UnsignedInt64`` (sent as a string) to an int."""
    if raw is None or not _DIGITS.match(raw.strip()):
        raise MappingError(f"{what} {raw!r} is not a non-negative integer")
    return int(raw.strip())


def numeric_shopify_id(gid: str | None, what: str) -> int:
    """``gid://shopify/Order/123`` -> ``123``; anything else is a malformed record."""
    if not gid:
        raise MappingError(f"{what} is missing")
    number = _gid_number(gid)
    if number is None:
        raise MappingError(f"{what} {gid!r} is not a Shopify global id")
    return number


def _gid_number(gid: str) -> int | None:
    tail = gid.rsplit("/", 1)[-1]
    if not _DIGITS.match(tail) or not gid.startswith("gid://shopify/"):
        return None
    return int(tail)


gid_number = functools.lru_cache(maxsize=16_384)(_gid_number)
"""The numeric tail of a Shopify global id (``None`` if ``gid`` is not one), cached for
the ids that recur on line item after line item: products and variants. Unique ids
(orders, line items) go through ``numeric_shopify_id``, uncached, not to churn it."""
