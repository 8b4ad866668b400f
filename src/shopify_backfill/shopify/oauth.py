"""The app's side of Shopify's OAuth authorization-code flow.

Every callback parameter is untrusted until four checks pass: the shop domain is a
``*.myshopify.com`` host, the HMAC matches (compared in constant time), the timestamp is
fresh, and the state nonce is the one issued to this browser session. Only then is the
code exchanged for a token, and the granted scopes are read from the answer rather than
assumed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from shopify_backfill.config import REQUIRED_SCOPES
from shopify_backfill.shopify.errors import NetworkError, OAuthError, PayloadError
from shopify_backfill.shopify.responses import check_http

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
MAX_CALLBACK_AGE_SECONDS = 300
MAX_CLOCK_SKEW_SECONDS = 60


def validate_shop_domain(shop: str) -> str:
    """The normalised ``name.myshopify.com`` domain, or an error naming the rule."""
    candidate = shop.strip().lower()
    if candidate.startswith(("https://", "http://")):
        candidate = candidate.split("://", 1)[1]
    candidate = candidate.rstrip("/")
    if not SHOP_DOMAIN.fullmatch(candidate):
        raise OAuthError(
            f"invalid shop domain {shop!r}: expected the store's permanent domain, like "
            "'my-store.myshopify.com' (lower-case letters, digits and hyphens)"
        )
    return candidate


def new_state() -> str:
    """A fresh, unguessable nonce binding a callback to the session that started it."""
    return secrets.token_urlsafe(24)


def install_url(
    *,
    shop: str,
    api_key: str,
    redirect_uri: str,
    state: str,
    scopes: Iterable[str] = REQUIRED_SCOPES,
    authorize_base: str | None = None,
) -> str:
    """Where to send the merchant to grant (or re-grant) the app's scopes.

    ``authorize_base`` overrides ``https://{shop}`` so the flow can target the emulator.
    """
    domain = validate_shop_domain(shop)
    base = (authorize_base or f"https://{domain}").rstrip("/")
    query = urlencode(
        {
            "client_id": api_key,
            "scope": ",".join(scopes),
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{base}/admin/oauth/authorize?{query}"


def callback_hmac(params: Mapping[str, str], secret: SecretStr) -> str:
    """Shopify's callback signature: HMAC-SHA256 over the sorted ``k=v`` pairs, minus hmac."""
    message = "&".join(
        f"{key}={value}"
        for key, value in sorted(params.items())
        if key not in ("hmac", "signature")
    )
    return hmac.new(
        secret.get_secret_value().encode(), message.encode(), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class VerifiedCallback:
    shop: str
    code: str
    host: str | None


def verify_callback(
    params: Mapping[str, str],
    *,
    secret: SecretStr,
    expected_state: str | None,
    now: float | None = None,
) -> VerifiedCallback:
    """Check a callback's parameters; raise ``OAuthError`` naming the first failed check."""
    for required in ("code", "hmac", "shop", "state", "timestamp"):
        if not params.get(required):
            raise OAuthError(f"OAuth callback is missing the {required!r} parameter")
    shop = validate_shop_domain(params["shop"])
    expected = callback_hmac(params, secret)
    if not hmac.compare_digest(expected, params["hmac"].lower()):
        raise OAuthError(
            "OAuth callback signature (hmac) does not match: the parameters were altered or "
            "signed with another app's secret; start the connection again"
        )
    try:
        stamp = int(params["timestamp"])
    except ValueError:
        raise OAuthError("OAuth callback timestamp is not a number") from None
    current = time.time() if now is None else now
    if stamp < current - MAX_CALLBACK_AGE_SECONDS or stamp > current + MAX_CLOCK_SKEW_SECONDS:
        raise OAuthError(
            "OAuth callback is stale (timestamp outside the last "
            f"{MAX_CALLBACK_AGE_SECONDS} seconds); start the connection again"
        )
    if expected_state is None or not hmac.compare_digest(expected_state, params["state"]):
        raise OAuthError(
            "OAuth callback state does not match this session: the link was not started "
            "here or was already used; start the connection again"
        )
    return VerifiedCallback(shop=shop, code=params["code"], host=params.get("host"))


@dataclass(frozen=True)
class Grant:
    access_token: SecretStr
    scopes: tuple[str, ...]


def parse_scopes(raw: str) -> tuple[str, ...]:
    """Shopify lists scopes comma-separated; an implied ``read_`` is not added here."""
    return tuple(sorted({part.strip() for part in raw.split(",") if part.strip()}))


def missing_scopes(granted: Iterable[str], required: Iterable[str] = REQUIRED_SCOPES) -> list[str]:
    """Required scopes not covered by the grant (a ``write_`` scope implies its ``read_``)."""
    have = set(granted)
    have |= {"read_" + scope[len("write_") :] for scope in have if scope.startswith("write_")}
    return [scope for scope in required if scope not in have]


def exchange_code(
    *,
    shop: str,
    code: str,
    api_key: str,
    secret: SecretStr,
    api_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Grant:
    """Trade an authorization code for an offline access token and its granted scopes."""
    base = (api_url or f"https://{validate_shop_domain(shop)}").rstrip("/")
    with httpx.Client(transport=transport, timeout=30.0) as http:
        try:
            response = http.post(
                f"{base}/admin/oauth/access_token",
                json={
                    "client_id": api_key,
                    "client_secret": secret.get_secret_value(),
                    "code": code,
                },
            )
        except httpx.TransportError as error:
            raise OAuthError(f"could not reach {base} to exchange the code: {error!r}") from None
    if response.status_code >= 400:
        try:
            check_http(response.status_code, response.headers, response.content)
        except Exception as error:
            raise OAuthError(f"the code exchange was refused: {error}") from None
    try:
        body = response.json()
        token = str(body["access_token"])
        scopes = parse_scopes(str(body.get("scope", "")))
    except (ValueError, KeyError, TypeError):
        raise OAuthError("the code exchange answered without an access_token") from None
    return Grant(access_token=SecretStr(token), scopes=scopes)


def fetch_access_scopes(
    *, api_url: str, token: SecretStr, transport: httpx.BaseTransport | None = None
) -> tuple[str, ...]:
    """The scopes the token really holds, from ``/admin/oauth/access_scopes.json``."""
    with httpx.Client(transport=transport, timeout=30.0) as http:
        try:
            response = http.get(
                f"{api_url.rstrip('/')}/admin/oauth/access_scopes.json",
                headers={"X-Shopify-Access-Token": token.get_secret_value()},
            )
        except httpx.TransportError as error:
            raise NetworkError(f"could not reach {api_url}: {error!r}") from None
    check_http(response.status_code, response.headers, response.content)
    try:
        handles = [entry["handle"] for entry in response.json()["access_scopes"]]
    except (ValueError, KeyError, TypeError):
        raise PayloadError("access_scopes.json did not list access_scopes") from None
    return tuple(sorted(handles))
