"""Storing and changing campaigns: the one place that writes the ``campaigns`` table.

References inside triggers are checked when a campaign is saved, not when it fires: a
subscription group must exist in the workspace (its id is stored, so matching is one
integer comparison), and an exception-event campaign must point at an existing campaign
without forming a loop, since the engine orders exception campaigns after the ones they
refer to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shopify_backfill.campaigns.model import (
    TRIGGER_ADAPTER,
    Campaign,
    CampaignSpec,
    PerformExceptionEvent,
    Status,
    Trigger,
    UpdateSubscriptionGroupStatus,
)
from shopify_backfill.campaigns.tables import campaigns
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.schema import subscription_groups


def add_campaign(
    conn: sa.Connection, workspace_id: int, spec: CampaignSpec, *, now: datetime | None = None
) -> Campaign:
    """Insert one campaign; its name must be new in the workspace."""
    return add_campaigns(conn, workspace_id, [spec], now=now)[0]


def add_campaigns(
    conn: sa.Connection,
    workspace_id: int,
    specs: Sequence[CampaignSpec],
    *,
    replace: bool = False,
    now: datetime | None = None,
) -> list[Campaign]:
    """Insert a set (a file's worth) at once; ``replace`` updates campaigns of the same name.

    Exception-event references may point inside the set, in any order.
    """
    moment = now or datetime.now(UTC)
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(f"campaign names must be unique; repeated: {', '.join(duplicates)}")
    existing = {campaign.name: campaign for campaign in list_campaigns(conn, workspace_id)}
    clashes = [name for name in names if name in existing]
    if clashes and not replace:
        raise InputError(
            f"campaign {clashes[0]!r} already exists in this workspace; choose another name "
            "or load the file with --replace to update it"
        )
    references = {name: _reference(c.trigger) for name, c in existing.items()}
    references.update({spec.name: _reference(spec.trigger) for spec in specs})
    groups = _groups(conn, workspace_id)
    saved: list[Campaign] = []
    for spec in specs:
        trigger = _resolve(spec, references, groups)
        values = _values(spec, trigger)
        if spec.name in existing:
            conn.execute(
                sa.update(campaigns)
                .where(campaigns.c.id == existing[spec.name].id)
                .values(**values, updated_at=moment)
            )
            saved.append(get_campaign(conn, workspace_id, spec.name))
            continue
        row = conn.execute(
            sa.insert(campaigns)
            .values(workspace_id=workspace_id, created_at=moment, updated_at=moment, **values)
            .returning(*campaigns.c)
        ).one()
        saved.append(campaign_from_row(row))
    return saved


def list_campaigns(conn: sa.Connection, workspace_id: int) -> list[Campaign]:
    rows = conn.execute(
        sa.select(campaigns)
        .where(campaigns.c.workspace_id == workspace_id)
        .order_by(campaigns.c.id)
    )
    return [campaign_from_row(row) for row in rows]


def listening_campaigns(conn: sa.Connection, workspace_id: int) -> list[Campaign]:
    """Active action-based campaigns: what the trigger engine evaluates (one query)."""
    rows = conn.execute(
        sa.select(campaigns)
        .where(
            campaigns.c.workspace_id == workspace_id,
            campaigns.c.status == "active",
            campaigns.c.delivery == "action_based",
        )
        .order_by(campaigns.c.id)
    )
    return [campaign_from_row(row) for row in rows]


def get_campaign(conn: sa.Connection, workspace_id: int, name: str) -> Campaign:
    row = conn.execute(
        sa.select(campaigns).where(
            campaigns.c.workspace_id == workspace_id, campaigns.c.name == name
        )
    ).one_or_none()
    if row is None:
        raise InputError(
            f"no campaign named {name!r} in this workspace; `shopify-backfill campaigns list` "
            "shows the existing ones"
        )
    return campaign_from_row(row)


def pause_campaign(
    conn: sa.Connection, workspace_id: int, name: str, *, now: datetime | None = None
) -> Campaign:
    return _transition(conn, workspace_id, name, source="active", target="paused", now=now)


def resume_campaign(
    conn: sa.Connection, workspace_id: int, name: str, *, now: datetime | None = None
) -> Campaign:
    return _transition(conn, workspace_id, name, source="paused", target="active", now=now)


def set_start(
    conn: sa.Connection,
    workspace_id: int,
    name: str,
    start_at: datetime,
    *,
    now: datetime | None = None,
) -> Campaign:
    """Move the start time; data older than it never triggers the campaign."""
    if start_at.tzinfo is None:
        raise InputError(f"start time {start_at.isoformat()} has no timezone; add Z or +00:00")
    campaign = get_campaign(conn, workspace_id, name)
    if campaign.end_at is not None and start_at >= campaign.end_at:
        raise InputError(
            f"campaign {name!r}: start_at {start_at.isoformat()} must be before its end_at "
            f"{campaign.end_at.isoformat()}"
        )
    conn.execute(
        sa.update(campaigns)
        .where(campaigns.c.id == campaign.id)
        .values(start_at=start_at.astimezone(UTC), updated_at=now or datetime.now(UTC))
    )
    return get_campaign(conn, workspace_id, name)


def change_status(
    conn: sa.Connection,
    campaign_id: int,
    *,
    source: Status,
    target: Status,
    now: datetime | None = None,
) -> bool:
    """``UPDATE ... WHERE status = source``: true when this call made the change."""
    result = conn.execute(
        sa.update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.status == source)
        .values(status=target, updated_at=now or datetime.now(UTC))
    )
    return result.rowcount == 1


def campaign_from_row(row: sa.Row[Any]) -> Campaign:
    trigger: Trigger | None = None
    if row.trigger_type is not None:
        trigger = TRIGGER_ADAPTER.validate_python(
            {**(row.trigger_params or {}), "type": row.trigger_type}
        )
    return Campaign(
        id=int(row.id),
        workspace_id=int(row.workspace_id),
        name=row.name,
        kind=row.kind,
        status=row.status,
        delivery=row.delivery,
        start_at=row.start_at,
        end_at=row.end_at,
        trigger=trigger,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _transition(
    conn: sa.Connection,
    workspace_id: int,
    name: str,
    *,
    source: Status,
    target: Status,
    now: datetime | None,
) -> Campaign:
    campaign = get_campaign(conn, workspace_id, name)
    if not change_status(conn, campaign.id, source=source, target=target, now=now):
        raise InputError(
            f"campaign {name!r} is {campaign.status}; only a {source} campaign can become {target}"
        )
    return get_campaign(conn, workspace_id, name)


def _reference(trigger: Trigger | None) -> str | None:
    return trigger.campaign if isinstance(trigger, PerformExceptionEvent) else None


def _resolve(
    spec: CampaignSpec, references: Mapping[str, str | None], groups: Mapping[str | int, int]
) -> Trigger | None:
    trigger = spec.trigger
    if isinstance(trigger, PerformExceptionEvent):
        _check_reference(spec.name, references)
    if isinstance(trigger, UpdateSubscriptionGroupStatus):
        group_id = groups.get(trigger.group)
        if group_id is None:
            known = ", ".join(repr(key) for key in groups if isinstance(key, str)) or "none"
            raise InputError(
                f"campaign {spec.name!r}: trigger.group: no subscription group {trigger.group!r} "
                f"in this workspace (known groups: {known}); connect the store first or fix "
                "the name"
            )
        trigger = trigger.model_copy(update={"group_id": group_id})
    return trigger


def _check_reference(name: str, references: Mapping[str, str | None]) -> None:
    seen = [name]
    current = references.get(name)
    while current is not None:
        if current not in references:
            raise InputError(
                f"campaign {name!r}: trigger.campaign: no campaign named {current!r} in this "
                "workspace or in the same file"
            )
        if current in seen:
            loop = " -> ".join([*seen, current])
            raise InputError(
                f"campaign {name!r}: trigger.campaign: exception events refer in a loop ({loop})"
            )
        seen.append(current)
        current = references[current]


def _groups(conn: sa.Connection, workspace_id: int) -> dict[str | int, int]:
    """Subscription groups addressable by name or by id."""
    rows = conn.execute(
        sa.select(subscription_groups.c.id, subscription_groups.c.name).where(
            subscription_groups.c.workspace_id == workspace_id
        )
    )
    found: dict[str | int, int] = {}
    for group_id, name in rows:
        found[name] = int(group_id)
        found[int(group_id)] = int(group_id)
    return found


def _values(spec: CampaignSpec, trigger: Trigger | None) -> dict[str, Any]:
    return {
        "name": spec.name,
        "kind": spec.kind,
        "status": spec.status,
        "delivery": spec.delivery,
        "start_at": spec.start_at,
        "end_at": spec.end_at,
        "trigger_type": trigger.type if trigger is not None else None,
        "trigger_params": trigger.model_dump(exclude={"type"}) if trigger is not None else None,
    }
