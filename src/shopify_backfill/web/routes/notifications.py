"""The bell's notifications (posted by the backfill module): list and mark read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from shopify_backfill.backfill.notify import Notification, list_notifications, mark_read
from shopify_backfill.web.auth import ApiPrincipal, PagePrincipal
from shopify_backfill.web.context import Context, utcnow
from shopify_backfill.web.pages import redirect, render
from shopify_backfill.web.schemas import MarkRead

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["notifications"])


def _json(item: Notification) -> dict[str, Any]:
    return {
        "id": item.id,
        "backfill_id": item.backfill_id,
        "kind": item.kind,
        "level": item.level,
        "title": item.title,
        "body": item.body,
        "created_at": item.created_at.isoformat(),
        "read": not item.unread,
    }


@pages.get("/notifications")
def notifications_page(
    *,
    request: Request,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    with context.services.engine.connect() as conn:
        items = list_notifications(conn, principal.workspace_id)
    return render(request, context, principal, "notifications.html", items=items)


@pages.post("/notifications/read")
def mark_read_form(
    *,
    ids: Annotated[list[int] | None, Form()] = None,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    with context.services.engine.begin() as conn:
        mark_read(conn, principal.workspace_id, ids or None, now=utcnow())
    return redirect("/notifications?notice=read")


@api.get("/notifications", summary="Dashboard notifications, newest first")
def api_notifications(
    *,
    unread_only: bool = False,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    with context.services.engine.connect() as conn:
        items = list_notifications(conn, principal.workspace_id, unread_only=unread_only)
        unread = len(list_notifications(conn, principal.workspace_id, unread_only=True))
    return {"unread": unread, "notifications": [_json(item) for item in items]}


@api.post("/notifications/read", summary="Mark some (or all) notifications read")
def api_mark_read(
    *,
    body: MarkRead,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, int]:
    with context.services.engine.begin() as conn:
        marked = mark_read(conn, principal.workspace_id, body.ids, now=utcnow())
    return {"marked": marked}
