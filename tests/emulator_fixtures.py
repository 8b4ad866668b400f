"""Reusable in-process Shopify emulator for any test folder.

Use it from a test module with ``from emulator_fixtures import emulator`` (the fixture),
or call ``start_emulator`` / ``serve_on_port`` directly for custom stores and configs.
The handle gives everything a Shopify client needs: ``base_url``, ``shop_domain``,
``token``, an ``httpx`` ``transport`` (faults surface as real network errors), plus the
``store``, the ``runtime`` and a ``clock`` tests can advance instead of sleeping.

``captured_calls`` walks the live captures packaged with the emulator and yields
every recorded request with its response, for conformance tests.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from graphql import GraphQLSchema

from shopify_backfill.config import API_VERSION
from shopify_emulator.app import create_emulator_app
from shopify_emulator.config import EmulatorConfig, FaultPlan
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore
from shopify_emulator.throttle import ManualClock
from shopify_emulator.transport import EmulatorTransport

STORE_NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
BULK_FIELDS = (
    "id status type errorCode createdAt completedAt objectCount rootObjectCount fileSize url "
    "partialDataUrl query"
)
BULK_RUN = f"""
mutation Run($query: String!) {{
  bulkOperationRunQuery(query: $query) {{
    bulkOperation {{ {BULK_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""
BULK_POLL = f"query Poll($id: ID!) {{ bulkOperation(id: $id) {{ {BULK_FIELDS} }} }}"
ORDERS_BULK = """
{ orders(sortKey: CREATED_AT) { edges { node {
    id name createdAt
    lineItems { edges { node { id quantity } } }
} } } }
"""
ADMIN_SECRET = "emulator-admin-secret"


@dataclass
class EmulatorHandle:
    """A running in-process emulator and the credentials to talk to it."""

    app: Any
    store: ShopStore
    runtime: EmulatorRuntime
    transport: EmulatorTransport
    clock: ManualClock
    token: str
    base_url: str
    shop_domain: str
    api_version: str = API_VERSION

    @property
    def graphql_path(self) -> str:
        return f"/admin/api/{self.api_version}/graphql.json"

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """A sync client on the in-process transport, authenticated with ``token``."""
        headers = {"X-Shopify-Access-Token": token or self.token}
        return httpx.Client(
            transport=self.transport, base_url=self.base_url, headers=headers, **kwargs
        )

    def async_client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"X-Shopify-Access-Token": token or self.token}
        return httpx.AsyncClient(transport=self.transport, base_url=self.base_url, headers=headers)

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        with self.client(token) as client:
            return client.post(
                self.graphql_path, json={"query": query, "variables": variables or {}}
            )

    def set_faults(self, **plan: Any) -> None:
        """Switch faults through the admin endpoint, as a test driving a served emulator would."""
        with self.client() as client:
            response = client.post(
                "/emulator/faults",
                json=FaultPlan(**plan).model_dump(mode="json"),
                headers={"X-Emulator-Admin": ADMIN_SECRET},
            )
        response.raise_for_status()

    def mint_token(self, scopes: list[str]) -> str:
        return self.runtime.tokens.mint(scopes, "legacy").token

    def run_bulk(self, query: str = ORDERS_BULK, token: str | None = None) -> dict[str, Any]:
        """``bulkOperationRunQuery`` payload (``bulkOperation`` and ``userErrors``)."""
        body = self.graphql(BULK_RUN, {"query": query}, token).json()
        payload: dict[str, Any] = body["data"]["bulkOperationRunQuery"]
        return payload

    def wait_bulk(self, gid: str, token: str | None = None, timeout: float = 30) -> dict[str, Any]:
        """Poll ``bulkOperation(id:)`` until the job leaves CREATED/RUNNING/CANCELING."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.graphql(BULK_POLL, {"id": gid}, token).json()
            operation: dict[str, Any] = body["data"]["bulkOperation"]
            if operation["status"] not in ("CREATED", "RUNNING", "CANCELING"):
                return operation
            time.sleep(0.02)
        raise AssertionError(f"bulk operation {gid} did not finish within {timeout} s")


def fixture_config(**overrides: Any) -> EmulatorConfig:
    values: dict[str, Any] = {"admin_secret": ADMIN_SECRET}
    values.update(overrides)
    return EmulatorConfig(**values)


@contextlib.contextmanager
def start_emulator(
    schema: GraphQLSchema,
    *,
    store: ShopStore | None = None,
    customers: int = 40,
    orders: int = 80,
    seed: int = 7,
    config: EmulatorConfig | None = None,
) -> Iterator[EmulatorHandle]:
    """An emulator over ``store`` (or a fresh throwaway one) with a manual clock."""
    own_store = store is None
    if store is None:
        store = ShopStore.generate(
            None, customers=customers, orders=orders, seed=seed, now=STORE_NOW
        )
    clock = ManualClock()
    app = create_emulator_app(store, schema=schema, config=config or fixture_config(), clock=clock)
    runtime: EmulatorRuntime = app.state.runtime
    transport = EmulatorTransport(app)
    handle = EmulatorHandle(
        app=app,
        store=store,
        runtime=runtime,
        transport=transport,
        clock=clock,
        token=runtime.seed_grant.token,
        base_url=f"https://{store.shop_domain}",
        shop_domain=store.shop_domain,
    )
    try:
        yield handle
    finally:
        runtime.bulk.shutdown()
        runtime.webhooks.close()
        transport.close()
        if own_store:
            store.close()


@contextlib.contextmanager
def serve_on_port(
    app: Any, *, ssl_certfile: Path | None = None, ssl_keyfile: Path | None = None
) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free local port; yields the base URL.

    With ``ssl_certfile``/``ssl_keyfile`` (see ``shopify_emulator.tls``) it serves https.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="critical",
            lifespan="off",
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.02)
    try:
        yield f"{'https' if ssl_certfile else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def emulator_store() -> Iterator[ShopStore]:
    """One small generated store shared by a session's emulator fixtures (read-only data)."""
    store = ShopStore.generate(None, customers=40, orders=80, seed=7, now=STORE_NOW)
    yield store
    store.close()


@pytest.fixture
def emulator(admin_schema: GraphQLSchema, emulator_store: ShopStore) -> Iterator[EmulatorHandle]:
    """A fresh emulator app (own token, buckets, bulk jobs) over the shared store."""
    with start_emulator(admin_schema, store=emulator_store) as handle:
        yield handle


# --------------------------------------------------------------------------- captures


@dataclass(frozen=True)
class CapturedCall:
    """One request recorded from live Shopify, with the answer it got."""

    name: str
    query: str
    variables: dict[str, Any]
    status: int
    body: dict[str, Any]


def conformance_dir() -> Path:
    """The live captures, shipped with the emulator as package data."""
    root = Path(str(resources.files("shopify_emulator.captures")))
    assert (root / "customers").is_dir(), f"the packaged captures are missing under {root}"
    return root


def captured_calls(folder: str | None = None) -> list[CapturedCall]:
    """Every (query, variables, response) in the captures, de-duplicated, in file order."""
    calls: list[CapturedCall] = []
    seen: set[tuple[str, str]] = set()
    root = conformance_dir()
    files = sorted((root / folder).glob("*.json") if folder else root.glob("*/*.json"))
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        for name, query, variables, status, body in _walk(data, path.stem):
            key = (query, json.dumps(variables, sort_keys=True))
            if key not in seen:
                seen.add(key)
                calls.append(CapturedCall(name, query, variables, status, body))
    return calls


def _walk(node: Any, name: str) -> Iterator[tuple[str, str, dict[str, Any], int, dict[str, Any]]]:
    if isinstance(node, dict):
        query, response = node.get("query"), node.get("response")
        if isinstance(query, str) and isinstance(response, dict):
            if "body" in response and "status" in response:
                yield name, query, node.get("variables") or {}, response["status"], response["body"]
            else:
                yield name, query, node.get("variables") or {}, node.get("status", 200), response
        for key, value in node.items():
            yield from _walk(value, f"{name}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{name}/{index}")
