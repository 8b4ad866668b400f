"""The state machine and the lease, enforced by the database on both backends."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.errors import BackfillBusy, BackfillStateError, LeaseLost
from shopify_backfill.backfill.progress import Progress
from shopify_backfill.backfill.states import STATUSES, TRANSITIONS, can_transition, sources_of
from shopify_backfill.backfill.store import (
    acquire_lease,
    complete,
    ensure_backfill,
    fail,
    get_backfill,
    owner_is_dead,
    request_start,
    save_progress,
)
from shopify_backfill.backfill.tables import backfills, email_outbox, notifications
from shopify_backfill.profiles.schema import metadata
from shopify_backfill.profiles.workspaces import create_shop_connection, create_workspace
from shopify_backfill.window import window_for
from store_engines import BACKENDS, migrated_engine

CONNECTED = datetime(2026, 7, 1, tzinfo=UTC)
SHOP = "acme.myshopify.com"


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine(request.param, tmp_path, "test_backfill") as built:
        yield built


def _connected(engine: Engine, name: str = "acme") -> tuple[int, int]:
    with engine.begin() as conn:
        workspace_id = create_workspace(conn, name)
        connection_id = create_shop_connection(conn, workspace_id, SHOP, connected_at=CONNECTED)
    return workspace_id, connection_id


def _ensure(engine: Engine, workspace_id: int, connection_id: int) -> int:
    with engine.begin() as conn:
        return ensure_backfill(
            conn,
            workspace_id=workspace_id,
            connection_id=connection_id,
            shop_domain=SHOP,
            window=window_for(CONNECTED),
            now=datetime.now(UTC),
        ).id


def test_transition_table_is_the_contract() -> None:
    assert set(TRANSITIONS) == set(STATUSES)
    assert not TRANSITIONS["completed"], "nothing leaves completed: the backfill runs once"
    assert sources_of("in_progress") == ("not_started", "in_progress", "failed")
    assert sources_of("completed") == ("in_progress",)
    assert not can_transition("completed", "in_progress")
    assert not can_transition("not_started", "completed")


def test_migration_creates_the_tables_as_defined(engine: Engine) -> None:
    mine = {backfills.name, notifications.name, email_outbox.name}
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    touching_mine = [diff for diff in diffs if mine & set(_table_names(diff))]
    assert touching_mine == []
    assert mine <= set(sa.inspect(engine).get_table_names())


def _table_names(diff: object) -> list[str]:
    names: list[str] = []
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            name = getattr(part, "name", None)
            table = getattr(part, "table", None)
            if isinstance(part, sa.Table):
                names.append(part.name)
            elif table is not None:
                names.append(table.name)
            elif isinstance(name, str):
                names.append(name)
    return names


def test_one_backfill_per_store_even_after_reconnect(engine: Engine) -> None:
    workspace_id, connection_id = _connected(engine)
    first = _ensure(engine, workspace_id, connection_id)
    with engine.begin() as conn:
        assert request_start(conn, first, now=datetime.now(UTC))
        # The store is disconnected then connected again: a new connection row.
        conn.execute(sa.text("DELETE FROM shop_connections WHERE id = :id"), {"id": connection_id})
        again = create_shop_connection(
            conn, workspace_id, SHOP, connected_at=CONNECTED + timedelta(days=30)
        )
    assert _ensure(engine, workspace_id, again) == first
    with engine.connect() as conn:
        row = get_backfill(conn, first)
    assert row.window == window_for(CONNECTED), "a reconnect never opens a new window"
    assert row.status == "in_progress"


def test_other_workspace_gets_its_own_backfill(engine: Engine) -> None:
    one = _ensure(engine, *_connected(engine, "one"))
    two = _ensure(engine, *_connected(engine, "two"))
    assert one != two
    with engine.connect() as conn:
        other_workspace = get_backfill(conn, two).workspace_id
    with engine.connect() as conn, pytest.raises(Exception, match="not exist in this workspace"):
        get_backfill(conn, one, workspace_id=other_workspace)


def test_concurrent_starts_yield_one_winner(engine: Engine) -> None:
    backfill_id = _ensure(engine, *_connected(engine))
    barrier = threading.Barrier(6)
    wins: list[bool] = []
    lock = threading.Lock()

    def contender() -> None:
        barrier.wait()
        with engine.begin() as conn:
            won = request_start(conn, backfill_id, now=datetime.now(UTC))
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=contender) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 5 + [True]


def test_a_completed_backfill_never_starts_again(engine: Engine) -> None:
    backfill_id = _ensure(engine, *_connected(engine))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        row = requests.start(conn, get_backfill(conn, backfill_id), now=now)
        lease = acquire_lease(conn, backfill_id, owner="h:1:a", now=now, seconds=30)
        complete(conn, lease, report={"ok": True}, progress=Progress(phase="done"), now=now)
    with engine.begin() as conn:
        assert not request_start(conn, backfill_id, now=now)
        with pytest.raises(BackfillStateError, match=r"already completed.*only once"):
            requests.start(conn, row, now=now)
        with pytest.raises(BackfillStateError, match=r"resume: the backfill .* already completed"):
            requests.resume(conn, get_backfill(conn, backfill_id), now=now)
        assert get_backfill(conn, backfill_id).status == "completed"


def test_lease_keeps_two_runs_apart_and_fences_the_loser(engine: Engine) -> None:
    backfill_id = _ensure(engine, *_connected(engine))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        request_start(conn, backfill_id, now=now)
        first = acquire_lease(conn, backfill_id, owner="elsewhere:1:a", now=now, seconds=30)
    with engine.begin() as conn, pytest.raises(BackfillBusy, match="another process"):
        acquire_lease(conn, backfill_id, owner="elsewhere:2:b", now=now, seconds=30)
    later = now + timedelta(seconds=31)
    with engine.begin() as conn:
        second = acquire_lease(conn, backfill_id, owner="elsewhere:2:b", now=later, seconds=30)
    with engine.begin() as conn, pytest.raises(LeaseLost):
        save_progress(conn, first, Progress(phase="loading_orders"), now=later, checkpoint="x")
    with engine.begin() as conn:
        assert not fail(conn, first, reason="late", progress=Progress(), now=later)
        save_progress(conn, second, Progress(phase="loading_orders"), now=later)
        row = get_backfill(conn, backfill_id)
    assert row.lease_owner == second.owner
    assert row.checkpoint is None, "the fenced run wrote nothing"
    assert row.attempts == 2


def test_dead_local_holder_is_taken_over_at_once(engine: Engine) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    owner = f"{socket.gethostname()}:{dead.stdout.strip()}:x"
    assert owner_is_dead(owner)
    assert not owner_is_dead(f"{socket.gethostname()}:1:x"), "pid 1 is alive"
    assert not owner_is_dead(f"another-host:{dead.stdout.strip()}:x"), "unknown host: wait"
    backfill_id = _ensure(engine, *_connected(engine))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        request_start(conn, backfill_id, now=now)
        acquire_lease(conn, backfill_id, owner=owner, now=now, seconds=600)
        taken = acquire_lease(conn, backfill_id, owner="me:2:y", now=now, seconds=600)
    assert taken.owner == "me:2:y"
