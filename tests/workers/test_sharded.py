"""A sharded backfill on PostgreSQL, run by two real Celery worker processes over Redis,
gives the very store that one process gives for the same shop.

The reference is the single-process run (``run_backfill``) of the same emulated shop into
another PostgreSQL database; the comparison is the canonical dump the crash tests use
(profiles with aliases, attributes and subscriptions, events, purchases, data points,
counts, report) plus the campaign sends.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from backfill.served import REPO, Served, cli_env, connect_served, serve_emulator
from backfill.snapshots import store_snapshot
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.notify import list_notifications
from shopify_backfill.backfill.runner import RunOptions, run_backfill
from shopify_backfill.backfill.sharded import advance, run_shard
from shopify_backfill.backfill.shards import list_shards
from shopify_backfill.backfill.status import read_status
from shopify_backfill.backfill.store import BackfillRow, get_backfill
from shopify_backfill.config import Settings
from shopify_backfill.destinations import EmbeddedDestination
from shopify_backfill.errors import Terminal
from shopify_backfill.profiles.results import LoadResult
from shopify_backfill.profiles.writes import LoadContext
from shopify_backfill.wiring import build_services
from shopify_backfill.wiring.jobs import job_options
from shopify_backfill.wiring.services import Services
from shopify_backfill.workers.celery_app import create_celery_app, enqueue_backfill

pytestmark = pytest.mark.postgres

BROKER = "redis://127.0.0.1:6379/12"
SERVER = os.environ.get(
    "SHOPIFY_BACKFILL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BATCH_TALLIES = (
    "customers_matched_by_alias",
    "customers_matched_by_email",
    "customers_matched_by_phone",
    "customers_updated",
    "customers_unchanged",
)
"""Running tallies that count a customer once per *batch* (``LoadCounts``): a customer met
again in a later batch counts again, so they follow the batch split, in one process too.
The report's customer figures come from the sightings (once per backfill) and are compared."""
CLI_ENTRY = [sys.executable, "-c", "from shopify_backfill.cli import main; main()"]


@contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh PostgreSQL database (workers are separate processes: a schema set on one
    engine would not reach them), dropped afterwards."""
    name = f"sb_{secrets.token_hex(5)}"
    admin = sa.create_engine(SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield sa.make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _connect(data: Path, served: Served, url: str, monkeypatch: pytest.MonkeyPatch) -> BackfillRow:
    monkeypatch.setenv("SHOPIFY_BACKFILL_DATABASE_URL", url)
    row = connect_served(data, served)
    services = build_services(Settings(data_dir=data))
    try:
        with services.engine.begin() as conn:
            return requests.start(conn, row, now=datetime.now(UTC))
    finally:
        services.dispose()


def _snapshot(data: Path, backfill_id: int) -> dict[str, Any]:
    services = build_services(Settings(data_dir=data))
    try:
        with services.engine.connect() as conn:
            snapshot = store_snapshot(conn, backfill_id)
            sends = conn.exec_driver_sql(
                "SELECT c.name, u.external_id, m.data_key FROM triggered_messages m "
                "JOIN campaigns c ON c.id = m.campaign_id JOIN users u ON u.id = m.user_id "
                "ORDER BY 1, 2, 3"
            ).all()
            snapshot["sends"] = [tuple(send) for send in sends]
            return snapshot
    finally:
        services.dispose()


def _workers(count: int, env: dict[str, str], folder: Path) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [*CLI_ENTRY, "worker", "--queues", env["SHOPIFY_BACKFILL_CELERY_QUEUE"]],
            cwd=REPO,
            env=env,
            stdout=(folder / f"worker-{index}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for index in range(count)
    ]


def _wait_done(data: Path, backfill_id: int, folder: Path, timeout: float = 240) -> None:
    services = build_services(Settings(data_dir=data))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with services.engine.connect() as conn:
                row = get_backfill(conn, backfill_id)
            if row.status in ("completed", "failed") and row.progress.phase in ("done", "failed"):
                assert row.status == "completed", row.failure_reason
                return
            time.sleep(0.5)
    finally:
        services.dispose()
    logs = "\n".join(path.read_text()[-3000:] for path in sorted(folder.glob("worker-*.log")))
    pytest.fail(f"the sharded backfill did not finish in {timeout} s:\n{logs}")


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


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
        row = _connect(reference, served, reference_url, monkeypatch)
        services = build_services(Settings(data_dir=reference))
        try:
            outcome = run_backfill(services, row.id, job_options(services))
        finally:
            services.dispose()
        assert outcome.status == "completed", outcome.failure_reason
        expected = _snapshot(reference, row.id)

        sharded = tmp_path / "sharded"
        row = _connect(sharded, served, sharded_url, monkeypatch)
        env = cli_env(
            sharded,
            database_url=sharded_url,
            celery_broker_url=BROKER,
            celery_queue=queue,
            shards="3",
            lease_seconds="10",
        )
        workers = _workers(2, env, tmp_path)
        try:
            settings = Settings(
                data_dir=sharded, celery_broker_url=BROKER, celery_queue=queue, shards=3
            )
            app = create_celery_app(settings)
            enqueue_backfill(app, row.id)
            app.close()
            _wait_done(sharded, row.id, tmp_path)
        finally:
            _stop(workers)
        actual = _snapshot(sharded, row.id)
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
    for snapshot in (actual, expected):
        for tally in BATCH_TALLIES:
            snapshot["counts"].pop(tally, None)
    differences = _differences(actual, expected)
    assert not differences, "\n".join(differences)


def _differences(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where two snapshots differ, as ``path: actual != expected`` lines."""
    if isinstance(actual, str) and isinstance(expected, str) and actual[:1] in "{[":
        with suppress(ValueError):
            actual, expected = json.loads(actual), json.loads(expected)
    if isinstance(actual, dict) and isinstance(expected, dict):
        keys = sorted(set(actual) | set(expected))
        return [
            line
            for key in keys
            for line in _differences(actual.get(key), expected.get(key), f"{path}.{key}")
        ]
    if actual != expected:
        return [f"{path}: {str(actual)[:200]} != {str(expected)[:200]}"]
    return []


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
        row = _connect(data, served, url, monkeypatch)
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
