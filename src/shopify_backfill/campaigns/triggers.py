"""The trigger engine: which profile changes fire which campaigns, recorded in an outbox.

It runs after every ``load_batch``, inside the batch's transaction, on exactly the
changes the load applied (``LoadResult.changes``). Per batch it reads the workspace's
mode and its listening campaigns once, evaluates every change in memory and writes all
messages with one ``executemany``; so its cost grows with the changes, not with the
number of statements.

Rules, in order: historical (backfilled) data triggers nothing unless the workspace opted
in to seed-compatible mode (``workspaces.trigger_historical``); the campaign must be
active and action-based; its trigger must match the change; the data's time must lie in
``[start_at, end_at]``; an exception-event trigger also needs the user to have received
the campaign it refers to. The same data reaches a user through a campaign at most once
(unique key ``campaign_id, user_id, data_key``).

The matcher is pure, so the risk audit runs the very same code on a dry run's changes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import sqlalchemy as sa

from shopify_backfill.campaigns.model import (
    AddEmailAddress,
    Campaign,
    ChangeCustomAttributeValue,
    MakePurchase,
    PerformConversionEvent,
    PerformCustomEvent,
    PerformExceptionEvent,
    TriggerType,
    UpdateSubscriptionGroupStatus,
    UpdateSubscriptionStatus,
)
from shopify_backfill.campaigns.repository import listening_campaigns
from shopify_backfill.campaigns.tables import campaigns, triggered_messages
from shopify_backfill.profiles.bulk import BulkInsert
from shopify_backfill.profiles.changes import (
    AttributeChanged,
    Change,
    EmailAdded,
    EventAdded,
    PurchaseAdded,
    SubscriptionChanged,
)
from shopify_backfill.profiles.collection import collection_paused
from shopify_backfill.profiles.dialect import planned_per_execution
from shopify_backfill.profiles.identity import rows_in, same_value
from shopify_backfill.profiles.results import LoadResult
from shopify_backfill.profiles.schema import workspaces
from shopify_backfill.profiles.writes import LoadContext


@dataclass(frozen=True, slots=True)
class Policy:
    """How changes are judged: the workspace's mode, and whether schedules apply.

    ``honour_schedule=False`` is only for the audit's "would the trigger match at all"
    column; the engine itself always honours start and end times.
    """

    trigger_historical: bool
    honour_schedule: bool = True


class TriggeredMessage(NamedTuple):
    """One outbox entry: ``campaign_id`` would message ``user_id`` about this data.

    An immutable named tuple rather than a frozen dataclass: a batch in seed-compatible
    mode creates tens of thousands of them, and a tuple is built in C (about 5x faster
    than a frozen dataclass, whose constructor sets each field through
    ``object.__setattr__``).
    """

    campaign_id: int
    user_id: int
    trigger_type: TriggerType
    data_kind: str
    data_key: str
    data: Mapping[str, Any]
    data_time: datetime
    historical: bool


@dataclass(frozen=True, slots=True)
class Reach:
    """How many users and messages (data items) a campaign gets."""

    users: int
    messages: int


@dataclass(slots=True)
class OutboxMemory:
    """The part of the outbox the matcher consults, plus what it decided so far.

    ``received`` feeds exception-event triggers; ``recorded`` keeps one message per
    (campaign, user, data). The engine loads it per batch; the audit keeps one across its
    whole dry run and also loads existing keys, so that its counts equal what inserts
    with ``ON CONFLICT DO NOTHING`` would really add.
    """

    check_existing: bool = False
    received: set[tuple[int, int]] = field(default_factory=set)
    recorded: set[tuple[int, int, str]] = field(default_factory=set)
    loaded_users: set[int] = field(default_factory=set)

    def preload(
        self,
        conn: sa.Connection,
        workspace_id: int,
        user_ids: Collection[int],
        referenced: Collection[int],
    ) -> None:
        users = sorted(set(user_ids) - self.loaded_users)
        if not users or (not referenced and not self.check_existing):
            return
        self.loaded_users.update(users)
        tm = triggered_messages
        query = sa.select(tm.c.campaign_id, tm.c.user_id, tm.c.data_key).where(
            tm.c.workspace_id == workspace_id
        )
        if not self.check_existing:
            query = query.where(tm.c.campaign_id.in_(sorted(referenced)))
        for row in rows_in(conn, query, tm.c.user_id, users):
            self.received.add((int(row.campaign_id), int(row.user_id)))
            self.recorded.add((int(row.campaign_id), int(row.user_id), row.data_key))

    def add(self, message: TriggeredMessage) -> None:
        self.received.add((message.campaign_id, message.user_id))
        self.recorded.add((message.campaign_id, message.user_id, message.data_key))


def describe(change: Change) -> tuple[str, str, dict[str, Any]]:
    """``(data_kind, data_key, data)``: what the data is, and its identity.

    Events and purchases are identified by their Shopify identity; an attribute, email or
    subscription change by what it became and the time of the data, so a value that
    changes back and forth later is new data, while a replay of the same load is not.
    """
    if isinstance(change, EventAdded):
        identity = f"event\x1f{change.name}\x1f{change.dedup_key}"
        data: dict[str, Any] = {"event": change.name, "dedup_key": change.dedup_key}
    elif isinstance(change, PurchaseAdded):
        identity = f"purchase\x1f{change.dedup_key}"
        data = {
            "product_id": change.product_id,
            "dedup_key": change.dedup_key,
            "price": change.price,
            "quantity": change.quantity,
            "currency": change.currency,
        }
    elif isinstance(change, AttributeChanged):
        identity = f"attribute\x1f{change.name}\x1f{change.new!r}\x1f{change.time.isoformat()}"
        data = {"attribute": change.name, "old": change.old, "new": change.new}
    elif isinstance(change, EmailAdded):
        identity = f"email\x1f{change.email}\x1f{change.time.isoformat()}"
        data = {"email": change.email}
    else:
        identity = (
            f"subscription\x1f{change.group_id}\x1f{change.state}\x1f{change.time.isoformat()}"
        )
        data = {
            "group_id": change.group_id,
            "channel": change.channel,
            "old_state": change.old_state,
            "state": change.state,
        }
    key = hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()
    return change.kind, key, data


class Matcher:
    """The listening campaigns indexed by what they listen to, ready for one batch."""

    def __init__(
        self, listening: Sequence[Campaign], referenced_ids: Mapping[str, int] | None = None
    ) -> None:
        self.campaigns = [c for c in listening if c.listens and c.trigger is not None]
        self.referenced_ids = dict(referenced_ids or {})
        self._attributes: dict[str, list[Campaign]] = defaultdict(list)
        self._events: dict[str, list[Campaign]] = defaultdict(list)
        self._purchases: list[Campaign] = []
        self._emails: list[Campaign] = []
        self._subscriptions: list[Campaign] = []
        self._exception_events: set[str] = set()
        self._by_name = {c.name: c for c in self.campaigns}
        self._resolved: dict[Hashable, tuple[_Listener, ...]] = {}
        self._listener: dict[int, _Listener] = {}
        for campaign in self.campaigns:
            trigger = campaign.trigger
            if trigger is None:  # pragma: no cover - filtered above
                continue
            exception = isinstance(trigger, PerformExceptionEvent)
            self._listener[campaign.id] = _Listener(
                campaign=campaign,
                campaign_id=campaign.id,
                trigger_type=trigger.type,
                start_at=campaign.start_at,
                end_at=campaign.end_at,
                exception=exception,
                referenced=self.referenced_ids.get(trigger.campaign)
                if isinstance(trigger, PerformExceptionEvent)
                else None,
            )
        for campaign in sorted(self.campaigns, key=self._order):
            trigger = campaign.trigger
            if isinstance(trigger, ChangeCustomAttributeValue):
                self._attributes[trigger.attribute].append(campaign)
            elif isinstance(trigger, PerformCustomEvent):
                self._events[trigger.event_name].append(campaign)
            elif isinstance(trigger, PerformExceptionEvent):
                self._events[trigger.event_name].append(campaign)
                self._exception_events.add(trigger.event_name)
            elif isinstance(trigger, PerformConversionEvent):
                if trigger.conversion == "custom_event" and trigger.event_name is not None:
                    self._events[trigger.event_name].append(campaign)
                else:
                    self._purchases.append(campaign)
            elif isinstance(trigger, MakePurchase):
                self._purchases.append(campaign)
            elif isinstance(trigger, AddEmailAddress):
                self._emails.append(campaign)
            elif isinstance(trigger, UpdateSubscriptionStatus | UpdateSubscriptionGroupStatus):
                self._subscriptions.append(campaign)

    def _order(self, campaign: Campaign) -> tuple[int, int]:
        """Exception campaigns after the campaigns they refer to, then by id."""
        depth = 0
        current: Campaign | None = campaign
        while current is not None and isinstance(current.trigger, PerformExceptionEvent):
            depth += 1
            current = self._by_name.get(current.trigger.campaign)
            if depth > len(self.campaigns):  # a loop slipped past validation: stop counting
                break
        return depth, campaign.id

    @property
    def empty(self) -> bool:
        return not self.campaigns

    @property
    def referenced(self) -> set[int]:
        return set(self.referenced_ids.values())

    def exception_users(self, changes: Iterable[Change]) -> set[int]:
        """Users whose events an exception trigger must check against the outbox."""
        if not self._exception_events:
            return set()
        return {
            c.user_id
            for c in changes
            if isinstance(c, EventAdded) and c.name in self._exception_events
        }

    def candidates(self, change: Change) -> list[Campaign]:
        """Campaigns whose trigger type and parameters match ``change`` (schedule aside)."""
        return [listener.campaign for listener in self._listeners(change)]

    def _listeners(self, change: Change) -> tuple[_Listener, ...]:
        """``candidates``, resolved once per distinct key of the batch and remembered.

        A batch repeats the same few keys thousands of times (one event name, a
        catalogue of products, a handful of custom attributes and values), so matching
        costs a dictionary lookup per change instead of a test per campaign.
        """
        if isinstance(change, EventAdded):
            key: Hashable = ("event", change.name)
        elif isinstance(change, PurchaseAdded):
            key = ("purchase", change.product_id)
        elif isinstance(change, AttributeChanged):
            if not change.custom:
                return ()
            # The value's type is part of the key: "3" and 3 match differently.
            key = ("attribute", change.name, type(change.new), change.new)
        elif isinstance(change, EmailAdded):
            key = "email"
        else:
            key = ("subscription", change.channel, change.group_id, change.state)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = tuple(
                self._listener[campaign.id] for campaign in self._match(change)
            )
        return found

    def _match(self, change: Change) -> list[Campaign]:
        if isinstance(change, EventAdded):
            return self._events.get(change.name, [])
        if isinstance(change, PurchaseAdded):
            return [c for c in self._purchases if _product_matches(c, change.product_id)]
        if isinstance(change, AttributeChanged):
            return [
                c for c in self._attributes.get(change.name, []) if _value_matches(c, change.new)
            ]
        if isinstance(change, EmailAdded):
            return self._emails
        return [c for c in self._subscriptions if _subscription_matches(c, change)]

    def evaluate(
        self, changes: Iterable[Change], policy: Policy, memory: OutboxMemory
    ) -> list[TriggeredMessage]:
        """The messages ``changes`` trigger, in change order, updating ``memory``.

        Sequential by nature: an exception trigger depends on messages triggered by
        earlier changes (and by the same change's earlier campaigns), so the loop stays
        in data order and keeps its per-message work to a few set operations.
        """
        messages: list[TriggeredMessage] = []
        append = messages.append
        trigger_historical = policy.trigger_historical
        honour_schedule = policy.honour_schedule
        received, recorded = memory.received, memory.recorded
        for change in changes:
            historical = change.historical
            if historical and not trigger_historical:
                continue
            listeners = self._listeners(change)
            if not listeners:
                continue
            kind, key, data = describe(change)
            user_id, time = change.user_id, change.time
            for listener in listeners:
                if honour_schedule:
                    start, end = listener.start_at, listener.end_at
                    if start is None or time < start or (end is not None and time > end):
                        continue
                if listener.exception:
                    referenced = listener.referenced
                    if referenced is None or (referenced, user_id) not in received:
                        continue
                campaign_id = listener.campaign_id
                if (campaign_id, user_id, key) in recorded:
                    continue
                received.add((campaign_id, user_id))
                recorded.add((campaign_id, user_id, key))
                append(
                    TriggeredMessage(
                        campaign_id,
                        user_id,
                        listener.trigger_type,
                        kind,
                        key,
                        data,
                        time,
                        historical,
                    )
                )
        return messages


@dataclass(frozen=True, slots=True)
class _Listener:
    """What ``Matcher.evaluate`` needs of a campaign, unpacked once per batch."""

    campaign: Campaign
    campaign_id: int
    trigger_type: TriggerType
    start_at: datetime | None
    end_at: datetime | None
    exception: bool
    referenced: int | None
    """For an exception trigger: the id of the campaign the user must have received."""


def _product_matches(campaign: Campaign, product_id: str) -> bool:
    trigger = campaign.trigger
    if isinstance(trigger, MakePurchase | PerformConversionEvent):
        return trigger.product_id is None or trigger.product_id == product_id
    return False


def _value_matches(campaign: Campaign, value: object) -> bool:
    trigger = campaign.trigger
    if not isinstance(trigger, ChangeCustomAttributeValue):
        return False
    return trigger.value is None or same_value(value, trigger.value)


def _subscription_matches(campaign: Campaign, change: Change) -> bool:
    if not isinstance(change, SubscriptionChanged):
        return False
    trigger = campaign.trigger
    if isinstance(trigger, UpdateSubscriptionStatus):
        return trigger.channel == change.channel and trigger.state == change.state
    if isinstance(trigger, UpdateSubscriptionGroupStatus):
        return trigger.group_id == change.group_id and trigger.state == change.state
    return False


def workspace_policy(conn: sa.Connection, workspace_id: int) -> Policy:
    flag = conn.execute(
        sa.select(workspaces.c.trigger_historical).where(workspaces.c.id == workspace_id)
    ).scalar_one()
    return Policy(trigger_historical=bool(flag))


def load_matcher(conn: sa.Connection, workspace_id: int) -> Matcher:
    """The workspace's listening campaigns, and the ids their exception triggers refer to."""
    listening = listening_campaigns(conn, workspace_id)
    wanted = {c.trigger.campaign for c in listening if isinstance(c.trigger, PerformExceptionEvent)}
    referenced: dict[str, int] = {}
    if wanted:
        rows = conn.execute(
            sa.select(campaigns.c.name, campaigns.c.id).where(
                campaigns.c.workspace_id == workspace_id, campaigns.c.name.in_(sorted(wanted))
            )
        )
        referenced = {name: int(campaign_id) for name, campaign_id in rows}
    return Matcher(listening, referenced)


def triggered_by(
    conn: sa.Connection, ctx: LoadContext, changes: Sequence[Change]
) -> list[TriggeredMessage]:
    """The messages one batch's changes trigger, without recording them.

    Reads the workspace's mode (one primary-key lookup, and nothing else when silent mode
    meets a purely historical batch), the listening campaigns and, for exception
    triggers, who already received what; then evaluates in memory.
    """
    if not changes:
        return []
    with collection_paused(), planned_per_execution(conn):
        policy = workspace_policy(conn, ctx.workspace_id)
        if not policy.trigger_historical and all(change.historical for change in changes):
            return []
        matcher = load_matcher(conn, ctx.workspace_id)
        if matcher.empty:
            return []
        memory = OutboxMemory()
        memory.preload(conn, ctx.workspace_id, matcher.exception_users(changes), matcher.referenced)
        return matcher.evaluate(changes, policy, memory)


def record_triggers(
    conn: sa.Connection,
    ctx: LoadContext,
    changes: Sequence[Change],
    *,
    now: datetime | None = None,
) -> list[TriggeredMessage]:
    """Evaluate one batch's changes and write the messages they trigger to the outbox.

    Runs in the caller's transaction, so the outbox commits with the batch. Returns the
    messages evaluated as new; a row already in the outbox is left as it is.
    """
    with collection_paused(), planned_per_execution(conn):
        messages = triggered_by(conn, ctx, changes)
        if messages:
            workspace_id, backfill_id = ctx.workspace_id, ctx.backfill_id
            recorded_at = now or ctx.now or datetime.now(UTC)
            _INSERT_MESSAGES.execute(
                conn,
                [
                    (
                        workspace_id,
                        m.campaign_id,
                        m.user_id,
                        m.trigger_type,
                        m.data_kind,
                        m.data_key,
                        m.data,
                        m.data_time,
                        m.historical,
                        backfill_id,
                        recorded_at,
                    )
                    for m in messages
                ],
            )
        return messages


_INSERT_MESSAGES: Final = BulkInsert(
    triggered_messages,
    (
        "workspace_id",
        "campaign_id",
        "user_id",
        "trigger_type",
        "data_kind",
        "data_key",
        "data",
        "data_time",
        "historical",
        "backfill_id",
        "recorded_at",
    ),
    conflict=("campaign_id", "user_id", "data_key"),
)
"""The outbox write: one statement per batch (``profiles.bulk``: SQLite executemany,
PostgreSQL one JSON document), ``ON CONFLICT DO NOTHING`` on the idempotence key."""


def trigger_hook(conn: sa.Connection, ctx: LoadContext, result: LoadResult) -> None:
    """After-batch hook for the backfill runner and any live loader."""
    record_triggers(conn, ctx, result.changes)


def outbox_reach(
    conn: sa.Connection, workspace_id: int, *, backfill_id: int | None = None
) -> dict[int, Reach]:
    """Users and messages per campaign in the outbox (optionally: one backfill's only)."""
    tm = triggered_messages
    query = (
        sa.select(
            tm.c.campaign_id, sa.func.count(sa.distinct(tm.c.user_id)), sa.func.count(tm.c.id)
        )
        .where(tm.c.workspace_id == workspace_id)
        .group_by(tm.c.campaign_id)
    )
    if backfill_id is not None:
        query = query.where(tm.c.backfill_id == backfill_id)
    return {
        int(campaign_id): Reach(users=int(users), messages=int(count))
        for campaign_id, users, count in conn.execute(query)
    }
