"""Connected stores of a workspace: listing, connecting (token or OAuth), re-authorizing.

A thin layer over ``shopify/oauth.py``, ``shopify/verify.py`` and
``profiles/connections.py``: it adds what only
a web page needs, namely tenancy (every read filters on the caller's workspace; another
workspace's id is "not found") and the OAuth state nonce bound to the browser session
that started the flow, stored as a digest and usable once (the same user may finish it
in a new session after logging in again; see ``complete_oauth``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from shopify_backfill.backfill.states import NOT_STARTED
from shopify_backfill.backfill.store import BackfillRow, find_backfill, list_backfills
from shopify_backfill.config import REQUIRED_SCOPES
from shopify_backfill.errors import BackfillError, InputError
from shopify_backfill.profiles.connections import save_connection
from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.shopify.errors import AuthError, OAuthError
from shopify_backfill.shopify.oauth import (
    exchange_code,
    install_url,
    missing_scopes,
    new_state,
    validate_shop_domain,
    verify_callback,
)
from shopify_backfill.shopify.verify import verify_token
from shopify_backfill.web.accounts import Principal
from shopify_backfill.web.context import WebContext, utcnow
from shopify_backfill.web.errors import FieldError, NotFound, WebError
from shopify_backfill.web.labels import status_label
from shopify_backfill.web.limits import CALLBACK_PARAM_CHARS, SHOP, TOKEN, excerpt
from shopify_backfill.web.security import digest
from shopify_backfill.web.tables import oauth_states, web_sessions
from shopify_backfill.wiring.live import LiveSync

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
"""Shorter than ``accounts.EXPIRED_SESSION_KEPT``, so a state outlives no session row."""
Purpose = Literal["connect", "reauthorize"]


@dataclass(frozen=True)
class StoreView:
    """A connected store as the partner page shows it (never with its token)."""

    id: int
    shop_domain: str
    granted_scopes: tuple[str, ...]
    missing_scopes: tuple[str, ...]
    connected_at: datetime
    backfill: BackfillRow | None

    @property
    def status(self) -> str:
        return self.backfill.status if self.backfill else NOT_STARTED

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def reauthorization_required(self) -> bool:
        return bool(self.missing_scopes)

    def to_json(self) -> dict[str, Any]:
        backfill = self.backfill
        return {
            "id": self.id,
            "shop": self.shop_domain,
            "connected_at": self.connected_at.isoformat(),
            "granted_scopes": list(self.granted_scopes),
            "missing_scopes": list(self.missing_scopes),
            "reauthorization_required": self.reauthorization_required,
            "backfill": {
                "id": backfill.id if backfill else None,
                "status": self.status,
                "status_label": self.status_label,
                "failure_reason": backfill.failure_reason if backfill else None,
            },
        }


def _view(row: sa.Row[Any], backfill: BackfillRow | None) -> StoreView:
    granted = tuple(str(scope) for scope in row.granted_scopes or [])
    return StoreView(
        id=int(row.id),
        shop_domain=row.shop_domain,
        granted_scopes=granted,
        missing_scopes=tuple(missing_scopes(granted, REQUIRED_SCOPES)),
        connected_at=row.connected_at,
        backfill=backfill,
    )


def list_stores(conn: sa.Connection, workspace_id: int) -> list[StoreView]:
    rows = conn.execute(
        sa.select(shop_connections)
        .where(shop_connections.c.workspace_id == workspace_id)
        .order_by(shop_connections.c.id)
    ).all()
    backfills = {row.shop_domain: row for row in list_backfills(conn, workspace_id)}
    return [_view(row, backfills.get(row.shop_domain)) for row in rows]


def get_store(conn: sa.Connection, workspace_id: int, store_id: int) -> StoreView:
    """One store of the workspace; another workspace's id is simply not found."""
    row = conn.execute(
        sa.select(shop_connections).where(
            shop_connections.c.id == store_id, shop_connections.c.workspace_id == workspace_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"store {store_id} not found")
    return _view(row, find_backfill(conn, workspace_id, row.shop_domain))


def checked_shop(shop: str) -> str:
    """The normalised domain; a refusal quotes only an excerpt of what was entered."""
    SHOP.check(shop.strip())
    try:
        return validate_shop_domain(shop)
    except OAuthError:
        raise FieldError(
            f"{excerpt(shop.strip())} is not a store domain. Enter the store's permanent "
            "domain: lower-case letters, digits and hyphens, then .myshopify.com (like "
            "my-store.myshopify.com).",
            field="shop",
        ) from None


def checked_callback(params: Mapping[str, str]) -> None:
    """Refuse an oversized callback before any check quotes it: the shop parameter is
    checked as a domain (``checked_shop``), every other one against a generous bound."""
    if params.get("shop"):  # a missing one is verify_callback's to name
        checked_shop(params["shop"])
    for name, value in params.items():
        if name != "shop" and len(value) > CALLBACK_PARAM_CHARS:
            raise OAuthError(
                f"its {excerpt(name)} parameter is {len(value):,} characters long, more than "
                f"the {CALLBACK_PARAM_CHARS:,} Shopify sends; start the connection again"
            )


def connect_with_token(
    context: WebContext, principal: Principal, shop: str, token: SecretStr
) -> StoreView:
    """Connect a custom app's Admin API token after proving it works for this shop."""
    domain = checked_shop(shop)
    secret = SecretStr(TOKEN.check(token.get_secret_value().strip()))
    if not secret.get_secret_value():
        raise FieldError("paste the store's Admin API access token", field="token")
    api_url = context.api_url_for(domain)
    settings = context.services.settings
    try:
        scopes = verify_token(
            shop_domain=domain,
            token=secret,
            api_url=api_url,
            api_version=settings.api_version,
            transport=context.transport,
        )
    except AuthError:
        raise FieldError(
            f"Shopify refused this token for {domain}: check that it is the store's Admin API "
            "access token and that the app is still installed",
            field="token",
        ) from None
    except InputError as error:
        raise FieldError(str(error), field="token") from None
    with context.services.engine.begin() as conn:
        store_id = save_connection(
            conn,
            context.services.cipher,
            workspace_id=principal.workspace_id,
            shop_domain=domain,
            token=secret,
            scopes=scopes,
            api_url=api_url,
            api_version=settings.api_version,
        )
        store = get_store(conn, principal.workspace_id, store_id)
    subscribe_webhooks(context, principal.workspace_id, domain)
    return store


def subscribe_webhooks(context: WebContext, workspace_id: int, shop_domain: str) -> None:
    """Point the shop's webhooks at this app, on connect and on re-authorization.

    Best effort: the connection stands if Shopify refuses (an address it cannot reach,
    a missing scope) or is down; the reason is logged without secrets, and
    ``shopify-backfill live subscribe`` or the next re-authorization repairs it, while
    reconciliation keeps the store current meanwhile.
    """
    try:
        report = LiveSync(context.services, context.transport).subscribe(workspace_id, shop_domain)
    except (BackfillError, httpx.HTTPError) as error:
        log.warning("webhook subscriptions for %s not made: %s", shop_domain, error)
        return
    log.info("webhook subscriptions for %s: created %s", shop_domain, report.created)


def begin_oauth(
    context: WebContext,
    principal: Principal,
    *,
    purpose: Purpose,
    shop: str | None = None,
    store_id: int | None = None,
) -> str:
    """Issue a state nonce bound to this session and return Shopify's install URL.

    Re-authorization asks for the full scope list again at the store's own API URL.
    """
    if principal.session_id is None:
        raise WebError("OAuth needs a browser session")
    with context.services.engine.begin() as conn:
        if store_id is not None:
            store = get_store(conn, principal.workspace_id, store_id)
            domain = store.shop_domain
            api_url = conn.execute(
                sa.select(shop_connections.c.api_base_url).where(shop_connections.c.id == store.id)
            ).scalar_one()
        else:
            domain = checked_shop(shop or "")
            api_url = context.api_url_for(domain)
        nonce = new_state()
        now = utcnow()
        conn.execute(sa.delete(oauth_states).where(oauth_states.c.expires_at < now))
        conn.execute(
            sa.insert(oauth_states).values(
                session_id=principal.session_id,
                workspace_id=principal.workspace_id,
                nonce_hash=digest(nonce),
                purpose=purpose,
                shop_domain=domain,
                api_url=api_url,
                created_at=now,
                expires_at=now + STATE_TTL,
            )
        )
    return install_url(
        shop=domain,
        api_key=context.services.settings.app_api_key,
        redirect_uri=context.redirect_uri,
        state=nonce,
        scopes=REQUIRED_SCOPES,
        authorize_base=api_url,
    )


@dataclass(frozen=True)
class OAuthResult:
    store: StoreView
    purpose: Purpose


def complete_oauth(
    context: WebContext, principal: Principal, params: Mapping[str, str]
) -> OAuthResult:
    """Verify the callback (HMAC, timestamp, shop, state of *this* user), exchange the
    code and save the grant. The nonce is consumed first, so a replayed callback fails.

    The state is matched to the user whose session started the flow, through any of
    their sessions: when that session ended during Shopify's consent screen, the callback
    goes through the login form and arrives in a new session of the same user. Another
    user, even of the same workspace, is still refused."""
    settings = context.services.settings
    nonce = params.get("state", "")
    now = utcnow()
    with context.services.engine.begin() as conn:
        state = conn.execute(
            sa.select(oauth_states)
            .join(web_sessions, web_sessions.c.id == oauth_states.c.session_id)
            .where(
                oauth_states.c.nonce_hash == digest(nonce),
                web_sessions.c.user_id == principal.user_id,
                oauth_states.c.workspace_id == principal.workspace_id,
                oauth_states.c.used_at.is_(None),
                oauth_states.c.expires_at > now,
            )
        ).one_or_none()
        verified = verify_callback(
            params, secret=settings.app_secret, expected_state=nonce if state else None
        )
        if state is None:  # pragma: no cover - verify_callback refused it just above
            raise OAuthError("OAuth callback state does not match this session")
        claimed = conn.execute(
            sa.update(oauth_states)
            .where(oauth_states.c.id == state.id, oauth_states.c.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:
            raise OAuthError("this authorization was already used; start the connection again")
    if verified.shop != state.shop_domain:
        raise OAuthError(
            f"the callback is for {verified.shop}, but the connection was started for "
            f"{state.shop_domain}; start the connection again"
        )
    grant = exchange_code(
        shop=verified.shop,
        code=verified.code,
        api_key=settings.app_api_key,
        secret=settings.app_secret,
        api_url=state.api_url,
        transport=context.transport,
    )
    with context.services.engine.begin() as conn:
        store_id = save_connection(
            conn,
            context.services.cipher,
            workspace_id=principal.workspace_id,
            shop_domain=verified.shop,
            token=grant.access_token,
            scopes=grant.scopes,
            api_url=state.api_url,
            api_version=settings.api_version,
        )
        store = get_store(conn, principal.workspace_id, store_id)
    subscribe_webhooks(context, principal.workspace_id, verified.shop)
    return OAuthResult(store=store, purpose=state.purpose)


CONNECT_AGAIN = (
    "Start again from the Shopify page: enter the store's domain and press Connect with "
    "Shopify (or Reauthorize access on the store)."
)


def connect_advice(error: Exception) -> str:
    """What to do after a failed connection, for the page under the reason itself."""
    text = str(error)
    if "could not reach" in text:
        return (
            "Shopify could not be reached from this server. Try again in a minute; if it "
            "keeps failing, the operator should check the server's network access to Shopify."
        )
    if "code exchange was refused" in text or "without an access_token" in text:
        return (
            "Shopify did not accept this app's credentials when finishing the installation. "
            "The operator should check that SHOPIFY_BACKFILL_APP_API_KEY and "
            "SHOPIFY_BACKFILL_APP_SECRET are the app's own (Partner dashboard), then "
            + CONNECT_AGAIN[0].lower()
            + CONNECT_AGAIN[1:]
        )
    return CONNECT_AGAIN


def cancel_oauth(context: WebContext, principal: Principal, params: Mapping[str, str]) -> None:
    """The merchant pressed Cancel on Shopify: the state of *this* user's flow is used up
    (nothing was granted, and the same link must not be finished later); a state that is
    not theirs is left alone, and the answer is the same notice either way."""
    nonce = params.get("state", "")
    if not nonce:
        return
    with context.services.engine.begin() as conn:
        own = (
            sa.select(oauth_states.c.id)
            .join(web_sessions, web_sessions.c.id == oauth_states.c.session_id)
            .where(
                oauth_states.c.nonce_hash == digest(nonce),
                web_sessions.c.user_id == principal.user_id,
                oauth_states.c.used_at.is_(None),
            )
        )
        conn.execute(
            sa.update(oauth_states)
            .where(oauth_states.c.id.in_(own.scalar_subquery()))
            .values(used_at=utcnow())
        )
