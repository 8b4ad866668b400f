"""Shopify's OAuth authorization-code grant, auto-approved, plus the access-scopes read.

``/admin/oauth/authorize`` plays the merchant clicking *Install*: it checks the app and
the redirect URI, then answers a plain 302 to the app's callback (browsers and
``httpx`` with ``follow_redirects`` both follow it) carrying ``code, hmac, host, shop,
state, timestamp``. The ``hmac`` is computed the way Shopify does, so the product's
callback verification is tested against the real algorithm.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from shopify_emulator.scopes import unknown_scopes
from shopify_emulator.shopify_errors import INVALID_TOKEN
from shopify_emulator.tokens import granted, parse_scopes

if TYPE_CHECKING:
    from shopify_emulator.runtime import EmulatorRuntime


def shopify_hmac(params: Mapping[str, str], secret: str) -> str:
    """HMAC-SHA256 hex of the sorted ``key=value`` pairs joined by ``&``, ``hmac`` excluded."""
    message = "&".join(
        f"{key}={value}"
        for key, value in sorted(params.items())
        if key not in ("hmac", "signature")
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_hmac(params: Mapping[str, str], secret: str) -> bool:
    """Constant-time check of a callback's ``hmac`` parameter."""
    supplied = params.get("hmac", "")
    return hmac.compare_digest(shopify_hmac(params, secret), supplied)


def _oauth_error(message: str, status: int = 400, *, kind: str = "invalid_request") -> Response:
    text = f"<html><body><h1>Oauth error {kind}: {html.escape(message)}</h1></body></html>"
    return Response(text, status, media_type="text/html; charset=utf-8")


def _runtime(request: Request) -> EmulatorRuntime:
    runtime: EmulatorRuntime = request.app.state.runtime
    return runtime


async def authorize(request: Request) -> Response:
    runtime = _runtime(request)
    config = runtime.config
    params = request.query_params
    client_id = params.get("client_id", "")
    if client_id != config.client_id:
        return _oauth_error("The client_id is invalid or missing.")
    redirect_uri = params.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _oauth_error("The redirect_uri is missing or is not an absolute http(s) URL.")
    allowed = config.allowed_redirect_uris
    if allowed and not any(redirect_uri.startswith(prefix) for prefix in allowed):
        return _oauth_error("The redirect_uri is not whitelisted")
    requested = parse_scopes(params.get("scope", ""))
    unknown = unknown_scopes(requested)
    if unknown:
        return _oauth_error(f"The access scope is invalid: {unknown[0]}", kind="invalid_scope")
    scopes = granted(requested, config.grantable_scopes)
    code = await run_in_threadpool(
        runtime.tokens.issue_code, client_id, scopes, config.oauth_code_ttl_seconds
    )
    shop = runtime.store.shop_domain
    callback = {
        "code": code,
        "host": base64.b64encode(f"{shop}/admin".encode()).decode().rstrip("="),
        "shop": shop,
        "timestamp": str(int(runtime.wall_clock())),
    }
    if "state" in params:
        callback["state"] = params["state"]
    callback["hmac"] = shopify_hmac(callback, config.client_secret)
    separator = "&" if parts.query else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(callback)}", status_code=302)


async def access_token(request: Request) -> Response:
    runtime = _runtime(request)
    config = runtime.config
    raw = await request.body()
    fields: dict[str, str]
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            loaded = orjson.loads(raw)
        except orjson.JSONDecodeError:
            loaded = None
        fields = {k: str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    else:
        form = await request.form()
        fields = {k: str(v) for k, v in form.items()}
    client_id, secret, code = (fields.get(k, "") for k in ("client_id", "client_secret", "code"))
    if client_id != config.client_id or not hmac.compare_digest(secret, config.client_secret):
        return _json(
            {"error": "invalid_client", "error_description": "Client credentials are invalid"}, 401
        )
    if not code:
        return _json({"error": "invalid_request", "error_description": "code is missing"}, 400)
    outcome = await run_in_threadpool(runtime.tokens.redeem_code, code, client_id)
    if isinstance(outcome, str):
        return _json({"error": "invalid_request", "error_description": f"The {outcome}"}, 400)
    grant = await run_in_threadpool(runtime.tokens.mint, outcome, "oauth", client_id=client_id)
    return _json({"access_token": grant.token, "scope": ",".join(grant.scopes)})


async def access_scopes(request: Request) -> Response:
    runtime = _runtime(request)
    grant = await run_in_threadpool(
        runtime.tokens.lookup, request.headers.get("x-shopify-access-token")
    )
    if grant is None:
        return _json(INVALID_TOKEN, 401)
    return _json({"access_scopes": [{"handle": scope} for scope in parse_scopes(grant.scopes)]})


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json; charset=utf-8")


def routes() -> list[Route]:
    return [
        Route("/admin/oauth/authorize", authorize, methods=["GET"]),
        Route("/admin/oauth/access_token", access_token, methods=["POST"]),
        Route("/admin/oauth/access_scopes.json", access_scopes, methods=["GET"]),
    ]


__all__ = ["routes", "shopify_hmac", "verify_hmac"]
