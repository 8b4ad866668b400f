"""``shopify-backfill live``: what Shopify sends after the connection (docs/live.md).

``subscribe`` points the shop's webhooks at the partner page, ``process`` applies the
recorded deliveries (``--follow``: as a worker, beside a page that only records them),
``reconcile`` reads what Shopify changed since the last pass (run it from cron, or a
worker, every few minutes: a delivery Shopify lost is caught by the next pass),
``status`` says where the shop's live sync stands (the store page's panel). Each
prints what it did; ``--json`` for scripts.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from shopify_backfill.config import Settings
from shopify_backfill.errors import InputError
from shopify_backfill.live.reconcile import Reconciled
from shopify_backfill.live.state import RECONCILE_SENTENCE, elapsed_words, read_live_sync
from shopify_backfill.shopify.oauth import validate_shop_domain
from shopify_backfill.wiring import DEFAULT_WORKSPACE, build_services, workspace_id_by_name
from shopify_backfill.wiring.live import LiveSync

app = typer.Typer(help="Live sync: webhooks after the connection, and reconciliation.")

Shop = Annotated[str, typer.Option("--shop", help="The store's myshopify.com domain.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command()
def subscribe(
    shop: Shop,
    workspace: Annotated[str, typer.Option("--workspace")] = DEFAULT_WORKSPACE,
    as_json: Json = False,
) -> None:
    """Point the shop's orders and customers webhooks at this app (idempotent)."""
    services = build_services(Settings())
    try:
        with services.engine.connect() as conn:
            workspace_id = workspace_id_by_name(conn, workspace, create=False)
        live = LiveSync(services)
        report = live.subscribe(workspace_id, shop)
    finally:
        services.dispose()
    view = {"address": live.address, **report.__dict__}
    if as_json:
        typer.echo(json.dumps(view))
        return
    typer.echo(f"webhooks of {shop} -> {live.address}")
    for key in ("created", "kept", "removed"):
        typer.echo(f"  {key:8} {', '.join(view[key]) or '-'}")


@app.command()
def process(
    as_json: Json = False,
    follow: Annotated[
        float | None,
        typer.Option(
            "--follow",
            metavar="SECONDS",
            help="Keep applying, looking for new deliveries every SECONDS, until stopped "
            "(Ctrl-C): the worker to run beside a page started with LIVE_APPLY_IN_PAGE=false.",
            min=0.1,
        ),
    ] = None,
) -> None:
    """Apply every recorded delivery that is still pending."""
    services = build_services(Settings())
    try:
        live = LiveSync(services)
        while True:
            applied, acted = live.process()
            _print_processed(applied.__dict__, acted, as_json)
            if follow is None:
                return
            time.sleep(follow)
    finally:
        services.dispose()


def _print_processed(counts: dict[str, int], acted: int, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({**counts, "privacy": acted}))
        return
    typer.echo(
        f"applied {counts['applied']}, the backfill's {counts['backfills']}, stale "
        f"{counts['stale']}, failed {counts['failed']}; privacy and uninstall requests "
        f"acted on: {acted}"
    )


@app.command()
def reconcile(
    shop: Shop,
    as_json: Json = False,
    every: Annotated[
        float | None,
        typer.Option(
            "--every",
            metavar="SECONDS",
            help="Keep reconciling, a pass every SECONDS, until stopped (Ctrl-C); a "
            "delivery Shopify lost then waits at most one interval.",
            min=1.0,
        ),
    ] = None,
) -> None:
    """Read what Shopify changed since the last pass and apply it."""
    services = build_services(Settings())
    try:
        live = LiveSync(services)
        while True:
            started = time.monotonic()
            _print_reconciled(shop, live.reconcile(shop), as_json)
            if every is None:
                return
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    finally:
        services.dispose()


def _print_reconciled(shop: str, done: Reconciled, as_json: bool) -> None:
    view = {**done.__dict__, "since": done.since.isoformat(), "until": done.until.isoformat()}
    if as_json:
        typer.echo(json.dumps(view))
        return
    typer.echo(
        f"{shop}: {done.since:%Y-%m-%d %H:%M} -> {done.until:%Y-%m-%d %H:%M} UTC, read "
        f"{done.read}, applied {done.applied}, the backfill's {done.backfills}, "
        f"already current {done.stale}, unreadable {done.unreadable}"
    )


def _at(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    return f"{elapsed_words((now - moment).total_seconds())} ago ({moment:%Y-%m-%d %H:%M} UTC)"


@app.command()
def status(shop: Shop, as_json: Json = False) -> None:
    """Where the shop's live sync stands: on or off, last event, lag, failures, reconciliation."""
    domain = validate_shop_domain(shop)
    services = build_services(Settings())
    now = datetime.now(UTC)
    try:
        with services.engine.connect() as conn:
            state = read_live_sync(conn, domain, now=now)
    finally:
        services.dispose()
    if not state.connected:
        raise InputError(
            f"{domain} is not connected: connect it first (`shopify-backfill connect`)"
        )
    if as_json:
        typer.echo(json.dumps({"shop": domain, **state.to_json()}))
        return
    last = (
        f"{state.last_topic_words}, {_at(state.last_received_at, now)}"
        if state.last_topic
        else "none yet"
    )
    failures = "none"
    if state.failures:
        failures = (
            f"{state.failures}; the latest {_at(state.latest_failure_at, now)}: "
            f"{state.latest_failure_reason}"
        )
    reconciled = _at(state.reconciled_through, now) if state.reconciled_through else "not yet"
    typer.echo(f"live sync of {domain}: {state.status_words}")
    typer.echo(f"  last event      {last}")
    typer.echo(f"  lag             {state.lag_words}")
    typer.echo(f"  failures (24 h) {failures}")
    typer.echo(f"  reconciled      {reconciled}")
    typer.echo(f"  {RECONCILE_SENTENCE}")
