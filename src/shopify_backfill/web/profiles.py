"""The pages after Completed: the imported profiles, one profile, the window's buyers.

Thin over ``profiles.browse`` (which holds every query): this module checks who asks
(the principal's workspace, never a parameter), bounds the inputs (``limits.py``), and
turns the store's records into what the templates and the JSON API show.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from shopify_backfill.backfill.links import (
    PROFILES_PATH,
    segment_name,
    segment_path,
    window_days,
)
from shopify_backfill.backfill.states import COMPLETED
from shopify_backfill.backfill.store import BackfillRow
from shopify_backfill.profiles.browse import (
    ProfileDetail,
    ProfilePage,
    ProfileRow,
    profile_detail,
    search_profiles,
    segment_size,
)
from shopify_backfill.web.accounts import Principal
from shopify_backfill.web.context import WebContext
from shopify_backfill.web.errors import NotFound
from shopify_backfill.web.limits import PROFILE_SEARCH
from shopify_backfill.web.wizard import backfill_of


def _with_segment(row: BackfillRow) -> bool:
    """Completed into this platform's profile store: a Braze backfill's profiles are in
    Braze, not in the workspace's store, so there is nothing here to list for it."""
    return row.status == COMPLETED and row.braze_destination_id is None


def after_completed(
    context: WebContext, principal: Principal, backfill_id: int
) -> dict[str, Any] | None:
    """The report's links to the profiles and the segment (with its size), or ``None``."""
    with context.services.engine.connect() as conn:
        row = backfill_of(conn, principal, backfill_id)
        if not _with_segment(row):
            return None
        size = segment_size(conn, principal.workspace_id, row.window)
    return {
        "profiles_url": PROFILES_PATH,
        "segment": {
            "name": segment_name(row.window),
            "days": window_days(row.window),
            "size": size,
            "url": segment_path(backfill_id),
        },
    }


def list_profiles(context: WebContext, principal: Principal, query: str, page: int) -> ProfilePage:
    """A page of the workspace's profiles; a too-long search is a ``FieldError``."""
    PROFILE_SEARCH.check(query)
    with context.services.engine.connect() as conn:
        return search_profiles(conn, principal.workspace_id, query, page=page)


def list_segment(
    context: WebContext, principal: Principal, backfill_id: int, query: str, page: int
) -> tuple[dict[str, Any], ProfilePage]:
    """The segment of ``backfill_id`` (404 for another workspace's or one without it)."""
    PROFILE_SEARCH.check(query)
    with context.services.engine.connect() as conn:
        row = backfill_of(conn, principal, backfill_id)
        if not _with_segment(row):
            raise NotFound(
                f"the backfill of {row.shop_domain} has no profile segment: it is "
                f"{row.status_label}"
                + (" and was delivered to Braze" if row.braze_destination_id else "")
            )
        found = search_profiles(conn, principal.workspace_id, query, page=page, segment=row.window)
    segment = {
        "backfill_id": backfill_id,
        "shop": row.shop_domain,
        "name": segment_name(row.window),
        "window": {"start": row.window.start, "end": row.window.end},
        "size": found.total if not query.strip() else None,
        "url": segment_path(backfill_id),
    }
    return segment, found


def get_profile(context: WebContext, principal: Principal, profile_id: int) -> ProfileDetail:
    with context.services.engine.connect() as conn:
        found = profile_detail(conn, principal.workspace_id, profile_id)
    if found is None:
        raise NotFound(f"profile {profile_id} not found")
    return found


def row_json(row: ProfileRow) -> dict[str, Any]:
    return {**asdict(row), "url": f"{PROFILES_PATH}/{row.id}"}


def page_json(found: ProfilePage) -> dict[str, Any]:
    return {
        "profiles": [row_json(row) for row in found.rows],
        "page": found.page,
        "pages": found.pages,
        "page_size": found.page_size,
        "total": found.total,
    }


def detail_json(found: ProfileDetail) -> dict[str, Any]:
    return {
        "profile": row_json(found.row),
        "attributes": found.attributes,
        "aliases": found.aliases,
        "subscriptions": found.subscriptions,
        "events": found.events,
        "events_total": found.events_total,
        "purchases": found.purchases,
        "purchases_total": found.purchases_total,
    }
