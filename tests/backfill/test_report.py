"""The report counts each Shopify customer and each guest profile once per backfill.

Batches are loaded with ``load_batch`` directly (as the runner does, one transaction
each) so that the batch boundaries, replays and pre-existing profiles are chosen by the
test; the report is then built from what the committed batches recorded. An end-to-end
run checks the same figures against the emulator's own documents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy.engine import Engine

from shopify_backfill.backfill.report import build_report, render_report
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.profiles import (
    LoadContext,
    LoadResult,
    create_shop_connection,
    create_workspace,
    export_profiles,
    insert_profile,
    load_batch,
)
from shopify_backfill.shopify.records import Customer, Order
from store_engines import BACKENDS, migrated_engine

from .conftest import Shop, connect, start_and_run

NOW = datetime(2026, 7, 2, tzinfo=UTC)


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated store, on each backend."""
    with migrated_engine(request.param, tmp_path_factory.mktemp("report"), "test_report") as built:
        yield built


@dataclass
class Workspace:
    engine: Engine
    workspace_id: int
    connection_id: int

    def load(self, records: Sequence[Customer | Order], backfill_id: int = 7) -> LoadResult:
        context = LoadContext(self.workspace_id, self.connection_id, backfill_id, True, now=NOW)
        with self.engine.begin() as conn:
            return load_batch(conn, context, records)

    def report(self, backfill_id: int = 7) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return build_report(
                conn,
                backfill_id=backfill_id,
                workspace_id=self.workspace_id,
                shop_domain="shop.myshopify.com",
                window_start=NOW,
                window_end=NOW,
                mode="bulk",
                counts={},
                started_at=None,
                finished_at=NOW,
                attempts=1,
            )


@pytest.fixture
def workspace(engine: Engine) -> Workspace:
    with engine.begin() as conn:
        workspace_id = create_workspace(conn, "Report")
        connection_id = create_shop_connection(
            conn, workspace_id, "shop.myshopify.com", connected_at=NOW
        )
    return Workspace(engine, workspace_id, connection_id)


def customer(number: int, **fields: Any) -> Customer:
    payload: dict[str, Any] = {
        "id": f"gid://shopify/Customer/{number}",
        "createdAt": "2026-05-01T00:00:00Z",
        "updatedAt": "2026-06-01T00:00:00Z",
        "firstName": f"Buyer {number}",
        "defaultEmailAddress": {"emailAddress": f"buyer{number}@example.com"},
    }
    payload.update(fields)
    return msgspec.convert(payload, Customer)


def order(number: int, buyer: Customer | None = None, **fields: Any) -> Order:
    payload: dict[str, Any] = {
        "id": f"gid://shopify/Order/{number}",
        "createdAt": "2026-05-03T00:00:00Z",
        "currencyCode": "CAD",
        "lineItems": [
            {
                "id": f"gid://shopify/LineItem/{number}0",
                "title": "Thing",
                "quantity": 1,
                "product": {"id": "gid://shopify/Product/1"},
                "originalUnitPriceSet": {"shopMoney": {"amount": "5.00", "currencyCode": "CAD"}},
            }
        ],
    }
    if buyer is not None:
        payload["customer"] = msgspec.to_builtins(buyer)
    payload.update(fields)
    return msgspec.convert(payload, Order)


def figures(report: dict[str, Any]) -> dict[str, int]:
    shown = {f"customers.{k}": v for k, v in report["customers"].items() if v}
    shown.update({f"guests.{k}": v for k, v in report["guests"].items() if v})
    return shown


def test_a_customer_seen_in_several_batches_counts_once_as_created(workspace: Workspace) -> None:
    ann = customer(1)
    first = workspace.load([ann, customer(2)])
    second = workspace.load([order(11, ann), order(12, ann)])
    third = workspace.load([order(13, ann)])
    # Each batch on its own sees Ann again and calls her matched by alias ...
    assert first.counts.customers_created == 2
    assert second.counts.customers_matched_by_alias == 1
    assert third.counts.customers_matched_by_alias == 1
    # ... the backfill's report counts her once, as the customer it created.
    assert figures(workspace.report()) == {"customers.created": 2}


def test_existing_profiles_count_once_by_first_match_and_updated_if_ever_changed(
    workspace: Workspace,
) -> None:
    with workspace.engine.begin() as conn:
        insert_profile(conn, workspace.workspace_id, attributes={"email": "buyer1@example.com"})
        for number in (2, 4):
            insert_profile(
                conn,
                workspace.workspace_id,
                attributes={"email": f"buyer{number}@example.com", "first_name": f"Buyer {number}"},
                alias_names={
                    "shopify_customer_id": str(number),
                    "shopify_email": f"buyer{number}@example.com",
                },
            )
        insert_profile(conn, workspace.workspace_id, attributes={"phone": "+16135550103"})
    ann, bea, dee = customer(1), customer(2), customer(4)
    cal = customer(3, defaultEmailAddress=None, defaultPhoneNumber={"phoneNumber": "+16135550103"})
    workspace.load([ann, bea, cal, dee])
    workspace.load([order(21, ann), order(22, bea)])
    # Dee's third sighting has a new tag: changed during the backfill, in a later batch.
    workspace.load([order(23, customer(4, tags=["vip"]))])
    report = workspace.report()
    assert figures(report) == {
        "customers.matched_by_alias": 2,  # Bea (nothing new, ever) and Dee (updated later)
        "customers.matched_by_email": 1,  # Ann: email match, its aliases added
        "customers.matched_by_phone": 1,  # Cal: phone match, name and aliases added
        "customers.updated": 3,
        "customers.unchanged": 1,
    }
    assert "matched by alias                2" in render_report(report)


def test_a_replayed_batch_counts_nothing_twice(workspace: Workspace) -> None:
    with workspace.engine.begin() as conn:
        insert_profile(conn, workspace.workspace_id, attributes={"email": "buyer5@example.com"})
    batch = [customer(4), customer(5), order(41, customer(4)), order(42)]
    batch[-1] = order(42, email="guest@example.com")
    workspace.load(batch)
    before = workspace.report()
    workspace.load(batch)  # a resume re-reading the last committed batch
    workspace.load(batch[2:])
    assert workspace.report() == before
    assert figures(before) == {
        "customers.created": 1,
        "customers.matched_by_email": 1,
        "customers.updated": 1,
        "guests.profiles_created": 1,
    }


def test_guest_profiles_count_once(workspace: Workspace) -> None:
    with workspace.engine.begin() as conn:
        insert_profile(conn, workspace.workspace_id, attributes={"phone": "+16135550199"})
    guest = {"email": "walk-in@example.com"}
    by_phone = {"phone": "+16135550199"}
    workspace.load([order(51, **guest), order(52, **by_phone)])
    workspace.load([order(53, **guest), order(54, **by_phone), order(55, **by_phone)])
    guests_only = figures(workspace.report())
    assert guests_only == {"guests.profiles_created": 1, "guests.matched_by_phone": 1}
    # A Shopify customer later claims the guest profile of its email: the profile is that
    # customer's, new to this workspace, so it counts once, as the customer created (the
    # created figures add up to the profiles the backfill made).
    workspace.load([customer(6, defaultEmailAddress={"emailAddress": "walk-in@example.com"})])
    report = workspace.report()
    assert figures(report) == {"customers.created": 1, "guests.matched_by_phone": 1}
    with workspace.engine.connect() as conn:
        assert len(export_profiles(conn, workspace.workspace_id)) == 2


def test_each_backfill_counts_its_own_customers(workspace: Workspace) -> None:
    workspace.load([customer(8)], backfill_id=7)
    workspace.load([order(81, customer(8))], backfill_id=9)
    assert figures(workspace.report(7)) == {"customers.created": 1}
    assert figures(workspace.report(9)) == {
        "customers.matched_by_alias": 1,
        "customers.unchanged": 1,
    }


def test_a_run_reports_each_customer_once(make_shop: Any, make_services: Any) -> None:
    shop: Shop = make_shop(customers=60, orders=300, seed=5)
    services = make_services(extraction_mode="bulk", batch_size=20)
    row = connect(services, shop)
    outcome = start_and_run(services, row, shop.options())
    assert outcome.status == "completed", outcome.failure_reason
    report = outcome.report
    assert report is not None
    with services.engine.connect() as conn:
        profiles = export_profiles(conn, row.workspace_id)
    customers = {
        p["aliases"]["shopify_customer_id"]
        for p in profiles
        if "shopify_customer_id" in p["aliases"]
    }
    assert report["customers"]["created"] == len(customers) > 0
    assert report["customers"]["matched_by_alias"] == 0  # the workspace was empty
    assert report["customers"]["unchanged"] == report["customers"]["updated"] == 0
    assert report["guests"]["matched_by_email"] == report["guests"]["matched_by_phone"] == 0
    # Batches of 20 saw customers again on their orders, which per-batch sums count again.
    with services.engine.connect() as conn:
        counts = get_backfill(conn, row.id).counts
    assert counts["customers_matched_by_alias"] > 0
