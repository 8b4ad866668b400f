"""Signing up, invitation links, and "forgot password" (``web/onboarding.py`` decides).

The public forms here (sign-up, forgot, reset) have no session yet, so like the login form
they carry a signed double-submit nonce (cookie ``sbf_login`` scoped to the form's path).
Sign-ups and reset requests are throttled per email and per client address with the
login tiers (``web/throttle.py``). The reset email is delivered after the answer is sent
(a background task), so the answer takes as long for an unknown address as for a known
one and says the same words.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response

from shopify_backfill.backfill.notify import deliver_email
from shopify_backfill.web import audit
from shopify_backfill.web.accounts import open_session
from shopify_backfill.web.auth import LOGIN_COOKIE, PagePrincipal, set_session_cookie
from shopify_backfill.web.context import Context, WebContext, utcnow
from shopify_backfill.web.errors import FieldError, Forbidden, TooManyAttempts
from shopify_backfill.web.limits import EMAIL, PASSWORD
from shopify_backfill.web.onboarding import (
    EXPIRED_LINK,
    INVITE_TTL,
    accept_invite,
    create_invite,
    find_invite,
    pending_invites,
    request_reset,
    reset_is_live,
    reset_password,
    sign_up,
)
from shopify_backfill.web.pages import redirect, render
from shopify_backfill.web.security import new_token
from shopify_backfill.web.tables import web_users
from shopify_backfill.web.throttle import client_address, describe_wait

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["accounts"])
FORM_SECONDS = 3600
TOKEN_CHARS = 128
FORGOT_ANSWER = (
    "If an account uses that address, an email with a link to set a new password is on its "
    "way. The link works once, for an hour. Nothing arrived? Check the spam folder, or ask "
    "again in a few minutes."
)


def _public_page(
    request: Request,
    context: WebContext,
    template: str,
    *,
    path: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> Response:
    """A form for someone not logged in, with its signed double-submit nonce."""
    nonce = new_token()
    response = context.templates.TemplateResponse(
        request,
        template,
        {"principal": None, "unread": 0, "form_nonce": nonce, **values},
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        context.signer.sign_login(nonce),
        max_age=FORM_SECONDS,
        httponly=True,
        secure=context.cookie_secure,
        samesite="strict",
        path=path,
    )
    return response


def _check_nonce(request: Request, context: WebContext, supplied: str) -> None:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    expected = context.signer.unsign_login(cookie, FORM_SECONDS) if cookie else None
    if expected is None or not hmac.compare_digest(expected, supplied):
        raise Forbidden(
            "the form expired or was not sent by this site; reload it and try again",
            field="csrf_token",
        )


def _throttled(wait: int) -> TooManyAttempts:
    return TooManyAttempts(
        f"Too many attempts. Try again in {describe_wait(wait)}.", retry_after=wait
    )


# ----------------------------------------------------------------------------- sign-up


def _signup_page(
    request: Request,
    context: WebContext,
    *,
    invite: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    joining = None
    if invite:
        with context.services.engine.connect() as conn:
            joining = find_invite(conn, invite[:TOKEN_CHARS], now=utcnow())
        if joining is None and not errors:
            errors = {"token": EXPIRED_LINK}
            status_code = 410
    return _public_page(
        request,
        context,
        "signup.html",
        path="/signup",
        status_code=status_code,
        headers=headers,
        invite=invite[:TOKEN_CHARS] if joining else "",
        joining=joining,
        dead_invite=bool(invite) and joining is None,
        errors=errors or {},
        values=values or {},
    )


@pages.get("/signup")
def signup_form(*, request: Request, invite: str = "", context: Context) -> Response:
    return _signup_page(request, context, invite=invite)


@pages.post("/signup")
def signup(
    *,
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    workspace: Annotated[str, Form()] = "",
    invite: Annotated[str, Form()] = "",
    form_nonce: Annotated[str, Form()] = "",
    context: Context,
) -> Response:
    """A new account: in a new workspace, or (with ``invite``) in the inviter's one only.
    Any workspace named on the form is ignored when an invitation is redeemed."""
    _check_nonce(request, context, form_nonce)
    shown = {"email": EMAIL.echo(email.strip()), "workspace": workspace.strip()[:100]}
    address = client_address(request)
    wait = context.throttle.take_signup_attempt(email, address)
    if wait is not None:
        refusal = _throttled(wait)
        return _signup_page(
            request,
            context,
            invite=invite,
            errors={"form": refusal.message},
            values=shown,
            status_code=refusal.status,
            headers=refusal.headers,
        )
    now = utcnow()
    try:
        EMAIL.check(email.strip())
        PASSWORD.check(password)
        with context.services.engine.begin() as conn:
            if invite:
                user_id, _ = accept_invite(
                    conn, token=invite[:TOKEN_CHARS], email=email, password=password, now=now
                )
            else:
                user_id, _ = sign_up(
                    conn, email=email, password=password, workspace=workspace, now=now
                )
            token = open_session(conn, user_id, now=now)
    except FieldError as error:
        return _signup_page(
            request,
            context,
            invite=invite,
            errors={error.field or "form": error.message},
            values=shown,
            status_code=410 if error.field == "token" else error.status,
        )
    audit.account_created(user_id, address, invited=bool(invite))
    response = redirect("/stores?notice=welcome")
    set_session_cookie(response, context, token)
    response.delete_cookie(LOGIN_COOKIE, path="/signup")
    return response


# ----------------------------------------------------------------------------- invites


def _team_page(
    request: Request, context: WebContext, principal: Any, *, link: str | None = None
) -> Response:
    now = utcnow()
    with context.services.engine.connect() as conn:
        members = [
            str(row.email)
            for row in conn.execute(
                web_users.select()
                .where(web_users.c.workspace_id == principal.workspace_id)
                .order_by(web_users.c.id)
            )
        ]
        pending = pending_invites(conn, principal.workspace_id, now=now)
    return render(
        request,
        context,
        principal,
        "team.html",
        members=members,
        pending=pending,
        link=link,
        invite_days=INVITE_TTL.days,
    )


@pages.get("/settings/team")
def team_page(*, request: Request, principal: PagePrincipal, context: Context) -> Response:
    return _team_page(request, context, principal)


@pages.post("/settings/team/invites")
def invite_form(*, request: Request, principal: PagePrincipal, context: Context) -> Response:
    """An invitation into the caller's own workspace (from the session, never the form)."""
    user_id = principal.user_id
    if user_id is None:  # pragma: no cover - a page principal is always a session
        raise Forbidden("inviting needs a logged-in browser session")
    with context.services.engine.begin() as conn:
        token = create_invite(
            conn, workspace_id=principal.workspace_id, user_id=user_id, now=utcnow()
        )
    link = f"{context.services.settings.app_url.rstrip('/')}/signup?invite={token}"
    return _team_page(request, context, principal, link=link)


# ----------------------------------------------------------------------------- password reset


@pages.get("/password/forgot")
def forgot_form(*, request: Request, context: Context) -> Response:
    return _public_page(request, context, "forgot.html", path="/password", email="", sent=None)


@pages.post("/password/forgot")
def forgot(
    *,
    request: Request,
    background: BackgroundTasks,
    email: Annotated[str, Form()] = "",
    form_nonce: Annotated[str, Form()] = "",
    context: Context,
) -> Response:
    _check_nonce(request, context, form_nonce)
    shown = EMAIL.echo(email.strip())
    wait = context.throttle.take_reset_attempt(email, client_address(request))
    if wait is not None:
        refusal = _throttled(wait)
        return _public_page(
            request,
            context,
            "forgot.html",
            path="/password",
            email=shown,
            sent=None,
            error=refusal.message,
            status_code=refusal.status,
            headers=refusal.headers,
        )
    if len(email.strip()) <= EMAIL.limit:  # no account has a longer address
        base = f"{context.services.settings.app_url.rstrip('/')}/password/reset?token="
        with context.services.engine.begin() as conn:
            queued = request_reset(conn, email=email, reset_url=base, now=utcnow())
        if queued is not None:
            background.add_task(
                deliver_email, context.services.engine, context.services.settings, queued.email_id
            )
    return _public_page(
        request, context, "forgot.html", path="/password", email=shown, sent=FORGOT_ANSWER
    )


def _reset_page(
    request: Request,
    context: WebContext,
    token: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    token = token[:TOKEN_CHARS]
    with context.services.engine.connect() as conn:
        live = bool(token) and reset_is_live(conn, token, now=utcnow())
    return _public_page(
        request,
        context,
        "reset.html",
        path="/password",
        token=token if live else "",
        error=error if live else EXPIRED_LINK,
        status_code=status_code if live else 410,
    )


@pages.get("/password/reset")
def reset_form(*, request: Request, token: str = "", context: Context) -> Response:
    return _reset_page(request, context, token)


@pages.post("/password/reset")
def reset(
    *,
    request: Request,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    form_nonce: Annotated[str, Form()] = "",
    context: Context,
) -> Response:
    _check_nonce(request, context, form_nonce)
    try:
        PASSWORD.check(password)
        with context.services.engine.begin() as conn:
            user_id = reset_password(
                conn, token=token[:TOKEN_CHARS], password=password, now=utcnow()
            )
    except FieldError as error:
        return _reset_page(request, context, token, error=error.message, status_code=error.status)
    audit.password_reset(user_id, client_address(request))
    response = redirect("/login?done=password_reset")
    response.delete_cookie(LOGIN_COOKIE, path="/password")
    return response
