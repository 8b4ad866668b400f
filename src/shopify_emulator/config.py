"""Knobs of one emulator instance: the app it recognises, what the store grants, timings, faults.

Kept apart from the product's ``Settings``: the emulator plays Shopify, so its secrets are
Shopify's side of the handshake and tests build many differently-shaped instances side by
side. Every field has a default that behaves like a healthy, fully-approved store.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopify_emulator.scopes import KNOWN_SCOPES, unknown_scopes
from shopify_emulator.versions import UNSTABLE, is_version_name

Plan = Literal["standard", "advanced", "plus", "enterprise"]

DEFAULT_GRANTABLE_SCOPES: tuple[str, ...] = KNOWN_SCOPES
"""A store that approves whatever an app asks for; narrow it to model a merchant who won't."""

BulkOutcome = Literal["FAILED", "TIMEOUT", "ACCESS_DENIED", "EXPIRED", "PARTIAL"]
"""How a bulk job forced by a fault ends; ``PARTIAL`` is FAILED with a ``partialDataUrl``."""


class FaultPlan(BaseModel):
    """Failure switches; every random draw comes from ``seed`` so runs are reproducible."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    server_error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    reset_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_seconds: float = Field(default=0.0, ge=0.0, le=60.0)
    force_throttle: bool = False
    bulk_outcomes: tuple[BulkOutcome, ...] = ()
    """The next bulk jobs end this way, one entry per job, in order."""
    partial_fraction: float = Field(default=0.5, gt=0.0, lt=1.0)
    """Share of rows written to the partial file of a ``PARTIAL`` job."""
    download_cut_after_bytes: int | None = Field(default=None, ge=0)
    """Bulk downloads end abruptly after this many bytes of the body."""
    paths: tuple[str, ...] = ("/admin/api/",)
    """Path prefixes the per-request faults (5xx, resets, latency) apply to."""
    webhook_duplicates: bool = False
    """Send every webhook delivery twice (same ``X-Shopify-Webhook-Id``), as Shopify may."""
    webhook_reorder_window: int = Field(default=0, ge=0, le=1000)
    """Shuffle deliveries in groups of this many (2 or more), so they arrive out of order."""
    webhook_drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of deliveries never sent (recorded as ``dropped``): a receiver must reconcile."""


class EmulatorConfig(BaseModel):
    """Everything an emulator instance needs besides its store and schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = "shopify-backfill-app"
    client_secret: str = "emulator-app-secret"  # noqa: S105 - the emulator's well-known default
    admin_secret: str = "emulator-admin-secret"  # noqa: S105
    """Guards ``/emulator/*`` admin routes (header ``X-Emulator-Admin``)."""
    plan: Plan | None = None
    """Overrides the store's plan for rate limits; ``None`` uses the store's."""
    grantable_scopes: tuple[str, ...] = DEFAULT_GRANTABLE_SCOPES
    """What the store lets an app have; requested scopes outside it are not granted."""
    seed_token: str | None = None
    """Fixed value for the custom-app token minted at start (random when ``None``)."""
    seed_token_scopes: tuple[str, ...] | None = None
    """Scopes of that token; ``None`` grants every grantable scope."""
    protected_customer_data_approved: bool = True
    api_versions: tuple[str, ...] | None = None
    """Stable versions served; ``None`` computes Shopify's set from the store's clock
    (``versions.versions_at(store.now)``: four stable versions, the release candidate
    and ``unstable``). A tuple pins the stable set, e.g. for a test of one version."""
    bulk_start_delay_seconds: float = Field(default=0.0, ge=0.0, le=600.0)
    """Time a bulk job sits in CREATED before running: bulk's fixed start-up cost."""
    bulk_url_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    bulk_concurrency_limit: int = Field(default=5, ge=1)
    bulk_reuse_results: bool = False
    """Serve a bulk query rendered before (same text, visibility and layout) from its file
    instead of rendering it again: benchmarks measure the client, not the emulator.
    Faithful timing (a job that takes as long as its output) stays the default."""
    oauth_code_ttl_seconds: int = Field(default=600, ge=1)
    oauth_consent: Literal["auto", "screen"] = "auto"
    """``auto``: ``/admin/oauth/authorize`` approves at once (302 to the callback), for tests
    that drive the handshake with httpx. ``screen``: it shows Shopify's consent page (the
    app, the shop, the scopes in words, **Install** / **Cancel**), as ``emulator serve``
    does by default, so a browser walks the real flow."""
    app_title: str = "shopify-backfill"
    """The app's name on the consent screen."""
    allowed_redirect_uris: tuple[str, ...] = ()
    """Prefixes an OAuth ``redirect_uri`` must start with; empty accepts any http(s) URL."""
    faults: FaultPlan = FaultPlan()
    webhook_api_version: str = "2026-07"
    """The app's webhook API version (``X-Shopify-API-Version`` of every delivery)."""
    webhook_timeout_seconds: float = Field(default=5.0, gt=0.0, le=60.0)
    """How long a delivery waits for the receiver's answer (Shopify: 5 s)."""
    webhook_retry_delays_seconds: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
    """Waits before each retry of a delivery answered non-2xx or not at all; Shopify retries
    8 times over 4 hours with exponential backoff, tests use a short schedule."""
    webhook_reorder_wait_seconds: float = Field(default=0.5, ge=0.0, le=60.0)
    """How long a reorder window waits to fill before the deliveries it has are shuffled."""
    privacy_webhook_uri: str | None = None
    """The app's privacy (GDPR) address: ``customers/data_request``, ``customers/redact``
    and ``shop/redact`` are set in the app's configuration, not by mutation."""

    @field_validator("api_versions")
    @classmethod
    def _version_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        stable = [name for name in value if name != UNSTABLE]
        if not stable or not all(is_version_name(name) for name in stable):
            msg = f"api_versions {value!r} must name stable versions like 2026-07"
            raise ValueError(msg)
        return value

    @field_validator("grantable_scopes", "seed_token_scopes")
    @classmethod
    def _scope_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = unknown_scopes(value or ())
        if unknown:
            msg = (
                f"{', '.join(map(repr, unknown))} is not a Shopify access scope; use names"
                " from https://shopify.dev/docs/api/usage/access-scopes (e.g. read_orders)"
            )
            raise ValueError(msg)
        return value
