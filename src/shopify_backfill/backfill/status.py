"""Reading a backfill's state from any process: what ``status`` and the web page show."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill.notify import deliveries_of
from shopify_backfill.backfill.progress import progress_view
from shopify_backfill.backfill.shards import list_shards, shard_progress
from shopify_backfill.backfill.states import FAILED, IN_PROGRESS, INTERRUPTED_PREFIX
from shopify_backfill.backfill.store import BackfillRow, get_backfill, owner_is_dead
from shopify_backfill.destinations.braze.ledger import progress as braze_progress
from shopify_backfill.profiles.sightings import sighting_counts
from shopify_backfill.profiles.written import from_sightings


def abandoned(row: BackfillRow, now: datetime) -> bool:
    """``in_progress`` but nobody runs it: its holder died or stopped renewing the lease
    (a second Ctrl-C, a kill). A queued run (no holder yet) is not abandoned."""
    if row.status != IN_PROGRESS or row.lease_owner is None:
        return False
    expired = row.lease_expires_at is not None and row.lease_expires_at <= now
    return expired or owner_is_dead(row.lease_owner)


def status_view(row: BackfillRow, *, now: datetime | None = None) -> dict[str, Any]:
    """What any reader shows; ``running`` tells a live run from an interrupted one."""
    moment = now or datetime.now(UTC)
    stopped = abandoned(row, moment)
    interrupted = stopped or (
        row.status == FAILED and (row.failure_reason or "").startswith(INTERRUPTED_PREFIX)
    )
    label = row.status_label
    if stopped:
        label = "Interrupted - not running"
    elif interrupted:
        label = "Interrupted - resumable"
    view = progress_view(
        row.progress,
        status=row.status,
        status_label=label,
        failure_reason=row.failure_reason,
        now=now,
    )
    view["running"] = row.status == IN_PROGRESS and not stopped
    view["interrupted"] = interrupted
    if interrupted or row.status == FAILED:
        view["eta_seconds"] = None  # nothing is running, so nothing will finish
    view["backfill_id"] = row.id
    view["shop"] = row.shop_domain
    view["window"] = {"start": row.window.start.isoformat(), "end": row.window.end.isoformat()}
    view["started_at"] = row.started_at.isoformat() if row.started_at else None
    view["finished_at"] = row.finished_at.isoformat() if row.finished_at else None
    view["attempts"] = row.attempts
    return view


def read_status(
    conn: sa.Connection, backfill_id: int, *, workspace_id: int | None = None
) -> dict[str, Any]:
    """Status, live progress, the report once completed, and the emails sent about it.

    ``workspace_id`` confines the read to one tenant (the web page always passes it).
    """
    row = get_backfill(conn, backfill_id, workspace_id=workspace_id)
    shards = list_shards(conn, backfill_id)
    if shards:
        row = replace(row, progress=shard_progress(row.progress, shards))
    view = status_view(row)
    # Read from the committed sightings, like the report: each profile once, however
    # many batches (or shards) met it, so the last figure is the report's.
    profiles = from_sightings(sighting_counts(conn, row.workspace_id, row.id))
    view["profiles"] = {
        **profiles.to_json(),
        "sentence": profiles.sentence(so_far=row.status == IN_PROGRESS),
    }
    if shards:
        view["shards"] = [shard.view() for shard in shards]
        extract = [shard for shard in shards if shard.stage == "extract"]
        view["extracted"] = {
            kind: sum(shard.done for shard in extract if shard.kind == kind)
            for kind in ("customers", "orders")
        }
        # What a person reads while the slices are still being read (nothing is loaded
        # yet, so the bars stay at zero): how much came from Shopify, how many parts.
        view["parallel"] = {
            "parts": len(shards),
            "parts_done": sum(1 for shard in shards if shard.state == "done"),
            "running": sum(1 for shard in shards if shard.state == "running"),
            "read": view["extracted"],
        }
    if row.braze_destination_id is not None:
        view["braze"] = braze_progress(conn, backfill_id)
    view["report"] = row.report
    view["emails"] = [
        {
            "kind": delivery.kind,
            "status": delivery.status,
            "to": list(delivery.recipients),
            "attempts": delivery.attempts,
            "delivered_to": delivery.delivered_to,
            "last_error": delivery.last_error,
        }
        for delivery in deliveries_of(conn, backfill_id)
    ]
    return view
