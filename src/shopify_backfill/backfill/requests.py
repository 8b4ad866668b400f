"""What a merchant (CLI, web, API) asks for: open, start, resume; each refused clearly.

These only move the state machine (in the caller's transaction) and post the dashboard
notification that goes with the move; running the job is ``runner.run_backfill``, on
whichever worker picks it up.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from shopify_backfill.backfill.errors import BackfillStateError
from shopify_backfill.backfill.notify import post_notification
from shopify_backfill.backfill.shards import is_sharded, reset_unfinished
from shopify_backfill.backfill.states import COMPLETED, FAILED, IN_PROGRESS, NOT_STARTED
from shopify_backfill.backfill.store import (
    BackfillRow,
    ensure_backfill,
    find_backfill,
    get_backfill,
    request_resume,
    request_start,
)
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.shopify.oauth import validate_shop_domain
from shopify_backfill.window import window_for


def open_backfill(
    conn: sa.Connection, *, workspace_id: int, shop_domain: str, now: datetime
) -> BackfillRow:
    """The store's backfill row (created ``not_started`` with its window on first call)."""
    domain = validate_shop_domain(shop_domain)
    existing = find_backfill(conn, workspace_id, domain)
    if existing is not None:
        return existing
    connection = conn.execute(
        sa.select(shop_connections.c.id, shop_connections.c.connected_at).where(
            shop_connections.c.workspace_id == workspace_id,
            shop_connections.c.shop_domain == domain,
        )
    ).one_or_none()
    if connection is None:
        raise InputError(
            f"{domain} is not connected to this workspace; run "
            f"`shopify-backfill connect --shop {domain} --token ...` first"
        )
    return ensure_backfill(
        conn,
        workspace_id=workspace_id,
        connection_id=int(connection.id),
        shop_domain=domain,
        window=window_for(connection.connected_at),
        now=now,
    )


def _refusal(row: BackfillRow, action: str) -> BackfillStateError:
    shop = row.shop_domain
    if row.status == COMPLETED:
        finished = f" on {row.finished_at:%Y-%m-%d %H:%M} UTC" if row.finished_at else ""
        return BackfillStateError(
            f"cannot {action}: the backfill of {shop} already completed{finished}; a store's "
            "history is imported only once per workspace, even after a reconnect "
            f"(see `shopify-backfill backfill status --shop {shop}`)"
        )
    if row.status == IN_PROGRESS:
        return BackfillStateError(
            f"cannot {action}: the backfill of {shop} is already in progress; follow it with "
            f"`shopify-backfill backfill status --shop {shop} --watch`, or continue it with "
            f"`shopify-backfill backfill resume --shop {shop}` if its process has stopped"
        )
    if row.status == FAILED:
        return BackfillStateError(
            f"cannot {action}: the backfill of {shop} failed ({row.failure_reason}); continue "
            f"it from its checkpoint with `shopify-backfill backfill resume --shop {shop}`"
        )
    return BackfillStateError(
        f"cannot {action}: the backfill of {shop} has not started; start it with "
        f"`shopify-backfill backfill start --shop {shop}`"
    )


def start(
    conn: sa.Connection,
    row: BackfillRow,
    *,
    now: datetime,
    braze_destination_id: int | None = None,
) -> BackfillRow:
    """``not_started -> in_progress`` and the "started" notification; exactly one caller wins.

    ``braze_destination_id`` sends the backfill to that Braze workspace instead of the
    embedded store (checked by the caller to be the workspace's own).
    """
    if not request_start(conn, row.id, now=now, braze_destination_id=braze_destination_id):
        raise _refusal(get_backfill(conn, row.id), "start")
    post_notification(
        conn,
        workspace_id=row.workspace_id,
        backfill_id=row.id,
        kind="started",
        level="info",
        title=f"Shopify backfill of {row.shop_domain} started",
        body=(
            f"Importing customers, orders and purchases from {row.window.start:%Y-%m-%d} to "
            f"{row.window.end:%Y-%m-%d}. Status: In Progress. You can leave this page; "
            "you will be notified when it completes."
        ),
        now=now,
    )
    return get_backfill(conn, row.id)


def resume(conn: sa.Connection, row: BackfillRow, *, now: datetime) -> BackfillRow:
    """Make a failed (or interrupted) backfill runnable again from its checkpoint."""
    if row.status == FAILED:
        if not request_resume(conn, row.id, now=now):
            fresh = get_backfill(conn, row.id)
            if fresh.status != IN_PROGRESS:
                raise _refusal(fresh, "resume")
        elif is_sharded(row):
            reset_unfinished(conn, row.id, now=now)  # only these run again
        return get_backfill(conn, row.id)
    if row.status == IN_PROGRESS:
        return row  # interrupted: the lease decides whether it may be taken over
    raise _refusal(row, "resume")


def refuse_unless_not_started(row: BackfillRow) -> None:
    """Fail early (before confirmations and preflight) when a start cannot succeed."""
    if row.status != NOT_STARTED:
        raise _refusal(row, "start")
