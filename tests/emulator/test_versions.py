"""API versions: the served set follows the store's clock, old versions fall forward.

Conformance with https://shopify.dev/docs/api/usage/versioning (quarterly releases at
17:00 UTC, twelve months of support, release candidate and ``unstable``, fall-forward to
the oldest supported stable version, ``X-Shopify-API-Version`` naming the version that
served) and, for the version-dependent ``groupObjects`` default,
https://shopify.dev/docs/api/usage/bulk-operations/queries and the 2026-01 changelog
https://shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from graphql import GraphQLSchema
from pydantic import ValidationError

from emulator_fixtures import BULK_FIELDS, EmulatorHandle, fixture_config, start_emulator
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.store import ShopStore
from shopify_emulator.versions import groups_objects_by_default, versions_at

pytest_plugins = ["emulator_fixtures"]

DECEMBER = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
NOVEMBER_2025 = datetime(2025, 11, 15, 12, 0, tzinfo=UTC)
SHOP = "{ shop { id name } }"
NESTED = "{ orders { edges { node { id lineItems { edges { node { id } } } } } } }"


@contextlib.contextmanager
def emulator_dated(schema: GraphQLSchema, now: datetime, **config: Any) -> Iterator[EmulatorHandle]:
    store = ShopStore.generate(None, customers=10, orders=60, seed=5, now=now)
    try:
        with start_emulator(schema, store=store, config=fixture_config(**config)) as handle:
            yield handle
    finally:
        store.close()


def post(handle: EmulatorHandle, version: str, query: str = SHOP) -> Any:
    with handle.client() as client:
        return client.post(f"/admin/api/{version}/graphql.json", json={"query": query})


def test_release_schedule_rule() -> None:
    """The doc's 2023 table: 2023-01 is released January 1, 2023 (17:00 UTC) and supported
    until January 1, 2024, when 2024-01 replaces it; four stable versions at any time."""
    before_release = versions_at(datetime(2023, 1, 1, 16, 59, tzinfo=UTC))
    assert before_release.stable == ("2022-01", "2022-04", "2022-07", "2022-10")
    assert before_release.release_candidate == "2023-01"
    at_release = versions_at(datetime(2023, 1, 1, 17, 0, tzinfo=UTC))
    assert at_release.stable == ("2022-04", "2022-07", "2022-10", "2023-01")
    assert at_release.release_candidate == "2023-04"
    last_day = versions_at(datetime(2023, 12, 31, 23, 0, tzinfo=UTC))
    assert last_day.oldest == "2023-01"
    replaced = versions_at(datetime(2024, 1, 1, 17, 0, tzinfo=UTC))
    assert replaced.oldest == "2023-04"
    assert replaced.resolve("2023-01") == "2023-04"


def test_versions_on_the_stores_date(admin_schema: GraphQLSchema) -> None:
    """On 2026-12-06 the newest stable version is 2026-10, the oldest 2026-01 (2025-10 lost
    support when 2026-10 was released), the release candidate is 2027-01."""
    assert versions_at(DECEMBER).served == (
        "2026-01",
        "2026-04",
        "2026-07",
        "2026-10",
        "2027-01",
        "unstable",
    )
    with emulator_dated(admin_schema, DECEMBER) as handle:
        for version in ("2026-01", "2026-07", "2026-10", "2027-01", "unstable"):
            response = post(handle, version)
            assert response.status_code == 200, version
            assert response.headers["x-shopify-api-version"] == version
            assert response.json()["data"]["shop"]["id"].startswith("gid://shopify/Shop/")
        with handle.client() as client:
            rest = client.get("/admin/api/2026-10/customers.json?limit=1")
        assert rest.status_code == 200
        assert rest.headers["x-shopify-api-version"] == "2026-10"


def test_removed_versions_fall_forward_to_the_oldest_supported(
    admin_schema: GraphQLSchema,
) -> None:
    """ "If your app uses a stable version that is no longer supported, then Shopify falls
    forward and responds to your request with the same behaviour as the oldest supported
    stable version" - and says so in ``X-Shopify-API-Version``."""
    with emulator_dated(admin_schema, DECEMBER) as handle:
        for version in ("2025-10", "2024-01", "2019-04"):
            response = post(handle, version)
            assert response.status_code == 200, version
            assert response.headers["x-shopify-api-version"] == "2026-01"
            assert response.json()["data"]["shop"]["name"]


def test_versions_that_never_existed_are_404(admin_schema: GraphQLSchema) -> None:
    """Past the release candidate, non-quarter months, older than Shopify's first version
    (2019-04) or not a version at all: 404 ``{"errors": "Not Found"}``."""
    with emulator_dated(admin_schema, DECEMBER) as handle:
        for version in ("2027-04", "2026-11", "2019-01", "latest", "2026-1"):
            response = post(handle, version)
            assert response.status_code == 404, version
            assert response.json() == {"errors": "Not Found"}


def test_explicit_versions_override_the_clock(admin_schema: GraphQLSchema) -> None:
    """``EmulatorConfig.api_versions`` pins the stable set: newer names are unknown, older
    ones fall forward to the pinned oldest, ``unstable`` stays."""
    with emulator_dated(admin_schema, DECEMBER, api_versions=("2026-04", "2026-07")) as handle:
        assert post(handle, "2026-10").status_code == 404
        older = post(handle, "2026-01")
        assert older.headers["x-shopify-api-version"] == "2026-04"
        assert post(handle, "2026-07").headers["x-shopify-api-version"] == "2026-07"
        assert post(handle, "unstable").status_code == 200
    assert EmulatorConfig().api_versions is None
    with pytest.raises(ValidationError):
        EmulatorConfig(api_versions=("2026-05",))


RUN = f"""
mutation Run($query: String!) {{
  bulkOperationRunQuery(query: $query) {{
    bulkOperation {{ {BULK_FIELDS} }} userErrors {{ message }}
  }}
}}
"""
RUN_EXPLICIT = f"""
mutation Run($query: String!, $group: Boolean!) {{
  bulkOperationRunQuery(query: $query, groupObjects: $group) {{
    bulkOperation {{ {BULK_FIELDS} }} userErrors {{ message }}
  }}
}}
"""
RUN_LITERAL = f"""
mutation Run($query: String!) {{
  bulkOperationRunQuery(query: $query, groupObjects: false) {{
    bulkOperation {{ {BULK_FIELDS} }} userErrors {{ message }}
  }}
}}
"""


def bulk_lines(
    handle: EmulatorHandle, version: str, mutation: str, **variables: Any
) -> list[dict[str, Any]]:
    with handle.client() as client:
        response = client.post(
            f"/admin/api/{version}/graphql.json",
            json={"query": mutation, "variables": {"query": NESTED, **variables}},
        )
        payload = response.json()["data"]["bulkOperationRunQuery"]
        assert payload["userErrors"] == []
        done = handle.wait_bulk(payload["bulkOperation"]["id"])
        assert done["status"] == "COMPLETED"
        body = client.get(done["url"]).content
    return [orjson.loads(line) for line in body.splitlines()]


def grouped(lines: list[dict[str, Any]]) -> bool:
    """Every child line sits in its parent's block (right after it or its siblings)."""
    current = None
    for line in lines:
        parent = line.get("__parentId")
        if parent is None:
            current = line["id"]
        elif parent != current:
            return False
    return True


def test_group_objects_default_follows_the_serving_version(admin_schema: GraphQLSchema) -> None:
    """``groupObjects`` defaults to ``true`` before 2026-01 and ``false`` from 2026-01 on;
    an explicit argument (literal or variable) always wins."""
    assert groups_objects_by_default("2025-10") is True
    assert groups_objects_by_default("2026-01") is False
    assert groups_objects_by_default("unstable") is False
    with emulator_dated(admin_schema, NOVEMBER_2025) as handle:
        handle.api_version = "2026-01"  # the fixture's 2026-07 did not exist yet: polls use this
        assert grouped(bulk_lines(handle, "2025-10", RUN))
        assert not grouped(bulk_lines(handle, "2026-01", RUN))
        assert not grouped(bulk_lines(handle, "2025-10", RUN_LITERAL))
        assert not grouped(bulk_lines(handle, "2025-10", RUN_EXPLICIT, group=False))
        assert grouped(bulk_lines(handle, "2026-01", RUN_EXPLICIT, group=True))
    with emulator_dated(admin_schema, DECEMBER) as handle:
        # 2025-10 is no longer supported on this date: 2026-01 serves it, with its default.
        assert not grouped(bulk_lines(handle, "2025-10", RUN))
