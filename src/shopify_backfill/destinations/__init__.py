"""Where a backfill's mapped records go: the embedded profile store today.

Each destination satisfies ``backfill.ports.Destination`` structurally (it does not import
the job); the composition root picks one per backfill.
"""

from __future__ import annotations

from shopify_backfill.destinations.embedded import EmbeddedDestination

__all__ = ["EmbeddedDestination"]
