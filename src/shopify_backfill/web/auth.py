"""Who is calling, and whether a state-changing request really comes from our own page.

Two ways in: the session cookie of a logged-in user (pages, and the page's own API
calls), or ``Authorization: Bearer <API key>`` (scripts). Cookies are sent by the
browser on its own, so every state-changing request made with one must also carry the
session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``); an API key
is never sent implicitly and needs none. Failed API keys are throttled per client
address (429 with ``Retry-After``) and audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from shopify_backfill.web import audit
from shopify_backfill.web.accounts import (
    SESSION_DAYS,
    Principal,
    api_key_principal,
    session_principal,
)
from shopify_backfill.web.context import WebContext, utcnow, web_context
from shopify_backfill.web.errors import Forbidden, NotAuthenticated, TooManyAttempts
from shopify_backfill.web.throttle import client_address

SESSION_COOKIE = "sbf_session"
LOGIN_COOKIE = "sbf_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE = SESSION_DAYS * 24 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):  # noqa: N818 - a redirect signal, not an error
    """A page was asked for without a session: send the browser to the login form."""


def set_session_cookie(response: Response, context: WebContext, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        context.signer.sign_session(token),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        secure=context.cookie_secure,
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, context: WebContext) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, secure=context.cookie_secure, samesite="lax", path="/"
    )


def session_token(request: Request, context: WebContext) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    return context.signer.unsign_session(raw, SESSION_MAX_AGE)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated("the Authorization header must be 'Bearer <API key>'")
    return value.strip()


def _api_key_caller(request: Request, context: WebContext, key: str) -> Principal:
    """The key's principal; failures are counted per client address (``web/throttle.py``)
    and audited, and an address over its limit is refused, even with a valid key, until
    its ``Retry-After`` has passed."""
    address = client_address(request)
    wait = context.throttle.api_key_wait(address)
    if wait is not None:
        audit.api_key_failed(address, "throttled", retry_after=wait)
        raise TooManyAttempts(
            f"too many failed API-key attempts from this address; retry in {wait} seconds",
            retry_after=wait,
        )
    with context.services.engine.begin() as conn:
        principal = api_key_principal(conn, key, now=utcnow())
    if principal is None:
        context.throttle.api_key_failed(address)
        audit.api_key_failed(address, "unknown_or_revoked_key")
        raise NotAuthenticated("the API key is unknown or revoked")
    return principal


def resolve(request: Request, context: WebContext) -> Principal | None:
    key = _bearer(request)
    if key is not None:
        return _api_key_caller(request, context, key)
    with context.services.engine.begin() as conn:
        token = session_token(request, context)
        if token is None:
            return None
        return session_principal(conn, token, now=utcnow())


def session_caller(request: Request, context: WebContext) -> Principal | None:
    """The logged-in user of the session cookie, if any; never an API key.

    For error pages: they show the navigation of whoever is logged in, and must not count
    a bad ``Authorization`` header a second time (``resolve`` already did)."""
    token = session_token(request, context)
    if token is None:
        return None
    with context.services.engine.begin() as conn:
        return session_principal(conn, token, now=utcnow())


async def _check_csrf(request: Request, context: WebContext, principal: Principal) -> None:
    if request.method not in UNSAFE_METHODS or principal.kind != "session":
        return
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if principal.session_token is None or not context.signer.check_csrf(
        principal.session_token, supplied
    ):
        raise Forbidden(
            "missing or invalid CSRF token: reload the page and try again", field=CSRF_FIELD
        )


async def api_principal(
    request: Request, context: Annotated[WebContext, Depends(web_context)]
) -> Principal:
    """The caller of an API route; 401 without credentials, 403 without a valid CSRF token."""
    principal = await run_in_threadpool(resolve, request, context)  # blocking SQL off the loop
    if principal is None:
        raise NotAuthenticated(
            "log in to the partner page or send 'Authorization: Bearer <API key>'"
        )
    await _check_csrf(request, context, principal)
    return principal


async def page_principal(
    request: Request, context: Annotated[WebContext, Depends(web_context)]
) -> Principal:
    """The logged-in user of a page; redirects to the login form when there is none."""
    principal = await run_in_threadpool(resolve, request, context)  # blocking SQL off the loop
    if principal is None or principal.kind != "session":
        raise LoginRequired
    await _check_csrf(request, context, principal)
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]
"""A page's logged-in user (with CSRF checked on state-changing requests)."""
ApiPrincipal = Annotated[Principal, Depends(api_principal)]
"""An API caller: session (with CSRF checked) or API key."""


def require_session(principal: Principal, action: str) -> Principal:
    """Browser-only actions (OAuth, creating API keys) refuse API-key callers."""
    if principal.kind != "session":
        raise Forbidden(
            f"{action} needs a logged-in browser session (the OAuth redirect comes back to "
            "the browser); use the partner page, or connect with a token"
        )
    return principal
