"""Shopify's privacy topics, acted on: ``customers/redact`` first.

``customers/redact`` (a customer asked the merchant to be forgotten; Shopify sends it 10
days later, or 6 months after their last order) **deletes**, it does not anonymise: a
profile of the platform is the customer's personal data through and through (email,
phone, names, city, events and purchases bound to them), and SPEC §9 asks that none of
it stays. In every workspace that connected the shop, and in the mirrors of its Braze
destinations, the profiles known by the customer's Shopify id, email or phone are
deleted with everything that hangs off them (aliases, consent, events, purchases,
triggered messages, Braze identifiers: foreign keys cascade). Then the copies outside
the profiles: quarantined records and sightings that name the customer or the orders
to redact, staged shard records, and recorded webhook bodies that mention them
(cleared, and a pending one is not applied afterwards). Data already delivered to a
Braze workspace must be deleted in Braze as well (``/users/delete``): that is not done
here, and the audit record says so.

Each request leaves one ``privacy_requests`` row: topic, shop, the Shopify customer id
(an opaque number, kept so the merchant can show the request was honoured), when, and
what was removed, by count. No email or phone is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill.tables import shard_records
from shopify_backfill.destinations.braze.tables import braze_destinations
from shopify_backfill.live.tables import privacy_requests, webhook_deliveries
from shopify_backfill.mapping.intents import ALIAS_CUSTOMER_ID
from shopify_backfill.mapping.normalize import normalize_email, normalize_phone
from shopify_backfill.profiles.schema import (
    aliases,
    backfill_sightings,
    quarantine,
    shop_connections,
    users,
)


@dataclass
class Redacted:
    profiles: int = 0
    quarantined: int = 0
    sightings: int = 0
    staged: int = 0
    deliveries: int = 0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "profiles": self.profiles,
            "quarantined": self.quarantined,
            "sightings": self.sightings,
            "staged": self.staged,
            "deliveries": self.deliveries,
            "notes": self.notes,
        }


def _workspaces(conn: sa.Connection, shop_domain: str) -> list[int]:
    own = [
        int(w)
        for w in conn.execute(
            sa.select(shop_connections.c.workspace_id).where(
                shop_connections.c.shop_domain == shop_domain
            )
        ).scalars()
    ]
    mirrors = conn.execute(
        sa.select(braze_destinations.c.mirror_workspace_id).where(
            braze_destinations.c.workspace_id.in_(own)
        )
    ).scalars()
    return sorted(set(own) | {int(m) for m in mirrors})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _phones(raw: str | None) -> set[str]:
    if raw is None:
        return set()
    parsed = normalize_phone(raw)
    return {p for p in (raw, parsed.attribute, parsed.e164) if p}


def _mentions(column: Any, needles: Iterable[str]) -> Any:
    return sa.or_(*(column.contains(needle, autoescape=True) for needle in needles))


def redact_customer(
    conn: sa.Connection, shop_domain: str, payload: dict[str, Any], now: datetime
) -> Redacted:
    """Delete the customer of a ``customers/redact`` payload from the shop's workspaces."""
    given = payload.get("customer")
    customer: dict[str, Any] = given if isinstance(given, dict) else {}
    number = _text(customer.get("id"))
    if number is None or not number.isdigit():
        raise ValueError("customers/redact without a numeric customer.id")
    gid = f"gid://shopify/Customer/{number}"
    email = normalize_email(_text(customer.get("email"))).value
    phones = _phones(_text(customer.get("phone")))
    orders = [
        f"gid://shopify/Order/{int(o)}"
        for o in payload.get("orders_to_redact") or []
        if str(o).isdigit()
    ]
    report = Redacted()
    spaces = _workspaces(conn, shop_domain)
    if spaces:
        by_alias = sa.select(aliases.c.user_id).where(
            aliases.c.workspace_id.in_(spaces),
            aliases.c.label == ALIAS_CUSTOMER_ID,
            aliases.c.name.in_([gid, number]),
        )
        who: list[sa.ColumnElement[bool]] = [users.c.id.in_(by_alias)]
        if email:
            who.append(sa.func.lower(users.c.email) == email.lower())
        if phones:
            who.append(users.c.phone.in_(sorted(phones)))
        doomed = sa.select(users.c.id).where(users.c.workspace_id.in_(spaces), sa.or_(*who))
        report.profiles = conn.execute(
            sa.delete(users).where(users.c.id.in_(doomed.scalar_subquery()))
        ).rowcount
        subjects = [gid, *orders]
        needles = [n for n in (email, *phones) if n]
        named: list[sa.ColumnElement[bool]] = [quarantine.c.shopify_id.in_(subjects)]
        if needles:
            named.append(_mentions(quarantine.c.payload_excerpt, needles))
        report.quarantined = conn.execute(
            sa.delete(quarantine).where(quarantine.c.workspace_id.in_(spaces), sa.or_(*named))
        ).rowcount
        report.sightings = conn.execute(
            sa.delete(backfill_sightings).where(
                backfill_sightings.c.workspace_id.in_(spaces),
                backfill_sightings.c.subject.in_(subjects),
            )
        ).rowcount
        if needles:
            report.staged = conn.execute(
                sa.delete(shard_records).where(
                    _mentions(shard_records.c.identity_keys, [*needles, gid])
                )
            ).rowcount
    report.deliveries = _clear_deliveries(conn, shop_domain, [gid, number, *orders], email, phones)
    if (
        spaces
        and conn.execute(
            sa.select(sa.func.count()).where(braze_destinations.c.workspace_id.in_(spaces))
        ).scalar_one()
    ):
        report.notes.append(
            "this shop's workspaces deliver to Braze: delete the customer there too "
            "(/users/delete by the shopify_customer_id alias)"
        )
    conn.execute(
        sa.insert(privacy_requests).values(
            shop_domain=shop_domain,
            topic="customers/redact",
            shopify_customer_id=number,
            received_at=now,
            summary=report.as_json(),
        )
    )
    return report


def _clear_deliveries(
    conn: sa.Connection,
    shop_domain: str,
    ids: list[str],
    email: str | None,
    phones: set[str],
) -> int:
    """Webhook bodies that mention the customer: cleared, and not applied later."""
    needles = [n for n in (email, *phones) if n] + [f'"id":{i}' for i in ids if i.isdigit()]
    needles += [i for i in ids if not i.isdigit()]
    d = webhook_deliveries.c
    rows = conn.execute(
        sa.select(d.id, d.body).where(d.shop_domain == shop_domain, d.body.is_not(None))
    ).all()
    hit = [
        row.id
        for row in rows
        if any(needle.encode() in bytes(row.body).replace(b" ", b"") for needle in needles)
    ]
    if hit:
        conn.execute(
            sa.update(webhook_deliveries)
            .where(d.id.in_(hit))
            .values(body=None, state="processed", error="redacted (customers/redact)")
        )
    return len(hit)
