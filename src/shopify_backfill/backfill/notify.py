"""Dashboard notifications and emails about a backfill (SPEC §2 steps 3 and 4).

Both are written in the same transaction as the status change they announce, so a
completed backfill always has its notification and its queued email, and a crash never
announces something that did not happen. Emails are a transactional outbox: queued rows
are delivered after the commit, retried with backoff, and their outcome recorded; a
mail failure is reported, never turned into a backfill failure.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Literal, Protocol

import sqlalchemy as sa

from shopify_backfill.backfill.completion_email import completion_parts
from shopify_backfill.backfill.tables import email_outbox, notifications
from shopify_backfill.config import Settings
from shopify_backfill.profiles.schema import workspaces

log = logging.getLogger(__name__)

Level = Literal["info", "success", "error"]
NotificationKind = Literal["started", "resumed", "completed", "failed", "risk_mode"]


@dataclass(frozen=True)
class Notification:
    id: int
    backfill_id: int | None
    kind: str
    level: str
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


def post_notification(
    conn: sa.Connection,
    *,
    workspace_id: int,
    backfill_id: int | None,
    kind: NotificationKind,
    level: Level,
    title: str,
    body: str,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            sa.insert(notifications)
            .values(
                workspace_id=workspace_id,
                backfill_id=backfill_id,
                kind=kind,
                level=level,
                title=title,
                body=body,
                created_at=now,
            )
            .returning(notifications.c.id)
        ).scalar_one()
    )


def list_notifications(
    conn: sa.Connection, workspace_id: int, *, unread_only: bool = False
) -> list[Notification]:
    """The workspace's notifications, newest first."""
    query = (
        sa.select(notifications)
        .where(notifications.c.workspace_id == workspace_id)
        .order_by(notifications.c.id.desc())
    )
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    return [
        Notification(
            id=int(row.id),
            backfill_id=row.backfill_id,
            kind=row.kind,
            level=row.level,
            title=row.title,
            body=row.body,
            created_at=row.created_at,
            read_at=row.read_at,
        )
        for row in conn.execute(query)
    ]


def mark_read(
    conn: sa.Connection, workspace_id: int, ids: Sequence[int] | None = None, *, now: datetime
) -> int:
    """Mark some (or all) of the workspace's unread notifications read; returns how many."""
    query = sa.update(notifications).where(
        notifications.c.workspace_id == workspace_id, notifications.c.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(notifications.c.id.in_(list(ids)))
    return int(conn.execute(query.values(read_at=now)).rowcount)


# ----------------------------------------------------------------------------- email


def queue_email(
    conn: sa.Connection,
    *,
    workspace_id: int,
    backfill_id: int | None,
    kind: NotificationKind,
    subject: str,
    body: str,
    now: datetime,
) -> int:
    """Queue a mail to the workspace's notification addresses (delivered after commit)."""
    recipients = conn.execute(
        sa.select(workspaces.c.notification_emails).where(workspaces.c.id == workspace_id)
    ).scalar_one()
    addresses = [str(address) for address in recipients or [] if str(address).strip()]
    return int(
        conn.execute(
            sa.insert(email_outbox)
            .values(
                workspace_id=workspace_id,
                backfill_id=backfill_id,
                kind=kind,
                recipients=addresses,
                subject=subject,
                body=body,
                status="pending" if addresses else "no_recipients",
                created_at=now,
            )
            .returning(email_outbox.c.id)
        ).scalar_one()
    )


class Mailer(Protocol):
    """Hands one message to its transport; returns where it went (for the report)."""

    def send(self, message: EmailMessage) -> str: ...


class SmtpMailer:
    """``smtplib`` with optional STARTTLS and login; the password never leaves the object."""

    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        if settings.smtp_host is None:
            raise ValueError("SmtpMailer needs SHOPIFY_BACKFILL_SMTP_HOST")
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._starttls = settings.smtp_starttls
        self._implicit_tls = settings.smtp_tls
        self._ca_file = settings.smtp_ca_file
        self._username = settings.smtp_username
        self._password = settings.smtp_password
        self._timeout = timeout

    def _tls_context(self) -> ssl.SSLContext:
        """Certificate and host name verified: ``smtplib``'s own default checks neither."""
        return ssl.create_default_context(cafile=self._ca_file)

    def _connect(self) -> smtplib.SMTP:
        if self._implicit_tls:
            return smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=self._tls_context()
            )
        return smtplib.SMTP(self._host, self._port, timeout=self._timeout)

    def send(self, message: EmailMessage) -> str:
        with self._connect() as smtp:
            if self._starttls:
                smtp.starttls(context=self._tls_context())
            if self._username and self._password is not None:
                smtp.login(self._username, self._password.get_secret_value())
            smtp.send_message(message)
        scheme = "smtps" if self._implicit_tls else "smtp+starttls" if self._starttls else "smtp"
        return f"{scheme}://{self._host}:{self._port}"


class OutboxMailer:
    """No SMTP configured: each message becomes an ``.eml`` file a person can open."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        token = str(message["Message-ID"]).strip("<>").split("@", 1)[0]
        path = self.folder / f"{stamp}-{token}.eml"
        path.write_bytes(bytes(message))
        return str(path.resolve())


def mailer_for(settings: Settings) -> Mailer:
    """SMTP when a host is configured, else the local outbox folder ``data_dir/outbox``."""
    if settings.smtp_host:
        return SmtpMailer(settings)
    return OutboxMailer(settings.data_dir / "outbox")


@dataclass(frozen=True)
class Delivery:
    """What became of one queued email."""

    id: int
    kind: str
    recipients: tuple[str, ...]
    subject: str
    status: str
    attempts: int
    delivered_to: str | None
    last_error: str | None


def _message(
    settings: Settings,
    recipients: Sequence[str],
    subject: str,
    body: str,
    *,
    html: str | None = None,
) -> EmailMessage:
    """Plain text alone, or ``multipart/alternative`` with ``html`` after it (clients show
    the last part they can render, and a text-only client still reads the report)."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def deliver_pending(
    engine: sa.Engine,
    settings: Settings,
    *,
    backfill_id: int | None = None,
    mailer: Mailer | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Delivery]:
    """Send every pending email (of one backfill, or all), with retries; never raises.

    Each attempt is claimed by a conditional increment of ``attempts``, so two processes
    delivering at once never send the same attempt twice.
    """
    chosen = mailer or mailer_for(settings)
    query = sa.select(email_outbox.c.id).where(email_outbox.c.status == "pending")
    if backfill_id is not None:
        query = query.where(email_outbox.c.backfill_id == backfill_id)
    with engine.connect() as conn:
        ids = [int(i) for i in conn.execute(query.order_by(email_outbox.c.id)).scalars()]
    for email_id in ids:
        _deliver_one(engine, settings, chosen, email_id, sleep)
    return list_deliveries(engine, ids)


def deliver_email(
    engine: sa.Engine,
    settings: Settings,
    email_id: int,
    *,
    mailer: Mailer | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send one queued email (a password reset: it must not wait for, nor send, any
    other), with the same retries and recorded outcome as the rest; never raises."""
    _deliver_one(engine, settings, mailer or mailer_for(settings), email_id, sleep)
    return list_deliveries(engine, [email_id])[0]


def _deliver_one(
    engine: sa.Engine,
    settings: Settings,
    mailer: Mailer,
    email_id: int,
    sleep: Callable[[float], None],
) -> None:
    delay = settings.mail_backoff_seconds
    while True:
        with engine.begin() as conn:
            row = conn.execute(sa.select(email_outbox).where(email_outbox.c.id == email_id)).one()
            if row.status != "pending" or row.attempts >= settings.mail_attempts:
                return
            parts = (
                completion_parts(conn, settings.app_url, row.backfill_id, row.body)
                if row.kind == "completed" and row.backfill_id is not None
                else None
            )
            claimed = conn.execute(
                sa.update(email_outbox)
                .where(
                    email_outbox.c.id == email_id,
                    email_outbox.c.status == "pending",
                    email_outbox.c.attempts == row.attempts,
                )
                .values(attempts=row.attempts + 1)
            ).rowcount
        if claimed != 1:
            return
        attempt = row.attempts + 1
        try:
            message = (
                _message(settings, row.recipients, row.subject, parts.text, html=parts.html)
                if parts is not None
                else _message(settings, row.recipients, row.subject, row.body)
            )
            where = mailer.send(message)
        except (OSError, smtplib.SMTPException) as error:
            reason = f"{type(error).__name__}: {error}"
            last = attempt >= settings.mail_attempts
            log.warning("email %s attempt %s failed: %s", email_id, attempt, reason)
            with engine.begin() as conn:
                conn.execute(
                    sa.update(email_outbox)
                    .where(email_outbox.c.id == email_id)
                    .values(last_error=reason[:1000], status="failed" if last else "pending")
                )
            if last:
                return
            sleep(delay)
            delay *= 2
            continue
        status = "written" if isinstance(mailer, OutboxMailer) else "sent"
        with engine.begin() as conn:
            conn.execute(
                sa.update(email_outbox)
                .where(email_outbox.c.id == email_id)
                .values(status=status, delivered_to=where, delivered_at=datetime.now(UTC))
            )
        return


def list_deliveries(engine: sa.Engine, ids: Sequence[int]) -> list[Delivery]:
    if not ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(email_outbox)
            .where(email_outbox.c.id.in_(list(ids)))
            .order_by(email_outbox.c.id)
        )
        return [_delivery(row) for row in rows]


def deliveries_of(conn: sa.Connection, backfill_id: int) -> list[Delivery]:
    """Every email about one backfill, oldest first, with its delivery outcome."""
    rows = conn.execute(
        sa.select(email_outbox)
        .where(email_outbox.c.backfill_id == backfill_id)
        .order_by(email_outbox.c.id)
    )
    return [_delivery(row) for row in rows]


def _delivery(row: sa.Row[Any]) -> Delivery:
    return Delivery(
        id=int(row.id),
        kind=str(row.kind),
        recipients=tuple(row.recipients),
        subject=str(row.subject),
        status=str(row.status),
        attempts=int(row.attempts),
        delivered_to=row.delivered_to,
        last_error=row.last_error,
    )
