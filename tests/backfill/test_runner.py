"""The job end to end against the in-process emulator: completion, failure, resume, hooks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.notify import list_notifications
from shopify_backfill.backfill.runner import run_backfill, staging_path
from shopify_backfill.backfill.status import read_status
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.profiles import LoadContext, LoadResult
from shopify_backfill.shopify.errors import ScopeError
from shopify_backfill.shopify.retry import RetryPolicy
from shopify_backfill.wiring import make_preview, refuse_missing_scopes
from shopify_emulator.config import FaultPlan

from .conftest import Shop, connect, start_and_run
from .snapshots import store_snapshot


@pytest.mark.parametrize("mode", ["bulk", "paginated"])
def test_runs_to_completion_with_honest_progress(
    make_shop: Any, make_services: Any, mode: str
) -> None:
    shop: Shop = make_shop(customers=60, orders=240, seed=3)
    services = make_services(extraction_mode=mode)
    row = connect(services, shop)
    seen: list[tuple[int, int]] = []

    def hook(conn: sa.Connection, ctx: LoadContext, result: LoadResult) -> None:
        assert conn.in_transaction()
        assert ctx.backfill_id == row.id and ctx.historical
        seen.append((result.counts.orders_imported, result.counts.data_points))

    outcome = start_and_run(services, row, shop.options(hooks=[hook]))

    assert outcome.status == "completed", outcome.failure_reason
    report = outcome.report
    assert report is not None
    assert report["extraction_mode"] == mode
    with services.engine.connect() as conn:
        view = read_status(conn, row.id)
        notes = list_notifications(conn, row.workspace_id)
    orders = report["orders"]
    handled = (
        orders["imported"]
        + orders["skipped_test"]
        + orders["unattributable"]
        + orders["quarantined"]
    )
    assert handled == view["orders"]["total"] == view["orders"]["done"] > 0
    assert view["customers"]["done"] == view["customers"]["total"] > 0
    assert view["phase"] == "done" and view["status"] == "completed"
    assert report["events"] == orders["imported"]
    assert sum(points for _, points in seen) == report["data_points"]["total"] > 0
    assert sum(imported for imported, _ in seen) == orders["imported"]
    assert [n.kind for n in reversed(notes)] == ["started", "completed"]
    assert not staging_path(services, row.id).exists(), "the staging file is cleaned up"
    assert [e["status"] for e in view["emails"]] == ["written"]


def test_hook_failure_rolls_back_its_batch_and_resume_finishes_identically(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=50, orders=200, seed=5)
    clean = make_services(extraction_mode="bulk")
    clean_row = connect(clean, shop)
    assert start_and_run(clean, clean_row, shop.options()).status == "completed"

    services = make_services(extraction_mode="bulk")
    row = connect(services, shop)
    calls = {"n": 0}

    def flaky(conn: sa.Connection, ctx: LoadContext, result: LoadResult) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("trigger engine unavailable")

    failed = start_and_run(services, row, shop.options(hooks=[flaky]))
    assert failed.status == "failed"
    assert failed.failure_reason is not None
    assert "RuntimeError: trigger engine unavailable" in failed.failure_reason
    with services.engine.connect() as conn:
        stopped = get_backfill(conn, row.id)
        notes = [n.kind for n in list_notifications(conn, row.workspace_id)]
    assert stopped.status == "failed" and stopped.status_label == "Failed - resumable"
    assert stopped.checkpoint is not None and stopped.counts["data_points"] > 0, (
        "the two batches before the failing one stay committed"
    )
    assert notes[0] == "failed"

    with services.engine.begin() as conn:
        requests.resume(conn, stopped, now=datetime.now(UTC))
    resumed = run_backfill(services, row.id, shop.options())
    assert resumed.status == "completed"

    with clean.engine.connect() as a, services.engine.connect() as b:
        expected, got = store_snapshot(a, clean_row.id), store_snapshot(b, row.id)
    assert got == expected
    assert expected["events"] > 0 and expected["purchases"] > 0 and expected["profiles"] != "[]"
    with services.engine.connect() as conn:
        kinds = [n.kind for n in reversed(list_notifications(conn, row.workspace_id))]
    assert kinds == ["started", "failed", "resumed", "completed"]


def test_transient_outage_fails_resumably_and_resume_completes(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=40, orders=150, seed=9)
    services = make_services(extraction_mode="paginated")
    row = connect(services, shop)
    shop.runtime.faults.replace(FaultPlan(server_error_rate=1.0))
    impatient = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01)
    outcome = start_and_run(services, row, shop.options(retry=impatient))
    assert outcome.status == "failed"
    assert outcome.exit_code == 75, "a transient cause exits with EX_TEMPFAIL"
    assert outcome.failure_reason

    shop.runtime.faults.replace(FaultPlan())
    with services.engine.begin() as conn:
        requests.resume(conn, get_backfill(conn, row.id), now=datetime.now(UTC))
    assert run_backfill(services, row.id, shop.options()).status == "completed"
    with services.engine.connect() as conn:
        done = get_backfill(conn, row.id)
    assert done.window.end == shop.store.now.replace(microsecond=0), "same window on resume"
    assert done.attempts == 2


def test_missing_scope_refuses_to_start_with_the_reauthorization_url(
    make_shop: Any, make_services: Any
) -> None:
    shop: Shop = make_shop(customers=10, orders=30, seed=2)
    narrow = shop.runtime.tokens.mint(["read_customers", "read_orders"], "custom_app").token
    services = make_services()
    row = connect(services, shop, token=narrow)
    preview = make_preview(services, row, shop.options())
    assert preview.preflight.missing_scopes == ("read_all_orders",)
    with pytest.raises(ScopeError, match="read_all_orders") as refused:
        refuse_missing_scopes(preview)
    assert refused.value.reauth_url is not None
    assert "scope=read_customers%2Cread_orders%2Cread_all_orders" in refused.value.reauth_url
    assert refused.value.reauth_url in str(refused.value)

    with services.engine.begin() as conn:
        requests.start(conn, row, now=datetime.now(UTC))
    outcome = run_backfill(services, row.id, shop.options())
    assert outcome.status == "failed"
    assert outcome.exit_code == 77
    assert outcome.failure_reason is not None and "/admin/oauth/authorize" in (
        outcome.failure_reason
    )


def test_progress_is_readable_from_another_connection_mid_run(
    make_shop: Any, make_services: Any, tmp_path: Path
) -> None:
    shop: Shop = make_shop(customers=40, orders=200, seed=4)
    services = make_services(extraction_mode="bulk")
    row = connect(services, shop)
    observed: list[dict[str, Any]] = []
    reader = sa.create_engine(str(services.engine.url))

    def peek(conn: sa.Connection, ctx: LoadContext, result: LoadResult) -> None:
        with reader.connect() as other:
            observed.append(
                dict(
                    other.execute(
                        sa.text("SELECT status, checkpoint FROM backfills WHERE id = :id"),
                        {"id": row.id},
                    )
                    .one()
                    ._mapping
                )
            )

    outcome = start_and_run(services, row, shop.options(hooks=[peek]))
    reader.dispose()
    assert outcome.status == "completed"
    assert observed and all(item["status"] == "in_progress" for item in observed)
    checkpoints = [item["checkpoint"] for item in observed]
    assert len(set(checkpoints)) == len(checkpoints), (
        "each batch sees the previous batch's committed checkpoint, never its own"
    )
