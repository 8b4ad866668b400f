"""kill -9 at random points of every phase, resume each time: the same final store.

The emulator is a separate server process (its bulk jobs outlive any client); every
start and resume is a real ``shopify-backfill`` process, killed with SIGKILL while the
test watches the progress it stores. After each scenario's final resume the store
(profiles, events, purchases, subscriptions, data points, report counts) must equal an
uninterrupted run's. Mail goes to a closed SMTP port with retries, so the finishing
phase (report, completion, email delivery) lasts long enough to be killed too.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from shopify_backfill.config import Settings
from shopify_backfill.wiring import build_services

from .served import CLI, REPO, Served, cli_env, connect_served, free_port, run_cli, serve_emulator
from .snapshots import store_snapshot

log = logging.getLogger(__name__)

SCENARIOS = 4
TARGETS = ("preflight", "extracting", "loading", "preflight", "loading", "finishing")
PHASE_GROUP = {
    "not_started": "waiting",
    "queued": "preflight",
    "preflight": "preflight",
    "extracting_customers": "extracting",
    "extracting_orders": "extracting",
    "loading_customers": "loading",
    "loading_orders": "loading",
    "finishing": "finishing",
    "done": "done",
    "failed": "failed",
}
ORDER = ("preflight", "extracting", "loading", "finishing", "done")
MAX_DELAY = {"preflight": 0.04, "extracting": 0.25, "loading": 0.06, "finishing": 0.25}
"""Longest random wait after a phase is seen before the kill: within the phase's length
(loading this store takes a few tenths of a second, so a longer wait lands in finishing)."""


def _env(data: Path) -> dict[str, str]:
    return cli_env(
        data,
        extraction_mode="bulk",
        batch_size="10",
        bulk_poll_seconds="0.3",
        bulk_poll_max_seconds="0.5",
        lease_seconds="30",
        smtp_host="127.0.0.1",
        smtp_port=str(free_port()),
        mail_attempts="3",
        mail_backoff_seconds="0.6",
    )


def _state(database: Path) -> tuple[str, str]:
    """(status, phase group) as stored; the test reads like any other process would."""
    with sqlite3.connect(database, timeout=30) as conn:
        row = conn.execute("SELECT status, progress FROM backfills").fetchone()
    if row is None:
        return "not_started", "waiting"
    return row[0], PHASE_GROUP[json.loads(row[1]).get("phase", "queued")]


def _reference(tmp_path: Path, served: Served) -> dict[str, object]:
    data = tmp_path / "reference"
    row = connect_served(data, served)
    result = run_cli(["backfill", "start", "--shop", served.domain, "--yes"], _env(data))
    assert result.returncode == 0, result.stderr
    return _snapshot(data, row.id)


def _snapshot(data: Path, backfill_id: int) -> dict[str, object]:
    services = build_services(Settings(data_dir=data))
    try:
        with services.engine.connect() as conn:
            return store_snapshot(conn, backfill_id)
    finally:
        services.dispose()


def _launch(args: list[str], env: dict[str, str], logfile: Path) -> subprocess.Popen[bytes]:
    with logfile.open("ab") as sink:
        return subprocess.Popen(
            [*CLI, *args], cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
        )


def _kill_in(
    process: subprocess.Popen[bytes], database: Path, target: str, rng: random.Random
) -> bool:
    """Wait until the run reaches ``target`` (or passes it), then SIGKILL it at a random
    instant shortly after; False if the process ended on its own first."""
    while process.poll() is None:
        if database.exists():
            try:
                group = _state(database)[1]
            except sqlite3.OperationalError:
                group = "waiting"
            if group in ORDER and ORDER.index(group) >= ORDER.index(target):
                time.sleep(rng.uniform(0, MAX_DELAY[target]))
                if process.poll() is not None:
                    return False
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return True
        time.sleep(0.003)
    return False


@pytest.mark.slow
def test_kill_minus_nine_anywhere_then_resume_gives_the_same_store(tmp_path: Path) -> None:
    rng = random.Random(20260715)
    hits: Counter[str] = Counter()
    with serve_emulator(tmp_path / "emu", customers=120, orders=400, seed=31) as served:
        expected = _reference(tmp_path, served)
        assert expected["events"] and expected["purchases"]
        for scenario in range(SCENARIOS):
            data = tmp_path / f"scenario{scenario}"
            row = connect_served(data, served)
            env = _env(data)
            database = data / "backfill.db"
            logfile = data / "runs.log"
            command = ["backfill", "start", "--shop", served.domain, "--yes"]
            for target in TARGETS:
                process = _launch(command, env, logfile)
                killed = _kill_in(process, database, target, rng)
                status, group = _state(database)
                if killed:
                    hits[group if status != "completed" else "finishing"] += 1
                    log.info(
                        "scenario %s: killed aiming at %s, stored phase %s (%s)",
                        scenario,
                        target,
                        group,
                        status,
                    )
                else:
                    assert process.returncode == 0, logfile.read_text()
                command = ["backfill", "resume", "--shop", served.domain]
                if status == "completed" and group == "done":
                    break
            status, group = _state(database)
            if not (status == "completed" and group == "done"):
                final = run_cli(command, env)
                assert final.returncode == 0, final.stdout + final.stderr
            assert _state(database) == ("completed", "done")
            got = _snapshot(data, row.id)
            assert got == expected, f"scenario {scenario} diverged; log in {logfile}"
    print(f"SIGKILLs by stored phase: {dict(hits)}")
    assert sum(hits.values()) >= 20
    for phase in ("preflight", "extracting", "loading", "finishing"):
        assert hits[phase] >= 1, f"no kill landed in {phase}: {dict(hits)}"
