"""The campaign risk audit (SPEC §6): what the backfill would trigger, exactly, and the fixes.

Exact, not estimated: a dry run loads the window's records with the real ``load_batch``
inside a savepoint that is rolled back, and feeds the changes it reports to the same
matcher the engine uses, without writing the outbox. So identity resolution,
unchanged-attribute skipping, subscriptions for new profiles only and start/end times
all count as they will in the real run. The cost is one read of the window from Shopify
(the same extraction the backfill does) plus one load into a transaction that is thrown
away.

Each campaign is evaluated three ways in the same pass: under the workspace's current
mode (the prediction; zero in silent mode), in seed-compatible mode with its current
schedule (what would happen without silent backfill), and with schedules ignored (does
the trigger match the data at all). The fix follows the seed: move the start time to
the connection for make-purchase and perform-custom-event triggers, pause the rest; the
fixes applied are remembered so exactly those can be undone after the backfill.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from shopify_backfill.campaigns.model import START_TIME_FIX_TYPES, Campaign, Status, TriggerType
from shopify_backfill.campaigns.repository import change_status, listening_campaigns
from shopify_backfill.campaigns.tables import audit_fixes, campaigns
from shopify_backfill.campaigns.triggers import (
    Matcher,
    OutboxMemory,
    Policy,
    Reach,
    TriggeredMessage,
    load_matcher,
    workspace_policy,
)
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.changes import Change
from shopify_backfill.profiles.sightings import sighting_counts
from shopify_backfill.profiles.workspaces import tenant_connection
from shopify_backfill.profiles.writes import LoadContext, load_batch
from shopify_backfill.profiles.written import ProfileCount, from_sightings
from shopify_backfill.shopify.records import Customer, Order
from shopify_backfill.window import Window, window_for

Mode = Literal["silent", "seed_compatible"]
FixAction = Literal["pause", "move_start"]
Records = Sequence[Customer | Order]

UPDATE_TIMED_TYPES: frozenset[TriggerType] = frozenset(
    {
        "change_custom_attribute_value",
        "update_subscription_status",
        "update_subscription_group_status",
        "add_email_address",
    }
)

DRY_RUN_BACKFILL_ID = 0
"""Tags the dry run's writes when no backfill row exists yet; ids start at 1, so no
profile can already carry it and the dry run behaves like a first run."""


@dataclass(frozen=True)
class Fix:
    action: FixAction
    reason: str
    new_start_at: datetime | None = None

    def describe(self) -> str:
        if self.action == "move_start" and self.new_start_at is not None:
            return f"move the start time to {self.new_start_at:%Y-%m-%d %H:%M:%S} UTC"
        return "pause it during the backfill, resume it afterwards"


@dataclass(frozen=True)
class CampaignRisk:
    campaign_id: int
    name: str
    kind: str
    trigger_type: TriggerType
    start_at: datetime | None
    end_at: datetime | None
    predicted: Reach
    """Under the workspace's current mode: what the backfill will put in the outbox."""
    seed_compatible: Reach
    """If historical data triggered (seed behaviour), with the current start/end times."""
    matching: Reach
    """Data the trigger matches at all, schedule aside."""
    fix: Fix | None

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "name": self.name,
            "kind": self.kind,
            "trigger_type": self.trigger_type,
            "start_at": _iso(self.start_at),
            "end_at": _iso(self.end_at),
            "predicted": _reach_json(self.predicted),
            "seed_compatible": _reach_json(self.seed_compatible),
            "matching": _reach_json(self.matching),
            "fix": None
            if self.fix is None
            else {
                "action": self.fix.action,
                "new_start_at": _iso(self.fix.new_start_at),
                "reason": self.fix.reason,
            },
        }


@dataclass(frozen=True)
class RiskAudit:
    workspace_id: int
    connection_id: int
    shop_domain: str
    connected_at: datetime
    window: Window
    mode: Mode
    customers_read: int
    orders_read: int
    changes: int
    risks: tuple[CampaignRisk, ...]
    campaigns_checked: int = 0
    """Active action-based campaigns with a trigger; none means the window was not read."""
    profiles: ProfileCount | None = None
    """What the dry run wrote, each profile once: the run's own figure (``None`` when the
    window was not read)."""

    @property
    def window_read(self) -> bool:
        return self.campaigns_checked > 0

    @property
    def predicted_messages(self) -> int:
        return sum(risk.predicted.messages for risk in self.risks)

    @property
    def fixes(self) -> list[CampaignRisk]:
        return [risk for risk in self.risks if risk.fix is not None]

    def to_json(self) -> dict[str, Any]:
        return {
            "shop": self.shop_domain,
            "workspace_id": self.workspace_id,
            "connected_at": self.connected_at.isoformat(),
            "window": {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()},
            "mode": self.mode,
            "campaigns_checked": self.campaigns_checked,
            "window_read": self.window_read,
            "records_read": {"customers": self.customers_read, "orders": self.orders_read},
            "changes": self.changes,
            "profiles": self.profiles.to_json() if self.profiles is not None else None,
            "predicted_messages": self.predicted_messages,
            "campaigns": [risk.to_json() for risk in self.risks],
        }


@dataclass
class _Tally:
    users: set[int] = field(default_factory=set)
    messages: int = 0
    latest: datetime | None = None

    def add(self, message: TriggeredMessage) -> None:
        self.users.add(message.user_id)
        self.messages += 1
        if self.latest is None or message.data_time > self.latest:
            self.latest = message.data_time

    def reach(self) -> Reach:
        return Reach(users=len(self.users), messages=self.messages)


@dataclass
class _Run:
    """One way of judging the dry run's changes, with its own outbox memory."""

    policy: Policy
    memory: OutboxMemory = field(default_factory=lambda: OutboxMemory(check_existing=True))
    tallies: dict[int, _Tally] = field(default_factory=dict)

    def feed(
        self, conn: sa.Connection, ctx: LoadContext, matcher: Matcher, changes: Sequence[Change]
    ) -> None:
        users = {change.user_id for change in changes}
        self.memory.preload(conn, ctx.workspace_id, users, matcher.referenced)
        for message in matcher.evaluate(changes, self.policy, self.memory):
            self.tallies.setdefault(message.campaign_id, _Tally()).add(message)

    def reach(self, campaign_id: int) -> Reach:
        tally = self.tallies.get(campaign_id)
        return tally.reach() if tally else Reach(0, 0)


def audit_backfill(
    conn: sa.Connection,
    *,
    workspace_id: int,
    connection_id: int,
    batches: Iterable[Records],
    backfill_id: int | None = None,
) -> RiskAudit:
    """Dry-run ``batches`` (the window's records) and report every campaign at risk.

    ``conn`` must be inside a transaction; everything the dry run writes happens in a
    savepoint that is rolled back, so the store is unchanged afterwards. Pass the shop's
    backfill row as ``backfill_id`` when it exists, so the load behaves as the run will
    (the campaigns know no backfill table: the caller looks it up).
    """
    if not conn.in_transaction():
        raise InputError("audit_backfill needs a connection inside a transaction")
    shop_domain, connected_at = _connection(conn, workspace_id, connection_id)
    window = window_for(connected_at)
    dry_run_id = backfill_id if backfill_id is not None else DRY_RUN_BACKFILL_ID
    ctx = LoadContext(
        workspace_id=workspace_id,
        connection_id=connection_id,
        backfill_id=dry_run_id,
        historical=True,
    )
    policy = workspace_policy(conn, workspace_id)
    listening = listening_campaigns(conn, workspace_id)
    matcher = load_matcher(conn, workspace_id)
    runs = {
        "predicted": _Run(policy),
        "seed_compatible": _Run(Policy(trigger_historical=True)),
        "matching": _Run(Policy(trigger_historical=True, honour_schedule=False)),
    }
    customers = orders = changes = 0
    checked = len(matcher.campaigns)
    profiles: ProfileCount | None = None
    savepoint = conn.begin_nested()
    try:
        for records in batches if checked else ():
            customers += sum(1 for record in records if isinstance(record, Customer))
            orders += sum(1 for record in records if isinstance(record, Order))
            result = load_batch(conn, ctx, records)
            changes += len(result.changes)
            for run in runs.values():
                run.feed(conn, ctx, matcher, result.changes)
        if checked:
            # The dry run recorded its sightings like the run will: the same count.
            profiles = from_sightings(sighting_counts(conn, workspace_id, dry_run_id))
    finally:
        savepoint.rollback()
    risks = tuple(
        _risk(campaign, campaign.trigger.type, runs, connected_at)
        for campaign in listening
        if campaign.trigger is not None and runs["matching"].reach(campaign.id).messages
    )
    return RiskAudit(
        workspace_id=workspace_id,
        connection_id=connection_id,
        shop_domain=shop_domain,
        connected_at=connected_at,
        window=window,
        mode="seed_compatible" if policy.trigger_historical else "silent",
        customers_read=customers,
        orders_read=orders,
        changes=changes,
        risks=risks,
        campaigns_checked=checked,
        profiles=profiles,
    )


def _risk(
    campaign: Campaign, trigger_type: TriggerType, runs: dict[str, _Run], connected_at: datetime
) -> CampaignRisk:
    predicted = runs["predicted"].tallies.get(campaign.id)
    fix: Fix | None = None
    if predicted is not None and predicted.messages:
        fix = _fix_for(campaign, trigger_type, predicted, connected_at)
    return CampaignRisk(
        campaign_id=campaign.id,
        name=campaign.name,
        kind=campaign.kind,
        trigger_type=trigger_type,
        start_at=campaign.start_at,
        end_at=campaign.end_at,
        predicted=runs["predicted"].reach(campaign.id),
        seed_compatible=runs["seed_compatible"].reach(campaign.id),
        matching=runs["matching"].reach(campaign.id),
        fix=fix,
    )


def _fix_for(
    campaign: Campaign, trigger_type: TriggerType, predicted: _Tally, connected_at: datetime
) -> Fix:
    """The seed's fix, checked against the data: a start time that would still let some
    of it through (or would fall after the end time) becomes a pause."""
    label = trigger_type.replace("_", " ")
    if trigger_type in START_TIME_FIX_TYPES:
        if campaign.end_at is not None and campaign.end_at <= connected_at:
            return Fix("pause", "its end time is before the connection, so no later start fits")
        if predicted.latest is None or predicted.latest >= connected_at:
            return Fix("pause", "some matching data is timed after the connection")
        return Fix(
            "move_start",
            f"every backfilled {label} happened before the connection, and data older than "
            "the start time never triggers",
            new_start_at=connected_at,
        )
    if trigger_type in UPDATE_TIMED_TYPES:
        return Fix(
            "pause",
            f"a {label} is timed at the customer's last update, which can be after the "
            "connection: no start time excludes it",
        )
    return Fix("pause", f"the seed's fix for {label} triggers")


@dataclass(frozen=True)
class AuditFix:
    """A change the audit made to a campaign, remembered with what it replaced."""

    id: int
    campaign_id: int
    campaign_name: str
    action: Literal["paused", "moved_start"]
    previous_status: Status
    previous_start_at: datetime | None
    new_start_at: datetime | None
    reason: str
    applied_at: datetime
    resolved_at: datetime | None
    resolution: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "campaign_id": self.campaign_id,
            "campaign": self.campaign_name,
            "action": self.action,
            "previous_status": self.previous_status,
            "previous_start_at": _iso(self.previous_start_at),
            "new_start_at": _iso(self.new_start_at),
            "applied_at": self.applied_at.isoformat(),
            "resolution": self.resolution,
        }


def apply_fixes(
    conn: sa.Connection, audit: RiskAudit, *, now: datetime | None = None
) -> list[AuditFix]:
    """Pause or move every campaign the audit flagged, and remember each change.

    Conditional updates: a campaign changed since the audit (no longer active, start time
    moved by someone) is left alone and not recorded.
    """
    moment = now or datetime.now(UTC)
    applied = [
        fix_id
        for risk in audit.risks
        if risk.fix is not None
        and (fix_id := _apply(conn, audit, risk, risk.fix, moment)) is not None
    ]
    return [
        fix for fix in _fixes(conn, audit.workspace_id, audit.connection_id) if fix.id in applied
    ]


def fix_choices(recommended: FixAction | None) -> tuple[FixAction, ...]:
    """The fixes a merchant may pick for a campaign whose audited fix is ``recommended``,
    that one first (none when the campaign is not at risk).

    A pause always protects. A moved start time protects only where the audit verified it
    (every predicted message is timed before the connection), so it is offered only then.
    """
    if recommended is None:
        return ()
    return ("move_start", "pause") if recommended == "move_start" else ("pause",)


def apply_fix(
    conn: sa.Connection,
    audit: RiskAudit,
    campaign_id: int,
    action: FixAction,
    *,
    now: datetime | None = None,
) -> AuditFix:
    """Apply the merchant's chosen fix to one campaign of ``audit``, and remember it.

    Refused with the reason when the campaign is not at risk in this audit, when the
    chosen fix cannot protect it (a start time after the connection does not exclude
    data timed later), or when it changed since the audit.
    """
    risk = next((r for r in audit.risks if r.campaign_id == campaign_id), None)
    if risk is None or risk.fix is None:
        raise InputError(
            f"campaign {campaign_id} is not at risk in the current audit of "
            f"{audit.shop_domain}: the backfill would not trigger it, so there is nothing to fix"
        )
    if action not in fix_choices(risk.fix.action):
        raise InputError(
            f"moving the start time cannot protect {risk.name!r}: {risk.fix.reason}; "
            "pause it during the backfill instead"
        )
    fix = (
        risk.fix
        if action == risk.fix.action
        else Fix("pause", "chosen instead of moving the start time")
    )
    fix_id = _apply(conn, audit, risk, fix, now or datetime.now(UTC))
    if fix_id is None:
        raise InputError(
            f"{risk.name!r} changed since the audit (it is no longer active with the same "
            "start time); refresh the audit and choose again"
        )
    return next(f for f in _fixes(conn, audit.workspace_id, audit.connection_id) if f.id == fix_id)


def _apply(
    conn: sa.Connection, audit: RiskAudit, risk: CampaignRisk, fix: Fix, moment: datetime
) -> int | None:
    """One fix with its record, or ``None`` when the campaign changed since the audit."""
    if fix.action == "pause":
        if not change_status(conn, risk.campaign_id, source="active", target="paused", now=moment):
            return None
        values: dict[str, Any] = {"action": "paused", "previous_start_at": risk.start_at}
    else:
        moved = conn.execute(
            sa.update(campaigns)
            .where(
                campaigns.c.id == risk.campaign_id,
                campaigns.c.status == "active",
                campaigns.c.start_at == risk.start_at,
            )
            .values(start_at=fix.new_start_at, updated_at=moment)
        )
        if moved.rowcount != 1:
            return None
        values = {
            "action": "moved_start",
            "previous_start_at": risk.start_at,
            "new_start_at": fix.new_start_at,
        }
    fix_id = conn.execute(
        sa.insert(audit_fixes)
        .values(
            workspace_id=audit.workspace_id,
            connection_id=audit.connection_id,
            campaign_id=risk.campaign_id,
            previous_status="active",
            reason=fix.reason,
            applied_at=moment,
            **values,
        )
        .returning(audit_fixes.c.id)
    ).scalar_one()
    return int(fix_id)


def undo_fix(
    conn: sa.Connection,
    workspace_id: int,
    connection_id: int,
    fix_id: int,
    *,
    now: datetime | None = None,
) -> AuditFix:
    """Take back one outstanding fix: resume the paused campaign or restore its start time.

    For before the backfill starts (the caller checks: undoing a pause during the run
    would let its historical data trigger the campaign). Conditional like every change
    here: a campaign someone changed since is left alone and the fix is marked
    ``changed_meanwhile``. Resolved as ``resumed`` / ``restored``, like the undo after
    the backfill, so the record reads the same whichever way it was taken back.
    """
    fix = next(
        (f for f in _fixes(conn, workspace_id, connection_id, unresolved=True) if f.id == fix_id),
        None,
    )
    if fix is None:
        raise InputError(
            f"fix {fix_id} is not an outstanding fix of this store: it was undone already, "
            "or belongs to no such store"
        )
    moment = now or datetime.now(UTC)
    if fix.action == "paused":
        done = change_status(
            conn, fix.campaign_id, source="paused", target=fix.previous_status, now=moment
        )
        resolution = "resumed" if done else "changed_meanwhile"
    else:
        restored = conn.execute(
            sa.update(campaigns)
            .where(campaigns.c.id == fix.campaign_id, campaigns.c.start_at == fix.new_start_at)
            .values(start_at=fix.previous_start_at, updated_at=moment)
        )
        resolution = "restored" if restored.rowcount == 1 else "changed_meanwhile"
    _resolve(conn, fix.id, resolution, moment)
    return next(f for f in _fixes(conn, workspace_id, connection_id) if f.id == fix.id)


def _resolve(conn: sa.Connection, fix_id: int, resolution: str, moment: datetime) -> None:
    conn.execute(
        sa.update(audit_fixes)
        .where(audit_fixes.c.id == fix_id, audit_fixes.c.resolved_at.is_(None))
        .values(resolved_at=moment, resolution=resolution)
    )


def paused_by_audit(conn: sa.Connection, workspace_id: int, connection_id: int) -> list[AuditFix]:
    """Campaigns the audit paused for this store and nobody has resumed through it yet."""
    return [
        fix
        for fix in _fixes(conn, workspace_id, connection_id, unresolved=True)
        if fix.action == "paused"
    ]


def moved_by_audit(conn: sa.Connection, workspace_id: int, connection_id: int) -> list[AuditFix]:
    """Start times the audit moved for this store, with their previous values."""
    return [
        fix
        for fix in _fixes(conn, workspace_id, connection_id, unresolved=True)
        if fix.action == "moved_start"
    ]


def resume_paused_by_audit(
    conn: sa.Connection,
    workspace_id: int,
    connection_id: int,
    *,
    restore_start_times: bool = False,
    now: datetime | None = None,
) -> list[AuditFix]:
    """Undo the audit's fixes for this store: resume exactly the campaigns it paused.

    A campaign someone changed since (stopped, resumed by hand) is left as it is and
    marked ``changed_meanwhile``. Moved start times are kept unless
    ``restore_start_times``: after the backfill, an earlier start cannot make old data
    trigger (triggers are evaluated when data is written), so keeping them is harmless.
    """
    moment = now or datetime.now(UTC)
    resolved: list[int] = []
    for fix in _fixes(conn, workspace_id, connection_id, unresolved=True):
        if fix.action == "paused":
            done = change_status(
                conn, fix.campaign_id, source="paused", target=fix.previous_status, now=moment
            )
            resolution = "resumed" if done else "changed_meanwhile"
        elif restore_start_times:
            restored = conn.execute(
                sa.update(campaigns)
                .where(campaigns.c.id == fix.campaign_id, campaigns.c.start_at == fix.new_start_at)
                .values(start_at=fix.previous_start_at, updated_at=moment)
            )
            resolution = "restored" if restored.rowcount == 1 else "changed_meanwhile"
        else:
            resolution = "kept"
        _resolve(conn, fix.id, resolution, moment)
        resolved.append(fix.id)
    return [fix for fix in _fixes(conn, workspace_id, connection_id) if fix.id in resolved]


def _fixes(
    conn: sa.Connection, workspace_id: int, connection_id: int, *, unresolved: bool = False
) -> list[AuditFix]:
    query = (
        sa.select(audit_fixes, campaigns.c.name)
        .join(campaigns, campaigns.c.id == audit_fixes.c.campaign_id)
        .where(
            audit_fixes.c.workspace_id == workspace_id,
            audit_fixes.c.connection_id == connection_id,
        )
        .order_by(audit_fixes.c.id)
    )
    if unresolved:
        query = query.where(audit_fixes.c.resolved_at.is_(None))
    return [
        AuditFix(
            id=int(row.id),
            campaign_id=int(row.campaign_id),
            campaign_name=row.name,
            action=row.action,
            previous_status=row.previous_status,
            previous_start_at=row.previous_start_at,
            new_start_at=row.new_start_at,
            reason=row.reason,
            applied_at=row.applied_at,
            resolved_at=row.resolved_at,
            resolution=row.resolution,
        )
        for row in conn.execute(query)
    ]


def _connection(conn: sa.Connection, workspace_id: int, connection_id: int) -> tuple[str, datetime]:
    row = tenant_connection(conn, workspace_id, connection_id)
    return row.shop_domain, row.connected_at


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _reach_json(reach: Reach) -> dict[str, int]:
    return {"users": reach.users, "messages": reach.messages}
