"""Bulk result links look and behave like Shopify's signed Google Cloud Storage URLs.

Conformance with https://shopify.dev/docs/api/usage/bulk-operations/queries ("the URL
expires after 7 days"; the ``url`` and ``partialDataUrl`` fields of
https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation), with the link's
shape taken from the live captures in ``captures/bulk-operations`` (GoogleAccessId,
Expires = completion + 7 days, Signature, ``response-content-disposition``,
``response-content-type``) and refusals in Google Cloud Storage's XML error shape
(https://cloud.google.com/storage/docs/xml-api/reference-status: ``ExpiredToken`` 400,
``SignatureDoesNotMatch`` 403).
"""

from __future__ import annotations

import base64
import contextlib
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
from graphql import GraphQLSchema

from emulator_fixtures import (
    ORDERS_BULK,
    EmulatorHandle,
    captured_calls,
    fixture_config,
    start_emulator,
)
from shopify_emulator.app import create_emulator_app
from shopify_emulator.runtime import EmulatorRuntime
from shopify_emulator.store import ShopStore
from shopify_emulator.throttle import ManualClock
from shopify_emulator.transport import EmulatorTransport

pytest_plugins = ["emulator_fixtures"]

SEVEN_DAYS = 7 * 24 * 3600
PARAMS = [
    "GoogleAccessId",
    "Expires",
    "Signature",
    "response-content-disposition",
    "response-content-type",
]


def captured_url() -> str:
    """A real ``url`` Shopify returned for a finished bulk operation."""
    for call in captured_calls("bulk-operations"):
        found = re.search(r'"url":"(https://[^"]+)"', orjson.dumps(call.body).decode())
        if found:
            return found.group(1)
    raise AssertionError("no captured bulk url")


def op_number(gid: str) -> str:
    return gid.rsplit("/", 1)[1]


def with_param(url: str, name: str, value: str) -> str:
    """``url`` with one query parameter replaced (re-encoded as the link encodes it)."""
    parts = urlsplit(url)
    pairs = [(k, value if k == name else v) for k, v in parse_qsl(parts.query)]
    return str(httpx.URL(parts._replace(query="").geturl(), params=pairs))


def test_url_has_shopifys_signed_storage_shape(emulator: EmulatorHandle) -> None:
    """Same parameters, in the same order and encoding, as the captured Shopify URL; the
    path is served by the emulator; Expires is completion + 7 days."""
    done = emulator.wait_bulk(emulator.run_bulk(ORDERS_BULK)["bulkOperation"]["id"])
    url = done["url"]
    number = op_number(done["id"])
    parts = urlsplit(url)
    assert parts.path == f"/emulator/bulk-operation-outputs/{number}-result"
    assert f"{parts.scheme}://{parts.netloc}" == emulator.base_url
    real = urlsplit(captured_url())
    assert [k for k, _ in parse_qsl(parts.query)] == PARAMS
    assert [k for k, _ in parse_qsl(real.query)] == PARAMS
    query = dict(parse_qsl(parts.query))
    completed = datetime.fromisoformat(done["completedAt"].replace("Z", "+00:00"))
    assert int(query["Expires"]) == int(completed.timestamp()) + SEVEN_DAYS
    assert query["GoogleAccessId"].endswith(".iam.gserviceaccount.com")
    assert len(base64.b64decode(query["Signature"], validate=True)) == 32
    filename = f"bulk-{number}.jsonl"
    assert query["response-content-disposition"] == (
        f"attachment; filename=\"{filename}\"; filename*=UTF-8''{filename}"
    )
    assert query["response-content-type"] == "application/jsonl"
    # Encoded byte for byte as Shopify encodes it (spaces as '+', '*' and quotes escaped).
    real_disposition = re.search(r"response-content-disposition=([^&]+)", real.query)
    ours = re.search(r"response-content-disposition=([^&]+)", parts.query)
    assert real_disposition and ours
    assert ours.group(1) == re.sub(
        r"staging-bulk-\d+", filename.removesuffix(".jsonl"), real_disposition.group(1)
    )
    assert parts.query.endswith("&response-content-type=application%2Fjsonl")
    polled_again = emulator.wait_bulk(done["id"])
    assert polled_again["url"] == url, "the same link on every poll, as Shopify's"


def test_download_carries_the_links_headers(emulator: EmulatorHandle) -> None:
    """GCS answers with the Content-Type and Content-Disposition the link asks for."""
    done = emulator.wait_bulk(emulator.run_bulk(ORDERS_BULK)["bulkOperation"]["id"])
    with httpx.Client(transport=emulator.transport) as anonymous:  # no Shopify token sent
        response = anonymous.get(done["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jsonl"
    name = f"bulk-{op_number(done['id'])}.jsonl"
    assert response.headers["content-disposition"] == (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    )
    assert len(response.content) == int(done["fileSize"])
    assert str(len(response.content.splitlines())) == done["objectCount"]


def test_tampered_links_are_refused_as_gcs_does(emulator: EmulatorHandle) -> None:
    """A link altered anywhere (expiry, headers, object, signature) gets GCS's 403
    ``SignatureDoesNotMatch``; one without its signing parameters, 403 ``AccessDenied``;
    an object that does not exist, 404 ``NoSuchKey``."""
    done = emulator.wait_bulk(emulator.run_bulk(ORDERS_BULK)["bulkOperation"]["id"])
    url = done["url"]
    query = dict(parse_qsl(urlsplit(url).query))
    number = op_number(done["id"])
    tampered = [
        with_param(url, "Expires", str(int(query["Expires"]) + 3600)),
        with_param(url, "response-content-type", "text/html"),
        with_param(url, "GoogleAccessId", "someone@else.iam.gserviceaccount.com"),
        with_param(url, "Signature", base64.b64encode(b"\0" * 32).decode()),
        url.replace(f"{number}-result", f"{number}-partial"),
    ]
    with httpx.Client(transport=emulator.transport) as client:
        for link in tampered:
            response = client.get(link)
            assert response.status_code == 403, link
            assert response.headers["content-type"].startswith("application/xml")
            assert response.text.startswith("<?xml version='1.0' encoding='UTF-8'?><Error>")
            assert "<Code>SignatureDoesNotMatch</Code>" in response.text
            assert "<StringToSign>GET\n" in response.text
        unsigned = client.get(url.split("?", 1)[0])
        missing = client.get(url.replace(f"{number}-result?", f"{number}-nope?"))
    assert unsigned.status_code == 403
    assert "<Code>AccessDenied</Code>" in unsigned.text
    assert missing.status_code == 404
    assert "<Code>NoSuchKey</Code>" in missing.text


@contextlib.contextmanager
def emulator_with_wall_clock(
    schema: GraphQLSchema, moment: list[float]
) -> Iterator[tuple[EmulatorTransport, EmulatorRuntime, str]]:
    store = ShopStore.generate(
        None, customers=5, orders=20, seed=3, now=datetime.fromtimestamp(moment[0]).astimezone()
    )
    app = create_emulator_app(
        store,
        schema=schema,
        config=fixture_config(),
        clock=ManualClock(),
        wall_clock=lambda: moment[0],
    )
    runtime: EmulatorRuntime = app.state.runtime
    transport = EmulatorTransport(app)
    try:
        yield transport, runtime, runtime.seed_grant.token
    finally:
        runtime.bulk.shutdown()
        transport.close()
        store.close()


def graphql(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post(
        "/admin/api/2026-07/graphql.json", json={"query": query, "variables": variables}
    )
    body: dict[str, Any] = response.json()["data"]
    return body


def test_links_expire_seven_days_after_completion(admin_schema: GraphQLSchema) -> None:
    """The link works until ``Expires`` (completion + 7 days) and then gets GCS's 400
    ``ExpiredToken`` XML; the operation still reports the same, now dead, link."""
    moment = [datetime.fromisoformat("2026-07-10T12:00:00+00:00").timestamp()]
    with emulator_with_wall_clock(admin_schema, moment) as (transport, runtime, token):
        headers = {"X-Shopify-Access-Token": token}
        base = "https://emulator-shop.myshopify.com"
        with httpx.Client(transport=transport, base_url=base, headers=headers) as client:
            run = graphql(
                client,
                "mutation($q: String!) { bulkOperationRunQuery(query: $q) "
                "{ bulkOperation { id } userErrors { message } } }",
                q="{ orders { edges { node { id } } } }",
            )
            gid = run["bulkOperationRunQuery"]["bulkOperation"]["id"]
            runtime.bulk.wait_idle()
            poll = "query($id: ID!) { bulkOperation(id: $id) { status url completedAt } }"
            done = graphql(client, poll, id=gid)["bulkOperation"]
            assert done["status"] == "COMPLETED"
            expires = int(dict(parse_qsl(urlsplit(done["url"]).query))["Expires"])
            assert expires == int(moment[0]) + SEVEN_DAYS
            moment[0] = expires - 1
            assert client.get(done["url"]).status_code == 200
            moment[0] = expires + 1
            expired = client.get(done["url"])
            assert graphql(client, poll, id=gid)["bulkOperation"]["url"] == done["url"]
    assert expired.status_code == 400
    assert expired.headers["content-type"].startswith("application/xml")
    assert "<Code>ExpiredToken</Code>" in expired.text
    assert "<Message>The provided token has expired.</Message>" in expired.text
    assert "Request signature expired at: " in expired.text


def test_partial_data_url_has_the_same_shape(admin_schema: GraphQLSchema) -> None:
    """A failed job with partial results links its ``-partial`` object the same way."""
    with start_emulator(admin_schema, customers=5, orders=40, config=fixture_config()) as handle:
        handle.set_faults(bulk_outcomes=["PARTIAL"], partial_fraction=0.5)
        failed = handle.wait_bulk(handle.run_bulk(ORDERS_BULK)["bulkOperation"]["id"])
        assert failed["status"] == "FAILED" and failed["url"] is None
        link = failed["partialDataUrl"]
        parts = urlsplit(link)
        assert parts.path == f"/emulator/bulk-operation-outputs/{op_number(failed['id'])}-partial"
        assert [k for k, _ in parse_qsl(parts.query)] == PARAMS
        with httpx.Client(transport=handle.transport) as client:
            response = client.get(link)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jsonl"
    assert response.headers["content-disposition"].startswith('attachment; filename="bulk-')
    assert response.content.count(b"\n") == int(failed["objectCount"])
    assert time.time() < int(dict(parse_qsl(parts.query))["Expires"])
