"""Live sync: what Shopify sends after the connection (webhooks), taken in safely.

The backfill covers the 90 days before ``connected_at``; from then on, Shopify's webhooks
carry the store's new orders and customers. This package verifies and records each
delivery (``intake``) so the partner page can answer Shopify at once and the work is
done afterwards.
"""
