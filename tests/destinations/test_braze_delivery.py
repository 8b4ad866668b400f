"""A backfill delivered to a Braze stand-in holds what the embedded store holds.

Braze's side is read from the stand-in's own record of what it received and applied:
the users, their attributes, events, purchases and consent, compared field by field with
the embedded store's export of a backfill of the same Shopify store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from backfill.conftest import FAST_RETRY, Shop, connect
from shopify_backfill.backfill import requests
from shopify_backfill.backfill.runner import RunOutcome, run_backfill
from shopify_backfill.backfill.store import BackfillRow, get_backfill
from shopify_backfill.profiles import export_profiles
from shopify_backfill.wiring import Services, make_preview
from shopify_backfill.wiring.destinations import add_braze_destination, braze_destinations

from .braze_compare import braze_view, embedded_view, match_users
from .conftest import BRAZE_KEY, BRAZE_URL, Braze

SMS_GROUP = "sms-group-1"


def braze_backfill(
    services: Services, shop: Shop, braze: Braze, *, max_objects: int = 75
) -> BackfillRow:
    """Connect ``shop``, add the stand-in as a destination and start the backfill to it."""
    row = connect(services, shop)
    target = add_braze_destination(
        services,
        workspace_id=row.workspace_id,
        name="stand-in",
        rest_endpoint=BRAZE_URL,
        api_key=SecretStr(BRAZE_KEY),
        max_objects=max_objects,
        sms_group_id=SMS_GROUP,
        transport=braze.transport,
    )
    with services.engine.begin() as conn:
        return requests.start(conn, row, now=datetime.now(UTC), braze_destination_id=target.id)


def run(services: Services, shop: Shop, braze: Braze, row: BackfillRow) -> RunOutcome:
    options = shop.options(
        destinations=braze_destinations(services, transport=braze.transport, retry=FAST_RETRY)
    )
    return run_backfill(services, row.id, options)


def embedded_profiles(services: Services, shop: Shop) -> tuple[list[dict[str, Any]], Any]:
    row = connect(services, shop)
    with services.engine.begin() as conn:
        requests.start(conn, row, now=datetime.now(UTC))
    outcome = run_backfill(services, row.id, shop.options())
    assert outcome.status == "completed", outcome.failure_reason
    with services.engine.connect() as conn:
        return export_profiles(conn, row.workspace_id), outcome.report


def assert_same_as_embedded(braze: Braze, profiles: list[dict[str, Any]], shop: Shop) -> None:
    users = braze.workspace.users()
    assert len(users) == len(profiles)
    for profile, user in match_users(profiles, users):
        assert braze_view(user, SMS_GROUP) == embedded_view(profile, shop.domain), profile[
            "aliases"
        ]


def test_braze_holds_the_users_events_purchases_and_consent_of_the_embedded_store(
    make_shop: Any, make_services: Any, make_braze: Any
) -> None:
    shop: Shop = make_shop(customers=60, orders=240, seed=3)
    profiles, embedded_report = embedded_profiles(make_services(), shop)
    braze: Braze = make_braze()
    services = make_services()
    row = braze_backfill(services, shop, braze)

    outcome = run(services, shop, braze, row)

    assert outcome.status == "completed", outcome.failure_reason
    assert outcome.report is not None
    assert outcome.report["delivery"]["object_errors"] == 0, outcome.report["delivery"][
        "object_error_examples"
    ]
    assert_same_as_embedded(braze, profiles, shop)
    report = outcome.report
    assert report is not None
    for key in ("customers", "guests", "orders", "events", "purchases", "data_points"):
        assert report[key] == embedded_report[key], key
    delivery = report["delivery"]
    assert delivery["sent"]["events"] == report["events"] > 0
    assert delivery["sent"]["purchases"] == report["purchases"] > 0
    assert delivery["uncertain"]["requests"] == delivery["unsent"]["requests"] == 0
    sizes = [
        sum(len(body.get(k, ())) for k in ("attributes", "events", "purchases"))
        for body in braze.workspace.received
    ]
    assert max(sizes) == 75, "never past Braze's cap"
    assert sum(1 for size in sizes if size != 75) == 1, "every request full but the last"
    assert sum(sizes) == sum(delivery["sent"][k] for k in ("attributes", "events", "purchases"))
    assert "delivered to Braze (stand-in" in _email_body(services, row.id)


def test_a_revoked_key_stops_the_run_by_name_and_resume_finishes_exactly(
    make_shop: Any, make_services: Any, make_braze: Any
) -> None:
    shop: Shop = make_shop(customers=30, orders=120, seed=7)
    profiles, _ = embedded_profiles(make_services(), shop)
    braze: Braze = make_braze()
    services = make_services()
    row = braze_backfill(services, shop, braze)
    revoked = False

    def revoke_once_braze_holds_some(conn: Any, ctx: Any, result: Any) -> None:
        # Requests fill across batches, so the first ones reach Braze some batches in.
        nonlocal revoked
        if not revoked and braze.workspace.stats().objects > 0:
            braze.workspace.revoke_key(BRAZE_KEY)
            revoked = True

    options = shop.options(
        hooks=[revoke_once_braze_holds_some],
        destinations=braze_destinations(services, transport=braze.transport, retry=FAST_RETRY),
    )
    failed = run_backfill(services, row.id, options)

    assert failed.status == "failed" and failed.exit_code == 77
    assert "Braze refused the API key (401" in (failed.failure_reason or "")
    assert "backfill resume" in (failed.failure_reason or "")
    held = sum(len(user.events) for user in braze.workspace.users())
    assert braze.workspace.stats().objects > 0, "the first batch was delivered"
    assert held < sum(len(p["events"]) for p in profiles), "stopped part-way"

    braze.workspace.add_key(BRAZE_KEY)
    with services.engine.begin() as conn:
        requests.resume(conn, get_backfill(conn, row.id), now=datetime.now(UTC))
    outcome = run(services, shop, braze, row)

    assert outcome.status == "completed", outcome.failure_reason
    assert_same_as_embedded(braze, profiles, shop)
    assert outcome.report is not None
    assert outcome.report["delivery"]["uncertain"]["requests"] == 0


_NOT_BILLED = {"user_alias", "external_id", "_update_existing_only", "subscription_groups"}


def test_the_previews_braze_estimate_prices_what_braze_then_counts(
    make_shop: Any, make_services: Any, make_braze: Any
) -> None:
    """Braze bills 1 per custom event, purchase and attribute set, properties free:
    https://braze.com/docs/user_guide/data_and_analytics/data_points ."""
    shop: Shop = make_shop(customers=60, orders=240, seed=5)
    braze: Braze = make_braze()
    services = make_services()
    row = braze_backfill(services, shop, braze)
    preview = make_preview(services, row, shop.options())

    outcome = run(services, shop, braze, row)

    assert outcome.status == "completed", outcome.failure_reason
    received = braze.workspace.received
    events = sum(len(body.get("events", ())) + len(body.get("purchases", ())) for body in received)
    attributes = sum(
        len(set(item) - _NOT_BILLED) for body in received for item in body.get("attributes", ())
    )
    estimate = preview.estimate
    assert outcome.report is not None
    metered = outcome.report["data_points"]["total"]
    billed = events + attributes
    # The preview prices a sample; what it must get right for Braze is the pricing:
    # Braze's share of the platform's figure, estimated, is the share actually billed.
    assert abs((estimate.braze_total / estimate.total) / (billed / metered) - 1) <= 0.2, (
        estimate,
        billed,
        metered,
    )
    assert billed < metered, "Braze bills no properties"
    assert preview.to_json()["data_points_estimate"]["braze_total"] == estimate.braze_total


def _email_body(services: Services, backfill_id: int) -> str:
    import sqlalchemy as sa

    from shopify_backfill.backfill.tables import email_outbox

    with services.engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(email_outbox.c.body).where(email_outbox.c.backfill_id == backfill_id)
            ).scalar_one()
        )
