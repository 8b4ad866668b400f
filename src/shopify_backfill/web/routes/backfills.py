"""A backfill's page: live progress (Server-Sent Events), report, resume; and its API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response, StreamingResponse

from shopify_backfill.backfill.store import list_backfills
from shopify_backfill.web import profiles, wizard
from shopify_backfill.web.auth import ApiPrincipal, PagePrincipal
from shopify_backfill.web.context import Context
from shopify_backfill.web.events import progress_stream
from shopify_backfill.web.pages import redirect, render

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["backfills"])


@pages.get("/backfills/{backfill_id}")
def backfill_page(
    *,
    backfill_id: int,
    request: Request,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    view = wizard.status_of(context, principal, backfill_id)
    after = profiles.after_completed(context, principal, backfill_id)
    return render(request, context, principal, "backfill.html", view=view, after=after)


@pages.post("/backfills/{backfill_id}/resume")
def resume_form(
    *,
    backfill_id: int,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    wizard.resume_backfill(context, principal, backfill_id)
    return redirect(f"/backfills/{backfill_id}?notice=resumed")


@pages.post("/backfills/{backfill_id}/campaigns/resume")
def resume_campaigns_form(
    *,
    backfill_id: int,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    wizard.resume_campaigns(context, principal, backfill_id)
    return redirect(f"/backfills/{backfill_id}?notice=campaigns_resumed")


@api.get("/backfills", summary="The workspace's backfills")
def api_backfills(*, principal: ApiPrincipal, context: Context) -> dict[str, Any]:
    with context.services.engine.connect() as conn:
        rows = list_backfills(conn, principal.workspace_id)
    return {
        "backfills": [
            {
                "id": row.id,
                "store_id": row.connection_id,
                "shop": row.shop_domain,
                "status": row.status,
                "status_label": row.status_label,
            }
            for row in rows
        ]
    }


@api.get("/backfills/{backfill_id}", summary="Status, progress, rate, ETA and report")
def api_backfill(
    *,
    backfill_id: int,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    return wizard.status_of(context, principal, backfill_id)


@api.get(
    "/backfills/{backfill_id}/events",
    summary="Live progress as Server-Sent Events (text/event-stream)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def api_events(
    *,
    backfill_id: int,
    request: Request,
    principal: ApiPrincipal,
    context: Context,
) -> StreamingResponse:
    """``progress`` events while it runs, then one ``end`` event; read from the database."""
    wizard.status_of(context, principal, backfill_id)  # 404 before streaming anything

    def read() -> dict[str, Any]:
        view: dict[str, Any] = jsonable_encoder(wizard.status_of(context, principal, backfill_id))
        return view

    return StreamingResponse(
        progress_stream(request, read),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )


@api.post("/backfills/{backfill_id}/resume", status_code=202, summary="Resume from checkpoint")
def api_resume(
    *,
    backfill_id: int,
    principal: ApiPrincipal,
    context: Context,
) -> JSONResponse:
    wizard.resume_backfill(context, principal, backfill_id)
    return JSONResponse(
        jsonable_encoder(wizard.status_of(context, principal, backfill_id)), status_code=202
    )


@api.post(
    "/backfills/{backfill_id}/campaigns/resume",
    summary="Resume the campaigns the risk audit paused (after completion)",
)
def api_resume_campaigns(
    *,
    backfill_id: int,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    resolved = wizard.resume_campaigns(context, principal, backfill_id)
    return {"resolved": [fix.to_json() for fix in resolved]}
