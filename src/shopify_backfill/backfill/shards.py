"""Shard rows: what one worker of a sharded backfill holds, checkpoints and finishes.

A shard has its own lease (the same compare-and-swap as the backfill's, so a redelivered
task and the task it replaces never run one shard together) and its own checkpoint,
written in the transaction of the shard's writes. States: ``pending`` (to be queued),
``queued`` (handed to the broker), ``running``, ``done``, ``failed`` (the reason is kept;
``backfill resume`` puts failed and unfinished shards back to ``pending``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec
import sqlalchemy as sa

from shopify_backfill.backfill.errors import BackfillBusy, LeaseLost
from shopify_backfill.backfill.progress import Progress
from shopify_backfill.backfill.store import owner_is_dead
from shopify_backfill.backfill.tables import backfill_shards

if TYPE_CHECKING:
    from shopify_backfill.backfill.store import BackfillRow

SHARDED_MARK: Final = '{"sharded":'
"""How a sharded backfill's ``checkpoint`` column starts: its checkpoints live on the
shards, and a single-process run refuses it rather than start over."""

Stage = Literal["extract", "load"]
ShardState = Literal["pending", "queued", "running", "done", "failed"]
LOAD_KIND = "records"
"""The ``kind`` of a load shard: it loads customers and orders, in that order."""


@dataclass(frozen=True)
class ShardRow:
    id: int
    backfill_id: int
    stage: Stage
    kind: str
    position: int
    slice_start: datetime | None
    slice_end: datetime | None
    state: ShardState
    expected: int | None
    done: int
    checkpoint: str | None
    counts: dict[str, int]
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempts: int
    failure_reason: str | None

    @property
    def label(self) -> str:
        """How a person reads it in a reason: ``orders 2/4 (2026-09-01 - 2026-09-16)``."""
        if self.stage == "load":
            return f"load partition {self.position + 1}"
        start = self.slice_start.date().isoformat() if self.slice_start else "?"
        end = self.slice_end.date().isoformat() if self.slice_end else "?"
        return f"{self.kind} slice {self.position + 1} ({start} - {end})"

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stage": self.stage,
            "kind": self.kind,
            "position": self.position,
            "label": self.label,
            "state": self.state,
            "expected": self.expected,
            "done": self.done,
            "attempts": self.attempts,
            "failure_reason": self.failure_reason,
        }


class LoadCheckpoint(msgspec.Struct):
    after: tuple[int, str, int, int, int] | None = None
    """The sort key of the last committed record: (kind rank, time, id, shard, seq)."""
    customers: int = 0
    orders: int = 0


@dataclass(frozen=True)
class ShardLease:
    shard_id: int
    backfill_id: int
    owner: str
    seconds: float


@dataclass(frozen=True)
class NewShard:
    stage: Stage
    kind: str
    position: int
    slice_start: datetime | None = None
    slice_end: datetime | None = None
    expected: int | None = None


def is_sharded(row: BackfillRow) -> bool:
    return (row.checkpoint or "").startswith(SHARDED_MARK)


def _row(row: sa.Row[Any]) -> ShardRow:
    return ShardRow(
        id=row.id,
        backfill_id=row.backfill_id,
        stage=row.stage,
        kind=row.kind,
        position=row.position,
        slice_start=row.slice_start,
        slice_end=row.slice_end,
        state=row.state,
        expected=row.expected,
        done=row.done,
        checkpoint=row.checkpoint,
        counts=dict(row.counts or {}),
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        attempts=row.attempts,
        failure_reason=row.failure_reason,
    )


def list_shards(conn: sa.Connection, backfill_id: int) -> list[ShardRow]:
    query = (
        sa.select(backfill_shards)
        .where(backfill_shards.c.backfill_id == backfill_id)
        .order_by(
            backfill_shards.c.stage,
            backfill_shards.c.kind,
            backfill_shards.c.position,
        )
    )
    return [_row(row) for row in conn.execute(query)]


def get_shard(conn: sa.Connection, shard_id: int) -> ShardRow | None:
    row = conn.execute(sa.select(backfill_shards).where(backfill_shards.c.id == shard_id)).first()
    return _row(row) if row is not None else None


def add_shards(
    conn: sa.Connection, backfill_id: int, shards: Sequence[NewShard], *, now: datetime
) -> None:
    if not shards:
        return
    conn.execute(
        sa.insert(backfill_shards),
        [
            {
                "backfill_id": backfill_id,
                "stage": shard.stage,
                "kind": shard.kind,
                "position": shard.position,
                "slice_start": shard.slice_start,
                "slice_end": shard.slice_end,
                "state": "pending",
                "expected": shard.expected,
                "counts": {},
                "updated_at": now,
            }
            for shard in shards
        ],
    )


def mark_queued(conn: sa.Connection, shard_ids: Sequence[int], *, now: datetime) -> None:
    if shard_ids:
        conn.execute(
            sa.update(backfill_shards)
            .where(backfill_shards.c.id.in_(list(shard_ids)), backfill_shards.c.state == "pending")
            .values(state="queued", updated_at=now)
        )


def reset_unfinished(conn: sa.Connection, backfill_id: int, *, now: datetime) -> int:
    """Every shard not done back to ``pending`` (a resume re-runs only those)."""
    result = conn.execute(
        sa.update(backfill_shards)
        .where(backfill_shards.c.backfill_id == backfill_id, backfill_shards.c.state != "done")
        .values(
            state="pending",
            failure_reason=None,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    return int(result.rowcount or 0)


def claim_shard(
    conn: sa.Connection, shard_id: int, *, owner: str, now: datetime, seconds: float
) -> ShardLease:
    """Take a shard nobody alive runs (compare-and-swap on the observed holder)."""
    shard = get_shard(conn, shard_id)
    if shard is None:
        raise LeaseLost(f"shard {shard_id} no longer exists")
    holder = shard.lease_owner
    if holder is not None and holder != owner:
        expired = shard.lease_expires_at is not None and shard.lease_expires_at <= now
        if not expired and not owner_is_dead(holder):
            raise BackfillBusy(f"{shard.label} is running in another worker ({holder})")
    held = (
        backfill_shards.c.lease_owner.is_(None)
        if holder is None
        else backfill_shards.c.lease_owner == holder
    )
    result = conn.execute(
        sa.update(backfill_shards)
        .where(backfill_shards.c.id == shard_id, held)
        .values(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=seconds),
            attempts=backfill_shards.c.attempts + 1,
            state="running",
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        raise BackfillBusy(f"another worker took {shard.label} at the same moment")
    return ShardLease(shard_id, shard.backfill_id, owner, seconds)


def save_shard(conn: sa.Connection, lease: ShardLease, *, now: datetime, **values: Any) -> None:
    """Update the shard (checkpoint, done, counts, state), only while holding its lease."""
    renewal = {"lease_expires_at": now + timedelta(seconds=lease.seconds), "updated_at": now}
    result = conn.execute(
        sa.update(backfill_shards)
        .where(backfill_shards.c.id == lease.shard_id, backfill_shards.c.lease_owner == lease.owner)
        .values(renewal | values)
    )
    if result.rowcount != 1:
        raise LeaseLost(
            f"this worker ({lease.owner}) no longer holds shard {lease.shard_id}; "
            "another worker took over after its lease expired"
        )


def release_shard(
    conn: sa.Connection,
    lease: ShardLease,
    *,
    state: ShardState,
    now: datetime,
    reason: str | None = None,
) -> None:
    """Leave the shard ``done`` or ``failed``, lease cleared."""
    save_shard(
        conn,
        lease,
        now=now,
        state=state,
        failure_reason=reason,
        lease_owner=None,
        lease_expires_at=None,
    )


def shard_progress(progress: Progress, shards: Sequence[ShardRow]) -> Progress:
    """The backfill's progress with the load shards' figures summed in."""
    fresh = Progress.from_json(progress.to_json())
    loads = [shard for shard in shards if shard.stage == "load"]
    if loads:
        points = customers = orders = 0
        for shard in loads:
            done = LoadCheckpoint() if not shard.checkpoint else load_checkpoint(shard)
            customers += done.customers
            orders += done.orders
            points += int(shard.counts.get("data_points", 0))
        fresh.customers_done, fresh.orders_done, fresh.data_points = customers, orders, points
    return fresh


def load_checkpoint(shard: ShardRow) -> LoadCheckpoint:
    """A load shard's checkpoint (the empty one before its first batch)."""
    return msgspec.json.decode(shard.checkpoint or "{}", type=LoadCheckpoint)
