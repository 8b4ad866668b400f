"""The imported profiles (list, search, one profile) and a backfill's buyers segment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shopify_backfill.web import profiles
from shopify_backfill.web.accounts import Principal
from shopify_backfill.web.auth import ApiPrincipal, PagePrincipal
from shopify_backfill.web.context import Context, WebContext
from shopify_backfill.web.errors import FieldError
from shopify_backfill.web.limits import MAX_PAGE, PROFILE_SEARCH
from shopify_backfill.web.pages import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["profiles"])

Search = Annotated[str, Query(description="Email (or part of it), phone or Shopify customer id")]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="From 1")]


def _list_page(
    request: Request,
    context: WebContext,
    principal: Principal,
    q: str,
    page: int,
    backfill_id: int | None = None,
) -> Response:
    segment: dict[str, Any] | None = None
    try:
        if backfill_id is None:
            found = profiles.list_profiles(context, principal, q, page)
        else:
            segment, found = profiles.list_segment(context, principal, backfill_id, q, page)
    except FieldError as error:
        return render(
            request,
            context,
            principal,
            "profiles.html",
            found=None,
            segment=None,
            q=PROFILE_SEARCH.echo(q),
            error=error.message,
            status_code=422,
        )
    return render(
        request,
        context,
        principal,
        "profiles.html",
        found=found,
        segment=segment,
        q=q,
        error=None,
    )


@pages.get("/profiles")
def profiles_page(
    *,
    request: Request,
    principal: PagePrincipal,
    context: Context,
    q: Search = "",
    page: PageNumber = 1,
) -> Response:
    return _list_page(request, context, principal, q, page)


@pages.get("/backfills/{backfill_id}/segments/bought-in-window")
def segment_page(
    *,
    backfill_id: int,
    request: Request,
    principal: PagePrincipal,
    context: Context,
    q: Search = "",
    page: PageNumber = 1,
) -> Response:
    return _list_page(request, context, principal, q, page, backfill_id)


@pages.get("/profiles/{profile_id}")
def profile_page(
    *,
    profile_id: int,
    request: Request,
    principal: PagePrincipal,
    context: Context,
) -> Response:
    found = profiles.get_profile(context, principal, profile_id)
    return render(request, context, principal, "profile.html", profile=found)


@api.get("/profiles", summary="The workspace's profiles, searched and paginated")
def api_profiles(
    *, principal: ApiPrincipal, context: Context, q: Search = "", page: PageNumber = 1
) -> dict[str, Any]:
    return profiles.page_json(profiles.list_profiles(context, principal, q, page))


@api.get("/profiles/{profile_id}", summary="One profile: attributes, subscriptions, events")
def api_profile(*, profile_id: int, principal: ApiPrincipal, context: Context) -> dict[str, Any]:
    return profiles.detail_json(profiles.get_profile(context, principal, profile_id))


@api.get(
    "/backfills/{backfill_id}/segments/bought-in-window",
    summary="The profiles that bought in the backfill's window",
)
def api_segment(
    *,
    backfill_id: int,
    principal: ApiPrincipal,
    context: Context,
    q: Search = "",
    page: PageNumber = 1,
) -> dict[str, Any]:
    segment, found = profiles.list_segment(context, principal, backfill_id, q, page)
    return {"segment": segment, **profiles.page_json(found)}
