"""Batched, idempotent loading of Shopify records into the profile store.

``load_batch`` runs inside the caller's transaction (the backfill job commits its
checkpoint in the same one) and issues a handful of statements per batch: a few
``IN (...)`` reads, then one ``executemany`` per table, with ``ON CONFLICT`` guards on
every uniqueness rule. It plans the whole batch in memory first (see
``profiles.identity``), so what it reports as changed, and what it meters as data
points, is exactly what it writes: loading the same records again changes nothing and
costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa

from shopify_backfill.errors import InputError
from shopify_backfill.mapping import map_record
from shopify_backfill.mapping.datapoints import (
    ATTRIBUTE_POINTS,
    EVENT_POINTS,
    PURCHASE_POINTS,
    property_points,
)
from shopify_backfill.mapping.intents import (
    ALIAS_CUSTOMER_ID,
    ALIAS_EMAIL,
    ALIAS_PHONE,
    CUSTOM_ATTRIBUTES,
    ORDER_EVENT_NAME,
    STANDARD_ATTRIBUTES,
    AttributeValue,
    CustomerIntent,
    EventIntent,
    MappedRecord,
    MappingOptions,
    OrderIntent,
    PurchaseIntent,
    RecordKind,
    Rejected,
    SkippedTestOrder,
    SubscriptionState,
    Unattributable,
)
from shopify_backfill.profiles.changes import (
    AttributeChanged,
    Change,
    Channel,
    EmailAdded,
    EventAdded,
    PurchaseAdded,
    SubscriptionChanged,
)
from shopify_backfill.profiles.datapoints import record_datapoints
from shopify_backfill.profiles.dialect import upsert
from shopify_backfill.profiles.identity import IdentityIndex, Match, Profile, rows_in
from shopify_backfill.profiles.quarantine import record_issues
from shopify_backfill.profiles.results import Issue, LoadCounts, LoadResult
from shopify_backfill.profiles.schema import (
    aliases,
    custom_events,
    purchases,
    user_subscriptions,
    users,
)
from shopify_backfill.profiles.workspaces import ConnectionSettings, connection_settings
from shopify_backfill.shopify.records import Customer, Order

SOURCE_BACKFILL: Final = "shopify_backfill"
SOURCE_LIVE: Final = "shopify"


@dataclass(frozen=True, slots=True)
class LoadContext:
    """Who the records belong to and how they are tagged.

    ``backfill_id`` is ``None`` for live data; ``historical`` marks backfilled data so the
    trigger engine can stay silent on it; ``now`` pins the load time (tests, replays).
    """

    workspace_id: int
    connection_id: int
    backfill_id: int | None
    historical: bool
    now: datetime | None = None

    @property
    def source(self) -> str:
        return SOURCE_BACKFILL if self.backfill_id is not None else SOURCE_LIVE


def load_batch(
    conn: sa.Connection, ctx: LoadContext, records: Sequence[Customer | Order]
) -> LoadResult:
    """Map, resolve and write ``records``; the caller owns (and commits) the transaction."""
    if not conn.in_transaction():
        raise InputError(
            "load_batch needs a connection inside a transaction owned by the caller "
            "(use `with engine.begin() as conn:`), so that it commits with the checkpoint"
        )
    settings = connection_settings(conn, ctx.workspace_id, ctx.connection_id)
    options = MappingOptions(
        product_identifier=settings.product_identifier,
        backfill_counters=ctx.backfill_id is not None,
    )
    mapped = [map_record(record, options) for record in records]
    batch = _Batch(conn, ctx, settings, ctx.now or datetime.now(UTC))
    batch.plan(mapped)
    return batch.write()


@dataclass(slots=True)
class _CustomerTally:
    match: Match
    changed: bool = False


@dataclass(slots=True)
class _Batch:
    conn: sa.Connection
    ctx: LoadContext
    settings: ConnectionSettings
    now: datetime
    index: IdentityIndex = field(default_factory=IdentityIndex)
    counts: LoadCounts = field(default_factory=LoadCounts)
    issues: list[Issue] = field(default_factory=list)
    changes: list[tuple[Profile, Change]] = field(default_factory=list)
    attribute_points: int = 0
    known_events: set[str] = field(default_factory=set)
    known_purchases: set[str] = field(default_factory=set)
    events: list[tuple[Profile, EventIntent]] = field(default_factory=list)
    purchases: list[tuple[Profile, PurchaseIntent]] = field(default_factory=list)
    subscriptions: dict[tuple[Profile, int], SubscriptionState] = field(default_factory=dict)
    customers: dict[str, _CustomerTally] = field(default_factory=dict)

    # -- planning (in memory) ------------------------------------------------------------

    def plan(self, mapped: Sequence[MappedRecord]) -> None:
        self._preload(mapped)
        for item in mapped:
            if isinstance(item, CustomerIntent):
                self._customer(item, "customer")
            elif isinstance(item, OrderIntent):
                self._order(item)
            elif isinstance(item, SkippedTestOrder):
                self.counts.orders_skipped_test += 1
            elif isinstance(item, Unattributable):
                self.counts.orders_unattributable += 1
                self.issues.append(
                    Issue(
                        "order", item.shopify_order_id, "unattributable", item.reason, item.excerpt
                    )
                )
            else:
                self._rejected(item)
        for tally in self.customers.values():
            self._count_customer(tally)

    def _preload(self, mapped: Sequence[MappedRecord]) -> None:
        customer_ids: list[str] = []
        emails: list[str] = []
        phones: list[str] = []
        event_keys: list[str] = []
        purchase_keys: list[str] = []

        def keys_of(customer: CustomerIntent | None) -> None:
            if customer is not None:
                customer_ids.append(customer.shopify_customer_id)
                emails.extend([customer.email] if customer.email else [])
                phones.extend([customer.phone_e164] if customer.phone_e164 else [])

        for item in mapped:
            if isinstance(item, CustomerIntent):
                keys_of(item)
            elif isinstance(item, Rejected):
                keys_of(item.customer)
            elif isinstance(item, OrderIntent):
                keys_of(item.customer)
                if item.guest is not None:
                    emails.extend([item.guest.email] if item.guest.email else [])
                    phones.extend([item.guest.phone_e164] if item.guest.phone_e164 else [])
                event_keys.append(item.event.dedup_key)
                purchase_keys.extend(p.dedup_key for p in item.purchases)
        workspace_id = self.ctx.workspace_id
        self.index = IdentityIndex.load(
            self.conn,
            workspace_id,
            customer_ids=customer_ids,
            emails=emails,
            phones=phones,
            subscriptions_for_backfill=self.ctx.backfill_id,
        )
        query = sa.select(custom_events.c.dedup_key).where(
            custom_events.c.workspace_id == workspace_id,
            custom_events.c.name == ORDER_EVENT_NAME,
        )
        self.known_events = {
            row.dedup_key
            for row in rows_in(self.conn, query, custom_events.c.dedup_key, sorted(set(event_keys)))
        }
        query = sa.select(purchases.c.dedup_key).where(purchases.c.workspace_id == workspace_id)
        self.known_purchases = {
            row.dedup_key
            for row in rows_in(self.conn, query, purchases.c.dedup_key, sorted(set(purchase_keys)))
        }

    def _customer(self, intent: CustomerIntent, kind: RecordKind) -> Profile:
        resolved = self.index.resolve_customer(intent)
        if resolved is None:
            profile = self.index.create(created_by_backfill=self.ctx.backfill_id)
            match: Match = "created"
        else:
            profile, match = resolved
        tally = self.customers.setdefault(intent.shopify_customer_id, _CustomerTally(match))
        time = intent.time or self.now
        changed = False
        for label, name in (
            (ALIAS_CUSTOMER_ID, intent.shopify_customer_id),
            (ALIAS_EMAIL, intent.email),
            (ALIAS_PHONE, intent.phone_e164),
        ):
            if name is not None:
                changed |= self._alias(profile, label, name, "customer", intent.shopify_customer_id)
        changed |= self._attributes(profile, intent.attributes, time)
        if self._owns_subscriptions(profile):
            consent: tuple[tuple[Channel, SubscriptionState | None], ...] = (
                ("email", intent.email_subscription),
                ("sms", intent.sms_subscription),
            )
            for channel, state in consent:
                if state is not None:
                    changed |= self._subscription(profile, channel, state, time)
        tally.changed |= changed
        for note in intent.notes:
            self.issues.append(Issue(kind, intent.shopify_customer_id, "partial", note))
        return profile

    def _alias(
        self, profile: Profile, label: str, name: str, kind: RecordKind, shopify_id: str
    ) -> bool:
        outcome = self.index.claim_alias(profile, label, name)
        if outcome == "taken":
            reason = f"alias {label}={name} already belongs to another profile; not added"
            self.issues.append(Issue(kind, shopify_id, "partial", reason))
        return outcome in ("added", "replaced")

    def _attributes(
        self, profile: Profile, attributes: Mapping[str, AttributeValue], time: datetime
    ) -> bool:
        changed = False
        for name, value in attributes.items():
            did_change, old = self.index.set_attribute(profile, name, value)
            if not did_change:
                continue
            changed = True
            self.attribute_points += ATTRIBUTE_POINTS
            historical = self.ctx.historical
            self.changes.append(
                (
                    profile,
                    AttributeChanged(
                        0, name, old, value, name not in STANDARD_ATTRIBUTES, time, historical
                    ),
                )
            )
            if name == "email" and isinstance(value, str):
                self.changes.append((profile, EmailAdded(0, value, time, historical)))
        return changed

    def _owns_subscriptions(self, profile: Profile) -> bool:
        """SPEC §3.3: only profiles this load or this backfill created get consent."""
        if profile.is_new:
            return True
        backfill_id = self.ctx.backfill_id
        return backfill_id is not None and profile.created_by_backfill == backfill_id

    def _subscription(
        self, profile: Profile, channel: Channel, state: SubscriptionState, time: datetime
    ) -> bool:
        group_id = self.settings.groups[channel]
        old = profile.subscriptions.get(group_id)
        if old == state:
            return False
        profile.subscriptions[group_id] = state
        self.subscriptions[(profile, group_id)] = state
        self.changes.append(
            (
                profile,
                SubscriptionChanged(0, group_id, channel, old, state, time, self.ctx.historical),
            )
        )
        return True

    def _order(self, order: OrderIntent) -> None:
        if order.customer is not None:
            profile = self._customer(order.customer, "order")
        elif self._already_imported(order):
            # Nothing left to write, and re-resolving a guest could only create or
            # re-key a profile that the first import already settled.
            self.counts.orders_already_imported += 1
            return
        else:
            profile = self._guest(order)
        for note in order.notes:
            self.issues.append(Issue("order", order.shopify_order_id, "partial", note))
        added = False
        historical = self.ctx.historical
        event = order.event
        if event.dedup_key not in self.known_events:
            self.known_events.add(event.dedup_key)
            self.events.append((profile, event))
            self.index.note_activity(profile, event.time)
            self.changes.append(
                (
                    profile,
                    EventAdded(
                        0, event.name, event.dedup_key, event.properties, event.time, historical
                    ),
                )
            )
            added = True
        for purchase in order.purchases:
            if purchase.dedup_key not in self.known_purchases:
                self.known_purchases.add(purchase.dedup_key)
                self.purchases.append((profile, purchase))
                self.index.note_activity(profile, purchase.time)
                self.changes.append(
                    (
                        profile,
                        PurchaseAdded(
                            0,
                            purchase.product_id,
                            purchase.currency,
                            purchase.price,
                            purchase.quantity,
                            purchase.dedup_key,
                            purchase.properties,
                            purchase.time,
                            historical,
                        ),
                    )
                )
                added = True
        if added:
            self.counts.orders_imported += 1
        else:
            self.counts.orders_already_imported += 1

    def _already_imported(self, order: OrderIntent) -> bool:
        return order.event.dedup_key in self.known_events and all(
            purchase.dedup_key in self.known_purchases for purchase in order.purchases
        )

    def _guest(self, order: OrderIntent) -> Profile:
        guest = order.guest
        if guest is None:  # pragma: no cover - mapping guarantees a customer or a guest
            raise InputError(f"order {order.shopify_order_id} has neither customer nor guest")
        resolved = self.index.resolve_guest(guest)
        if resolved is not None:
            profile, match = resolved
            if match == "email":
                self.counts.guest_orders_matched_by_email += 1
            else:
                self.counts.guest_orders_matched_by_phone += 1
            return profile
        profile = self.index.create(created_by_backfill=self.ctx.backfill_id)
        self.counts.guest_profiles_created += 1
        for label, name in ((ALIAS_EMAIL, guest.email), (ALIAS_PHONE, guest.phone_e164)):
            if name is not None:
                self._alias(profile, label, name, "order", order.shopify_order_id)
        self._attributes(profile, guest.attributes, order.event.time)
        return profile

    def _rejected(self, item: Rejected) -> None:
        if item.record_kind == "order":
            self.counts.orders_quarantined += 1
        else:
            self.counts.customers_quarantined += 1
        self.issues.append(
            Issue(item.record_kind, item.shopify_id, "quarantined", item.reason, item.excerpt)
        )
        if item.customer is not None:
            self._customer(item.customer, "order")

    def _count_customer(self, tally: _CustomerTally) -> None:
        counts = self.counts
        if tally.match == "created":
            counts.customers_created += 1
            return
        if tally.match == "alias":
            counts.customers_matched_by_alias += 1
        elif tally.match == "email":
            counts.customers_matched_by_email += 1
        else:
            counts.customers_matched_by_phone += 1
        if tally.changed:
            counts.customers_updated += 1
        else:
            counts.customers_unchanged += 1

    # -- writing -------------------------------------------------------------------------

    def write(self) -> LoadResult:
        ctx = self.ctx
        self._insert_new_profiles()
        self._write_aliases()
        events = self._insert_events()
        bought = self._insert_purchases()
        self._update_profiles()
        self._write_subscriptions()

        points = {
            "attributes": self.attribute_points,
            "events": EVENT_POINTS * len(events),
            "event_properties": sum(property_points(e.properties) for e in events.values()),
            "purchases": PURCHASE_POINTS * len(bought),
            "purchase_properties": sum(property_points(p.properties) for p in bought.values()),
        }
        self.counts.events_written = len(events)
        self.counts.purchases_written = len(bought)
        self.counts.data_points = sum(points.values())
        record_datapoints(self.conn, ctx.workspace_id, ctx.backfill_id, points, self.now)
        issues = list(dict.fromkeys(self.issues))
        record_issues(self.conn, ctx.workspace_id, ctx.backfill_id, issues, self.now)

        changes: list[Change] = []
        for profile, change in self.changes:
            if isinstance(change, EventAdded) and change.dedup_key not in events:
                continue  # a concurrent writer stored it first: not ours, not billed
            if isinstance(change, PurchaseAdded) and change.dedup_key not in bought:
                continue
            changes.append(replace(change, user_id=profile.key))
        return LoadResult(
            counts=self.counts,
            issues=issues,
            changes=changes,
            data_points_by_category=points,
        )

    def _profile_values(self, profile: Profile) -> dict[str, Any]:
        attributes = profile.attributes
        custom = dict(profile.other_custom)
        custom.update((name, attributes[name]) for name in CUSTOM_ATTRIBUTES if name in attributes)
        values: dict[str, Any] = {name: attributes.get(name) for name in STANDARD_ATTRIBUTES}
        values["custom_attributes"] = custom
        values["last_activity"] = profile.last_activity
        return values

    def _insert_new_profiles(self) -> None:
        new = sorted((p for p in self.index.profiles.values() if p.is_new), key=lambda p: p.rank)
        if not new:
            return
        rows = [
            {
                **self._profile_values(profile),
                "workspace_id": self.ctx.workspace_id,
                "external_id": None,
                "created_at": self.now,
                "updated_at": self.now,
                "created_by_backfill": profile.created_by_backfill,
            }
            for profile in new
        ]
        ids: Sequence[int]
        if self.conn.dialect.name == "sqlite":
            # SQLAlchemy can only correlate RETURNING rows with parameters on SQLite by
            # inserting one row per statement; the batch already holds SQLite's write lock
            # (BEGIN IMMEDIATE), so allocating the next ids here is race-free and lets one
            # executemany insert them all.
            start = (
                int(
                    self.conn.execute(
                        sa.select(sa.func.coalesce(sa.func.max(users.c.id), 0))
                    ).scalar_one()
                )
                + 1
            )
            ids = range(start, start + len(rows))
            for row, user_id in zip(rows, ids, strict=True):
                row["id"] = user_id
            self.conn.execute(sa.insert(users), rows)
        else:
            statement = sa.insert(users).returning(users.c.id, sort_by_parameter_order=True)
            ids = self.conn.execute(statement, rows).scalars().all()
        for profile, user_id in zip(new, ids, strict=True):
            profile.key = int(user_id)

    def _write_aliases(self) -> None:
        profiles = list(self.index.profiles.values())
        removed = [
            {"b_user": p.key, "b_label": label}
            for p in profiles
            if not p.is_new
            for label in sorted(p.removed_aliases)
        ]
        if removed:
            self.conn.execute(
                sa.delete(aliases).where(
                    aliases.c.user_id == sa.bindparam("b_user"),
                    aliases.c.label == sa.bindparam("b_label"),
                ),
                removed,
            )
        added = [
            {
                "workspace_id": self.ctx.workspace_id,
                "user_id": p.key,
                "label": label,
                "name": p.aliases[label],
                "created_at": self.now,
            }
            for p in profiles
            for label in sorted(p.added_aliases)
        ]
        if added:
            self.conn.execute(upsert(self.conn, aliases).on_conflict_do_nothing(), added)

    def _common(self, profile: Profile, dedup_key: str, time: datetime) -> dict[str, Any]:
        ctx = self.ctx
        return {
            "workspace_id": ctx.workspace_id,
            "user_id": profile.key,
            "time": time,
            "source": ctx.source,
            "historical": ctx.historical,
            "backfill_id": ctx.backfill_id,
            "dedup_key": dedup_key,
            "created_at": self.now,
        }

    def _insert_events(self) -> dict[str, EventIntent]:
        if not self.events:
            return {}
        rows = [
            {
                **self._common(profile, event.dedup_key, event.time),
                "name": event.name,
                "properties": dict(event.properties),
            }
            for profile, event in self.events
        ]
        statement = (
            upsert(self.conn, custom_events)
            .on_conflict_do_nothing(index_elements=["workspace_id", "name", "dedup_key"])
            .returning(custom_events.c.dedup_key)
        )
        inserted = set(self.conn.execute(statement, rows).scalars())
        return {e.dedup_key: e for _, e in self.events if e.dedup_key in inserted}

    def _insert_purchases(self) -> dict[str, PurchaseIntent]:
        if not self.purchases:
            return {}
        rows = [
            {
                **self._common(profile, purchase.dedup_key, purchase.time),
                "product_id": purchase.product_id,
                "currency": purchase.currency,
                "price": purchase.price,
                "quantity": purchase.quantity,
                "properties": dict(purchase.properties),
            }
            for profile, purchase in self.purchases
        ]
        statement = (
            upsert(self.conn, purchases)
            .on_conflict_do_nothing(index_elements=["workspace_id", "dedup_key"])
            .returning(purchases.c.dedup_key)
        )
        inserted = set(self.conn.execute(statement, rows).scalars())
        return {p.dedup_key: p for _, p in self.purchases if p.dedup_key in inserted}

    def _update_profiles(self) -> None:
        dirty = [p for p in self.index.profiles.values() if p.dirty and not p.is_new]
        if not dirty:
            return
        columns = [*STANDARD_ATTRIBUTES, "custom_attributes", "last_activity"]
        statement = (
            sa.update(users)
            .where(users.c.id == sa.bindparam("b_id"))
            .values(
                {
                    name: sa.bindparam(f"b_{name}", type_=users.c[name].type)
                    for name in [*columns, "updated_at"]
                }
            )
        )
        rows = []
        for profile in dirty:
            values = self._profile_values(profile)
            row = {f"b_{name}": values[name] for name in columns}
            row["b_id"] = profile.key
            row["b_updated_at"] = self.now
            rows.append(row)
        self.conn.execute(statement, rows)

    def _write_subscriptions(self) -> None:
        if not self.subscriptions:
            return
        rows = [
            {
                "workspace_id": self.ctx.workspace_id,
                "user_id": profile.key,
                "group_id": group_id,
                "state": state,
                "updated_at": self.now,
            }
            for (profile, group_id), state in self.subscriptions.items()
        ]
        statement = upsert(self.conn, user_subscriptions)
        statement = statement.on_conflict_do_update(
            index_elements=["user_id", "group_id"],
            set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
        )
        self.conn.execute(statement, rows)
