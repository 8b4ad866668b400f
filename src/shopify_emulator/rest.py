"""Legacy REST reads: the resources a Shopify client calls first.

``shop.json`` (``rest_shop``), ``customers.json``/``orders.json`` lists with Link-header
cursor pagination, single ``customers/{id}.json``/``orders/{id}.json``, their
``count.json``, ``events.json`` (``rest_events``), a customer's addresses and an order's
fulfillments, refunds and transactions (``history``).

The resources are served from the same executor as GraphQL (one query per page, parsed
once), then reshaped into REST's JSON (``rest_shapes``). Every answer goes through
``guarded``: version, token, the request-count bucket (429 with ``Retry-After`` on
overflow, ``X-Shopify-Shop-Api-Call-Limit`` always) and the resource's scope, in
Shopify's order.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from graphql import DocumentNode, parse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shopify_emulator import history, rest_events, rest_shapes, rest_shop
from shopify_emulator.rest_params import (
    BadParamError,
    Listing,
    Resource,
    encode_page,
    parse_fields,
    parse_listing,
    search_terms,
    select_fields,
)
from shopify_emulator.shopify_errors import INVALID_TOKEN, NOT_FOUND, REST_THROTTLED

if TYPE_CHECKING:
    from shopify_emulator.runtime import EmulatorRuntime
    from shopify_emulator.tokens import Grant

SCOPES: dict[Resource, str] = {"customers": "read_customers", "orders": "read_orders"}
SELECTIONS: dict[Resource, str] = {"customers": rest_shapes.CUSTOMER, "orders": rest_shapes.ORDER}
SINGULAR: dict[Resource, str] = {"customers": "customer", "orders": "order"}


def _page_document(root: str, selection: str) -> DocumentNode:
    return parse(
        f"""query RestPage($first: Int, $last: Int, $after: String, $before: String,
                           $query: String, $sortKey: {_sort_type(root)}, $reverse: Boolean) {{
          page: {root}(first: $first, last: $last, after: $after, before: $before,
                       query: $query, sortKey: $sortKey, reverse: $reverse) {{
            edges {{ cursor node {{ {selection} }} }}
            pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
          }}
        }}"""
    )


def _sort_type(root: str) -> str:
    return "OrderSortKeys" if root == "orders" else "CustomerSortKeys"


PAGES: dict[Resource, DocumentNode] = {
    name: _page_document(name, selection) for name, selection in SELECTIONS.items()
}
SINGLES: dict[Resource, DocumentNode] = {
    name: parse(f"query RestOne($id: ID!) {{ one: {SINGULAR[name]}(id: $id) {{ {selection} }} }}")
    for name, selection in SELECTIONS.items()
}
COUNTS: dict[Resource, DocumentNode] = {
    name: parse(
        f"query RestCount($query: String) {{ n: {name}Count(query: $query, limit: null) "
        "{ count } }"
    )
    for name in SELECTIONS
}


def json_body(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status, media_type="application/json; charset=utf-8", headers=headers
    )


class Found(Exception):  # noqa: N818 - a control-flow answer, not an error
    """Raised inside a handler to answer with a ready response (a 404, usually)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


Work = Callable[["EmulatorRuntime", "Grant", Request], tuple[Any, list[str]]]


def guarded(scope: str | None, work: Work) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint running ``work`` on a worker thread behind Shopify's checks."""

    async def endpoint(request: Request) -> Response:
        runtime: EmulatorRuntime = request.app.state.runtime
        served = runtime.resolve_version(request.path_params["version"])
        if served is None:
            return json_body(NOT_FOUND, 404)
        grant = await run_in_threadpool(runtime.grant_for, request)
        if grant is None:
            return json_body(INVALID_TOKEN, 401)
        accepted, level, wait = runtime.requests.hit(grant.token)
        size = runtime.requests.size
        headers = {
            "X-Shopify-Shop-Api-Call-Limit": f"{min(size, math.ceil(level))}/{size}",
            "X-Shopify-API-Version": served,
        }
        throttled = runtime.faults.plan.force_throttle or not accepted
        runtime.answers.add("rest", throttled=throttled)
        if throttled:
            headers["Retry-After"] = f"{max(wait, 1.0):.1f}"
            headers["X-Shopify-Shop-Api-Call-Limit"] = f"{size}/{size}"
            return json_body(REST_THROTTLED, 429, headers)
        if scope is not None and not grant.allows(scope):
            message = f"[API] This action requires merchant approval for {scope} scope."
            return json_body({"errors": message}, 403, headers)
        try:
            body, links = await run_in_threadpool(work, runtime, grant, request)
        except BadParamError as error:
            return json_body({"errors": {error.name: error.message}}, 400, headers)
        except Found as answer:
            return json_body(answer.body, answer.status, headers)
        if links:
            headers["Link"] = ", ".join(links)
        return json_body(body, 200, headers)

    return endpoint


def _execute(
    runtime: EmulatorRuntime,
    grant: Grant,
    request: Request,
    document: DocumentNode,
    variables: dict[str, Any],
) -> dict[str, Any]:
    result = runtime.executor.execute(
        document,
        variables,
        orders_visible_since=runtime.visible_since(grant),
        extras={"base_url": str(request.base_url), "owner": grant.token},
    )
    if result.data is None:
        message = result.errors[0]["message"] if result.errors else "unknown error"
        raise BadParamError("query", message)
    return result.data


def _zone(runtime: EmulatorRuntime) -> ZoneInfo:
    return ZoneInfo(runtime.store.timezone)


def _histories(runtime: EmulatorRuntime, nodes: list[dict[str, Any]]) -> list[history.History]:
    """Each order's history, from all its stored line items (one query for the page)."""
    ids = [int(node["legacyResourceId"]) for node in nodes]
    items = runtime.store.line_items_for_orders(ids) if ids else {}
    return [
        history.order_history(node, [doc for _, doc in items.get(order_id, [])])
        for node, order_id in zip(nodes, ids, strict=True)
    ]


def shape(runtime: EmulatorRuntime, resource: Resource, nodes: list[dict[str, Any]]) -> list[Any]:
    zone = _zone(runtime)
    if resource == "customers":
        return [rest_shapes.customer(node, zone) for node in nodes]
    return [
        rest_shapes.order(node, found, zone)
        for node, found in zip(nodes, _histories(runtime, nodes), strict=True)
    ]


# --------------------------------------------------------------------------- lists


def _list(resource: Resource) -> Work:
    def work(
        runtime: EmulatorRuntime, grant: Grant, request: Request
    ) -> tuple[dict[str, Any], list[str]]:
        listing = parse_listing(resource, dict(request.query_params))
        variables: dict[str, Any] = {
            "query": listing.search,
            "sortKey": listing.sort_key,
            "reverse": listing.reverse,
        }
        if listing.cursor is None or listing.direction == "next":
            variables.update(first=listing.limit, after=listing.cursor)
        else:
            variables.update(last=listing.limit, before=listing.cursor)
        connection = _execute(runtime, grant, request, PAGES[resource], variables)["page"]
        nodes = [edge["node"] for edge in connection["edges"]]
        items = [select_fields(item, listing.fields) for item in shape(runtime, resource, nodes)]
        return {resource: items}, _links(request, listing, connection["pageInfo"])

    return work


def _links(request: Request, listing: Listing, info: dict[str, Any]) -> list[str]:
    base = f"{str(request.base_url).rstrip('/')}{request.url.path}"
    kept: dict[str, Any] = {"limit": listing.limit}
    if listing.fields is not None:
        kept["fields"] = ",".join(listing.fields)
    links = []
    if info["hasPreviousPage"] and info["startCursor"]:
        query = urlencode({**kept, "page_info": encode_page(listing, "prev", info["startCursor"])})
        links.append(f'<{base}?{query}>; rel="previous"')
    if info["hasNextPage"] and info["endCursor"]:
        query = urlencode({**kept, "page_info": encode_page(listing, "next", info["endCursor"])})
        links.append(f'<{base}?{query}>; rel="next"')
    return links


def _count(resource: Resource) -> Work:
    def work(
        runtime: EmulatorRuntime, grant: Grant, request: Request
    ) -> tuple[dict[str, Any], list[str]]:
        search = search_terms(resource, dict(request.query_params), counting=True)
        data = _execute(runtime, grant, request, COUNTS[resource], {"query": search})
        return {"count": int(data["n"]["count"])}, []

    return work


# --------------------------------------------------------------------------- one resource


NOT_FOUND_BODY = {"errors": "Not Found"}


def _one_node(
    runtime: EmulatorRuntime, grant: Grant, request: Request, resource: Resource
) -> dict[str, Any]:
    raw = str(request.path_params["id"])
    if not raw.isdigit():
        raise Found(404, NOT_FOUND_BODY)
    kind = "Customer" if resource == "customers" else "Order"
    gid = f"gid://shopify/{kind}/{raw}"
    node = _execute(runtime, grant, request, SINGLES[resource], {"id": gid})["one"]
    if node is None:
        raise Found(404, NOT_FOUND_BODY)
    found: dict[str, Any] = node
    return found


def _single(resource: Resource) -> Work:
    def work(
        runtime: EmulatorRuntime, grant: Grant, request: Request
    ) -> tuple[dict[str, Any], list[str]]:
        node = _one_node(runtime, grant, request, resource)
        item = shape(runtime, resource, [node])[0]
        fields = parse_fields(dict(request.query_params))
        return {SINGULAR[resource]: select_fields(item, fields)}, []

    return work


def _addresses(
    runtime: EmulatorRuntime, grant: Grant, request: Request
) -> tuple[dict[str, Any], list[str]]:
    customer = shape(runtime, "customers", [_one_node(runtime, grant, request, "customers")])[0]
    return {"addresses": customer["addresses"]}, []


def _order_part(key: str) -> Work:
    """``orders/{id}/fulfillments.json`` and friends: one list of the order's history."""

    def work(
        runtime: EmulatorRuntime, grant: Grant, request: Request
    ) -> tuple[dict[str, Any], list[str]]:
        node = _one_node(runtime, grant, request, "orders")
        found = _histories(runtime, [node])[0]
        order_id = rest_shapes.numeric_id(node["id"])
        zone = _zone(runtime)
        if key == "fulfillments":
            items = [rest_shapes.fulfillment(f, order_id, zone) for f in found.fulfillments]
        elif key == "refunds":
            items = [rest_shapes.refund(r, order_id, zone) for r in found.refunds]
        else:
            items = [rest_shapes.transaction(t, order_id, zone) for t in found.transactions]
        fields = parse_fields(dict(request.query_params))
        return {key: [select_fields(item, fields) for item in items]}, []

    return work


def not_found(request: Request, exc: Exception) -> Response:
    """Unknown routes under ``/admin`` answer as Shopify does: JSON
    ``{"errors": "Not Found"}`` (elsewhere Starlette's plain text stays)."""
    if request.url.path.startswith("/admin"):
        return json_body(NOT_FOUND_BODY, 404)
    return PlainTextResponse("Not Found", 404)


def routes() -> list[Route]:
    prefix = "/admin/api/{version}"

    def get(path: str, scope: str | None, work: Work) -> Route:
        return Route(prefix + path, guarded(scope, work), methods=["GET"])

    return [
        get("/shop.json", None, rest_shop.shop_work),
        get("/customers.json", "read_customers", _list("customers")),
        get("/customers/count.json", "read_customers", _count("customers")),
        get("/customers/{id}.json", "read_customers", _single("customers")),
        get("/customers/{id}/addresses.json", "read_customers", _addresses),
        get("/orders.json", "read_orders", _list("orders")),
        get("/orders/count.json", "read_orders", _count("orders")),
        get("/orders/{id}.json", "read_orders", _single("orders")),
        get("/orders/{id}/fulfillments.json", "read_orders", _order_part("fulfillments")),
        get("/orders/{id}/refunds.json", "read_orders", _order_part("refunds")),
        get("/orders/{id}/transactions.json", "read_orders", _order_part("transactions")),
        get("/events.json", None, rest_events.events_work),
        get("/events/count.json", None, rest_events.count_work),
    ]
