"""Extraction of one backfill window as batches of typed records with checkpoints.

Every batch carries the checkpoint reached *after* it, so the caller can commit the batch's
writes and the checkpoint in one transaction: a crash between batches resumes exactly
after the last committed one. The mode (bulk or paginated) is fixed in the first
checkpoint, so a resume never switches strategy half-way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

import msgspec

from shopify_backfill.clock import Clock
from shopify_backfill.shopify import queries
from shopify_backfill.shopify.bulk import BulkPolicy, BulkRunner, BulkStream
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.paginate import PagedReader
from shopify_backfill.shopify.records import (
    Customer,
    LineItem,
    Order,
    ShippingLine,
    SourceRecord,
    UnreadableRecord,
)
from shopify_backfill.shopify.staging import Staging

Kind = Literal["customers", "orders"]
ExtractionMode = Literal["bulk", "paginated"]
"""How a backfill reads Shopify; chosen once and kept in the checkpoint."""
EXTRACTION_MODES: tuple[ExtractionMode, ...] = get_args(ExtractionMode)
KINDS: tuple[Kind, ...] = ("customers", "orders")


class StreamCheckpoint(msgspec.Struct):
    done: bool = False
    cursor: str | None = None
    """Paginated: the cursor after the last committed page."""
    emitted_seq: int = 0
    """Bulk: the staged sequence number of the last committed root."""
    emitted: int = 0


class ExtractionCheckpoint(msgspec.Struct):
    mode: ExtractionMode
    customers: StreamCheckpoint = msgspec.field(default_factory=StreamCheckpoint)
    orders: StreamCheckpoint = msgspec.field(default_factory=StreamCheckpoint)

    def stream(self, kind: Kind) -> StreamCheckpoint:
        return self.customers if kind == "customers" else self.orders

    def encode(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def decode(cls, raw: bytes | str) -> ExtractionCheckpoint:
        return msgspec.json.decode(raw, type=cls)

    def copy(self) -> ExtractionCheckpoint:
        return ExtractionCheckpoint.decode(self.encode())


@dataclass(frozen=True)
class Batch:
    kind: Kind
    records: Sequence[SourceRecord]
    checkpoint: ExtractionCheckpoint


class _TypeHead(msgspec.Struct, rename={"typename": "__typename"}):
    typename: str | None = None


_customer_decoder = msgspec.json.Decoder(Customer)
_order_decoder = msgspec.json.Decoder(Order)
_line_item_decoder = msgspec.json.Decoder(LineItem)
_shipping_decoder = msgspec.json.Decoder(ShippingLine)
_head_decoder = msgspec.json.Decoder(_TypeHead)

ProgressHook = Callable[[str, str, int], None]


class Extractor:
    """Yields the window's customers then orders, resuming from a checkpoint."""

    def __init__(
        self,
        client: AdminClient,
        *,
        window_start: datetime,
        window_end: datetime,
        staging_path: Path,
        clock: Clock,
        batch_size: int = 500,
        bulk_policy: BulkPolicy | None = None,
        on_bulk_progress: ProgressHook | None = None,
    ) -> None:
        self.client = client
        self.orders_search = queries.window_filter(window_start, window_end)
        self.customers_search = queries.customer_window_filter(window_start, window_end)
        self.staging_path = staging_path
        self.clock = clock
        self.batch_size = batch_size
        self.bulk_policy = bulk_policy
        self.on_bulk_progress = on_bulk_progress

    def batches(self, checkpoint: ExtractionCheckpoint) -> Iterator[Batch]:
        state = checkpoint.copy()
        if state.mode == "bulk":
            yield from self._bulk(state)
        else:
            yield from self._paginated(state)

    def _paginated(self, state: ExtractionCheckpoint) -> Iterator[Batch]:
        reader = PagedReader(
            self.client,
            orders_search=self.orders_search,
            customers_search=self.customers_search,
            max_page=self.batch_size,
        )
        for kind in KINDS:
            stream = state.stream(kind)
            if stream.done:
                continue
            pages = (
                reader.customer_pages(stream.cursor)
                if kind == "customers"
                else reader.order_pages(stream.cursor)
            )
            for page in pages:
                stream.cursor = page.end_cursor or stream.cursor
                stream.emitted += len(page.records)
                stream.done = not page.has_next
                yield Batch(kind, page.records, state.copy())
            if not stream.done:
                stream.done = True
                yield Batch(kind, [], state.copy())

    def _bulk(self, state: ExtractionCheckpoint) -> Iterator[Batch]:
        staging = Staging(self.staging_path)
        try:
            runner = BulkRunner(
                self.client, staging, self.clock, self.bulk_policy, self.on_bulk_progress
            )
            streams = {
                "customers": BulkStream(
                    "customers",
                    queries.bulk_customers_query,
                    self.customers_search,
                    time_field="customer_date",
                ),
                "orders": BulkStream("orders", queries.bulk_orders_query, self.orders_search),
            }
            pending = [kind for kind in KINDS if not state.stream(kind).done]
            for kind in pending:
                runner.start(streams[kind])
            for kind in pending:
                runner.finish(streams[kind])
                yield from self._emit(staging, kind, state)
        finally:
            staging.close()

    def _emit(self, staging: Staging, kind: Kind, state: ExtractionCheckpoint) -> Iterator[Batch]:
        stream = state.stream(kind)
        while True:
            roots = staging.roots_after(kind, stream.emitted_seq, self.batch_size)
            if not roots:
                break
            records: list[SourceRecord]
            if kind == "customers":
                records = [_customer(root.gid, root.body) for root in roots]
            else:
                children = staging.children(kind, [root.gid for root in roots])
                records = [
                    _readable_order(root.gid, root.body, children.get(root.gid, ()))
                    for root in roots
                ]
            stream.emitted_seq = roots[-1].seq
            stream.emitted += len(records)
            yield Batch(kind, records, state.copy())
        stream.done = True
        yield Batch(kind, [], state.copy())


EXCERPT_BYTES = 200
"""How much of a line that cannot be read is kept with its quarantine entry."""


def _excerpt(body: bytes) -> str:
    text = body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return text if len(body) <= EXCERPT_BYTES else text + "…"


def _customer(gid: str, body: bytes) -> Customer | UnreadableRecord:
    try:
        return _customer_decoder.decode(body)
    except msgspec.ValidationError as error:
        reason = f"a bulk customer line has an unexpected shape: {error}"
        return UnreadableRecord("customer", gid, reason, _excerpt(body))


def _readable_order(
    gid: str, body: bytes, children: list[bytes] | tuple[()]
) -> Order | UnreadableRecord:
    """The assembled order, or the line that spoilt it (its own or a child's), to quarantine.

    A child that cannot be read spoils its order: an order without one of its line items
    would be imported with the wrong purchases, so the whole order is quarantined.
    """
    line = body
    try:
        order = _order_decoder.decode(body)
        for line in children:
            typename = _head_decoder.decode(line).typename
            if typename == "LineItem":
                order.line_items.append(_line_item_decoder.decode(line))
            elif typename == "ShippingLine":
                order.shipping_lines.append(_shipping_decoder.decode(line))
            else:
                reason = f"unexpected child {typename!r} under order {order.id}"
                return UnreadableRecord("order", gid, reason, _excerpt(line))
    except msgspec.ValidationError as error:
        what = "order" if line is body else "order's child"
        reason = f"a bulk {what} line has an unexpected shape: {error}"
        return UnreadableRecord("order", gid, reason, _excerpt(line))
    return order
