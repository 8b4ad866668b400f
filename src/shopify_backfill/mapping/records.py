"""Dispatch: any extracted record to its mapped form, never raising for bad data."""

from __future__ import annotations

from shopify_backfill.mapping.customers import excerpt, map_customer
from shopify_backfill.mapping.intents import MappedRecord, MappingOptions, Rejected
from shopify_backfill.mapping.normalize import MappingError
from shopify_backfill.mapping.orders import map_order
from shopify_backfill.shopify.records import Customer, Order


def map_record(record: Customer | Order, options: MappingOptions) -> MappedRecord:
    """Map one record; malformed input becomes a ``Rejected`` value, not an exception."""
    if isinstance(record, Order):
        return map_order(record, options)
    try:
        return map_customer(record, options)
    except MappingError as error:
        return Rejected("customer", record.id, str(error), excerpt(record))
