"""Leaky buckets (unit, with a manual clock) and throttling seen over HTTP."""

from __future__ import annotations

from typing import Any

from emulator_fixtures import ADMIN_SECRET, EmulatorHandle
from shopify_emulator.throttle import CostBuckets, ManualClock, RequestBuckets

pytest_plugins = ["emulator_fixtures"]

# Two aliased full pages of orders with customers and line items: about 800 points each time.
EXPENSIVE = """
query Expensive {
  a: orders(first: 250) {
    nodes { id customer { id }
      lineItems(first: 250) { nodes { id product { id } variant { id } } } }
  }
  b: orders(first: 250, reverse: true) {
    nodes { id customer { id }
      lineItems(first: 250) { nodes { id product { id } variant { id } } } }
  }
}
"""


def test_bucket_refills_at_restore_rate_and_caps_at_maximum() -> None:
    clock = ManualClock()
    buckets = CostBuckets("standard", clock)
    assert buckets.take("t", 1_500)
    assert not buckets.take("t", 600)
    assert buckets.status("t").currently_available == 500
    clock.advance(1.0)
    assert buckets.status("t").currently_available == 600
    assert buckets.take("t", 600)
    clock.advance(3_600)
    assert buckets.status("t").currently_available == 2_000


def test_refund_returns_unused_points_and_tokens_are_separate() -> None:
    buckets = CostBuckets("plus", ManualClock())
    assert buckets.take("a", 900)
    buckets.refund("a", 400)
    assert buckets.status("a").currently_available == 20_000 - 500
    assert buckets.status("b").currently_available == 20_000
    assert buckets.status("b").restore_rate == 1_000


def test_rest_bucket_leaks_two_requests_per_second() -> None:
    clock = ManualClock()
    buckets = RequestBuckets("standard", clock)
    results = [buckets.hit("t")[0] for _ in range(41)]
    assert results[:40] == [True] * 40
    assert results[40] is False
    clock.advance(0.5)
    assert buckets.hit("t")[0] is True


def test_burst_of_expensive_queries_is_throttled(emulator: EmulatorHandle) -> None:
    seen = []
    with emulator.client() as client:
        for _ in range(30):
            body = client.post(emulator.graphql_path, json={"query": EXPENSIVE}).json()
            seen.append(body)
            if "errors" in body:
                break
    throttled = seen[-1]
    assert throttled["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    assert "data" not in throttled
    cost = throttled["extensions"]["cost"]
    assert cost["actualQueryCost"] is None
    assert cost["requestedQueryCost"] > cost["throttleStatus"]["currentlyAvailable"]
    assert cost["throttleStatus"]["maximumAvailable"] == 2_000
    assert len(seen) > 2


def test_client_pacing_from_throttle_status_is_never_throttled(emulator: EmulatorHandle) -> None:
    waited = 0.0
    status = None
    with emulator.client() as client:
        for _ in range(25):
            if status is not None:
                needed = status["requested"] - status["available"]
                if needed > 0:
                    pause = needed / status["rate"]
                    emulator.clock.advance(pause)
                    waited += pause
            body = client.post(emulator.graphql_path, json={"query": EXPENSIVE}).json()
            assert "errors" not in body, body["errors"]
            cost = body["extensions"]["cost"]
            status = {
                "requested": cost["requestedQueryCost"],
                "available": cost["throttleStatus"]["currentlyAvailable"],
                "rate": cost["throttleStatus"]["restoreRate"],
            }
    assert waited > 0


def test_query_over_single_cost_limit_is_refused(emulator: EmulatorHandle) -> None:
    query = (
        "{ "
        + " ".join(
            f"o{i}: orders(first: 250) "
            "{ nodes { id lineItems(first: 250) { nodes { id } } } }"
            for i in range(8)
        )
        + " }"
    )
    body = emulator.graphql(query).json()
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["maxCost"] == 1000
    assert error["message"].startswith(
        f"Query cost is {error['extensions']['cost']}, which exceeds the single query max cost "
        "limit (1000)."
    )
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2_000


def test_plan_sets_bucket_size(emulator: EmulatorHandle) -> None:
    body = emulator.graphql("{ shop { id } }").json()
    status = body["extensions"]["cost"]["throttleStatus"]
    assert (status["maximumAvailable"], status["restoreRate"]) == (2_000, 100)
    assert status["currentlyAvailable"] == 1_999


def _stats(emulator: EmulatorHandle, **headers: str) -> Any:
    with emulator.client() as client:
        return client.get("/emulator/stats", headers=headers)


def test_stats_count_answers_and_throttled_ones_per_api(emulator: EmulatorHandle) -> None:
    assert _stats(emulator).status_code == 403, "the admin secret is required"
    admin = {"X-Emulator-Admin": ADMIN_SECRET}
    before = _stats(emulator, **admin).json()
    assert before == {
        "graphql": {"answered": 0, "throttled": 0},
        "rest": {"answered": 0, "throttled": 0},
    }
    sent = 0
    with emulator.client() as client:
        for _ in range(30):
            body = client.post(emulator.graphql_path, json={"query": EXPENSIVE}).json()
            sent += 1
            if "errors" in body:
                break
        rest_path = f"/admin/api/{emulator.api_version}/shop.json"
        assert client.get(rest_path).status_code == 200
        emulator.set_faults(force_throttle=True)
        assert client.get(rest_path).status_code == 429
    counted = _stats(emulator, **admin).json()
    assert counted == {
        "graphql": {"answered": sent, "throttled": 1},
        "rest": {"answered": 2, "throttled": 1},
    }
    with emulator.client("shpat_not_a_token") as client:
        assert client.post(emulator.graphql_path, json={"query": EXPENSIVE}).status_code == 401
    assert _stats(emulator, **admin).json() == counted, "refused tokens are not answers"
