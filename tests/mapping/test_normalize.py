"""Normalisation helpers: what is kept, what is dropped with a note, what quarantines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from graphql import GraphQLEnumType, GraphQLSchema

from shopify_backfill.mapping.countries import (
    ISO_3166_ALPHA2,
    SHOPIFY_CODE_ALIASES,
    SHOPIFY_UNMAPPABLE,
)
from shopify_backfill.mapping.normalize import (
    MappingError,
    clean_text,
    normalize_country,
    normalize_email,
    normalize_phone,
    numeric_shopify_id,
    parse_count,
    parse_money,
    parse_time,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ann.Lee+shop@Example.COM ", "ann.lee+shop@example.com"),
        ("zoé@exämple.ca", "zoé@exämple.ca"),
        ("o'brien@sub.example.co.uk", "o'brien@sub.example.co.uk"),
    ],
)
def test_valid_emails_are_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalize_email(raw).value == expected
    assert normalize_email(raw).note is None


@pytest.mark.parametrize(
    "raw", ["plainaddress", "a@b", "a@@b.com", "a b@c.com", ".a@b.com", "a..b@c.com", "a@-b.com"]
)
def test_invalid_emails_are_dropped_with_a_note(raw: str) -> None:
    result = normalize_email(raw)
    assert result.value is None
    assert result.note is not None and "invalid email" in result.note


def test_empty_email_is_simply_absent() -> None:
    assert normalize_email("   ") == normalize_email(None)
    assert normalize_email(None).note is None


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 613-555-0142", None, "+16135550142"),
        ("(613) 555-0142", "CA", "+16135550142"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+44 20 7946 0958", "US", "+442079460958"),
    ],
)
def test_phones_become_e164_using_the_country_hint(raw: str, region: str | None, e164: str) -> None:
    phone = normalize_phone(raw, region)
    assert (phone.e164, phone.attribute, phone.note) == (e164, e164, None)


@pytest.mark.parametrize(
    ("raw", "region"), [("call me", "CA"), ("12", "CA"), ("613 555 0142", None)]
)
def test_unparseable_phones_stay_as_attribute_but_never_match(raw: str, region: str | None) -> None:
    phone = normalize_phone(raw, region)
    assert phone.e164 is None
    assert phone.attribute == raw
    assert phone.note is not None and "not used to match" in phone.note


@pytest.mark.parametrize(
    ("code", "expected"), [("CA", "CA"), ("fr", "FR"), ("AC", "SH"), ("TA", "SH"), ("XK", "XK")]
)
def test_countries_are_iso_alpha2(code: str, expected: str) -> None:
    assert normalize_country(code).value == expected


@pytest.mark.parametrize(
    ("code", "note"), [("ZZ", "unknown region"), ("AN", "Antilles"), ("QQ", "unknown")]
)
def test_unknown_countries_are_not_set_and_noted(code: str, note: str) -> None:
    result = normalize_country(code)
    assert result.value is None
    assert result.note is not None and note in result.note


def test_every_shopify_country_code_has_a_decision(admin_schema: GraphQLSchema) -> None:
    enum = admin_schema.get_type("CountryCode")
    assert isinstance(enum, GraphQLEnumType)
    undecided = [
        code
        for code in enum.values
        if code not in ISO_3166_ALPHA2
        and code not in SHOPIFY_CODE_ALIASES
        and code not in SHOPIFY_UNMAPPABLE
    ]
    assert undecided == []
    assert len(ISO_3166_ALPHA2) == 249


@pytest.mark.parametrize(("raw", "expected"), [("55.0", "55.0"), ("0.10", "0.10"), (" 7 ", "7")])
def test_money_is_exact(raw: str, expected: str) -> None:
    amount = parse_money(raw, "price")
    assert isinstance(amount, Decimal) and str(amount) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12,50", "is not a decimal amount"),
        ("NaN", "is not a decimal amount"),
        ("1e3", "is not a decimal amount"),
        ("-1.00", "is negative"),
        (None, "is missing"),
    ],
)
def test_bad_money_names_the_field_and_the_problem(raw: str | None, reason: str) -> None:
    with pytest.raises(MappingError, match=f"line item 4 price.*{reason}"):
        parse_money(raw, "line item 4 price")


def test_negative_money_can_be_allowed() -> None:
    assert parse_money("-1.5", "refund", allow_negative=True) == Decimal("-1.5")


def test_times_ids_and_counts() -> None:
    assert parse_time("2026-05-01T10:00:00Z", "t") == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert parse_time("2026-05-01T12:00:00+02:00", "t") == datetime(2026, 5, 1, 10, tzinfo=UTC)
    with pytest.raises(MappingError, match="no timezone"):
        parse_time("2026-05-01T10:00:00", "t")
    assert numeric_shopify_id("gid://shopify/Order/9007199254740993", "id") == 9007199254740993
    with pytest.raises(MappingError, match="not a Shopify global id"):
        numeric_shopify_id("Order/12", "order id")
    assert parse_count("13", "n") == 13
    with pytest.raises(MappingError, match="non-negative integer"):
        parse_count("²", "n")


def test_clean_text_composes_unicode() -> None:
    assert clean_text("  Zoe\u0301 ") == "Zoé"
    assert clean_text(" \t ") is None
