"""Request bodies of the JSON API; their field names are the ones errors point at."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectToken(_Body):
    shop: str = Field(description="The store's permanent domain, e.g. my-store.myshopify.com")
    token: SecretStr = Field(description="Admin API access token of the store's custom app")


class ConnectOAuth(_Body):
    shop: str = Field(description="The store's permanent domain, e.g. my-store.myshopify.com")


class StartBackfill(_Body):
    enable: bool = Field(description="The wizard's 'Backfill historical Shopify data' toggle")
    acknowledge_runs_once: bool = Field(
        description="Explicit acknowledgement that the backfill runs only once for this store"
    )


class MarkRead(_Body):
    ids: list[int] | None = Field(
        default=None, description="Notifications to mark read; all unread ones when omitted"
    )


class NewApiKey(_Body):
    name: str = Field(min_length=1, max_length=100, description="What the key is for")
