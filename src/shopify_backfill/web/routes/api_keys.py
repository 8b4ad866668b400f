"""Per-workspace API keys: created from a logged-in session, shown once, revocable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from shopify_backfill.web.accounts import (
    Principal,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from shopify_backfill.web.auth import ApiPrincipal, PagePrincipal, require_session
from shopify_backfill.web.context import Context, WebContext, utcnow
from shopify_backfill.web.errors import FieldError
from shopify_backfill.web.limits import KEY_NAME
from shopify_backfill.web.pages import redirect, render
from shopify_backfill.web.schemas import NewApiKey

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["api keys"])


def _page(
    request: Request,
    context: WebContext,
    principal: Principal,
    *,
    created: str | None = None,
    error: str | None = None,
    name: str = "",
    status_code: int = 200,
) -> Response:
    with context.services.engine.connect() as conn:
        keys = list_api_keys(conn, principal.workspace_id)
    return render(
        request,
        context,
        principal,
        "api_keys.html",
        keys=keys,
        created=created,
        error=error,
        name=name,
        status_code=status_code,
    )


@pages.get("/settings/api-keys")
def keys_page(
    *,
    request: Request,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    return _page(request, context, principal)


@pages.post("/settings/api-keys")
def create_key_form(
    *,
    request: Request,
    name: Annotated[str, Form()] = "",
    principal: PagePrincipal,
    context: Context,
) -> Response:
    try:
        with context.services.engine.begin() as conn:
            _, secret = create_api_key(conn, principal.workspace_id, name, now=utcnow())
    except FieldError as error:
        return _page(
            request,
            context,
            principal,
            error=error.message,
            name=KEY_NAME.echo(name),
            status_code=422,
        )
    return _page(request, context, principal, created=secret, status_code=201)


@pages.post("/settings/api-keys/{key_id}/revoke")
def revoke_key_form(
    *,
    key_id: int,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    with context.services.engine.begin() as conn:
        revoke_api_key(conn, principal.workspace_id, key_id, now=utcnow())
    return redirect("/settings/api-keys?notice=key_revoked")


@api.get("/api-keys", summary="The workspace's API keys (never their secret)")
def api_list_keys(*, principal: ApiPrincipal, context: Context) -> dict[str, Any]:
    with context.services.engine.connect() as conn:
        keys = list_api_keys(conn, principal.workspace_id)
    return {"api_keys": [key.to_json() for key in keys]}


@api.post("/api-keys", status_code=201, summary="Create an API key; its secret is shown once")
def api_create_key(
    *,
    body: NewApiKey,
    principal: ApiPrincipal,
    context: Context,
) -> dict[str, Any]:
    require_session(principal, "creating an API key")
    with context.services.engine.begin() as conn:
        key, secret = create_api_key(conn, principal.workspace_id, body.name, now=utcnow())
    return {**key.to_json(), "secret": secret}


@api.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
def api_revoke_key(
    *,
    key_id: int,
    principal: ApiPrincipal,
    context: Context,
) -> Response:
    with context.services.engine.begin() as conn:
        revoke_api_key(conn, principal.workspace_id, key_id, now=utcnow())
    return Response(status_code=204)
