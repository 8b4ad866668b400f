"""The trigger engine on a real store: modes, schedules, idempotence, tenants, batches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopify_backfill.campaigns import list_campaigns, outbox_reach, record_triggers
from shopify_backfill.campaigns.tables import triggered_messages

from .conftest import SHOP, make_workspace
from .records import customer, order

LONG_AGO = "2026-01-01T00:00:00Z"
ORDER_TIME = "2026-05-03T10:00:00Z"

PURCHASE = {
    "name": "Thanks for buying",
    "start_at": LONG_AGO,
    "trigger": {"type": "make_purchase"},
}
ORDER_EVENT = {
    "name": "Order follow-up",
    "kind": "canvas",
    "start_at": LONG_AGO,
    "trigger": {"type": "perform_custom_event", "event_name": "shopify_created_order"},
}
NEW_EMAIL = {"name": "Welcome", "start_at": LONG_AGO, "trigger": {"type": "add_email_address"}}
VIP = {
    "name": "VIP tag",
    "start_at": LONG_AGO,
    "trigger": {
        "type": "change_custom_attribute_value",
        "attribute": "shopify_tags",
        "value": "vip",
    },
}
SMS_OPT_OUT = {
    "name": "SMS opt-out",
    "start_at": LONG_AGO,
    "trigger": {
        "type": "update_subscription_group_status",
        "group": f"{SHOP} - SMS marketing",
        "state": "unsubscribed",
    },
}


def _names(engine: Engine, workspace_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        found = list_campaigns(conn, workspace_id)
        reach = outbox_reach(conn, workspace_id)
    return {c.name: reach[c.id].messages for c in found if c.id in reach}


def test_silent_backfill_triggers_nothing(engine: Engine) -> None:
    ws = make_workspace(engine)
    ws.add(PURCHASE, ORDER_EVENT, NEW_EMAIL, VIP, SMS_OPT_OUT)
    result = ws.load([customer(1), order(10, 1, ORDER_TIME)])
    assert result.changes, "the load wrote data the campaigns listen to"
    assert ws.outbox() == []


def test_seed_compatible_mode_triggers_on_historical_data(engine: Engine) -> None:
    ws = make_workspace(engine, trigger_historical=True)
    ws.add(PURCHASE, ORDER_EVENT, NEW_EMAIL, VIP, SMS_OPT_OUT)
    ws.load([customer(1), order(10, 1, ORDER_TIME)])
    assert _names(engine, ws.workspace_id) == {
        "Thanks for buying": 1,
        "Order follow-up": 1,
        "Welcome": 1,
        "VIP tag": 1,
        "SMS opt-out": 1,
    }
    rows = {row.trigger_type: row for row in ws.outbox()}
    purchase = rows["make_purchase"]
    assert purchase.data_time == datetime(2026, 5, 3, 10, tzinfo=UTC)
    assert purchase.historical is True
    assert purchase.backfill_id == 1
    assert purchase.data["product_id"] == "7"
    assert rows["change_custom_attribute_value"].data_time == datetime(2026, 6, 1, tzinfo=UTC)
    assert len({row.user_id for row in rows.values()}) == 1


def test_live_data_triggers_in_silent_mode(engine: Engine) -> None:
    ws = make_workspace(engine)
    ws.add(PURCHASE, ORDER_EVENT)
    ws.load([customer(1), order(10, 1, ORDER_TIME)])
    assert ws.outbox() == []
    ws.load([order(11, 1, "2026-07-02T09:00:00Z")], historical=False)
    outbox = ws.outbox()
    assert sorted(row.trigger_type for row in outbox) == ["make_purchase", "perform_custom_event"]
    assert all(row.historical is False and row.backfill_id is None for row in outbox)


def test_start_time_pause_and_end_time_protect_in_seed_mode(engine: Engine) -> None:
    ws = make_workspace(engine, trigger_historical=True)
    ws.add(
        {**PURCHASE, "start_at": "2026-05-03T10:00:01Z"},
        {**ORDER_EVENT, "status": "paused"},
        {**NEW_EMAIL, "end_at": "2026-05-31T23:59:59Z"},
    )
    ws.load([customer(1), order(10, 1, ORDER_TIME)])
    assert ws.outbox() == []


def test_start_time_exactly_at_the_data_triggers(engine: Engine) -> None:
    ws = make_workspace(engine, trigger_historical=True)
    ws.add({**PURCHASE, "start_at": "2026-05-03T10:00:00Z"})
    ws.load([customer(1), order(10, 1, ORDER_TIME)])
    assert [row.trigger_type for row in ws.outbox()] == ["make_purchase"]


def test_replayed_changes_never_trigger_twice(engine: Engine) -> None:
    ws = make_workspace(engine, trigger_historical=True)
    ws.add(PURCHASE, NEW_EMAIL)
    ctx = ws.context()
    records = [customer(1), order(10, 1, ORDER_TIME)]
    first = ws.load(records)
    assert len(ws.outbox()) == 2
    with engine.begin() as conn:
        again = record_triggers(conn, ctx, first.changes)
    assert len(again) == 2, "evaluated again, but the unique key keeps one row each"
    assert len(ws.outbox()) == 2
    assert ws.load(records).changes == []
    assert len(ws.outbox()) == 2
    duplicate = ws.outbox()[0]._asdict()
    del duplicate["id"]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(triggered_messages).values(**duplicate))


def test_campaigns_of_another_workspace_never_fire(engine: Engine) -> None:
    ours = make_workspace(engine, trigger_historical=True)
    theirs = make_workspace(engine, trigger_historical=True, shop="other-shop.myshopify.com")
    theirs.add(PURCHASE, NEW_EMAIL)
    ours.load([customer(1), order(10, 1, ORDER_TIME)])
    assert ours.outbox() == []
    assert theirs.outbox() == []


def test_exception_event_sees_messages_from_earlier_batches(engine: Engine) -> None:
    ws = make_workspace(engine, trigger_historical=True)
    ws.add(
        {
            "name": "Order again",
            "start_at": LONG_AGO,
            "trigger": {
                "type": "perform_exception_event",
                "event_name": "shopify_created_order",
                "campaign": "Thanks for buying",
            },
        },
        PURCHASE,
    )
    ws.load([customer(1), order(10, 1, ORDER_TIME)])
    assert [row.trigger_type for row in ws.outbox()] == ["make_purchase"]
    ws.load([order(11, 1, "2026-05-20T10:00:00Z")])
    kinds = sorted(row.trigger_type for row in ws.outbox())
    assert kinds == ["make_purchase", "make_purchase", "perform_exception_event"]
