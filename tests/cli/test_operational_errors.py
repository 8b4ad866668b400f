"""Operational mistakes get one readable line and the documented exit code (hardening 7).

Run through ``python -m shopify_backfill`` as a user would, so the exit code and stderr are
the real ones (``cli.main`` maps product errors; Click reports bad option values with 2).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from shopify_backfill.cli.connect import _api_base
from shopify_backfill.config import unknown_env_names
from shopify_backfill.errors import InputError


def cli(tmp_path: Path, *args: str, **env_settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env["SHOPIFY_BACKFILL_DATA_DIR"] = str(tmp_path / "data")
    env["COLUMNS"] = "300"
    for name, value in env_settings.items():
        env[name] = value
    return subprocess.run(
        [sys.executable, "-m", "shopify_backfill", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_no_workspace_yet_says_how_to_connect(tmp_path: Path) -> None:
    result = cli(tmp_path, "backfill", "status", "--shop", "nobody.myshopify.com")
    assert_one_clear_line(result, 65, "no store is connected", "shopify-backfill connect")


def test_status_of_a_never_connected_shop_is_an_error(tmp_path: Path) -> None:
    # A connected workspace exists only after a connect; make one with another shop.
    from shopify_backfill.config import Settings
    from shopify_backfill.profiles.workspaces import create_workspace
    from shopify_backfill.wiring import build_services

    services = build_services(Settings(data_dir=tmp_path / "data"))
    with services.engine.begin() as conn:
        create_workspace(conn, "default")
    services.dispose()
    result = cli(tmp_path, "backfill", "status", "--shop", "nobody.myshopify.com")
    assert_one_clear_line(result, 65, "is not connected", "connect --shop nobody.myshopify.com")


@pytest.mark.parametrize(("option", "value"), [("--timeout", "-1"), ("--callback-port", "99999")])
def test_out_of_range_oauth_options_name_the_option(
    tmp_path: Path, option: str, value: str
) -> None:
    result = cli(tmp_path, "connect", "--shop", "a.myshopify.com", "--oauth", option, value)
    assert_one_clear_line(result, 2, option)


def test_a_callback_port_in_use_names_the_option(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = cli(
            tmp_path, "connect", "--shop", "a.myshopify.com", "--oauth", "--callback-port", port
        )
    assert_one_clear_line(result, 65, f"--callback-port {port}", "free port")


def test_a_malformed_api_url_is_bad_input_not_transient(tmp_path: Path) -> None:
    result = cli(
        tmp_path, "connect", "--shop", "a.myshopify.com", "--token", "shpat_x",
        "--api-url", "not-a-url",
    )  # fmt: skip
    assert_one_clear_line(result, 65, "--api-url", "not an http(s) URL")


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        # What `emulator serve` prints as the admin API base.
        ("http://127.0.0.1:8765/admin/api/2026-07/", "http://127.0.0.1:8765"),
        ("https://my-store.myshopify.com", "https://my-store.myshopify.com"),
        (
            "https://proxy.example.com/shopify/admin/api/2026-07",
            "https://proxy.example.com/shopify",
        ),
    ],
)
def test_the_api_url_the_emulator_prints_is_accepted(given: str, base: str) -> None:
    assert _api_base(given) == base


@pytest.mark.parametrize("bad", ["not-a-url", "ftp://host", "https://", "127.0.0.1:8765"])
def test_api_urls_without_scheme_or_host_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match="--api-url"):
        _api_base(bad)


def test_a_misspelt_setting_is_named_with_the_closest_one(tmp_path: Path) -> None:
    assert unknown_env_names(
        {"SHOPIFY_BACKFILL_DATABSE_URL": "x", "SHOPIFY_BACKFILL_DATA_DIR": "y", "HOME": "/"}
    ) == [
        "SHOPIFY_BACKFILL_DATABSE_URL is not a setting and is ignored; "
        "did you mean SHOPIFY_BACKFILL_DATABASE_URL?"
    ]
    result = cli(tmp_path, "backfill", "--help", SHOPIFY_BACKFILL_DATABSE_URL="sqlite:///x")
    assert result.returncode == 0
    assert "did you mean SHOPIFY_BACKFILL_DATABASE_URL?" in result.stderr
