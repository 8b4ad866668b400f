"""``shopify-backfill emulator ...`` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run or check the Shopify Admin API emulator.", no_args_is_help=True)


@app.command()
def check() -> None:
    """Run a short scripted session against a fresh emulator and print what it saw."""
    typer.echo("emulator self-check: not built yet")
    raise typer.Exit(1)
