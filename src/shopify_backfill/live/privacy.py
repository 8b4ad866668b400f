"""Shopify's privacy topics, acted on: ``customers/redact`` and ``customers/data_request``.

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
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from shopify_backfill.backfill.tables import backfills, email_outbox, notifications, shard_records
from shopify_backfill.destinations.braze.tables import braze_destinations
from shopify_backfill.live.tables import (
    live_sync_state,
    live_versions,
    privacy_requests,
    webhook_deliveries,
)
from shopify_backfill.mapping.intents import ALIAS_CUSTOMER_ID
from shopify_backfill.mapping.normalize import normalize_email, normalize_phone
from shopify_backfill.profiles import export_profiles
from shopify_backfill.profiles.schema import (
    aliases,
    backfill_sightings,
    datapoint_ledger,
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


@dataclass(frozen=True)
class _Subject:
    """The customer a privacy payload names, in every form the store may hold them."""

    number: str
    email: str | None
    phones: frozenset[str]
    orders: tuple[str, ...]

    @property
    def gid(self) -> str:
        return f"gid://shopify/Customer/{self.number}"

    @property
    def needles(self) -> list[str]:
        return [n for n in (self.email, *sorted(self.phones)) if n]


def _subject(payload: dict[str, Any], topic: str) -> _Subject:
    given = payload.get("customer")
    customer: dict[str, Any] = given if isinstance(given, dict) else {}
    number = _text(customer.get("id"))
    if number is None or not number.isdigit():
        raise ValueError(f"{topic} without a numeric customer.id")
    listed = payload.get("orders_to_redact") or payload.get("orders_requested") or []
    return _Subject(
        number=number,
        email=normalize_email(_text(customer.get("email"))).value,
        phones=frozenset(_phones(_text(customer.get("phone")))),
        orders=tuple(f"gid://shopify/Order/{int(o)}" for o in listed if str(o).strip().isdigit()),
    )


def _profiles_of(conn: sa.Connection, spaces: list[int], who: _Subject) -> sa.Select[Any]:
    """The ids of the subject's profiles: by Shopify id alias, email or phone."""
    by_alias = sa.select(aliases.c.user_id).where(
        aliases.c.workspace_id.in_(spaces),
        aliases.c.label == ALIAS_CUSTOMER_ID,
        aliases.c.name.in_([who.gid, who.number]),
    )
    match: list[sa.ColumnElement[bool]] = [users.c.id.in_(by_alias)]
    if who.email:
        match.append(sa.func.lower(users.c.email) == who.email.lower())
    if who.phones:
        match.append(users.c.phone.in_(sorted(who.phones)))
    return sa.select(users.c.id).where(users.c.workspace_id.in_(spaces), sa.or_(*match))


def _is(who: _Subject, profile: dict[str, Any]) -> bool:
    """``_profiles_of``'s rule, on an exported profile."""
    attributes = profile["attributes"]
    email = attributes.get("email")
    same_email = isinstance(email, str) and email.lower() == (who.email or "").lower()
    return (
        str(profile["aliases"].get(ALIAS_CUSTOMER_ID)) in (who.gid, who.number)
        or (who.email is not None and same_email)
        or attributes.get("phone") in who.phones
    )


def _audit(
    conn: sa.Connection, shop: str, topic: str, number: str | None, now: datetime, summary: Any
) -> None:
    conn.execute(
        sa.insert(privacy_requests).values(
            shop_domain=shop,
            topic=topic,
            shopify_customer_id=number,
            received_at=now,
            summary=summary,
        )
    )


def export_customer(
    conn: sa.Connection, shop_domain: str, payload: dict[str, Any], folder: Path, now: datetime
) -> Path:
    """``customers/data_request``: the customer's stored data as one JSON file in
    ``folder`` for the operator to send to the merchant (Shopify expects the merchant to
    answer the customer within 30 days). The file holds the profiles exactly as the
    store has them (attributes, aliases, consent, events, purchases), per workspace."""
    who = _subject(payload, "customers/data_request")
    spaces = _workspaces(conn, shop_domain)
    found: dict[str, list[dict[str, Any]]] = {}
    for workspace_id in spaces:
        picked = [p for p in export_profiles(conn, workspace_id) if _is(who, p)]
        if picked:
            found[str(workspace_id)] = picked
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{shop_domain}-customer-{who.number}-{now:%Y%m%dT%H%M%SZ}.json"
    document = {
        "shop": shop_domain,
        "shopify_customer_id": who.number,
        "requested_at": now.isoformat(),
        "workspaces": found,
    }
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2, default=str))
    path.chmod(0o600)
    summary = {"profiles": sum(len(v) for v in found.values()), "file": path.name}
    _audit(conn, shop_domain, "customers/data_request", who.number, now, summary)
    return path


def redact_customer(
    conn: sa.Connection, shop_domain: str, payload: dict[str, Any], now: datetime
) -> Redacted:
    """Delete the customer of a ``customers/redact`` payload from the shop's workspaces."""
    who = _subject(payload, "customers/redact")
    gid, number, email, phones, orders = who.gid, who.number, who.email, who.phones, who.orders
    report = Redacted()
    spaces = _workspaces(conn, shop_domain)
    if spaces:
        doomed = _profiles_of(conn, spaces, who)
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
    report.deliveries = _clear_deliveries(
        conn, shop_domain, [gid, number, *orders], email, set(phones)
    )
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
    _audit(conn, shop_domain, "customers/redact", number, now, report.as_json())
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


def uninstalled(conn: sa.Connection, shop_domain: str, now: datetime) -> int:
    """``app/uninstalled``: stop syncing the shop. Its token is dropped from every
    connection (Shopify has revoked it already; keeping the ciphertext would only keep a
    secret), so no backfill, reconciliation or subscription call can run for it until
    the merchant installs the app again. Its data stays until ``shop/redact``, which
    Shopify sends 48 hours later: a merchant who reinstalls finds it in place."""
    revoked = conn.execute(
        sa.update(shop_connections)
        .where(shop_connections.c.shop_domain == shop_domain)
        .values(access_token_encrypted=None)
    ).rowcount
    _audit(conn, shop_domain, "app/uninstalled", None, now, {"connections": revoked})
    return revoked


def redact_shop(conn: sa.Connection, shop_domain: str, now: datetime) -> dict[str, int]:
    """``shop/redact`` (48 hours after the app was uninstalled): remove the shop's data.

    A workspace whose only shop this is loses every profile (and the mirrors of its
    Braze destinations theirs), its quarantine, sightings and data-point ledger; in a
    workspace that also connects other shops, profiles cannot be told apart by shop, so
    they stay (they are that workspace's) and only what is the shop's goes. Everywhere:
    the connection (and with it its subscription groups and consent), the backfill's
    report, notifications and emails, the recorded deliveries and live-sync state. The
    backfill row itself stays, cleared, with its shop domain: the once-only rule holds
    if the shop installs the app again.
    """
    removed = {"workspaces_emptied": 0, "profiles": 0, "connections": 0, "deliveries": 0}
    rows = conn.execute(
        sa.select(shop_connections.c.id, shop_connections.c.workspace_id).where(
            shop_connections.c.shop_domain == shop_domain
        )
    ).all()
    for row in rows:
        others = conn.execute(
            sa.select(sa.func.count()).where(
                shop_connections.c.workspace_id == row.workspace_id,
                shop_connections.c.shop_domain != shop_domain,
            )
        ).scalar_one()
        if others:
            continue
        mirrors = conn.execute(
            sa.select(braze_destinations.c.mirror_workspace_id).where(
                braze_destinations.c.workspace_id == row.workspace_id
            )
        ).scalars()
        spaces = [row.workspace_id, *[int(m) for m in mirrors]]
        removed["profiles"] += conn.execute(
            sa.delete(users).where(users.c.workspace_id.in_(spaces))
        ).rowcount
        for table in (quarantine, backfill_sightings, datapoint_ledger):
            conn.execute(sa.delete(table).where(table.c.workspace_id.in_(spaces)))
        removed["workspaces_emptied"] += 1
    mine = sa.select(backfills.c.id).where(backfills.c.shop_domain == shop_domain)
    for table in (notifications, email_outbox):
        conn.execute(sa.delete(table).where(table.c.backfill_id.in_(mine.scalar_subquery())))
    conn.execute(
        sa.update(backfills)
        .where(backfills.c.shop_domain == shop_domain)
        .values(report=None, failure_reason=None)
    )
    removed["connections"] = conn.execute(
        sa.delete(shop_connections).where(shop_connections.c.shop_domain == shop_domain)
    ).rowcount
    removed["deliveries"] = conn.execute(
        sa.delete(webhook_deliveries).where(webhook_deliveries.c.shop_domain == shop_domain)
    ).rowcount
    for table in (live_versions, live_sync_state):
        conn.execute(sa.delete(table).where(table.c.shop_domain == shop_domain))
    _audit(conn, shop_domain, "shop/redact", None, now, removed)
    return removed
