"""``shopify-backfill emulator serve|check`` from the command line."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from emulator.serve_process import serve_process, until_listening
from shopify_backfill.cli import app
from shopify_backfill.errors import ConfigError

runner = CliRunner()


def test_every_command_has_help() -> None:
    for command in ("serve", "check"):
        result = runner.invoke(app, ["emulator", command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output


def test_check_passes_and_prints_what_it_saw() -> None:
    result = runner.invoke(app, ["emulator", "check", "--customers", "20", "--orders", "40"])
    assert result.exit_code == 0, result.output
    assert "counts: 40 orders, 20 customers" in result.output
    assert "FAIL" not in result.output
    assert "burst throttled" in result.output
    assert "emulator check passed" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plan", "gold"], "--plan 'gold' is not one of"),
        (["--now", "yesterday"], "--now 'yesterday' is not an ISO 8601 time"),
        (["--token", "abc"], "--token must start with shpat_"),
        (["--scopes", "read_orders,read_everything"], "read_everything is not a Shopify access"),
        (["--scopes", " , "], "--scopes is empty"),
    ],
)
def test_serve_rejects_bad_arguments(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["emulator", "serve", *args])
    assert isinstance(result.exception, ConfigError)
    assert message in str(result.exception)


def test_serve_rejects_negative_sizes() -> None:
    result = runner.invoke(app, ["emulator", "serve", "--orders", "-1"])
    assert result.exit_code == 2
    assert "greater than or equal to 0" in result.output


def test_serve_prints_credentials_and_answers(tmp_path: Path) -> None:
    scopes = "read_orders,read_all_orders,read_customers,read_inventory"
    with serve_process(
        "--customers",
        "5",
        "--orders",
        "8",
        "--db",
        str(tmp_path / "shop.sqlite"),
        "--now",
        "2026-07-01T00:00:00Z",
        "--scopes",
        scopes,
    ) as served:
        port, token = served.port, served.token
        assert "shop domain:    emulator-shop.myshopify.com" in served.text
        assert f"token scopes:   {scopes}" in served.text
        assert f"http://127.0.0.1:{port}/admin/api/2026-07/" in served.text
        response = until_listening(
            lambda: httpx.post(
                f"http://127.0.0.1:{port}/admin/api/2026-07/graphql.json",
                json={"query": "{ ordersCount(limit: null) { count } }"},
                headers={"X-Shopify-Access-Token": token},
            )
        )
        assert response.json()["data"]["ordersCount"]["count"] == 8
        granted = httpx.get(
            f"http://127.0.0.1:{port}/admin/oauth/access_scopes.json",
            headers={"X-Shopify-Access-Token": token},
        ).json()["access_scopes"]
        assert [scope["handle"] for scope in granted] == [
            "read_orders",
            "read_all_orders",
            "read_customers",
            "read_inventory",
        ]
    assert (tmp_path / "shop.sqlite").is_file()
