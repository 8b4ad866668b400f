"""A slow or failing Shopify is never silent (hardening 7e).

A real ``backfill start`` against a served emulator: with server errors injected, every
retry is announced with its wait and attempt number; with every answer delayed past the
stall threshold, the CLI says what it is waiting for while nothing moves.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from shopify_backfill.cli.display import STALL_SECONDS

from .served import CLI, REPO, Served, cli_env, connect_served, run_cli, serve_emulator


def _faults(served: Served, **plan: object) -> None:
    response = httpx.post(
        f"{served.api_url}/emulator/faults",
        json=plan,
        headers={"X-Emulator-Admin": "emulator-admin-secret"},
    )
    response.raise_for_status()


def _env(data: Path) -> dict[str, str]:
    return cli_env(data, extraction_mode="paginated", batch_size="50")


def test_retries_are_announced_with_their_wait_and_attempt(tmp_path: Path) -> None:
    with serve_emulator(tmp_path / "emu", customers=30, orders=60, seed=5) as served:
        data = tmp_path / "data"
        connect_served(data, served)
        _faults(served, server_error_rate=0.4, seed=3)
        result = run_cli(["backfill", "start", "--shop", served.domain, "--yes"], _env(data))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Shopify did not answer properly (" in result.stderr, result.stderr
        assert "; retrying in " in result.stderr and "(attempt 2 of 8)" in result.stderr


def test_a_hanging_shopify_is_reported_while_nothing_moves(tmp_path: Path) -> None:
    # Enough orders for the run to last past the moment the hang is switched on: with
    # 27 window orders it could finish between "[In Progress]" and the fault.
    with serve_emulator(tmp_path / "emu", customers=200, orders=1200, seed=5) as served:
        data = tmp_path / "data"
        connect_served(data, served)
        log = tmp_path / "run.log"
        with log.open("w") as sink:
            process = subprocess.Popen(
                [*CLI, "backfill", "start", "--shop", served.domain, "--yes"],
                cwd=REPO,
                env=_env(data),
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
            )
        try:
            deadline = time.monotonic() + 60
            while "[In Progress]" not in log.read_text():  # past the preview: hang now
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            _faults(served, latency_seconds=STALL_SECONDS + 3)
            while "still running, waiting for Shopify" not in log.read_text():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert "no new progress for" in log.read_text()
            _faults(served, latency_seconds=0)
            assert process.wait(timeout=120) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
