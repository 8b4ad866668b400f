"""The Braze stand-in validates and applies ``/users/track`` as Braze documents.

https://www.braze.com/docs/api/endpoints/user_data/post_user_track/ (request shape, the
75-object cap, alias-only users with ``_update_existing_only: false``),
https://www.braze.com/docs/api/errors/ (fatal 4xx versus non-fatal ``errors``),
https://www.braze.com/docs/api/api_limits/ (3,000 requests per 3 s, rate-limit headers).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from braze_emulator import BrazeWorkspace, create_app
from shopify_emulator.transport import EmulatorTransport

KEY = "k-1"
ALICE = {"alias_label": "shopify_customer_id", "alias_name": "1"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def workspace(clock: Clock) -> BrazeWorkspace:
    ws = BrazeWorkspace(limit=5, window_seconds=1.0, clock=clock)
    ws.add_key(KEY)
    return ws


@pytest.fixture
def client(workspace: BrazeWorkspace) -> Iterator[httpx.Client]:
    transport = EmulatorTransport(create_app(workspace, admin_secret="s"))
    with httpx.Client(
        transport=transport,
        base_url="https://rest.stand-in.braze",
        headers={"Authorization": f"Bearer {KEY}"},
    ) as http:
        yield http
    transport.close()


def attrs(**values: Any) -> dict[str, Any]:
    return {"user_alias": ALICE, "_update_existing_only": False, **values}


def event(**values: Any) -> dict[str, Any]:
    base = {"name": "shopify_created_order", "time": "2026-01-02T03:04:05Z"}
    return attrs(**{**base, **values})


def test_an_alias_only_user_is_created_only_with_update_existing_only_false(
    client: httpx.Client, workspace: BrazeWorkspace
) -> None:
    ignored = {"user_alias": ALICE, "first_name": "A"}
    assert client.post("/users/track", json={"attributes": [ignored]}).status_code == 201
    assert workspace.users() == []
    answer = client.post("/users/track", json={"attributes": [attrs(first_name="A")]})
    assert answer.status_code == 201 and answer.json()["attributes_processed"] == 1
    user = workspace.user("shopify_customer_id", "1")
    assert user is not None and user.attributes == {"first_name": "A"}
    later = {"user_alias": ALICE, "last_name": "B"}  # existing now: updated
    client.post("/users/track", json={"attributes": [later]})
    assert workspace.users()[0].attributes == {"first_name": "A", "last_name": "B"}


def test_email_next_to_an_alias_is_an_attribute_and_null_removes(
    client: httpx.Client, workspace: BrazeWorkspace
) -> None:
    client.post("/users/track", json={"attributes": [attrs(email="a@x.io", city="P")]})
    client.post("/users/track", json={"attributes": [attrs(city=None)]})
    assert workspace.users()[0].attributes == {"email": "a@x.io"}


def test_events_are_never_deduplicated_and_prices_stay_exact(
    client: httpx.Client, workspace: BrazeWorkspace
) -> None:
    purchase = attrs(
        product_id="p", currency="EUR", price=12.30, quantity=2, time="2026-01-02T03:04:05.123Z"
    )
    body = {"events": [event(properties={"order_id": 1})], "purchases": [purchase]}
    for _ in range(2):
        assert client.post("/users/track", json=body).status_code == 201
    user = workspace.users()[0]
    assert len(user.events) == 2 and len(user.purchases) == 2
    assert user.purchases[0].price == Decimal("12.3")


def test_the_cap_counts_the_three_arrays_together_unless_legacy(clock: Clock) -> None:
    for legacy, allowed in ((False, False), (True, True)):
        ws = BrazeWorkspace(legacy_per_array=legacy, clock=clock)
        ws.add_key(KEY)
        app = EmulatorTransport(create_app(ws))
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(transport=app, base_url="https://b", headers=headers) as http:
            full = {"attributes": [attrs(n=i) for i in range(75)]}
            assert http.post("/users/track", json=full).status_code == 201
            over = {"attributes": [attrs(n=i) for i in range(40)], "events": [event()] * 36}
            answer = http.post("/users/track", json=over)
            assert (answer.status_code == 201) is allowed
            if not allowed:
                assert answer.status_code == 400
                assert answer.json()["message"] == "Max Input Length Exceeded"
        app.close()


def test_bad_objects_are_named_and_skipped_the_rest_applied(
    client: httpx.Client, workspace: BrazeWorkspace
) -> None:
    body = {
        "events": [
            event(time="yesterday"),
            event(time="2026-13-02T03:04:05Z"),
            event(name=""),
            event(),
            {"name": "x", "time": "2026-01-02T03:04:05Z"},
        ],
        "purchases": [
            attrs(product_id="p", currency="euro", price=1, time="2026-01-02T03:04:05Z"),
            attrs(product_id="p", currency="EUR", price=1, quantity=101, time="2026-01-02"),
        ],
    }
    answer = client.post("/users/track", json=body)
    assert answer.status_code == 201
    errors = answer.json()["errors"]
    assert [(e["input_array"], e["index"]) for e in errors] == [
        ("events", 0),
        ("events", 1),
        ("events", 2),
        ("events", 4),
        ("purchases", 0),
        ("purchases", 1),
    ]
    assert answer.json()["events_processed"] == 1
    assert len(workspace.users()[0].events) == 1


def test_empty_bodies_and_bad_json_are_refused_whole(client: httpx.Client) -> None:
    empty = client.post("/users/track", json={})
    assert empty.status_code == 400 and "Valid data must be provided" in empty.json()["message"]
    assert client.post("/users/track", content=b"{nope").status_code == 400


def test_keys_and_permissions(client: httpx.Client, workspace: BrazeWorkspace) -> None:
    body = {"attributes": [attrs(a=1)]}
    assert (
        client.post("/users/track", json=body, headers={"Authorization": "Bearer no"}).status_code
        == 401
    )
    workspace.add_key("export-only", frozenset({"users.export.ids"}))
    denied = client.post("/users/track", json=body, headers={"Authorization": "Bearer export-only"})
    assert denied.status_code == 403 and "users.track" in denied.json()["message"]
    workspace.revoke_key(KEY)
    assert client.post("/users/track", json=body).status_code == 401


def test_the_rate_limit_is_per_window_with_braze_headers(
    client: httpx.Client, clock: Clock
) -> None:
    body = {"attributes": [attrs(a=1)]}
    answers = [client.post("/users/track", json=body) for _ in range(6)]
    assert [a.status_code for a in answers] == [201] * 5 + [429]
    assert answers[0].headers["X-RateLimit-Limit"] == "5"
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert int(answers[5].headers["X-RateLimit-Reset"]) == 1001
    assert answers[5].headers["Retry-After"] == "1"
    clock.now += 1.0
    assert client.post("/users/track", json=body).status_code == 201


def test_faults(client: httpx.Client, workspace: BrazeWorkspace) -> None:
    body = {"events": [event()]}
    workspace.faults.fail_next = 1
    assert client.post("/users/track", json=body).status_code == 500
    workspace.faults.reset_next = 1
    with pytest.raises(httpx.ReadError):
        client.post("/users/track", json=body)
    assert workspace.users() == [], "a reset before processing applies nothing"
    workspace.faults.drop_after_accept_next = 1
    with pytest.raises(httpx.ReadError):
        client.post("/users/track", json=body)
    assert len(workspace.users()[0].events) == 1, "applied, then the connection dropped"
    workspace.faults.queued_share = 1.0
    queued = client.post("/users/track", json=body)
    assert queued.status_code == 202 and queued.json() == {"message": "queued"}


def test_export_ids_says_which_aliases_exist(client: httpx.Client) -> None:
    client.post("/users/track", json={"attributes": [attrs(a=1)]})
    other = {"alias_label": "shopify_customer_id", "alias_name": "2"}
    answer = client.post("/users/export/ids", json={"user_aliases": [ALICE, other]}).json()
    assert [u["user_aliases"] for u in answer["users"]] == [[ALICE]]
    assert answer["invalid_user_ids"] == [other]


def test_admin_routes_need_the_secret(client: httpx.Client, workspace: BrazeWorkspace) -> None:
    assert client.get("/_admin/stats").status_code == 404
    ok = client.post("/_admin/faults", json={"fail_next": 2}, headers={"X-Admin-Secret": "s"})
    assert ok.status_code == 200 and workspace.faults.fail_next == 2
    bad = client.post("/_admin/faults", json={"nope": 1}, headers={"X-Admin-Secret": "s"})
    assert bad.status_code == 400
