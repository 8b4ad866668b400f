"""Backfill rows: creation, conditional transitions and the run lease.

Every guarantee is a single SQL statement the database arbitrates, never a read followed
by a decision: the row is unique per (workspace, shop), a transition is an ``UPDATE ...
WHERE status = <allowed source>`` whose row count says who won, and every write a run
makes is conditioned on it still holding the lease (``WHERE lease_owner = me``), so a
process that lost its lease cannot commit one more batch.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill.errors import BackfillBusy, BackfillStateError, LeaseLost
from shopify_backfill.backfill.progress import Progress
from shopify_backfill.backfill.states import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    LABELS,
    NOT_STARTED,
    Status,
    can_transition,
)
from shopify_backfill.backfill.tables import backfills
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.dialect import upsert
from shopify_backfill.shopify.extract import ExtractionMode
from shopify_backfill.window import Window


@dataclass(frozen=True)
class BackfillRow:
    id: int
    workspace_id: int
    connection_id: int | None
    shop_domain: str
    status: Status
    window: Window
    extraction_mode: ExtractionMode | None
    checkpoint: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempts: int
    failure_reason: str | None
    progress: Progress
    counts: dict[str, int]
    report: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    braze_destination_id: int | None = None
    """The Braze destination chosen at start; ``None`` is the embedded profile store."""

    @property
    def status_label(self) -> str:
        return LABELS[self.status]


@dataclass(frozen=True)
class Lease:
    """The right to run one backfill, held by ``owner`` until ``seconds`` after renewal."""

    backfill_id: int
    owner: str
    seconds: float


def new_owner() -> str:
    """``host:pid:nonce``: unique per run, and lets a same-host resume see a dead holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_is_dead(owner: str) -> bool:
    """True only when the holder ran on this host and its process is gone."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed child not yet reaped by its parent still answers ``kill(pid, 0)``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:  # noqa: PTH123
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _row(row: sa.Row[Any]) -> BackfillRow:
    return BackfillRow(
        id=int(row.id),
        workspace_id=int(row.workspace_id),
        connection_id=int(row.connection_id) if row.connection_id is not None else None,
        shop_domain=row.shop_domain,
        status=row.status,
        window=Window(start=row.window_start, end=row.window_end),
        extraction_mode=row.extraction_mode,
        checkpoint=row.checkpoint,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        attempts=int(row.attempts),
        failure_reason=row.failure_reason,
        progress=Progress.from_json(row.progress),
        counts={str(k): int(v) for k, v in (row.counts or {}).items()},
        report=row.report,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        updated_at=row.updated_at,
        braze_destination_id=row.braze_destination_id,
    )


def ensure_backfill(
    conn: sa.Connection,
    *,
    workspace_id: int,
    connection_id: int,
    shop_domain: str,
    window: Window,
    now: datetime,
) -> BackfillRow:
    """The store's backfill, created ``not_started`` on first call; later calls return it.

    The window is fixed by the first call: a reconnect never opens another one.
    """
    conn.execute(
        upsert(conn, backfills)
        .values(
            workspace_id=workspace_id,
            connection_id=connection_id,
            shop_domain=shop_domain,
            status=NOT_STARTED,
            window_start=window.start,
            window_end=window.end,
            progress=Progress().to_json(),
            counts={},
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "shop_domain"])
    )
    found = find_backfill(conn, workspace_id, shop_domain)
    if found is None:  # pragma: no cover - the row was inserted or existed just above
        raise InputError(f"the backfill of {shop_domain} vanished while being created")
    return found


def find_backfill(conn: sa.Connection, workspace_id: int, shop_domain: str) -> BackfillRow | None:
    row = conn.execute(
        sa.select(backfills).where(
            backfills.c.workspace_id == workspace_id, backfills.c.shop_domain == shop_domain
        )
    ).one_or_none()
    return _row(row) if row is not None else None


def get_backfill(
    conn: sa.Connection, backfill_id: int, *, workspace_id: int | None = None
) -> BackfillRow:
    """One backfill by id; ``workspace_id`` confines the lookup to one tenant."""
    query = sa.select(backfills).where(backfills.c.id == backfill_id)
    if workspace_id is not None:
        query = query.where(backfills.c.workspace_id == workspace_id)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise InputError(f"backfill {backfill_id} does not exist in this workspace")
    return _row(row)


def _transition(
    conn: sa.Connection,
    backfill_id: int,
    source: Status,
    target: Status,
    values: dict[str, Any],
    *conditions: sa.ColumnElement[bool],
) -> bool:
    if not can_transition(source, target):
        raise BackfillStateError(f"a backfill cannot go from {source} to {target}")
    result = conn.execute(
        sa.update(backfills)
        .where(backfills.c.id == backfill_id, backfills.c.status == source, *conditions)
        .values(status=target, **values)
    )
    return result.rowcount == 1


def request_start(
    conn: sa.Connection,
    backfill_id: int,
    *,
    now: datetime,
    braze_destination_id: int | None = None,
) -> bool:
    """``not_started -> in_progress``, queued for a worker; False if someone else won.

    The destination is fixed here, with the start: a resume delivers where it began.
    """
    progress = Progress(phase="queued", updated_at=now)
    return _transition(
        conn,
        backfill_id,
        NOT_STARTED,
        IN_PROGRESS,
        {
            "started_at": now,
            "updated_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
            "progress": progress.to_json(),
            "braze_destination_id": braze_destination_id,
        },
    )


def request_resume(conn: sa.Connection, backfill_id: int, *, now: datetime) -> bool:
    """``failed -> in_progress``, queued; keeps checkpoint, counts and window."""
    return _transition(
        conn,
        backfill_id,
        FAILED,
        IN_PROGRESS,
        {"updated_at": now, "lease_owner": None, "lease_expires_at": None},
    )


def acquire_lease(
    conn: sa.Connection, backfill_id: int, *, owner: str, now: datetime, seconds: float
) -> Lease:
    """Take the run of an ``in_progress`` backfill that nobody (alive) is running.

    Compare-and-swap on the observed holder: of two processes seeing the same free or
    expired lease, exactly one update matches.
    """
    row = get_backfill(conn, backfill_id)
    if row.status != IN_PROGRESS:
        raise BackfillStateError(
            f"backfill {backfill_id} of {row.shop_domain} is {row.status_label}; "
            "only an in-progress backfill can be run"
        )
    holder = row.lease_owner
    if holder is not None and holder != owner:
        expired = row.lease_expires_at is not None and row.lease_expires_at <= now
        if not expired and not owner_is_dead(holder):
            remaining = (row.lease_expires_at - now).total_seconds() if row.lease_expires_at else 0
            raise BackfillBusy(
                f"the backfill of {row.shop_domain} is running in another process ({holder}); "
                f"if that process died, resume it again in {max(remaining, 0):.0f} s "
                "when its lease has expired"
            )
    held = (
        backfills.c.lease_owner.is_(None) if holder is None else backfills.c.lease_owner == holder
    )
    result = conn.execute(
        sa.update(backfills)
        .where(backfills.c.id == backfill_id, backfills.c.status == IN_PROGRESS, held)
        .values(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=seconds),
            attempts=backfills.c.attempts + 1,
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        raise BackfillBusy(
            f"another process took the backfill of {row.shop_domain} at the same moment"
        )
    return Lease(backfill_id=backfill_id, owner=owner, seconds=seconds)


def _held(lease: Lease) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        backfills.c.id == lease.backfill_id,
        backfills.c.status == IN_PROGRESS,
        backfills.c.lease_owner == lease.owner,
    )


def _update_held(conn: sa.Connection, lease: Lease, now: datetime, **values: Any) -> None:
    result = conn.execute(
        sa.update(backfills)
        .where(*_held(lease))
        .values(lease_expires_at=now + timedelta(seconds=lease.seconds), updated_at=now, **values)
    )
    if result.rowcount != 1:
        raise LeaseLost(
            f"this process ({lease.owner}) no longer holds backfill {lease.backfill_id}; "
            "another run took over after its lease expired"
        )


def renew_lease(conn: sa.Connection, lease: Lease, *, now: datetime) -> None:
    _update_held(conn, lease, now)


def save_progress(
    conn: sa.Connection,
    lease: Lease,
    progress: Progress,
    *,
    now: datetime,
    checkpoint: str | None = None,
    counts: dict[str, int] | None = None,
    extraction_mode: ExtractionMode | None = None,
) -> None:
    """Progress (and, with a batch, its checkpoint and counts), only while holding the lease."""
    values: dict[str, Any] = {"progress": progress.to_json()}
    if checkpoint is not None:
        values["checkpoint"] = checkpoint
    if counts is not None:
        values["counts"] = counts
    if extraction_mode is not None:
        values["extraction_mode"] = extraction_mode
    _update_held(conn, lease, now, **values)


def complete(
    conn: sa.Connection,
    lease: Lease,
    *,
    report: dict[str, Any],
    progress: Progress,
    now: datetime,
) -> None:
    """``in_progress -> completed``; irreversible (no transition leaves ``completed``)."""
    won = _transition(
        conn,
        lease.backfill_id,
        IN_PROGRESS,
        COMPLETED,
        {
            "report": report,
            "progress": progress.to_json(),
            "finished_at": now,
            "updated_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
            "failure_reason": None,
        },
        backfills.c.lease_owner == lease.owner,
    )
    if not won:
        raise LeaseLost(f"backfill {lease.backfill_id} was taken over before it completed")


def fail(
    conn: sa.Connection, lease: Lease, *, reason: str, progress: Progress, now: datetime
) -> bool:
    """``in_progress -> failed`` (resumable); False when the lease was already lost."""
    return _transition(
        conn,
        lease.backfill_id,
        IN_PROGRESS,
        FAILED,
        {
            "failure_reason": reason,
            "progress": progress.to_json(),
            "updated_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
        },
        backfills.c.lease_owner == lease.owner,
    )


def finish_completed(conn: sa.Connection, backfill_id: int, *, now: datetime) -> bool:
    """``finishing -> done`` once a completed backfill's emails are dealt with."""
    row = get_backfill(conn, backfill_id)
    if row.status != COMPLETED or row.progress.phase != "finishing":
        return False
    progress = row.progress
    progress.phase = "done"
    progress.updated_at = now
    result = conn.execute(
        sa.update(backfills)
        .where(backfills.c.id == backfill_id, backfills.c.status == COMPLETED)
        .values(progress=progress.to_json(), updated_at=now)
    )
    return result.rowcount == 1


def list_backfills(conn: sa.Connection, workspace_id: int) -> list[BackfillRow]:
    query = (
        sa.select(backfills)
        .where(backfills.c.workspace_id == workspace_id)
        .order_by(backfills.c.id)
    )
    return [_row(row) for row in conn.execute(query)]
