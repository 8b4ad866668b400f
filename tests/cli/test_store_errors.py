"""Profile-store trouble and oversized demos: one line, the setting, the cause (hardening 7).

Unreachable or missing PostgreSQL, unwritable SQLite paths and data folders (beneath a
regular file, or in ``/proc``: the tests run as root, so permissions would not stop
them), a read-only ``status`` that must create nothing, and demo sizes that would run
until killed. Each runs the real command in a subprocess.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .test_operational_errors import assert_one_clear_line, cli

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/x"
MISSING_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/no_such_db_xyz"
SHOP = ("--shop", "a.myshopify.com")


def assert_single_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert_one_clear_line(result, code, *words)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("command", [("backfill", "start", "--yes"), ("backfill", "status")])
def test_an_unreachable_postgres_names_the_setting_and_is_transient(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = cli(tmp_path, *command, *SHOP, SHOPIFY_BACKFILL_DATABASE_URL=UNREACHABLE)
    assert_single_line(result, 75, f"SHOPIFY_BACKFILL_DATABASE_URL={UNREACHABLE}", "refused")


def test_the_password_of_an_unreachable_store_is_not_printed(tmp_path: Path) -> None:
    url = "postgresql://nobody:sekrit@127.0.0.1:1/x"
    result = cli(tmp_path, "backfill", "status", *SHOP, SHOPIFY_BACKFILL_DATABASE_URL=url)
    assert_single_line(result, 75, "nobody:***@127.0.0.1:1/x")
    assert "sekrit" not in result.stderr


@pytest.mark.parametrize("command", [("backfill", "start", "--yes"), ("backfill", "status")])
def test_a_missing_postgres_database_is_a_configuration_error(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = cli(tmp_path, *command, *SHOP, SHOPIFY_BACKFILL_DATABASE_URL=MISSING_DB)
    assert_single_line(result, 78, "SHOPIFY_BACKFILL_DATABASE_URL", "no_such_db_xyz", "not exist")


def test_demo_names_its_database_url_option(tmp_path: Path) -> None:
    result = cli(tmp_path, "demo", "--data-dir", str(tmp_path / "d"), "--database-url", MISSING_DB)
    assert_single_line(result, 78, f"--database-url={MISSING_DB}", "not exist")


def test_a_data_dir_beneath_a_file_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    folder = tmp_path / "a-file" / "data"
    result = cli(
        tmp_path, "backfill", "start", "--yes", *SHOP, SHOPIFY_BACKFILL_DATA_DIR=str(folder)
    )
    assert_single_line(result, 78, f"SHOPIFY_BACKFILL_DATA_DIR={folder}", "is a file")


@pytest.mark.parametrize("url", ["sqlite:////proc/x.db", "sqlite:////proc/x/y/z.db"])
def test_an_unwritable_sqlite_url_names_the_setting(tmp_path: Path, url: str) -> None:
    result = cli(tmp_path, "backfill", "start", "--yes", *SHOP, SHOPIFY_BACKFILL_DATABASE_URL=url)
    assert_single_line(result, 78, f"SHOPIFY_BACKFILL_DATABASE_URL={url}", "give a writable")


def test_a_data_dir_in_proc_names_the_setting(tmp_path: Path) -> None:
    result = cli(tmp_path, "backfill", "start", "--yes", *SHOP, SHOPIFY_BACKFILL_DATA_DIR="/proc")
    assert_single_line(result, 78, "SHOPIFY_BACKFILL_DATA_DIR=/proc", "unable to open")


@pytest.mark.parametrize(
    "options",
    [
        ("--data-dir", "/proc/x/demo"),
        ("--database-url", "sqlite:////proc/x/demo.db"),
    ],
)
def test_demo_with_an_unwritable_place_names_its_option(
    tmp_path: Path, options: tuple[str, str]
) -> None:
    if options[0] == "--database-url":
        options = (*options, "--data-dir", str(tmp_path / "d"))
    result = cli(tmp_path, "demo", *options)
    assert_single_line(result, 78, f"{options[0]}={options[1]}", "give a writable")


@pytest.mark.parametrize("existing", [True, False])
def test_status_on_an_empty_data_folder_creates_nothing(tmp_path: Path, existing: bool) -> None:
    data = tmp_path / "data"
    if existing:
        data.mkdir()
    result = cli(tmp_path, "backfill", "status", *SHOP)
    assert_single_line(result, 65, "no profile store", "shopify-backfill connect")
    if existing:
        assert list(data.iterdir()) == []
    else:
        assert not data.exists()


@pytest.mark.parametrize(
    ("option", "value"), [("--orders", "99999999999999999999"), ("--customers", "1000001")]
)
def test_demo_sizes_are_bounded(tmp_path: Path, option: str, value: str) -> None:
    result = cli(tmp_path, "demo", "--data-dir", str(tmp_path / "d"), option, value)
    assert_one_clear_line(result, 2, option, "less than or equal")
    assert not (tmp_path / "d").exists()
