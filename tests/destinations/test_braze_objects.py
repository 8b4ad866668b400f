"""Changes into Braze objects and objects into requests: the pure half of the delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopify_backfill.destinations.braze.objects import braze_time, translate
from shopify_backfill.destinations.braze.packing import MAX_OBJECTS, pack
from shopify_backfill.profiles.changes import (
    AttributeChanged,
    EventAdded,
    PurchaseAdded,
    SubscriptionChanged,
)

T0 = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
KEYS = {1: ("shopify_customer_id", "101"), 2: ("shopify_email", "guest@example.com")}


def test_one_attributes_object_per_user_then_its_events_and_purchases() -> None:
    changes = [
        AttributeChanged(1, "email", None, "a@example.com", False, T0, True),
        EventAdded(2, "shopify_created_order", "9", {"order_id": 9}, T0, True),
        AttributeChanged(1, "shopify_total_spent", None, Decimal("12.30"), True, T0, True),
        SubscriptionChanged(1, 7, "email", None, "subscribed", T0, True),
        PurchaseAdded(1, "p1", "EUR", Decimal("4.10"), 2, "9:1:0", {"sku": "S"}, T0, True),
    ]
    result = translate(changes, KEYS, sms_group_id=None)
    kinds = [(name, obj["user_alias"]["alias_name"]) for name, obj in result.objects]
    assert kinds == [("attributes", "101"), ("purchases", "101"), ("events", "guest@example.com")]
    attributes = result.objects[0][1]
    assert attributes == {
        "user_alias": {"alias_label": "shopify_customer_id", "alias_name": "101"},
        "_update_existing_only": False,
        "email": "a@example.com",
        "shopify_total_spent": Decimal("12.30"),
        "email_subscribe": "subscribed",
    }
    purchase = result.objects[1][1]
    assert purchase["price"] == Decimal("4.10") and purchase["quantity"] == 2
    assert purchase["time"] == "2026-03-04T05:06:07.890Z"
    assert all(obj["_update_existing_only"] is False for _, obj in result.objects)


def test_sms_consent_needs_a_subscription_group() -> None:
    change = SubscriptionChanged(1, 8, "sms", None, "unsubscribed", T0, True)
    without = translate([change], KEYS, sms_group_id=None)
    assert without.objects == [] and without.sms_states_skipped == 1
    with_group = translate([change], KEYS, sms_group_id="grp-1")
    assert with_group.objects[0][1]["subscription_groups"] == [
        {"subscription_group_id": "grp-1", "subscription_state": "unsubscribed"}
    ]


def test_braze_time_is_utc_with_a_z_whatever_the_offset() -> None:
    paris = T0.astimezone(timezone(timedelta(hours=1)))
    assert braze_time(paris) == braze_time(T0) == "2026-03-04T05:06:07.890Z"


@given(
    st.lists(st.sampled_from(["attributes", "events", "purchases"]), max_size=400),
    st.integers(min_value=1, max_value=MAX_OBJECTS),
)
def test_packing_never_exceeds_the_cap_and_keeps_every_object_in_order(
    names: list[str], cap: int
) -> None:
    objects = [(name, {"n": index}) for index, name in enumerate(names)]
    bodies = pack(objects, cap)  # type: ignore[arg-type]
    assert all(1 <= body.size <= cap for body in bodies)
    assert all(body.size == cap for body in bodies[:-1]), "only the last request is short"
    seen = sorted(
        (obj["n"], name) for body in bodies for name, items in body.arrays.items() for obj in items
    )
    assert seen == [(index, name) for index, (name, _) in enumerate(objects)]


def test_packing_refuses_a_cap_braze_would_refuse() -> None:
    with pytest.raises(ValueError, match="max_objects"):
        pack([], 76)
