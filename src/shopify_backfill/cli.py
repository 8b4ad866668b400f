"""The ``shopify-backfill`` command: a thin Typer shell over the same services as the web.

Each area contributes its own sub-application (``emulator``, ...); this module only
assembles them and turns product errors into exit codes with a readable message.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from shopify_backfill.emulator.commands import app as emulator_app
from shopify_backfill.errors import BackfillError

app = typer.Typer(
    name="shopify-backfill",
    help="Import 90 days of Shopify history into the engagement platform, once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(emulator_app, name="emulator")


def main() -> None:
    """Console-script entry point: product errors become messages and exit codes."""
    try:
        app()
    except BackfillError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}")
        sys.exit(error.exit_code)
