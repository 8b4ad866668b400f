"""Admin routes that change the store and announce it: Shopify's webhook topics.

- ``POST /emulator/customers`` / ``POST /emulator/customers/{id}`` create or update a
  customer (``customers/create``, ``customers/update``);
- ``POST /emulator/orders`` / ``POST /emulator/orders/{id}`` create or update an order
  (``orders/create``, ``orders/updated``; a new order of a customer also moves the
  customer's order count and spend, hence ``customers/update``);
- ``POST /emulator/app/uninstall`` revokes every token and sends ``app/uninstalled``;
- ``POST /emulator/webhooks/privacy`` sends one of the app-level privacy topics
  (``customers/data_request``, ``customers/redact``, ``shop/redact``) to the app's
  privacy address, with Shopify's documented payloads;
- ``GET /emulator/webhooks`` shows every delivery attempt and its answer.

All need the ``X-Emulator-Admin`` header. Payloads are the REST resources
(``rest_shapes``), read through the executor like ``/admin/api/.../orders/{id}.json``.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shopify_backfill.errors import InputError
from shopify_emulator import rest, rest_shop, writes
from shopify_emulator.rest_params import Resource

if TYPE_CHECKING:
    from shopify_emulator.runtime import EmulatorRuntime

PRIVACY_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
_DATA_REQUEST_BASE = 9_000_000


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json; charset=utf-8")


def _refused(request: Request) -> Response | None:
    runtime: EmulatorRuntime = request.app.state.runtime
    supplied = request.headers.get("x-emulator-admin", "")
    if secrets.compare_digest(supplied, runtime.config.admin_secret):
        return None
    return _json({"errors": "X-Emulator-Admin header missing or wrong"}, 403)


async def _payload(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        value = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as error:
        raise InputError("the body must be a JSON object") from error
    if not isinstance(value, dict):
        raise InputError("the body must be a JSON object")
    return value


def rest_resource(runtime: EmulatorRuntime, resource: Resource, numeric_id: int) -> Any:
    """The REST JSON of one order or customer, as ``orders/{id}.json`` renders it."""
    kind = "Customer" if resource == "customers" else "Order"
    result = runtime.executor.execute(
        rest.SINGLES[resource],
        {"id": f"gid://shopify/{kind}/{numeric_id}"},
        extras={"base_url": "", "owner": ""},
    )
    node = (result.data or {}).get("one")
    if node is None:
        raise InputError(f"no {kind.lower()} {numeric_id}")
    return rest.shape(runtime, resource, [node])[0]


def announce(runtime: EmulatorRuntime, topic: str, payload: Any) -> int:
    """Queue ``topic`` for every subscribed address; returns how many were queued."""
    addresses = runtime.subscriptions.addresses(topic)
    if addresses:
        runtime.webhooks.publish(topic, payload, addresses)
    return len(addresses)


def _change(resource: Resource, creating: bool) -> Any:
    singular = rest.SINGULAR[resource]

    def work(runtime: EmulatorRuntime, payload: dict[str, Any], raw_id: str | None) -> Any:
        buyer: int | None = None
        if creating and resource == "customers":
            numeric = writes.create_customer(runtime.store, payload)
            topic = "customers/create"
        elif creating:
            numeric, buyer = writes.create_order(runtime.store, payload)
            topic = "orders/create"
        else:
            if raw_id is None or not raw_id.isdigit():
                return None
            numeric = int(raw_id)
            update = writes.update_customer if resource == "customers" else writes.update_order
            if not update(runtime.store, numeric, payload):
                return None
            topic = "customers/update" if resource == "customers" else "orders/updated"
        body = rest_resource(runtime, resource, numeric)
        announce(runtime, topic, body)
        if buyer is not None:
            announce(runtime, "customers/update", rest_resource(runtime, "customers", buyer))
        return {singular: body}

    async def endpoint(request: Request) -> Response:
        refused = _refused(request)
        if refused is not None:
            return refused
        runtime: EmulatorRuntime = request.app.state.runtime
        try:
            payload = await _payload(request)
            found = await run_in_threadpool(work, runtime, payload, request.path_params.get("id"))
        except InputError as error:
            return _json({"errors": str(error)}, 422)
        if found is None:
            return _json({"errors": "Not Found"}, 404)
        return _json(found, 201 if creating else 200)

    return endpoint


def privacy_payload(runtime: EmulatorRuntime, topic: str, customer_id: int | None) -> Any:
    """Shopify's documented body for a privacy topic (shopify.dev, "Privacy law compliance")."""
    shop_id = rest_shop.shop_json(runtime)["id"]
    base: dict[str, Any] = {"shop_id": shop_id, "shop_domain": runtime.store.shop_domain}
    if topic == "shop/redact":
        return base
    if customer_id is None:
        raise InputError(f"{topic} needs a customer_id")
    found = runtime.store.customer(customer_id)
    if found is None:
        raise InputError(f"no customer {customer_id}")
    order_ids = [
        row[0]
        for row in runtime.store.connection().execute(
            "SELECT id FROM orders WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
    ]
    customer = {"id": customer_id, "email": found.get("email"), "phone": found.get("phone")}
    if topic == "customers/redact":
        return {**base, "customer": customer, "orders_to_redact": order_ids}
    request_id = _DATA_REQUEST_BASE + len(runtime.webhooks.records())
    return {
        **base,
        "orders_requested": order_ids,
        "customer": customer,
        "data_request": {"id": request_id},
    }


async def send_privacy(request: Request) -> Response:
    """Send a privacy topic now: ``{"topic": "customers/redact", "customer_id": 1}``."""
    refused = _refused(request)
    if refused is not None:
        return refused
    runtime: EmulatorRuntime = request.app.state.runtime
    try:
        payload = await _payload(request)
        topic = payload.get("topic")
        if topic not in PRIVACY_TOPICS:
            raise InputError(f"topic must be one of {', '.join(PRIVACY_TOPICS)}")
        address = payload.get("address") or runtime.config.privacy_webhook_uri
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            raise InputError(
                "no privacy address: set EmulatorConfig.privacy_webhook_uri or give "
                '"address": "https://..."'
            )
        customer_id = writes.numeric_field(payload, "customer_id")
        body = await run_in_threadpool(privacy_payload, runtime, topic, customer_id)
    except InputError as error:
        return _json({"errors": str(error)}, 422)
    event_id = runtime.webhooks.publish(topic, body, [address])
    return _json({"topic": topic, "address": address, "event_id": event_id, "payload": body}, 202)


async def uninstall(request: Request) -> Response:
    """The merchant uninstalls the app: every token stops working, ``app/uninstalled`` goes out."""
    refused = _refused(request)
    if refused is not None:
        return refused
    runtime: EmulatorRuntime = request.app.state.runtime
    body = await run_in_threadpool(rest_shop.shop_json, runtime)
    queued = announce(runtime, "app/uninstalled", body)
    revoked = await run_in_threadpool(runtime.tokens.revoke_all)
    return _json({"revoked": revoked, "deliveries": queued})


async def deliveries(request: Request) -> Response:
    """Every delivery attempt so far, oldest first (``?topic=`` narrows it)."""
    refused = _refused(request)
    if refused is not None:
        return refused
    runtime: EmulatorRuntime = request.app.state.runtime
    records = runtime.webhooks.records()
    topic = request.query_params.get("topic")
    if topic:
        records = [record for record in records if record["topic"] == topic]
    return _json({"deliveries": records})


def routes() -> list[Route]:
    return [
        Route("/emulator/customers", _change("customers", True), methods=["POST"]),
        Route("/emulator/customers/{id}", _change("customers", False), methods=["POST", "PUT"]),
        Route("/emulator/orders", _change("orders", True), methods=["POST"]),
        Route("/emulator/orders/{id}", _change("orders", False), methods=["POST", "PUT"]),
        Route("/emulator/app/uninstall", uninstall, methods=["POST"]),
        Route("/emulator/webhooks/privacy", send_privacy, methods=["POST"]),
        Route("/emulator/webhooks", deliveries, methods=["GET"]),
    ]
