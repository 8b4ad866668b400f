"""Paginated extraction: the same records as bulk, through cost-paced cursor pages.

Used for small stores (bulk's start-up cost dominates) and when bulk is unavailable.
Page sizes are the largest that keep a query's requested cost under Shopify's 1,000-point
cap; an order with more line items or shipping lines than one page holds has them paged
separately, so nothing is cut off at a page boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from shopify_backfill.shopify import queries
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.cost import estimate_cost
from shopify_backfill.shopify.errors import PayloadError
from shopify_backfill.shopify.records import Customer, LineItem, Order, ShippingLine

MAX_QUERY_COST = 1_000
NESTED_LINE_ITEMS = 250
NESTED_SHIPPING_LINES = 50


class PageInfo(msgspec.Struct, rename="camel"):
    has_next_page: bool
    end_cursor: str | None = None


class _LineItems(msgspec.Struct, rename="camel"):
    nodes: list[LineItem]
    page_info: PageInfo


class _ShippingLines(msgspec.Struct, rename="camel"):
    nodes: list[ShippingLine]
    page_info: PageInfo


class _WireOrder(Order):
    """An order as a page carries it: children still wrapped in connections."""

    line_items: _LineItems | None = None  # type: ignore[assignment]
    shipping_lines: _ShippingLines | None = None  # type: ignore[assignment]


class _Orders(msgspec.Struct, rename="camel"):
    nodes: list[_WireOrder]
    page_info: PageInfo


class _OrdersData(msgspec.Struct):
    orders: _Orders


class _Customers(msgspec.Struct, rename="camel"):
    nodes: list[Customer]
    page_info: PageInfo


class _CustomersData(msgspec.Struct):
    customers: _Customers


class _OrderLineItems(msgspec.Struct, rename="camel"):
    line_items: _LineItems


class _OrderLineItemsData(msgspec.Struct):
    order: _OrderLineItems | None


class _OrderShippingLines(msgspec.Struct, rename="camel"):
    shipping_lines: _ShippingLines


class _OrderShippingLinesData(msgspec.Struct):
    order: _OrderShippingLines | None


def largest_page(query: str, variables: dict[str, Any], name: str = "first") -> int:
    """Biggest ``first`` (at most 250) whose estimated cost stays under the cap."""
    for size in range(250, 0, -1):
        if estimate_cost(query, {**variables, name: size}) <= MAX_QUERY_COST:
            return size
    raise PayloadError(f"even one node of {name!r} costs more than {MAX_QUERY_COST} points")


@dataclass
class Page:
    records: list[Customer] | list[Order]
    end_cursor: str | None
    has_next: bool


class PagedReader:
    """Reads one window page by page; a cursor is the whole checkpoint."""

    def __init__(
        self,
        client: AdminClient,
        *,
        orders_search: str,
        customers_search: str,
        max_page: int = 250,
    ) -> None:
        self.client = client
        self.customers_search = customers_search
        nested = {"lineItemsFirst": NESTED_LINE_ITEMS, "shippingFirst": NESTED_SHIPPING_LINES}
        self._order_vars: dict[str, Any] = {"query": orders_search, **nested}
        self.orders_first = min(max_page, largest_page(queries.ORDERS_PAGE_QUERY, self._order_vars))
        self.customers_first = min(
            max_page, largest_page(queries.CUSTOMERS_PAGE_QUERY, {"query": customers_search})
        )
        self.line_items_first = largest_page(queries.ORDER_LINE_ITEMS_QUERY, {"id": "x"})
        self.shipping_first = largest_page(queries.ORDER_SHIPPING_LINES_QUERY, {"id": "x"})

    def customer_pages(self, after: str | None) -> Iterator[Page]:
        while True:
            variables = {
                "first": self.customers_first,
                "after": after,
                "query": self.customers_search,
            }
            data = self.client.data(queries.CUSTOMERS_PAGE_QUERY, variables, _CustomersData)
            info = data.customers.page_info
            yield Page(data.customers.nodes, info.end_cursor, info.has_next_page)
            if not info.has_next_page:
                return
            after = _next_cursor(info, "customers")

    def order_pages(self, after: str | None) -> Iterator[Page]:
        while True:
            variables = {**self._order_vars, "first": self.orders_first, "after": after}
            data = self.client.data(queries.ORDERS_PAGE_QUERY, variables, _OrdersData)
            info = data.orders.page_info
            orders = [self._assemble(wire) for wire in data.orders.nodes]
            yield Page(orders, info.end_cursor, info.has_next_page)
            if not info.has_next_page:
                return
            after = _next_cursor(info, "orders")

    def _assemble(self, wire: _WireOrder) -> Order:
        fields = msgspec.structs.asdict(wire)
        items = wire.line_items
        fields["line_items"] = [] if items is None else list(items.nodes)
        if items is not None and items.page_info.has_next_page:
            fields["line_items"].extend(self._more_line_items(wire.id, items.page_info))
        shipping = wire.shipping_lines
        fields["shipping_lines"] = [] if shipping is None else list(shipping.nodes)
        if shipping is not None and shipping.page_info.has_next_page:
            fields["shipping_lines"].extend(self._more_shipping(wire.id, shipping.page_info))
        return Order(**fields)

    def _more_line_items(self, order_id: str, info: PageInfo) -> Iterator[LineItem]:
        while info.has_next_page:
            after = _next_cursor(info, "line items")
            variables = {"id": order_id, "first": self.line_items_first, "after": after}
            data = self.client.data(queries.ORDER_LINE_ITEMS_QUERY, variables, _OrderLineItemsData)
            if data.order is None:
                raise PayloadError(f"order {order_id} vanished while its line items were paged")
            yield from data.order.line_items.nodes
            info = data.order.line_items.page_info

    def _more_shipping(self, order_id: str, info: PageInfo) -> Iterator[ShippingLine]:
        while info.has_next_page:
            after = _next_cursor(info, "shipping lines")
            variables = {"id": order_id, "first": self.shipping_first, "after": after}
            data = self.client.data(
                queries.ORDER_SHIPPING_LINES_QUERY, variables, _OrderShippingLinesData
            )
            if data.order is None:
                raise PayloadError(f"order {order_id} vanished while its shipping was paged")
            yield from data.order.shipping_lines.nodes
            info = data.order.shipping_lines.page_info


def _next_cursor(info: PageInfo, what: str) -> str:
    if info.end_cursor is None:
        raise PayloadError(f"Shopify said more {what} follow but gave no cursor")
    return info.end_cursor
