"""``shopify-backfill serve`` (the partner page) and ``shopify-backfill users add``."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
import uvicorn

from shopify_backfill.config import Settings
from shopify_backfill.errors import InputError
from shopify_backfill.web.accounts import add_user
from shopify_backfill.web.app import create_app
from shopify_backfill.web.errors import FieldError
from shopify_backfill.web.exposure import refuse_public_defaults
from shopify_backfill.wiring import build_services

users_app = typer.Typer(help="Dashboard users of the partner page.", no_args_is_help=True)


class _NoQueryStrings(logging.Filter):
    """Access-log lines without query strings: the OAuth callback's carry a code and HMAC."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the partner page and its JSON API (set SHOPIFY_BACKFILL_APP_URL to its URL)."""
    settings = Settings()
    refuse_public_defaults(settings)
    services = build_services(settings)
    app = create_app(services)
    logging.getLogger("uvicorn.access").addFilter(_NoQueryStrings())
    typer.echo(f"partner page on http://{host}:{port} (public URL {services.settings.app_url})")
    try:
        uvicorn.run(app, host=host, port=port, proxy_headers=True)
    finally:
        services.dispose()


def _read_password(password_stdin: bool) -> str:
    if password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@users_app.command("add")
def add(
    email: Annotated[str, typer.Option("--email", help="The user's login email.")],
    workspace: Annotated[
        str, typer.Option("--workspace", help="Workspace the user belongs to (created if new).")
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a dashboard user; the password is prompted for (or read from stdin)."""
    password = _read_password(password_stdin)
    services = build_services(Settings())
    try:
        with services.engine.begin() as conn:
            _, workspace_id = add_user(
                conn,
                email=email,
                password=password,
                workspace=workspace,
                now=datetime.now(UTC),
            )
    except FieldError as error:
        raise InputError(f"--{error.field}: {error.message}") from None
    finally:
        services.dispose()
    typer.echo(
        f"user {email.strip().lower()} can log in to workspace {workspace!r} ({workspace_id})"
    )
