"""Self-service accounts: signing up, invitation links, password resets by email.

Why each rule:

- **Sign-up always creates a new workspace.** ``users add`` joins a workspace by name (an
  operator's shortcut); a stranger typing "Acme" must never land in Acme's data.
- **An invitation is the only way into an existing workspace.** A logged-in user creates it
  for *their own* workspace (the workspace comes from the session, never from a form);
  redeeming it puts the new user there and nowhere else.
- **Links are one-time and expiring**: 256 random bits, only the SHA-256 stored
  (``tables.account_tokens``), redeemed by one conditional ``UPDATE ... WHERE used_at IS
  NULL AND expires_at > now``, so two clicks (or two tabs) cannot both succeed.
- **A reset request never tells whether the address has an account**: the caller answers
  the same either way, and only a known address gets an email.
- **A reset ends every session of the account**: whoever knew the old password is out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa

from shopify_backfill.backfill.tables import email_outbox
from shopify_backfill.profiles.schema import workspaces
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.web.accounts import insert_user, normalise_email
from shopify_backfill.web.errors import FieldError
from shopify_backfill.web.passwords import hash_password, password_problem
from shopify_backfill.web.security import digest, new_token
from shopify_backfill.web.tables import account_tokens, web_sessions, web_users

INVITE_TTL = timedelta(days=7)
RESET_TTL = timedelta(hours=1)
WORKSPACE_NAME_CHARS = 100
RESET_EMAIL_KIND = "password_reset"
Purpose = Literal["invite", "reset"]

EXPIRED_LINK = (
    "This link has expired or was already used. Ask for a new one: a password reset from "
    "the login page, an invitation from someone in the workspace."
)


@dataclass(frozen=True)
class Invite:
    """A pending invitation as redeeming it needs: the workspace it leads into."""

    workspace_id: int
    workspace_name: str
    expires_at: datetime


def _checked_password(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise FieldError(f"{problem[0].upper()}{problem[1:]}.", field="password")
    return password


def _checked_workspace_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise FieldError("Name the workspace, for example your brand's name.", field="workspace")
    if len(cleaned) > WORKSPACE_NAME_CHARS:
        raise FieldError(
            f"The workspace name is {len(cleaned):,} characters long; it can have at most "
            f"{WORKSPACE_NAME_CHARS}. Use your brand's name.",
            field="workspace",
        )
    return cleaned


def _new_user(
    conn: sa.Connection, *, address: str, password: str, workspace_id: int, now: datetime
) -> int:
    exists = conn.execute(sa.select(web_users.c.id).where(web_users.c.email == address)).first()
    if exists is not None:
        raise FieldError(
            f"An account with the email {address} already exists: log in, or reset its "
            "password from the login page.",
            field="email",
        )
    return insert_user(conn, address=address, password=password, workspace_id=workspace_id, now=now)


def sign_up(
    conn: sa.Connection, *, email: str, password: str, workspace: str, now: datetime
) -> tuple[int, int]:
    """A new user in a new workspace of their own; returns (user id, workspace id)."""
    address = normalise_email(email)
    _checked_password(password)
    name = _checked_workspace_name(workspace)
    workspace_id = create_workspace(conn, name, now=now)
    return _new_user(
        conn, address=address, password=password, workspace_id=workspace_id, now=now
    ), workspace_id


def _issue(
    conn: sa.Connection,
    purpose: Purpose,
    *,
    workspace_id: int,
    user_id: int,
    now: datetime,
    ttl: timedelta,
) -> str:
    token = new_token()
    conn.execute(sa.delete(account_tokens).where(account_tokens.c.expires_at < now - ttl))
    conn.execute(
        sa.insert(account_tokens).values(
            purpose=purpose,
            token_hash=digest(token),
            workspace_id=workspace_id,
            user_id=user_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def create_invite(conn: sa.Connection, *, workspace_id: int, user_id: int, now: datetime) -> str:
    """An invitation into ``workspace_id`` (the caller's own); the token is returned once."""
    return _issue(
        conn, "invite", workspace_id=workspace_id, user_id=user_id, now=now, ttl=INVITE_TTL
    )


def pending_invites(conn: sa.Connection, workspace_id: int, *, now: datetime) -> list[datetime]:
    """When each of the workspace's unused, unexpired invitations expires."""
    rows = conn.execute(
        sa.select(account_tokens.c.expires_at)
        .where(
            account_tokens.c.purpose == "invite",
            account_tokens.c.workspace_id == workspace_id,
            account_tokens.c.used_at.is_(None),
            account_tokens.c.expires_at > now,
        )
        .order_by(account_tokens.c.expires_at)
    )
    return [row.expires_at for row in rows]


def _live(purpose: Purpose, token: str, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        account_tokens.c.purpose == purpose,
        account_tokens.c.token_hash == digest(token),
        account_tokens.c.used_at.is_(None),
        account_tokens.c.expires_at > now,
    )


def find_invite(conn: sa.Connection, token: str, *, now: datetime) -> Invite | None:
    """The invitation behind ``token`` while it can still be used, else ``None``."""
    row = conn.execute(
        sa.select(account_tokens.c.workspace_id, account_tokens.c.expires_at, workspaces.c.name)
        .join(workspaces, workspaces.c.id == account_tokens.c.workspace_id)
        .where(_live("invite", token, now))
    ).first()
    if row is None:
        return None
    return Invite(int(row.workspace_id), str(row.name), row.expires_at)


def _redeem(conn: sa.Connection, purpose: Purpose, token: str, now: datetime) -> sa.Row[object]:
    """Claim the token (once) and return its row; refused when expired or used."""
    row = conn.execute(sa.select(account_tokens).where(_live(purpose, token, now))).first()
    if row is None:
        raise FieldError(EXPIRED_LINK, field="token")
    claimed = conn.execute(
        sa.update(account_tokens)
        .where(account_tokens.c.id == row.id, account_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        raise FieldError(EXPIRED_LINK, field="token")
    return row


def accept_invite(
    conn: sa.Connection, *, token: str, email: str, password: str, now: datetime
) -> tuple[int, int]:
    """A new user in the invitation's workspace (and only there); (user id, workspace id).

    Everything is checked before the token is claimed, so a typo does not burn the link;
    the caller's transaction rolls the claim back if creating the user fails."""
    address = normalise_email(email)
    _checked_password(password)
    row = _redeem(conn, "invite", token, now)
    workspace_id = int(row.workspace_id)
    user_id = _new_user(
        conn, address=address, password=password, workspace_id=workspace_id, now=now
    )
    return user_id, workspace_id


@dataclass(frozen=True)
class ResetRequest:
    """A reset link queued for a known address: the outbox row to deliver."""

    email_id: int


def request_reset(
    conn: sa.Connection, *, email: str, reset_url: str, now: datetime
) -> ResetRequest | None:
    """Queue a reset email when ``email`` has an account; ``None`` otherwise (the caller
    answers the same in both cases). ``reset_url`` is the page's link, the token appended."""
    address = email.strip().lower()
    row = conn.execute(
        sa.select(web_users.c.id, web_users.c.workspace_id).where(web_users.c.email == address)
    ).first()
    if row is None:
        return None
    token = _issue(
        conn,
        "reset",
        workspace_id=int(row.workspace_id),
        user_id=int(row.id),
        now=now,
        ttl=RESET_TTL,
    )
    minutes = int(RESET_TTL.total_seconds() // 60)
    body = (
        "Someone asked to reset the password of your shopify-backfill account.\n\n"
        f"Set a new password here (the link works once, for {minutes} minutes):\n"
        f"{reset_url}{token}\n\n"
        "If it was not you, ignore this email: your password stays as it is.\n"
    )
    email_id = conn.execute(
        sa.insert(email_outbox)
        .values(
            workspace_id=int(row.workspace_id),
            backfill_id=None,
            kind=RESET_EMAIL_KIND,
            recipients=[address],
            subject="Reset your shopify-backfill password",
            body=body,
            status="pending",
            created_at=now,
        )
        .returning(email_outbox.c.id)
    ).scalar_one()
    return ResetRequest(int(email_id))


def reset_is_live(conn: sa.Connection, token: str, *, now: datetime) -> bool:
    return (
        conn.execute(sa.select(account_tokens.c.id).where(_live("reset", token, now))).first()
        is not None
    )


def reset_password(conn: sa.Connection, *, token: str, password: str, now: datetime) -> int:
    """Set the new password through a live reset link (once); returns the user id.

    Every session of the account ends, and the account's other reset links die with the
    old password."""
    _checked_password(password)
    row = _redeem(conn, "reset", token, now)
    user_id = int(row.user_id)
    conn.execute(
        sa.update(web_users)
        .where(web_users.c.id == user_id)
        .values(password_hash=hash_password(password))
    )
    conn.execute(sa.delete(web_sessions).where(web_sessions.c.user_id == user_id))
    conn.execute(
        sa.update(account_tokens)
        .where(
            account_tokens.c.purpose == "reset",
            account_tokens.c.user_id == user_id,
            account_tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return user_id
