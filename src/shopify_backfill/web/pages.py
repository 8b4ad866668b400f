"""Rendering a page: the template plus what every page shows (user, CSRF token, bell)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from shopify_backfill.backfill.notify import list_notifications
from shopify_backfill.web.accounts import Principal
from shopify_backfill.web.context import WebContext
from shopify_backfill.web.notices import notice_for


def unread_count(context: WebContext, principal: Principal) -> int:
    with context.services.engine.connect() as conn:
        return len(list_notifications(conn, principal.workspace_id, unread_only=True))


def render(
    request: Request,
    context: WebContext,
    principal: Principal,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> Response:
    """``template`` with the navigation of ``principal``'s workspace (and nothing of any
    other); the ``?notice=`` only when it belongs on this page in this state."""
    token = principal.session_token or ""
    notice = notice_for(request.query_params.get("notice"), template, values)
    return context.templates.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "csrf_token": context.signer.csrf_for(token) if token else "",
            "unread": unread_count(context, principal),
            "notice": notice,
            **values,
        },
        status_code=status_code,
        headers=headers,
    )


def redirect(url: str) -> RedirectResponse:
    """After a POST: 303, so a reload does not repeat the action."""
    return RedirectResponse(url, status_code=303)
