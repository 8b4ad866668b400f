"""Refusing to serve the partner page publicly with secrets anyone can know.

The defaults (the emulator's app secret, a session key generated into the data folder)
make a local run work with no setup. On a public URL they are a hole: the well-known app
secret lets anyone forge Shopify's OAuth callback HMAC, and a generated session key is
different in each web process and lost with the data folder. So ``serve`` checks them
before it listens, unless the URL is loopback.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from shopify_backfill.config import Settings
from shopify_backfill.errors import ConfigError

WELL_KNOWN_APP_SECRETS = frozenset({"emulator-app-secret"})
"""Secrets published in this repository (the emulator's default client secret)."""
MIN_SECRET_LENGTH = 32
GENERATE_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


def is_loopback(url: str) -> bool:
    """Whether ``url`` can only be reached from this machine."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_public_defaults(settings: Settings) -> None:
    """Raise ``ConfigError`` naming each secret to set when the page would be public."""
    if is_loopback(settings.app_url):
        return
    problems = []
    app_secret = settings.app_secret.get_secret_value()
    if app_secret in WELL_KNOWN_APP_SECRETS or len(app_secret) < 16:
        problems.append(
            "SHOPIFY_BACKFILL_APP_SECRET is the emulator's published default (or shorter than "
            "16 characters); set it to your Shopify app's client secret (Partner Dashboard > "
            "your app > Client credentials)"
        )
    session = settings.session_secret
    if session is None or len(session.get_secret_value()) < MIN_SECRET_LENGTH:
        problems.append(
            f"SHOPIFY_BACKFILL_SESSION_SECRET is {'unset' if session is None else 'too short'}; "
            f"set it to a random value of {MIN_SECRET_LENGTH}+ characters, the same for every "
            f"web process (generate one with `{GENERATE_HINT}`)"
        )
    if problems:
        raise ConfigError(
            f"refusing to serve the partner page at its public URL {settings.app_url}: "
            + "; ".join(problems)
            + " (a loopback SHOPIFY_BACKFILL_APP_URL keeps the local defaults)"
        )
