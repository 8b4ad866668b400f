"""``shopify-backfill live``: through the real entry point, with clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import sqlalchemy as sa
from pydantic import SecretStr

from shopify_backfill.config import Settings
from shopify_backfill.live.intake import Delivery, record
from shopify_backfill.live.tables import webhook_deliveries
from shopify_backfill.profiles.connections import save_connection
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.wiring import build_services

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


def _connected_shop_with_deliveries(tmp_path: Path, shop: str) -> None:
    """A connection in the CLI's data dir, one delivery pending and one failed (recent)."""
    from datetime import UTC, datetime, timedelta

    import orjson
    from pydantic import SecretStr

    from shopify_backfill.config import Settings
    from shopify_backfill.live.intake import Delivery, record
    from shopify_backfill.live.process import process_pending
    from shopify_backfill.profiles.connections import save_connection
    from shopify_backfill.profiles.workspaces import create_workspace
    from shopify_backfill.wiring import build_services

    services = build_services(Settings(data_dir=tmp_path / "data"))
    now = datetime.now(UTC)
    try:
        with services.engine.begin() as conn:
            workspace_id = create_workspace(conn, "default")
            save_connection(
                conn,
                services.cipher,
                workspace_id=workspace_id,
                shop_domain=shop,
                token=SecretStr("shpat_cli_status_secret"),
                scopes=("read_customers", "read_orders", "read_all_orders"),
                api_url=f"https://{shop}",
                api_version=services.settings.api_version,
            )
            broken = {"id": "x", "email": "cli-marker@buyer.example", "tags": 7}
            delivery = Delivery(
                shop, "customers/update", "w-1", None, None, None, orjson.dumps(broken)
            )
            record(conn, delivery, now - timedelta(minutes=30))
        assert process_pending(services.engine).failed == 1
        with services.engine.begin() as conn:
            order = Delivery(shop, "orders/create", "w-2", None, None, None, b'{"id": 1}')
            record(conn, order, now - timedelta(minutes=20))
    finally:
        services.dispose()


def test_status_reports_last_event_lag_and_failures(tmp_path: Path) -> None:
    shop = "status-shop.myshopify.com"
    _connected_shop_with_deliveries(tmp_path, shop)

    as_json = cli(tmp_path, "live", "status", "--shop", shop, "--json")
    words = cli(tmp_path, "live", "status", "--shop", shop)

    assert as_json.returncode == 0, as_json.stderr
    view = json.loads(as_json.stdout)
    assert view["shop"] == shop and view["on"] is True
    assert view["last_event"]["label"] == "Order created"
    assert view["pending"] == 1 and 20 * 60 <= view["lag_seconds"] < 21 * 60
    assert view["failures_last_24h"] == 1 and view["reconciled_through"] is None
    assert words.returncode == 0, words.stderr
    assert f"live sync of {shop}: On" in words.stdout
    assert "Order created, 20 minutes ago" in words.stdout
    assert "20 minutes behind (1 event waiting)" in words.stdout
    assert "unreadable customer" in words.stdout and "reconciled      not yet" in words.stdout
    for output in (as_json.stdout, words.stdout):
        assert "cli-marker@buyer.example" not in output and "shpat_" not in output


def test_status_of_a_shop_nobody_connected_says_how_to_connect(tmp_path: Path) -> None:
    result = cli(tmp_path, "live", "status", "--shop", "nobody.myshopify.com")
    assert_one_clear_line(
        result, 65, "nobody.myshopify.com is not connected", "shopify-backfill connect"
    )


def test_status_refuses_a_domain_that_is_not_a_shop(tmp_path: Path) -> None:
    result = cli(tmp_path, "live", "status", "--shop", "evil.example.com", "--json")
    assert_one_clear_line(result, 65, "invalid shop domain")


def test_process_follow_applies_what_arrives_until_stopped(tmp_path: Path) -> None:
    """The worker beside a page that only records: a delivery recorded while it runs is
    applied without another command."""
    shop = "follow-shop.myshopify.com"
    services = build_services(Settings(data_dir=tmp_path / "data"))
    with services.engine.begin() as conn:
        workspace_id = create_workspace(conn, "default")
        save_connection(
            conn,
            services.cipher,
            workspace_id=workspace_id,
            shop_domain=shop,
            token=SecretStr("shpat_follow"),
            scopes=("read_orders",),
            api_url=f"https://{shop}",
            api_version=services.settings.api_version,
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_BACKFILL_")}
    env["SHOPIFY_BACKFILL_DATA_DIR"] = str(tmp_path / "data")
    worker = subprocess.Popen(
        [sys.executable, "-m", "shopify_backfill", "live", "process", "--follow", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = orjson.dumps({"id": 1, "customer": {"id": 5, "email": "a@b.example"}})
        with services.engine.begin() as conn:
            delivery = Delivery(shop, "customers/redact", "w-1", None, None, None, body)
            record(conn, delivery, datetime.now(UTC))
        deadline = time.monotonic() + 60
        state = "pending"
        while state == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
            with services.engine.connect() as conn:
                state = conn.execute(sa.select(webhook_deliveries.c.state)).scalar_one()
        assert state == "processed"
    finally:
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=30)
        services.dispose()
    assert "Traceback" not in err, err
