"""Live sync put together: the app's webhook address, the hooks, the shop's client.

The CLI (``shopify-backfill live ...``), the partner page (after each recorded delivery,
and on connect) and a worker all go through ``LiveSync``, so the trigger engine sees live
events the same way whichever process applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa

from shopify_backfill.errors import InputError
from shopify_backfill.live.process import Processed, process_pending, process_privacy
from shopify_backfill.live.reconcile import Reconciled, reconcile
from shopify_backfill.live.subscriptions import SubscriptionReport, ensure_subscriptions
from shopify_backfill.profiles.connections import load_connection
from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.shopify.oauth import validate_shop_domain
from shopify_backfill.wiring.jobs import after_batch_hooks
from shopify_backfill.wiring.services import Services

WEBHOOK_PATH = "/webhooks/shopify"


@dataclass
class LiveSync:
    services: Services
    transport: httpx.BaseTransport | None = None
    """Reaches the Shopify stand-in in process (tests, the demo)."""

    @property
    def address(self) -> str:
        """Where Shopify sends this app's webhooks (from ``APP_URL``, never a request)."""
        return self.services.settings.app_url.rstrip("/") + WEBHOOK_PATH

    def subscribe(self, workspace_id: int, shop_domain: str) -> SubscriptionReport:
        with self.services.engine.connect() as conn:
            connection = load_connection(
                conn, self.services.cipher, workspace_id=workspace_id, shop_domain=shop_domain
            )
        with connection.client(transport=self.transport) as client:
            return ensure_subscriptions(client, self.address)

    def process(self) -> tuple[Processed, int]:
        """Apply what is pending: profile topics, then privacy and uninstall topics."""
        applied = process_pending(self.services.engine, hooks=after_batch_hooks(self.services))
        acted = process_privacy(self.services.engine, self.services.settings.data_dir / "privacy")
        return applied, acted

    def reconcile(self, shop_domain: str, until: datetime | None = None) -> Reconciled:
        """One pass for the shop, with the first workspace's connection (they share
        Shopify's data; each workspace of the shop gets what is read)."""
        domain = validate_shop_domain(shop_domain)
        with self.services.engine.connect() as conn:
            workspace_id = conn.execute(
                sa.select(shop_connections.c.workspace_id)
                .where(shop_connections.c.shop_domain == domain)
                .order_by(shop_connections.c.id)
                .limit(1)
            ).scalar_one_or_none()
        if workspace_id is None:
            raise InputError(
                f"{domain} is not connected: connect it first (`shopify-backfill connect`)"
            )
        with self.services.engine.connect() as conn:
            connection = load_connection(
                conn, self.services.cipher, workspace_id=workspace_id, shop_domain=domain
            )
        with connection.client(transport=self.transport) as client:
            return reconcile(
                self.services.engine,
                client,
                domain,
                until=until or datetime.now(UTC),
                hooks=after_batch_hooks(self.services),
            )
