"""``customers/redact`` leaves nothing personal of the customer in any table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from backfill.conftest import Shop, connect
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.runner import run_backfill
from shopify_backfill.live.privacy import (
    export_customer,
    redact_customer,
    redact_shop,
    uninstalled,
)
from shopify_backfill.live.tables import privacy_requests
from shopify_backfill.profiles import export_profiles
from shopify_backfill.profiles.schema import metadata, shop_connections, users
from shopify_backfill.wiring import Services

_TEXT = (sa.String, sa.Text, sa.JSON, sa.LargeBinary)


def _backfilled(make_services: Any, shop: Shop) -> tuple[Services, int, list[dict[str, Any]]]:
    services: Services = make_services()
    row = connect(services, shop)
    with services.engine.begin() as conn:
        requests.start(conn, row, now=datetime.now(UTC))
    outcome = run_backfill(services, row.id, shop.options())
    assert outcome.status == "completed", outcome.failure_reason
    with services.engine.connect() as conn:
        return services, row.workspace_id, export_profiles(conn, row.workspace_id)


def _buyer(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """A customer with an email, a phone and purchases: the most to forget."""
    for profile in profiles:
        attributes = profile["attributes"]
        known = "shopify_customer_id" in profile["aliases"]
        if known and attributes.get("email") and attributes.get("phone") and profile["purchases"]:
            return profile
    raise AssertionError("the generated store has no customer with email, phone and orders")


def _places_holding(services: Services, needles: list[str]) -> list[str]:
    """Every text-like column of every table, searched for each needle."""
    found = []
    with services.engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, _TEXT)]
            for row in conn.execute(sa.select(*columns)) if columns else ():
                for column, value in zip(columns, row, strict=True):
                    text = (
                        value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    )
                    for needle in needles:
                        if needle.lower() in text.lower():
                            found.append(f"{table.name}.{column.name} holds {needle}")
    return found


def test_a_redacted_customer_leaves_no_email_or_phone_in_any_table(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=40, orders=200, seed=11)
    services, workspace_id, profiles = _backfilled(make_services, shop)
    buyer = _buyer(profiles)
    number = str(buyer["aliases"]["shopify_customer_id"]).rsplit("/", 1)[-1]
    email, phone = buyer["attributes"]["email"], buyer["attributes"]["phone"]
    needles = [email, phone]
    assert _places_holding(services, needles), "the scan finds the customer before"
    with services.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()

    payload = {
        "shop_id": 954889,
        "shop_domain": shop.domain,
        "customer": {"id": int(number), "email": email, "phone": phone},
        "orders_to_redact": [],
    }
    with services.engine.begin() as conn:
        report = redact_customer(conn, shop.domain, payload, datetime.now(UTC))

    assert _places_holding(services, needles) == []
    assert report.profiles >= 1
    with services.engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
        audit = conn.execute(sa.select(privacy_requests)).one()
        left = export_profiles(conn, workspace_id)
    assert after == before - report.profiles, "only the customer's profiles go"
    emails = {p["attributes"].get("email") for p in profiles}
    assert {p["attributes"].get("email") for p in left} == emails - {email}
    assert (audit.topic, audit.shopify_customer_id) == ("customers/redact", number)
    assert audit.summary["profiles"] == report.profiles


def test_a_data_request_writes_the_customers_stored_data_to_one_file(
    make_shop: Any, make_services: Any, tmp_path: Any
) -> None:
    shop: Shop = make_shop(customers=40, orders=200, seed=11)
    services, workspace_id, profiles = _backfilled(make_services, shop)
    buyer = _buyer(profiles)
    number = str(buyer["aliases"]["shopify_customer_id"]).rsplit("/", 1)[-1]
    payload = {
        "shop_domain": shop.domain,
        "customer": {"id": int(number), "email": buyer["attributes"]["email"]},
        "orders_requested": [],
    }

    with services.engine.begin() as conn:
        path = export_customer(conn, shop.domain, payload, tmp_path / "privacy", datetime.now(UTC))

    document = orjson.loads(path.read_bytes())
    assert document["shopify_customer_id"] == number
    as_written = orjson.loads(orjson.dumps(buyer, default=str))
    assert document["workspaces"] == {str(workspace_id): [as_written]}
    assert path.stat().st_mode & 0o077 == 0, "readable by the operator only"
    with services.engine.connect() as conn:
        audit = conn.execute(sa.select(privacy_requests)).one()
    assert audit.topic == "customers/data_request"
    assert audit.summary == {"profiles": 1, "file": path.name}


def test_shop_redact_leaves_nothing_of_the_shop_but_its_audit_and_once_only_marker(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=40, orders=200, seed=11)
    services, _, profiles = _backfilled(make_services, shop)
    emails = [p["attributes"]["email"] for p in profiles if p["attributes"].get("email")]
    now = datetime.now(UTC)

    with services.engine.begin() as conn:
        revoked = uninstalled(conn, shop.domain, now)
        token = conn.execute(sa.select(shop_connections.c.access_token_encrypted)).scalar_one()
    assert (revoked, token) == (1, None), "uninstall drops the token, keeps the data"
    assert _places_holding(services, emails[:3]), "the data waits for shop/redact"
    with services.engine.begin() as conn:
        removed = redact_shop(conn, shop.domain, now)

    assert removed["profiles"] == len(profiles)
    assert _places_holding(services, emails) == []
    left = [
        place
        for place in _places_holding(services, [shop.domain])
        if not place.startswith(("backfills.shop_domain", "privacy_requests.shop_domain"))
    ]
    assert left == []
    with services.engine.connect() as conn:
        topics = list(conn.execute(sa.select(privacy_requests.c.topic)).scalars())
    assert topics == ["app/uninstalled", "shop/redact"]
