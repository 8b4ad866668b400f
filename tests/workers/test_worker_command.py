"""``shopify-backfill worker``: what it starts, and what it refuses on SQLite.

Scale-out needs PostgreSQL; the embedded SQLite default is one process. The refusals are
checked through the real console entry point, so the operator sees a message and an
exit code, never a traceback.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from backfill.served import REPO, cli_env
from shopify_backfill.cli.worker import sqlite_path, worker_arguments
from shopify_backfill.errors import ConfigError

BROKER = "redis://127.0.0.1:6379/11"
ENTRY = ["-c", "from shopify_backfill.cli import main; main()", "worker"]


def _run(data: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *ENTRY, *args],
        cwd=REPO,
        env=cli_env(data, celery_broker_url=BROKER, **settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_concurrency_above_one_on_sqlite_is_refused(tmp_path: Path) -> None:
    refused = _run(tmp_path / "data", "--concurrency", "2")
    assert refused.returncode == ConfigError.exit_code, refused.stderr
    assert "--concurrency 2 on SQLite: scale-out needs PostgreSQL" in refused.stderr
    assert "SHOPIFY_BACKFILL_DATABASE_URL=postgresql+psycopg://" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout


def test_bad_options_are_named(tmp_path: Path) -> None:
    empty = _run(tmp_path / "data", "--queues", " , ")
    level = _run(tmp_path / "data", "--loglevel", "loud")
    assert empty.returncode == ConfigError.exit_code and "--queues is empty" in empty.stderr
    assert (
        level.returncode == ConfigError.exit_code
        and "--loglevel 'loud' is not DEBUG" in level.stderr
    )


def test_a_second_worker_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    queue = f"backfill-test-{secrets.token_hex(4)}"
    log_path = tmp_path / "first.log"
    with log_path.open("wb") as log:
        first = subprocess.Popen(
            [sys.executable, *ENTRY, "--queues", queue],
            cwd=REPO,
            env=cli_env(data, celery_broker_url=BROKER),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while " ready." not in log_path.read_text():
                assert first.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            second = _run(data, "--queues", queue)
        finally:
            first.terminate()
            first.wait(timeout=60)
    assert second.returncode == ConfigError.exit_code, second.stderr
    assert "another worker already runs on the SQLite database" in second.stderr
    assert str(data / "backfill.db") in second.stderr.replace("\n", "")


def test_postgresql_workers_are_not_limited() -> None:
    assert sqlite_path("postgresql+psycopg://root@127.0.0.1/test") is None
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("sqlite:////srv/data/backfill.db") == Path("/srv/data/backfill.db")


def test_one_job_at_a_time_runs_in_the_solo_pool_more_in_prefork_children() -> None:
    solo = worker_arguments(concurrency=1, queues=["backfill"], loglevel="INFO", hostname=None)
    many = worker_arguments(concurrency=4, queues=["a", "b"], loglevel="INFO", hostname="w1@%h")
    assert solo[:4] == ["worker", "--pool=solo", "--concurrency=1", "--loglevel=INFO"]
    assert many[1:3] == ["--pool=prefork", "--concurrency=4"]
    assert many[many.index("-Q") + 1] == "a,b"
    assert many[-2:] == ["--hostname", "w1@%h"]
    assert solo[-2:] == ["--hostname", f"backfill{os.getpid()}@%h"], (
        "two workers of one machine must not share Celery's default name (RabbitMQ refuses "
        "the second one's control queue)"
    )
