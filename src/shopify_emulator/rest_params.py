"""REST list and count parameters: parsed, validated, and turned into a search query.

The REST resources are served by the GraphQL executor, so every documented filter
becomes a term of the connection's search syntax (``financial_status=paid`` ->
``financial_status:paid``) and ``order=`` becomes a sort key. What Shopify rejects is
rejected here with its ``{"errors": {param: message}}`` 400; what Shopify ignores
(parameters it does not know, ``attribution_app_id`` values the store has no app for) is
ignored.

References: https://shopify.dev/docs/api/admin-rest/2026-07/resources/order#get-orders,
https://shopify.dev/docs/api/admin-rest/2026-07/resources/customer#get-customers,
https://shopify.dev/docs/api/usage/pagination-rest.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import orjson

Resource = Literal["orders", "customers"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 250
PAGE_INFO_COMPANIONS = frozenset({"page_info", "limit", "fields"})
"""With ``page_info``, Shopify accepts only ``limit`` and ``fields`` (pagination-rest)."""

TIME_FILTERS: dict[Resource, tuple[tuple[str, str, str], ...]] = {
    "customers": (
        ("created_at_min", "created_at", ">="),
        ("created_at_max", "created_at", "<="),
        ("updated_at_min", "updated_at", ">="),
        ("updated_at_max", "updated_at", "<="),
    ),
    "orders": (
        ("created_at_min", "created_at", ">="),
        ("created_at_max", "created_at", "<="),
        ("updated_at_min", "updated_at", ">="),
        ("updated_at_max", "updated_at", "<="),
        ("processed_at_min", "processed_at", ">="),
        ("processed_at_max", "processed_at", "<="),
    ),
}
ORDER_STATUSES = ("open", "closed", "cancelled", "any")
FINANCIAL_STATUSES: dict[str, tuple[str, ...]] = {
    "authorized": ("authorized",),
    "pending": ("pending",),
    "paid": ("paid",),
    "partially_paid": ("partially_paid",),
    "refunded": ("refunded",),
    "voided": ("voided",),
    "partially_refunded": ("partially_refunded",),
    "unpaid": ("authorized", "partially_paid", "pending"),
    "any": (),
}
"""REST ``financial_status`` -> the ``displayFinancialStatus`` values it selects."""
FULFILLMENT_STATUSES: dict[str, tuple[str, ...]] = {
    "shipped": ("fulfilled",),
    "partial": ("partial",),
    "unshipped": ("unshipped",),
    "unfulfilled": ("unshipped", "partial"),
    "any": (),
}
"""REST ``fulfillment_status`` -> GraphQL search values (``unfulfilled`` = unshipped or
partial, as the Order resource documents)."""
SORT_FIELDS: dict[Resource, dict[str, str]] = {
    "orders": {
        "id": "ID",
        "created_at": "CREATED_AT",
        "updated_at": "UPDATED_AT",
        "processed_at": "PROCESSED_AT",
    },
    "customers": {"id": "ID", "created_at": "CREATED_AT", "updated_at": "UPDATED_AT"},
}


class BadParamError(ValueError):
    """A parameter Shopify answers 400 for: ``{"errors": {name: message}}``."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(frozen=True)
class Listing:
    """What one list request asks for, in the executor's terms."""

    search: str
    sort_key: str
    reverse: bool
    limit: int
    fields: tuple[str, ...] | None
    direction: str = "next"
    cursor: str | None = None


def parse_limit(params: dict[str, str]) -> int:
    raw = params.get("limit", str(DEFAULT_LIMIT))
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParamError("limit", f"must be a number between 1 and {MAX_LIMIT}")
    return int(raw)


def parse_fields(params: dict[str, str]) -> tuple[str, ...] | None:
    """``fields=id,name``: the top-level keys to keep (``None``: all of them)."""
    raw = params.get("fields")
    if raw is None:
        return None
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    return names or None


def select_fields(item: dict[str, object], fields: tuple[str, ...] | None) -> dict[str, object]:
    """Keep only the requested keys; Shopify drops names it does not know silently."""
    if fields is None:
        return item
    return {name: item[name] for name in fields if name in item}


def parse_time(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise BadParamError(name, "must be an ISO 8601 time") from error
    return moment


def parse_order(resource: Resource, params: dict[str, str]) -> tuple[str, bool]:
    """``order=updated_at asc`` -> ``(UPDATED_AT, False)``.

    The documentation does not list ``order`` for these resources, but Shopify honours
    ``<field> asc|desc`` on them and ignores a value it cannot read (the default order
    applies); the emulator does the same. The default is ``id asc``: Shopify's cursor
    pages come back in id order when no ``order`` is given.
    """
    raw = params.get("order", "").strip().lower()
    if not raw:
        return "ID", False
    parts = raw.replace("+", " ").split()
    field = parts[0]
    direction = parts[1] if len(parts) > 1 else "asc"
    key = SORT_FIELDS[resource].get(field)
    if key is None or direction not in ("asc", "desc") or len(parts) > 2:
        return "ID", False
    return key, direction == "desc"


def _either(field: str, values: tuple[str, ...]) -> str:
    terms = [f"{field}:{value}" for value in values]
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def search_terms(resource: Resource, params: dict[str, str], *, counting: bool = False) -> str:
    """The documented filters of a list (or count) request as one search query."""
    terms: list[str] = []
    for param, field, comparator in TIME_FILTERS[resource]:
        if param in params:
            moment = parse_time(param, params[param])
            terms.append(f"{field}:{comparator}'{moment.isoformat()}'")
    if not counting:
        if "since_id" in params:
            if not params["since_id"].strip().isdigit():
                raise BadParamError("since_id", "must be a number")
            terms.append(f"id:>{params['since_id'].strip()}")
        if "ids" in params:
            ids = [part.strip() for part in params["ids"].split(",") if part.strip()]
            if not ids or not all(part.isdigit() for part in ids):
                raise BadParamError("ids", "must be a comma-separated list of numbers")
            terms.append(_either("id", tuple(ids)))
    if resource == "orders":
        status = params.get("status", "open").strip().lower()
        if status not in ORDER_STATUSES:
            raise BadParamError("status", "must be one of open, closed, cancelled, any")
        if status != "any":
            terms.append(f"status:{status}")
        for param, statuses in (
            ("financial_status", FINANCIAL_STATUSES),
            ("fulfillment_status", FULFILLMENT_STATUSES),
        ):
            term = _status_term(params, param, statuses)
            if term:
                terms.append(term)
    return " AND ".join(terms)


def _status_term(params: dict[str, str], param: str, statuses: dict[str, tuple[str, ...]]) -> str:
    """The search term of one order status filter (``""`` for ``any``, the default).

    The REST name (``shipped``) maps to the search values (``fulfilled``); the search
    field is named as the parameter, so one helper serves both order status filters.
    """
    value = params.get(param, "any").strip().lower()
    if value not in statuses:
        raise BadParamError(param, "must be one of " + ", ".join(statuses))
    return _either(param, statuses[value]) if statuses[value] else ""


def encode_page(listing: Listing, direction: str, cursor: str) -> str:
    raw = orjson.dumps(
        {
            "direction": direction,
            "cursor": cursor,
            "query": listing.search,
            "sort": listing.sort_key,
            "reverse": listing.reverse,
        }
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page(text: str) -> dict[str, object]:
    try:
        padded = text + "=" * (-len(text) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError) as error:
        raise BadParamError("page_info", "Invalid value.") from error
    if not isinstance(payload, dict) or payload.get("direction") not in ("next", "prev"):
        raise BadParamError("page_info", "Invalid value.")
    return payload


def parse_listing(resource: Resource, params: dict[str, str]) -> Listing:
    """A list request: either a first page (filters, order) or a ``page_info`` follow-up."""
    limit = parse_limit(params)
    fields = parse_fields(params)
    if "page_info" not in params:
        sort_key, reverse = parse_order(resource, params)
        return Listing(search_terms(resource, params), sort_key, reverse, limit, fields)
    extra = set(params) - PAGE_INFO_COMPANIONS
    if extra:
        raise BadParamError("page_info", f"cannot be combined with {', '.join(sorted(extra))}")
    page = _decode_page(params["page_info"])
    sort_key = str(page.get("sort") or "ID")
    if sort_key not in SORT_FIELDS[resource].values():
        raise BadParamError("page_info", "Invalid value.")
    return Listing(
        str(page.get("query") or ""),
        sort_key,
        bool(page.get("reverse")),
        limit,
        fields,
        str(page["direction"]),
        str(page.get("cursor") or ""),
    )
