"""Braze misbehaving: 429 storms, 5xx, queued answers, resets. Exact, or a named window.

429 and 5xx are retried until accepted (honouring Retry-After), and 202 "queued" is
accepted (https://www.braze.com/docs/api/errors/): the result is exactly the embedded
store's. A connection reset after a request went out leaves its fate unknown: its
events and purchases are not resent and are counted as in flight, its attributes are
sent again; so Braze holds nothing twice and misses exactly what the report says.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from backfill.conftest import FAST_RETRY, Shop
from shopify_backfill.backfill.runner import run_backfill
from shopify_backfill.profiles.types import json_dumps
from shopify_backfill.wiring.destinations import braze_destinations

from .braze_compare import braze_view, embedded_view, match_users
from .conftest import Braze
from .test_braze_delivery import (
    SMS_GROUP,
    assert_same_as_embedded,
    braze_backfill,
    embedded_profiles,
    run,
)


@pytest.mark.parametrize(
    "faults",
    [
        {"throttle_next": 5},
        {"fail_next": 6, "fail_status": 503},
        {"queued_share": 0.5},
        {"throttle_next": 4, "fail_next": 3, "fail_status": 500, "queued_share": 0.2},
    ],
    ids=["429-storm", "503s", "queued", "mixed"],
)
def test_retried_faults_end_exact(
    make_shop: Any, make_services: Any, make_braze: Any, faults: dict[str, Any]
) -> None:
    shop: Shop = make_shop(customers=30, orders=120, seed=11)
    profiles, _ = embedded_profiles(make_services(), shop)
    braze: Braze = make_braze(window_seconds=1.0)
    services = make_services()
    row = braze_backfill(services, shop, braze)
    for name, value in faults.items():
        setattr(braze.workspace.faults, name, value)

    outcome = run(services, shop, braze, row)

    assert outcome.status == "completed", outcome.failure_reason
    assert_same_as_embedded(braze, profiles, shop)
    stats = braze.workspace.stats()
    assert stats.throttled >= faults.get("throttle_next", 0)
    assert stats.requests.get(faults.get("fail_status", 500), 0) == faults.get("fail_next", 0)
    assert outcome.report is not None
    delivery = outcome.report["delivery"]
    assert delivery["uncertain"]["requests"] == 0
    assert delivery["queued_requests"] == stats.requests.get(202, 0)
    if faults.get("queued_share", 0) >= 0.5:
        assert delivery["queued_requests"] > 0


@pytest.mark.parametrize("fault", ["reset_next", "drop_after_accept_next"])
def test_resets_double_nothing_and_miss_only_what_the_report_counts(
    make_shop: Any, make_services: Any, make_braze: Any, fault: str
) -> None:
    shop: Shop = make_shop(customers=30, orders=120, seed=13)
    profiles, _ = embedded_profiles(make_services(), shop)
    braze: Braze = make_braze()
    services = make_services()
    row = braze_backfill(services, shop, braze)

    armed = False

    def once_orders_flow(conn: Any, ctx: Any, result: Any) -> None:
        # Customers come first, in attribute-only requests that are simply resent; the
        # resets are aimed at the orders' requests, whose fate cannot be learnt.
        nonlocal armed
        if result.counts.orders_imported and not armed:
            armed = True
            setattr(braze.workspace.faults, fault, 3)

    options = shop.options(
        hooks=[once_orders_flow],
        destinations=braze_destinations(services, transport=braze.transport, retry=FAST_RETRY),
    )
    outcome = run_backfill(services, row.id, options)

    assert outcome.status == "completed", outcome.failure_reason
    assert outcome.report is not None
    uncertain = outcome.report["delivery"]["uncertain"]
    assert uncertain["requests"] > 0
    missing: Counter[str] = Counter()
    users = braze.workspace.users()
    assert len(users) == len(profiles)
    for profile, user in match_users(profiles, users):
        want, got = embedded_view(profile, shop.domain), braze_view(user, SMS_GROUP)
        assert got["attributes"] == want["attributes"]
        assert (got["email_subscribe"], got["sms"]) == (want["email_subscribe"], want["sms"])
        for kind in ("events", "purchases"):
            held = Counter(json_dumps(item) for item in got[kind])
            wanted = Counter(json_dumps(item) for item in want[kind])
            assert not held - wanted, f"{kind} twice"
            missing[kind] += sum((wanted - held).values())
    if fault == "reset_next":  # never reached Braze: exactly the uncertain ones are missing
        assert (missing["events"], missing["purchases"]) == (
            uncertain["events"],
            uncertain["purchases"],
        )
    else:  # Braze applied them before the connection dropped: nothing is missing
        assert missing["events"] == missing["purchases"] == 0


def test_the_sender_keeps_under_the_limit_it_is_given(
    make_shop: Any, make_services: Any, make_braze: Any
) -> None:
    """Paced by its own count, the sender is never throttled by a Braze enforcing the same
    limit (here 10 requests per second, so the run spans several windows)."""
    shop: Shop = make_shop(customers=30, orders=120, seed=11)
    profiles, _ = embedded_profiles(make_services(), shop)
    braze: Braze = make_braze(limit=10, window_seconds=1.0)
    services = make_services(braze_requests_per_window=10, braze_window_seconds=1.0)
    row = braze_backfill(services, shop, braze, max_objects=20)

    outcome = run(services, shop, braze, row)

    assert outcome.status == "completed", outcome.failure_reason
    assert_same_as_embedded(braze, profiles, shop)
    stats = braze.workspace.stats()
    assert stats.throttled == 0
    assert len(stats.timestamps) > 20, "the run spans several windows"
