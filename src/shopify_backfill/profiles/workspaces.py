"""Workspaces, shop connections and their subscription groups.

The Shopify source fills ``shop_connections`` after OAuth; these helpers create the rows
(the demo, the tests and that source all go through them) and make sure every
connection owns exactly one email and one SMS subscription group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shopify_backfill.errors import InputError
from shopify_backfill.mapping.intents import ProductIdentifier
from shopify_backfill.profiles.changes import Channel
from shopify_backfill.profiles.dialect import upsert
from shopify_backfill.profiles.schema import (
    PRODUCT_IDENTIFIERS,
    shop_connections,
    subscription_groups,
    workspaces,
)


def create_workspace(
    conn: sa.Connection,
    name: str,
    *,
    notification_emails: Sequence[str] = (),
    trigger_historical: bool = False,
    now: datetime | None = None,
) -> int:
    """Insert a workspace and return its id."""
    if not name.strip():
        raise InputError("a workspace needs a non-empty name")
    row = conn.execute(
        sa.insert(workspaces)
        .values(
            name=name.strip(),
            notification_emails=list(notification_emails),
            trigger_historical=trigger_historical,
            created_at=now or datetime.now(UTC),
        )
        .returning(workspaces.c.id)
    ).scalar_one()
    return int(row)


def create_shop_connection(
    conn: sa.Connection,
    workspace_id: int,
    shop_domain: str,
    *,
    connected_at: datetime,
    granted_scopes: Sequence[str] = (),
    api_version: str = "2026-07",
    api_base_url: str | None = None,
    access_token_encrypted: bytes | None = None,
    product_identifier: ProductIdentifier = "product_id",
) -> int:
    """Insert a connection of ``shop_domain`` to the workspace, with its two groups."""
    if product_identifier not in PRODUCT_IDENTIFIERS:
        raise InputError(
            f"product identifier {product_identifier!r} is not one of {PRODUCT_IDENTIFIERS}"
        )
    connection_id = int(
        conn.execute(
            sa.insert(shop_connections)
            .values(
                workspace_id=workspace_id,
                shop_domain=shop_domain,
                granted_scopes=list(granted_scopes),
                api_version=api_version,
                api_base_url=api_base_url or f"https://{shop_domain}/admin/api/{api_version}",
                connected_at=connected_at,
                access_token_encrypted=access_token_encrypted,
                product_identifier=product_identifier,
                created_at=datetime.now(UTC),
            )
            .returning(shop_connections.c.id)
        ).scalar_one()
    )
    ensure_subscription_groups(conn, workspace_id, connection_id)
    return connection_id


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """What a load needs to know about the connection its records come from."""

    connection_id: int
    shop_domain: str
    product_identifier: ProductIdentifier
    groups: dict[Channel, int]


def tenant_connection(conn: sa.Connection, workspace_id: int, connection_id: int) -> sa.Row[Any]:
    """The connection row, or one clear refusal when it belongs to no such workspace."""
    row = conn.execute(
        sa.select(shop_connections).where(
            shop_connections.c.id == connection_id,
            shop_connections.c.workspace_id == workspace_id,
        )
    ).one_or_none()
    if row is None:
        raise InputError(
            f"shop connection {connection_id} does not exist in workspace {workspace_id}; "
            "connect the store to this workspace first"
        )
    return row


def connection_settings(
    conn: sa.Connection, workspace_id: int, connection_id: int
) -> ConnectionSettings:
    """The connection's options and subscription groups, refusing another tenant's."""
    row = tenant_connection(conn, workspace_id, connection_id)
    return ConnectionSettings(
        connection_id=connection_id,
        shop_domain=row.shop_domain,
        product_identifier=row.product_identifier,
        groups=ensure_subscription_groups(conn, workspace_id, connection_id),
    )


def ensure_subscription_groups(
    conn: sa.Connection, workspace_id: int, connection_id: int
) -> dict[Channel, int]:
    """The connection's email and SMS groups, created on first use (idempotent)."""
    groups = _groups(conn, connection_id)
    if len(groups) < 2:
        domain = conn.execute(
            sa.select(shop_connections.c.shop_domain).where(shop_connections.c.id == connection_id)
        ).scalar_one()
        labels: dict[Channel, str] = {"email": "Email marketing", "sms": "SMS marketing"}
        rows = [
            {
                "workspace_id": workspace_id,
                "connection_id": connection_id,
                "channel": channel,
                "name": f"{domain} - {label}",
            }
            for channel, label in labels.items()
            if channel not in groups
        ]
        conn.execute(
            upsert(conn, subscription_groups).on_conflict_do_nothing(
                index_elements=["connection_id", "channel"]
            ),
            rows,
        )
        groups = _groups(conn, connection_id)
    return groups


def _groups(conn: sa.Connection, connection_id: int) -> dict[Channel, int]:
    query = sa.select(subscription_groups.c.channel, subscription_groups.c.id).where(
        subscription_groups.c.connection_id == connection_id
    )
    return {channel: int(group_id) for channel, group_id in conn.execute(query)}


def data_point_allowance(conn: sa.Connection, workspace_id: int) -> int | None:
    """The workspace's data-point allowance, or ``None`` when none is set."""
    value = conn.execute(
        sa.select(workspaces.c.data_point_allowance).where(workspaces.c.id == workspace_id)
    ).scalar_one_or_none()
    return int(value) if value is not None else None


def set_data_point_allowance(conn: sa.Connection, workspace_id: int, allowance: int | None) -> None:
    """Set (or clear, with ``None``) the allowance the preview compares its estimate with."""
    if allowance is not None and allowance < 0:
        raise InputError(f"a data-point allowance cannot be negative (got {allowance})")
    conn.execute(
        sa.update(workspaces)
        .where(workspaces.c.id == workspace_id)
        .values(data_point_allowance=allowance)
    )
