"""The wizard's preview (SPEC §2 step 2): window, counts, data-point estimate, extra sections.

Read-only: it runs the preflight and reads one small page of customers and orders to
price them with the same arithmetic the loader meters with, so the estimate moves with
the store's real shape (line items per order, filled properties) rather than a constant.
Other areas add sections through ``SectionProvider`` callables (the campaigns risk
audit is one); the preview itself does not know what they contain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from shopify_backfill.backfill.states import Status
from shopify_backfill.config import Settings
from shopify_backfill.mapping import CustomerIntent, MappingOptions, OrderIntent, map_record
from shopify_backfill.mapping.datapoints import order_points
from shopify_backfill.profiles.workspaces import connection_settings, data_point_allowance
from shopify_backfill.profiles.written import ProfileCount
from shopify_backfill.shopify import queries
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.extract import ExtractionMode
from shopify_backfill.shopify.oauth import install_url
from shopify_backfill.shopify.paginate import PagedReader
from shopify_backfill.shopify.preflight import PreflightReport, buyer_window_orders, run_preflight
from shopify_backfill.shopify.records import Order
from shopify_backfill.window import Window

SAMPLE_SIZE = 50
"""Records per sample page."""
ORDER_SAMPLE_SIZE = 200
"""Orders priced and searched for guests: four pages, so that the few orders without a
customer (a few percent) are seen often enough to scale."""
PROFILE_TOLERANCE = 0.10
"""What the preview promises for its profile count: customers are Shopify's exact counts,
guest-order profiles (a small share) are scaled from the sample; measured within this on
the stand-in's stores (``tests/backfill/test_numbers_agree.py``)."""
DEFAULT_SYNCS = ("Order Created event", "purchase events", "customer data")


@dataclass(frozen=True)
class PreviewSection:
    """One block of the preview contributed by another area (e.g. the risk audit)."""

    key: str
    title: str
    lines: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    warning: bool = False
    """Shown highlighted: the merchant should act before starting."""


@dataclass(frozen=True)
class DataPointEstimate:
    total: int
    per_order: float
    per_customer: float
    sampled_orders: int
    sampled_customers: int
    braze_total: int = 0
    """The same window priced as Braze bills it: 1 per custom event, purchase and
    attribute set, properties free (https://braze.com/docs/user_guide/data_and_analytics/data_points)."""
    braze_per_order: float = 0.0
    braze_per_customer: float = 0.0


@dataclass(frozen=True)
class Preview:
    workspace_id: int
    connection_id: int
    shop_domain: str
    window: Window
    status: Status
    preflight: PreflightReport
    mode: ExtractionMode
    estimate: DataPointEstimate
    syncs: tuple[str, ...] = DEFAULT_SYNCS
    sections: tuple[PreviewSection, ...] = ()
    profiles: ProfileCount | None = None
    """The estimate of "profiles this backfill writes" (``None`` when access failed)."""
    allowance: int | None = None
    """The workspace's data-point allowance (``None``: none set), shown with the estimate."""

    @property
    def allowance_line(self) -> str:
        """The allowance beside the estimate, or that none is set (no silent blank)."""
        if self.allowance is None:
            return "data-point allowance: no allowance set for this workspace"
        share = self.estimate.total / self.allowance if self.allowance else float("inf")
        return (
            f"data-point allowance: {self.allowance:,}; this backfill's estimate is "
            f"{share:.0%} of it" + (" (above the allowance)" if share > 1 else "")
        )

    @property
    def can_start(self) -> bool:
        return self.status == "not_started" and self.preflight.ok

    def to_json(self) -> dict[str, Any]:
        report = self.preflight
        return {
            "shop": self.shop_domain,
            "status": self.status,
            "can_start": self.can_start,
            "window": {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()},
            "customers_in_window": report.customers_in_window,
            "orders_in_window": report.orders_in_window,
            "counts_exact": report.counts_exact,
            "profiles": self.profiles.to_json() if self.profiles is not None else None,
            "extraction_mode": self.mode,
            "syncs": list(self.syncs),
            "data_points_estimate": {
                "total": self.estimate.total,
                "per_order": round(self.estimate.per_order, 2),
                "per_customer": round(self.estimate.per_customer, 2),
                "sampled_orders": self.estimate.sampled_orders,
                "sampled_customers": self.estimate.sampled_customers,
                "braze_total": self.estimate.braze_total,
                "braze_per_order": round(self.estimate.braze_per_order, 2),
                "braze_per_customer": round(self.estimate.braze_per_customer, 2),
                "allowance": self.allowance,
                "allowance_line": self.allowance_line,
            },
            "missing_scopes": list(report.missing_scopes),
            "reauthorize_url": report.reauthorize_url,
            "problems": list(report.problems),
            "sections": [
                {
                    "key": section.key,
                    "title": section.title,
                    "lines": list(section.lines),
                    "data": dict(section.data),
                    "warning": section.warning,
                }
                for section in self.sections
            ],
        }


SectionProvider = Callable[[sa.Connection, Preview], PreviewSection | None]
"""Called with the finished preview; returns a section to append, or ``None``."""


def reauthorize_url(settings: Settings, shop_domain: str, api_url: str) -> str:
    """Where the merchant re-grants the full scope list (same URL as ``preflight``)."""
    return install_url(
        shop=shop_domain,
        api_key=settings.app_api_key,
        redirect_uri=f"{settings.app_url.rstrip('/')}/shopify/callback",
        state="reauthorize",
        authorize_base=api_url,
    )


def choose_mode(settings: Settings, orders_in_window: int | None) -> ExtractionMode:
    """Bulk for big windows (its fixed start-up cost pays off), pages for small ones."""
    if settings.extraction_mode != "auto":
        return settings.extraction_mode
    if orders_in_window is None:
        return "bulk"
    return "bulk" if orders_in_window >= settings.bulk_min_orders else "paginated"


def estimate_datapoints(
    client: AdminClient,
    window: Window,
    options: MappingOptions,
    *,
    customers: int,
    orders: int,
) -> tuple[DataPointEstimate, ProfileCount]:
    """Price a sample of each kind and scale it to the profiles and orders it will write.

    Profiles: the customers created in the window (Shopify's count) plus the buyers of
    its orders created earlier, each once. Counting a sampled order's older buyer as one
    more customer over-counts buyers who repeat (a buyer of five window orders would
    count five times), so each sampled order adds ``1 / m`` of a buyer, ``m`` being how
    many window orders that buyer placed (Shopify's ``ordersCount`` per buyer): the
    Horvitz-Thompson estimate of distinct buyers, unbiased however skewed the repeats.
    Guest-order profiles: the sampled orders without a customer whose email or phone the
    sample had not met yet (a repeat guest, or a customer checking out as a guest, shares
    a profile), scaled to the window's orders.
    """
    reader = PagedReader(
        client,
        orders_search=queries.window_filter(window.start, window.end),
        customers_search=queries.customer_window_filter(window.start, window.end),
        max_page=SAMPLE_SIZE,
    )
    order_sample: list[Any] = []
    if orders:
        for page in reader.order_pages(None):
            order_sample.extend(page.records)
            if len(order_sample) >= ORDER_SAMPLE_SIZE:
                break
    customer_sample = next(iter(reader.customer_pages(None))).records if customers else []
    order_total = 0
    braze_order_total = 0
    older_buyers: list[str] = []
    guest_profiles = 0
    guest_points = 0
    contacts: set[str] = set()
    for order in order_sample:
        mapped = map_record(order, options)
        if isinstance(mapped, OrderIntent):
            order_total += order_points(mapped)
            braze_order_total += 1 + len(mapped.purchases)
            buyer = order.customer if isinstance(order, Order) else None
            if buyer is not None and _created_before(buyer.created_at, window):
                older_buyers.append(buyer.id)
            if mapped.customer is not None:
                contacts.update(_contact_keys(mapped.customer.email, mapped.customer.phone_e164))
            elif mapped.guest is not None:
                keys = _contact_keys(mapped.guest.email, mapped.guest.phone_e164)
                if not keys & contacts:
                    guest_profiles += 1
                    guest_points += len(mapped.guest.attributes)
                contacts.update(keys)
    customer_total = 0
    braze_customer_total = 0
    for customer in customer_sample:
        mapped = map_record(customer, options)
        if isinstance(mapped, CustomerIntent):
            customer_total += len(mapped.attributes)
            # In Braze, email, phone and email_subscribe are attributes too.
            braze_customer_total += len(mapped.attributes) + sum(
                value is not None
                for value in (mapped.email, mapped.phone_e164, mapped.email_subscription)
            )
    sampled = len(order_sample)
    per_order = order_total / sampled if sampled else 0.0
    per_customer = customer_total / len(customer_sample) if customer_sample else 0.0
    repeats = buyer_window_orders(client, older_buyers, window.start, window.end)
    older_share = (
        sum(1 / max(1, repeats.get(b, 1)) for b in older_buyers) / sampled if sampled else 0.0
    )
    buyers = customers + round(older_share * orders)
    guests = round(guest_profiles / sampled * orders) if sampled else 0
    per_guest = guest_points / guest_profiles if guest_profiles else 0.0
    braze_per_order = braze_order_total / sampled if sampled else 0.0
    braze_per_customer = braze_customer_total / len(customer_sample) if customer_sample else 0.0
    estimate = DataPointEstimate(
        total=round(per_order * orders + per_customer * buyers + per_guest * guests),
        per_order=per_order,
        per_customer=per_customer,
        sampled_orders=sampled,
        sampled_customers=len(customer_sample),
        braze_total=round(
            braze_per_order * orders + braze_per_customer * buyers + per_guest * guests
        ),
        braze_per_order=braze_per_order,
        braze_per_customer=braze_per_customer,
    )
    return estimate, ProfileCount(customers=buyers, guests=guests, tolerance=PROFILE_TOLERANCE)


def _contact_keys(email: str | None, phone: str | None) -> set[str]:
    """What identity resolution would match a guest order on (emails arrive normalised)."""
    return {f"{kind}:{value}" for kind, value in (("e", email), ("p", phone)) if value}


def _created_before(stamp: str, window: Window) -> bool:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) < window.start
    except ValueError:
        return False


def build_preview(
    conn: sa.Connection,
    settings: Settings,
    client: AdminClient,
    *,
    workspace_id: int,
    connection_id: int,
    shop_domain: str,
    api_url: str,
    token: SecretStr,
    window: Window,
    status: Status,
    transport: httpx.BaseTransport | None = None,
    sections: Sequence[SectionProvider] = (),
) -> Preview:
    """Preflight, counts, estimate and the extra sections, without writing anything."""
    report = run_preflight(
        client,
        token=token,
        window_start=window.start,
        window_end=window.end,
        reauthorize_url=reauthorize_url(settings, shop_domain, api_url),
        transport=transport,
    )
    customers = report.customers_in_window or 0
    orders = report.orders_in_window or 0
    options = MappingOptions(
        product_identifier=connection_settings(
            conn, workspace_id, connection_id
        ).product_identifier,
        backfill_counters=True,
    )
    profiles: ProfileCount | None = None
    if report.ok:
        estimate, profiles = estimate_datapoints(
            client, window, options, customers=customers, orders=orders
        )
    else:
        estimate = DataPointEstimate(0, 0.0, 0.0, 0, 0)
    preview = Preview(
        workspace_id=workspace_id,
        connection_id=connection_id,
        shop_domain=shop_domain,
        window=window,
        status=status,
        preflight=report,
        mode=choose_mode(settings, report.orders_in_window),
        estimate=estimate,
        profiles=profiles,
        allowance=data_point_allowance(conn, workspace_id),
    )
    extra: list[PreviewSection] = []
    for provider in sections:
        section = provider(conn, preview)
        if section is not None:
            extra.append(section)
    return replace(preview, sections=tuple(extra))


def render_preview(preview: Preview) -> str:
    report = preview.preflight
    estimate = preview.estimate
    lines = [
        f"Backfill preview for {preview.shop_domain} (status: {preview.status})",
        f"window            {preview.window.start:%Y-%m-%d %H:%M} -> "
        f"{preview.window.end:%Y-%m-%d %H:%M} UTC (90 days before the connection)",
        f"customers         {report.customers_in_window}"
        + ("" if report.counts_exact else " (approximate)")
        + " created in the window; the buyers of its orders are imported too",
        f"orders            {report.orders_in_window}",
        *([preview.profiles.sentence()] if preview.profiles is not None else []),
        f"syncs             {', '.join(preview.syncs)}",
        f"extraction        {preview.mode}",
        f"data points       ~{estimate.total:,} (estimated from {estimate.sampled_orders} "
        f"orders and {estimate.sampled_customers} customers)",
        f"  in Braze        ~{estimate.braze_total:,} when delivered to a Braze workspace "
        "(events, purchases and attributes; Braze does not bill properties)",
        f"  {preview.allowance_line}",
    ]
    if report.missing_scopes:
        lines.append(
            f"RE-AUTHORIZATION REQUIRED: missing {', '.join(report.missing_scopes)}; "
            f"open {report.reauthorize_url}"
        )
    lines.extend(f"PROBLEM: {problem}" for problem in report.problems)
    for section in preview.sections:
        lines.append("")
        lines.append(("! " if section.warning else "") + section.title)
        lines.extend(f"  {line}" for line in section.lines)
    return "\n".join(lines)
