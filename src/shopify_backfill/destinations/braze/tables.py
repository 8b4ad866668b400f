"""The Braze destination's tables, on the profile store's ``metadata`` (revision 0007).

``braze_destinations`` holds a workspace's Braze credentials (the key encrypted like a
Shopify token) and the *mirror*: a workspace of the profile store that holds what was
delivered to that Braze workspace. Braze cannot be asked cheaply who exists or what
value an attribute has, so identity resolution, attribute diffing and event dedup run
against the mirror, exactly as for the embedded store; only the changes go to Braze.

``braze_requests`` is the delivery ledger: each ``/users/track`` body is stored
``pending`` in the same transaction as the batch (and its checkpoint), marked ``sending``
in its own commit just before it goes out, and ``sent`` after Braze's 2xx. A request
found ``sending`` on resume is the one window nobody can close (Braze accepted it or
not, and says nothing either way): see ``ledger.recover``.

``braze_profiles`` fixes each mirror profile's Braze identifier (its ``user_alias``) at
its first delivery, so a profile that later gains another alias keeps one Braze user.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shopify_backfill.profiles.schema import Id, metadata
from shopify_backfill.profiles.types import JsonDocument, UtcDateTime

REQUEST_STATES = ("pending", "sending", "sent", "uncertain", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


braze_destinations = Table(
    "braze_destinations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("rest_endpoint", String(255), nullable=False),
    Column("api_key_encrypted", LargeBinary, nullable=False),
    Column("max_objects", Integer, nullable=False),
    Column("sms_group_id", String(64), nullable=True),
    Column(
        "mirror_workspace_id",
        Id,
        ForeignKey("workspaces.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
    CheckConstraint("max_objects BETWEEN 1 AND 75", name="max_objects"),
)

braze_requests = Table(
    "braze_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "destination_id",
        Id,
        ForeignKey("braze_destinations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("backfill_id", Id, nullable=False),
    Column("state", String(16), nullable=False),
    Column("body", LargeBinary, nullable=True),
    Column("attributes", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("purchases", Integer, nullable=False),
    Column("errors", JsonDocument, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    CheckConstraint(_in("state", REQUEST_STATES), name="state"),
    Index("ix_braze_requests_backfill_state", "backfill_id", "state", "id"),
)

braze_profiles = Table(
    "braze_profiles",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "destination_id",
        Id,
        ForeignKey("braze_destinations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("alias_label", String(64), nullable=False),
    Column("alias_name", Text, nullable=False),
)
