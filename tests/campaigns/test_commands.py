"""``shopify-backfill campaigns ...`` and ``audit`` from the command line.

The audit runs against the emulator served on a real port, through a connection stored
the way ``connect`` stores it (encrypted token, connected on the store's "now").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import GraphQLSchema
from pydantic import SecretStr
from typer.testing import CliRunner

from emulator_fixtures import serve_on_port
from shopify_backfill.cli import app
from shopify_backfill.config import Settings
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.connections import save_connection
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.wiring import build_services

from .shop import STORE_NOW, open_shop

CAMPAIGN_SET = Path(__file__).parent / "campaign_set.yaml"
SHOP = "emulator-shop.myshopify.com"
runner = CliRunner()
COMMANDS = [
    ["audit"],
    ["campaigns", "add"],
    ["campaigns", "load"],
    ["campaigns", "list"],
    ["campaigns", "pause"],
    ["campaigns", "resume"],
    ["campaigns", "set-start"],
    ["campaigns", "resume-paused"],
    ["campaigns", "mode"],
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SHOPIFY_BACKFILL_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def connected(
    admin_schema: GraphQLSchema, env: dict[str, str], tmp_path: Path
) -> Iterator[dict[str, str]]:
    """The emulator on a port, connected to the ``default`` workspace in seed mode."""
    with (
        open_shop(admin_schema, customers=30, orders=90, seed=5) as shop,
        serve_on_port(shop.transport.app) as url,
    ):
        services = build_services(Settings(data_dir=tmp_path / "data"))
        try:
            with services.engine.begin() as conn:
                workspace_id = create_workspace(conn, "default", trigger_historical=True)
                save_connection(
                    conn,
                    services.cipher,
                    workspace_id=workspace_id,
                    shop_domain=SHOP,
                    token=SecretStr(shop.token),
                    scopes=("read_customers", "read_orders", "read_all_orders"),
                    api_url=url,
                    api_version=services.settings.api_version,
                    now=STORE_NOW,
                )
        finally:
            services.dispose()
        yield env


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_add_list_pause_resume_and_move_start(env: dict[str, str]) -> None:
    add = [
        "campaigns",
        "add",
        "Big spenders",
        "--trigger",
        "change-custom-attribute-value",
        "--attribute",
        "shopify_total_spent",
        "--value",
        "100.50",
        "--start",
        "2026-01-01T00:00:00Z",
        "--kind",
        "canvas",
    ]
    result = runner.invoke(app, add, env=env)
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["campaigns", "pause", "Big spenders"], env=env).exit_code == 0
    moved = ["campaigns", "set-start", "Big spenders", "2026-07-01T12:00:00+00:00"]
    assert runner.invoke(app, moved, env=env).exit_code == 0
    result = runner.invoke(app, ["campaigns", "list", "--json"], env=env)
    (listed,) = json.loads(result.output)
    assert listed["status"] == "paused"
    assert listed["kind"] == "canvas"
    assert listed["start_at"] == "2026-07-01T12:00:00Z"
    assert listed["trigger"]["value"] == "100.50"
    result = runner.invoke(app, ["campaigns", "resume", "Big spenders"], env=env)
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["campaigns", "resume", "Big spenders"], env=env)
    assert isinstance(again.exception, InputError)
    assert "'Big spenders' is active; only a paused campaign can become active" in str(
        again.exception
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trigger", "make_purchse", "--start", "2026-01-01T00:00:00Z"], "unknown trigger type"),
        (
            ["--trigger", "make_purchase", "--start", "yesterday"],
            "--start 'yesterday' is not an ISO",
        ),
        (
            ["--trigger", "make_purchase", "--start", "2026-01-01"],
            "--start '2026-01-01' has no timezone",
        ),
        (["--event", "x", "--start", "2026-01-01T00:00:00Z"], "without --trigger TYPE"),
        (
            ["--trigger", "perform_custom_event", "--start", "2026-01-01T00:00:00Z"],
            "campaign 'C': trigger.event_name: Field required",
        ),
    ],
)
def test_add_rejects_bad_arguments(env: dict[str, str], args: list[str], message: str) -> None:
    result = runner.invoke(app, ["campaigns", "add", "C", *args], env=env)
    assert isinstance(result.exception, InputError), result.output
    assert message in str(result.exception)


def test_commands_on_unknown_names_say_so(env: dict[str, str]) -> None:
    runner.invoke(
        app,
        [
            "campaigns",
            "add",
            "A",
            "--trigger",
            "add_email_address",
            "--start",
            "2026-01-01T00:00:00Z",
        ],
        env=env,
    )
    result = runner.invoke(app, ["campaigns", "pause", "Nope"], env=env)
    assert isinstance(result.exception, InputError)
    assert "no campaign named 'Nope'" in str(result.exception)
    result = runner.invoke(app, ["campaigns", "list", "--workspace", "ghost"], env=env)
    assert isinstance(result.exception, InputError)
    assert "no workspace named 'ghost'" in str(result.exception)


def test_audit_apply_then_resume_paused(connected: dict[str, str]) -> None:
    env = connected
    result = runner.invoke(app, ["campaigns", "load", str(CAMPAIGN_SET)], env=env)
    assert result.exit_code == 0, result.output
    assert "loaded 13 campaign(s)" in result.output

    result = runner.invoke(app, ["audit", "--shop", SHOP, "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["mode"] == "seed_compatible"
    assert report["backfill_status"] == "not_started"
    at_risk = {c["name"]: c for c in report["campaigns"] if c["fix"]}
    assert at_risk["Post-purchase"]["fix"]["action"] == "move_start"
    assert at_risk["Welcome new address"]["fix"]["action"] == "pause"
    assert report["applied"] == []

    result = runner.invoke(app, ["audit", "--shop", SHOP, "--apply"], env=env)
    assert result.exit_code == 0, result.output
    assert "paused 'Welcome new address'" in result.output
    assert (
        "moved the start of 'Post-purchase' from 2026-01-01T00:00:00Z to 2026-07-01T12:00:00Z"
        in result.output
    )

    result = runner.invoke(app, ["audit", "--shop", SHOP, "--json"], env=env)
    assert json.loads(result.output)["predicted_messages"] == 0

    result = runner.invoke(app, ["campaigns", "resume-paused", "--shop", SHOP], env=env)
    assert isinstance(result.exception, InputError)
    assert "is not_started; resuming now would let its historical data trigger" in str(
        result.exception
    )
    result = runner.invoke(app, ["campaigns", "resume-paused", "--shop", SHOP, "--force"], env=env)
    assert result.exit_code == 0, result.output
    assert "resumed 'Welcome new address'" in result.output
    assert "kept the start of 'Post-purchase' at 2026-07-01T12:00:00Z" in result.output
    statuses = {
        c["name"]: c["status"]
        for c in json.loads(runner.invoke(app, ["campaigns", "list", "--json"], env=env).output)
    }
    assert statuses["Welcome new address"] == "active"
    assert statuses["Paused winback"] == "paused"


def test_mode_shows_and_switches_the_risk_mode(connected: dict[str, str]) -> None:
    env = connected
    shown = runner.invoke(app, ["campaigns", "mode"], env=env)
    assert shown.exit_code == 0 and shown.output.startswith("risk mode: Seed-compatible.")
    switched = runner.invoke(app, ["campaigns", "mode", "silent"], env=env)
    assert switched.exit_code == 0, switched.output
    assert switched.output.startswith("switched to: Silent backfill (default).")
    again = runner.invoke(app, ["campaigns", "mode", "silent"], env=env)
    assert again.output.startswith("already: Silent backfill (default).")
    bad = runner.invoke(app, ["campaigns", "mode", "loud"], env=env)
    assert isinstance(bad.exception, InputError)
    assert "unknown risk mode 'loud'" in str(bad.exception)
    assert runner.invoke(app, ["campaigns", "mode"], env=env).output.startswith(
        "risk mode: Silent backfill"
    )
