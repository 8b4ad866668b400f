"""Legacy REST reads: shapes, filters, Link-header pagination and the call-limit bucket."""

from __future__ import annotations

import re
from typing import Any

from emulator_fixtures import EmulatorHandle

pytest_plugins = ["emulator_fixtures"]

NEXT = re.compile(r'<([^>]+)>; rel="next"')
PREVIOUS = re.compile(r'<([^>]+)>; rel="previous"')


def walk(handle: EmulatorHandle, path: str) -> tuple[list[dict[str, Any]], list[str]]:
    items: list[dict[str, Any]] = []
    limits: list[str] = []
    url: str | None = path
    with handle.client() as client:
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.text
            limits.append(response.headers["x-shopify-shop-api-call-limit"])
            key = "orders" if "orders.json" in url else "customers"
            items.extend(response.json()[key])
            match = NEXT.search(response.headers.get("link", ""))
            url = match.group(1) if match else None
    return items, limits


def test_customer_pagination_is_complete(emulator: EmulatorHandle) -> None:
    customers, limits = walk(emulator, f"/admin/api/{emulator.api_version}/customers.json?limit=7")
    ids = [customer["id"] for customer in customers]
    assert len(ids) == len(set(ids)) == 40
    assert ids == sorted(ids)
    assert limits[0] == "1/40"
    first = customers[0]
    assert isinstance(first["id"], int)
    assert first["admin_graphql_api_id"] == f"gid://shopify/Customer/{first['id']}"
    assert isinstance(first["total_spent"], str)
    assert isinstance(first["orders_count"], int)


def test_orders_filters_and_shapes(emulator: EmulatorHandle) -> None:
    path = f"/admin/api/{emulator.api_version}/orders.json"
    every, _ = walk(emulator, f"{path}?status=any&limit=250")
    assert len(every) == 80
    open_only, _ = walk(emulator, f"{path}?limit=25")
    assert all(order["cancelled_at"] is None and order["closed_at"] is None for order in open_only)
    since = every[9]["id"]
    after, _ = walk(emulator, f"{path}?status=any&since_id={since}")
    assert [o["id"] for o in after] == [o["id"] for o in every[10:]]
    created = sorted(order["created_at"] for order in every)
    middle = created[40]
    window, _ = walk(emulator, f"{path}?status=any&created_at_min={middle}")
    assert len(window) == len([c for c in created if c >= middle])
    order = every[0]
    assert isinstance(order["total_price"], str)
    assert isinstance(order["line_items"], list) and order["line_items"]
    item = order["line_items"][0]
    assert isinstance(item["id"], int) and isinstance(item["price"], str)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", order["created_at"])


def test_previous_link_goes_back(emulator: EmulatorHandle) -> None:
    path = f"/admin/api/{emulator.api_version}/customers.json?limit=5"
    with emulator.client() as client:
        first = client.get(path)
        second = client.get(NEXT.search(first.headers["link"]).group(1))  # type: ignore[union-attr]
        back = client.get(PREVIOUS.search(second.headers["link"]).group(1))  # type: ignore[union-attr]
    assert 'rel="previous"' not in first.headers["link"]
    assert back.json() == first.json()


def test_bad_parameters_and_auth(emulator: EmulatorHandle) -> None:
    path = f"/admin/api/{emulator.api_version}/orders.json"
    with emulator.client() as client:
        too_many = client.get(f"{path}?limit=251")
        bad_status = client.get(f"{path}?status=weird")
        mixed = client.get(f"{path}?page_info=abc&status=any")
    with emulator.client("shpat_nope") as client:
        unknown = client.get(path)
    limited = emulator.mint_token(["read_customers"])
    with emulator.client(limited) as client:
        no_scope = client.get(path)
    assert too_many.status_code == 400 and "limit" in too_many.json()["errors"]
    assert bad_status.status_code == 400
    assert mixed.status_code == 400
    assert unknown.status_code == 401
    assert no_scope.status_code == 403 and "read_orders" in no_scope.json()["errors"]


def test_call_limit_bucket_answers_429_with_retry_after(emulator: EmulatorHandle) -> None:
    path = f"/admin/api/{emulator.api_version}/customers.json?limit=1"
    with emulator.client() as client:
        codes = [client.get(path) for _ in range(41)]
        assert [r.status_code for r in codes[:40]] == [200] * 40
        assert codes[39].headers["x-shopify-shop-api-call-limit"] == "40/40"
        assert codes[40].status_code == 429
        assert float(codes[40].headers["retry-after"]) >= 0.5
        emulator.clock.advance(1.0)
        assert client.get(path).status_code == 200
