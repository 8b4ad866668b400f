"""Where a backfill goes: the Braze destinations built from the settings and the store.

The job knows a destination only by ``backfill.ports.Destination``; a backfill started
with a Braze destination gets one built here per run: the target loaded (key decrypted)
from the store, a client over httpx, and one rate limit shared by every worker through
Redis when the deployment has one.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from shopify_backfill.backfill.ports import Destination, DestinationFactory
from shopify_backfill.destinations.braze.client import BrazeClient
from shopify_backfill.destinations.braze.destination import BrazeDestination
from shopify_backfill.destinations.braze.limiter import RequestLimiter, limit_key
from shopify_backfill.destinations.braze.packing import MAX_OBJECTS
from shopify_backfill.destinations.braze.registry import (
    BrazeTarget,
    add_destination,
    load_destination,
    validate_endpoint,
    validate_key,
)
from shopify_backfill.shopify.retry import RetryPolicy
from shopify_backfill.wiring.services import Services


def braze_destinations(
    services: Services,
    *,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> DestinationFactory:
    """The factory ``RunOptions.destinations`` calls with (workspace id, destination id).

    ``transport`` reaches a Braze stand-in in process (tests, the demo).
    """
    settings = services.settings
    redis_url = settings.braze_rate_redis_url or settings.pacing_redis_url

    def client(target: BrazeTarget) -> BrazeClient:
        limiter = RequestLimiter(
            limit_key(target.rest_endpoint, target.api_key.get_secret_value()),
            requests=settings.braze_requests_per_window,
            window_seconds=settings.braze_window_seconds,
            redis_url=redis_url,
        )
        return BrazeClient(
            target.rest_endpoint, target.api_key, limiter, transport=transport, retry=retry
        )

    def factory(workspace_id: int, destination_id: int) -> Destination:
        with services.engine.connect() as conn:
            target = load_destination(
                conn, services.cipher, destination_id, workspace_id=workspace_id
            )
        return BrazeDestination(target, client, concurrency=settings.braze_concurrency)

    return factory


def add_braze_destination(
    services: Services,
    *,
    workspace_id: int,
    name: str,
    rest_endpoint: str,
    api_key: SecretStr,
    max_objects: int = MAX_OBJECTS,
    sms_group_id: str | None = None,
    check: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> BrazeTarget:
    """Prove the key on Braze (it works and has ``users.track``), then store it encrypted.

    The CLI and the partner page both add destinations through here, so neither can
    store a key that the first batch would find refused.
    """
    endpoint = validate_endpoint(rest_endpoint)
    key = validate_key(api_key)
    if check:
        limiter = RequestLimiter(
            limit_key(endpoint, key.get_secret_value()),
            requests=services.settings.braze_requests_per_window,
            window_seconds=services.settings.braze_window_seconds,
        )
        retry = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=2.0)
        with BrazeClient(endpoint, key, limiter, transport=transport, retry=retry) as client:
            client.check_key()
    with services.engine.begin() as conn:
        return add_destination(
            conn,
            services.cipher,
            workspace_id=workspace_id,
            name=name,
            rest_endpoint=endpoint,
            api_key=key,
            max_objects=max_objects,
            sms_group_id=sms_group_id,
        )
