"""After a demo-style backfill, the store equals an expectation computed independently
from the emulator's raw documents (see ``expectation.py``), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shopify_backfill.profiles import datapoint_total, export_profiles, scratch_postgres_schema
from shopify_backfill.profiles.types import json_dumps
from shopify_backfill.window import window_for
from shopify_backfill.wiring import Services

from .conftest import POSTGRES_URL, Shop, connect, fast_settings, start_and_run
from .expectation import comparable, comparable_export, expected_store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_services(
    request: pytest.FixtureRequest, make_services: Any, tmp_path: Any
) -> Iterator[Any]:
    if request.param == "sqlite":
        yield make_services
        return
    from shopify_backfill.profiles.connections import TokenCipher

    with scratch_postgres_schema(POSTGRES_URL, prefix="test_backfill_e2e") as engine:

        def factory(**overrides: Any) -> Services:
            settings = fast_settings(tmp_path / "pg-data", **overrides)
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            return Services(settings, engine, TokenCipher.from_settings(settings))

        yield factory


@pytest.mark.parametrize("mode", ["bulk", "paginated"])
def test_store_matches_the_independent_expectation(
    make_shop: Any, backend_services: Any, mode: str
) -> None:
    shop: Shop = make_shop(customers=150, orders=600, seed=17)
    services: Services = backend_services(extraction_mode=mode)
    row = connect(services, shop)
    outcome = start_and_run(services, row, shop.options())
    assert outcome.status == "completed", outcome.failure_reason
    report = outcome.report
    assert report is not None

    window = window_for(shop.store.now)
    assert row.window == window
    model = expected_store(
        list(shop.store.iter_all_customers()),
        list(shop.store.iter_all_orders(with_line_items=True)),
        window.start,
        window.end,
    )
    with services.engine.connect() as conn:
        exported = export_profiles(conn, row.workspace_id)
        points = datapoint_total(conn, row.workspace_id, backfill_id=row.id)

    want = sorted(json_dumps(comparable(p, shop.domain)) for p in model.profiles)
    got = sorted(json_dumps(comparable_export(p)) for p in exported)
    assert len(got) == len(want)
    assert got == want
    assert all(p["created_by_backfill"] == row.id for p in exported)
    assert report["orders"]["imported"] == model.orders_imported
    assert report["orders"]["skipped_test"] == model.orders_skipped_test > 0
    assert report["orders"]["unattributable"] == model.orders_unattributable > 0
    assert report["events"] == sum(len(p.events) for p in model.profiles)
    assert report["purchases"] == sum(len(p.purchases) for p in model.profiles)
    assert points == report["data_points"]["total"] == model.data_points
