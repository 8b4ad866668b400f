"""The official ``ShopifyAPI`` Python package drives the emulator unmodified, over https.

The SDK (https://github.com/Shopify/shopify_python_api, pinned as a test-only
dependency) hard-codes ``https://{shop}.myshopify.com`` and uses urllib with the default
SSL context. The test does what an operator does with ``emulator serve --tls``: trusts
the emulator's CA (``SSL_CERT_FILE``) and resolves the shop's name to 127.0.0.1 (the
hosts line; here by patching the resolver of this process). The SDK's own code is not
touched; only its documented ``Session.setup(port=...)`` names the local port.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import shopify
from graphql import GraphQLSchema

from emulator_fixtures import fixture_config, serve_on_port
from shopify_emulator.app import create_emulator_app
from shopify_emulator.store import ShopStore
from shopify_emulator.tls import issue_server_certificate

pytest_plugins = ["emulator_fixtures"]

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
VERSION = "2026-10"
"""Shopify's current stable version on the store's date."""


@pytest.fixture(scope="module")
def sdk_store() -> Iterator[ShopStore]:
    store = ShopStore.generate(None, customers=30, orders=140, seed=12, now=NOW)
    yield store
    store.close()


@pytest.fixture
def sdk(
    admin_schema: GraphQLSchema,
    sdk_store: ShopStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Any]]:
    certificate = issue_server_certificate(sdk_store.shop_domain, tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.ca_file))
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == sdk_store.shop_domain else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    app = create_emulator_app(sdk_store, schema=admin_schema, config=fixture_config())
    with serve_on_port(
        app, ssl_certfile=certificate.cert_file, ssl_keyfile=certificate.key_file
    ) as url:
        port = int(url.rsplit(":", 1)[1])
        monkeypatch.setattr(shopify.Session, "port", port)
        session = shopify.Session(
            sdk_store.shop_domain, VERSION, app.state.runtime.seed_grant.token
        )
        shopify.ShopifyResource.activate_session(session)
        try:
            yield {"store": sdk_store, "port": port}
        finally:
            shopify.ShopifyResource.clear_session()


def test_shop_customers_and_orders_through_the_sdk(sdk: dict[str, Any]) -> None:
    store: ShopStore = sdk["store"]
    shop = shopify.Shop.current()
    assert shop.myshopify_domain == store.shop_domain
    assert shop.name

    customers = shopify.Customer.find()
    assert 0 < len(customers) <= 50
    one = shopify.Customer.find(customers[0].id)
    assert one.id == customers[0].id and one.email == customers[0].email

    page = shopify.Order.find(status="any", limit=50)
    ids = [order.id for order in page]
    while page.has_next_page():
        page = page.next_page()
        ids += [order.id for order in page]
    assert len(ids) == len(set(ids)) == shopify.Order.count(status="any")
    assert len(ids) == store.counts()["orders"]
    assert len(ids) > 100  # three pages of 50


def test_graphql_and_a_bulk_operation_through_the_sdk(sdk: dict[str, Any]) -> None:
    client = shopify.GraphQL()
    answer = json.loads(client.execute("{ shop { myshopifyDomain } ordersCount { count } }"))
    assert answer["data"]["shop"]["myshopifyDomain"] == sdk["store"].shop_domain
    started = json.loads(
        client.execute(
            "mutation($q: String!) { bulkOperationRunQuery(query: $q) "
            "{ bulkOperation { id status } userErrors { field message } } }",
            variables={"q": "{ orders { edges { node { id name } } } }"},
        )
    )["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == []
    deadline = time.monotonic() + 60
    while True:
        operation = json.loads(
            client.execute("{ currentBulkOperation { id status url objectCount } }")
        )["data"]["currentBulkOperation"]
        if operation["status"] in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert operation["status"] == "COMPLETED", operation
    url = operation["url"]
    assert urlsplit(url).hostname == sdk["store"].shop_domain and url.startswith("https://")
    disposition = parse_qs(urlsplit(url).query)["response-content-disposition"][0]
    with urllib.request.urlopen(url) as response:  # noqa: S310 - the emulator's https link
        lines = response.read().decode().splitlines()
        assert response.headers["Content-Disposition"] == disposition
    assert len(lines) == int(operation["objectCount"]) == answer["data"]["ordersCount"]["count"]
    assert all(json.loads(line)["id"].startswith("gid://shopify/Order/") for line in lines)
