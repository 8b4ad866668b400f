"""Logging in, sessions, CSRF, API keys and the ``users add`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from shopify_backfill.web.passwords import hash_password, verify_password
from shopify_backfill.web.tables import api_keys, web_sessions, web_users

from .conftest import PASSWORD, Web, login


def test_pages_redirect_to_login_and_api_answers_401(web: Web) -> None:
    anonymous = web.anonymous()
    page = anonymous.get("/stores")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/stores"
    api = anonymous.get("/api/v1/stores")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "not_authenticated"


def test_login_sets_a_hardened_session_cookie(web: Web) -> None:
    client = web.anonymous()
    response = login(client, web.alice.email)
    assert response.status_code == 303
    assert response.headers["location"] == "/stores"
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith("sbf_session=")
    )
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "secure" in lowered
    assert "samesite=lax" in lowered
    assert PASSWORD not in cookie
    assert client.get("/stores").status_code == 200


def test_wrong_password_and_unknown_user_are_refused_alike(web: Web) -> None:
    wrong = login(web.anonymous(), web.alice.email, "not the password")
    unknown = login(web.anonymous(), "nobody@acme.example")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "The email or the password is not correct." in response.text
        assert "sbf_session=" not in response.headers.get("set-cookie", "")


def test_login_without_the_form_cookie_is_refused(web: Web) -> None:
    client = web.anonymous()
    response = client.post(
        "/login", data={"email": web.alice.email, "password": PASSWORD, "login_csrf": "forged"}
    )
    assert response.status_code == 403
    assert "sbf_session=" not in response.headers.get("set-cookie", "")


def test_login_redirect_stays_on_this_site(web: Web) -> None:
    client = web.anonymous()
    page = client.get("/login?next=//evil.example/phish")
    assert 'name="next" value="/stores"' in page.text
    page = client.get("/login?next=/notifications")
    assert 'name="next" value="/notifications"' in page.text


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/phish",
        "/\\evil.example/phish",
        "/\t/evil.example/phish",
        "/\n/evil.example",
        "https:/evil.example",
        "javascript:alert(1)",
    ],
)
def test_login_never_redirects_to_another_site(web: Web, target: str) -> None:
    client = web.anonymous()
    page = client.get("/login", params={"next": target})
    assert 'name="next" value="/stores"' in page.text
    response = login(client, web.alice.email, next_url=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/stores"


def test_passwords_and_sessions_are_stored_hashed(web: Web) -> None:
    with web.services.engine.connect() as conn:
        stored = conn.execute(
            sa.select(web_users.c.password_hash).where(web_users.c.email == web.alice.email)
        ).scalar_one()
        sessions = conn.execute(sa.select(web_sessions.c.token_hash)).scalars().all()
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert verify_password(PASSWORD, stored) and not verify_password("other", stored)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # per-user salt
    cookie = web.alice.client.cookies.get("sbf_session") or ""
    assert sessions and all(len(digest) == 64 and digest not in cookie for digest in sessions)


def test_logout_ends_the_session_server_side(web: Web) -> None:
    cookie = web.alice.client.cookies.get("sbf_session")
    assert web.alice.form("/logout", {}).status_code == 303
    replay = web.anonymous()
    replay.cookies.set("sbf_session", cookie or "")
    assert replay.get("/api/v1/me").status_code == 401


def test_state_changing_calls_need_the_csrf_token(web: Web) -> None:
    client = web.alice.client
    no_token = client.post("/api/v1/notifications/read", json={})
    assert no_token.status_code == 403
    assert no_token.json()["error"]["field"] == "csrf_token"
    wrong = client.post("/api/v1/notifications/read", json={}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    bob_token = client.post(
        "/api/v1/notifications/read", json={}, headers={"X-CSRF-Token": web.bob.csrf}
    )
    assert bob_token.status_code == 403
    form = client.post("/stores/token", data={"shop": web.shop.domain, "token": web.shop.token})
    assert form.status_code == 403
    assert web.alice.post("/api/v1/notifications/read", json={}).status_code == 200
    assert web.alice.get("/api/v1/stores").json() == {"stores": []}


def test_forged_session_cookie_is_ignored(web: Web) -> None:
    client = web.anonymous()
    client.cookies.set("sbf_session", "made-up.value.signature")
    assert client.get("/api/v1/me").status_code == 401


def test_api_keys_are_shown_once_stored_hashed_and_revocable(web: Web) -> None:
    created = web.alice.post("/api/v1/api-keys", json={"name": "reporting"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("sbk_")
    listed = web.alice.get("/api/v1/api-keys").json()["api_keys"]
    assert [key["name"] for key in listed] == ["reporting"]
    assert secret not in str(listed)
    with web.services.engine.connect() as conn:
        hashes = conn.execute(sa.select(api_keys.c.key_hash)).scalars().all()
    assert secret not in hashes and len(hashes) == 1

    scripted = web.anonymous()
    headers = {"Authorization": f"Bearer {secret}"}
    me = scripted.get("/api/v1/me", headers=headers).json()
    assert me["auth"] == "api_key" and me["workspace"]["name"] == "Acme"
    assert me["csrf_token"] is None
    # No CSRF token needed with a key: it is never sent implicitly by a browser.
    assert scripted.post("/api/v1/notifications/read", json={}, headers=headers).status_code == 200
    # Creating keys and OAuth need a logged-in browser.
    refused = scripted.post("/api/v1/api-keys", json={"name": "x"}, headers=headers)
    assert refused.status_code == 403

    assert web.alice.delete(f"/api/v1/api-keys/{listed[0]['id']}").status_code == 204
    assert scripted.get("/api/v1/me", headers=headers).status_code == 401
    assert scripted.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_api_key_pages(web: Web) -> None:
    page = web.alice.form("/settings/api-keys", {"name": "nightly export"})
    assert page.status_code == 201
    assert "it will not be shown again" in page.text
    secret = page.text.split("data-new-key", 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]
    assert secret.startswith("sbk_")
    again = web.alice.get("/settings/api-keys")
    assert "nightly export" in again.text and secret not in again.text
    empty = web.alice.form("/settings/api-keys", {"name": "  "})
    assert empty.status_code == 422 and "name" in empty.text
    key_id = web.alice.get("/api/v1/api-keys").json()["api_keys"][0]["id"]
    assert web.alice.form(f"/settings/api-keys/{key_id}/revoke", {}).status_code == 303
    assert web.alice.get("/api/v1/api-keys").json()["api_keys"][0]["revoked"] is True


def test_invalid_api_key_body_names_the_field(web: Web) -> None:
    response = web.alice.post("/api/v1/api-keys", json={"name": ""})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "name"


def test_users_add_command_creates_a_user_who_can_log_in(tmp_path: Path) -> None:
    env = {"SHOPIFY_BACKFILL_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "shopify_backfill", "users", "add"]
    added = subprocess.run(
        [*command, "--email", "Owner@Shop.example", "--workspace", "Shop", "--password-stdin"],
        input=f"{PASSWORD}\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert "owner@shop.example" in added.stdout and PASSWORD not in added.stdout
    short = subprocess.run(
        [*command, "--email", "x@shop.example", "--workspace", "Shop", "--password-stdin"],
        input="short\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert short.returncode == 65
    assert "--password" in short.stderr
    serve_help = subprocess.run(
        [sys.executable, "-m", "shopify_backfill", "serve", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert serve_help.returncode == 0 and "--port" in serve_help.stdout
