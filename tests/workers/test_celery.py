"""A real Celery worker (``shopify-backfill worker``, subprocess) runs one backfill end to end.

Broker and result backend are the real Redis on 127.0.0.1:6379; a per-test queue keeps
concurrent runs apart. The worker calls the same ``run_backfill`` as the CLI.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from backfill.served import REPO, cli_env, connect_served, serve_emulator
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.notify import list_notifications
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.config import Settings
from shopify_backfill.wiring import build_services
from shopify_backfill.workers.celery_app import create_celery_app, enqueue_backfill

BROKER = "redis://127.0.0.1:6379/11"


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(BROKER, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def test_a_celery_worker_runs_the_backfill(tmp_path: Path) -> None:
    assert _redis_up(), "Redis must run on 127.0.0.1:6379 for the Celery worker test"
    queue = f"backfill-test-{secrets.token_hex(4)}"
    data = tmp_path / "data"
    with serve_emulator(tmp_path / "emu", customers=40, orders=150, seed=5) as served:
        row = connect_served(data, served)
        settings = Settings(data_dir=data, celery_broker_url=BROKER, celery_queue=queue)
        services = build_services(settings)
        try:
            with services.engine.begin() as conn:
                requests.start(conn, row, now=datetime.now(UTC))
        finally:
            services.dispose()
        env = cli_env(data, celery_broker_url=BROKER, celery_queue=queue)
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from shopify_backfill.cli import main; main()",
                "worker",
                "--queues",
                queue,
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            app = create_celery_app(settings)
            result = enqueue_backfill(app, row.id)
            try:
                outcome = result.get(timeout=180)
            except Exception:
                pytest.fail((tmp_path / "worker.log").read_text())
        finally:
            worker.terminate()
            worker.wait(timeout=60)
            log.close()
    assert outcome["status"] == "completed", outcome
    assert outcome["report"]["orders"]["imported"] > 0
    services = build_services(Settings(data_dir=data))
    try:
        with services.engine.connect() as conn:
            stored = get_backfill(conn, row.id)
            kinds = [n.kind for n in list_notifications(conn, row.workspace_id)]
    finally:
        services.dispose()
    assert stored.status == "completed"
    assert stored.report == outcome["report"]
    assert kinds == ["completed", "started"]
    assert "shopify_backfill.run_backfill" in (tmp_path / "worker.log").read_text()
