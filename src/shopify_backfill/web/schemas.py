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
