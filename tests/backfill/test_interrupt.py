"""Ctrl-C during ``backfill start`` (hardening 8): stop cleanly, say how to resume.

Real ``shopify-backfill`` processes against a served emulator whose API answers slowly
(its latency fault), paginated ten records a batch, so a run lasts long enough to be
interrupted after its first committed batch. One SIGINT must stop the run at the next
batch boundary, record it as interrupted and exit 130 within seconds, naming the resume
command; two must quit at once. Either way ``status`` says interrupted (no ETA), and the
resumed store equals an uninterrupted run's.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx

from shopify_backfill.config import Settings
from shopify_backfill.wiring import build_services

from .served import CLI, REPO, Served, cli_env, connect_served, run_cli, serve_emulator
from .snapshots import store_snapshot

LATENCY_SECONDS = 0.25
RESUME = "shopify-backfill backfill resume --shop"


def _env(data: Path) -> dict[str, str]:
    return cli_env(data, extraction_mode="paginated", batch_size="10", lease_seconds="30")


def _slow(served: Served, seconds: float) -> None:
    response = httpx.post(
        f"{served.api_url}/emulator/faults",
        json={"latency_seconds": seconds},
        headers={"X-Emulator-Admin": "emulator-admin-secret"},
    )
    response.raise_for_status()


def _snapshot(data: Path, backfill_id: int) -> dict[str, object]:
    services = build_services(Settings(data_dir=data))
    try:
        with services.engine.connect() as conn:
            return store_snapshot(conn, backfill_id)
    finally:
        services.dispose()


def _records_done(database: Path) -> int:
    try:
        with sqlite3.connect(database, timeout=30) as conn:
            row = conn.execute("SELECT progress FROM backfills").fetchone()
    except sqlite3.OperationalError:
        return 0
    if row is None:
        return 0
    progress = json.loads(row[0])
    return int(progress.get("customers_done", 0)) + int(progress.get("orders_done", 0))


def _start_until_first_batch(data: Path, served: Served) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*CLI, "backfill", "start", "--shop", served.domain, "--yes"],
        cwd=REPO,
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while _records_done(data / "backfill.db") == 0:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no batch was committed within two minutes"
        time.sleep(0.02)
    return process


def _interrupt(process: subprocess.Popen[str], times: int) -> tuple[str, float]:
    began = time.monotonic()
    for _ in range(times):
        process.send_signal(signal.SIGINT)
        time.sleep(0.1)  # each its own signal: two pending SIGINTs would merge into one
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err, err
    return out + err, time.monotonic() - began


def _status(data: Path, served: Served) -> dict[str, object]:
    result = run_cli(["backfill", "status", "--shop", served.domain, "--json"], _env(data))
    assert result.returncode == 0, result.stdout + result.stderr
    view: dict[str, object] = json.loads(result.stdout)
    return view


def _resume_to_completion(data: Path, served: Served) -> None:
    _slow(served, 0)
    try:
        result = run_cli(["backfill", "resume", "--shop", served.domain], _env(data))
    finally:
        _slow(served, LATENCY_SECONDS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_or_two_ctrl_c_stop_the_run_and_resume_gives_the_same_store(tmp_path: Path) -> None:
    with serve_emulator(tmp_path / "emu", customers=120, orders=400, seed=31) as served:
        reference = tmp_path / "reference"
        row = connect_served(reference, served)
        clean = run_cli(["backfill", "start", "--shop", served.domain, "--yes"], _env(reference))
        assert clean.returncode == 0, clean.stdout + clean.stderr
        expected = _snapshot(reference, row.id)
        assert expected["events"] and expected["purchases"]
        _slow(served, LATENCY_SECONDS)

        # One Ctrl-C: the batch in hand commits, the run is recorded as interrupted.
        once = tmp_path / "once"
        row = connect_served(once, served)
        process = _start_until_first_batch(once, served)
        output, took = _interrupt(process, 1)
        assert took < 10, f"one Ctrl-C took {took:.1f} s to stop the run"
        assert "press Ctrl-C again" in output, output
        assert f"{RESUME} {served.domain}" in output, output
        view = _status(once, served)
        assert view["status"] == "failed", view
        assert view["interrupted"] is True and view["running"] is False, view
        assert view["status_label"] == "Interrupted - resumable", view
        assert view["eta_seconds"] is None, view
        assert str(view["failure_reason"]).startswith("interrupted by the operator"), view
        assert view["orders"]["done"] < 400, view  # type: ignore[index]
        _resume_to_completion(once, served)
        assert _snapshot(once, row.id) == expected

        # Two Ctrl-C: quit at once; the row stays in_progress under a dead holder.
        twice = tmp_path / "twice"
        row = connect_served(twice, served)
        process = _start_until_first_batch(twice, served)
        _slow(served, 3.0)  # the next batch boundary is seconds away: the second Ctrl-C
        time.sleep(LATENCY_SECONDS * 2)  # lands while the run is waiting for Shopify
        output, took = _interrupt(process, 2)
        assert took < 5, f"two Ctrl-C took {took:.1f} s to quit"
        assert "quitting now" in output and f"{RESUME} {served.domain}" in output, output
        view = _status(twice, served)
        assert view["status"] == "in_progress", view
        assert view["running"] is False and view["interrupted"] is True, view
        assert view["status_label"] == "Interrupted - not running", view
        assert view["eta_seconds"] is None, view
        text = run_cli(["backfill", "status", "--shop", served.domain], _env(twice))
        assert f"{RESUME} {served.domain}" in text.stdout, text.stdout + text.stderr
        _resume_to_completion(twice, served)
        assert _snapshot(twice, row.id) == expected
