"""``shopify-backfill live``: through the real entry point, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from .test_operational_errors import assert_one_clear_line, cli


def test_process_with_nothing_recorded_reports_zeros(tmp_path: Path) -> None:
    result = cli(tmp_path, "live", "process", "--json")
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view == {"applied": 0, "backfills": 0, "stale": 0, "failed": 0, "other": 0, "privacy": 0}


def test_reconcile_of_a_shop_nobody_connected_says_how_to_connect(tmp_path: Path) -> None:
    result = cli(tmp_path, "live", "reconcile", "--shop", "nobody.myshopify.com")
    assert_one_clear_line(
        result, 65, "nobody.myshopify.com is not connected", "shopify-backfill connect"
    )


def test_reconcile_refuses_a_domain_that_is_not_a_shop(tmp_path: Path) -> None:
    result = cli(tmp_path, "live", "reconcile", "--shop", "evil.example.com")
    assert_one_clear_line(result, 65, "invalid shop domain")
