"""Legacy REST reads: ``customers.json`` and ``orders.json`` with cursor pagination.

The REST resources are served from the same executor as GraphQL (one query per page,
parsed once), then reshaped into REST's JSON: snake_case keys, numeric ids, money as
strings, timestamps in the shop's zone. Pagination follows Shopify's ``page_info``
cursors in the ``Link`` header; the request-count bucket answers 429 with
``Retry-After`` when it overflows, and every answer carries
``X-Shopify-Shop-Api-Call-Limit``.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from graphql import DocumentNode, parse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shopify_emulator.shopify_errors import INVALID_TOKEN, NOT_FOUND, REST_THROTTLED

if TYPE_CHECKING:
    from shopify_emulator.runtime import EmulatorRuntime
    from shopify_emulator.tokens import Grant

DEFAULT_LIMIT = 50
MAX_LIMIT = 250

_ADDRESS = (
    "address1 address2 city province provinceCode country countryCodeV2 zip phone "
    "firstName lastName"
)
_CUSTOMER = f"""
  id legacyResourceId createdAt updatedAt firstName lastName state tags numberOfOrders note
  verifiedEmail taxExempt
  amountSpent {{ amount currencyCode }}
  defaultEmailAddress {{ emailAddress marketingState }}
  defaultPhoneNumber {{ phoneNumber }}
  defaultAddress {{ {_ADDRESS} }}
"""
_MONEY = "shopMoney { amount currencyCode }"
_ORDER = f"""
  id legacyResourceId name number createdAt updatedAt processedAt closedAt cancelledAt
  confirmed test email phone currencyCode tags discountCodes sourceName statusPageUrl
  totalPriceSet {{ {_MONEY} }}
  subtotalPriceSet {{ {_MONEY} }}
  totalDiscountsSet {{ {_MONEY} }}
  displayFinancialStatus displayFulfillmentStatus
  customer {{ {_CUSTOMER} }}
  shippingAddress {{ {_ADDRESS} }}
  billingAddress {{ {_ADDRESS} }}
  lineItems(first: 250) {{ nodes {{
    id name title quantity sku variantTitle vendor
    product {{ id }} variant {{ id }}
    originalUnitPriceSet {{ {_MONEY} }}
    customAttributes {{ key value }}
  }} }}
  shippingLines(first: 250) {{ nodes {{ title originalPriceSet {{ {_MONEY} }} }} }}
"""


def _page_document(root: str, selection: str) -> DocumentNode:
    return parse(
        f"""query RestPage($first: Int, $last: Int, $after: String, $before: String,
                           $query: String) {{
          page: {root}(first: $first, last: $last, after: $after, before: $before,
                       query: $query, sortKey: ID) {{
            edges {{ cursor node {{ {selection} }} }}
            pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
          }}
        }}"""
    )


class _Resource:
    """One REST resource: its GraphQL connection, required scope and page document."""

    def __init__(self, name: str, scope: str, selection: str) -> None:
        self.name = name
        self.scope = scope
        self.document = _page_document(name, selection)


CUSTOMERS = _Resource("customers", "read_customers", _CUSTOMER)
ORDERS = _Resource("orders", "read_orders", _ORDER)


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status, media_type="application/json; charset=utf-8", headers=headers
    )


def _runtime(request: Request) -> EmulatorRuntime:
    runtime: EmulatorRuntime = request.app.state.runtime
    return runtime


class _BadParamError(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _search(resource: _Resource, params: dict[str, str]) -> str:
    """Translate REST filters into the search syntax the GraphQL connection understands."""
    terms: list[str] = []
    for param, field, comparator in (
        ("created_at_min", "created_at", ">="),
        ("created_at_max", "created_at", "<="),
        ("updated_at_min", "updated_at", ">="),
        ("updated_at_max", "updated_at", "<="),
    ):
        if param in params:
            try:
                moment = datetime.fromisoformat(params[param].replace("Z", "+00:00"))
            except ValueError as error:
                raise _BadParamError(param, "must be an ISO 8601 time") from error
            terms.append(f"{field}:{comparator}'{moment.isoformat()}'")
    if "since_id" in params:
        if not params["since_id"].isdigit():
            raise _BadParamError("since_id", "must be a number")
        terms.append(f"id:>{params['since_id']}")
    if resource is ORDERS:
        status = params.get("status", "open")
        if status not in ("open", "closed", "cancelled", "any"):
            raise _BadParamError("status", "must be one of open, closed, cancelled, any")
        if status != "any":
            terms.append(f"status:{status}")
    return " AND ".join(terms)


def _encode_page(direction: str, cursor: str, search: str) -> str:
    raw = orjson.dumps({"direction": direction, "cursor": cursor, "query": search})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page(text: str) -> dict[str, str]:
    try:
        padded = text + "=" * (-len(text) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError) as error:
        raise _BadParamError("page_info", "Invalid value.") from error
    if not isinstance(payload, dict) or payload.get("direction") not in ("next", "prev"):
        raise _BadParamError("page_info", "Invalid value.")
    return {key: str(value) for key, value in payload.items()}


def _handler(resource: _Resource) -> Any:
    async def endpoint(request: Request) -> Response:
        runtime = _runtime(request)
        served = runtime.resolve_version(request.path_params["version"])
        if served is None:
            return _json(NOT_FOUND, 404)
        grant = await run_in_threadpool(runtime.grant_for, request)
        if grant is None:
            return _json(INVALID_TOKEN, 401)
        accepted, level, wait = runtime.requests.hit(grant.token)
        limit_header = f"{min(runtime.requests.size, math.ceil(level))}/{runtime.requests.size}"
        headers = {"X-Shopify-Shop-Api-Call-Limit": limit_header, "X-Shopify-API-Version": served}
        if runtime.faults.plan.force_throttle or not accepted:
            headers["Retry-After"] = f"{max(wait, 1.0):.1f}"
            headers["X-Shopify-Shop-Api-Call-Limit"] = (
                f"{runtime.requests.size}/{runtime.requests.size}"
            )
            return _json(REST_THROTTLED, 429, headers)
        if not grant.allows(resource.scope):
            message = f"[API] This action requires merchant approval for {resource.scope} scope."
            return _json({"errors": message}, 403, headers)
        try:
            body, links = await run_in_threadpool(
                _page, runtime, grant, resource, dict(request.query_params), request
            )
        except _BadParamError as error:
            return _json({"errors": {error.name: error.message}}, 400, headers)
        if links:
            headers["Link"] = ", ".join(links)
        return _json(body, 200, headers)

    return endpoint


def _page(
    runtime: EmulatorRuntime,
    grant: Grant,
    resource: _Resource,
    params: dict[str, str],
    request: Request,
) -> tuple[dict[str, Any], list[str]]:
    raw_limit = params.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise _BadParamError("limit", f"must be a number between 1 and {MAX_LIMIT}")
    limit = int(raw_limit)
    variables: dict[str, Any]
    if "page_info" in params:
        extra = set(params) - {"page_info", "limit", "fields"}
        if extra:
            raise _BadParamError("page_info", f"cannot be combined with {', '.join(sorted(extra))}")
        page = _decode_page(params["page_info"])
        search = page["query"]
        if page["direction"] == "next":
            variables = {"first": limit, "after": page["cursor"], "query": search}
        else:
            variables = {"last": limit, "before": page["cursor"], "query": search}
    else:
        search = _search(resource, params)
        variables = {"first": limit, "query": search}
    result = runtime.executor.execute(
        resource.document,
        variables,
        orders_visible_since=runtime.visible_since(grant),
        extras={"base_url": str(request.base_url), "owner": grant.token},
    )
    if result.data is None:
        message = result.errors[0]["message"] if result.errors else "unknown error"
        raise _BadParamError("query", message)
    connection = result.data["page"]
    zone = ZoneInfo(runtime.store.timezone)
    shape = _order if resource is ORDERS else _customer
    items = [shape(edge["node"], zone) for edge in connection["edges"]]
    info = connection["pageInfo"]
    base = f"{str(request.base_url).rstrip('/')}{request.url.path}"
    links = []
    if info["hasPreviousPage"] and info["startCursor"]:
        query = urlencode(
            {"limit": limit, "page_info": _encode_page("prev", info["startCursor"], search)}
        )
        links.append(f'<{base}?{query}>; rel="previous"')
    if info["hasNextPage"] and info["endCursor"]:
        query = urlencode(
            {"limit": limit, "page_info": _encode_page("next", info["endCursor"], search)}
        )
        links.append(f'<{base}?{query}>; rel="next"')
    return {resource.name: items}, links


# --------------------------------------------------------------------------- shapes


def _time(value: str | None, zone: ZoneInfo) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(zone).isoformat()


def _id(gid: str | None) -> int | None:
    return int(gid.rsplit("/", 1)[1]) if gid else None


def _money(bag: dict[str, Any] | None) -> str | None:
    return None if bag is None else str(bag["shopMoney"]["amount"])


def _address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "first_name": value.get("firstName"),
        "last_name": value.get("lastName"),
        "address1": value.get("address1"),
        "address2": value.get("address2"),
        "city": value.get("city"),
        "province": value.get("province"),
        "province_code": value.get("provinceCode"),
        "country": value.get("country"),
        "country_code": value.get("countryCodeV2"),
        "zip": value.get("zip"),
        "phone": value.get("phone"),
    }


_EMAIL_STATES = {"SUBSCRIBED": "subscribed", "NOT_SUBSCRIBED": "not_subscribed"}


def _customer(node: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    email = node.get("defaultEmailAddress") or {}
    phone = node.get("defaultPhoneNumber") or {}
    spent = node.get("amountSpent") or {}
    state = email.get("marketingState")
    return {
        "id": _id(node["id"]),
        "email": email.get("emailAddress"),
        "created_at": _time(node.get("createdAt"), zone),
        "updated_at": _time(node.get("updatedAt"), zone),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "orders_count": int(node.get("numberOfOrders") or 0),
        "state": str(node.get("state", "")).lower(),
        "total_spent": spent.get("amount"),
        "note": node.get("note"),
        "verified_email": node.get("verifiedEmail"),
        "tax_exempt": node.get("taxExempt"),
        "tags": ", ".join(node.get("tags") or []),
        "currency": spent.get("currencyCode"),
        "phone": phone.get("phoneNumber"),
        "email_marketing_consent": (
            {"state": _EMAIL_STATES.get(state, str(state).lower())} if state else None
        ),
        "admin_graphql_api_id": node["id"],
        "default_address": _address(node.get("defaultAddress")),
    }


def _order(node: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    customer = node.get("customer")
    return {
        "id": _id(node["id"]),
        "admin_graphql_api_id": node["id"],
        "name": node.get("name"),
        "order_number": node.get("number"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "created_at": _time(node.get("createdAt"), zone),
        "updated_at": _time(node.get("updatedAt"), zone),
        "processed_at": _time(node.get("processedAt"), zone),
        "closed_at": _time(node.get("closedAt"), zone),
        "cancelled_at": _time(node.get("cancelledAt"), zone),
        "confirmed": node.get("confirmed"),
        "test": node.get("test"),
        "currency": node.get("currencyCode"),
        "total_price": _money(node.get("totalPriceSet")),
        "subtotal_price": _money(node.get("subtotalPriceSet")),
        "total_discounts": _money(node.get("totalDiscountsSet")),
        "financial_status": str(node.get("displayFinancialStatus") or "").lower() or None,
        "fulfillment_status": _fulfillment(node.get("displayFulfillmentStatus")),
        "tags": ", ".join(node.get("tags") or []),
        "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        "source_name": node.get("sourceName"),
        "order_status_url": node.get("statusPageUrl"),
        "customer": _customer(customer, zone) if customer else None,
        "billing_address": _address(node.get("billingAddress")),
        "shipping_address": _address(node.get("shippingAddress")),
        "line_items": [_line_item(item) for item in node["lineItems"]["nodes"]],
        "shipping_lines": [
            {"title": line.get("title"), "price": _money(line.get("originalPriceSet"))}
            for line in node["shippingLines"]["nodes"]
        ],
    }


def _fulfillment(value: str | None) -> str | None:
    """REST says ``null`` for unfulfilled orders and lower-case words otherwise."""
    if value in (None, "UNFULFILLED"):
        return None
    return {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(value, value.lower())


def _line_item(item: dict[str, Any]) -> dict[str, Any]:
    product = item.get("product") or {}
    variant = item.get("variant") or {}
    return {
        "id": _id(item["id"]),
        "admin_graphql_api_id": item["id"],
        "name": item.get("name"),
        "title": item.get("title"),
        "quantity": item.get("quantity"),
        "sku": item.get("sku"),
        "variant_title": item.get("variantTitle"),
        "vendor": item.get("vendor"),
        "product_id": _id(product.get("id")),
        "variant_id": _id(variant.get("id")),
        "price": _money(item.get("originalUnitPriceSet")),
        "properties": [
            {"name": attribute["key"], "value": attribute["value"]}
            for attribute in item.get("customAttributes") or []
        ],
    }


def routes() -> list[Route]:
    return [
        Route("/admin/api/{version}/customers.json", _handler(CUSTOMERS), methods=["GET"]),
        Route("/admin/api/{version}/orders.json", _handler(ORDERS), methods=["GET"]),
    ]
