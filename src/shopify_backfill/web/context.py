"""What every route needs, built once by ``create_app`` and kept on ``app.state``.

No module-level state: two apps built from two ``Services`` in one process (as the
tests do) share nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from shopify_backfill.profiles.connections import default_api_url
from shopify_backfill.web.jobs import WebJobs
from shopify_backfill.web.live import LiveWorker
from shopify_backfill.web.security import Signer
from shopify_backfill.web.throttle import AuthThrottle
from shopify_backfill.wiring import Services

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass
class WebContext:
    services: Services
    transport: httpx.BaseTransport | None
    signer: Signer
    templates: Jinja2Templates
    jobs: WebJobs
    throttle: AuthThrottle
    braze_transport: httpx.BaseTransport | None = None
    """Reaches a Braze stand-in in process (tests); ``None``: Braze over the network."""
    live: LiveWorker | None = None
    """Applies recorded webhook deliveries in the background (``None``: not in this app)."""

    @property
    def cookie_secure(self) -> bool:
        """Secure cookies whenever the page is served over https (always in production)."""
        return self.services.settings.app_url.startswith("https://")

    @property
    def redirect_uri(self) -> str:
        """The OAuth callback, fixed by configuration (Shopify checks it against the app)."""
        return f"{self.services.settings.app_url.rstrip('/')}/shopify/callback"

    def api_url_for(self, shop_domain: str) -> str:
        """Where a new shop's Admin API lives; from settings, never from the request."""
        override = self.services.settings.shopify_api_url
        return override.rstrip("/") if override else default_api_url(shop_domain)


def web_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


Context = Annotated[WebContext, Depends(web_context)]
"""A route's ``WebContext``."""


def utcnow() -> datetime:
    return datetime.now(UTC)
