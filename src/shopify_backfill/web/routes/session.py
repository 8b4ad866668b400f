"""Logging in and out, and ``/api/v1/me``.

The login form is protected against login CSRF with a signed double-submit cookie:
there is no session yet whose token could be used. Attempts are throttled per account and
per client address (``web/throttle.py``: 429 with ``Retry-After``, shown on the form), and
each refusal is written to the audit log (``web/audit.py``). A wrong password and an
unknown email get the same page, status and cost; an email or password longer than any
account can have (``web/limits.py``) is refused as such, before scrypt runs. ``next``
brings the user back where the login was asked for, query included (an OAuth callback),
on this site only.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from shopify_backfill.web import audit
from shopify_backfill.web.accounts import (
    authenticate,
    close_session,
    open_session,
)
from shopify_backfill.web.auth import (
    LOGIN_COOKIE,
    ApiPrincipal,
    PagePrincipal,
    clear_session_cookie,
    session_token,
    set_session_cookie,
)
from shopify_backfill.web.context import Context, WebContext, utcnow
from shopify_backfill.web.errors import FieldError, Forbidden, TooManyAttempts
from shopify_backfill.web.limits import EMAIL, PASSWORD
from shopify_backfill.web.pages import redirect
from shopify_backfill.web.security import new_token
from shopify_backfill.web.throttle import client_address, describe_wait

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["session"])
LOGIN_FORM_SECONDS = 3600
MAX_NEXT_LENGTH = 4096
WRONG_LOGIN = "The email or the password is not correct."
DONE = {"password_reset": "Your password was changed. Log in with the new one."}
"""What the login page may say after another page sent the user there (``?done=``): a
fixed set of texts, so an edited URL cannot put words on the page."""


def _safe_next(target: str | None) -> str:
    """Only a path of this site (its query kept): an open redirect after login would be a
    phishing aid. Browsers drop tabs and line breaks and read ``\\`` as ``/``, so any of
    those, a scheme or a host make the target fall back to ``/stores``."""
    if (
        not target
        or len(target) > MAX_NEXT_LENGTH
        or not target.startswith("/")
        or "\\" in target
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target)
    ):
        return "/stores"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return "/stores"
    return target


def _login_page(
    request: Request,
    context: WebContext,
    *,
    next_url: str,
    error: str | None = None,
    email: str = "",
    done: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    nonce = new_token()
    response = context.templates.TemplateResponse(
        request,
        "login.html",
        {
            "principal": None,
            "unread": 0,
            "login_csrf": nonce,
            "next_url": next_url,
            "error": error,
            "email": email,
            "done": DONE.get(done or ""),
        },
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        context.signer.sign_login(nonce),
        max_age=LOGIN_FORM_SECONDS,
        httponly=True,
        secure=context.cookie_secure,
        samesite="strict",
        path="/login",
    )
    return response


@pages.get("/login")
def login_form(
    *, request: Request, next: str | None = None, done: str | None = None, context: Context
) -> Response:
    return _login_page(request, context, next_url=_safe_next(next), done=done)


@pages.post("/login")
def login(
    *,
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    login_csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/stores",
    context: Context,
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    expected = context.signer.unsign_login(cookie, LOGIN_FORM_SECONDS) if cookie else None
    if expected is None or not hmac.compare_digest(expected, login_csrf):
        raise Forbidden(
            "the login form expired or was not sent by this site; reload it and try again",
            field="csrf_token",
        )
    address = client_address(request)
    shown_email = EMAIL.echo(email.strip())
    wait = context.throttle.take_login_attempt(email, address)
    if wait is not None:
        audit.login_failed(email, address, "throttled", retry_after=wait)
        refusal = TooManyAttempts(
            f"Too many login attempts. Try again in {describe_wait(wait)}.", retry_after=wait
        )
        return _login_page(
            request,
            context,
            next_url=_safe_next(next),
            error=refusal.message,
            email=shown_email,
            status_code=refusal.status,
            headers=refusal.headers,
        )
    try:
        EMAIL.check(email.strip())
        PASSWORD.check(password)
    except FieldError as error:  # no account has such an email or password: no scrypt run
        audit.login_failed(email, address, "too_long")
        return _login_page(
            request,
            context,
            next_url=_safe_next(next),
            error=error.message,
            email=shown_email,
            status_code=error.status,
        )
    now = utcnow()
    with context.services.engine.begin() as conn:
        check = authenticate(conn, email, password, now=now)
        token = open_session(conn, check.user_id, now=now) if check.user_id is not None else None
    if token is None:
        audit.login_failed(email, address, check.failure or "wrong_password")
        return _login_page(
            request,
            context,
            next_url=_safe_next(next),
            error=WRONG_LOGIN,
            email=shown_email,
            status_code=401,
        )
    context.throttle.login_succeeded(email)
    response = redirect(_safe_next(next))
    set_session_cookie(response, context, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@pages.post("/logout")
def logout(
    *,
    request: Request,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    token = session_token(request, context)
    if token is not None:
        with context.services.engine.begin() as conn:
            close_session(conn, token)
    response = redirect("/login")
    clear_session_cookie(response, context)
    return response


@pages.get("/")
def home() -> Response:
    return redirect("/stores")


@api.get("/me", summary="Who is calling, in which workspace")
def me(*, principal: ApiPrincipal, context: Context) -> dict[str, Any]:
    """The CSRF token is returned to session callers: the page's scripts send it back."""
    return {
        "auth": principal.kind,
        "workspace": {"id": principal.workspace_id, "name": principal.workspace_name},
        "email": principal.email,
        "csrf_token": context.signer.csrf_for(principal.session_token)
        if principal.session_token
        else None,
    }
