"""Replay the live captures against the emulator and compare answers field by field.

The emulator's store holds other customers and orders than the captured shop, so values
differ; what must match is the *shape*: the same keys, the same JSON types, ids as gids,
UnsignedInt64 and Decimal values as strings, opaque base64 cursors, null page cursors on
empty connections, ``extensions.cost`` with the same requested cost, and the same
``extensions.search`` warnings and error codes.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson
import pytest

from emulator_fixtures import CapturedCall, EmulatorHandle, captured_calls

SUPPORTED_ROOTS = re.compile(
    r"\b(customers|customer|customersCount|orders|ordersCount|bulkOperation|bulkOperations|"
    r"currentBulkOperation|bulkOperationRunQuery|bulkOperationCancel)\s*[({]"
)
UNSUPPORTED_ROOTS = re.compile(
    r"\b(products|product|productVariants|productVariant|productsCount|productCreate|"
    r"productVariantsBulkUpdate|productCreateMedia|productVariantAppendMedia|customerCreate|"
    r"customerDelete|productDelete|nodes|node)\s*\(|productsCount\s*\{"
)

pytest_plugins = ["emulator_fixtures"]
GID = re.compile(r"^gid://shopify/[A-Za-z]+/\d+$")
NUMERIC = re.compile(r"^\d+(\.\d+)?$")


def replayable() -> list[CapturedCall]:
    calls = []
    for call in captured_calls():
        if not SUPPORTED_ROOTS.search(call.query) or UNSUPPORTED_ROOTS.search(call.query):
            continue
        if "successfulRuns" in call.name or "sixthRun" in call.name:
            continue  # covered by the concurrency test in test_bulk.py
        if "data" in call.body and "extensions" not in call.body:
            continue  # the capture tool dropped the extensions of these proxied reads
        calls.append(call)
    return calls


CALLS = replayable()


def test_replay_covers_every_folder() -> None:
    folders = {call.name.split("/")[0] for call in CALLS}
    assert any(name.startswith("customers") for name in folders)
    assert "order-catalog-count-read" in folders
    assert any(name.startswith("bulk-operation") for name in folders)
    assert len(CALLS) >= 25


def seeded_variables(handle: EmulatorHandle, call: CapturedCall) -> dict[str, Any]:
    """Point captured ids at objects that exist in the emulator's store."""
    variables = dict(call.variables)
    for key, value in variables.items():
        if isinstance(value, str) and value.startswith("gid://shopify/Customer/"):
            customer = handle.graphql("{ customers(first: 1) { nodes { id } } }").json()
            variables[key] = customer["data"]["customers"]["nodes"][0]["id"]
        elif isinstance(value, str) and re.match(r"^gid://shopify/BulkOperation/[1-9]", value):
            variables[key] = handle.wait_bulk(handle.run_bulk()["bulkOperation"]["id"])["id"]
    if re.search(r"bulkOperations|currentBulkOperation", call.query):
        handle.wait_bulk(handle.run_bulk()["bulkOperation"]["id"])
    return variables


def assert_same_shape(captured: Any, got: Any, path: str) -> None:
    if captured is None or got is None:
        return
    if isinstance(captured, dict):
        assert isinstance(got, dict), f"{path}: expected an object, got {got!r}"
        assert set(got) == set(captured), f"{path}: keys {sorted(got)} != {sorted(captured)}"
        for key, value in captured.items():
            assert_same_shape(value, got[key], f"{path}.{key}")
        return
    if isinstance(captured, list):
        assert isinstance(got, list), f"{path}: expected a list"
        if captured and got:
            for item in got:
                assert_same_shape(captured[0], item, f"{path}[]")
        return
    assert type(got) is type(captured), f"{path}: {type(got).__name__} != {type(captured).__name__}"
    if isinstance(captured, str):
        if GID.match(captured):
            assert GID.match(got), f"{path}: {got!r} is not a gid"
        elif path.endswith(("Cursor", ".cursor")):
            decoded = orjson.loads(base64.b64decode(got))
            assert set(decoded) == {"last_id", "last_value"}, f"{path}: cursor {decoded}"
        elif NUMERIC.match(captured) and not path.endswith((".name", ".query", ".email")):
            assert NUMERIC.match(got), f"{path}: {got!r} is not a number string"


@pytest.mark.parametrize("call", CALLS, ids=[call.name for call in CALLS])
def test_replayed_answer_has_the_captured_shape(
    emulator: EmulatorHandle, call: CapturedCall
) -> None:
    response = emulator.graphql(call.query, seeded_variables(emulator, call))
    assert response.status_code == call.status
    body = response.json()
    captured = call.body
    assert set(body) == set(captured), f"top-level keys {sorted(body)} != {sorted(captured)}"
    if "errors" in captured:
        got_codes = [(e.get("extensions") or {}).get("code") for e in body["errors"]]
        want_codes = [(e.get("extensions") or {}).get("code") for e in captured["errors"]]
        assert got_codes == want_codes
        for got, want in zip(body["errors"], captured["errors"], strict=True):
            if want.get("extensions", {}).get("code") not in ("INVALID_VARIABLE",):
                assert got["message"] == want["message"]
            assert set(got) == set(want)
    assert_same_shape(captured.get("data"), body.get("data"), "data")
    if "extensions" in captured:
        cost, want = body["extensions"]["cost"], captured["extensions"]["cost"]
        assert set(cost) == set(want)
        assert set(cost["throttleStatus"]) == set(want["throttleStatus"])
        assert cost["requestedQueryCost"] == want["requestedQueryCost"]
        want_search = captured["extensions"].get("search")
        got_search = body["extensions"].get("search")
        if want_search:
            assert got_search is not None, "extensions.search is missing"
            assert [entry["path"] for entry in got_search] == [
                entry["path"] for entry in want_search
            ]
            assert [[w["code"] for w in e["warnings"]] for e in got_search] == [
                [w["code"] for w in e["warnings"]] for e in want_search
            ]
            assert got_search[0]["parsed"] == want_search[0]["parsed"]
