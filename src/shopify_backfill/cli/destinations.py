"""``shopify-backfill destinations``: where backfills can go besides the embedded store.

``add braze`` proves the key on Braze before storing it (encrypted, like Shopify
tokens); the key comes from ``--api-key``, the ``BRAZE_API_KEY`` environment variable
or a hidden prompt, and is never printed.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import SecretStr

from shopify_backfill.config import Settings
from shopify_backfill.destinations.braze.packing import MAX_OBJECTS
from shopify_backfill.destinations.braze.registry import list_destinations
from shopify_backfill.errors import InputError
from shopify_backfill.wiring import DEFAULT_WORKSPACE, build_services, workspace_id_by_name
from shopify_backfill.wiring.destinations import add_braze_destination

app = typer.Typer(help="Add and list the Braze workspaces backfills can deliver to.")
add_app = typer.Typer(help="Add a destination.")
app.add_typer(add_app, name="add")

Workspace = Annotated[str, typer.Option("--workspace", help="The platform workspace it is for.")]


@add_app.command("braze")
def add_braze(
    rest_endpoint: Annotated[
        str,
        typer.Option(
            "--rest-endpoint",
            help="The workspace's REST endpoint, e.g. https://rest.iad-01.braze.com.",
        ),
    ],
    name: Annotated[
        str, typer.Option("--name", help="What backfills call it (`--destination NAME`).")
    ] = "braze",
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="BRAZE_API_KEY",
            show_envvar=True,
            help="A REST API key with users.track (prefer the environment variable).",
        ),
    ] = None,
    max_objects: Annotated[
        int,
        typer.Option(
            "--max-objects", help="Objects per request: 75, or 50 on contracts that say so."
        ),
    ] = MAX_OBJECTS,
    sms_group: Annotated[
        str | None,
        typer.Option(
            "--sms-subscription-group",
            help="Braze's id of the SMS subscription group Shopify SMS consent goes to.",
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Prove the key on Braze first.")
    ] = True,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Add (or replace) a Braze destination after proving its key."""
    if api_key is None:
        if not typer.get_text_stream("stdin").isatty():
            raise InputError(
                "no Braze API key: pass --api-key or set BRAZE_API_KEY (a REST API key with "
                "the users.track permission)"
            )
        api_key = typer.prompt("Braze REST API key", hide_input=True)
    services = build_services(Settings())
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace, create=False)
        target = add_braze_destination(
            services,
            workspace_id=workspace_id,
            name=name,
            rest_endpoint=rest_endpoint,
            api_key=SecretStr(api_key),
            max_objects=max_objects,
            sms_group_id=sms_group,
            check=check,
        )
    finally:
        services.dispose()
    checked = "key checked, " if check else ""
    typer.echo(
        f"Braze destination {target.name!r} -> {target.rest_endpoint} ({checked}"
        f"{target.max_objects} objects per request); start a backfill with "
        f"`shopify-backfill backfill start --shop SHOP --destination {target.name}`"
    )


@app.command("list")
def list_command(
    workspace: Workspace = DEFAULT_WORKSPACE,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """The workspace's Braze destinations (never their keys)."""
    services = build_services(Settings())
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace, create=False)
            found = list_destinations(conn, workspace_id)
    finally:
        services.dispose()
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if not found:
        typer.echo("No Braze destination: backfills go to the embedded profile store.")
    for item in found:
        typer.echo(f"{item['name']}: {item['rest_endpoint']} ({item['max_objects']} per request)")
