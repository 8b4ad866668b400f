"""The partner page: connected stores, connecting, re-authorizing, the backfill wizard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import SecretStr

from shopify_backfill.backfill.errors import BackfillStateError
from shopify_backfill.backfill.store import find_backfill
from shopify_backfill.campaigns.repository import list_campaigns
from shopify_backfill.live.state import RECONCILE_SENTENCE, read_live_sync
from shopify_backfill.shopify.errors import OAuthError
from shopify_backfill.web import wizard
from shopify_backfill.web.accounts import Principal
from shopify_backfill.web.auth import ApiPrincipal, PagePrincipal, require_session
from shopify_backfill.web.context import Context, WebContext, utcnow
from shopify_backfill.web.destinations import BrazeForm, braze_choices
from shopify_backfill.web.errors import FieldError
from shopify_backfill.web.limits import SHOP
from shopify_backfill.web.pages import redirect, render
from shopify_backfill.web.schemas import ConnectOAuth, ConnectToken, StartBackfill, StoreJson
from shopify_backfill.web.stores import (
    begin_oauth,
    cancel_oauth,
    checked_callback,
    complete_oauth,
    connect_advice,
    connect_with_token,
    get_store,
    list_stores,
)

DESTINATION_KINDS = ("", "embedded", "braze")
"""The wizard's destination choice; empty (a form without the step) is the profile store."""

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["stores"])


def _stores_page(
    request: Request,
    context: WebContext,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with context.services.engine.connect() as conn:
        stores = list_stores(conn, principal.workspace_id)
    return render(
        request,
        context,
        principal,
        "stores.html",
        stores=stores,
        errors=errors or {},
        values=values or {},
        status_code=status_code,
    )


@pages.get("/stores")
def stores_page(
    *,
    request: Request,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    return _stores_page(request, context, principal)


@pages.post("/stores/oauth")
def connect_oauth_form(
    *,
    request: Request,
    shop: Annotated[str, Form()] = "",
    principal: PagePrincipal,
    context: Context,
) -> Response:
    try:
        url = begin_oauth(context, principal, purpose="connect", shop=shop)
    except FieldError as error:
        return _stores_page(
            request,
            context,
            principal,
            errors={f"oauth_{error.field}": error.message},
            values={"oauth_shop": SHOP.echo(shop)},
            status_code=422,
        )
    return redirect(url)


@pages.post("/stores/token")
def connect_token_form(
    *,
    request: Request,
    shop: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    principal: PagePrincipal,
    context: Context,
) -> Response:
    try:
        store = connect_with_token(context, principal, shop, SecretStr(token))
    except FieldError as error:
        return _stores_page(
            request,
            context,
            principal,
            errors={f"token_{error.field}": error.message},
            values={"token_shop": SHOP.echo(shop)},  # the token itself is never sent back
            status_code=422,
        )
    return redirect(f"/stores/{store.id}?notice=connected")


@pages.get("/shopify/callback")
def oauth_callback(
    *,
    request: Request,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    params = dict(request.query_params)
    if params.get("error") == "access_denied":  # Cancel on Shopify's consent screen
        cancel_oauth(context, principal, params)
        return redirect("/stores?notice=connect_cancelled")
    try:
        checked_callback(params)
        result = complete_oauth(context, principal, params)
    except (OAuthError, FieldError) as error:
        reason = str(error)
        return render(
            request,
            context,
            principal,
            "error.html",
            status=400,
            title="The store was not connected",
            message=f"{reason[0].upper()}{reason[1:]}." if reason else "The callback was refused.",
            advice=connect_advice(error),
            field=None,
            status_code=400,
        )
    notice = "reauthorized" if result.purpose == "reauthorize" else "connected"
    return redirect(f"/stores/{result.store.id}?notice={notice}")


@pages.get("/stores/{store_id}")
def store_page(
    *,
    store_id: int,
    request: Request,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    with context.services.engine.connect() as conn:
        store = get_store(conn, principal.workspace_id, store_id)
        live = read_live_sync(
            conn, store.shop_domain, now=utcnow(), workspace_id=principal.workspace_id
        )
    return render(
        request,
        context,
        principal,
        "store.html",
        store=store,
        live=live,
        reconcile_sentence=RECONCILE_SENTENCE,
    )


@pages.post("/stores/{store_id}/reauthorize")
def reauthorize_form(
    *,
    store_id: int,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    return redirect(begin_oauth(context, principal, purpose="reauthorize", store_id=store_id))


def wizard_response(
    request: Request,
    context: WebContext,
    principal: Principal,
    store_id: int,
    *,
    enabled: bool = True,
    chosen: str | None = None,
    kind: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The wizard page (or where to go instead: the backfill once started, the store
    while it needs reauthorizing), with the destination step in the given state."""
    with context.services.engine.connect() as conn:
        store = get_store(conn, principal.workspace_id, store_id)
        row = find_backfill(conn, principal.workspace_id, store.shop_domain)
        choices = braze_choices(conn, principal.workspace_id)
    if row is not None and row.status != "not_started":
        return redirect(f"/backfills/{row.id}")
    if store.reauthorization_required:
        return redirect(f"/stores/{store_id}")
    preview = wizard.build_wizard(context, principal, store_id) if enabled else None
    if chosen not in {choice.name for choice in choices}:
        chosen = None
    return render(
        request,
        context,
        principal,
        "wizard.html",
        store=store,
        enabled=enabled,
        wiz=preview,
        braze_destinations=choices,
        destination_kind=kind or ("braze" if chosen or errors else "embedded"),
        chosen_destination=chosen,
        destination_errors=errors or {},
        destination_values=values or BrazeForm().echo(),
        status_code=status_code,
    )


@pages.get("/stores/{store_id}/wizard")
def wizard_page(
    *,
    store_id: int,
    request: Request,
    backfill: str | None = None,
    step: str | None = None,
    destination: str | None = None,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    if step == "enable" and backfill != "on":
        return redirect(f"/stores/{store_id}?notice=not_enabled")
    return wizard_response(
        request, context, principal, store_id, enabled=backfill == "on", chosen=destination
    )


@pages.post("/stores/{store_id}/wizard/fixes")
def apply_fixes_form(
    *,
    store_id: int,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    applied = wizard.apply_audit_fixes(context, principal, store_id)
    notice = "fixes_applied" if applied else "no_fixes"
    return redirect(f"/stores/{store_id}/wizard?backfill=on&notice={notice}#risk")


@pages.post("/stores/{store_id}/wizard/next")
def next_form(
    *,
    store_id: int,
    request: Request,
    enable: Annotated[str, Form()] = "",
    acknowledge_runs_once: Annotated[str, Form()] = "",
    destination_kind: Annotated[str, Form()] = "",
    destination: Annotated[str, Form()] = "",
    principal: PagePrincipal,
    context: Context,
) -> Response:
    if enable != "on":
        return redirect(f"/stores/{store_id}?notice=not_enabled")
    if destination_kind not in DESTINATION_KINDS:
        raise FieldError(
            "choose where the backfill goes: this platform's profile store or a Braze workspace",
            field="destination_kind",
        )
    name = destination.strip() if destination_kind == "braze" else None
    try:
        if name == "":
            raise FieldError(
                "Choose the Braze workspace to deliver to, or add one below.",
                field="destination",
            )
        row = wizard.start_backfill(
            context,
            principal,
            store_id,
            enable=True,
            acknowledge_runs_once=acknowledge_runs_once == "on",
            destination=name,
        )
    except FieldError as error:
        if error.field != "destination":
            raise
        return wizard_response(
            request,
            context,
            principal,
            store_id,
            kind="braze",
            errors={"destination": error.message},
            status_code=error.status,
        )
    except BackfillStateError:
        # A second click (or another tab) lost the race: show the one backfill there is.
        with context.services.engine.connect() as conn:
            store = get_store(conn, principal.workspace_id, store_id)
            existing = find_backfill(conn, principal.workspace_id, store.shop_domain)
        if existing is None:
            raise
        return redirect(f"/backfills/{existing.id}")
    return redirect(f"/backfills/{row.id}?notice=started")


# ----------------------------------------------------------------------------- JSON API


@api.get("/stores", summary="Connected stores with their backfill status and scopes")
def api_list_stores(*, principal: ApiPrincipal, context: Context) -> dict[str, Any]:
    with context.services.engine.connect() as conn:
        stores = list_stores(conn, principal.workspace_id)
    return {"stores": [store.to_json() for store in stores]}


@api.post("/stores", status_code=201, summary="Connect a store with a custom app's token")
def api_connect_token(
    *,
    body: ConnectToken,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    return connect_with_token(context, principal, body.shop, body.token).to_json()


@api.post("/stores/oauth", summary="Start connecting a store through Shopify OAuth")
def api_connect_oauth(
    *,
    body: ConnectOAuth,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, str]:
    """Returns the install URL to open in the same browser session (the state is bound to it)."""
    require_session(principal, "connecting through OAuth")
    return {"authorize_url": begin_oauth(context, principal, purpose="connect", shop=body.shop)}


@api.get(
    "/stores/{store_id}",
    response_model=StoreJson,
    summary="One store: status, granted and missing scopes, live sync",
)
def api_store(
    *,
    store_id: int,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    with context.services.engine.connect() as conn:
        store = get_store(conn, principal.workspace_id, store_id)
        live = read_live_sync(
            conn, store.shop_domain, now=utcnow(), workspace_id=principal.workspace_id
        )
    return {**store.to_json(), "live_sync": live.to_json()}


@api.post("/stores/{store_id}/reauthorize", summary="Re-grant the full scope list (OAuth)")
def api_reauthorize(
    *,
    store_id: int,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, str]:
    require_session(principal, "re-authorizing through OAuth")
    return {
        "authorize_url": begin_oauth(context, principal, purpose="reauthorize", store_id=store_id)
    }


@api.get("/stores/{store_id}/preview", summary="The wizard's preview and risk audit")
def api_preview(
    *,
    store_id: int,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    return wizard.build_wizard(context, principal, store_id).to_json()


@api.post("/stores/{store_id}/audit/fixes", summary="Apply every fix of the risk audit")
def api_apply_fixes(
    *,
    store_id: int,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    applied = wizard.apply_audit_fixes(context, principal, store_id)
    return {"applied": [fix.to_json() for fix in applied]}


@api.post("/stores/{store_id}/backfill", status_code=202, summary="Start the backfill (once)")
def api_start(
    *,
    store_id: int,
    body: StartBackfill,
    principal: ApiPrincipal,
    context: Context,
) -> JSONResponse:
    row = wizard.start_backfill(
        context,
        principal,
        store_id,
        enable=body.enable,
        acknowledge_runs_once=body.acknowledge_runs_once,
        destination=body.destination,
    )
    return JSONResponse(
        jsonable_encoder(wizard.status_of(context, principal, row.id)),
        status_code=202,
        headers={"Location": f"/api/v1/backfills/{row.id}"},
    )


@api.get("/campaigns", tags=["campaigns"], summary="The workspace's campaigns and Canvases")
def api_campaigns(*, principal: ApiPrincipal, context: Context) -> dict[str, Any]:
    with context.services.engine.connect() as conn:
        found = list_campaigns(conn, principal.workspace_id)
    return {
        "campaigns": [
            {
                "id": c.id,
                "name": c.name,
                "kind": c.kind,
                "status": c.status,
                "delivery": c.delivery,
                "trigger_type": c.trigger_type,
                "start_at": c.start_at.isoformat() if c.start_at else None,
                "end_at": c.end_at.isoformat() if c.end_at else None,
            }
            for c in found
        ]
    }
