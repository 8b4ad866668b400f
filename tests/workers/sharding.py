"""What the sharded-run tests share: scratch PostgreSQL databases, connected shops,
worker processes, canonical snapshots and a readable diff of two of them."""

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
import sqlalchemy as sa

from backfill.served import REPO, Served, connect_served
from backfill.snapshots import store_snapshot
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.store import BackfillRow, get_backfill
from shopify_backfill.config import Settings
from shopify_backfill.wiring import build_services

SERVER = os.environ.get(
    "SHOPIFY_BACKFILL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLI_ENTRY = [sys.executable, "-c", "from shopify_backfill.cli import main; main()"]
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


def connect(data: Path, served: Served, url: str, monkeypatch: pytest.MonkeyPatch) -> BackfillRow:
    monkeypatch.setenv("SHOPIFY_BACKFILL_DATABASE_URL", url)
    row = connect_served(data, served)
    services = build_services(Settings(data_dir=data))
    try:
        with services.engine.begin() as conn:
            return requests.start(conn, row, now=datetime.now(UTC))
    finally:
        services.dispose()


def snapshot(data: Path, backfill_id: int) -> dict[str, Any]:
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


def start_workers(
    count: int, env: dict[str, str], folder: Path, *, first: int = 0
) -> list[subprocess.Popen[bytes]]:
    """``count`` worker processes on the env's queue, logging to ``worker-N.log``, each
    ready to take tasks when this returns (so every one of them gets a share)."""
    workers = []
    for index in range(first, first + count):
        with (folder / f"worker-{index}.log").open("ab") as sink:
            workers.append(
                subprocess.Popen(
                    [*CLI_ENTRY, "worker", "--queues", env["SHOPIFY_BACKFILL_CELERY_QUEUE"]],
                    cwd=REPO,
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 90
    for index in range(first, first + count):
        log = folder / f"worker-{index}.log"
        while "ready." not in log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                pytest.fail(f"worker {index} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
    return workers


def wait_done(data: Path, backfill_id: int, folder: Path, timeout: float = 240) -> None:
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


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


def differences(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where two snapshots differ, as ``path: actual != expected`` lines."""
    if isinstance(actual, str) and isinstance(expected, str) and actual[:1] in "{[":
        with suppress(ValueError):
            actual, expected = json.loads(actual), json.loads(expected)
    if isinstance(actual, dict) and isinstance(expected, dict):
        keys = sorted(set(actual) | set(expected))
        return [
            line
            for key in keys
            for line in differences(actual.get(key), expected.get(key), f"{path}.{key}")
        ]
    if actual != expected:
        return [f"{path}: {str(actual)[:200]} != {str(expected)[:200]}"]
    return []


def comparable(snap: dict[str, Any]) -> dict[str, Any]:
    """The snapshot without the per-batch tallies (see ``BATCH_TALLIES``)."""
    counts = dict(snap["counts"])
    for tally in BATCH_TALLIES:
        counts.pop(tally, None)
    return {**snap, "counts": counts}
