"""Guessing passwords and API keys: 429 with Retry-After, no enumeration, an audit trail.

The real app, through the test client, with its default tiers (5 logins a minute per
account, 20 per client address); a client's address is set per ``TestClient``. The
in-memory counters for most tests, real Redis for the shared backend.

``limits`` reads the wall clock through ``time.time`` and the web app has no clock seam
of its own (routes call ``utcnow``), so the tests that wait for a ``Retry-After`` move
``time.time`` forward instead of sleeping.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shopify_backfill.config import describe_settings_error
from shopify_backfill.web import create_app
from shopify_backfill.web.accounts import add_user
from shopify_backfill.web.security import digest
from shopify_backfill.web.throttle import KEY_PREFIX, describe_wait
from shopify_backfill.wiring import build_services

from .conftest import BASE_URL, PASSWORD, Web, login, store_now, web_settings

WRONG = "not the password at all"
REDIS_URL = "redis://127.0.0.1:6379/12"
AUDIT = "shopify_backfill.web.audit"


def client_at(app: Any, address: str) -> TestClient:
    return TestClient(app, base_url=BASE_URL, follow_redirects=False, client=(address, 50000))


def audited(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The audit records' fields (set through ``extra``)."""
    return [record.__dict__ for record in caplog.records if record.name == AUDIT]


def retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    value = int(response.headers["retry-after"])
    assert 1 <= value <= 60
    return value


@pytest.fixture
def advance_wall_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move ``time.time`` forward by some seconds, for the rest of the test."""
    real = time.time
    offset = [0.0]
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def test_wrong_passwords_lock_the_account_until_retry_after(
    web: Web, advance_wall_clock: Callable[[float], None]
) -> None:
    guesser = client_at(web.app, "198.51.100.7")
    for _ in range(5):
        assert login(guesser, web.alice.email, WRONG).status_code == 401
    locked = login(guesser, web.alice.email, WRONG)
    wait = retry_after(locked)
    # A 60 s window, less the time the five refusals took on a loaded machine.
    assert 50 <= wait <= 60
    assert f"Too many login attempts. Try again in {describe_wait(wait)}." in locked.text
    assert 'name="login_csrf"' in locked.text  # still the form, to try again later
    assert "sbf_session=" not in locked.headers.get("set-cookie", "")

    # Per account: the right password, from another address, is refused too.
    owner = client_at(web.app, "203.0.113.20")
    assert retry_after(login(owner, web.alice.email)) <= wait
    advance_wall_clock(wait - 2)
    assert login(owner, web.alice.email).status_code == 429
    advance_wall_clock(2)
    assert login(owner, web.alice.email).status_code == 303

    # The success cleared the account's windows: one typo is a 401 again, not a 429.
    assert login(owner, web.alice.email, WRONG).status_code == 401


def test_one_address_guessing_many_accounts_is_throttled(web: Web) -> None:
    guesser = client_at(web.app, "198.51.100.8")
    for number in range(20):
        assert login(guesser, f"user{number}@acme.example", WRONG).status_code == 401
    retry_after(login(guesser, "fresh@acme.example", WRONG))
    retry_after(login(guesser, web.bob.email))  # a real account, the right password
    assert login(client_at(web.app, "198.51.100.9"), web.bob.email).status_code == 303


def _comparable(response: httpx.Response, email: str) -> str:
    """The page without its per-request nonce and the email echoed into the form."""
    text = re.sub(r'name="login_csrf" value="[^"]+"', "", response.text)
    return text.replace(email, "EMAIL")


def test_unknown_account_gets_the_same_answers_as_a_wrong_password(web: Web) -> None:
    known = client_at(web.app, "198.51.100.10")
    unknown = client_at(web.app, "198.51.100.11")
    nobody = "nobody@acme.example"
    for attempt in range(6):
        wrong = login(known, web.alice.email, WRONG)
        missing = login(unknown, nobody, WRONG)
        expected = 401 if attempt < 5 else 429
        assert wrong.status_code == missing.status_code == expected
        assert _comparable(wrong, web.alice.email) == _comparable(missing, nobody)
        assert ("retry-after" in wrong.headers) == ("retry-after" in missing.headers)
    assert abs(int(wrong.headers["retry-after"]) - int(missing.headers["retry-after"])) <= 1


def test_failed_logins_are_audited_without_the_password(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=AUDIT)
    guesser = client_at(web.app, "198.51.100.12")
    login(guesser, "  Alice@ACME.example ", WRONG)
    login(guesser, "Nobody@acme.example", WRONG)
    for _ in range(4):
        login(guesser, web.alice.email, WRONG)
    login(guesser, web.alice.email, PASSWORD)  # throttled by now
    records = [record for record in caplog.records if record.name == AUDIT]
    seen = [(r["audit"], r["email"], r["client_address"], r["reason"]) for r in audited(caplog)]
    assert seen[0] == ("login_failed", "alice@acme.example", "198.51.100.12", "wrong_password")
    assert seen[1] == ("login_failed", "nobody@acme.example", "198.51.100.12", "unknown_account")
    assert [item[3] for item in seen[2:]] == ["wrong_password"] * 4 + ["throttled"]
    assert len(records) == 7
    assert "alice@acme.example" in records[0].getMessage()
    for record in records:
        assert WRONG not in str(record.__dict__) and PASSWORD not in str(record.__dict__)


def test_api_key_guessing_is_throttled_per_address(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=AUDIT)
    secret = web.alice.post("/api/v1/api-keys", json={"name": "k"}).json()["secret"]
    guesser = client_at(web.app, "198.51.100.13")
    for number in range(20):
        headers = {"Authorization": f"Bearer sbk_guess{number}"}
        assert guesser.get("/api/v1/me", headers=headers).status_code == 401
    refused = guesser.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    retry_after(refused)
    assert refused.json()["error"]["code"] == "too_many_attempts"
    other = client_at(web.app, "198.51.100.14")
    me = other.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["workspace"]["name"] == "Acme"
    reasons = [record["reason"] for record in audited(caplog)]
    assert reasons == ["unknown_or_revoked_key"] * 20 + ["throttled"]
    assert "sbk_guess" not in caplog.text and secret not in caplog.text


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[tuple[Any, Any, str]]:
    """Two apps over one database and one Redis, as two ``serve`` processes would be."""
    assert _redis_up(), "Redis must run on 127.0.0.1:6379 for the shared throttle test"
    settings = web_settings(tmp_path / "data", auth_throttle_url=REDIS_URL)
    services = build_services(settings)
    email = f"shared-{uuid.uuid4().hex[:12]}@acme.example"
    with services.engine.begin() as conn:
        add_user(conn, email=email, password=PASSWORD, workspace="Acme", now=store_now())
    first, second = create_app(services), create_app(services)
    yield first, second, email
    store = redis.Redis.from_url(REDIS_URL)
    for pattern in (f"{KEY_PREFIX}:*{digest(email)}*", f"{KEY_PREFIX}:*192.0.2.*"):
        for key in store.scan_iter(pattern):
            store.delete(key)
    services.dispose()


def test_redis_counts_are_shared_by_every_web_process(
    two_processes: tuple[Any, Any, str],
) -> None:
    first, second, email = two_processes
    octet = uuid.uuid4().int % 250 + 1
    for _ in range(5):
        assert login(client_at(first, f"192.0.2.{octet}"), email, WRONG).status_code == 401
    retry_after(login(client_at(second, f"192.0.2.{octet + 1}"), email))
    keys = [key.decode() for key in redis.Redis.from_url(REDIS_URL).scan_iter(f"{KEY_PREFIX}:*")]
    mine = [key for key in keys if digest(email) in key]
    assert mine and not any(email in key for key in keys)


def test_unreachable_redis_refuses_logins(tmp_path: Path) -> None:
    settings = web_settings(tmp_path / "data", auth_throttle_url="redis://127.0.0.1:1/0")
    services = build_services(settings)
    try:
        response = login(client_at(create_app(services), "192.0.2.250"), "a@acme.example")
    finally:
        services.dispose()
    assert response.status_code == 503
    assert "SHOPIFY_BACKFILL_AUTH_THROTTLE_URL" in response.text


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("login_limits_per_account", "0/minute", "COUNT/PERIOD"),
        ("login_limits_per_address", "often", "COUNT/PERIOD"),
        ("api_key_limits_per_address", "", "COUNT/PERIOD"),
        ("auth_throttle_url", "http://127.0.0.1:6379", "redis://"),
    ],
)
def test_bad_throttle_settings_are_named(tmp_path: Path, name: str, value: str, hint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        web_settings(tmp_path, **{name: value})
    described = describe_settings_error(caught.value)
    assert f"SHOPIFY_BACKFILL_{name.upper()}" in described and hint in described
    assert len(described.splitlines()) == 2
    assert web_settings(tmp_path, **{name: "3/minute;9/hour" if hint != "redis://" else None})


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 second"), (59, "59 seconds"), (60, "1 minute"), (61, "2 minutes"), (3600, "1 hour")],
)
def test_waits_are_said_in_the_largest_whole_unit(seconds: int, words: str) -> None:
    assert describe_wait(seconds) == words
