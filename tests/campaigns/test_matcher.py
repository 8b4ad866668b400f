"""The matcher, one trigger type at a time: matches, near misses, and the schedule edges.

Pure tests (no database): campaigns built from validated specs, changes built as
``load_batch`` reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shopify_backfill.campaigns.model import Campaign, parse_spec
from shopify_backfill.campaigns.triggers import Matcher, OutboxMemory, Policy, describe
from shopify_backfill.profiles.changes import (
    AttributeChanged,
    Change,
    EmailAdded,
    EventAdded,
    PurchaseAdded,
    SubscriptionChanged,
)

START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
END = datetime(2026, 5, 31, 12, 0, tzinfo=UTC)
EMAIL_GROUP = 11
SMS_GROUP = 12
REFERENCED_ID = 99
USER = 5
SEED = Policy(trigger_historical=True)
SILENT = Policy(trigger_historical=False)


def campaign(
    trigger: dict[str, Any],
    *,
    campaign_id: int = 1,
    start: datetime = START,
    end: datetime | None = END,
    status: str = "active",
    delivery: str = "action_based",
) -> Campaign:
    spec = parse_spec(
        {
            "name": f"campaign {campaign_id}",
            "status": status,
            "delivery": delivery,
            "start_at": start,
            "end_at": end,
            "trigger": trigger if delivery == "action_based" else None,
        }
    )
    return Campaign(
        id=campaign_id,
        workspace_id=1,
        name=spec.name,
        kind=spec.kind,
        status=spec.status,
        delivery=spec.delivery,
        start_at=spec.start_at,
        end_at=spec.end_at,
        trigger=spec.trigger,
        created_at=START,
        updated_at=START,
    )


def event(
    name: str = "shopify_created_order", *, at: datetime = START, key: str = "1"
) -> EventAdded:
    return EventAdded(USER, name, key, {}, at, historical=True)


def purchase(product: str = "42", *, at: datetime = START, key: str = "1:1:0") -> PurchaseAdded:
    return PurchaseAdded(USER, product, "CAD", Decimal("10.00"), 1, key, {}, at, historical=True)


def attribute(
    name: str = "shopify_tags", new: Any = "vip", *, custom: bool = True, at: datetime = START
) -> AttributeChanged:
    return AttributeChanged(USER, name, None, new, custom, at, historical=True)


def email(at: datetime = START) -> EmailAdded:
    return EmailAdded(USER, "ann@example.com", at, historical=True)


def subscription(
    group: int = EMAIL_GROUP,
    state: str = "subscribed",
    *,
    channel: str = "email",
    at: datetime = START,
) -> SubscriptionChanged:
    return SubscriptionChanged(USER, group, channel, None, state, at, historical=True)  # type: ignore[arg-type]


Case = tuple[dict[str, Any], Callable[[datetime], Change], list[Change]]

CASES: dict[str, Case] = {
    "change_custom_attribute_value": (
        {"type": "change_custom_attribute_value", "attribute": "shopify_tags"},
        lambda at: attribute(at=at),
        [
            attribute("shopify_order_count", 3),
            attribute("first_name", "Ann", custom=False),
            event(),
        ],
    ),
    "perform_conversion_event": (
        {"type": "perform_conversion_event", "conversion": "purchase", "product_id": "42"},
        lambda at: purchase(at=at),
        [purchase("43"), event()],
    ),
    "perform_exception_event": (
        {
            "type": "perform_exception_event",
            "event_name": "shopify_created_order",
            "campaign": "referenced",
        },
        lambda at: event(at=at),
        [event("other_event"), purchase()],
    ),
    "update_subscription_status": (
        {"type": "update_subscription_status", "channel": "email", "state": "subscribed"},
        lambda at: subscription(at=at),
        [
            subscription(state="unsubscribed"),
            subscription(SMS_GROUP, channel="sms"),
        ],
    ),
    "update_subscription_group_status": (
        {
            "type": "update_subscription_group_status",
            "group": SMS_GROUP,
            "group_id": SMS_GROUP,
            "state": "unsubscribed",
        },
        lambda at: subscription(SMS_GROUP, "unsubscribed", channel="sms", at=at),
        [
            subscription(SMS_GROUP, "subscribed", channel="sms"),
            subscription(EMAIL_GROUP, "unsubscribed"),
        ],
    ),
    "add_email_address": (
        {"type": "add_email_address"},
        email,
        [attribute("email", "ann@example.com", custom=False), event()],
    ),
    "make_purchase": (
        {"type": "make_purchase"},
        lambda at: purchase(at=at),
        [event(), attribute()],
    ),
    "perform_custom_event": (
        {"type": "perform_custom_event", "event_name": "shopify_created_order"},
        lambda at: event(at=at),
        [event("shopify_created_order_x"), purchase()],
    ),
}


def evaluate(target: Campaign, changes: list[Change], policy: Policy = SEED) -> int:
    matcher = Matcher([target], {"referenced": REFERENCED_ID})
    memory = OutboxMemory()
    memory.received.add((REFERENCED_ID, USER))  # the exception trigger's precondition
    return len(matcher.evaluate(changes, policy, memory))


@pytest.mark.parametrize("trigger_type", CASES)
def test_each_trigger_type_matches_its_change(trigger_type: str) -> None:
    trigger, matching, _ = CASES[trigger_type]
    assert evaluate(campaign(trigger), [matching(START + timedelta(days=1))]) == 1


@pytest.mark.parametrize("trigger_type", CASES)
def test_each_trigger_type_ignores_other_changes(trigger_type: str) -> None:
    trigger, _, others = CASES[trigger_type]
    for other in others:
        assert evaluate(campaign(trigger), [other]) == 0, other


@pytest.mark.parametrize("trigger_type", CASES)
@pytest.mark.parametrize(
    ("moment", "fires"),
    [
        (START - timedelta(seconds=1), False),
        (START, True),
        (END, True),
        (END + timedelta(seconds=1), False),
    ],
    ids=["1s-before-start", "at-start", "at-end", "1s-after-end"],
)
def test_schedule_bounds_are_inclusive(trigger_type: str, moment: datetime, fires: bool) -> None:
    trigger, matching, _ = CASES[trigger_type]
    assert evaluate(campaign(trigger), [matching(moment)]) == int(fires)


@pytest.mark.parametrize("trigger_type", CASES)
def test_historical_data_is_silent_unless_the_workspace_opts_in(trigger_type: str) -> None:
    trigger, matching, _ = CASES[trigger_type]
    change = matching(START)
    assert evaluate(campaign(trigger), [change], SILENT) == 0
    live = type(change)(**{**_fields(change), "historical": False})
    assert evaluate(campaign(trigger), [live], SILENT) == 1


def _fields(change: Change) -> dict[str, Any]:
    return {name: getattr(change, name) for name in change.__slots__}  # type: ignore[union-attr]


def test_campaigns_that_do_not_listen_never_fire() -> None:
    trigger = {"type": "make_purchase"}
    assert evaluate(campaign(trigger, status="paused"), [purchase()]) == 0
    assert evaluate(campaign(trigger, status="draft"), [purchase()]) == 0
    assert evaluate(campaign(trigger, status="stopped"), [purchase()]) == 0
    assert evaluate(campaign(trigger, delivery="scheduled"), [purchase()]) == 0


def test_no_end_time_means_open_ended() -> None:
    target = campaign({"type": "make_purchase"}, end=None)
    assert evaluate(target, [purchase(at=START + timedelta(days=3650))]) == 1


def test_attribute_value_condition_compares_like_the_store() -> None:
    exact = {"type": "change_custom_attribute_value", "attribute": "shopify_order_count"}
    assert evaluate(campaign({**exact, "value": 3}), [attribute("shopify_order_count", 3)]) == 1
    assert (
        evaluate(campaign({**exact, "value": "3.0"}), [attribute("shopify_order_count", 3)]) == 0
    ), "a string condition never equals a number"
    assert (
        evaluate(
            campaign({**exact, "value": 30.5}), [attribute("shopify_order_count", Decimal("30.50"))]
        )
        == 1
    )
    assert evaluate(campaign({**exact, "value": 4}), [attribute("shopify_order_count", 3)]) == 0


def test_conversion_event_on_a_custom_event() -> None:
    trigger = {"type": "perform_conversion_event", "conversion": "custom_event", "event_name": "x"}
    assert evaluate(campaign(trigger), [event("x")]) == 1
    assert evaluate(campaign(trigger), [event("y"), purchase()]) == 0


def test_exception_event_needs_the_referenced_campaign_first() -> None:
    purchase_campaign = campaign({"type": "make_purchase"}, campaign_id=1)
    exception = campaign(
        {
            "type": "perform_exception_event",
            "event_name": "shopify_created_order",
            "campaign": purchase_campaign.name,
        },
        campaign_id=2,
    )
    matcher = Matcher([exception, purchase_campaign], {purchase_campaign.name: 1})
    first_order = [event(key="1"), purchase(key="1:1:0")]
    second_order = [event(key="2"), purchase(key="2:1:0")]
    memory = OutboxMemory()
    fired = matcher.evaluate(first_order, SEED, memory)
    assert [m.campaign_id for m in fired] == [1], "no exception before the user got campaign 1"
    fired = matcher.evaluate(second_order, SEED, memory)
    assert [m.campaign_id for m in fired] == [2, 1]


def test_same_data_triggers_a_campaign_once_per_user() -> None:
    target = campaign({"type": "perform_custom_event", "event_name": "shopify_created_order"})
    matcher = Matcher([target])
    memory = OutboxMemory()
    assert len(matcher.evaluate([event(key="1"), event(key="1")], SEED, memory)) == 1
    assert len(matcher.evaluate([event(key="1")], SEED, memory)) == 0
    assert len(matcher.evaluate([event(key="2")], SEED, memory)) == 1


def test_data_keys_identify_the_data_not_the_campaign() -> None:
    assert describe(event(key="1"))[1] == describe(event(key="1"))[1]
    assert describe(event(key="1"))[1] != describe(event(key="2"))[1]
    later = attribute(at=START + timedelta(seconds=1))
    assert describe(attribute())[1] != describe(later)[1]
    assert describe(attribute(new="a"))[1] != describe(attribute(new="b"))[1]
    assert all(len(describe(c)[1]) == 32 for c in (event(), purchase(), email(), subscription()))
