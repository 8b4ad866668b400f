"""Batched, idempotent loading of Shopify records into the profile store.

``load_batch`` runs inside the caller's transaction (the backfill job commits its
checkpoint in the same one) and issues about twenty statements per batch whatever its
size: the connection's settings, one identity preload, one lookup each for known events
and purchases, then one bulk statement per table (``profiles.bulk``), with ``ON
CONFLICT`` guards on every uniqueness rule. It plans the whole batch in memory first (see
``profiles.identity``), so what it reports as changed, and what it meters as data
points, is exactly what it writes: loading the same records again changes nothing and
costs nothing. docs/mapping.md ("The write path") records why each step is shaped the
way it is, with measurements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa

from shopify_backfill.errors import InputError
from shopify_backfill.mapping import map_records
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
from shopify_backfill.profiles.bulk import BulkInsert, BulkUpdate
from shopify_backfill.profiles.changes import (
    AttributeChanged,
    Change,
    Channel,
    EmailAdded,
    EventAdded,
    PurchaseAdded,
    SubscriptionChanged,
)
from shopify_backfill.profiles.collection import collection_paused
from shopify_backfill.profiles.datapoints import record_datapoints
from shopify_backfill.profiles.dialect import planned_per_execution
from shopify_backfill.profiles.identity import IdentityIndex, Match, Profile, rows_in
from shopify_backfill.profiles.quarantine import record_issues
from shopify_backfill.profiles.results import Issue, LoadCounts, LoadResult
from shopify_backfill.profiles.schema import (
    aliases,
    backfill_sightings,
    custom_events,
    purchases,
    user_subscriptions,
    users,
)
from shopify_backfill.profiles.workspaces import ConnectionSettings, connection_settings
from shopify_backfill.shopify.records import SourceRecord

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
    conn: sa.Connection, ctx: LoadContext, records: Sequence[SourceRecord]
) -> LoadResult:
    """Map, resolve and write ``records``; the caller owns (and commits) the transaction."""
    if not conn.in_transaction():
        raise InputError(
            "load_batch needs a connection inside a transaction owned by the caller "
            "(use `with engine.begin() as conn:`), so that it commits with the checkpoint"
        )
    with collection_paused(), planned_per_execution(conn):
        # The batch's working set is released when ``_load`` returns, inside the pause,
        # so the first collection after it has only the result left to look at.
        return _load(conn, ctx, records)


def _load(conn: sa.Connection, ctx: LoadContext, records: Sequence[SourceRecord]) -> LoadResult:
    if conn.dialect.name == "postgresql":
        _jit_off(conn)
    settings = connection_settings(conn, ctx.workspace_id, ctx.connection_id)
    options = MappingOptions(
        product_identifier=settings.product_identifier,
        backfill_counters=ctx.backfill_id is not None,
    )
    mapped = map_records(records, options)
    batch = _Batch(conn, ctx, settings, ctx.now or datetime.now(UTC))
    batch.plan(mapped)
    return batch.write()


def _jit_off(conn: sa.Connection) -> None:
    """No JIT compilation for the rest of this transaction (``is_local``), on PostgreSQL.

    The batch's statements are index probes and bulk writes whose cost estimates grow
    with the batch (and mean little before a new table has statistics). Past
    ``jit_above_cost`` the server compiled the identity lookup on every execution
    (prepared statements' cached plans keep the JIT decision too): measured 250 ms per
    batch of 500 instead of 25. The after-batch hooks share the transaction, and benefit.
    """
    conn.exec_driver_sql("SELECT set_config('jit', 'off', true)")


# -- statements: fixed SQL, prepared once per backend (see ``profiles.bulk``) -----------

_PROFILE_COLUMNS: Final = (*STANDARD_ATTRIBUTES, "custom_attributes", "last_activity")
_INSERT_USERS: Final = BulkInsert(
    users,
    (
        "id",
        "workspace_id",
        "external_id",
        *_PROFILE_COLUMNS,
        "created_at",
        "updated_at",
        "created_by_backfill",
    ),
)
_UPDATE_USERS: Final = BulkUpdate(users, "id", (*_PROFILE_COLUMNS, "updated_at"))
_INSERT_ALIASES: Final = BulkInsert(
    aliases, ("workspace_id", "user_id", "label", "name", "created_at"), conflict=()
)
_DATA_COLUMNS: Final = (
    "workspace_id",
    "user_id",
    "time",
    "source",
    "historical",
    "backfill_id",
    "dedup_key",
    "created_at",
    "properties",
)
_INSERT_EVENTS: Final = BulkInsert(
    custom_events, (*_DATA_COLUMNS, "name"), conflict=("workspace_id", "name", "dedup_key")
)
_PURCHASE_COLUMNS: Final = (*_DATA_COLUMNS, "product_id", "currency", "price", "quantity")
_INSERT_PURCHASES: Final = BulkInsert(
    purchases, _PURCHASE_COLUMNS, conflict=("workspace_id", "dedup_key")
)
_RETURNING_KEYS: Final = {
    statement: replace(statement, returning="dedup_key")
    for statement in (_INSERT_EVENTS, _INSERT_PURCHASES)
}
_UPSERT_SUBSCRIPTIONS: Final = BulkInsert(
    user_subscriptions,
    ("workspace_id", "user_id", "group_id", "state", "updated_at"),
    conflict=("user_id", "group_id"),
    update=("state = excluded.state", "updated_at = excluded.updated_at"),
)
_RECORD_SIGHTINGS: Final = BulkInsert(
    backfill_sightings,
    ("workspace_id", "backfill_id", "kind", "subject", "outcome", "changed", "first_seen_at"),
    conflict=("workspace_id", "backfill_id", "kind", "subject"),
    update=("changed = backfill_sightings.changed OR excluded.changed",),
)


@dataclass(slots=True)
class _CustomerTally:
    match: Match
    profile: Profile
    changed: bool = False


@dataclass(slots=True)
class _Applied:
    """The last customer intent applied in full to a profile, and the profile's version
    right after: the same intent again, on an untouched profile, can change nothing."""

    intent: CustomerIntent
    profile: Profile
    version: int


@dataclass(slots=True)
class _Batch:
    conn: sa.Connection
    ctx: LoadContext
    settings: ConnectionSettings
    now: datetime
    index: IdentityIndex = field(default_factory=IdentityIndex)
    counts: LoadCounts = field(default_factory=LoadCounts)
    issues: list[Issue] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    change_profiles: list[Profile] = field(default_factory=list)
    """Whose each change is: its ``user_id`` is provisional until new profiles are stored."""
    attribute_points: int = 0
    known_events: set[str] = field(default_factory=set)
    known_purchases: set[str] = field(default_factory=set)
    events: list[tuple[Profile, EventIntent]] = field(default_factory=list)
    purchases: list[tuple[Profile, PurchaseIntent]] = field(default_factory=list)
    subscriptions: dict[tuple[Profile, int], SubscriptionState] = field(default_factory=dict)
    customers: dict[str, _CustomerTally] = field(default_factory=dict)
    applied: dict[str, _Applied] = field(default_factory=dict)
    guest_sightings: dict[Profile, Match] = field(default_factory=dict)

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
        customer_ids: set[str] = set()
        emails: set[str] = set()
        phones: set[str] = set()
        event_keys: list[str] = []
        purchase_keys: list[str] = []
        seen: set[int] = set()

        def keys_of(customer: CustomerIntent | None) -> None:
            if customer is None or id(customer) in seen:
                return
            seen.add(id(customer))
            customer_ids.add(customer.shopify_customer_id)
            if customer.email:
                emails.add(customer.email)
            if customer.phone_e164:
                phones.add(customer.phone_e164)

        for item in mapped:
            if isinstance(item, CustomerIntent):
                keys_of(item)
            elif isinstance(item, OrderIntent):
                keys_of(item.customer)
                guest = item.guest
                if guest is not None:
                    if guest.email:
                        emails.add(guest.email)
                    if guest.phone_e164:
                        phones.add(guest.phone_e164)
                event_keys.append(item.event.dedup_key)
                purchase_keys.extend(p.dedup_key for p in item.purchases)
            elif isinstance(item, Rejected):
                keys_of(item.customer)
        workspace_id = self.ctx.workspace_id
        self.index = IdentityIndex.load(
            self.conn,
            workspace_id,
            customer_ids=customer_ids,
            emails=emails,
            phones=phones,
            subscriptions_for_backfill=self.ctx.backfill_id,
        )
        if event_keys:
            query = sa.select(custom_events.c.dedup_key).where(
                custom_events.c.workspace_id == workspace_id,
                custom_events.c.name == ORDER_EVENT_NAME,
            )
            self.known_events = {
                row.dedup_key
                for row in rows_in(
                    self.conn, query, custom_events.c.dedup_key, sorted(set(event_keys))
                )
            }
        if purchase_keys:
            query = sa.select(purchases.c.dedup_key).where(purchases.c.workspace_id == workspace_id)
            self.known_purchases = {
                row.dedup_key
                for row in rows_in(
                    self.conn, query, purchases.c.dedup_key, sorted(set(purchase_keys))
                )
            }

    def _customer(self, intent: CustomerIntent, kind: RecordKind) -> Profile:
        customer_id = intent.shopify_customer_id
        applied = self.applied.get(customer_id)
        if (
            applied is not None
            and applied.intent is intent
            and applied.profile.version == applied.version
            and self.index.alias_owner.get((ALIAS_CUSTOMER_ID, customer_id)) is applied.profile
        ):
            # A repeat (the customer inline on its next order): every alias is already the
            # profile's, every value already stored, and nothing touched the profile since.
            return applied.profile
        resolved = self.index.resolve_customer(intent)
        if resolved is None:
            profile = self.index.create(created_by_backfill=self.ctx.backfill_id)
            match: Match = "created"
        else:
            profile, match = resolved
        tally = self.customers.get(customer_id)
        if tally is None:
            tally = self.customers[customer_id] = _CustomerTally(match, profile)
        time = intent.time or self.now
        changed = False
        complete = True
        for label, name in (
            (ALIAS_CUSTOMER_ID, customer_id),
            (ALIAS_EMAIL, intent.email),
            (ALIAS_PHONE, intent.phone_e164),
        ):
            if name is not None:
                outcome = self._alias(profile, label, name, "customer", customer_id)
                changed |= outcome in ("added", "replaced")
                complete &= outcome != "taken"
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
            self.issues.append(Issue(kind, customer_id, "partial", note))
        if complete:
            self.applied[customer_id] = _Applied(intent, profile, profile.version)
        else:
            # A "taken" alias may free up later in the batch: never skip this customer.
            self.applied.pop(customer_id, None)
        return profile

    def _alias(
        self, profile: Profile, label: str, name: str, kind: RecordKind, shopify_id: str
    ) -> str:
        outcome = self.index.claim_alias(profile, label, name)
        if outcome == "taken":
            reason = f"alias {label}={name} already belongs to another profile; not added"
            self.issues.append(Issue(kind, shopify_id, "partial", reason))
        return outcome

    def _attributes(
        self, profile: Profile, attributes: Mapping[str, AttributeValue], time: datetime
    ) -> bool:
        changed = False
        historical = self.ctx.historical
        key = profile.key
        set_attribute = self.index.set_attribute
        for name, value in attributes.items():
            did_change, old = set_attribute(profile, name, value)
            if not did_change:
                continue
            changed = True
            self.attribute_points += ATTRIBUTE_POINTS
            custom = name not in STANDARD_ATTRIBUTES
            self._change(profile, AttributeChanged(key, name, old, value, custom, time, historical))
            if name == "email" and isinstance(value, str):
                self._change(profile, EmailAdded(key, value, time, historical))
        return changed

    def _change(self, profile: Profile, change: Change) -> None:
        self.changes.append(change)
        self.change_profiles.append(profile)

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
        profile.version += 1
        self.subscriptions[(profile, group_id)] = state
        self._change(
            profile,
            SubscriptionChanged(
                profile.key, group_id, channel, old, state, time, self.ctx.historical
            ),
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
            self._change(
                profile,
                EventAdded(
                    profile.key,
                    event.name,
                    event.dedup_key,
                    event.properties,
                    event.time,
                    historical,
                ),
            )
            added = True
        for purchase in order.purchases:
            if purchase.dedup_key not in self.known_purchases:
                self.known_purchases.add(purchase.dedup_key)
                self.purchases.append((profile, purchase))
                self.index.note_activity(profile, purchase.time)
                self._change(
                    profile,
                    PurchaseAdded(
                        profile.key,
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
            if self._existed_before_backfill(profile):
                self.guest_sightings.setdefault(profile, match)
            return profile
        profile = self.index.create(created_by_backfill=self.ctx.backfill_id)
        self.counts.guest_profiles_created += 1
        self.guest_sightings[profile] = "created"
        for label, name in ((ALIAS_EMAIL, guest.email), (ALIAS_PHONE, guest.phone_e164)):
            if name is not None:
                self._alias(profile, label, name, "order", order.shopify_order_id)
        self._attributes(profile, guest.attributes, order.event.time)
        return profile

    def _existed_before_backfill(self, profile: Profile) -> bool:
        """Not created by this load, nor earlier by the same backfill."""
        if profile.is_new:
            return False
        backfill_id = self.ctx.backfill_id
        return backfill_id is None or profile.created_by_backfill != backfill_id

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
        self._record_sightings()

        points = {
            "attributes": self.attribute_points,
            "events": EVENT_POINTS * len(events),
            "event_properties": sum(property_points(e.properties) for e in events.values()),
            "purchases": PURCHASE_POINTS * len(bought),
            "purchase_properties": _purchase_property_points(bought.values()),
        }
        self.counts.events_written = len(events)
        self.counts.purchases_written = len(bought)
        self.counts.data_points = sum(points.values())
        record_datapoints(self.conn, ctx.workspace_id, ctx.backfill_id, points, self.now)
        issues = list(dict.fromkeys(self.issues))
        record_issues(self.conn, ctx.workspace_id, ctx.backfill_id, issues, self.now)

        changes: list[Change] = []
        all_events = len(events) == len(self.events)
        all_purchases = len(bought) == len(self.purchases)
        for change, profile in zip(self.changes, self.change_profiles, strict=True):
            # A concurrent writer may have stored an event or purchase first: then it is
            # not ours to report, nor billed.
            if not all_events and isinstance(change, EventAdded):
                if change.dedup_key not in events:
                    continue
            elif (
                not all_purchases
                and isinstance(change, PurchaseAdded)
                and change.dedup_key not in bought
            ):
                continue
            if change.user_id != profile.key:
                # Made while the profile was new, with its provisional id; nothing has
                # seen the change yet, so it gets the stored id in place.
                object.__setattr__(change, "user_id", profile.key)
            changes.append(change)
        return LoadResult(
            counts=self.counts,
            issues=issues,
            changes=changes,
            data_points_by_category=points,
        )

    def _profile_values(self, profile: Profile) -> tuple[Any, ...]:
        """The profile's columns in ``_PROFILE_COLUMNS`` order."""
        attributes = profile.attributes
        custom = dict(profile.other_custom)
        for name in CUSTOM_ATTRIBUTES:
            if name in attributes:
                custom[name] = attributes[name]
        get = attributes.get
        return (*[get(name) for name in STANDARD_ATTRIBUTES], custom, profile.last_activity)

    def _insert_new_profiles(self) -> None:
        new = sorted((p for p in self.index.profiles.values() if p.is_new), key=lambda p: p.rank)
        if not new:
            return
        conn = self.conn
        ids: Sequence[int]
        if conn.dialect.name == "sqlite":
            # The batch holds SQLite's write lock (BEGIN IMMEDIATE): allocating the next ids
            # here is race-free, and lets one executemany insert them all.
            start = (
                int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM users").scalar_one()) + 1
            )
            ids = range(start, start + len(new))
        else:
            # Ids drawn from the table's own sequence up front, in ascending order, so the
            # insert needs no RETURNING to tell which row got which id.
            ids = sorted(
                conn.exec_driver_sql(
                    "SELECT nextval(pg_get_serial_sequence('users', 'id')) "
                    "FROM generate_series(1, %s)",
                    (len(new),),
                ).scalars()
            )
        workspace_id, now = self.ctx.workspace_id, self.now
        rows = []
        for profile, user_id in zip(new, ids, strict=True):
            profile.key = int(user_id)
            rows.append(
                (
                    profile.key,
                    workspace_id,
                    None,
                    *self._profile_values(profile),
                    now,
                    now,
                    profile.created_by_backfill,
                )
            )
        _INSERT_USERS.execute(conn, rows)

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
        workspace_id, now = self.ctx.workspace_id, self.now
        added = [
            (workspace_id, p.key, label, p.aliases[label], now)
            for p in profiles
            if p.added_aliases
            for label in sorted(p.added_aliases)
        ]
        _INSERT_ALIASES.execute(self.conn, added)

    def _common(self) -> tuple[int, str, bool, int | None, datetime]:
        ctx = self.ctx
        return ctx.workspace_id, ctx.source, ctx.historical, ctx.backfill_id, self.now

    def _insert_events(self) -> dict[str, EventIntent]:
        if not self.events:
            return {}
        workspace_id, source, historical, backfill_id, now = self._common()
        rows = [
            (
                workspace_id,
                profile.key,
                event.time,
                source,
                historical,
                backfill_id,
                event.dedup_key,
                now,
                event.properties,
                event.name,
            )
            for profile, event in self.events
        ]
        inserted = self._insert_data(_INSERT_EVENTS, custom_events, rows)
        return {
            e.dedup_key: e for _, e in self.events if inserted is None or e.dedup_key in inserted
        }

    def _insert_purchases(self) -> dict[str, PurchaseIntent]:
        if not self.purchases:
            return {}
        workspace_id, source, historical, backfill_id, now = self._common()
        rows = [
            (
                workspace_id,
                profile.key,
                purchase.time,
                source,
                historical,
                backfill_id,
                purchase.dedup_key,
                now,
                purchase.properties,
                purchase.product_id,
                purchase.currency,
                purchase.price,
                purchase.quantity,
            )
            for profile, purchase in self.purchases
        ]
        inserted = self._insert_data(_INSERT_PURCHASES, purchases, rows)
        return {
            p.dedup_key: p for _, p in self.purchases if inserted is None or p.dedup_key in inserted
        }

    def _insert_data(
        self, statement: BulkInsert, table: sa.Table, rows: list[tuple[Any, ...]]
    ) -> set[str] | None:
        """Insert event or purchase rows; the dedup keys really inserted (``None``: all).

        PostgreSQL says which rows went in (``RETURNING``). SQLite cannot return rows from
        an ``executemany``, but the batch holds its write lock, so its rows get the
        consecutive ids ending at ``last_insert_rowid()``: when fewer rows went in than
        were sent, those ids tell which.
        """
        if self.conn.dialect.name != "sqlite":
            return set(_RETURNING_KEYS[statement].execute(self.conn, rows))
        inserted = statement.execute_counted(self.conn, rows)
        if inserted == len(rows):
            return None
        if not inserted:
            return set()
        last = int(self.conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        query = sa.select(table.c.dedup_key).where(table.c.id > last - inserted, table.c.id <= last)
        return set(self.conn.execute(query).scalars())

    def _update_profiles(self) -> None:
        now = self.now
        rows = [
            (profile.key, *self._profile_values(profile), now)
            for profile in self.index.profiles.values()
            if profile.dirty and not profile.is_new
        ]
        _UPDATE_USERS.execute(self.conn, rows)

    def _write_subscriptions(self) -> None:
        workspace_id, now = self.ctx.workspace_id, self.now
        rows = [
            (workspace_id, profile.key, group_id, state, now)
            for (profile, group_id), state in self.subscriptions.items()
        ]
        _UPSERT_SUBSCRIPTIONS.execute(self.conn, rows)

    def _record_sightings(self) -> None:
        """First sightings of this backfill's customers and guest profiles (see schema)."""
        backfill_id = self.ctx.backfill_id
        if backfill_id is None:
            return
        workspace_id, now = self.ctx.workspace_id, self.now
        rows: list[tuple[Any, ...]] = []
        for customer_id, tally in self.customers.items():
            outcome = tally.match
            if not self._existed_before_backfill(tally.profile):
                outcome = "created"
            rows.append(
                (workspace_id, backfill_id, "customer", customer_id, outcome, tally.changed, now)
            )
        # A guest order's profile that a customer of this backfill later claims (by email
        # or phone) is that customer's profile: counted once, as the customer created.
        claimed = [
            tally.profile
            for tally in self.customers.values()
            if not self._existed_before_backfill(tally.profile)
        ]
        claimed_ids = {id(profile) for profile in claimed}
        for profile, match in self.guest_sightings.items():
            if match == "created" and id(profile) in claimed_ids:
                continue
            rows.append((workspace_id, backfill_id, "guest", str(profile.key), match, False, now))
        earlier = [str(profile.key) for profile in claimed if not profile.is_new]
        if earlier:
            bs = backfill_sightings
            self.conn.execute(
                sa.delete(bs).where(
                    bs.c.workspace_id == workspace_id,
                    bs.c.backfill_id == backfill_id,
                    bs.c.kind == "guest",
                    bs.c.outcome == "created",
                    bs.c.subject.in_(earlier),
                )
            )
        _RECORD_SIGHTINGS.execute(self.conn, rows)


def _purchase_property_points(bought: Iterable[PurchaseIntent]) -> int:
    """Split purchases of one line item share their properties: count each object once."""
    points: dict[int, int] = {}
    total = 0
    for purchase in bought:
        key = id(purchase.properties)
        if key not in points:
            points[key] = property_points(purchase.properties)
        total += points[key]
    return total
