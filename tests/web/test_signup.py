"""Self-service accounts: sign-up, invitation links, password reset by email.

The real app through the test client, real SQLite, and for the reset email a real SMTP
server (aiosmtpd) on a local port that the app's own SMTP mailer talks to.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from shopify_backfill.backfill.tables import email_outbox
from shopify_backfill.web import create_app
from shopify_backfill.web.onboarding import EXPIRED_LINK
from shopify_backfill.web.security import digest
from shopify_backfill.web.tables import account_tokens, web_users
from shopify_backfill.wiring import build_services

from .conftest import (
    BASE_URL,
    PASSWORD,
    Shop,
    Web,
    login,
    make_user,
    store_now,
    web_settings,
)

NONCE = re.compile(r'name="form_nonce" value="([^"]+)"')
NEW_PASSWORD = "a brand new passphrase"


def form_post(
    client: TestClient, page_url: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Open the public form (its nonce cookie), then send it."""
    page = client.get(page_url)
    match = NONCE.search(page.text)
    assert match, f"{page_url} has its form nonce: {page.status_code}"
    return client.post(action, data={"form_nonce": match.group(1), **data})


def sign_up(client: TestClient, **fields: str) -> httpx.Response:
    """The nonce comes from the plain form (a dead invitation's page has no form)."""
    return form_post(client, "/signup", "/signup", fields)


def user_row(web: Web, email: str) -> Any:
    with web.services.engine.connect() as conn:
        return conn.execute(sa.select(web_users).where(web_users.c.email == email)).one_or_none()


def invite_link(user_client: TestClient, csrf: str) -> str:
    page = user_client.post("/settings/team/invites", data={"csrf_token": csrf})
    assert page.status_code == 200, page.text
    match = re.search(r'id="invite-link"[^>]*value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


# ----------------------------------------------------------------------------- sign-up


def test_sign_up_creates_a_user_in_a_new_workspace_and_logs_in(web: Web) -> None:
    client = web.anonymous()
    login_page = client.get("/login")
    assert 'href="/signup"' in login_page.text and "users add" not in login_page.text
    # Same name as Alice's workspace: still a workspace of its own.
    created = sign_up(client, email="Carol@Initech.example", password=PASSWORD, workspace="Acme")
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/stores?notice=welcome"
    carol = user_row(web, "carol@initech.example")
    assert carol is not None and carol.workspace_id not in (
        web.alice.workspace_id,
        web.bob.workspace_id,
    )
    me = client.get("/api/v1/me").json()
    assert me["workspace"] == {"id": carol.workspace_id, "name": "Acme"}
    web.connect(web.alice)
    stores = client.get("/stores?notice=welcome")
    assert "Your account is ready" in stores.text
    assert web.shop.domain not in stores.text  # Alice's store is not Carol's


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"email": "dave@x.example", "password": "short", "workspace": "W"},
            "password",
            "at least 10",
        ),
        (
            {"email": "not an address", "password": PASSWORD, "workspace": "W"},
            "email",
            "not an email",
        ),
        (
            {"email": "alice@acme.example", "password": PASSWORD, "workspace": "W"},
            "email",
            "already exists",
        ),
        (
            {"email": "dave@x.example", "password": PASSWORD, "workspace": "  "},
            "workspace",
            "Name the workspace",
        ),
    ],
)
def test_sign_up_refusals_name_the_field(
    web: Web, fields: dict[str, str], field: str, words: str
) -> None:
    client = web.anonymous()
    refused = sign_up(client, **fields)
    assert refused.status_code == 422, refused.text
    assert f'id="{field}-error"' in refused.text and words in refused.text
    assert PASSWORD not in refused.text  # the password never comes back
    assert user_row(web, "dave@x.example") is None
    assert client.get("/api/v1/me").status_code == 401


def test_sign_up_form_without_its_nonce_is_refused(web: Web) -> None:
    client = web.anonymous()
    client.get("/signup")
    forged = client.post(
        "/signup", data={"form_nonce": "x", "email": "e@x.example", "password": PASSWORD}
    )
    assert forged.status_code == 403
    assert user_row(web, "e@x.example") is None


# ----------------------------------------------------------------------------- invites


def test_an_invitation_leads_into_the_inviters_workspace_only(web: Web) -> None:
    web.connect(web.alice)
    link = invite_link(web.alice.client, web.alice.csrf)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL and parts.path == "/signup"
    token = parts.query.removeprefix("invite=")
    with web.services.engine.connect() as conn:
        stored = conn.execute(sa.select(account_tokens)).one()
    assert stored.token_hash == digest(token) and token not in str(tuple(stored))
    assert stored.workspace_id == web.alice.workspace_id

    client = web.anonymous()
    page = client.get(f"/signup?invite={token}")
    assert "Join Acme" in page.text and 'name="workspace"' not in page.text
    # A workspace field added by hand (Bob's workspace's name) is ignored.
    joined = sign_up(
        client, invite=token, email="erin@acme.example", password=PASSWORD, workspace="Globex"
    )
    assert joined.status_code == 303, joined.text
    erin = user_row(web, "erin@acme.example")
    assert erin.workspace_id == web.alice.workspace_id
    assert client.get("/api/v1/me").json()["workspace"]["id"] == web.alice.workspace_id
    assert [s["shop"] for s in client.get("/api/v1/stores").json()["stores"]] == [web.shop.domain]
    team = client.get("/settings/team")
    assert "alice@acme.example" in team.text and "bob@globex.example" not in team.text

    # Used once: a second redemption (another person, same link) is refused.
    again = sign_up(web.anonymous(), invite=token, email="frank@x.example", password=PASSWORD)
    assert again.status_code == 410 and EXPIRED_LINK in again.text
    assert user_row(web, "frank@x.example") is None


def test_another_workspaces_member_cannot_invite_into_it(web: Web) -> None:
    """Bob's invitations lead into Globex whatever the form says; no route takes a
    workspace, and the team page shows only his own members."""
    response = web.bob.client.post(
        "/settings/team/invites",
        data={"csrf_token": web.bob.csrf, "workspace_id": str(web.alice.workspace_id)},
    )
    token = re.search(r"invite=([^\"&]+)", response.text)
    assert token
    joined = sign_up(
        web.anonymous(), invite=token.group(1), email="gina@x.example", password=PASSWORD
    )
    assert joined.status_code == 303
    assert user_row(web, "gina@x.example").workspace_id == web.bob.workspace_id
    assert "alice@acme.example" not in web.bob.get("/settings/team").text
    # Without the CSRF token, nothing is created.
    forged = web.bob.client.post("/settings/team/invites", data={})
    assert forged.status_code == 403


def test_an_expired_or_unknown_invitation_is_refused_and_says_what_to_do(web: Web) -> None:
    token = urlsplit(invite_link(web.alice.client, web.alice.csrf)).query.removeprefix("invite=")
    with web.services.engine.begin() as conn:
        conn.execute(
            sa.update(account_tokens).values(expires_at=store_now() - timedelta(seconds=1))
        )
    client = web.anonymous()
    page = client.get(f"/signup?invite={token}")
    assert page.status_code == 410 and EXPIRED_LINK in page.text
    assert 'action="/signup"' not in page.text
    late = sign_up(client, invite=token, email="hank@x.example", password=PASSWORD)
    assert late.status_code == 410 and user_row(web, "hank@x.example") is None
    unknown = client.get("/signup?invite=made-up")
    assert unknown.status_code == 410


# ----------------------------------------------------------------------------- password reset


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailed(tmp_path: Path, shop: Shop) -> Iterator[tuple[Web, Inbox]]:
    """``web`` whose mail goes to a real SMTP server on a local port."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    services = build_services(
        web_settings(tmp_path / "data", smtp_host="127.0.0.1", smtp_port=port)
    )
    app = create_app(services, transport=shop.transport)
    alice = make_user(services, app, "alice@acme.example", "Acme")
    bob = make_user(services, app, "bob@globex.example", "Globex")
    yield Web(services, app, shop, alice, bob), inbox
    for user in (alice, bob):
        user.client.__exit__(None, None, None)
    services.dispose()
    controller.stop()


def forgot(client: TestClient, email: str) -> httpx.Response:
    return form_post(client, "/password/forgot", "/password/forgot", {"email": email})


def test_reset_link_arrives_by_smtp_and_works_once(mailed: tuple[Web, Inbox]) -> None:
    web, inbox = mailed
    client = web.anonymous()
    assert 'href="/password/forgot"' in client.get("/login").text
    known = forgot(client, "Alice@Acme.example")
    unknown = forgot(client, "nobody@acme.example")
    assert known.status_code == unknown.status_code == 200
    sent = re.compile(r"data-reset-sent>([^<]+)<")
    assert sent.search(known.text).group(1) == sent.search(unknown.text).group(1)  # type: ignore[union-attr]
    assert len(inbox.messages) == 1, [m[0] for m in inbox.messages]
    recipients, message = inbox.messages[0]
    assert recipients == ["alice@acme.example"]
    assert message["Subject"] == "Reset your shopify-backfill password"
    link = re.search(r"https://testserver/password/reset\?token=\S+", message.get_content())
    assert link, message.get_content()
    with web.services.engine.connect() as conn:
        outcome = conn.execute(sa.select(email_outbox.c.status, email_outbox.c.kind)).one()
        token = link.group(0).split("token=", 1)[1]
        stored = conn.execute(sa.select(account_tokens.c.token_hash)).scalar_one()
    assert tuple(outcome) == ("sent", "password_reset") and stored == digest(token)

    target = urlsplit(link.group(0))
    page = client.get(f"{target.path}?{target.query}")
    assert page.status_code == 200 and "Set a new password" in page.text
    short = form_post(
        client,
        f"{target.path}?{target.query}",
        "/password/reset",
        {"token": token, "password": "short"},
    )
    assert short.status_code == 422 and "at least 10" in short.text  # the link still works
    done = form_post(
        client,
        f"{target.path}?{target.query}",
        "/password/reset",
        {"token": token, "password": NEW_PASSWORD},
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?done=password_reset"
    assert "Your password was changed" in client.get("/login?done=password_reset").text
    # Every session of the account ended; the old password no longer works, the new one does.
    assert web.alice.get("/api/v1/me").status_code == 401
    assert login(web.anonymous(), "alice@acme.example", PASSWORD).status_code == 401
    assert login(web.anonymous(), "alice@acme.example", NEW_PASSWORD).status_code == 303
    # Once only.
    reused = client.get(f"{target.path}?{target.query}")
    assert reused.status_code == 410 and EXPIRED_LINK in reused.text
    replay = form_post(
        client,
        "/password/forgot",  # the dead link's page has no form; the nonce is the same
        "/password/reset",
        {"token": token, "password": "another long one"},
    )
    assert replay.status_code == 410
    assert login(web.anonymous(), "alice@acme.example", "another long one").status_code == 401


def test_an_expired_reset_link_is_refused(mailed: tuple[Web, Inbox]) -> None:
    web, inbox = mailed
    forgot(web.anonymous(), "bob@globex.example")
    token = re.search(r"token=(\S+)", inbox.messages[0][1].get_content()).group(1)  # type: ignore[union-attr]
    with web.services.engine.begin() as conn:
        conn.execute(
            sa.update(account_tokens).values(expires_at=store_now() - timedelta(seconds=1))
        )
    client = web.anonymous()
    page = client.get(f"/password/reset?token={token}")
    assert page.status_code == 410 and 'name="password"' not in page.text
    late = form_post(
        client, "/password/forgot", "/password/reset", {"token": token, "password": NEW_PASSWORD}
    )
    assert late.status_code == 410
    assert login(web.anonymous(), "bob@globex.example", PASSWORD).status_code == 303


@pytest.mark.parametrize("email", ["alice@acme.example", "nobody@acme.example"])
def test_forgot_is_throttled_alike_for_known_and_unknown_addresses(web: Web, email: str) -> None:
    client = TestClient(
        web.app, base_url=BASE_URL, follow_redirects=False, client=("203.0.113.9", 1)
    )
    for _ in range(5):
        assert forgot(client, email).status_code == 200
    throttled = forgot(client, email)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert "Too many attempts" in throttled.text
    with web.services.engine.connect() as conn:
        queued = conn.execute(sa.select(sa.func.count()).select_from(email_outbox)).scalar()
    assert queued == (5 if email.startswith("alice") else 0)
    # Logging in is counted apart: the account's login attempts are untouched.
    assert login(client, "alice@acme.example").status_code == 303
