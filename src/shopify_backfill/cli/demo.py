"""``shopify-backfill demo``: the whole loop on one machine, in under a minute.

Generates a synthetic store, serves it with the emulator in-process (through its httpx
transport: no port, no network), connects to it with the store's seeded token as if the
merchant had just installed the app (``connected_at`` = the store's "now"), previews,
runs the backfill to completion on the in-process worker and prints the report. Every
run uses its own data folder (and its own workspace), so it can be repeated freely, also
against a shared PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.notify import list_notifications
from shopify_backfill.backfill.preview import render_preview
from shopify_backfill.cli.backfill import run_and_follow
from shopify_backfill.cli.display import outcome_text
from shopify_backfill.cli.standin import demo_shop
from shopify_backfill.config import Settings
from shopify_backfill.errors import ConfigError
from shopify_backfill.profiles.connections import save_connection
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.shopify.bulk import BulkPolicy
from shopify_backfill.shopify.verify import verify_token
from shopify_backfill.wiring import (
    Services,
    SettingNames,
    build_services,
    job_options,
    make_preview,
)

DEMO_RECIPIENT = "merchant@example.com"
DEMO_BULK_POLICY = BulkPolicy(poll_initial=0.2, poll_max=2.0)
"""The emulator is local: polling it often costs nothing and shortens the demo."""


def _demo_dir(base: Settings, data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return base.data_dir / "demo" / f"{stamp}-{os.getpid()}"


@contextlib.contextmanager
def _services(settings: Settings, names: SettingNames) -> Iterator[Services]:
    services = build_services(settings, names=names)
    try:
        yield services
    finally:
        services.dispose()


MAX_CUSTOMERS = 1_000_000
MAX_ORDERS = 2_000_000
"""A demo store is generated in memory before it is served: beyond these it would run
for hours (or until killed) instead of showing the loop in a minute or two."""


def demo(
    customers: Annotated[
        int, typer.Option(help="Customers in the store.", min=0, max=MAX_CUSTOMERS)
    ] = 1_000,
    orders: Annotated[
        int, typer.Option(help="Orders in the synthetic store.", min=0, max=MAX_ORDERS)
    ] = 5_000,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same store).")] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Profile store URL (default: SQLite in the demo folder); "
            "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder for this run (default: var/demo/<timestamp>)."),
    ] = None,
) -> None:
    """Generate a store, serve it with the emulator, backfill it and print the report."""
    base = Settings()
    folder = _demo_dir(base, data_dir)
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"--data-dir {folder} is not empty; give a new or empty folder")
    overrides: dict[str, Any] = {"data_dir": folder}
    if database_url is not None:
        overrides["database_url"] = database_url
    settings = Settings(**overrides)

    def say(text: str) -> None:
        typer.echo(text, err=as_json)

    say(f"demo folder: {folder}")
    say(f"generating {customers} customers and {orders} orders (seed {seed}) ...")
    now = datetime.now(UTC).replace(microsecond=0)
    shop_files = folder / "emulator" / "store.sqlite"
    names = SettingNames(
        data_dir="--data-dir" if data_dir is not None else "SHOPIFY_BACKFILL_DATA_DIR",
        database_url="--database-url"
        if database_url is not None
        else "SHOPIFY_BACKFILL_DATABASE_URL",
    )
    with (
        _services(settings, names) as services,
        demo_shop(base, shop_files, customers=customers, orders=orders, seed=seed, now=now) as shop,
    ):
        api_url = f"https://{shop.shop_domain}"
        scopes = verify_token(
            shop_domain=shop.shop_domain,
            token=shop.token,
            api_url=api_url,
            api_version=settings.api_version,
            transport=shop.transport,
        )
        with services.engine.begin() as conn:
            workspace_id = create_workspace(
                conn, f"demo {folder.name}", notification_emails=[DEMO_RECIPIENT]
            )
            save_connection(
                conn,
                services.cipher,
                workspace_id=workspace_id,
                shop_domain=shop.shop_domain,
                token=shop.token,
                scopes=scopes,
                api_url=api_url,
                api_version=settings.api_version,
                now=shop.now,
            )
            row = requests.open_backfill(
                conn, workspace_id=workspace_id, shop_domain=shop.shop_domain, now=now
            )
        options = job_options(services, transport=shop.transport, bulk_policy=DEMO_BULK_POLICY)
        preview = make_preview(services, row, options)
        say(render_preview(preview))
        with services.engine.begin() as conn:
            row = requests.start(conn, row, now=datetime.now(UTC))
        outcome, view = run_and_follow(services, row.id, options, as_json=as_json)
        with services.engine.connect() as conn:
            notes = list_notifications(conn, workspace_id)
        shop_domain = shop.shop_domain
    notifications = [
        {"kind": n.kind, "level": n.level, "title": n.title, "unread": n.unread}
        for n in reversed(notes)
    ]
    if as_json:
        result = {
            "data_dir": str(folder.resolve()),
            "database": settings.resolved_database_url() if database_url is None else "(as given)",
            "shop": shop_domain,
            "store": {"customers": customers, "orders": orders, "seed": seed},
            "preview": preview.to_json(),
            "status": view["status"],
            "report": view["report"],
            "failure_reason": view["failure_reason"],
            "notifications": notifications,
            "emails": view["emails"],
        }
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    else:
        typer.echo("")
        typer.echo(outcome_text(view))
        for note in notifications:
            typer.echo(f"dashboard notification ({note['level']}): {note['title']}")
        typer.echo(f"store and outbox kept in {folder}")
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)
