"""The window's records for the audit's dry run, read the way the backfill reads them.

Same ``Extractor``, same mode rule, same batch size as the runner: identity resolution is
record-order dependent at the margins (ties, exception triggers), so the dry run must
see the records in the order the real run will.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from shopify_backfill.clock import Clock, SystemClock
from shopify_backfill.config import Settings
from shopify_backfill.shopify.bulk import BulkPolicy
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.extract import ExtractionCheckpoint, ExtractionMode, Extractor
from shopify_backfill.shopify.records import Customer, Order, UnreadableRecord
from shopify_backfill.window import Window


def window_records(
    client: AdminClient,
    window: Window,
    mode: ExtractionMode,
    settings: Settings,
    *,
    clock: Clock | None = None,
    bulk_policy: BulkPolicy | None = None,
) -> Iterator[list[Customer | Order]]:
    """Every batch of the window, customers then orders; bulk staging in a temp folder."""
    with tempfile.TemporaryDirectory(prefix="audit-staging-") as folder:
        extractor = Extractor(
            client,
            window_start=window.start,
            window_end=window.end,
            staging_path=Path(folder) / "staging.sqlite",
            clock=clock or client.clock or SystemClock(),
            batch_size=settings.batch_size,
            bulk_policy=bulk_policy
            or BulkPolicy(
                poll_initial=settings.bulk_poll_seconds, poll_max=settings.bulk_poll_max_seconds
            ),
        )
        for batch in extractor.batches(ExtractionCheckpoint(mode=mode)):
            # A line the run will quarantine can trigger nothing: the dry run skips it.
            readable = [r for r in batch.records if not isinstance(r, UnreadableRecord)]
            if readable:
                yield readable
