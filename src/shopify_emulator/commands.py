"""``shopify-backfill emulator serve|check``: run the Shopify emulator or check it.

``serve`` builds (or reopens) a synthetic store, prints what a client needs to connect
(shop domain, Admin API base URL, an access token; with ``--tls`` also the CA file to
trust and the hosts line to add) and serves it with uvicorn; ``check``
runs the scripted self-check against a fresh in-process emulator.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from shopify_backfill.config import API_VERSION, Settings
from shopify_backfill.errors import ConfigError
from shopify_backfill.shopify.schema import load_schema
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig, Plan
from shopify_emulator.scopes import unknown_scopes
from shopify_emulator.selfcheck import run_check
from shopify_emulator.store import ShopStore
from shopify_emulator.tls import ServerCertificate, hosts_line, issue_server_certificate
from shopify_emulator.tokens import parse_scopes

app = typer.Typer(help="Run or check the Shopify Admin API emulator.", no_args_is_help=True)

PLANS: dict[str, Plan] = {
    "standard": "standard",
    "advanced": "advanced",
    "plus": "plus",
    "enterprise": "enterprise",
}


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise ConfigError(
            f"--now {text!r} is not an ISO 8601 time (e.g. 2026-07-01T12:00:00Z)"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_scopes(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = parse_scopes(text)
    if not names:
        raise ConfigError("--scopes is empty; give scope names such as read_orders,read_customers")
    unknown = unknown_scopes(names)
    if unknown:
        raise ConfigError(
            f"--scopes: {', '.join(unknown)} is not a Shopify access scope"
            " (see https://shopify.dev/docs/api/usage/access-scopes)"
        )
    return names


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65_535)] = 8765,
    customers: Annotated[int, typer.Option(help="Customers to generate.", min=0)] = 1_000,
    orders: Annotated[int, typer.Option(help="Orders to generate.", min=0)] = 5_000,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same store).")] = 1,
    plan: Annotated[str, typer.Option(help="Shopify plan: " + ", ".join(PLANS))] = "standard",
    now: Annotated[str | None, typer.Option(help="The store's 'now' (ISO 8601).")] = None,
    db: Annotated[Path | None, typer.Option(help="Store file; reopened if it exists.")] = None,
    token: Annotated[str | None, typer.Option(help="Fixed shpat_ token to seed.")] = None,
    reuse_bulk_results: Annotated[
        bool, typer.Option(help="Answer a repeated bulk query from its rendered file.")
    ] = False,
    scopes: Annotated[
        str | None,
        typer.Option(help="Scopes of the seeded token, comma-separated (default: every scope)."),
    ] = None,
    oauth_consent: Annotated[
        str,
        typer.Option(
            help="OAuth install: 'screen' shows the consent page (Install / Cancel), "
            "'auto' approves at once."
        ),
    ] = "screen",
    tls: Annotated[
        bool,
        typer.Option(
            "--tls", help="Serve https with a certificate for SHOP.myshopify.com (local CA)."
        ),
    ] = False,
    tls_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where --tls keeps its CA and certificate (default: DATA_DIR/emulator-tls)."
        ),
    ] = None,
) -> None:
    """Serve a synthetic store over Shopify's Admin API on HOST:PORT."""
    if plan not in PLANS:
        raise ConfigError(f"--plan {plan!r} is not one of {', '.join(PLANS)}")
    if token is not None and not token.startswith("shpat_"):
        raise ConfigError("--token must start with shpat_ (Shopify's custom-app token prefix)")
    if oauth_consent not in ("screen", "auto"):
        raise ConfigError(f"--oauth-consent {oauth_consent!r} is not 'screen' or 'auto'")
    token_scopes = _parse_scopes(scopes)
    moment = _parse_now(now)
    settings = Settings()
    schema = load_schema(settings.schema_path(), settings.cache_dir())
    if db is not None and db.exists():
        store = ShopStore.open(db)
    else:
        typer.echo(f"generating {customers} customers and {orders} orders (seed {seed}) ...")
        store = ShopStore.generate(
            db,
            customers=customers,
            orders=orders,
            seed=seed,
            now=moment,
            plan=PLANS[plan],
        )
    config = EmulatorConfig(
        seed_token=token,
        seed_token_scopes=token_scopes,
        plan=PLANS[plan],
        bulk_reuse_results=reuse_bulk_results,
        oauth_consent="screen" if oauth_consent == "screen" else "auto",
    )
    application = create_emulator_app(store, schema=schema, config=config)
    runtime = application.state.runtime
    typer.echo(f"shop domain:    {store.shop_domain}")
    certificate = None
    if tls:
        certificate = _announce_tls(store.shop_domain, host, port, tls_dir or _tls_home(settings))
    else:
        typer.echo(f"admin API base: http://{host}:{port}/admin/api/{API_VERSION}/")
    typer.echo(f"access token:   {runtime.seed_grant.token}")
    if token_scopes is not None:
        typer.echo(f"token scopes:   {','.join(runtime.seed_grant.scopes)}")
    typer.echo(f"admin secret:   {config.admin_secret}  (header X-Emulator-Admin)")
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=certificate.cert_file if certificate else None,
        ssl_keyfile=certificate.key_file if certificate else None,
    )


def _tls_home(settings: Settings) -> Path:
    return settings.data_dir / "emulator-tls"


def _announce_tls(shop_domain: str, host: str, port: int, directory: Path) -> ServerCertificate:
    """Issue the certificate and print the two steps a client needs (see docs/emulator.md)."""
    listening = host if host not in ("0.0.0.0", "::", "localhost") else "127.0.0.1"  # noqa: S104
    certificate = issue_server_certificate(shop_domain, directory, (listening,))
    typer.echo(f"TLS CA file:    {certificate.ca_file}")
    typer.echo(f"  trust it:     SSL_CERT_FILE={certificate.ca_file}  (or curl --cacert ...)")
    typer.echo(f"  hosts line:   {hosts_line(shop_domain, listening)}  (add to /etc/hosts)")
    typer.echo(f"admin API base: https://{shop_domain}:{port}/admin/api/{API_VERSION}/")
    return certificate


@app.command()
def check(
    customers: Annotated[int, typer.Option(help="Customers in the check store.", min=1)] = 60,
    orders: Annotated[int, typer.Option(help="Orders in the check store.", min=1)] = 150,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 1,
) -> None:
    """Run a short scripted session against a fresh emulator and print what it saw."""
    settings = Settings()
    schema = load_schema(settings.schema_path(), settings.cache_dir())
    report = run_check(schema, customers=customers, orders=orders, seed=seed, echo=typer.echo)
    if report.problems:
        typer.echo(f"{len(report.problems)} check(s) failed", err=True)
        raise typer.Exit(1)
    typer.echo("emulator check passed")
