"""A sharded backfill on PostgreSQL, run by two real Celery worker processes over Redis,
gives the very store that one process gives for the same shop.

The reference is the single-process run (``run_backfill``) of the same emulated shop into
another PostgreSQL database; the comparison is the canonical dump the crash tests use
(profiles with aliases, attributes and subscriptions, events, purchases, data points,
counts, report) plus the campaign sends.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from backfill.served import STORE_NOW, cli_env, serve_emulator
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.notify import list_notifications
from shopify_backfill.backfill.runner import RunOptions, run_backfill
from shopify_backfill.backfill.sharded import advance, run_shard
from shopify_backfill.backfill.shards import ShardRow, list_shards
from shopify_backfill.backfill.status import read_status
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.config import Settings
from shopify_backfill.destinations import EmbeddedDestination
from shopify_backfill.errors import Terminal
from shopify_backfill.profiles.results import LoadResult
from shopify_backfill.profiles.writes import LoadContext
from shopify_backfill.wiring import build_services
from shopify_backfill.wiring.jobs import job_options
from shopify_backfill.wiring.services import Services
from shopify_backfill.workers.celery_app import create_celery_app, enqueue_backfill
from shopify_emulator.store import ShopStore

from .sharding import (
    comparable,
    connect,
    differences,
    scratch_database,
    snapshot,
    start_workers,
    stop_workers,
    wait_done,
)

pytestmark = pytest.mark.postgres

BROKER = "redis://127.0.0.1:6379/12"


@dataclass
class _Compared:
    expected: dict[str, Any]
    actual: dict[str, Any]
    shards: list[ShardRow]
    view: dict[str, Any]
    staged: int
    sharded_url: str = ""
    events: list[tuple[str, datetime]] = field(default_factory=list)


def _sharded_and_single(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    customers: int,
    orders: int,
    seed: int,
    shards: int,
    prepare: Callable[[Path], None] | None = None,
) -> _Compared:
    """The same shop backfilled by ``run_backfill`` in this process and by two worker
    processes with ``shards`` slices, each into its own PostgreSQL database."""
    assert redis.Redis.from_url(BROKER, socket_timeout=2).ping()
    queue = f"shards-{secrets.token_hex(4)}"
    if prepare is not None:
        (tmp_path / "emu").mkdir()
        prepare(tmp_path / "emu" / "shop.sqlite")
    with (
        serve_emulator(tmp_path / "emu", customers=customers, orders=orders, seed=seed) as served,
        scratch_database() as reference_url,
        scratch_database() as sharded_url,
    ):
        reference = tmp_path / "reference"
        row = connect(reference, served, reference_url, monkeypatch)
        services = build_services(Settings(data_dir=reference))
        try:
            outcome = run_backfill(services, row.id, job_options(services))
        finally:
            services.dispose()
        assert outcome.status == "completed", outcome.failure_reason
        expected = snapshot(reference, row.id)

        sharded = tmp_path / "sharded"
        row = connect(sharded, served, sharded_url, monkeypatch)
        env = cli_env(
            sharded,
            database_url=sharded_url,
            celery_broker_url=BROKER,
            celery_queue=queue,
            shards=str(shards),
            lease_seconds="10",
        )
        workers = start_workers(2, env, tmp_path)
        try:
            settings = Settings(data_dir=sharded, celery_broker_url=BROKER, celery_queue=queue)
            app = create_celery_app(settings)
            enqueue_backfill(app, row.id)
            app.close()
            wait_done(sharded, row.id, tmp_path)
        finally:
            stop_workers(workers)
        actual = snapshot(sharded, row.id)
        services = build_services(Settings(data_dir=sharded))
        try:
            with services.engine.connect() as conn:
                compared = _Compared(
                    expected,
                    actual,
                    list_shards(conn, row.id),
                    read_status(conn, row.id),
                    conn.exec_driver_sql("SELECT count(*) FROM shard_records").scalar_one(),
                )
                compared.events = [
                    (str(user), time)
                    for user, time in conn.exec_driver_sql(
                        "SELECT a.name, e.time FROM custom_events e JOIN aliases a "
                        "ON a.user_id = e.user_id AND a.label = 'shopify_customer_id'"
                    )
                ]
        finally:
            services.dispose()
    return compared


def test_two_workers_give_the_single_process_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _sharded_and_single(tmp_path, monkeypatch, customers=80, orders=400, seed=11, shards=3)
    shards = run.shards
    assert [(s.stage, s.kind) for s in shards].count(("load", "records")) == 3
    assert {s.stage for s in shards} == {"extract", "load"}
    assert all(s.state == "done" for s in shards)
    assert run.staged == 0, "the staged records are dropped once the backfill completed"
    assert run.view["orders"]["done"] == run.view["orders"]["total"] > 0
    assert len(run.view["shards"]) == len(shards)
    for log in sorted(tmp_path.glob("worker-*.log")):
        assert "shopify_backfill.run_shard" in log.read_text(), f"{log.name} ran no shard"
    found = differences(comparable(run.actual), comparable(run.expected))
    assert not found, "\n".join(found)


SHARED_PHONE = "+16135550142"


def _contended(customers: int, orders: int, seed: int) -> Callable[[Path], None]:
    """A generated store edited so that every slice meets the same profiles: half the
    customers share one phone (a household's, a till's), every guest order carries the
    oldest customer's email and every other one the shared phone. (The generator already
    draws buyers skewed towards its oldest customers, so one of them buys in every
    slice.)"""

    def build(path: Path) -> None:
        store = ShopStore.generate(
            path, customers=customers, orders=orders, seed=seed, now=STORE_NOW, plan="enterprise"
        )
        try:
            conn = store.connection()
            rows = conn.execute("SELECT id, doc FROM customers ORDER BY id").fetchall()
            hot_email = store.codec.decode(rows[0][1])["email"]
            for customer_id, blob in rows[: len(rows) // 2]:
                doc = store.codec.decode(blob)
                doc["phone"] = SHARED_PHONE
                doc["defaultPhoneNumber"] = {
                    **(doc.get("defaultPhoneNumber") or {}),
                    "phoneNumber": SHARED_PHONE,
                }
                conn.execute(
                    "UPDATE customers SET phone = ?, doc = ? WHERE id = ?",
                    (SHARED_PHONE, store.codec.encode(doc), customer_id),
                )
            guests = conn.execute(
                "SELECT id, doc FROM orders WHERE customer_id IS NULL ORDER BY id"
            ).fetchall()
            for number, (order_id, blob) in enumerate(guests):
                doc = store.codec.decode(blob)
                doc["email"] = hot_email
                if number % 2:
                    doc["phone"] = SHARED_PHONE
                conn.execute(
                    "UPDATE orders SET email = ?, phone = ?, doc = ? WHERE id = ?",
                    (doc["email"], doc.get("phone"), store.codec.encode(doc), order_id),
                )
            conn.commit()
            assert len(guests) >= 10, "the store needs guest orders to share the email"
        finally:
            store.close()

    return build


def test_shards_that_share_profiles_give_the_single_process_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every slice meets the same profiles (``_contended``): the store must still be the
    single process's, with no deadlock or retry surfacing. The partition puts what is
    linked into one load shard, so the load shards themselves never contend."""
    run = _sharded_and_single(
        tmp_path,
        monkeypatch,
        customers=12,
        orders=700,
        seed=7,
        shards=4,
        prepare=_contended(12, 700, 7),
    )
    order_slices = [s for s in run.shards if s.stage == "extract" and s.kind == "orders"]
    assert len(order_slices) == 4
    per_customer: dict[str, set[int]] = {}
    for customer, time in run.events:
        for index, piece in enumerate(order_slices):
            if (
                piece.slice_start
                and piece.slice_end
                and piece.slice_start <= time < piece.slice_end
            ):
                per_customer.setdefault(customer, set()).add(index)
    assert any(len(slices) == 4 for slices in per_customer.values()), (
        "some customer must have orders in every slice"
    )
    loads = [s.expected or 0 for s in run.shards if s.stage == "load"]
    assert max(loads) > sum(loads) / 2, f"the shared keys link most records: {loads}"
    found = differences(comparable(run.actual), comparable(run.expected))
    assert not found, "\n".join(found)
    logs = "".join(path.read_text() for path in tmp_path.glob("worker-*.log"))
    assert "Traceback" not in logs and "batch retried" not in logs
    assert all(s.attempts == 1 for s in run.shards), "no shard had to run twice"


class _RefusesFirstBatch(EmbeddedDestination):
    """A destination that refuses its first batch for good (a plug-in bug, say)."""

    def __init__(self) -> None:
        self.refused = False

    def write(self, conn: sa.Connection, ctx: LoadContext, records: Any) -> LoadResult:
        if not self.refused:
            self.refused = True
            raise Terminal("the destination refused the batch")
        return super().write(conn, ctx, records)


def _drain(services: Services, backfill_id: int, options: RunOptions) -> list[int]:
    """Run the backfill's shards in this process, in queue order; returns the shards run."""
    queue: list[int] = []
    ran: list[int] = []
    advance(services, backfill_id, options, queue.append)
    while queue:
        shard_id = queue.pop(0)
        ran.append(shard_id)
        run_shard(services, shard_id, options, queue.append)
    return ran


def test_a_failed_shard_fails_the_backfill_and_resume_reruns_only_the_unfinished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        serve_emulator(tmp_path / "emu", customers=40, orders=200, seed=4) as served,
        scratch_database() as url,
    ):
        data = tmp_path / "data"
        row = connect(data, served, url, monkeypatch)
        services = build_services(Settings(data_dir=data, shards=2))
        try:
            failing = job_options(services, destination=_RefusesFirstBatch())
            _drain(services, row.id, failing)
            with services.engine.connect() as conn:
                failed = get_backfill(conn, row.id)
                extract_attempts = {
                    s.id: s.attempts for s in list_shards(conn, row.id) if s.stage == "extract"
                }
            assert failed.status == "failed"
            assert "load partition 1 failed: the destination refused the batch" in (
                failed.failure_reason or ""
            )
            assert set(extract_attempts.values()) == {1}

            with services.engine.begin() as conn:
                requests.resume(conn, failed, now=datetime.now(UTC))
            ran = _drain(services, row.id, job_options(services))
            with services.engine.connect() as conn:
                done = get_backfill(conn, row.id)
                shards = list_shards(conn, row.id)
                kinds = [n.kind for n in list_notifications(conn, row.workspace_id)]
        finally:
            services.dispose()
    assert done.status == "completed", done.failure_reason
    assert not set(ran) & set(extract_attempts), "finished extraction shards are not re-run"
    assert {s.id: s.attempts for s in shards if s.stage == "extract"} == extract_attempts
    assert all(s.state == "done" for s in shards)
    assert done.report is not None and done.report["orders"]["imported"] > 0
    assert kinds.count("failed") == 1 and kinds.count("completed") == 1
