"""The ``shopify-backfill`` command: a thin Typer shell over the same services as the web.

Each area has its module here (``backfill``, ``campaigns``, ``connect``, ``demo``; the
partner page's ``serve`` comes from ``web.commands``, the emulator's commands through
``standin``); this module only assembles them and turns product errors into exit codes
with a readable message.
"""

from __future__ import annotations

import os
import sys

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from shopify_backfill.cli import campaigns as campaign_commands
from shopify_backfill.cli import connect as shopify_commands
from shopify_backfill.cli.backfill import app as backfill_app
from shopify_backfill.cli.demo import demo
from shopify_backfill.cli.destinations import app as destinations_app
from shopify_backfill.cli.interrupt import SIGINT_EXIT_CODE
from shopify_backfill.cli.live import app as live_app
from shopify_backfill.cli.standin import emulator_app
from shopify_backfill.cli.worker import worker
from shopify_backfill.config import describe_settings_error, unknown_env_names
from shopify_backfill.errors import BackfillError, ConfigError
from shopify_backfill.web import commands as web_commands

app = typer.Typer(
    name="shopify-backfill",
    help="Import 90 days of Shopify history into the engagement platform, once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(emulator_app, name="emulator")
app.command()(shopify_commands.connect)
app.command()(shopify_commands.preflight)
app.add_typer(backfill_app, name="backfill")
app.add_typer(destinations_app, name="destinations")
app.add_typer(live_app, name="live")
app.command()(demo)
app.add_typer(campaign_commands.app, name="campaigns")
app.command()(campaign_commands.audit)
app.command()(web_commands.serve)
app.add_typer(web_commands.users_app, name="users")
app.command()(worker)


def main() -> None:
    """Console-script entry point: product errors become messages and exit codes."""
    for warning in unknown_env_names(os.environ):
        Console(stderr=True, soft_wrap=True).print(f"[yellow]warning:[/] {escape(warning)}")
    try:
        app()
    except BackfillError as error:
        _fail(str(error), error.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", SIGINT_EXIT_CODE)
    except ValidationError as error:
        if error.title != "Settings":
            raise
        _fail(describe_settings_error(error), ConfigError.exit_code)


def _fail(message: str, exit_code: int) -> None:
    console = Console(stderr=True, soft_wrap=True)
    console.print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(exit_code)
