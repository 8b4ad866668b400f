"""Bulk operations: Shopify's validation, lifecycle, JSONL files, downloads, visibility."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from graphql import GraphQLSchema

from emulator_fixtures import (
    BULK_FIELDS,
    ORDERS_BULK,
    STORE_NOW,
    EmulatorHandle,
    captured_calls,
    fixture_config,
    start_emulator,
)
from shopify_emulator.bulk import validate_bulk_query

pytest_plugins = ["emulator_fixtures"]

FIELDS = BULK_FIELDS
CANCEL = f"""
mutation Cancel($id: ID!) {{
  bulkOperationCancel(id: $id) {{ bulkOperation {{ {FIELDS} }} userErrors {{ field message }} }}
}}
"""
VALIDATION_CALLS = [
    call
    for call in captured_calls("bulk-operations")
    if "bulkOperationRunQuery(query: $query)" in call.query
    and call.body.get("data", {}).get("bulkOperationRunQuery", {}).get("bulkOperation") is None
    and "successfulRuns" not in call.name
]


def run(handle: EmulatorHandle, query: str, token: str | None = None) -> dict[str, Any]:
    return handle.run_bulk(query, token)


def wait_terminal(handle: EmulatorHandle, gid: str, token: str | None = None) -> dict[str, Any]:
    return handle.wait_bulk(gid, token)


def download_lines(handle: EmulatorHandle, url: str) -> list[dict[str, Any]]:
    with handle.client() as client:
        response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jsonl"
    return [orjson.loads(line) for line in response.content.splitlines()]


def test_captures_hold_validation_cases() -> None:
    assert len(VALIDATION_CALLS) >= 9


@pytest.mark.parametrize("call", VALIDATION_CALLS, ids=[c.name for c in VALIDATION_CALLS])
def test_validation_errors_match_captures(emulator: EmulatorHandle, call: Any) -> None:
    body = emulator.graphql(call.query, call.variables).json()
    assert body["data"] == call.body["data"]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10


def test_depth_two_nesting_is_accepted(admin_schema: GraphQLSchema) -> None:
    text = (
        "{ customers { edges { node { id orders { edges { node { id "
        "lineItems { edges { node { id } } } } } } } } } }"
    )
    document, messages = validate_bulk_query(admin_schema, text)
    assert messages == []
    assert document is not None


def test_schema_errors_in_inner_query_are_user_errors(emulator: EmulatorHandle) -> None:
    payload = run(emulator, "{ orders { edges { node { nope } } } }")
    assert payload["bulkOperation"] is None
    assert payload["userErrors"] == [
        {
            "field": ["query"],
            "message": "Invalid bulk query: Field 'nope' doesn't exist on type 'Order'",
            "code": "INVALID",
        }
    ]


def test_run_poll_download_and_reconstruct(emulator: EmulatorHandle) -> None:
    payload = run(emulator, ORDERS_BULK)
    assert payload["userErrors"] == []
    created = payload["bulkOperation"]
    assert created["status"] == "CREATED"
    assert (created["objectCount"], created["rootObjectCount"]) == ("0", "0")
    assert created["url"] is None and created["fileSize"] is None
    done = wait_terminal(emulator, created["id"])
    assert done["status"] == "COMPLETED"
    assert done["errorCode"] is None and done["completedAt"] is not None
    lines = download_lines(emulator, done["url"])
    assert str(len(lines)) == done["objectCount"]
    roots = [line for line in lines if "__parentId" not in line]
    assert str(len(roots)) == done["rootObjectCount"]
    assert len(roots) == 80
    parents = {line["id"]: line for line in roots}
    children: dict[str, int] = {}
    for line in lines:
        if "__parentId" in line:
            assert line["__parentId"] in parents
            assert line["id"].startswith("gid://shopify/LineItem/")
            children[line["__parentId"]] = children.get(line["__parentId"], 0) + 1
    probe = emulator.graphql(
        "query($id: ID!) { order(id: $id) { lineItems(first: 250) { nodes { id } } } }",
        {"id": roots[0]["id"]},
    ).json()
    expected = len(probe["data"]["order"]["lineItems"]["nodes"])
    assert children.get(roots[0]["id"], 0) == expected
    count = emulator.graphql("{ ordersCount(limit: null) { count } }").json()
    assert count["data"]["ordersCount"]["count"] == len(roots)


def test_download_supports_ranges_and_checks_signature(emulator: EmulatorHandle) -> None:
    done = wait_terminal(emulator, run(emulator, ORDERS_BULK)["bulkOperation"]["id"])
    url = done["url"]
    size = int(done["fileSize"])
    with emulator.client() as client:
        whole = client.get(url).content
        part = client.get(url, headers={"Range": "bytes=10-19"})
        tail = client.get(url, headers={"Range": "bytes=-5"})
        bad_range = client.get(url, headers={"Range": f"bytes={size + 10}-"})
        tampered = client.get(url.replace("Signature=", "Signature=0"))
        op_id = int(done["id"].rsplit("/", 1)[1])
        expired = client.get(
            emulator.runtime.bulk.signed_url(emulator.base_url, op_id, "result", 1)
        )
    assert len(whole) == size
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 10-19/{size}"
    assert part.content == whole[10:20]
    assert tail.content == whole[-5:]
    assert bad_range.status_code == 416
    assert tampered.status_code == 403
    assert b"SignatureDoesNotMatch" in tampered.content
    assert expired.status_code == 400
    assert b"ExpiredToken" in expired.content


def test_empty_result_has_no_url(emulator: EmulatorHandle) -> None:
    text = '{ orders(query: "name:#999999") { edges { node { id } } } }'
    done = wait_terminal(emulator, run(emulator, text)["bulkOperation"]["id"])
    assert done["status"] == "COMPLETED"
    assert (done["objectCount"], done["url"], done["fileSize"]) == ("0", None, None)


def test_sixth_concurrent_run_is_refused_and_cancel_works(admin_schema: GraphQLSchema) -> None:
    config = fixture_config(bulk_start_delay_seconds=30)
    with start_emulator(admin_schema, customers=5, orders=5, config=config) as handle:
        ids = [run(handle, ORDERS_BULK)["bulkOperation"]["id"] for _ in range(5)]
        sixth = run(handle, ORDERS_BULK)
        assert sixth["bulkOperation"] is None
        assert sixth["userErrors"] == [
            {
                "field": None,
                "message": "A bulk query operation for this app and shop is already in "
                f"progress: {', '.join(ids)}.",
                "code": "OPERATION_IN_PROGRESS",
            }
        ]
        other = handle.mint_token(["read_orders", "read_all_orders"])
        assert run(handle, ORDERS_BULK, other)["userErrors"] == []
        cancel = handle.graphql(CANCEL, {"id": ids[0]}).json()["data"]["bulkOperationCancel"]
        assert cancel["userErrors"] == []
        assert cancel["bulkOperation"]["status"] == "CANCELING"
        canceled = wait_terminal(handle, ids[0])
        assert canceled["status"] == "CANCELED"
        assert canceled["completedAt"] is None and canceled["url"] is None
        current = handle.graphql(f"{{ currentBulkOperation(type: QUERY) {{ {FIELDS} }} }}").json()[
            "data"
        ]["currentBulkOperation"]
        assert current["id"] == ids[-1]
        listed = handle.graphql(
            '{ bulkOperations(first: 10, query: "status:canceled") { nodes { id status } } }'
        ).json()["data"]["bulkOperations"]["nodes"]
        assert listed == [{"id": ids[0], "status": "CANCELED"}]


def test_cancel_of_completed_and_unknown_operations(emulator: EmulatorHandle) -> None:
    done = wait_terminal(emulator, run(emulator, ORDERS_BULK)["bulkOperation"]["id"])
    payload = emulator.graphql(CANCEL, {"id": done["id"]}).json()["data"]["bulkOperationCancel"]
    assert payload["userErrors"] == [
        {"field": None, "message": "A bulk operation cannot be canceled when it is completed"}
    ]
    assert payload["bulkOperation"]["status"] == "COMPLETED"
    unknown = emulator.graphql(CANCEL, {"id": "gid://shopify/BulkOperation/0"}).json()
    assert unknown["data"]["bulkOperationCancel"] == {
        "bulkOperation": None,
        "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
    }


def test_bulk_operations_listing_sorts_and_pages(emulator: EmulatorHandle) -> None:
    ids = []
    for _ in range(3):
        ids.append(wait_terminal(emulator, run(emulator, ORDERS_BULK)["bulkOperation"]["id"])["id"])
    query = """query($after: String, $reverse: Boolean) {
      bulkOperations(first: 2, after: $after, sortKey: CREATED_AT, reverse: $reverse) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor }
      } }"""
    page = emulator.graphql(query, {"reverse": False}).json()["data"]["bulkOperations"]
    assert [edge["node"]["id"] for edge in page["edges"]] == [ids[2], ids[1]]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = emulator.graphql(
        query, {"reverse": False, "after": page["pageInfo"]["endCursor"]}
    ).json()["data"]["bulkOperations"]
    assert [edge["node"]["id"] for edge in rest["edges"]] == [ids[0]]
    oldest_first = emulator.graphql(query, {"reverse": True}).json()["data"]["bulkOperations"]
    assert oldest_first["edges"][0]["node"]["id"] == ids[0]
    missing = emulator.graphql("{ bulkOperations { nodes { id } } }").json()
    assert missing["data"] is None
    assert missing["errors"][0]["message"] == "you must provide one of first or last"
    node = emulator.graphql(
        "query($id: ID!) { node(id: $id) { __typename ... on BulkOperation { id status } } }",
        {"id": ids[0]},
    ).json()["data"]["node"]
    assert node == {"__typename": "BulkOperation", "id": ids[0], "status": "COMPLETED"}


def test_token_without_read_all_orders_exports_only_sixty_days(emulator: EmulatorHandle) -> None:
    limited = emulator.mint_token(["read_orders", "read_customers"])
    done = wait_terminal(
        emulator, run(emulator, ORDERS_BULK, limited)["bulkOperation"]["id"], limited
    )
    lines = download_lines(emulator, done["url"]) if done["url"] else []
    roots = [line for line in lines if "__parentId" not in line]
    cutoff = STORE_NOW - timedelta(days=60)
    since = cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(line["createdAt"] >= since for line in roots)
    visible = emulator.graphql(
        "query($q: String!) { ordersCount(query: $q, limit: null) { count } }",
        {"q": f"created_at:>='{since}'"},
    ).json()["data"]["ordersCount"]["count"]
    assert len(roots) == visible < 80


def test_inner_query_without_scope_fails_access_denied(emulator: EmulatorHandle) -> None:
    customers_only = emulator.mint_token(["read_customers"])
    done = wait_terminal(
        emulator, run(emulator, ORDERS_BULK, customers_only)["bulkOperation"]["id"], customers_only
    )
    assert (done["status"], done["errorCode"], done["url"]) == ("FAILED", "ACCESS_DENIED", None)


def test_reused_results_are_the_rendered_file_and_off_by_default(
    admin_schema: GraphQLSchema,
) -> None:
    config = fixture_config(bulk_reuse_results=True)
    with start_emulator(admin_schema, customers=20, orders=60, config=config) as handle:
        first = wait_terminal(handle, run(handle, ORDERS_BULK)["bulkOperation"]["id"])
        second = wait_terminal(handle, run(handle, ORDERS_BULK)["bulkOperation"]["id"])
        other = wait_terminal(handle, run(handle, ORDERS_BULK + " ")["bulkOperation"]["id"])
        with handle.client() as client:
            files = [client.get(done["url"]).content for done in (first, second, other)]
        kept = sorted(handle.runtime.bulk.files_dir.glob("rendered-*.jsonl"))
        links = sorted(path.stat().st_nlink for path in kept)
    assert links == [2, 3], "the repeated query is served from the kept file, not rendered"
    assert first["id"] != second["id"]
    assert files[0] == files[1] == files[2]
    assert len(files[0].splitlines()) == int(first["objectCount"])
    for key in ("objectCount", "rootObjectCount", "fileSize"):
        assert first[key] == second[key] == other[key]
    assert len(kept) == 2, "a different query text is rendered and kept on its own"
    with start_emulator(admin_schema, customers=5, orders=5) as handle:
        wait_terminal(handle, run(handle, ORDERS_BULK)["bulkOperation"]["id"])
        assert not list(handle.runtime.bulk.files_dir.glob("rendered-*"))
