"""The wizard's risk handling: switching the risk mode, one fix per campaign, undo.

Pages: a form posts, the page redirects back to the wizard (which runs the preview and
the audit again, under the new mode or with the fix applied). Choosing a fix goes
through a confirmation page that says what will happen before anything is changed.
Every service is in ``web/risk.py``; another workspace's store, campaign or fix is 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from shopify_backfill.web import risk
from shopify_backfill.web.auth import ApiPrincipal, PagePrincipal
from shopify_backfill.web.context import Context
from shopify_backfill.web.pages import redirect, render
from shopify_backfill.web.schemas import ChooseFix, SwitchRiskMode

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["stores"])

MODE_NOTICES = {"silent": "mode_silent", "seed_compatible": "mode_seed_compatible"}


def _wizard(store_id: int, notice: str) -> Response:
    return redirect(f"/stores/{store_id}/wizard?backfill=on&notice={notice}#risk")


@pages.post("/stores/{store_id}/wizard/risk-mode")
def switch_mode_form(
    *,
    store_id: int,
    mode: Annotated[str, Form()] = "",
    principal: PagePrincipal,
    context: Context,
) -> Response:
    chosen = risk.parse_mode(mode)
    changed = risk.switch_mode(context, principal, store_id, chosen)
    return _wizard(store_id, MODE_NOTICES[chosen] if changed else "mode_unchanged")


@pages.get("/stores/{store_id}/wizard/campaigns/{campaign_id}/fix")
def confirm_fix_page(
    *,
    store_id: int,
    campaign_id: int,
    request: Request,
    action: str = "",
    principal: PagePrincipal,
    context: Context,
) -> Response:
    confirmation = risk.confirmation(
        context, principal, store_id, campaign_id, risk.parse_choice(action)
    )
    return render(
        request,
        context,
        principal,
        "risk_confirm.html",
        confirm=confirmation,
        store=confirmation.store,
    )


@pages.post("/stores/{store_id}/wizard/campaigns/{campaign_id}/fix")
def apply_fix_form(
    *,
    store_id: int,
    campaign_id: int,
    action: Annotated[str, Form()] = "",
    principal: PagePrincipal,
    context: Context,
) -> Response:
    choice = risk.parse_choice(action)
    applied = risk.apply_choice(context, principal, store_id, campaign_id, choice)
    return _wizard(store_id, "fix_applied" if applied is not None else "campaign_left")


@pages.post("/stores/{store_id}/wizard/fixes/{fix_id}/undo")
def undo_fix_form(
    *,
    store_id: int,
    fix_id: int,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    undone = risk.undo(context, principal, store_id, fix_id)
    return _wizard(
        store_id, "fix_undone" if undone.resolution != "changed_meanwhile" else "fix_stale"
    )


@api.post(
    "/stores/{store_id}/risk-mode", summary="Switch the workspace's risk mode (before the backfill)"
)
def api_switch_mode(
    *,
    store_id: int,
    body: SwitchRiskMode,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    chosen = risk.parse_mode(body.mode)
    changed = risk.switch_mode(context, principal, store_id, chosen)
    return {"mode": chosen, "changed": changed}


@api.post(
    "/stores/{store_id}/audit/campaigns/{campaign_id}/fix",
    summary="Apply one campaign's chosen fix (move_start, pause or leave)",
)
def api_apply_fix(
    *,
    store_id: int,
    campaign_id: int,
    body: ChooseFix,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    applied = risk.apply_choice(
        context, principal, store_id, campaign_id, risk.parse_choice(body.action)
    )
    return {"applied": None if applied is None else applied.to_json()}


@api.post(
    "/stores/{store_id}/audit/fixes/{fix_id}/undo",
    summary="Undo one applied fix (before the backfill starts)",
)
def api_undo_fix(
    *,
    store_id: int,
    fix_id: int,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    return {"undone": risk.undo(context, principal, store_id, fix_id).to_json()}
