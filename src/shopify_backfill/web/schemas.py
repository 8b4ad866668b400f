"""Request bodies of the JSON API; their field names are the ones errors point at.

Text fields carry the limits of ``limits.py``, so the API refuses what the forms refuse.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shopify_backfill.web.limits import DESTINATION, KEY_NAME, MARK_READ_IDS, SHOP, TOKEN


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectToken(_Body):
    shop: str = Field(
        max_length=SHOP.limit,
        description="The store's permanent domain, e.g. my-store.myshopify.com",
    )
    token: SecretStr = Field(
        max_length=TOKEN.limit, description="Admin API access token of the store's custom app"
    )


class ConnectOAuth(_Body):
    shop: str = Field(
        max_length=SHOP.limit,
        description="The store's permanent domain, e.g. my-store.myshopify.com",
    )


class StartBackfill(_Body):
    enable: bool = Field(description="The wizard's 'Backfill historical Shopify data' toggle")
    acknowledge_runs_once: bool = Field(
        description="Explicit acknowledgement that the backfill runs only once for this store"
    )
    destination: str | None = Field(
        default=None,
        max_length=DESTINATION.limit,
        description="The name of one of the workspace's Braze destinations (GET "
        "/destinations) to deliver to instead of the embedded profile store; omitted or "
        "null: the profile store",
    )


class MarkRead(_Body):
    ids: list[int] | None = Field(
        default=None,
        max_length=MARK_READ_IDS,
        description="Notifications to mark read; all unread ones when omitted",
    )


class NewApiKey(_Body):
    name: str = Field(min_length=1, max_length=KEY_NAME.limit, description="What the key is for")


class SwitchRiskMode(_Body):
    mode: str = Field(
        max_length=32,
        description="'silent' (the default: historical data triggers nothing) or "
        "'seed_compatible' (only start times and pauses protect campaigns)",
    )


class ChooseFix(_Body):
    action: str = Field(
        max_length=32,
        description="'move_start' (start time to the connection; only where the audit "
        "offers it), 'pause' (during the backfill) or 'leave' (no change)",
    )


# ----------------------------------------------------------------------------- answers


class StoreBackfillJson(BaseModel):
    id: int | None = Field(description="The store's backfill, once the wizard created it")
    status: str
    status_label: str
    failure_reason: str | None


class LastEventJson(BaseModel):
    topic: str = Field(description="Shopify's webhook topic, e.g. orders/create")
    label: str = Field(description="The topic in words, e.g. 'Order created'")
    received_at: str = Field(description="When the page received it (ISO 8601, UTC)")


class LatestFailureJson(BaseModel):
    at: str = Field(description="When applying it failed (ISO 8601, UTC)")
    reason: str | None = Field(description="The reason, shortened; never the payload")


class LiveSyncJson(BaseModel):
    """Live sync after the connection (docs/live.md), as ``live.state`` reads it."""

    on: bool = Field(description="Connected with a token; false after app/uninstalled")
    status: str = Field(description="'On', or why it is off, in words")
    last_event: LastEventJson | None = Field(description="The last delivery received")
    pending: int = Field(description="Deliveries received and not applied yet")
    lag_seconds: float = Field(description="Now minus the oldest pending delivery; 0 if none")
    up_to_date: bool = Field(description="Nothing is pending")
    failures_last_24h: int = Field(description="Deliveries that failed in the last 24 hours")
    latest_failure: LatestFailureJson | None
    reconciled_through: str | None = Field(
        description="Reconciliation has read every change up to this time (ISO 8601, UTC)"
    )


class StoreJson(BaseModel):
    id: int
    shop: str
    connected_at: str
    granted_scopes: list[str]
    missing_scopes: list[str]
    reauthorization_required: bool
    backfill: StoreBackfillJson
    live_sync: LiveSyncJson
