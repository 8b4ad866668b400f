"""Braze destinations: added from the wizard's destination step, listed by the API.

Adding is a page action only (the key is typed into the wizard and proven on Braze
there); the API lists the names that ``POST /stores/{id}/backfill`` accepts as its
``destination``. A failed Braze backfill's page takes a new key (a revoked key stops the
run, and the wizard is behind it by then), proven the same way, before **Resume**.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import SecretStr

from shopify_backfill.destinations.braze.packing import MAX_OBJECTS
from shopify_backfill.web import wizard
from shopify_backfill.web.auth import ApiPrincipal, PagePrincipal
from shopify_backfill.web.context import Context
from shopify_backfill.web.destinations import BrazeForm, add_braze, braze_choices, replace_key
from shopify_backfill.web.errors import Conflict, FieldError
from shopify_backfill.web.pages import redirect, render
from shopify_backfill.web.routes.stores import wizard_response
from shopify_backfill.web.stores import get_store

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["destinations"])


@pages.post("/stores/{store_id}/wizard/destinations")
def add_destination_form(
    *,
    store_id: int,
    request: Request,
    name: Annotated[str, Form()] = "",
    rest_endpoint: Annotated[str, Form()] = "",
    api_key: Annotated[str, Form()] = "",
    max_objects: Annotated[str, Form()] = str(MAX_OBJECTS),
    sms_group_id: Annotated[str, Form()] = "",
    principal: PagePrincipal,
    context: Context,
) -> Response:
    """Prove the key on Braze and store the destination, then back to the wizard with it
    chosen; a refusal shows on the form with the other values kept (never the key)."""
    with context.services.engine.connect() as conn:
        get_store(conn, principal.workspace_id, store_id)  # another workspace's: 404
    form = BrazeForm(
        name=name, rest_endpoint=rest_endpoint, max_objects=max_objects, sms_group_id=sms_group_id
    )
    try:
        target = add_braze(context, principal, form, SecretStr(api_key))
    except FieldError as error:
        return wizard_response(
            request,
            context,
            principal,
            store_id,
            kind="braze",
            errors={error.field or "form": error.message},
            values=form.echo(),
            status_code=error.status,
        )
    return redirect(
        f"/stores/{store_id}/wizard?backfill=on&destination={quote(target.name)}"
        "&notice=destination_added#destination"
    )


@pages.post("/backfills/{backfill_id}/destination/key")
def replace_key_form(
    *,
    backfill_id: int,
    request: Request,
    api_key: Annotated[str, Form()] = "",
    principal: PagePrincipal,
    context: Context,
) -> Response:
    """A new key for the failed backfill's Braze destination, proven on Braze first."""
    with context.services.engine.connect() as conn:
        row = wizard.backfill_of(conn, principal, backfill_id)  # another workspace's: 404
    if row.braze_destination_id is None or not wizard.resumable(context, row):
        raise Conflict(
            f"the backfill of {row.shop_domain} is {row.status_label}: its Braze key is "
            "replaced here only while it is stopped, before Resume"
        )
    try:
        replace_key(context, principal, row, SecretStr(api_key))
    except FieldError as error:
        view = wizard.status_of(context, principal, backfill_id)
        return render(
            request,
            context,
            principal,
            "backfill.html",
            view=view,
            key_error=error.message,
            status_code=error.status,
        )
    return redirect(f"/backfills/{backfill_id}?notice=key_replaced#resume")


@api.get("/destinations", summary="The workspace's Braze destinations (never their keys)")
def api_destinations(*, principal: ApiPrincipal, context: Context) -> dict[str, Any]:
    with context.services.engine.connect() as conn:
        found = braze_choices(conn, principal.workspace_id)
    return {"destinations": [choice.to_json() for choice in found]}
