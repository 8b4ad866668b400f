"""End to end on the emulator: the audit's prediction against the real backfill's outbox.

The backfill is the real runner (extraction, checkpoints, ``load_batch``) with the
trigger engine registered as its after-batch hook; the audit is the real dry run, once
through the preview's section provider. Campaigns come from ``campaign_set.yaml``
(all eight trigger types, plus campaigns that must not fire).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from graphql import GraphQLSchema
from sqlalchemy.engine import Engine

from shopify_backfill.backfill.preview import build_preview
from shopify_backfill.backfill.store import BackfillRow
from shopify_backfill.campaigns import (
    TRIGGER_TYPES,
    RiskAudit,
    add_campaigns,
    apply_fixes,
    audit_backfill,
    list_campaigns,
    load_campaign_file,
    moved_by_audit,
    outbox_reach,
    pause_campaign,
    paused_by_audit,
    resume_campaign,
    resume_paused_by_audit,
    trigger_hook,
)
from shopify_backfill.campaigns.report import audit_lines
from shopify_backfill.campaigns.source import window_records
from shopify_backfill.campaigns.tables import triggered_messages
from shopify_backfill.profiles import LoadContext, load_batch
from shopify_backfill.profiles.connections import load_connection
from shopify_backfill.profiles.schema import users
from shopify_backfill.wiring import Services
from shopify_backfill.wiring.risk import risk_section_provider

from .records import customer, order
from .shop import STORE_NOW, Shop, connect, open_shop, services_for, start_and_run

CAMPAIGN_SET = Path(__file__).parent / "campaign_set.yaml"
NEVER_FIRE = {"Summer launch", "Paused winback", "Draft welcome", "Monthly newsletter"}


@pytest.fixture
def shop(admin_schema: GraphQLSchema) -> Iterator[Shop]:
    with open_shop(admin_schema, customers=50, orders=160, seed=11) as opened:
        yield opened


@pytest.fixture
def services(engine: Engine, tmp_path: Path) -> Services:
    return services_for(engine, tmp_path / "data")


def prepare(services: Services, shop: Shop, *, trigger_historical: bool) -> BackfillRow:
    row = connect(services, shop, trigger_historical=trigger_historical)
    with services.engine.begin() as conn:
        add_campaigns(conn, row.workspace_id, load_campaign_file(CAMPAIGN_SET))
    return row


def run_audit(services: Services, shop: Shop, row: BackfillRow) -> RiskAudit:
    with services.engine.begin() as conn:
        connection = load_connection(
            conn, services.cipher, workspace_id=row.workspace_id, shop_domain=row.shop_domain
        )
        with connection.client(transport=shop.transport) as client:
            return audit_backfill(
                conn,
                workspace_id=row.workspace_id,
                connection_id=connection.id,
                backfill_id=row.id,
                batches=window_records(client, row.window, "paginated", services.settings),
            )


def outbox_by_name(services: Services, workspace_id: int) -> dict[str, tuple[int, int]]:
    with services.engine.connect() as conn:
        reach = outbox_reach(conn, workspace_id)
        named = {c.id: c.name for c in list_campaigns(conn, workspace_id)}
    return {named[cid]: (r.users, r.messages) for cid, r in reach.items()}


def count_users(services: Services, workspace_id: int) -> int:
    with services.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(users.c.workspace_id == workspace_id)
            ).scalar_one()
        )


def live_load(services: Services, row: BackfillRow, connection_id: int) -> list[Any]:
    """A new customer's order placed a day after the connection: live data."""
    placed = (STORE_NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ctx = LoadContext(row.workspace_id, connection_id, backfill_id=None, historical=False)
    with services.engine.begin() as conn:
        result = load_batch(
            conn, ctx, [customer(900_001, updatedAt=placed), order(900_002, 900_001, placed)]
        )
        trigger_hook(conn, ctx, result)
    with services.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(triggered_messages).where(
                    triggered_messages.c.workspace_id == row.workspace_id,
                    triggered_messages.c.historical.is_(False),
                )
            )
        )


def test_seed_compatible_prediction_equals_the_outbox(services: Services, shop: Shop) -> None:
    row = prepare(services, shop, trigger_historical=True)
    with services.engine.begin() as conn:
        connection = load_connection(
            conn, services.cipher, workspace_id=row.workspace_id, shop_domain=row.shop_domain
        )
        with connection.client(transport=shop.transport) as client:
            preview = build_preview(
                conn,
                services.settings,
                client,
                workspace_id=row.workspace_id,
                connection_id=connection.id,
                shop_domain=row.shop_domain,
                api_url=connection.api_url,
                token=connection.token,
                window=row.window,
                status=row.status,
                transport=shop.transport,
                sections=[risk_section_provider(services, transport=shop.transport)],
            )
    assert count_users(services, row.workspace_id) == 0, "the dry run left nothing behind"
    (section,) = preview.sections
    assert section.warning
    predicted = {
        item["name"]: (item["predicted"]["users"], item["predicted"]["messages"])
        for item in section.data["campaigns"]
        if item["predicted"]["messages"]
    }
    types = {item["trigger_type"] for item in section.data["campaigns"]}
    assert types == set(TRIGGER_TYPES), "the fixture exercises all eight trigger types"
    assert not NEVER_FIRE & set(predicted)

    outcome = start_and_run(services, row, shop.options())
    assert outcome.status == "completed", outcome.failure_reason
    assert outbox_by_name(services, row.workspace_id) == predicted
    spring = predicted["Spring orders only"]
    assert 0 < spring[1] < predicted["Order follow-up"][1], "the end time cuts the window"


def test_applied_fixes_keep_the_outbox_empty_and_are_undone_after(
    services: Services, shop: Shop
) -> None:
    row = prepare(services, shop, trigger_historical=True)
    audit = run_audit(services, shop, row)
    assert audit.mode == "seed_compatible"
    assert audit.predicted_messages > 0
    moves = {r.name for r in audit.fixes if r.fix and r.fix.action == "move_start"}
    # "Spring orders only" ends before the connection: a later start would pass its end.
    assert moves == {"Post-purchase", "Order follow-up"}
    with services.engine.begin() as conn:
        applied = apply_fixes(conn, audit)
    assert {fix.campaign_name for fix in applied} == {r.name for r in audit.fixes}

    again = run_audit(services, shop, row)
    assert again.predicted_messages == 0, "the audit agrees the fixes are enough"
    outcome = start_and_run(services, row, shop.options())
    assert outcome.status == "completed", outcome.failure_reason
    assert outbox_by_name(services, row.workspace_id) == {}

    connection_id = row.connection_id
    assert connection_id is not None
    with services.engine.begin() as conn:
        paused = {f.campaign_name for f in paused_by_audit(conn, row.workspace_id, connection_id)}
        moved = {f.campaign_name: f for f in moved_by_audit(conn, row.workspace_id, connection_id)}
        assert paused == {r.name for r in audit.fixes} - moves
        assert set(moved) == moves
        assert all(f.new_start_at == STORE_NOW for f in moved.values())
        resumed = resume_paused_by_audit(conn, row.workspace_id, connection_id)
        assert {f.campaign_name for f in resumed if f.resolution == "resumed"} == paused
        assert {f.campaign_name for f in resumed if f.resolution == "kept"} == moves
        statuses = {c.name: c.status for c in list_campaigns(conn, row.workspace_id)}
        assert paused_by_audit(conn, row.workspace_id, connection_id) == []
    assert all(statuses[name] == "active" for name in paused)
    assert statuses["Paused winback"] == "paused", "only what the audit paused is resumed"

    live = live_load(services, row, connection_id)
    fired = {r.trigger_type for r in live}
    assert {"make_purchase", "perform_custom_event", "add_email_address"} <= fired
    assert all(r.data_time > STORE_NOW for r in live if r.data_kind != "attribute_changed")


def test_silent_backfill_needs_no_fix_and_triggers_nothing(services: Services, shop: Shop) -> None:
    row = prepare(services, shop, trigger_historical=False)
    audit = run_audit(services, shop, row)
    assert audit.mode == "silent"
    assert audit.predicted_messages == 0
    assert audit.fixes == []
    would = {r.name: r.seed_compatible.messages for r in audit.risks}
    assert would["Post-purchase"] > 0, "the audit still shows what seed mode would send"
    assert would["Summer launch"] == 0
    outcome = start_and_run(services, row, shop.options())
    assert outcome.status == "completed", outcome.failure_reason
    assert outbox_by_name(services, row.workspace_id) == {}
    assert row.connection_id is not None
    live = live_load(services, row, row.connection_id)
    assert {"make_purchase", "perform_custom_event"} <= {r.trigger_type for r in live}


def test_audit_times_are_the_connection(services: Services, shop: Shop) -> None:
    row = prepare(services, shop, trigger_historical=True)
    audit = run_audit(services, shop, row)
    assert audit.connected_at == STORE_NOW
    assert audit.window.end - audit.window.start == timedelta(days=90)
    assert isinstance(audit.window.start, datetime)


def test_without_listening_campaigns_the_window_is_not_read(services: Services, shop: Shop) -> None:
    row = connect(services, shop, trigger_historical=True)
    with services.engine.begin() as conn:
        added = add_campaigns(conn, row.workspace_id, load_campaign_file(CAMPAIGN_SET))
        for campaign in added:
            if campaign.status == "active" and campaign.delivery == "action_based":
                pause_campaign(conn, row.workspace_id, campaign.name)
    read: list[int] = []

    def batches() -> Iterator[list[Any]]:
        read.append(1)
        yield [customer(1)]

    with services.engine.begin() as conn:
        assert row.connection_id is not None
        audit = audit_backfill(
            conn,
            workspace_id=row.workspace_id,
            connection_id=row.connection_id,
            backfill_id=row.id,
            batches=batches(),
        )
    assert read == [], "nothing can trigger, so the window must not be extracted"
    assert (audit.window_read, audit.risks, audit.customers_read) == (False, (), 0)
    assert audit.to_json()["window_read"] is False
    assert "not dry-run" in "\n".join(audit_lines(audit))
    with services.engine.begin() as conn:
        resume_campaign(conn, row.workspace_id, "Post-purchase")
        audit = audit_backfill(
            conn,
            workspace_id=row.workspace_id,
            connection_id=row.connection_id,
            backfill_id=row.id,
            batches=batches(),
        )
    assert read == [1] and audit.window_read and audit.customers_read == 1
