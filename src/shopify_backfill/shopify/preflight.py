"""Preflight: everything that must hold before a backfill may start, checked in order.

Each failure is terminal and says what to do (reconnect, re-authorize, request protected
customer data access), so the merchant learns it before anything irreversible happens,
not from a half-finished run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import msgspec
from pydantic import SecretStr

from shopify_backfill.shopify import queries
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.oauth import fetch_access_scopes, missing_scopes
from shopify_backfill.shopify.records import ShopData


class _Count(msgspec.Struct):
    count: int
    precision: str


class _CountsData(msgspec.Struct, rename="camel"):
    customers_count: _Count | None
    orders_count: _Count | None


@dataclass(frozen=True)
class PreflightReport:
    shop_domain: str
    shop_name: str
    currency: str | None
    granted_scopes: tuple[str, ...]
    missing_scopes: tuple[str, ...]
    reauthorize_url: str | None
    customers_in_window: int | None
    orders_in_window: int | None
    counts_exact: bool
    window_start: datetime
    window_end: datetime
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing_scopes and not self.problems


def run_preflight(
    client: AdminClient,
    *,
    token: SecretStr,
    window_start: datetime,
    window_end: datetime,
    reauthorize_url: str | None,
    transport: httpx.BaseTransport | None = None,
) -> PreflightReport:
    """Token, scopes, protected customer data, then the window's counts.

    A missing scope is reported (with the re-authorization URL) rather than raised, so
    the partner page can show the counts it could still read next to the fix.
    """
    shop = client.data(queries.SHOP_QUERY, None, ShopData).shop
    granted = fetch_access_scopes(api_url=client.api_url, token=token, transport=transport)
    missing = tuple(missing_scopes(granted))
    client.graphql(queries.ACCESS_PROBE_QUERY)
    counts = _counts(client, window_start, window_end)
    customers = counts.customers_count
    orders = counts.orders_count
    exact = all(c is None or c.precision == "EXACT" for c in (customers, orders))
    return PreflightReport(
        shop_domain=shop.myshopify_domain,
        shop_name=shop.name,
        currency=shop.currency_code,
        granted_scopes=granted,
        missing_scopes=missing,
        reauthorize_url=reauthorize_url if missing else None,
        customers_in_window=customers.count if customers else None,
        orders_in_window=orders.count if orders else None,
        counts_exact=exact,
        window_start=window_start,
        window_end=window_end,
    )


def _counts(client: AdminClient, start: datetime, end: datetime) -> _CountsData:
    search = queries.window_filter(start, end)
    return client.data(queries.COUNTS_QUERY, {"query": search}, _CountsData)


BUYER_COUNTS_PER_REQUEST = 25
"""Counts aliased into one request: each costs little, and fewer round trips matter more."""


def buyer_window_orders(
    client: AdminClient, buyer_ids: Sequence[str], start: datetime, end: datetime
) -> dict[str, int]:
    """How many orders each buyer (a customer gid) placed in ``[start, end)``.

    ``customersCount`` only filters on creation and update times, and ``customers``'
    ``order_date`` filter would mean paging through every buyer: the preview needs only
    the buyers of its sample, whose window orders tell how often buyers repeat.
    """
    window = queries.window_filter(start, end)
    found: dict[str, int] = {}
    ids = list(dict.fromkeys(buyer_ids))
    for first in range(0, len(ids), BUYER_COUNTS_PER_REQUEST):
        chunk = ids[first : first + BUYER_COUNTS_PER_REQUEST]
        searches = [f"customer_id:{gid.rsplit('/', 1)[-1]} AND {window}" for gid in chunk]
        data = client.data(queries.orders_counts_query(searches), None, dict[str, _Count | None])
        for index, gid in enumerate(chunk):
            count = data.get(f"c{index}")
            if count is not None:
                found[gid] = count.count
    return found


def window_counts(
    client: AdminClient, start: datetime, end: datetime
) -> tuple[int | None, int | None]:
    """Customers and orders created in ``[start, end)``, as Shopify counts them."""
    counts = _counts(client, start, end)
    customers, orders = counts.customers_count, counts.orders_count
    return (customers.count if customers else None, orders.count if orders else None)
