"""Creating profiles directly, outside a Shopify load.

Workspaces have users before any store is connected (sign-ups, CRM imports): the demo
seeds them with these helpers, and so do the tests that check how the backfill matches
and protects them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shopify_backfill.mapping.intents import STANDARD_ATTRIBUTES, SubscriptionState
from shopify_backfill.profiles.dialect import upsert
from shopify_backfill.profiles.schema import aliases, user_subscriptions, users


def insert_profile(
    conn: sa.Connection,
    workspace_id: int,
    *,
    external_id: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    alias_names: Mapping[str, str] | None = None,
    last_activity: datetime | None = None,
    now: datetime | None = None,
) -> int:
    """Insert one profile; standard attributes go to columns, the rest are custom."""
    attributes = dict(attributes or {})
    moment = now or datetime.now(UTC)
    standard = {name: attributes.pop(name, None) for name in STANDARD_ATTRIBUTES}
    user_id = int(
        conn.execute(
            sa.insert(users)
            .values(
                workspace_id=workspace_id,
                external_id=external_id,
                custom_attributes=attributes,
                created_at=moment,
                updated_at=moment,
                last_activity=last_activity,
                **standard,
            )
            .returning(users.c.id)
        ).scalar_one()
    )
    if alias_names:
        conn.execute(
            sa.insert(aliases),
            [
                {
                    "workspace_id": workspace_id,
                    "user_id": user_id,
                    "label": label,
                    "name": name,
                    "created_at": moment,
                }
                for label, name in alias_names.items()
            ],
        )
    return user_id


def set_subscription(
    conn: sa.Connection,
    workspace_id: int,
    user_id: int,
    group_id: int,
    state: SubscriptionState,
    *,
    now: datetime | None = None,
) -> None:
    """Set a user's state in a subscription group (insert or overwrite)."""
    statement = upsert(conn, user_subscriptions).values(
        workspace_id=workspace_id,
        user_id=user_id,
        group_id=group_id,
        state=state,
        updated_at=now or datetime.now(UTC),
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "group_id"],
            set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
        )
    )
