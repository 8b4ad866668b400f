"""A sharded backfill on PostgreSQL, run by two real Celery worker processes over Redis,
gives the very store that one process gives for the same shop.

The reference is the single-process run (``run_backfill``) of the same emulated shop into
another PostgreSQL database; the comparison is the canonical dump the crash tests use
(profiles with aliases, attributes and subscriptions, events, purchases, data points,
counts, report) plus the campaign sends.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from backfill.served import cli_env, serve_emulator
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.notify import list_notifications
from shopify_backfill.backfill.runner import RunOptions, run_backfill
from shopify_backfill.backfill.sharded import advance, run_shard
from shopify_backfill.backfill.shards import list_shards
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


def test_two_workers_give_the_single_process_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert redis.Redis.from_url(BROKER, socket_timeout=2).ping()
    queue = f"shards-{secrets.token_hex(4)}"
    with (
        serve_emulator(tmp_path / "emu", customers=80, orders=400, seed=11) as served,
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
            shards="3",
            lease_seconds="10",
        )
        workers = start_workers(2, env, tmp_path)
        try:
            settings = Settings(
                data_dir=sharded, celery_broker_url=BROKER, celery_queue=queue, shards=3
            )
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
                shards = list_shards(conn, row.id)
                view = read_status(conn, row.id)
                staged = conn.exec_driver_sql("SELECT count(*) FROM shard_records").scalar_one()
        finally:
            services.dispose()
    assert [(s.stage, s.kind) for s in shards].count(("load", "records")) == 3
    assert {s.stage for s in shards} == {"extract", "load"}
    assert all(s.state == "done" for s in shards)
    assert staged == 0, "the staged records are dropped once the backfill completed"
    assert view["orders"]["done"] == view["orders"]["total"] > 0
    assert len(view["shards"]) == len(shards)
    for log in sorted(tmp_path.glob("worker-*.log")):
        assert "shopify_backfill.run_shard" in log.read_text(), f"{log.name} ran no shard"
    found = differences(comparable(actual), comparable(expected))
    assert not found, "\n".join(found)


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
