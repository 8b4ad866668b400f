"""``shopify-backfill connect`` and ``preflight`` against an emulator on a real port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from emulator_fixtures import serve_on_port
from shopify_backfill.cli import app

from .conftest import TOKEN, Emulator

SHOP = "emulator-shop.myshopify.com"
runner = CliRunner()


@pytest.fixture
def served(make_emulator: Any) -> Iterator[tuple[Emulator, str]]:
    emulator = make_emulator(customers=30, orders=120, seed=3, virtual=False)
    with serve_on_port(emulator.transport.app) as url:
        yield emulator, url


def _env(tmp_path: Path) -> dict[str, str]:
    return {"SHOPIFY_BACKFILL_DATA_DIR": str(tmp_path / "data")}


def test_connect_with_token_then_preflight(served: tuple[Emulator, str], tmp_path: Path) -> None:
    _, url = served
    env = _env(tmp_path)
    result = runner.invoke(
        app, ["connect", "--shop", SHOP, "--token", TOKEN, "--api-url", url], env=env
    )
    assert result.exit_code == 0, result.output
    assert f"connected {SHOP}" in result.output
    assert TOKEN not in result.output

    result = runner.invoke(app, ["preflight", "--shop", SHOP, "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert report["missing_scopes"] == []
    assert report["orders_in_window"] >= 0
    assert TOKEN.encode() not in (tmp_path / "data" / "backfill.db").read_bytes()


def test_preflight_reports_reauthorization(served: tuple[Emulator, str], tmp_path: Path) -> None:
    emulator, url = served
    legacy = emulator.runtime.tokens.mint(("read_customers", "read_orders"), "custom_app").token
    env = _env(tmp_path)
    connect = ["connect", "--shop", SHOP, "--token", legacy, "--api-url", url]
    result = runner.invoke(app, connect, env=env)
    assert result.exit_code == 0, result.output
    assert "missing scopes read_all_orders" in result.output

    result = runner.invoke(app, ["preflight", "--shop", SHOP, "--json"], env=env)
    assert result.exit_code == 3
    report = json.loads(result.output)
    assert report["missing_scopes"] == ["read_all_orders"]
    assert "/admin/oauth/authorize?" in report["reauthorize_url"]
    assert "read_all_orders" in report["reauthorize_url"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["connect", "--shop", "not a shop", "--token", "x"], "invalid shop domain"),
        (["connect", "--shop", SHOP], "exactly one of --token"),
        (["connect", "--shop", SHOP, "--token", "x", "--oauth"], "exactly one of --token"),
        (["preflight", "--shop", SHOP], "is not connected"),
    ],
)
def test_bad_arguments_get_clear_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shopify_backfill", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **_env(tmp_path)},
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr + result.stdout


def test_wrong_token_is_refused(served: tuple[Emulator, str], tmp_path: Path) -> None:
    _, url = served
    result = runner.invoke(
        app,
        ["connect", "--shop", SHOP, "--token", "shpat_wrong", "--api-url", url],
        env=_env(tmp_path),
    )
    assert result.exit_code != 0
    assert "refused the access token" in str(result.exception)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connect_through_oauth(served: tuple[Emulator, str], tmp_path: Path) -> None:
    """The CLI prints the install URL, receives the callback and stores the grant."""
    _, url = served
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopify_backfill",
            "connect",
            "--shop",
            SHOP,
            "--oauth",
            "--api-url",
            url,
            "--callback-port",
            str(port),
            "--timeout",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **_env(tmp_path), "COLUMNS": "500"},
    )
    assert process.stdout is not None
    install = ""
    for line in process.stdout:
        if "/admin/oauth/authorize?" in line:
            install = line.strip()
            break
    assert install.startswith(url)
    response = httpx.get(install, follow_redirects=True, timeout=30)
    assert response.status_code == 200
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "read_all_orders" in out
