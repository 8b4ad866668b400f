"""Campaign specs and files: what is accepted, and errors that name campaign and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from shopify_backfill.campaigns import (
    TRIGGER_TYPES,
    add_campaigns,
    get_campaign,
    list_campaigns,
    load_campaign_file,
    parse_spec,
)
from shopify_backfill.campaigns.model import PerformExceptionEvent, UpdateSubscriptionGroupStatus
from shopify_backfill.errors import InputError

from .conftest import SHOP, make_workspace

CAMPAIGN_SET = Path(__file__).parent / "campaign_set.yaml"
BASE: dict[str, Any] = {"name": "Welcome", "start_at": "2026-01-01T00:00:00Z"}
ADD_EMAIL = {
    "name": "A",
    "start_at": "2026-01-01T00:00:00Z",
    "trigger": {"type": "add_email_address"},
}


def test_choices_accept_hyphens_and_times_become_utc() -> None:
    spec = parse_spec(
        {
            **BASE,
            "delivery": "Action-Based",
            "start_at": "2026-01-01T02:00:00+02:00",
            "trigger": {"type": "make-purchase", "product_id": "7"},
        }
    )
    assert spec.delivery == "action_based"
    assert spec.start_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert spec.trigger is not None and spec.trigger.type == "make_purchase"
    assert spec.status == "active" and spec.kind == "campaign"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**BASE, "trigger": {"type": "make_purchse"}}, "campaign 'Welcome': trigger: unknown"),
        ({**BASE, "trigger": {"type": "make_purchse"}}, "unknown trigger type 'make_purchse'"),
        (
            {**BASE, "trigger": {"type": "perform_custom_event"}},
            "trigger.event_name: Field required",
        ),
        (
            {**BASE, "trigger": {"type": "perform_conversion_event", "conversion": "custom_event"}},
            "event_name is required when conversion is custom_event",
        ),
        (
            {
                **BASE,
                "trigger": {
                    "type": "update_subscription_status",
                    "channel": "push",
                    "state": "subscribed",
                },
            },
            "trigger.channel: Input should be 'email' or 'sms'",
        ),
        (
            {
                **BASE,
                "trigger": {
                    "type": "change_custom_attribute_value",
                    "attribute": "x",
                    "value": True,
                },
            },
            "trigger.value: a boolean is not a custom attribute value",
        ),
        ({"name": "Welcome", "trigger": {"type": "make_purchase"}}, "needs start_at"),
        (
            {**BASE, "start_at": "2026-01-01T00:00:00", "trigger": {"type": "make_purchase"}},
            "start_at: Input should have timezone info",
        ),
        (
            {**BASE, "end_at": "2025-12-31T00:00:00Z", "trigger": {"type": "make_purchase"}},
            "end_at must be after start_at",
        ),
        ({**BASE}, "an action-based campaign needs a trigger"),
        (
            {**BASE, "delivery": "scheduled", "trigger": {"type": "make_purchase"}},
            "only action-based campaigns have a trigger",
        ),
        (
            {**BASE, "status": "running", "trigger": {"type": "make_purchase"}},
            "status: Input should be",
        ),
        ({**BASE, "colour": "red", "trigger": {"type": "make_purchase"}}, "colour: Extra inputs"),
        ({"start_at": "2026-01-01T00:00:00Z"}, "campaign: name: Field required"),
    ],
)
def test_invalid_specs_name_the_campaign_and_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_spec(data, where="set.yaml: item 2")
    assert message in str(caught.value)
    assert str(caught.value).startswith("set.yaml: item 2: campaign")


def test_the_fixture_file_loads_and_covers_every_trigger_type() -> None:
    specs = load_campaign_file(CAMPAIGN_SET)
    assert {s.trigger.type for s in specs if s.trigger} == set(TRIGGER_TYPES)
    value = parse_spec(
        {
            **BASE,
            "trigger": {"type": "change_custom_attribute_value", "attribute": "a", "value": 2.5},
        }
    )
    assert value.trigger is not None and value.trigger.value == Decimal("2.5")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("set.txt", "[]", "unknown campaign file type"),
        ("set.json", "[{]", "invalid JSON at line 1"),
        ("set.yaml", "campaigns: [", "invalid YAML"),
        ("set.yaml", "things: []", "mapping with only a 'campaigns' key"),
        ("set.json", '{"campaigns": 3}', "expected a list of campaigns, got int"),
        (
            "set.json",
            json.dumps([ADD_EMAIL, ADD_EMAIL]),
            "repeated: A",
        ),
        ("set.yaml", "- name: B\n  trigger: {type: make_purchase}\n", "item 1: campaign 'B': "),
    ],
)
def test_bad_files_say_what_and_where(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_campaign_file(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such campaign file"):
        load_campaign_file(tmp_path / "absent.yaml")


def test_saving_resolves_groups_and_checks_references(engine: Engine) -> None:
    ws = make_workspace(engine, shop="emulator-shop.myshopify.com")
    with engine.begin() as conn:
        add_campaigns(conn, ws.workspace_id, load_campaign_file(CAMPAIGN_SET))
        saved = {c.name: c for c in list_campaigns(conn, ws.workspace_id)}
    group = saved["SMS group opt-out"].trigger
    assert isinstance(group, UpdateSubscriptionGroupStatus) and group.group_id is not None
    exception = saved["Ordered again after post-purchase"].trigger
    assert isinstance(exception, PerformExceptionEvent) and exception.campaign == "Post-purchase"
    assert saved["Spring orders only"].end_at == datetime(2026, 5, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        (
            {"type": "update_subscription_group_status", "group": "Nope", "state": "subscribed"},
            f"no subscription group 'Nope' in this workspace (known groups: '{SHOP} - Email",
        ),
        (
            {"type": "perform_exception_event", "event_name": "e", "campaign": "Ghost"},
            "trigger.campaign: no campaign named 'Ghost'",
        ),
        (
            {"type": "perform_exception_event", "event_name": "e", "campaign": "Loop"},
            "exception events refer in a loop (Loop -> Loop)",
        ),
    ],
)
def test_bad_references_are_refused_with_the_field(
    engine: Engine, trigger: dict[str, Any], message: str
) -> None:
    ws = make_workspace(engine)
    with pytest.raises(InputError) as caught, engine.begin() as conn:
        add_campaigns(
            conn, ws.workspace_id, [parse_spec({**BASE, "name": "Loop", "trigger": trigger})]
        )
    assert message in str(caught.value)
    assert "campaign 'Loop'" in str(caught.value)


def test_names_are_unique_unless_replacing(engine: Engine) -> None:
    ws = make_workspace(engine)
    first = parse_spec({**BASE, "trigger": {"type": "add_email_address"}})
    second = parse_spec({**BASE, "status": "paused", "trigger": {"type": "make_purchase"}})
    with engine.begin() as conn:
        add_campaigns(conn, ws.workspace_id, [first])
    with (
        pytest.raises(InputError, match="already exists in this workspace"),
        engine.begin() as conn,
    ):
        add_campaigns(conn, ws.workspace_id, [second])
    with engine.begin() as conn:
        add_campaigns(conn, ws.workspace_id, [second], replace=True)
        replaced = get_campaign(conn, ws.workspace_id, "Welcome")
    assert replaced.status == "paused" and replaced.trigger_type == "make_purchase"
