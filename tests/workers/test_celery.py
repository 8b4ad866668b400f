"""A real Celery worker (``shopify-backfill worker``, subprocess) runs one backfill end to end.

Broker and result backend are the real Redis on 127.0.0.1:6379; a per-test queue keeps
concurrent runs apart. The worker calls the same ``run_backfill`` as the CLI.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from backfill.served import REPO, cli_env, connect_served, run_cli, serve_emulator
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.notify import list_notifications
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.config import Settings
from shopify_backfill.wiring import build_services
from shopify_backfill.workers.celery_app import create_celery_app, enqueue_backfill

BROKER = "redis://127.0.0.1:6379/11"
CLI_ENTRY = [sys.executable, "-c", "from shopify_backfill.cli import main; main()"]


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


def _worker(queue: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI_ENTRY, "worker", "--queues", queue],
        cwd=REPO,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )


def test_start_on_a_broker_deployment_queues_and_returns_at_once(tmp_path: Path) -> None:
    """``SHOPIFY_BACKFILL_JOB_RUNNER=celery``: start returns before any worker exists."""
    assert _redis_up(), "Redis must run on 127.0.0.1:6379 for the Celery worker test"
    queue = f"backfill-test-{secrets.token_hex(4)}"
    data = tmp_path / "data"
    with serve_emulator(tmp_path / "emu", customers=30, orders=90, seed=8) as served:
        connect_served(data, served)
        env = cli_env(data, celery_broker_url=BROKER, celery_queue=queue, job_runner="celery")
        shop = ["--shop", served.domain]
        started = run_cli(["backfill", "start", *shop, "--yes", "--json"], env, timeout=120)
        assert started.returncode == 0, started.stderr
        queued = json.loads(started.stdout)
        assert queued["status"] == "in_progress" and queued["queued_on"] == queue
        assert queued["report"] is None
        worker = _worker(queue, env, tmp_path / "worker.log")
        try:
            followed = run_cli(["backfill", "status", *shop, "--watch", "--json"], env)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    assert followed.returncode == 0, followed.stderr + (tmp_path / "worker.log").read_text()
    view = json.loads(followed.stdout)
    assert view["status"] == "completed", view
    assert view["report"]["orders"]["imported"] > 0


def test_an_unreachable_broker_is_said_plainly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve_emulator(tmp_path / "emu", customers=5, orders=10, seed=2) as served:
        connect_served(data, served)
        env = cli_env(
            data,
            celery_broker_url="redis://:hunter2@127.0.0.1:1/0",
            job_runner="celery",
        )
        refused = run_cli(["backfill", "start", "--shop", served.domain, "--yes"], env)
    assert refused.returncode == 78, refused.stderr
    assert "could not queue the backfill on the Celery broker at redis://127.0.0.1:1" in (
        refused.stderr
    )
    assert "backfill resume" in refused.stderr
    assert "hunter2" not in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr
