"""The partner page: connect a store, preview and start its backfill, follow it, read it.

``create_app(services, transport=None)`` builds the FastAPI app (server-rendered pages
plus the JSON API under ``/api/v1``); ``shopify-backfill serve`` runs it.
"""

from __future__ import annotations

from shopify_backfill.web.app import create_app

__all__ = ["create_app"]
