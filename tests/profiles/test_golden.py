"""Golden cases (tests/golden/*.json): Shopify payloads in, the exact store out."""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from conftest import Store, make_store
from shopify_backfill.profiles import (
    Change,
    EventAdded,
    PurchaseAdded,
    ensure_subscription_groups,
    export_profiles,
    insert_profile,
    list_issues,
    set_subscription,
)
from shopify_backfill.profiles.datapoints import datapoint_total
from shopify_backfill.profiles.schema import aliases, users
from shopify_backfill.profiles.types import json_dumps, json_loads
from shopify_backfill.shopify.records import Customer, Order

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
CASES = sorted(GOLDEN_DIR.glob("*.json"))


def _time(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else value


def seed(store: Store, existing: list[dict[str, Any]]) -> None:
    with store.engine.begin() as conn:
        groups = ensure_subscription_groups(conn, store.workspace_id, store.connection_id)
        for profile in existing:
            last_activity = profile.get("last_activity")
            user_id = insert_profile(
                conn,
                store.workspace_id,
                external_id=profile.get("external_id"),
                attributes=profile.get("attributes", {}),
                alias_names=profile.get("aliases", {}),
                last_activity=datetime.fromisoformat(last_activity) if last_activity else None,
            )
            for channel, state in profile.get("subscriptions", {}).items():
                set_subscription(conn, store.workspace_id, user_id, groups[channel], state)


def decode(record: dict[str, Any]) -> Customer | Order:
    ((kind, payload),) = record.items()
    raw = json_dumps(payload).encode()
    return msgspec.json.decode(raw, type=Customer if kind == "customer" else Order)


def handles(store: Store) -> dict[int, str]:
    """Stable names for users: internal ids differ between backends and runs."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(users.c.id, users.c.external_id, users.c.email).where(
                users.c.workspace_id == store.workspace_id
            )
        ).all()
        labels: dict[int, dict[str, str]] = {row.id: {} for row in rows}
        for user_id, label, name in conn.execute(
            sa.select(aliases.c.user_id, aliases.c.label, aliases.c.name).where(
                aliases.c.workspace_id == store.workspace_id
            )
        ):
            labels[user_id][label] = name
    result = {}
    for row in rows:
        alias = labels[row.id]
        if "shopify_customer_id" in alias:
            result[row.id] = f"customer:{alias['shopify_customer_id']}"
        elif row.external_id:
            result[row.id] = f"external:{row.external_id}"
        elif "shopify_email" in alias:
            result[row.id] = f"email:{alias['shopify_email']}"
        elif "shopify_phone" in alias:
            result[row.id] = f"phone:{alias['shopify_phone']}"
        else:
            result[row.id] = f"user:{sorted(alias.items())}"
    return result


def render_change(change: Change, names: dict[int, str]) -> dict[str, Any]:
    fields = asdict(change)
    fields.pop("historical")
    fields.pop("group_id", None)  # internal id; the channel names the group
    rendered: dict[str, Any] = {"kind": change.kind, "user": names[fields.pop("user_id")]}
    if isinstance(change, EventAdded | PurchaseAdded):
        fields.pop("properties")  # the stored event/purchase is compared in full already
    rendered.update({key: _time(value) for key, value in fields.items()})
    return rendered


def run_case(store: Store, case: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    seed(store, case.get("existing", []))
    records = [decode(record) for record in case["records"]]
    backfill_id = case.get("backfill_id", 1)
    result = store.load(records, backfill_id=backfill_id)
    names = handles(store)
    with store.engine.connect() as conn:
        exported = export_profiles(conn, store.workspace_id)
        ledger = datapoint_total(conn, store.workspace_id)
        stored_issues = list_issues(conn, store.workspace_id)
    assert ledger == result.counts.data_points
    assert [asdict(issue) for issue in stored_issues] == [asdict(i) for i in result.issues]
    actual = {
        "counts": {name: value for name, value in result.counts.as_dict().items() if value},
        "data_points": result.counts.data_points,
        "profiles": exported,
        "changes": [render_change(change, names) for change in result.changes],
        "issues": [
            {k: v for k, v in asdict(issue).items() if k != "excerpt"} for issue in result.issues
        ],
    }
    return actual, records


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_golden_case(engine: Engine, path: Path) -> None:
    case = json_loads(path.read_bytes())
    store = make_store(engine, case.get("product_identifier", "product_id"))
    actual, records = run_case(store, case)

    if os.environ.get("GOLDEN_UPDATE") and engine.dialect.name == "sqlite":
        case["expect"] = actual
        path.write_bytes(msgspec.json.format(json_dumps(case).encode(), indent=2) + b"\n")
    assert actual == case["expect"]

    again = store.load(records, backfill_id=case.get("backfill_id", 1))
    assert again.changes == []
    assert again.counts.data_points == 0
    with store.engine.connect() as conn:
        assert export_profiles(conn, store.workspace_id) == actual["profiles"]
