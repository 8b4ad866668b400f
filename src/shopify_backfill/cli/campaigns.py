"""``shopify-backfill campaigns ...`` and ``shopify-backfill audit``: thin over the services.

Every bad argument becomes an ``InputError`` naming the option or campaign and the fix;
``main`` in ``cli/__init__.py`` turns it into a message and exit code 65.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from shopify_backfill.backfill.preview import choose_mode, reauthorize_url
from shopify_backfill.backfill.store import find_backfill
from shopify_backfill.campaigns.audit import (
    AuditFix,
    apply_fixes,
    audit_backfill,
    resume_paused_by_audit,
)
from shopify_backfill.campaigns.files import load_campaign_file
from shopify_backfill.campaigns.mode import MODE_NAMES, MODE_SENTENCES, parse_risk_mode, risk_mode
from shopify_backfill.campaigns.model import TRIGGER_TYPES, Campaign, parse_spec
from shopify_backfill.campaigns.report import audit_lines
from shopify_backfill.campaigns.repository import (
    add_campaign,
    add_campaigns,
    list_campaigns,
    pause_campaign,
    resume_campaign,
    set_start,
)
from shopify_backfill.campaigns.source import window_records
from shopify_backfill.campaigns.triggers import outbox_reach
from shopify_backfill.config import Settings
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.connections import connection_id_of, load_connection
from shopify_backfill.profiles.db import dry_run_connection
from shopify_backfill.shopify.errors import ScopeError
from shopify_backfill.shopify.oauth import validate_shop_domain
from shopify_backfill.shopify.preflight import run_preflight
from shopify_backfill.window import window_for
from shopify_backfill.wiring import (
    DEFAULT_WORKSPACE,
    Services,
    build_services,
    workspace_id_by_name,
)
from shopify_backfill.wiring.risk import switch_risk_mode

app = typer.Typer(
    help="Campaigns and Canvases of a workspace: add, list, pause, resume, move start times.",
    no_args_is_help=True,
)

Workspace = Annotated[str, typer.Option("--workspace", help="Workspace the campaigns belong to.")]
Shop = Annotated[
    str, typer.Option("--shop", help="The store's domain, e.g. my-store.myshopify.com")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]
Name = Annotated[str, typer.Argument(help="The campaign's or Canvas's name.")]

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _services() -> Services:
    return build_services(Settings())


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time with a timezone, or an error showing the expected form."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not an ISO 8601 time; use e.g. 2026-07-01T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise InputError(f"{option} {text!r} has no timezone; add Z or +00:00")
    return moment.astimezone(UTC)


def condition_value(text: str | None) -> str | int | Decimal | None:
    """``--value``: numbers are numbers (``3``, ``19.90``); quote to force text: ``'"3"'``."""
    if text is None:
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if _NUMBER.match(text):
        try:
            return int(text) if "." not in text else Decimal(text)
        except (ValueError, InvalidOperation):
            return text
    return text


@app.command()
def add(
    name: Name,
    trigger: Annotated[
        str | None,
        typer.Option(
            "--trigger",
            help=f"Action-based trigger type: {', '.join(TRIGGER_TYPES)}.",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="Start time (ISO 8601 with timezone).")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="Optional end time.")] = None,
    kind: Annotated[str, typer.Option("--kind", help="campaign or canvas.")] = "campaign",
    status: Annotated[
        str, typer.Option("--status", help="draft, active, paused or stopped.")
    ] = "active",
    delivery: Annotated[
        str, typer.Option("--delivery", help="action-based, scheduled or api-triggered.")
    ] = "action-based",
    event: Annotated[
        str | None, typer.Option("--event", help="Custom event name (custom/exception/conversion).")
    ] = None,
    attribute: Annotated[
        str | None, typer.Option("--attribute", help="Custom attribute name.")
    ] = None,
    value: Annotated[
        str | None,
        typer.Option(
            "--value", help="Only this attribute value (numbers as numbers; '\"3\"' for text)."
        ),
    ] = None,
    conversion: Annotated[
        str | None, typer.Option("--conversion", help="custom_event or purchase.")
    ] = None,
    product: Annotated[str | None, typer.Option("--product", help="Only this product id.")] = None,
    refers_to: Annotated[
        str | None, typer.Option("--campaign", help="Campaign an exception event refers to.")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="email or sms.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="subscribed or unsubscribed.")
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="Subscription group name or id.")
    ] = None,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Add a campaign or Canvas (validated: every error names the field to fix)."""
    params: dict[str, Any] = {
        "event_name": event,
        "attribute": attribute,
        "value": condition_value(value),
        "conversion": conversion,
        "product_id": product,
        "campaign": refers_to,
        "channel": channel,
        "state": state,
        "group": int(group) if group is not None and group.isdigit() else group,
    }
    data: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "status": status,
        "delivery": delivery,
        "start_at": parse_time(start, "--start") if start else None,
        "end_at": parse_time(end, "--end") if end else None,
    }
    if trigger is not None:
        data["trigger"] = {"type": trigger, **{k: v for k, v in params.items() if v is not None}}
    elif any(v is not None for v in params.values()):
        raise InputError(f"campaign {name!r}: trigger options given without --trigger TYPE")
    spec = parse_spec(data)
    services = _services()
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace)
            campaign = add_campaign(conn, workspace_id, spec)
    finally:
        services.dispose()
    typer.echo(f"added {campaign.kind} {campaign.name!r} ({campaign.status})")


@app.command("load")
def load(
    path: Annotated[Path, typer.Argument(help="A .json, .yaml or .yml campaign set.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Update campaigns that already exist by name.")
    ] = False,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Add (or with --replace, update) every campaign of a JSON/YAML file, all or nothing."""
    specs = load_campaign_file(path)
    services = _services()
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace)
            saved = add_campaigns(conn, workspace_id, specs, replace=replace)
    finally:
        services.dispose()
    typer.echo(f"loaded {len(saved)} campaign(s) from {path}")


@app.command("list")
def list_command(as_json: AsJson = False, workspace: Workspace = DEFAULT_WORKSPACE) -> None:
    """Every campaign with its schedule, trigger and what it triggered so far."""
    services = _services()
    try:
        with services.engine.connect() as conn:
            workspace_id = workspace_id_by_name(conn, workspace, create=False)
            found = list_campaigns(conn, workspace_id)
            reach = outbox_reach(conn, workspace_id)
    finally:
        services.dispose()
    if as_json:
        typer.echo(json.dumps([_campaign_json(c, reach) for c in found], indent=2, default=str))
        return
    table = Table("name", "kind", "status", "delivery", "trigger", "start", "end", "triggered")
    for campaign in found:
        got = reach.get(campaign.id)
        table.add_row(
            campaign.name,
            campaign.kind,
            campaign.status,
            campaign.delivery,
            campaign.trigger_type or "-",
            _time(campaign.start_at),
            _time(campaign.end_at),
            f"{got.users} users / {got.messages} msgs" if got else "-",
        )
    Console().print(table)


@app.command()
def pause(name: Name, workspace: Workspace = DEFAULT_WORKSPACE) -> None:
    """Pause an active campaign: it stops listening to new data."""
    campaign = _change(workspace, lambda conn, ws: pause_campaign(conn, ws, name))
    typer.echo(f"paused {campaign.name!r}")


@app.command()
def resume(name: Name, workspace: Workspace = DEFAULT_WORKSPACE) -> None:
    """Resume a paused campaign."""
    campaign = _change(workspace, lambda conn, ws: resume_campaign(conn, ws, name))
    typer.echo(f"resumed {campaign.name!r}")


@app.command("set-start")
def set_start_command(
    name: Name,
    when: Annotated[str, typer.Argument(help="New start time, ISO 8601 with timezone.")],
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Move a campaign's start time: data older than it never triggers the campaign."""
    moment = parse_time(when, "start time")
    campaign = _change(workspace, lambda conn, ws: set_start(conn, ws, name, moment))
    typer.echo(f"{campaign.name!r} now starts at {_time(campaign.start_at)}")


@app.command("mode")
def mode_command(
    mode: Annotated[
        str | None,
        typer.Argument(
            help="'silent' (default: historical data triggers nothing) or 'seed-compatible' "
            "(only start times and pauses protect campaigns); omitted: show the current one."
        ),
    ] = None,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Show or switch the workspace's risk mode (refused while a backfill runs)."""
    services = _services()
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace, create=False)
            if mode is None:
                current = risk_mode(conn, workspace_id)
                changed = None
            else:
                current = parse_risk_mode(mode)
                changed = switch_risk_mode(
                    conn,
                    workspace_id=workspace_id,
                    mode=current,
                    actor="The CLI",
                    now=datetime.now(UTC),
                )
    finally:
        services.dispose()
    prefix = {None: "risk mode", True: "switched to", False: "already"}[changed]
    typer.echo(f"{prefix}: {MODE_NAMES[current]}. {MODE_SENTENCES[current]}")


@app.command("resume-paused")
def resume_paused(
    shop: Shop,
    restore_start_times: Annotated[
        bool,
        typer.Option(
            "--restore-start-times", help="Also put back the start times the audit moved."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Resume even though the backfill is not completed.")
    ] = False,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Resume exactly the campaigns the risk audit paused for this store's backfill."""
    domain = validate_shop_domain(shop)
    services = _services()
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace, create=False)
            connection_id = _connection_id(conn, workspace_id, domain)
            backfill = find_backfill(conn, workspace_id, domain)
            status = backfill.status if backfill is not None else "not_started"
            if status != "completed" and not force:
                raise InputError(
                    f"the backfill of {domain} is {status}; resuming now would let its "
                    "historical data trigger these campaigns. Wait until it completes, or "
                    "pass --force"
                )
            resolved = resume_paused_by_audit(
                conn, workspace_id, connection_id, restore_start_times=restore_start_times
            )
    finally:
        services.dispose()
    if not resolved:
        typer.echo(f"nothing to resume: the audit changed no campaign for {domain}")
    for fix in resolved:
        typer.echo(_resolution_line(fix))


def audit(
    shop: Shop,
    apply: Annotated[
        bool, typer.Option("--apply", help="Apply every fix (pause / move start) and remember it.")
    ] = False,
    as_json: AsJson = False,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Predict exactly which campaigns the backfill would trigger (reads the window once)."""
    settings = Settings()
    domain = validate_shop_domain(shop)
    services = build_services(settings)
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace, create=False)
            connection = load_connection(
                conn, services.cipher, workspace_id=workspace_id, shop_domain=domain
            )
            backfill = find_backfill(conn, workspace_id, domain)
        status = backfill.status if backfill is not None else "not_started"
        window = window_for(connection.connected_at)
        with connection.client() as client:
            report = run_preflight(
                client,
                token=connection.token,
                window_start=window.start,
                window_end=window.end,
                reauthorize_url=reauthorize_url(settings, domain, connection.api_url),
            )
            if report.missing_scopes:
                raise ScopeError(
                    f"cannot read the window: the grant lacks {', '.join(report.missing_scopes)}; "
                    f"re-authorize at {report.reauthorize_url}",
                    missing=report.missing_scopes,
                    reauth_url=report.reauthorize_url,
                )
            if report.problems:
                raise InputError("cannot read the window: " + "; ".join(report.problems))
            mode = choose_mode(settings, report.orders_in_window)
            with dry_run_connection(services.engine) as conn:
                result = audit_backfill(
                    conn,
                    workspace_id=workspace_id,
                    connection_id=connection.id,
                    backfill_id=backfill.id if backfill is not None else None,
                    batches=window_records(client, window, mode, settings),
                )
        applied: list[AuditFix] = []
        if apply:
            with services.engine.begin() as conn:
                applied = apply_fixes(conn, result)
    finally:
        services.dispose()
    if as_json:
        payload = result.to_json()
        payload["backfill_status"] = status
        payload["applied"] = [fix.to_json() for fix in applied]
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"Campaign risk audit for {domain} (backfill: {status})")
    for line in audit_lines(result):
        typer.echo(line)
    if status != "not_started":
        typer.echo(
            f"note: the backfill is already {status}; the audit predicts what is left to load"
        )
    if apply:
        if not applied:
            typer.echo("no fix to apply")
        for fix in applied:
            typer.echo(_applied_line(fix))
        if applied:
            typer.echo(
                f"after the backfill: shopify-backfill campaigns resume-paused --shop {domain}"
            )


def _change(workspace: str, action: Callable[[sa.Connection, int], Campaign]) -> Campaign:
    services = _services()
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace, create=False)
            return action(conn, workspace_id)
    finally:
        services.dispose()


def _connection_id(conn: sa.Connection, workspace_id: int, domain: str) -> int:
    found = connection_id_of(conn, workspace_id, domain)
    if found is None:
        raise InputError(f"{domain} is not connected to this workspace")
    return found


def _applied_line(fix: AuditFix) -> str:
    if fix.action == "paused":
        return f"paused {fix.campaign_name!r}"
    return (
        f"moved the start of {fix.campaign_name!r} from {_time(fix.previous_start_at)} "
        f"to {_time(fix.new_start_at)}"
    )


def _resolution_line(fix: AuditFix) -> str:
    if fix.resolution == "resumed":
        return f"resumed {fix.campaign_name!r}"
    if fix.resolution == "restored":
        return f"restored the start of {fix.campaign_name!r} to {_time(fix.previous_start_at)}"
    if fix.resolution == "kept":
        return f"kept the start of {fix.campaign_name!r} at {_time(fix.new_start_at)}"
    return f"left {fix.campaign_name!r} as it is: it was changed since the audit"


def _campaign_json(campaign: Campaign, reach: dict[int, Any]) -> dict[str, Any]:
    got = reach.get(campaign.id)
    return {
        "name": campaign.name,
        "kind": campaign.kind,
        "status": campaign.status,
        "delivery": campaign.delivery,
        "start_at": _time(campaign.start_at),
        "end_at": _time(campaign.end_at),
        "trigger": campaign.trigger.model_dump(mode="json") if campaign.trigger else None,
        "triggered": {"users": got.users, "messages": got.messages} if got else None,
    }


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "-"
