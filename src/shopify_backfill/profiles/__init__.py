"""The engagement platform's profile store: schema, migrations, identity and loading."""

from __future__ import annotations

from shopify_backfill.profiles.changes import (
    AttributeChanged,
    Change,
    EmailAdded,
    EventAdded,
    PurchaseAdded,
    SubscriptionChanged,
)
from shopify_backfill.profiles.datapoints import datapoint_breakdown, datapoint_total
from shopify_backfill.profiles.db import (
    create_engine,
    current_revision,
    scratch_postgres_schema,
    upgrade,
)
from shopify_backfill.profiles.export import export_profiles
from shopify_backfill.profiles.quarantine import list_issues
from shopify_backfill.profiles.results import Issue, LoadCounts, LoadResult
from shopify_backfill.profiles.users import insert_profile, set_subscription
from shopify_backfill.profiles.workspaces import (
    ConnectionSettings,
    connection_settings,
    create_shop_connection,
    create_workspace,
    ensure_subscription_groups,
)
from shopify_backfill.profiles.writes import LoadContext, load_batch

__all__ = [
    "AttributeChanged",
    "Change",
    "ConnectionSettings",
    "EmailAdded",
    "EventAdded",
    "Issue",
    "LoadContext",
    "LoadCounts",
    "LoadResult",
    "PurchaseAdded",
    "SubscriptionChanged",
    "connection_settings",
    "create_engine",
    "create_shop_connection",
    "create_workspace",
    "current_revision",
    "datapoint_breakdown",
    "datapoint_total",
    "ensure_subscription_groups",
    "export_profiles",
    "insert_profile",
    "list_issues",
    "load_batch",
    "scratch_postgres_schema",
    "set_subscription",
    "upgrade",
]
