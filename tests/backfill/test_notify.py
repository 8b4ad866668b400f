"""Dashboard notifications and emails: a real SMTP server (aiosmtpd), a dead one, none."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from shopify_backfill.backfill.notify import list_notifications, mark_read

from .conftest import RECIPIENTS, Shop, connect, start_and_run

PASSWORD = "s3cret-smtp-password"


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


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    ok = (
        isinstance(auth, LoginPassword)
        and auth.login == b"backfill"
        and (auth.password == PASSWORD.encode())
    )
    return AuthResult(success=ok)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, port
    controller.stop()


def test_completion_email_reaches_the_workspace_addresses(
    make_shop: Any,
    make_services: Any,
    smtp: tuple[Inbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, port = smtp
    shop: Shop = make_shop(customers=30, orders=120, seed=6)
    services = make_services(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_username="backfill",
        smtp_password=PASSWORD,
        mail_from="backfill@platform.example",
    )
    row = connect(services, shop)
    caplog.set_level(logging.DEBUG)
    outcome = start_and_run(services, row, shop.options())
    assert outcome.status == "completed"
    report = outcome.report
    assert report is not None

    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == list(RECIPIENTS)
    assert message["Subject"] == f"Shopify backfill of {shop.domain} completed"
    assert message["From"] == "backfill@platform.example"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    body = plain.get_content()
    assert f"imported                {report['orders']['imported']:>9}" in body
    assert f"created                 {report['customers']['created']:>9}" in body
    assert f"data points                    {report['data_points']['total']:>9}" in body
    assert [(e.status, e.attempts) for e in outcome.emails] == [("sent", 1)]
    assert PASSWORD not in caplog.text


def test_smtp_down_never_fails_the_backfill(make_shop: Any, make_services: Any) -> None:
    shop: Shop = make_shop(customers=20, orders=60, seed=8)
    services = make_services(smtp_host="127.0.0.1", smtp_port=_free_port(), mail_attempts=3)
    row = connect(services, shop)
    outcome = start_and_run(services, row, shop.options())
    assert outcome.status == "completed"
    assert outcome.exit_code == 0
    [email] = outcome.emails
    assert email.status == "failed"
    assert email.attempts == 3
    assert email.last_error is not None and "Connection refused" in email.last_error
    with services.engine.connect() as conn:
        kinds = [n.kind for n in list_notifications(conn, row.workspace_id)]
    assert kinds[0] == "completed", "the dashboard still says completed"


def test_without_smtp_the_email_lands_in_the_outbox(make_shop: Any, make_services: Any) -> None:
    shop: Shop = make_shop(customers=20, orders=60, seed=8)
    services = make_services()
    row = connect(services, shop)
    outcome = start_and_run(services, row, shop.options())
    [email] = outcome.emails
    assert email.status == "written"
    assert email.delivered_to is not None
    path = Path(email.delivered_to)
    assert path.parent == (services.settings.data_dir / "outbox").resolve()
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["To"] == ", ".join(RECIPIENTS)
    assert "completed" in str(parsed["Subject"])


def test_failure_posts_a_notification_and_an_email(
    make_shop: Any, make_services: Any, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    shop: Shop = make_shop(customers=10, orders=30, seed=2)
    narrow = shop.runtime.tokens.mint(["read_customers", "read_orders"], "custom_app").token
    services = make_services(smtp_host="127.0.0.1", smtp_port=port)
    row = connect(services, shop, token=narrow)
    outcome = start_and_run(services, row, shop.options())
    assert outcome.status == "failed"
    with services.engine.connect() as conn:
        [failed, started] = list_notifications(conn, row.workspace_id)
    assert (failed.kind, failed.level, started.kind) == ("failed", "error", "started")
    assert "read_all_orders" in failed.body
    [(recipients, message)] = inbox.messages
    assert recipients == list(RECIPIENTS)
    assert "failed - resumable" in str(message["Subject"])
    assert "backfill resume --shop" in message.get_content()


def test_notifications_are_read_per_workspace(make_shop: Any, make_services: Any) -> None:
    shop: Shop = make_shop(customers=10, orders=30, seed=2)
    services = make_services()
    row = connect(services, shop)
    start_and_run(services, row, shop.options())
    other = connect(services, shop, workspace="other")
    with services.engine.begin() as conn:
        assert len(list_notifications(conn, row.workspace_id, unread_only=True)) == 2
        assert list_notifications(conn, other.workspace_id) == []
        assert mark_read(conn, other.workspace_id, now=datetime.now(UTC)) == 0
        assert mark_read(conn, row.workspace_id, now=datetime.now(UTC)) == 2
        assert list_notifications(conn, row.workspace_id, unread_only=True) == []
