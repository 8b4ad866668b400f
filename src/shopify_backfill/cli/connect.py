"""``shopify-backfill connect`` and ``preflight``: the source's CLI, thin over its services."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

import typer
from pydantic import SecretStr
from rich.console import Console

from shopify_backfill.config import REQUIRED_SCOPES, Settings
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.connections import default_api_url, load_connection, save_connection
from shopify_backfill.shopify.oauth import (
    exchange_code,
    install_url,
    new_state,
    validate_shop_domain,
    verify_callback,
)
from shopify_backfill.shopify.preflight import PreflightReport, run_preflight
from shopify_backfill.shopify.verify import verify_token
from shopify_backfill.window import window_for
from shopify_backfill.wiring import DEFAULT_WORKSPACE, build_services, workspace_id_by_name

Shop = Annotated[
    str, typer.Option("--shop", help="The store's domain, e.g. my-store.myshopify.com")
]
Workspace = Annotated[
    str, typer.Option("--workspace", help="Workspace to work in (created if missing).")
]


def connect(
    shop: Shop,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="SHOPIFY_BACKFILL_SHOP_TOKEN",
            help="Admin API access token of a custom app (shpat_...); or set the env var.",
            show_default=False,
        ),
    ] = None,
    oauth: Annotated[
        bool, typer.Option("--oauth", help="Install the app through OAuth in a browser.")
    ] = False,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url", help="Admin API base URL (default https://SHOP); e.g. the emulator."
        ),
    ] = None,
    callback_port: Annotated[
        int,
        typer.Option(
            "--callback-port", help="Local port for the OAuth redirect.", min=1, max=65535
        ),
    ] = 8788,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds to wait for the OAuth callback.", min=1.0, max=86_400.0
        ),
    ] = 300.0,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Connect a store with an existing token, or through the OAuth install flow."""
    if (token is None) == (not oauth):
        raise InputError("give exactly one of --token TOKEN or --oauth")
    settings = Settings()
    domain = validate_shop_domain(shop)
    base = _api_base(api_url) if api_url else default_api_url(domain)
    console = Console()
    if oauth:
        secret, scopes = _oauth_flow(settings, domain, base, callback_port, timeout, console)
    else:
        secret = SecretStr((token or "").strip())
        scopes = verify_token(
            shop_domain=domain, token=secret, api_url=base, api_version=settings.api_version
        )
    services = build_services(settings)
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace)
            save_connection(
                conn,
                services.cipher,
                workspace_id=workspace_id,
                shop_domain=domain,
                token=secret,
                scopes=scopes,
                api_url=base,
                api_version=settings.api_version,
            )
            stored = load_connection(
                conn, services.cipher, workspace_id=workspace_id, shop_domain=domain
            )
    finally:
        services.dispose()
    missing = [scope for scope in REQUIRED_SCOPES if scope not in stored.granted_scopes]
    console.print(
        f"connected [bold]{domain}[/] to workspace {workspace!r} "
        f"(first connected {stored.connected_at:%Y-%m-%d %H:%M:%S} UTC); "
        f"scopes: {', '.join(stored.granted_scopes) or 'none'}"
    )
    if missing:
        console.print(
            f"[yellow]missing scopes {', '.join(missing)}: run `shopify-backfill connect "
            f"--shop {domain} --oauth` to re-authorize before a backfill[/]"
        )


@dataclass
class _Callback:
    params: dict[str, str]


def _oauth_flow(
    settings: Settings, domain: str, base: str, port: int, timeout: float, console: Console
) -> tuple[SecretStr, tuple[str, ...]]:
    state = new_state()
    received: queue.Queue[_Callback] = queue.Queue()
    server = _callback_server(port, received)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    url = install_url(
        shop=domain,
        api_key=settings.app_api_key,
        redirect_uri=redirect_uri,
        state=state,
        authorize_base=base,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        console.print(f"open this URL to approve the app:\n{url}", soft_wrap=True)
        try:
            callback = received.get(timeout=timeout)
        except queue.Empty:
            raise InputError(f"no OAuth callback arrived within {timeout:.0f} s") from None
    finally:
        server.shutdown()
        server.server_close()
    verified = verify_callback(callback.params, secret=settings.app_secret, expected_state=state)
    if verified.shop != domain:
        raise InputError(f"the callback is for {verified.shop}, not {domain}")
    grant = exchange_code(
        shop=domain,
        code=verified.code,
        api_key=settings.app_api_key,
        secret=settings.app_secret,
        api_url=base,
    )
    return grant.access_token, grant.scopes


def _callback_server(port: int, received: queue.Queue[_Callback]) -> HTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/callback":
                self.send_error(404)
                return
            received.put(_Callback(dict(parse_qsl(parts.query, keep_blank_values=True))))
            body = b"shopify-backfill: authorization received, you can close this tab.\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    try:
        return HTTPServer(("127.0.0.1", port), Handler)
    except OSError as error:
        raise InputError(
            f"--callback-port {port}: cannot listen on 127.0.0.1:{port} ({error.strerror}); "
            "pass a free port with --callback-port"
        ) from None


def _api_base(api_url: str) -> str:
    """The Admin API base URL (scheme and host, optional port), or a bad-input error.

    Also accepts the URL ``emulator serve`` prints (``.../admin/api/VERSION``): the
    version path is the client's to add, so it is cut off here.
    """
    parts = urlsplit(api_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"--api-url {api_url!r} is not an http(s) URL; give the Admin API base, "
            "e.g. https://my-store.myshopify.com or http://127.0.0.1:8765"
        )
    path = parts.path.rstrip("/")
    marker = path.find("/admin")
    if marker >= 0:
        path = path[:marker]
    return f"{parts.scheme}://{parts.netloc}{path}"


def preflight(
    shop: Shop,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    workspace: Workspace = DEFAULT_WORKSPACE,
) -> None:
    """Check token, scopes, customer-data access and the window's counts before a backfill."""
    settings = Settings()
    services = build_services(settings)
    try:
        with services.engine.begin() as conn:
            workspace_id = workspace_id_by_name(conn, workspace)
            connection = load_connection(
                conn, services.cipher, workspace_id=workspace_id, shop_domain=shop
            )
    finally:
        services.dispose()
    window = window_for(connection.connected_at)
    reauth = install_url(
        shop=connection.shop_domain,
        api_key=settings.app_api_key,
        redirect_uri=f"{settings.app_url.rstrip('/')}/shopify/callback",
        state="reauthorize",
        authorize_base=connection.api_url,
    )
    with connection.client() as client:
        report = run_preflight(
            client,
            token=connection.token,
            window_start=window.start,
            window_end=window.end,
            reauthorize_url=reauth,
        )
    _print_preflight(report, as_json)
    if not report.ok:
        raise typer.Exit(3)


def report_dict(report: PreflightReport) -> Mapping[str, object]:
    return {
        "shop": report.shop_domain,
        "shop_name": report.shop_name,
        "ok": report.ok,
        "window": {"start": report.window_start.isoformat(), "end": report.window_end.isoformat()},
        "granted_scopes": list(report.granted_scopes),
        "missing_scopes": list(report.missing_scopes),
        "reauthorize_url": report.reauthorize_url,
        "customers_in_window": report.customers_in_window,
        "orders_in_window": report.orders_in_window,
        "counts_exact": report.counts_exact,
        "problems": report.problems,
    }


def _print_preflight(report: PreflightReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report_dict(report), indent=2))
        return
    console = Console()
    console.print(f"[bold]{report.shop_name}[/] ({report.shop_domain})")
    console.print(
        f"window: {report.window_start:%Y-%m-%d %H:%M} -> {report.window_end:%Y-%m-%d %H:%M} UTC"
    )
    console.print(f"customers created in window: {report.customers_in_window}")
    console.print(f"orders created in window: {report.orders_in_window}")
    console.print(f"granted scopes: {', '.join(report.granted_scopes)}")
    if report.missing_scopes:
        console.print(
            f"[red]re-authorization required[/]: missing {', '.join(report.missing_scopes)}; "
            f"open {report.reauthorize_url}"
        )
    else:
        console.print("[green]ready for a backfill[/]")
