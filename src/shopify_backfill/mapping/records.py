"""Dispatch: any extracted record to its mapped form, never raising for bad data."""

from __future__ import annotations

from collections.abc import Iterable

from shopify_backfill.mapping.customers import excerpt, map_customer
from shopify_backfill.mapping.intents import (
    CustomerIntent,
    MappedRecord,
    MappingOptions,
    Rejected,
)
from shopify_backfill.mapping.normalize import MappingError
from shopify_backfill.mapping.orders import CustomerMapper, display_id, map_order
from shopify_backfill.shopify.records import Customer, Order, SourceRecord, UnreadableRecord


def map_record(
    record: SourceRecord, options: MappingOptions, customers: CustomerMapper = map_customer
) -> MappedRecord:
    """Map one record; malformed input becomes a ``Rejected`` value, not an exception."""
    if isinstance(record, UnreadableRecord):
        if record.kind == "order":
            return Rejected("order", display_id(record.id), record.reason, record.excerpt)
        return Rejected("customer", record.id, record.reason, record.excerpt)
    if isinstance(record, Order):
        return map_order(record, options, customers)
    try:
        return customers(record, options)
    except MappingError as error:
        return Rejected("customer", record.id, str(error), excerpt(record))


def map_records(records: Iterable[SourceRecord], options: MappingOptions) -> list[MappedRecord]:
    """Map a batch, each distinct customer payload once.

    A customer comes back inline on every order it placed, usually identical to its own
    record; mapping is pure, so an equal payload maps to an equal intent. Reusing the
    very same intent object also lets the loader recognise a repeat at no cost.
    """
    memo = CustomerMemo()
    return [map_record(record, options, memo) for record in records]


class CustomerMemo:
    """``map_customer`` remembering the last payload of each customer id.

    Hits are decided by payload equality (msgspec compares every field, in C), never by
    id alone: an inline copy with fewer or different fields is mapped on its own.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str, tuple[Customer, MappingOptions, CustomerIntent | str]] = {}

    def __call__(self, customer: Customer, options: MappingOptions) -> CustomerIntent:
        last = self._last.get(customer.id)
        if last is not None and last[1] == options and last[0] == customer:
            outcome = last[2]
        else:
            try:
                outcome = map_customer(customer, options)
            except MappingError as error:
                self._last[customer.id] = (customer, options, str(error))
                raise
            self._last[customer.id] = (customer, options, outcome)
        if isinstance(outcome, str):
            raise MappingError(outcome)
        return outcome
