"""Shopify's OAuth authorization-code grant (consent screen or auto-approved), plus the
access-scopes read.

``/admin/oauth/authorize`` checks the app and the redirect URI. With
``EmulatorConfig.oauth_consent="auto"`` (the config's default, for tests driving the
handshake with httpx) it plays the merchant clicking *Install*: a plain 302 to the app's
callback (browsers and ``httpx`` with ``follow_redirects`` both follow it) carrying
``code, hmac, host, shop, state, timestamp``. With ``"screen"`` (``emulator serve``'s
default) it shows the consent page: the app, the shop, the scopes in words, **Install**
(a POST back here, then the same redirect) and **Cancel** (the callback with
``error=access_denied``, signed the same way). The ``hmac`` is computed the way Shopify
does, so the product's callback verification is tested against the real algorithm.
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


SCOPE_WORDS = {
    "read_customers": "View customers: names, emails, addresses, marketing consent",
    "write_customers": "Edit customers",
    "read_orders": "View orders of the last 60 days",
    "write_orders": "Edit orders",
    "read_all_orders": "View all orders, including those older than 60 days",
    "read_products": "View products and collections",
    "write_products": "Edit products and collections",
    "read_inventory": "View inventory",
    "read_locations": "View locations",
    "read_draft_orders": "View draft orders",
}


def scope_words(scope: str) -> str:
    """A scope as a merchant reads it on the consent screen ("View orders ...")."""
    if scope in SCOPE_WORDS:
        return SCOPE_WORDS[scope]
    verb, _, what = scope.partition("_")
    return f"{'Edit' if verb == 'write' else 'View'} {what.replace('_', ' ')}"


def _checked(runtime: EmulatorRuntime, params: Mapping[str, str]) -> Response | tuple[str, ...]:
    """The scopes asked for, or the error page Shopify shows for a bad request."""
    config = runtime.config
    if params.get("client_id", "") != config.client_id:
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
    return tuple(requested)


def _to_callback(
    runtime: EmulatorRuntime, params: Mapping[str, str], extra: dict[str, str], status: int
) -> Response:
    """Back to the app's redirect URI, signed with the app's secret the way Shopify does."""
    shop = runtime.store.shop_domain
    callback = {
        **extra,
        "host": base64.b64encode(f"{shop}/admin".encode()).decode().rstrip("="),
        "shop": shop,
        "timestamp": str(int(runtime.wall_clock())),
    }
    if params.get("state"):
        callback["state"] = params["state"]
    callback["hmac"] = shopify_hmac(callback, runtime.config.client_secret)
    redirect_uri = params["redirect_uri"]
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(callback)}", status_code=status)


async def _approve(
    runtime: EmulatorRuntime, params: Mapping[str, str], requested: tuple[str, ...], status: int
) -> Response:
    config = runtime.config
    scopes = granted(list(requested), config.grantable_scopes)
    code = await run_in_threadpool(
        runtime.tokens.issue_code, config.client_id, scopes, config.oauth_code_ttl_seconds
    )
    return _to_callback(runtime, params, {"code": code}, status)


CARRIED = ("client_id", "scope", "redirect_uri", "state")
"""The authorize parameters the consent form sends back with the merchant's decision."""


def _consent_page(
    runtime: EmulatorRuntime, params: Mapping[str, str], scopes: tuple[str, ...]
) -> Response:
    """Shopify's install screen, reduced to what it says: which app, which store, what the
    app may do (in words, the scope names beside them), Install or Cancel. An empty icon
    of its own: else a browser asks the stand-in for ``/favicon.ico``, gets a 404 and logs
    a console error on a page that did nothing wrong."""
    esc = html.escape
    app = esc(runtime.config.app_title)
    shop = esc(runtime.store.shop_domain)
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{esc(params[name])}">'
        for name in CARRIED
        if name in params
    )
    items = "".join(
        f"<li>{esc(scope_words(scope))} <code>{esc(scope)}</code></li>" for scope in scopes
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Install {app} · {shop}</title>
<style>
body{{font:16px/1.5 system-ui,sans-serif;background:#f1f1f1;margin:0;color:#303030}}
main{{max-width:34rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 1px 3px rgba(0,0,0,.15)}}
h1{{font-size:1.35rem;margin-top:0}} .shop{{color:#616161}} ul{{padding-left:1.2rem}}
code{{color:#616161;font-size:.8rem}} .actions{{display:flex;gap:.75rem;justify-content:flex-end}}
button{{font:inherit;padding:.55rem 1.1rem;border-radius:8px;border:1px solid #8a8a8a;
background:#fff;cursor:pointer}}
button.install{{background:#303030;color:#fff;border-color:#303030}}
</style></head>
<body><main>
<p class="shop">Shopify · <strong data-shop>{shop}</strong></p>
<h1>Install {app}?</h1>
<p>{app} is asking for access to your store. It will be able to:</p>
<ul data-scopes>{items}</ul>
<p class="shop">You can uninstall the app at any time from Settings › Apps.</p>
<form method="post" action="/admin/oauth/authorize">{hidden}
<div class="actions">
<button type="submit" name="decision" value="cancel">Cancel</button>
<button type="submit" name="decision" value="install" class="install">Install</button>
</div></form>
</main></body></html>"""
    return Response(page, 200, media_type="text/html; charset=utf-8")


async def authorize(request: Request) -> Response:
    """GET: auto-approve (``oauth_consent="auto"``) or show the consent screen."""
    runtime = _runtime(request)
    params = dict(request.query_params)
    checked = _checked(runtime, params)
    if isinstance(checked, Response):
        return checked
    if runtime.config.oauth_consent == "screen":
        return _consent_page(runtime, params, checked)
    return await _approve(runtime, params, checked, 302)


async def decide(request: Request) -> Response:
    """POST from the consent screen: Install grants (a code); Cancel goes back to the app
    with ``error=access_denied`` (signed like any callback), and grants nothing."""
    runtime = _runtime(request)
    form = await request.form()
    params = {name: str(form[name]) for name in CARRIED if name in form}
    checked = _checked(runtime, params)
    if isinstance(checked, Response):
        return checked
    decision = str(form.get("decision", ""))
    if decision == "install":
        return await _approve(runtime, params, checked, 303)
    if decision == "cancel":
        extra = {
            "error": "access_denied",
            "error_description": "The merchant cancelled the installation.",
        }
        return _to_callback(runtime, params, extra, 303)
    return _oauth_error("Choose Install or Cancel.")


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
        Route("/admin/oauth/authorize", decide, methods=["POST"]),
        Route("/admin/oauth/access_token", access_token, methods=["POST"]),
        Route("/admin/oauth/access_scopes.json", access_scopes, methods=["GET"]),
    ]


__all__ = ["routes", "shopify_hmac", "verify_hmac"]
