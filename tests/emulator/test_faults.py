"""Every fault switch is observable, in-process and on a real port, and reproducible."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest

from emulator_fixtures import ADMIN_SECRET, EmulatorHandle, serve_on_port

pytest_plugins = ["emulator_fixtures"]

SHOP = "{ shop { id } }"


def statuses(handle: EmulatorHandle, count: int) -> list[Any]:
    seen: list[Any] = []
    with handle.client() as client:
        for _ in range(count):
            try:
                seen.append(client.post(handle.graphql_path, json={"query": SHOP}).status_code)
            except httpx.ReadError:
                seen.append("reset")
    return seen


def test_admin_endpoint_requires_the_admin_secret(emulator: EmulatorHandle) -> None:
    with emulator.client() as client:
        refused = client.post("/emulator/faults", json={"server_error_rate": 1.0})
        wrong = client.post(
            "/emulator/faults", json={"nope": 1}, headers={"X-Emulator-Admin": ADMIN_SECRET}
        )
    assert refused.status_code == 403
    assert wrong.status_code == 422
    assert "nope" in wrong.text
    assert statuses(emulator, 3) == [200, 200, 200]


def test_server_errors_at_a_rate_with_realistic_bodies(emulator: EmulatorHandle) -> None:
    emulator.set_faults(server_error_rate=0.5, seed=3)
    first = statuses(emulator, 40)
    emulator.set_faults(server_error_rate=0.5, seed=3)
    assert statuses(emulator, 40) == first
    assert {500, 502, 503} & set(first)
    assert 200 in first
    emulator.set_faults(server_error_rate=1.0, seed=1)
    with emulator.client() as client:
        bodies = {}
        for _ in range(30):
            response = client.post(emulator.graphql_path, json={"query": SHOP})
            bodies[response.status_code] = response
    assert bodies[500].json() == {"errors": "Internal Server Error"}
    assert bodies[503].headers["retry-after"] == "1"
    assert "text/html" in bodies[502].headers["content-type"]


def test_connection_resets_in_process_raise_read_error(emulator: EmulatorHandle) -> None:
    emulator.set_faults(reset_rate=0.5, seed=11)
    seen = statuses(emulator, 30)
    assert "reset" in seen and 200 in seen


def test_connection_reset_on_a_real_port(emulator: EmulatorHandle) -> None:
    emulator.set_faults(reset_rate=1.0)
    with (
        serve_on_port(emulator.app) as base,
        httpx.Client(base_url=base) as client,
        pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)),
    ):
        client.post(
            emulator.graphql_path,
            json={"query": SHOP},
            headers={"X-Shopify-Access-Token": emulator.token},
        )


def test_forced_throttling(emulator: EmulatorHandle) -> None:
    emulator.set_faults(force_throttle=True)
    body = emulator.graphql(SHOP).json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    with emulator.client() as client:
        rest = client.get(f"/admin/api/{emulator.api_version}/customers.json")
    assert rest.status_code == 429
    assert float(rest.headers["retry-after"]) >= 1


def test_latency(emulator: EmulatorHandle) -> None:
    emulator.set_faults(latency_seconds=0.3)
    started = time.monotonic()
    assert statuses(emulator, 1) == [200]
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [
        ("FAILED", "FAILED", "INTERNAL_SERVER_ERROR"),
        ("TIMEOUT", "FAILED", "TIMEOUT"),
        ("ACCESS_DENIED", "FAILED", "ACCESS_DENIED"),
        ("EXPIRED", "EXPIRED", None),
    ],
)
def test_next_bulk_jobs_end_as_configured(
    emulator: EmulatorHandle, outcome: str, status: str, code: str | None
) -> None:
    emulator.set_faults(bulk_outcomes=[outcome])
    forced = emulator.wait_bulk(emulator.run_bulk()["bulkOperation"]["id"])
    assert (forced["status"], forced["errorCode"], forced["url"]) == (status, code, None)
    after = emulator.wait_bulk(emulator.run_bulk()["bulkOperation"]["id"])
    assert after["status"] == "COMPLETED"


def test_partial_results(emulator: EmulatorHandle) -> None:
    emulator.set_faults(bulk_outcomes=["PARTIAL"], partial_fraction=0.5)
    failed = emulator.wait_bulk(emulator.run_bulk()["bulkOperation"]["id"])
    assert (failed["status"], failed["url"]) == ("FAILED", None)
    assert failed["partialDataUrl"]
    with emulator.client() as client:
        lines = [orjson.loads(x) for x in client.get(failed["partialDataUrl"]).content.splitlines()]
    roots = [line for line in lines if "__parentId" not in line]
    assert len(roots) == 40
    assert str(len(lines)) == failed["objectCount"]
    assert all(
        line["__parentId"] in {r["id"] for r in roots} for line in lines if "__parentId" in line
    )


def test_download_cut_in_process(emulator: EmulatorHandle) -> None:
    done = emulator.wait_bulk(emulator.run_bulk()["bulkOperation"]["id"])
    emulator.set_faults(download_cut_after_bytes=1000)
    received = bytearray()
    with emulator.client() as client, client.stream("GET", done["url"]) as response:
        assert int(response.headers["content-length"]) == int(done["fileSize"])
        with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|expected"):
            for chunk in response.iter_bytes():
                received.extend(chunk)
    assert len(received) == 1000


def test_download_cut_on_a_real_port(emulator: EmulatorHandle) -> None:
    done = emulator.wait_bulk(emulator.run_bulk()["bulkOperation"]["id"])
    emulator.set_faults(download_cut_after_bytes=1000)
    url = done["url"].replace(emulator.base_url, "")
    with (
        serve_on_port(emulator.app) as base,
        httpx.Client(base_url=base) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.get(url)


def test_faults_limited_to_configured_paths(emulator: EmulatorHandle) -> None:
    emulator.set_faults(server_error_rate=1.0)
    with emulator.client() as client:
        response = client.get("/emulator/faults", headers={"X-Emulator-Admin": ADMIN_SECRET})
    assert response.status_code == 200
    assert response.json()["server_error_rate"] == 1.0


def test_a_revoked_token_gets_401_and_others_keep_working(emulator: EmulatorHandle) -> None:
    other = emulator.mint_token(["read_orders"])
    victim = emulator.mint_token(["read_orders"])
    with emulator.client() as client:
        refused = client.post("/emulator/tokens/revoke", json={"token": victim})
        revoked = client.post(
            "/emulator/tokens/revoke",
            json={"token": victim},
            headers={"X-Emulator-Admin": ADMIN_SECRET},
        )
        again = client.post(
            "/emulator/tokens/revoke",
            json={"token": victim},
            headers={"X-Emulator-Admin": ADMIN_SECRET},
        )
        malformed = client.post(
            "/emulator/tokens/revoke", json={"token": 7}, headers={"X-Emulator-Admin": ADMIN_SECRET}
        )
    assert refused.status_code == 403
    assert revoked.status_code == 200
    assert again.status_code == 404
    assert malformed.status_code == 422
    assert emulator.graphql(SHOP, token=victim).status_code == 401
    assert emulator.graphql(SHOP, token=other).status_code == 200
