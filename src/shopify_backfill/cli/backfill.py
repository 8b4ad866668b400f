"""``shopify-backfill backfill preview|start|status|resume``: the job's CLI.

Thin over the same functions the web page and the workers use. Exit codes: 0 completed
(or the requested read succeeded), 69 refused by the state machine (already started,
completed, not started), 75 running elsewhere or a transient failure, 77 access (scopes,
token, protected data), 65/78 bad input or configuration, 70 an unexpected failure; a
failed run exits with its error's code and stays resumable.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.errors import BackfillStateError
from shopify_backfill.backfill.preview import render_preview
from shopify_backfill.backfill.runner import (
    RunOptions,
    RunOutcome,
    deliver_and_finish,
)
from shopify_backfill.backfill.states import COMPLETED
from shopify_backfill.backfill.status import read_status
from shopify_backfill.backfill.store import BackfillRow, find_backfill
from shopify_backfill.cli.display import follow, outcome_text
from shopify_backfill.cli.interrupt import stop_on_ctrl_c
from shopify_backfill.config import Settings
from shopify_backfill.destinations.braze.registry import find_destination
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.connections import connection_id_of
from shopify_backfill.shopify.oauth import validate_shop_domain
from shopify_backfill.shopify.retry import RetryNotice
from shopify_backfill.wiring import (
    DEFAULT_WORKSPACE,
    Services,
    build_services,
    job_options,
    make_preview,
    refuse_missing_scopes,
    workspace_id_by_name,
)
from shopify_backfill.workers.inprocess import InProcessWorker

app = typer.Typer(
    help="Preview, start, follow and resume the one-time historical backfill.",
    no_args_is_help=True,
)

Shop = Annotated[
    str, typer.Option("--shop", help="The store's domain, e.g. my-store.myshopify.com")
]
Workspace = Annotated[str, typer.Option("--workspace", help="Workspace the store is connected to.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]


def _now() -> datetime:
    return datetime.now(UTC)


def _open(services: Services, workspace: str, shop: str) -> BackfillRow:
    domain = validate_shop_domain(shop)
    with services.engine.begin() as conn:
        workspace_id = workspace_id_by_name(conn, workspace, create=False)
        return requests.open_backfill(
            conn, workspace_id=workspace_id, shop_domain=domain, now=_now()
        )


def say_retry(notice: RetryNotice) -> None:
    """Retries are news while a run is followed: on stderr, beside the progress."""
    print(notice.text(), file=sys.stderr, flush=True)


def run_and_follow(
    services: Services, backfill_id: int, options: RunOptions, *, as_json: bool
) -> tuple[RunOutcome, dict[str, Any]]:
    """Run the job on the in-process worker while showing its stored progress.

    Ctrl-C stops the run at the next batch boundary (a second one quits at once).
    """
    stop = threading.Event()
    options = dataclasses.replace(options, stop=stop, on_retry=say_retry)
    with services.engine.connect() as conn:
        shop_domain = read_status(conn, backfill_id)["shop"]
    with InProcessWorker(services) as worker, stop_on_ctrl_c(stop, shop_domain):
        future = worker.submit(backfill_id, options)
        follow(
            services.engine,
            backfill_id,
            future.done,
            plain_stream=sys.stderr if as_json else None,
        )
        outcome = future.result()
    with services.engine.connect() as conn:
        view = read_status(conn, backfill_id)
    return outcome, view


def _finish(outcome: RunOutcome, view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(view, indent=2, default=str))
    else:
        typer.echo(outcome_text(view))
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


@app.command()
def preview(shop: Shop, as_json: AsJson = False, workspace: Workspace = DEFAULT_WORKSPACE) -> None:
    """Show the window, counts, data-point estimate and risks before starting."""
    services = build_services(Settings())
    try:
        row = _open(services, workspace, shop)
        result = make_preview(services, row)
    finally:
        services.dispose()
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        typer.echo(render_preview(result))
    if result.preflight.missing_scopes:
        raise typer.Exit(77)


@app.command()
def start(
    shop: Shop,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Confirm without asking (it runs only once).")
    ] = False,
    as_json: AsJson = False,
    workspace: Workspace = DEFAULT_WORKSPACE,
    destination: Annotated[
        str | None,
        typer.Option(
            "--destination",
            help="A Braze destination's name (`destinations add braze`); default: the "
            "embedded profile store.",
        ),
    ] = None,
) -> None:
    """Start the store's one-time backfill and follow it to completion."""
    services = build_services(Settings())
    try:
        row = _open(services, workspace, shop)
        braze_id = None
        if destination is not None:
            with services.engine.connect() as conn:
                braze_id = find_destination(conn, row.workspace_id, destination)
        requests.refuse_unless_not_started(row)
        result = make_preview(services, row)
        if not as_json:
            typer.echo(render_preview(result))
        refuse_missing_scopes(result)
        _confirm(row, yes)
        with services.engine.begin() as conn:
            row = requests.start(conn, row, now=_now(), braze_destination_id=braze_id)
        if services.settings.job_runner == "celery":
            _queued(services, row, as_json)
            return
        outcome, view = run_and_follow(services, row.id, job_options(services), as_json=as_json)
    finally:
        services.dispose()
    _finish(outcome, view, as_json)


def _queued(services: Services, row: BackfillRow, as_json: bool) -> None:
    """Hand the run to the workers and return: the broker deployment's start and resume.

    Celery is imported only here, for the deployments that queue: the in-process default
    and the read-only commands never load it.
    """
    from shopify_backfill.workers.celery_app import enqueue_with_settings  # noqa: PLC0415

    queue = enqueue_with_settings(services.settings, row.id)
    with services.engine.connect() as conn:
        view = read_status(conn, row.id)
    if as_json:
        typer.echo(json.dumps({**view, "queued_on": queue}, indent=2, default=str))
        return
    typer.echo(
        f"{row.shop_domain}: queued for the workers (queue {queue}); follow it with "
        f"`shopify-backfill backfill status --shop {row.shop_domain} --watch`"
    )


def _confirm(row: BackfillRow, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError(
            "starting the backfill is irreversible (it runs only once per store); "
            "pass --yes to confirm when not running on a terminal"
        )
    question = (
        f"Import the 90 days before the connection ({row.window.start:%Y-%m-%d} -> "
        f"{row.window.end:%Y-%m-%d}) from {row.shop_domain}? This runs only once, ever."
    )
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)


@app.command()
def status(
    shop: Shop,
    as_json: AsJson = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Follow the progress until the run ends.")
    ] = False,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Show status, progress, ETA and (once completed) the report; readable mid-run."""
    services = build_services(Settings(), read_only=True)
    try:
        domain = validate_shop_domain(shop)
        with services.engine.connect() as conn:
            workspace_id = workspace_id_by_name(conn, workspace, create=False)
            row = find_backfill(conn, workspace_id, domain)
            connected = connection_id_of(conn, workspace_id, domain) is not None
        if row is None and not connected:
            raise InputError(
                f"{domain} is not connected to workspace {workspace!r}, so it has no backfill; "
                f"connect it with `shopify-backfill connect --shop {domain} --token ...` "
                "(or `--oauth`) first"
            )
        if row is None:
            view: dict[str, Any] = {"shop": domain, "status": "not_started", "report": None}
            if as_json:
                typer.echo(json.dumps(view, indent=2))
            else:
                typer.echo(f"{domain}: not started (preview it with `backfill preview`)")
            return
        if watch:

            def ended() -> bool:
                with services.engine.connect() as conn:
                    current = read_status(conn, row.id)
                return not current["running"]

            follow(services.engine, row.id, ended, plain_stream=sys.stderr if as_json else None)
        with services.engine.connect() as conn:
            view = read_status(conn, row.id)
    finally:
        services.dispose()
    if as_json:
        typer.echo(json.dumps(view, indent=2, default=str))
    else:
        typer.echo(outcome_text(view))


@app.command()
def resume(shop: Shop, as_json: AsJson = False, workspace: Workspace = DEFAULT_WORKSPACE) -> None:
    """Continue a failed or interrupted backfill from its last checkpoint (same window)."""
    services = build_services(Settings())
    try:
        row = _open(services, workspace, shop)
        if row.status == COMPLETED and row.progress.phase == "finishing":
            emails = deliver_and_finish(services, row.id)
            with services.engine.connect() as conn:
                view = read_status(conn, row.id)
            outcome = RunOutcome(row.id, COMPLETED, row.report, None, 0, emails)
        elif row.status == COMPLETED:
            raise BackfillStateError(
                f"the backfill of {row.shop_domain} already completed; there is nothing to resume"
            )
        else:
            with services.engine.begin() as conn:
                row = requests.resume(conn, row, now=_now())
            if services.settings.job_runner == "celery":
                _queued(services, row, as_json)
                return
            outcome, view = run_and_follow(services, row.id, job_options(services), as_json=as_json)
    finally:
        services.dispose()
    _finish(outcome, view, as_json)
