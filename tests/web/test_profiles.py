"""After Completed: the imported profiles, one profile, the window's buyers, the email.

A real backfill of an emulator store through the app (real SQLite); what the pages show is
checked against ``export_profiles`` (the store's own content), the segment's size against
a count made here from that export, and the completion email as received by a real SMTP
server (aiosmtpd), its links followed with the logged-in client.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from graphql import GraphQLSchema

from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.mapping.intents import ALIAS_CUSTOMER_ID, ORDER_EVENT_NAME
from shopify_backfill.profiles import export_profiles
from shopify_backfill.profiles.browse import DETAIL_ROWS
from shopify_backfill.profiles.schema import users
from shopify_backfill.web import create_app
from shopify_backfill.wiring import build_services

from .conftest import BASE_URL, Shop, User, Web, close_shop, make_user, open_shop, web_settings

START = {"enable": True, "acknowledge_runs_once": True}


@pytest.fixture
def shop(admin_schema: GraphQLSchema) -> Iterator[Shop]:
    """More customers than one page of the list holds."""
    opened = open_shop(admin_schema, customers=70, orders=120, seed=5)
    yield opened
    close_shop(opened)


def completed(web: Web, user: User) -> int:
    store = web.connect(user)
    started = user.post(f"/api/v1/stores/{store['id']}/backfill", json=START)
    assert started.status_code == 202, started.text
    web.wait()
    backfill_id = int(started.json()["backfill_id"])
    assert user.get(f"/api/v1/backfills/{backfill_id}").json()["status"] == "completed"
    return backfill_id


def profile_ids(text: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-profile-id="(\d+)"', text)]


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_list_search_paging_and_tenancy(web: Web) -> None:
    completed(web, web.alice)
    with web.services.engine.connect() as conn:
        rows = conn.execute(
            sa.select(users.c.id, users.c.email, users.c.phone)
            .where(users.c.workspace_id == web.alice.workspace_id)
            .order_by(users.c.id)
        ).all()
    assert len(rows) > 25, "the emulator store fills more than one page"

    first = web.alice.get("/profiles")
    assert first.status_code == 200
    assert profile_ids(first.text) == [row.id for row in rows[:25]]
    assert f"{len(rows)} profiles" in first.text and 'rel="next"' in first.text
    second = web.alice.get("/profiles?page=2")
    assert profile_ids(second.text) == [row.id for row in rows[25:50]]
    assert 'rel="prev"' in second.text

    with_email = next(row for row in rows if row.email)
    found = web.alice.get("/profiles", params={"q": with_email.email.upper()})
    assert with_email.id in profile_ids(found.text)
    assert all(
        with_email.email in (row.email or "") for row in rows if row.id in profile_ids(found.text)
    )
    with_phone = next(row for row in rows if row.phone)
    assert with_phone.id in profile_ids(
        web.alice.get("/profiles", params={"q": with_phone.phone}).text
    )

    api = web.alice.get("/api/v1/profiles", params={"page": 2}).json()
    assert api["total"] == len(rows) and api["page"] == 2
    assert [p["id"] for p in api["profiles"]] == [row.id for row in rows[25:50]]

    # A customer id finds exactly its profile, numeric or as a GID.
    customer = next(p for p in api["profiles"] if p["shopify_customer_id"])
    for query in (
        customer["shopify_customer_id"],
        f"gid://shopify/Customer/{customer['shopify_customer_id']}",
    ):
        assert profile_ids(web.alice.get("/profiles", params={"q": query}).text) == [customer["id"]]

    nothing = web.alice.get("/profiles", params={"q": "nobody-at-all@nowhere.example"})
    assert profile_ids(nothing.text) == [] and "No profile matches" in nothing.text
    wildcard = web.alice.get("/profiles", params={"q": "%"})
    assert profile_ids(wildcard.text) == [], "a % is a character, not a wildcard"

    # Bounded inputs: a search longer than the field's limit, a page past the limit.
    long = web.alice.get("/profiles", params={"q": "a" * 5000})
    assert long.status_code == 422 and "at most 320" in long.text
    assert "a" * 400 not in long.text
    assert web.alice.get("/profiles?page=0").status_code == 422
    assert web.alice.get("/profiles?page=10001").status_code == 422
    assert web.alice.get("/api/v1/profiles", params={"q": "a" * 321}).status_code == 422

    # Tenancy: Bob's workspace has no profiles, and Alice's are 404 for him.
    assert profile_ids(web.bob.get("/profiles").text) == []
    assert web.bob.get("/api/v1/profiles").json()["total"] == 0
    assert web.bob.get(f"/profiles/{rows[0].id}").status_code == 404
    assert web.bob.get(f"/api/v1/profiles/{rows[0].id}").status_code == 404
    leaked = web.bob.get(f"/profiles/{rows[0].id}").text
    assert with_email.email not in leaked


def test_profile_page_matches_the_store(web: Web) -> None:
    completed(web, web.alice)
    with web.services.engine.connect() as conn:
        exported = export_profiles(conn, web.alice.workspace_id)
    # The customer with the most purchases that one page shows whole: the richest to compare.
    profile = max(
        (
            p
            for p in exported
            if p["aliases"].get(ALIAS_CUSTOMER_ID)
            and len(p["purchases"]) <= DETAIL_ROWS
            and len(p["events"]) <= DETAIL_ROWS
        ),
        key=lambda p: len(p["purchases"]),
    )
    assert profile["purchases"], "the emulator store has buyers"
    api = web.alice.get(
        "/api/v1/profiles", params={"q": profile["aliases"][ALIAS_CUSTOMER_ID]}
    ).json()
    (listed,) = api["profiles"]
    detail = web.alice.get(f"/api/v1/profiles/{listed['id']}").json()
    assert detail["aliases"] == profile["aliases"]
    # Money reaches JSON as a number: compare the values' text.
    assert {k: str(v) for k, v in detail["attributes"].items()} == {
        k: str(v) for k, v in profile["attributes"].items()
    }
    shop = web.shop.domain
    assert {f"{shop}/{s['channel']}": s["state"] for s in detail["subscriptions"]} == profile[
        "subscriptions"
    ]
    assert detail["purchases_total"] == len(profile["purchases"])
    assert detail["events_total"] == len(profile["events"])
    assert sorted(
        (p["product_id"], p["quantity"], _when(p["time"])) for p in detail["purchases"]
    ) == sorted((p["product_id"], p["quantity"], _when(p["time"])) for p in profile["purchases"])

    page = web.alice.get(f"/profiles/{listed['id']}")
    assert page.status_code == 200
    assert page.text.count("data-purchase>") == len(profile["purchases"])
    assert page.text.count("data-event>") == len(profile["events"])
    for channel_state in profile["subscriptions"].values():
        assert f"<td>{channel_state}</td>" in page.text
    for purchase in profile["purchases"]:
        assert f"{purchase['price']} {purchase['currency']}" in page.text


def test_segment_size_equals_an_independent_count(web: Web) -> None:
    backfill_id = completed(web, web.alice)
    with web.services.engine.connect() as conn:
        exported = export_profiles(conn, web.alice.workspace_id)
        window = get_backfill(conn, backfill_id).window

    def in_window(iso: str | None) -> bool:
        return iso is not None and window.start <= _when(iso) < window.end

    expected = sum(
        1
        for p in exported
        if any(in_window(b["time"]) for b in p["purchases"])
        or any(e["name"] == ORDER_EVENT_NAME and in_window(e["time"]) for e in p["events"])
    )
    assert 0 < expected < len(exported), "some profiles bought, some did not"

    report = web.alice.get(f"/backfills/{backfill_id}")
    assert f"data-segment-size>{expected:,}<" in report.text
    assert f'href="/backfills/{backfill_id}/segments/bought-in-window"' in report.text
    assert 'href="/profiles"' in report.text and "Bought in the 90 days" in report.text
    assert "webhooks is planned" in report.text

    listed = web.alice.get(f"/api/v1/backfills/{backfill_id}/segments/bought-in-window").json()
    assert listed["total"] == expected and listed["segment"]["size"] == expected
    seen: list[int] = []
    for number in range(1, listed["pages"] + 1):
        seen += profile_ids(
            web.alice.get(
                f"/backfills/{backfill_id}/segments/bought-in-window", params={"page": number}
            ).text
        )
    assert len(seen) == len(set(seen)) == expected

    assert web.bob.get(f"/backfills/{backfill_id}/segments/bought-in-window").status_code == 404
    assert (
        web.bob.get(f"/api/v1/backfills/{backfill_id}/segments/bought-in-window").status_code == 404
    )


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def test_completion_email_is_multipart_with_working_links(
    tmp_path: Path, shop: Shop, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    public = "https://partner.example.com"
    services = build_services(
        web_settings(
            tmp_path / "data",
            app_url=public,
            smtp_host="127.0.0.1",
            smtp_port=port,
            mail_from="backfill@partner.example.com",
        )
    )
    app = create_app(services, transport=shop.transport)
    alice = make_user(services, app, "alice@acme.example", "Acme")
    try:
        with services.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE workspaces SET notification_emails = :to WHERE id = :id"),
                {"to": '["owner@acme.example"]', "id": alice.workspace_id},
            )
        web = Web(services, app, shop, alice, alice)
        backfill_id = completed(web, alice)
        web.wait()
        assert len(inbox.messages) == 1
        message = inbox.messages[0]
        assert message.get_content_type() == "multipart/alternative"
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert plain is not None and html is not None
        text, markup = plain.get_content(), html.get_content()
        assert "orders" in text and "webhooks is planned" in text
        assert f"Report: {public}/backfills/{backfill_id}" in text
        assert f"Imported profiles: {public}/profiles" in text
        assert "not imported" in markup and "webhooks is planned" in markup

        parser = Links()
        parser.feed(markup)
        expected = {
            f"{public}/backfills/{backfill_id}",
            f"{public}/profiles",
            f"{public}/backfills/{backfill_id}/segments/bought-in-window",
        }
        assert set(parser.hrefs) == expected
        for href in parser.hrefs:
            link = urlsplit(href)
            assert f"{link.scheme}://{link.netloc}" == public
            # The same app answers the path, for the logged-in merchant.
            answer = alice.get(link.path)
            assert answer.status_code == 200, (href, answer.status_code)
        segment = alice.get(f"/api/v1/backfills/{backfill_id}/segments/bought-in-window").json()
        assert f"{segment['total']:,} profiles" in markup
        assert f"({segment['total']} profiles): {public}" in text
    finally:
        app.state.web.jobs.wait(timeout=120)
        alice.client.__exit__(None, None, None)
        services.dispose()


def test_email_html_escapes_what_the_store_holds() -> None:
    from shopify_backfill.backfill.completion_email import _html

    report = {
        "shop": "<script>x</script>.myshopify.com",
        "window": {"start": "a", "end": "b"},
        "customers": {
            "created": 1,
            "matched_by_alias": 0,
            "matched_by_email": 0,
            "matched_by_phone": 0,
        },
        "guests": {"profiles_created": 0, "matched_by_email": 0, "matched_by_phone": 0},
        "orders": {"imported": 2},
        "events": 2,
        "purchases": 3,
        "data_points": {"total": 9},
        "issues": {"total": 0},
        "follow_up": ['<img src=x onerror="alert(1)">'],
    }
    markup = _html(report, f"{BASE_URL}/backfills/1", [], None, "live & <sync>")
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "<img" not in markup and "live &amp; &lt;sync&gt;" in markup
