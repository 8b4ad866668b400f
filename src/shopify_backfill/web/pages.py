"""Rendering a page: the template plus what every page shows (user, CSRF token, bell)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from shopify_backfill.backfill.notify import list_notifications
from shopify_backfill.web.accounts import Principal
from shopify_backfill.web.context import WebContext

NOTICES = {
    "connected": "Store connected.",
    "reauthorized": "Access reauthorized: the store granted the full scope list.",
    "fixes_applied": "The audit's fixes were applied.",
    "no_fixes": "There was no fix to apply.",
    "started": "The backfill started. You can leave this page; you will be notified.",
    "resumed": "The backfill resumes from its last checkpoint.",
    "campaigns_resumed": "The campaigns the audit paused were resumed.",
    "read": "Notifications marked as read.",
    "key_revoked": "The API key was revoked.",
    "not_enabled": "The backfill was not enabled; nothing was imported. You can start it "
    "later from this page.",
}


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
    **values: Any,
) -> Response:
    token = principal.session_token or ""
    notice = NOTICES.get(request.query_params.get("notice", ""))
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
    )


def redirect(url: str) -> RedirectResponse:
    """After a POST: 303, so a reload does not repeat the action."""
    return RedirectResponse(url, status_code=303)
