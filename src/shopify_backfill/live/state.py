"""Where live sync of one shop stands, read from the store for a marketer's eyes.

The partner page's "Live sync" panel, the store's JSON in the API and ``shopify-backfill
live status`` all read it here, so the three agree: whether live sync is on (a connection
of the shop still holds a token; ``app/uninstalled`` drops it), the last delivery
received, the lag (how long the oldest delivery not yet applied has waited), the failures
of the last day with the latest reason shortened, and the reconciled point. Only reads;
no payload ever leaves this module (a failure's reason is cut to its first words, with
anything that looks like an email or a phone number masked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from shopify_backfill.live.tables import live_sync_state, webhook_deliveries
from shopify_backfill.profiles.schema import shop_connections

FAILURE_WINDOW: Final = timedelta(hours=24)
REASON_CHARS: Final = 120

TOPIC_WORDS: Final = {
    "orders/create": "Order created",
    "orders/updated": "Order updated",
    "customers/create": "Customer created",
    "customers/update": "Customer updated",
    "app/uninstalled": "App uninstalled",
    "customers/data_request": "Customer data requested",
    "customers/redact": "Customer deletion requested",
    "shop/redact": "Store data deletion requested",
}

RECONCILE_SENTENCE: Final = (
    "Shopify does not promise to deliver every event. Every few minutes, reconciliation "
    "reads from Shopify the customers and orders changed since this point and applies "
    "any it did not send; what already arrived is not applied twice."
)

_d = webhook_deliveries.c
_EMAIL = re.compile(r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;:]+")
_PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")
_PAYLOAD = re.compile(r"\s*(?:\[type=|input_value=|\{|\n).*", re.DOTALL)
_EXCEPTION = re.compile(r"^[A-Z]\w*(?:Error|Exception): ")


def topic_words(topic: str) -> str:
    """``orders/create`` as "Order created"; an unknown topic in its own words."""
    return TOPIC_WORDS.get(topic, topic.replace("/", " ").replace("_", " ").capitalize())


def short_reason(error: str | None) -> str | None:
    """A recorded failure as a marketer may read it: the exception's class name dropped,
    cut before anything that echoes the payload (a dict, a validation error's input),
    emails and phones masked, at most ``REASON_CHARS`` characters."""
    if not error:
        return None
    text = _PAYLOAD.sub("", _EXCEPTION.sub("", error.strip()))
    text = _PHONE.sub("[phone]", _EMAIL.sub("[email]", text)).strip()
    if len(text) > REASON_CHARS:
        text = text[: REASON_CHARS - 1].rstrip() + "…"
    return text or "the delivery could not be applied"


def elapsed_words(seconds: float) -> str:
    """``12 seconds``, ``5 minutes``, ``3 hours``, ``2 days``: a lag or an age in words."""
    total = max(0, int(seconds))
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if total >= size:
            count = total // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{total} second{'' if total == 1 else 's'}"


@dataclass(frozen=True)
class LiveSyncState:
    """One shop's live sync at ``now``."""

    shop_domain: str
    now: datetime
    connected: bool
    """A connection (of the workspace asked about, or any) exists for the shop."""
    has_token: bool
    """It still holds a token: ``app/uninstalled`` clears it, and live sync stops."""
    last_topic: str | None
    last_received_at: datetime | None
    pending: int
    oldest_pending_at: datetime | None
    failures: int
    """Deliveries that failed in the last ``FAILURE_WINDOW``."""
    latest_failure_at: datetime | None
    latest_failure_reason: str | None
    reconciled_through: datetime | None

    @property
    def on(self) -> bool:
        return self.connected and self.has_token

    @property
    def status_words(self) -> str:
        if self.on:
            return "On"
        if self.connected:
            return "Off: the app was uninstalled from the store"
        return "Off: the store is not connected"

    @property
    def last_topic_words(self) -> str | None:
        return topic_words(self.last_topic) if self.last_topic else None

    @property
    def lag_seconds(self) -> float:
        """How long the oldest delivery not yet applied has waited; 0 when none waits."""
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (self.now - self.oldest_pending_at).total_seconds())

    @property
    def up_to_date(self) -> bool:
        return self.pending == 0

    @property
    def lag_words(self) -> str:
        if self.up_to_date:
            return "Up to date"
        waiting = f"{self.pending} event{'' if self.pending == 1 else 's'} waiting"
        return f"{elapsed_words(self.lag_seconds)} behind ({waiting})"

    def to_json(self) -> dict[str, Any]:
        def stamp(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "on": self.on,
            "status": self.status_words,
            "last_event": None
            if self.last_topic is None
            else {
                "topic": self.last_topic,
                "label": self.last_topic_words,
                "received_at": stamp(self.last_received_at),
            },
            "pending": self.pending,
            "lag_seconds": round(self.lag_seconds, 3),
            "up_to_date": self.up_to_date,
            "failures_last_24h": self.failures,
            "latest_failure": None
            if self.latest_failure_at is None
            else {"at": stamp(self.latest_failure_at), "reason": self.latest_failure_reason},
            "reconciled_through": stamp(self.reconciled_through),
        }


def read_live_sync(
    conn: sa.Connection, shop_domain: str, *, now: datetime, workspace_id: int | None = None
) -> LiveSyncState:
    """The shop's live sync as of ``now`` (aware); ``workspace_id`` narrows "connected"
    to that workspace's connection (deliveries are the shop's, shared by its workspaces)."""
    connections = sa.select(
        sa.func.count(), sa.func.count(shop_connections.c.access_token_encrypted)
    ).where(shop_connections.c.shop_domain == shop_domain)
    if workspace_id is not None:
        connections = connections.where(shop_connections.c.workspace_id == workspace_id)
    connected, with_token = conn.execute(connections).one()
    shop = _d.shop_domain == shop_domain
    last = conn.execute(
        sa.select(_d.topic, _d.received_at)
        .where(shop)
        .order_by(_d.received_at.desc(), _d.id.desc())
    ).first()
    pending, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(_d.received_at)).where(shop, _d.state == "pending")
    ).one()
    failed_at = sa.func.coalesce(_d.processed_at, _d.received_at)
    recent = sa.and_(shop, _d.state == "failed", failed_at >= now - FAILURE_WINDOW)
    failures = conn.execute(sa.select(sa.func.count()).where(recent)).scalar_one()
    latest = conn.execute(
        sa.select(_d.error, _d.processed_at, _d.received_at)
        .where(recent)
        .order_by(failed_at.desc(), _d.id.desc())
    ).first()
    reconciled = conn.execute(
        sa.select(live_sync_state.c.reconciled_through).where(
            live_sync_state.c.shop_domain == shop_domain
        )
    ).scalar_one_or_none()
    return LiveSyncState(
        shop_domain=shop_domain,
        now=now,
        connected=bool(connected),
        has_token=bool(with_token),
        last_topic=last.topic if last else None,
        last_received_at=last.received_at if last else None,
        pending=int(pending),
        oldest_pending_at=oldest,
        failures=int(failures),
        latest_failure_at=(latest.processed_at or latest.received_at) if latest else None,
        latest_failure_reason=short_reason(latest.error) if latest else None,
        reconciled_through=reconciled,
    )
