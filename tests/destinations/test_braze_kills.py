"""kill -9 at random points of a Braze delivery, resume each time: nothing twice.

The Shopify emulator and the Braze stand-in are server processes; every start and
resume is a real ``shopify-backfill`` process, SIGKILLed while requests are in flight
(the stand-in answers slowly, requests hold 10 objects and the sender keeps two in
flight). After the final
resume, Braze must hold every user with the attributes and consent of an embedded
backfill of the same store, and each event and purchase at most once. What is missing
must fit in the requests the report calls "in flight at a crash": the one window the
ledger cannot close (docs/braze.md), measured here and printed.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from backfill.served import CLI, REPO, Served, cli_env, connect_served, run_cli, serve_emulator
from braze_emulator.served import KEY, ServedBraze, serve_braze
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.config import Settings
from shopify_backfill.profiles import export_profiles
from shopify_backfill.profiles.types import json_dumps
from shopify_backfill.wiring import build_services

from .braze_compare import braze_view, embedded_view, match_users

KILLS = 12


def _env(data: Path) -> dict[str, str]:
    return cli_env(
        data,
        extraction_mode="bulk",
        batch_size="10",
        bulk_poll_seconds="0.2",
        bulk_poll_max_seconds="0.3",
        lease_seconds="30",
        braze_concurrency="2",
        smtp_host="",
    )


def _sent(database: Path) -> int:
    try:
        with sqlite3.connect(database, timeout=30) as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM braze_requests WHERE state != 'pending'"
                ).fetchone()[0]
            )
    except sqlite3.OperationalError:
        return 0


def _kill_after(process: subprocess.Popen[bytes], database: Path, rng: random.Random) -> bool:
    """SIGKILL once a few more requests went out (at a random instant after); False if
    the run ended first."""
    start = _sent(database)
    target = start + rng.randint(1, 3)
    while process.poll() is None:
        if _sent(database) >= target:
            time.sleep(rng.uniform(0, 0.03))
            if process.poll() is not None:
                return False
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    return False


def _reference(tmp_path: Path, served: Served) -> list[dict[str, Any]]:
    data = tmp_path / "reference"
    row = connect_served(data, served)
    result = run_cli(["backfill", "start", "--shop", served.domain, "--yes"], _env(data))
    assert result.returncode == 0, result.stderr
    services = build_services(Settings(data_dir=data))
    try:
        with services.engine.connect() as conn:
            return export_profiles(conn, row.workspace_id)
    finally:
        services.dispose()


def _report(data: Path, backfill_id: int) -> dict[str, Any]:
    services = build_services(Settings(data_dir=data))
    try:
        with services.engine.connect() as conn:
            row = get_backfill(conn, backfill_id)
            assert row.status == "completed"
            assert row.report is not None
            return row.report
    finally:
        services.dispose()


def _multiset(items: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json_dumps(item) for item in items)


@pytest.mark.slow
def test_sigkill_during_delivery_never_sends_an_event_or_purchase_twice(tmp_path: Path) -> None:
    rng = random.Random(20261207)
    with (
        serve_emulator(tmp_path / "emu", customers=60, orders=260, seed=43) as served,
        serve_braze(tmp_path / "braze") as braze,
    ):
        profiles = _reference(tmp_path, served)
        braze.faults(latency_seconds=0.02)
        data = tmp_path / "braze-run"
        row = connect_served(data, served)
        env = _env(data)
        added = run_cli(
            [
                "destinations",
                "add",
                "braze",
                "--name",
                "stand-in",
                "--rest-endpoint",
                braze.url,
                "--api-key",
                KEY,
                "--workspace",
                "default",
                "--max-objects",
                "10",
            ],
            env,
        )
        assert added.returncode == 0, added.stdout + added.stderr
        database = data / "backfill.db"
        command = [
            "backfill",
            "start",
            "--shop",
            served.domain,
            "--yes",
            "--destination",
            "stand-in",
        ]
        kills = 0
        with (data / "runs.log").open("ab") as sink:
            while kills < KILLS:
                process = subprocess.Popen(
                    [*CLI, *command], cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
                )
                command = ["backfill", "resume", "--shop", served.domain]
                if not _kill_after(process, database, rng):
                    assert process.returncode == 0, (data / "runs.log").read_text()
                    break
                kills += 1
        final = run_cli(["backfill", "resume", "--shop", served.domain], env)
        assert "completed" in final.stdout + final.stderr or final.returncode == 0
        report = _report(data, row.id)
        _assert_at_most_once(braze, profiles, served.domain, report)
    assert kills >= 10, f"only {kills} kills landed before the run completed"


def _assert_at_most_once(
    braze: ServedBraze, profiles: list[dict[str, Any]], shop: str, report: dict[str, Any]
) -> None:
    uncertain = report["delivery"]["uncertain"]
    missing_events = missing_purchases = 0
    users = braze.users()
    assert len(users) == len(profiles)
    for profile, user in match_users(profiles, users):
        want, got = embedded_view(profile, shop), braze_view(user, None)
        assert got["attributes"] == want["attributes"], profile["aliases"]
        assert got["email_subscribe"] == want["email_subscribe"], profile["aliases"]
        for kind in ("events", "purchases"):
            extra = _multiset(got[kind]) - _multiset(want[kind])
            assert not extra, f"{kind} received twice or unknown: {extra}"
        missing_events += sum((_multiset(want["events"]) - _multiset(got["events"])).values())
        missing_purchases += sum(
            (_multiset(want["purchases"]) - _multiset(got["purchases"])).values()
        )
    sent = report["delivery"]["sent"]["requests"]
    print(
        f"{sent} requests accepted; window: {uncertain['requests']} requests in flight at a crash "
        f"({uncertain['events']} events, {uncertain['purchases']} purchases); "
        f"missing in Braze: {missing_events} events, {missing_purchases} purchases"
    )
    assert missing_events <= uncertain["events"]
    assert missing_purchases <= uncertain["purchases"]
