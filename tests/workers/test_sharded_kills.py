"""SIGKILL workers of a sharded run while it extracts, loads and finishes: the same store.

Two ``shopify-backfill worker`` processes (solo pool, one task each) over RabbitMQ, which
hands a dead consumer's unacknowledged task to another at once. The test reads which
process holds a running shard (``backfill_shards.lease_owner`` is ``host:pid:nonce``) or
the backfill's lease, SIGKILLs that process at a random instant of the targeted phase and
starts a replacement. The finishing phase lasts long enough to be hit because mail goes
to a closed SMTP port with retries. Each scenario's final store must equal the
single-process run's (``sharding.comparable``).
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from backfill.served import cli_env, free_port, serve_emulator
from shopify_backfill.backfill.runner import run_backfill
from shopify_backfill.config import Settings
from shopify_backfill.wiring import build_services
from shopify_backfill.wiring.jobs import job_options
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

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
log = logging.getLogger(__name__)

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
SCENARIOS = 3
TARGETS = ("extracting", "extracting", "loading", "loading", "finishing")
PHASE_GROUP = {
    "preflight": "extracting",
    "extracting_customers": "extracting",
    "extracting_orders": "extracting",
    "loading_customers": "loading",
    "loading_orders": "loading",
    "finishing": "finishing",
}
ORDER = ("waiting", "extracting", "loading", "finishing", "done")
MAX_DELAY = {"extracting": 0.3, "loading": 0.15, "finishing": 0.3}


def _settings(url: str, queue: str, smtp_port: int) -> dict[str, str]:
    return {
        "database_url": url,
        "extraction_mode": "bulk",
        "batch_size": "10",
        "bulk_poll_seconds": "0.3",
        "bulk_poll_max_seconds": "0.5",
        "lease_seconds": "30",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(smtp_port),
        "mail_attempts": "3",
        "mail_backoff_seconds": "0.6",
        "celery_broker_url": BROKER,
        "celery_queue": queue,
        "shards": "3",
    }


def _state(engine: sa.Engine, backfill_id: int) -> tuple[str, list[int]]:
    """(phase group, pids holding a running shard or the backfill) as stored."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, progress->>'phase', lease_owner FROM backfills WHERE id = :i"),
            {"i": backfill_id},
        ).one()
        owners = [
            owner
            for (owner,) in conn.execute(
                sa.text(
                    "SELECT lease_owner FROM backfill_shards WHERE backfill_id = :i "
                    "AND state = 'running' AND lease_owner IS NOT NULL"
                ),
                {"i": backfill_id},
            )
        ]
    status, phase, owner = row
    if status == "completed" and phase == "done":
        return "done", []
    if owner:
        owners.append(owner)
    pids = [int(owner.split(":")[1]) for owner in owners]
    return PHASE_GROUP.get(phase or "", "waiting"), pids


def _kill_in(
    engine: sa.Engine,
    backfill_id: int,
    workers: list[subprocess.Popen[bytes]],
    target: str,
    rng: random.Random,
) -> str | None:
    """Wait for ``target`` (or a later phase), then SIGKILL a worker at a random instant
    shortly after: the one holding a lease if any, else every worker (the finishing
    step's email delivery holds none). Returns the phase it landed in, or None when the
    run ended first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        group, _ = _state(engine, backfill_id)
        if group == "done":
            return None
        if ORDER.index(group) >= ORDER.index(target):
            time.sleep(rng.uniform(0, MAX_DELAY[target]))
            group, pids = _state(engine, backfill_id)
            if group == "done":
                return None
            alive = {worker.pid: worker for worker in workers if worker.poll() is None}
            chosen = [pid for pid in pids if pid in alive] or list(alive)
            victim = rng.choice(chosen) if group != "finishing" or pids else None
            for pid in [victim] if victim is not None else chosen:
                os.kill(pid, signal.SIGKILL)
                alive[pid].wait()
            return group
        time.sleep(0.005)
    pytest.fail(f"the run never reached {target}")


def test_sigkill_workers_anywhere_gives_the_single_process_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(20261207)
    hits: Counter[str] = Counter()
    smtp_port = free_port()
    with (
        serve_emulator(tmp_path / "emu", customers=80, orders=400, seed=23) as served,
        scratch_database() as reference_url,
    ):
        reference = tmp_path / "reference"
        row = connect(reference, served, reference_url, monkeypatch)
        for name, value in _settings(reference_url, "unused", smtp_port).items():
            monkeypatch.setenv(f"SHOPIFY_BACKFILL_{name.upper()}", value)
        services = build_services(Settings(data_dir=reference))
        try:
            outcome = run_backfill(services, row.id, job_options(services))
        finally:
            services.dispose()
        assert outcome.status == "completed", outcome.failure_reason
        expected = comparable(snapshot(reference, row.id))
        assert expected["events"] and expected["purchases"]

        for scenario in range(SCENARIOS):
            with scratch_database() as url:
                data = tmp_path / f"scenario{scenario}"
                folder = tmp_path / f"logs{scenario}"
                folder.mkdir()
                queue = f"kills-{secrets.token_hex(4)}"
                row = connect(data, served, url, monkeypatch)
                env = cli_env(data, **_settings(url, queue, smtp_port))
                workers = start_workers(2, env, folder)
                engine = sa.create_engine(url)
                try:
                    app = create_celery_app(
                        Settings(data_dir=data, celery_broker_url=BROKER, celery_queue=queue)
                    )
                    enqueue_backfill(app, row.id)
                    app.close()
                    for target in TARGETS:
                        landed = _kill_in(engine, row.id, workers, target, rng)
                        if landed is None:
                            break
                        hits[landed] += 1
                        log.info(
                            "scenario %s: killed aiming at %s, in %s", scenario, target, landed
                        )
                        workers = [w for w in workers if w.poll() is None]
                        workers += start_workers(
                            2 - len(workers), env, folder, first=sum(hits.values()) * 2
                        )
                    wait_done(data, row.id, folder, timeout=180)
                finally:
                    stop_workers(workers)
                    engine.dispose()
                got = comparable(snapshot(data, row.id))
            found = differences(got, expected)
            assert not found, f"scenario {scenario}: " + "\n".join(found)
    print(f"SIGKILLs by stored phase: {dict(hits)}")
    assert sum(hits.values()) >= 10, dict(hits)
    for phase in ("extracting", "loading", "finishing"):
        assert hits[phase] >= 1, f"no kill landed in {phase}: {dict(hits)}"
