"""The embedded profile store as a destination: ``profiles.writes.load_batch`` itself.

The writes share the batch's transaction with its checkpoint, which is what makes a
resume exact; nothing is buffered here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shopify_backfill.profiles.results import LoadResult
from shopify_backfill.profiles.writes import LoadContext, load_batch
from shopify_backfill.shopify.records import SourceRecord


@dataclass(frozen=True)
class EmbeddedDestination:
    """Identity resolution, attributes, events, purchases and subscriptions in SQL."""

    name: str = "embedded"
    data_workspace_id: int | None = None

    def write(
        self, conn: sa.Connection, ctx: LoadContext, records: Sequence[SourceRecord]
    ) -> LoadResult:
        return load_batch(conn, ctx, records)

    def prepare(self, engine: sa.Engine, backfill_id: int) -> None:
        """Nothing to check: the store is the run's own database."""

    def deliver(self, engine: sa.Engine, backfill_id: int, *, final: bool) -> None:
        """Nothing to send: the batch's writes are its delivery."""

    def unfinished(self, conn: sa.Connection, backfill_id: int) -> int:
        return 0

    def summary(self, conn: sa.Connection, backfill_id: int) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        """Holds nothing."""
