"""Webhooks as Shopify sends them: subscriptions over GraphQL, signed deliveries to a real
local HTTP server, retries, the duplicate/reorder/drop faults and the privacy topics."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema

from emulator_fixtures import ADMIN_SECRET, EmulatorHandle, fixture_config, start_emulator
from shopify_emulator.config import FaultPlan

SECRET = "emulator-app-secret"
CREATE = """
mutation Create($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription {
      id topic uri format
      endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } }
    }
    userErrors { field message }
  }
}
"""
LIST = """
{ webhookSubscriptions(first: 10) {
    nodes { id topic uri callbackUrl apiVersion { handle } }
    pageInfo { hasNextPage }
} }
"""
DELETE = """
mutation Delete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""
HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-API-Version",
    "X-Shopify-Triggered-At",
)


@dataclass
class Receiver:
    """A real HTTP server recording every POST; ``answers`` scripts the status codes."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    stall_first: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        with self.lock:
            return list(self.received)


@contextlib.contextmanager
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            target = box[0]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with target.lock:
                target.received.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                index = len(target.received) - 1
                status = target.answers[index] if index < len(target.answers) else 200
                stall = target.stall_first if index == 0 else 0.0
            if stall:
                time.sleep(stall)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the emulator gave up waiting (the timeout test)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def emulator_with(schema: GraphQLSchema, **config: Any) -> Iterator[EmulatorHandle]:
    values: dict[str, Any] = {"webhook_retry_delays_seconds": (0.05, 0.1)}
    values.update(config)
    with start_emulator(schema, customers=6, orders=10, config=fixture_config(**values)) as handle:
        yield handle


def client(handle: EmulatorHandle) -> httpx.Client:
    return httpx.Client(
        transport=handle.transport,
        base_url=handle.base_url,
        headers={"X-Shopify-Access-Token": handle.token, "X-Emulator-Admin": ADMIN_SECRET},
    )


def graphql(handle: EmulatorHandle, query: str, **variables: Any) -> dict[str, Any]:
    with client(handle) as http:
        response = http.post(handle.graphql_path, json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def subscribe(handle: EmulatorHandle, topic: str, uri: str) -> dict[str, Any]:
    payload: dict[str, Any] = graphql(handle, CREATE, topic=topic, uri=uri)["data"][
        "webhookSubscriptionCreate"
    ]
    return payload


def admin(handle: EmulatorHandle, path: str, body: Any | None = None) -> httpx.Response:
    with client(handle) as http:
        return http.post(path, json=body if body is not None else {})


# --------------------------------------------------------------------------- subscriptions


def test_subscriptions_are_created_listed_refused_twice_and_deleted(
    admin_schema: GraphQLSchema,
) -> None:
    with emulator_with(admin_schema) as handle:
        created = subscribe(handle, "ORDERS_CREATE", "https://hooks.example.com/orders")
        assert created["userErrors"] == []
        sub = created["webhookSubscription"]
        assert sub["id"].startswith("gid://shopify/WebhookSubscription/")
        assert sub["topic"] == "ORDERS_CREATE"
        assert sub["endpoint"] == {
            "__typename": "WebhookHttpEndpoint",
            "callbackUrl": "https://hooks.example.com/orders",
        }
        again = subscribe(handle, "ORDERS_CREATE", "https://hooks.example.com/orders")
        assert again == {
            "webhookSubscription": None,
            "userErrors": [
                {
                    "field": ["webhookSubscription", "uri"],
                    "message": "Address for this topic has already been taken",
                }
            ],
        }
        other_topic = subscribe(handle, "CUSTOMERS_UPDATE", "https://hooks.example.com/orders")
        assert other_topic["userErrors"] == []

        listed = graphql(handle, LIST)["data"]["webhookSubscriptions"]
        assert [node["topic"] for node in listed["nodes"]] == ["ORDERS_CREATE", "CUSTOMERS_UPDATE"]
        assert listed["nodes"][0]["callbackUrl"] == "https://hooks.example.com/orders"
        assert listed["nodes"][0]["apiVersion"] == {"handle": "2026-07"}
        assert listed["pageInfo"] == {"hasNextPage": False}

        deleted = graphql(handle, DELETE, id=sub["id"])["data"]["webhookSubscriptionDelete"]
        assert deleted == {"deletedWebhookSubscriptionId": sub["id"], "userErrors": []}
        gone = graphql(handle, DELETE, id=sub["id"])["data"]["webhookSubscriptionDelete"]
        assert gone["userErrors"][0]["message"] == "Webhook subscription does not exist"
        remaining = graphql(handle, LIST)["data"]["webhookSubscriptions"]["nodes"]
        assert [node["topic"] for node in remaining] == ["CUSTOMERS_UPDATE"]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "Address can't be blank"),
        ("not a url", "Address is invalid"),
        ("http://hooks.example.com/x", "Address protocol http:// is not supported"),
        ("https://other.myshopify.com/x", "Address cannot be a Shopify or an internal domain"),
    ],
)
def test_bad_addresses_get_user_errors(admin_schema: GraphQLSchema, uri: str, message: str) -> None:
    with emulator_with(admin_schema) as handle:
        answer = subscribe(handle, "ORDERS_CREATE", uri)
    assert answer["webhookSubscription"] is None
    assert answer["userErrors"] == [{"field": ["webhookSubscription", "uri"], "message": message}]


def test_a_topic_outside_the_schema_enum_is_refused_before_anything_is_stored(
    admin_schema: GraphQLSchema,
) -> None:
    with emulator_with(admin_schema) as emulator:
        _bad_topics(emulator)


def _bad_topics(emulator: EmulatorHandle) -> None:
    literal = graphql(
        emulator,
        "mutation { webhookSubscriptionCreate(topic: ORDERS_EXPLODE,"
        ' webhookSubscription: {uri: "https://a.example.com"}) { userErrors { message } } }',
    )
    assert literal["errors"][0]["extensions"]["code"] == "argumentLiteralsIncompatible"
    variable = graphql(emulator, CREATE, topic="orders/create", uri="https://a.example.com")
    assert variable["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    assert graphql(emulator, LIST)["data"]["webhookSubscriptions"]["nodes"] == []


def test_callback_url_input_is_still_accepted(admin_schema: GraphQLSchema) -> None:
    with emulator_with(admin_schema) as emulator:
        body = graphql(
            emulator,
            """mutation { webhookSubscriptionCreate(topic: CUSTOMERS_CREATE,
             webhookSubscription: {callbackUrl: "https://a.example.com/c"}) {
             webhookSubscription { uri } userErrors { field message } } }""",
        )
    assert body["data"]["webhookSubscriptionCreate"] == {
        "webhookSubscription": {"uri": "https://a.example.com/c"},
        "userErrors": [],
    }


# --------------------------------------------------------------------------- delivery


def test_an_order_created_reaches_the_receiver_signed_with_every_header(
    admin_schema: GraphQLSchema,
) -> None:
    with receiver() as hooks, emulator_with(admin_schema) as handle:
        assert subscribe(handle, "ORDERS_CREATE", hooks.url)["userErrors"] == []
        customer = next(iter(handle.store.iter_all_customers()))
        customer_id = int(customer["legacyResourceId"])
        made = admin(handle, "/emulator/orders", {"customer_id": customer_id, "tags": ["vip"]})
        assert made.status_code == 201, made.text
        order = made.json()["order"]

        [got] = hooks.wait_for(1)
        body = got["body"]
        headers = {key.lower(): value for key, value in got["headers"].items()}
        expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
        assert headers["x-shopify-hmac-sha256"] == expected.decode()
        assert headers["x-shopify-topic"] == "orders/create"
        assert headers["x-shopify-shop-domain"] == handle.shop_domain
        assert headers["x-shopify-api-version"] == "2026-07"
        assert headers["content-type"] == "application/json"
        assert all(headers.get(name.lower()) for name in HEADERS)
        datetime.fromisoformat(headers["x-shopify-triggered-at"].replace("Z", "+00:00"))
        sent = json.loads(body)
        assert sent == order
        assert sent["customer"]["id"] == customer_id
        assert sent["tags"] == "vip"

        # The new order is visible to REST and GraphQL reads.
        with client(handle) as http:
            rest = http.get(f"/admin/api/2026-07/orders/{order['id']}.json")
            assert rest.status_code == 200
            assert rest.json()["order"]["name"] == order["name"]
        gid = order["admin_graphql_api_id"]
        found = graphql(handle, "query($id: ID!) { order(id: $id) { name } }", id=gid)
        assert found["data"]["order"] == {"name": order["name"]}
        assert handle.runtime.webhooks.wait_idle()
        [record] = handle.runtime.webhooks.records()
        assert record["outcome"] == "delivered" and record["status"] == 200


def test_customer_create_and_update_and_order_update_topics(admin_schema: GraphQLSchema) -> None:
    with receiver() as hooks, emulator_with(admin_schema) as handle:
        for topic in ("CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "ORDERS_UPDATED"):
            assert subscribe(handle, topic, hooks.url)["userErrors"] == []
        made = admin(
            handle, "/emulator/customers", {"email": "new@example.com", "first_name": "Nu"}
        )
        assert made.status_code == 201, made.text
        customer_id = made.json()["customer"]["id"]
        changed = admin(handle, f"/emulator/customers/{customer_id}", {"last_name": "Comer"})
        assert changed.status_code == 200
        order_id = next(iter(handle.store.iter_all_orders()))["legacyResourceId"]
        assert admin(handle, f"/emulator/orders/{order_id}", {"note": "gift"}).status_code == 200
        got = hooks.wait_for(3)
        topics = [g["headers"]["X-Shopify-Topic"] for g in got]
        assert topics == ["customers/create", "customers/update", "orders/updated"]
        assert json.loads(got[1]["body"])["last_name"] == "Comer"
        assert json.loads(got[2]["body"])["note"] == "gift"
        with client(handle) as http:
            listed = http.get("/admin/api/2026-07/customers.json", params={"limit": 250})
            emails = [c["email"] for c in listed.json()["customers"]]
        assert "new@example.com" in emails
        assert admin(handle, "/emulator/customers/999", {"note": "x"}).status_code == 404
        assert admin(handle, "/emulator/customers", {"colour": "red"}).status_code == 422


def test_non_2xx_answers_are_retried_with_the_same_webhook_id(admin_schema: GraphQLSchema) -> None:
    with receiver() as hooks, emulator_with(admin_schema) as handle:
        hooks.answers = [500, 503, 200]
        subscribe(handle, "CUSTOMERS_CREATE", hooks.url)
        admin(handle, "/emulator/customers", {"email": "retry@example.com"})
        got = hooks.wait_for(3)
        assert len(got) == 3
        ids = {g["headers"]["X-Shopify-Webhook-Id"] for g in got}
        assert len(ids) == 1
        assert handle.runtime.webhooks.wait_idle()
        records = handle.runtime.webhooks.records()
        assert [(r["attempt"], r["status"], r["outcome"]) for r in records] == [
            (1, 500, "retry"),
            (2, 503, "retry"),
            (3, 200, "delivered"),
        ]


def test_retries_stop_after_the_schedule(admin_schema: GraphQLSchema) -> None:
    with receiver() as hooks, emulator_with(admin_schema) as handle:
        hooks.answers = [500, 500, 500, 500]
        subscribe(handle, "CUSTOMERS_CREATE", hooks.url)
        admin(handle, "/emulator/customers", {"email": "fail@example.com"})
        assert handle.runtime.webhooks.wait_idle()
        outcomes = [r["outcome"] for r in handle.runtime.webhooks.records()]
        assert outcomes == ["retry", "retry", "failed"]
        assert len(hooks.received) == 3


def test_a_timeout_is_retried(admin_schema: GraphQLSchema) -> None:
    with receiver() as hooks, emulator_with(admin_schema, webhook_timeout_seconds=0.3) as handle:
        hooks.stall_first = 1.0
        subscribe(handle, "CUSTOMERS_CREATE", hooks.url)
        admin(handle, "/emulator/customers", {"email": "slow@example.com"})
        assert handle.runtime.webhooks.wait_idle()
        records = handle.runtime.webhooks.records()
        assert records[0]["outcome"] == "retry"
        assert records[0]["status"] is None
        assert "timeout" in records[0]["error"]
        assert records[1]["outcome"] == "delivered"


def test_deliveries_leave_the_request_path(admin_schema: GraphQLSchema) -> None:
    """A slow receiver does not slow the change that triggered the webhook."""
    with receiver() as hooks, emulator_with(admin_schema) as handle:
        hooks.stall_first = 1.0
        subscribe(handle, "CUSTOMERS_CREATE", hooks.url)
        started = time.monotonic()
        assert admin(handle, "/emulator/customers", {"email": "x@example.com"}).status_code == 201
        assert time.monotonic() - started < 0.8
        assert handle.runtime.webhooks.wait_idle()


# --------------------------------------------------------------------------- faults


def _make_customers(handle: EmulatorHandle, count: int) -> list[int]:
    ids = []
    for index in range(count):
        made = admin(handle, "/emulator/customers", {"email": f"c{index}@example.com"})
        ids.append(made.json()["customer"]["id"])
    return ids


def test_duplicate_fault_sends_each_delivery_twice(admin_schema: GraphQLSchema) -> None:
    faults = FaultPlan(webhook_duplicates=True)
    with receiver() as hooks, emulator_with(admin_schema, faults=faults) as handle:
        subscribe(handle, "CUSTOMERS_CREATE", hooks.url)
        _make_customers(handle, 2)
        assert handle.runtime.webhooks.wait_idle()
        got = hooks.wait_for(4)
        ids = [g["headers"]["X-Shopify-Webhook-Id"] for g in got]
        assert len(ids) == 4 and len(set(ids)) == 2
        assert all(ids.count(one) == 2 for one in ids)


def test_reorder_fault_shuffles_within_the_window(admin_schema: GraphQLSchema) -> None:
    faults = FaultPlan(seed=3, webhook_reorder_window=5)
    with (
        receiver() as hooks,
        emulator_with(admin_schema, faults=faults, webhook_reorder_wait_seconds=3.0) as handle,
    ):
        subscribe(handle, "CUSTOMERS_CREATE", hooks.url)
        made = _make_customers(handle, 5)
        assert handle.runtime.webhooks.wait_idle()
        got = [json.loads(g["body"])["id"] for g in hooks.wait_for(5)]
        assert sorted(got) == sorted(made)
        assert got != made


def test_reorder_is_reproducible_from_the_seed(admin_schema: GraphQLSchema) -> None:
    orders = []
    for _ in range(2):
        faults = FaultPlan(seed=3, webhook_reorder_window=5)
        with (
            receiver() as hooks,
            emulator_with(admin_schema, faults=faults, webhook_reorder_wait_seconds=3.0) as handle,
        ):
            subscribe(handle, "CUSTOMERS_CREATE", hooks.url)
            made = _make_customers(handle, 5)
            assert handle.runtime.webhooks.wait_idle()
            got = [json.loads(g["body"])["id"] for g in hooks.wait_for(5)]
            orders.append([made.index(one) for one in got])
    assert orders[0] == orders[1]


def test_drop_fault_loses_a_seeded_share(admin_schema: GraphQLSchema) -> None:
    faults = FaultPlan(seed=11, webhook_drop_rate=0.5)
    with receiver() as hooks, emulator_with(admin_schema, faults=faults) as handle:
        subscribe(handle, "CUSTOMERS_CREATE", hooks.url)
        _make_customers(handle, 10)
        assert handle.runtime.webhooks.wait_idle()
        records = handle.runtime.webhooks.records()
        dropped = [r for r in records if r["outcome"] == "dropped"]
        delivered = [r for r in records if r["outcome"] == "delivered"]
        assert 0 < len(dropped) < 10
        assert len(dropped) + len(delivered) == 10
        assert len(hooks.received) == len(delivered)


def test_faults_switch_through_the_admin_route_and_records_are_served(
    admin_schema: GraphQLSchema,
) -> None:
    with receiver() as hooks, emulator_with(admin_schema) as handle:
        subscribe(handle, "CUSTOMERS_CREATE", hooks.url)
        plan = admin(handle, "/emulator/faults", {"webhook_duplicates": True})
        assert plan.status_code == 200
        _make_customers(handle, 1)
        assert handle.runtime.webhooks.wait_idle()
        assert len(hooks.wait_for(2)) == 2
        with client(handle) as http:
            served = http.get("/emulator/webhooks").json()["deliveries"]
            refused = http.get("/emulator/webhooks", headers={"X-Emulator-Admin": "nope"})
        assert [r["duplicate"] for r in served] == [False, True]
        assert refused.status_code == 403


# --------------------------------------------------------------------------- privacy, uninstall


def test_privacy_topics_are_sent_on_demand(admin_schema: GraphQLSchema) -> None:
    with receiver() as hooks, emulator_with(admin_schema, privacy_webhook_uri=hooks.url) as handle:
        customer_id = next(
            row[0]
            for row in handle.store.connection().execute(
                "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL"
            )
        )
        orders = [
            row[0]
            for row in handle.store.connection().execute(
                "SELECT id FROM orders WHERE customer_id = ? ORDER BY id", (customer_id,)
            )
        ]
        for topic in ("customers/data_request", "customers/redact", "shop/redact"):
            sent = admin(
                handle,
                "/emulator/webhooks/privacy",
                {"topic": topic, "customer_id": customer_id},
            )
            assert sent.status_code == 202, sent.text
        got = hooks.wait_for(3)
        shop_id = handle.store.shop_document()["id"].rsplit("/", 1)[1]
        by_topic = {g["headers"]["X-Shopify-Topic"]: json.loads(g["body"]) for g in got}
        customer = handle.store.customer(customer_id) or {}
        who = {
            "id": customer_id,
            "email": customer.get("email"),
            "phone": customer.get("phone"),
        }
        request = by_topic["customers/data_request"]
        assert request["shop_id"] == int(shop_id)
        assert request["shop_domain"] == handle.shop_domain
        assert request["customer"] == who
        assert request["orders_requested"] == orders
        assert isinstance(request["data_request"]["id"], int)
        assert by_topic["customers/redact"]["orders_to_redact"] == orders
        assert by_topic["shop/redact"] == {
            "shop_id": int(shop_id),
            "shop_domain": handle.shop_domain,
        }
        for g in got:
            digest = hmac.new(SECRET.encode(), g["body"], hashlib.sha256).digest()
            assert g["headers"]["X-Shopify-Hmac-Sha256"] == base64.b64encode(digest).decode()
        bad = admin(handle, "/emulator/webhooks/privacy", {"topic": "orders/create"})
        assert bad.status_code == 422
        assert "customers/data_request" in bad.json()["errors"]


def test_privacy_without_an_address_is_a_clear_error(admin_schema: GraphQLSchema) -> None:
    with emulator_with(admin_schema) as emulator:
        sent = admin(emulator, "/emulator/webhooks/privacy", {"topic": "shop/redact"})
    assert sent.status_code == 422
    assert "privacy_webhook_uri" in sent.json()["errors"]


def test_uninstall_revokes_tokens_and_sends_app_uninstalled(admin_schema: GraphQLSchema) -> None:
    with receiver() as hooks, emulator_with(admin_schema) as handle:
        subscribe(handle, "APP_UNINSTALLED", hooks.url)
        answer = admin(handle, "/emulator/app/uninstall")
        assert answer.status_code == 200 and answer.json()["deliveries"] == 1
        [got] = hooks.wait_for(1)
        assert got["headers"]["X-Shopify-Topic"] == "app/uninstalled"
        assert json.loads(got["body"])["myshopify_domain"] == handle.shop_domain
        with client(handle) as http:
            assert http.get("/admin/api/2026-07/shop.json").status_code == 401
