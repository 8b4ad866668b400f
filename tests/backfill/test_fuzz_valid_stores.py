"""Random, schema-valid stores through the emulator into the store: the report's counts are
the store's (issue 13, "also expected").

Next to the malformed-input fuzzing (tests/mapping), this draws *valid-looking* shops:
hypothesis chooses the emulator generator's size and seed (which vary guests, missing
emails and phones, shared emails, currencies, empty and long orders, test orders) and the
extraction mode; the whole backfill runs, and every figure the report gives the merchant
must equal what a count query finds in the profile store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from graphql import GraphQLSchema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopify_backfill.profiles.schema import custom_events, purchases, users
from shopify_backfill.wiring import build_services

from .conftest import close_shop, connect, fast_settings, open_shop, start_and_run


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    customers=st.integers(min_value=0, max_value=40),
    orders=st.integers(min_value=0, max_value=90),
    seed=st.integers(min_value=0, max_value=2**31),
    mode=st.sampled_from(["bulk", "paginated"]),
)
def test_report_counts_equal_the_store(
    admin_schema: GraphQLSchema,
    tmp_path_factory: Any,
    customers: int,
    orders: int,
    seed: int,
    mode: str,
) -> None:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    shop = open_shop(admin_schema, customers=customers, orders=orders, seed=seed)
    services = build_services(fast_settings(folder, extraction_mode=mode))
    try:
        row = connect(services, shop)
        outcome = start_and_run(services, row, shop.options())
        assert outcome.status == "completed", outcome.failure_reason
        report = outcome.report
        assert report is not None
        with services.engine.connect() as conn:

            def count(table: sa.Table) -> int:
                query = sa.select(sa.func.count()).select_from(table)
                query = query.where(table.c.workspace_id == row.workspace_id)
                return int(conn.execute(query).scalar_one())

            profiles, events, bought = count(users), count(custom_events), count(purchases)
        assert report["events"] == events == report["orders"]["imported"]
        assert report["purchases"] == bought
        created = report["customers"]["created"] + report["guests"]["profiles_created"]
        assert created == profiles
    finally:
        services.dispose()
        close_shop(shop)
