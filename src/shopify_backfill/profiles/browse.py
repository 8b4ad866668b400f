"""Reading a workspace's profiles a page at a time: search, one profile, the window's buyers.

What the partner page shows after a backfill ("After Completed"): the profiles it wrote,
found by email, phone or Shopify customer id, each with its attributes, subscriptions,
events and purchases as stored; and the ready-made segment of the profiles that bought in
the backfill window. Every query takes the ``workspace_id`` and filters on it, so another
workspace's profile is simply not found. Kept here, beside the schema, so the web layer
holds no SQL of the profile store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from shopify_backfill.mapping.intents import (
    ALIAS_CUSTOMER_ID,
    ORDER_EVENT_NAME,
    STANDARD_ATTRIBUTES,
)
from shopify_backfill.profiles.schema import (
    aliases,
    custom_events,
    purchases,
    shop_connections,
    subscription_groups,
    user_subscriptions,
    users,
)
from shopify_backfill.window import Window

PAGE_SIZE = 25
"""Profiles per page of the list."""
DETAIL_ROWS = 200
"""The newest events and purchases one profile page shows (with the total of each)."""

_PHONE_OR_ID = re.compile(r"^[\d\s()+.-]+$")
_CUSTOMER_GID = re.compile(r"^gid://shopify/Customer/(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class ProfileRow:
    """One line of the list."""

    id: int
    email: str | None
    phone: str | None
    name: str
    shopify_customer_id: str | None
    created_by_backfill: int | None
    last_activity: datetime | None


@dataclass(frozen=True)
class ProfilePage:
    """A page of the list, and where it stands in the whole result."""

    rows: list[ProfileRow]
    page: int
    total: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True)
class ProfileDetail:
    """One profile as the store holds it."""

    row: ProfileRow
    attributes: dict[str, Any]
    aliases: dict[str, str]
    subscriptions: list[dict[str, str]]
    events: list[dict[str, Any]]
    events_total: int
    purchases: list[dict[str, Any]]
    purchases_total: int


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _customer_id_of(query: str) -> str | None:
    """``123`` from ``123`` or ``gid://shopify/Customer/123``: the alias's own form."""
    gid = _CUSTOMER_GID.match(query)
    if gid:
        return gid.group(1)
    return query if query.isdigit() else None


def search_condition(workspace_id: int, query: str) -> sa.ColumnElement[bool]:
    """Profiles whose email contains ``query`` (any case), whose phone contains its digits,
    or whose Shopify customer id is it (numeric or ``gid://shopify/Customer/N``)."""
    text = query.strip()
    clauses: list[sa.ColumnElement[bool]] = [
        sa.func.lower(users.c.email).like(f"%{_like_escaped(text.lower())}%", escape="\\")
    ]
    digits = re.sub(r"\D", "", text)
    if digits and _PHONE_OR_ID.match(text):
        clauses.append(users.c.phone.like(f"%{digits}%"))
    customer_id = _customer_id_of(text)
    if customer_id is not None:
        clauses.append(
            sa.exists().where(
                aliases.c.user_id == users.c.id,
                aliases.c.workspace_id == workspace_id,
                aliases.c.label == ALIAS_CUSTOMER_ID,
                aliases.c.name == customer_id,
            )
        )
    return sa.or_(*clauses)


def bought_in_window(workspace_id: int, window: Window) -> sa.ColumnElement[bool]:
    """The segment "bought in the window": a purchase, or an Order Created event, in it
    (``[start, end)``, the window the backfill read)."""
    purchased = sa.exists().where(
        purchases.c.user_id == users.c.id,
        purchases.c.workspace_id == workspace_id,
        purchases.c.time >= window.start,
        purchases.c.time < window.end,
    )
    ordered = sa.exists().where(
        custom_events.c.user_id == users.c.id,
        custom_events.c.workspace_id == workspace_id,
        custom_events.c.name == ORDER_EVENT_NAME,
        custom_events.c.time >= window.start,
        custom_events.c.time < window.end,
    )
    return sa.or_(purchased, ordered)


def segment_size(conn: sa.Connection, workspace_id: int, window: Window) -> int:
    """How many of the workspace's profiles bought in ``window``."""
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(users)
            .where(users.c.workspace_id == workspace_id, bought_in_window(workspace_id, window))
        ).scalar_one()
    )


def search_profiles(
    conn: sa.Connection,
    workspace_id: int,
    query: str = "",
    *,
    page: int = 1,
    segment: Window | None = None,
    page_size: int = PAGE_SIZE,
) -> ProfilePage:
    """Page ``page`` (from 1) of the workspace's profiles, oldest first, optionally
    narrowed by a search and by the segment of ``segment``'s buyers."""
    conditions: list[sa.ColumnElement[bool]] = [users.c.workspace_id == workspace_id]
    if query.strip():
        conditions.append(search_condition(workspace_id, query))
    if segment is not None:
        conditions.append(bought_in_window(workspace_id, segment))
    total = int(
        conn.execute(sa.select(sa.func.count()).select_from(users).where(*conditions)).scalar_one()
    )
    customer_alias = (
        sa.select(aliases.c.name)
        .where(aliases.c.user_id == users.c.id, aliases.c.label == ALIAS_CUSTOMER_ID)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(users, customer_alias.label("shopify_customer_id"))
        .where(*conditions)
        .order_by(users.c.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return ProfilePage(
        rows=[_row(row) for row in rows], page=page, total=total, page_size=page_size
    )


def profile_detail(conn: sa.Connection, workspace_id: int, user_id: int) -> ProfileDetail | None:
    """One of the workspace's profiles with everything the backfill wrote to it; ``None``
    for an id that is not the workspace's (whether or not it exists elsewhere)."""
    user = conn.execute(
        sa.select(users).where(users.c.id == user_id, users.c.workspace_id == workspace_id)
    ).first()
    if user is None:
        return None
    held: dict[str, str] = {
        str(label): str(name)
        for label, name in conn.execute(
            sa.select(aliases.c.label, aliases.c.name)
            .where(aliases.c.user_id == user_id, aliases.c.workspace_id == workspace_id)
            .order_by(aliases.c.label)
        )
    }
    subscriptions = [
        {"shop": domain, "channel": channel, "state": state}
        for domain, channel, state in conn.execute(
            sa.select(
                shop_connections.c.shop_domain,
                subscription_groups.c.channel,
                user_subscriptions.c.state,
            )
            .join(subscription_groups, subscription_groups.c.id == user_subscriptions.c.group_id)
            .join(shop_connections, shop_connections.c.id == subscription_groups.c.connection_id)
            .where(
                user_subscriptions.c.user_id == user_id,
                user_subscriptions.c.workspace_id == workspace_id,
            )
            .order_by(shop_connections.c.shop_domain, subscription_groups.c.channel)
        )
    ]
    mine_events = (custom_events.c.user_id == user_id, custom_events.c.workspace_id == workspace_id)
    mine_purchases = (purchases.c.user_id == user_id, purchases.c.workspace_id == workspace_id)
    events = [
        {
            "name": row.name,
            "time": row.time,
            "properties": row.properties,
            "source": row.source,
            "historical": row.historical,
            "backfill_id": row.backfill_id,
        }
        for row in conn.execute(
            sa.select(custom_events)
            .where(*mine_events)
            .order_by(custom_events.c.time.desc(), custom_events.c.id.desc())
            .limit(DETAIL_ROWS)
        )
    ]
    bought = [
        {
            "product_id": row.product_id,
            "currency": row.currency,
            "price": Decimal(row.price),
            "quantity": row.quantity,
            "time": row.time,
            "properties": row.properties,
            "source": row.source,
            "historical": row.historical,
            "backfill_id": row.backfill_id,
            # The load keys a purchase "ORDER:LINE_ITEM:PART": the order it came from.
            "order_id": row.dedup_key.split(":", 1)[0] if row.dedup_key else None,
        }
        for row in conn.execute(
            sa.select(purchases)
            .where(*mine_purchases)
            .order_by(purchases.c.time.desc(), purchases.c.id.desc())
            .limit(DETAIL_ROWS)
        )
    ]
    attributes = {name: getattr(user, name) for name in STANDARD_ATTRIBUTES if getattr(user, name)}
    attributes.update(user.custom_attributes or {})
    return ProfileDetail(
        row=_row(user, held.get(ALIAS_CUSTOMER_ID)),
        attributes=attributes,
        aliases=held,
        subscriptions=subscriptions,
        events=events,
        events_total=_count(conn, custom_events, mine_events),
        purchases=bought,
        purchases_total=_count(conn, purchases, mine_purchases),
    )


def _count(conn: sa.Connection, table: sa.Table, where: tuple[sa.ColumnElement[bool], ...]) -> int:
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    )


def _row(row: sa.Row[Any], customer_id: str | None = None) -> ProfileRow:
    mapping = row._mapping
    names = [part for part in (row.first_name, row.last_name) if part]
    return ProfileRow(
        id=int(row.id),
        email=row.email,
        phone=row.phone,
        name=" ".join(names),
        shopify_customer_id=mapping.get("shopify_customer_id", customer_id),
        created_by_backfill=row.created_by_backfill,
        last_activity=row.last_activity,
    )
