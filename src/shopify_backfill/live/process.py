"""Recorded deliveries into the profile store, the same way the backfill writes.

Each pending delivery is applied to every workspace that connected its shop, with the
backfill's own loader (``load_batch``: identity resolution, attribute diffing, event and
purchase dedup by Shopify identity, consent for new profiles, data points) on a live
``LoadContext`` (no backfill, not historical, so the trigger engine treats its events as
live), then marked ``processed`` and its body cleared. The rules that make repeats and
disorder harmless:

- **the seam at** ``connected_at``: an order created before the connection belongs to the
  backfill's window; its webhooks (an update days later) are not applied, so it is
  imported once, by the backfill;
- **newest wins**: a payload whose ``updated_at`` is older than the newest one applied
  for that Shopify object (``live_versions``) is skipped, so a late, stale delivery never
  puts old values back;
- **a repeat is a no-op**: the same order delivered twice maps to the same event and
  purchases, which the loader deduplicates.

A delivery that cannot be applied (an unreadable payload) is marked ``failed`` with the
reason, on its own savepoint: the others of the batch still apply.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson
import sqlalchemy as sa

from shopify_backfill.backfill.ports import AfterBatchHook
from shopify_backfill.live import privacy
from shopify_backfill.live.payloads import record_from_webhook
from shopify_backfill.live.tables import live_versions, webhook_deliveries
from shopify_backfill.profiles.dialect import upsert
from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.profiles.writes import LoadContext, load_batch
from shopify_backfill.shopify.records import Customer, Order, UnreadableRecord

log = logging.getLogger(__name__)

_d = webhook_deliveries.c


@dataclass
class Processed:
    """Counts of one ``process_pending`` pass."""

    applied: int = 0
    backfills: int = 0
    """Orders created before the connection: the backfill's, not applied here."""
    stale: int = 0
    failed: int = 0
    other: int = 0
    """Topics with no profile data (``app/uninstalled``, privacy): handled elsewhere."""

    @property
    def total(self) -> int:
        return self.applied + self.backfills + self.stale + self.failed + self.other


def process_pending(
    engine: sa.Engine,
    *,
    hooks: Sequence[AfterBatchHook] = (),
    limit: int = 10_000,
    now: datetime | None = None,
) -> Processed:
    """Apply up to ``limit`` pending deliveries of profile topics, oldest first."""
    counts = Processed()
    topics = ("orders/create", "orders/updated", "customers/create", "customers/update")
    while counts.total < limit:
        # One delivery per transaction: on SQLite the receiver's insert waits for the
        # write lock, and a batch held it long enough to push its answers past a second.
        with engine.begin() as conn:
            row = conn.execute(
                sa.select(_d.id, _d.shop_domain, _d.topic, _d.body)
                .where(_d.state == "pending", _d.topic.in_(topics))
                .order_by(_d.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if row is None:
                break
            _process_one(conn, row, hooks, counts, now or datetime.now(UTC))
    return counts


def process_privacy(engine: sa.Engine, folder: Path, *, now: datetime | None = None) -> int:
    """Act on pending privacy and uninstall deliveries (``privacy``), oldest first; each
    in its own transaction with its audit record, its body cleared after (a redact
    request names the person it is about). ``folder`` receives data-request files."""
    done = 0
    while True:
        with engine.begin() as conn:
            row = conn.execute(
                sa.select(_d.id, _d.shop_domain, _d.topic, _d.body)
                .where(_d.state == "pending", _d.topic.in_(_PRIVACY))
                .order_by(_d.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if row is None:
                return done
            stamp = now or datetime.now(UTC)
            payload = orjson.loads(bytes(row.body))
            if row.topic == "customers/redact":
                privacy.redact_customer(conn, row.shop_domain, payload, stamp)
            elif row.topic == "customers/data_request":
                privacy.export_customer(conn, row.shop_domain, payload, folder, stamp)
            elif row.topic == "app/uninstalled":
                privacy.uninstalled(conn, row.shop_domain, stamp)
            else:
                privacy.redact_shop(conn, row.shop_domain, stamp)
            conn.execute(
                sa.update(webhook_deliveries)
                .where(_d.id == row.id)
                .values(state="processed", body=None, processed_at=stamp)
            )
            done += 1


_PRIVACY: Final = ("customers/redact", "customers/data_request", "shop/redact", "app/uninstalled")


def _process_one(
    conn: sa.Connection,
    row: Any,
    hooks: Sequence[AfterBatchHook],
    counts: Processed,
    now: datetime,
) -> None:
    error: str | None = None
    savepoint = conn.begin_nested()
    try:
        outcome = _apply(conn, row, hooks, now)
    except Exception as exc:  # the delivery is marked failed; the batch goes on
        savepoint.rollback()
        outcome, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        log.warning("webhook delivery %s (%s) failed: %s", row.id, row.topic, error)
    else:
        savepoint.commit()
    setattr(counts, outcome, getattr(counts, outcome) + 1)
    conn.execute(
        sa.update(webhook_deliveries)
        .where(_d.id == row.id)
        .values(
            state="failed" if outcome == "failed" else "processed",
            body=None if outcome != "failed" else row.body,
            processed_at=now,
            error=error,
        )
    )


def _apply(conn: sa.Connection, row: Any, hooks: Sequence[AfterBatchHook], now: datetime) -> str:
    payload = orjson.loads(bytes(row.body))
    record = record_from_webhook(row.topic, payload)
    if record is None:
        return "other"
    if isinstance(record, UnreadableRecord):
        raise ValueError(f"unreadable {record.kind} {record.id}: {record.reason}")
    return apply_record(conn, row.shop_domain, record, hooks, now)


def apply_record(
    conn: sa.Connection,
    shop_domain: str,
    record: Customer | Order,
    hooks: Sequence[AfterBatchHook],
    now: datetime,
) -> str:
    """One Shopify object into each workspace of its shop, under the rules above;
    reconciliation applies what it reads through here too."""
    updated = _stamp(record.updated_at) or _stamp(record.created_at)
    if updated is not None and not _newest(conn, shop_domain, record.id, updated):
        return "stale"
    connections = conn.execute(
        sa.select(
            shop_connections.c.id, shop_connections.c.workspace_id, shop_connections.c.connected_at
        )
        .where(shop_connections.c.shop_domain == shop_domain)
        .order_by(shop_connections.c.id)
    ).all()
    applied = False
    for connection in connections:
        if isinstance(record, Order) and _before(record.created_at, connection.connected_at):
            continue
        ctx = LoadContext(
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            backfill_id=None,
            historical=False,
            now=now,
        )
        result = load_batch(conn, ctx, [record])
        for hook in hooks:
            hook(conn, ctx, result)
        applied = True
    if updated is not None:
        _remember(conn, shop_domain, record.id, updated)
    return "applied" if applied or not isinstance(record, Order) else "backfills"


def _stamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.astimezone(UTC) if stamp.tzinfo else None


def _before(created_at: str, connected_at: datetime) -> bool:
    created = _stamp(created_at)
    seam = connected_at if connected_at.tzinfo else connected_at.replace(tzinfo=UTC)
    return created is not None and created < seam


def _newest(conn: sa.Connection, shop: str, object_id: str, updated: datetime) -> bool:
    """Whether ``updated`` is not older than what was applied for this object."""
    applied = conn.execute(
        sa.select(live_versions.c.updated_at).where(
            live_versions.c.shop_domain == shop, live_versions.c.object_id == object_id
        )
    ).scalar_one_or_none()
    return applied is None or updated >= applied


def _remember(conn: sa.Connection, shop: str, object_id: str, updated: datetime) -> None:
    statement = upsert(conn, live_versions).values(
        shop_domain=shop, object_id=object_id, updated_at=updated
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["shop_domain", "object_id"],
            set_={"updated_at": statement.excluded.updated_at},
        )
    )
