"""Dashboard users, their sessions, and per-workspace API keys.

Who may act, and in which workspace: every lookup here returns the workspace the caller
is confined to, and every later query filters on it. Session tokens and API keys are
random 256-bit values stored only as SHA-256 digests; an API key is shown once, when it
is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa

from shopify_backfill.profiles.schema import workspaces
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.web.errors import FieldError, NotFound
from shopify_backfill.web.limits import EMAIL, KEY_NAME, excerpt
from shopify_backfill.web.passwords import (
    DUMMY_HASH,
    hash_password,
    password_problem,
    verify_password,
)
from shopify_backfill.web.security import digest, new_token
from shopify_backfill.web.tables import api_keys, web_sessions, web_users

SESSION_DAYS = 7
EXPIRED_SESSION_KEPT = timedelta(minutes=15)
"""How long an expired session's row stays: its OAuth states (``stores.STATE_TTL``, ten
minutes) are deleted with it, and a flow started just before the session ended must
still be finishable after logging in again."""
API_KEY_PREFIX = "sbk_"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in user (session) or an API key, and their workspace."""

    kind: Literal["session", "api_key"]
    workspace_id: int
    workspace_name: str
    user_id: int | None = None
    email: str | None = None
    session_id: int | None = None
    session_token: str | None = None
    api_key_id: int | None = None


def normalise_email(email: str) -> str:
    candidate = EMAIL.check(email.strip()).lower()
    if not _EMAIL.fullmatch(candidate):
        raise FieldError(f"{excerpt(email.strip())} is not an email address", field="email")
    return candidate


def _workspace_by_name(conn: sa.Connection, name: str) -> int:
    found = conn.execute(
        sa.select(workspaces.c.id).where(workspaces.c.name == name).order_by(workspaces.c.id)
    ).first()
    return int(found[0]) if found is not None else create_workspace(conn, name)


def insert_user(
    conn: sa.Connection, *, address: str, password: str, workspace_id: int, now: datetime
) -> int:
    """Store a checked user and add the address to the workspace's notification emails,
    so the completion email of a backfill reaches someone who can log in."""
    user_id = conn.execute(
        sa.insert(web_users)
        .values(
            workspace_id=workspace_id,
            email=address,
            password_hash=hash_password(password),
            created_at=now,
        )
        .returning(web_users.c.id)
    ).scalar_one()
    emails = conn.execute(
        sa.select(workspaces.c.notification_emails).where(workspaces.c.id == workspace_id)
    ).scalar_one()
    current = [str(item) for item in emails or []]
    if address not in current:
        conn.execute(
            sa.update(workspaces)
            .where(workspaces.c.id == workspace_id)
            .values(notification_emails=[*current, address])
        )
    return int(user_id)


def add_user(
    conn: sa.Connection, *, email: str, password: str, workspace: str, now: datetime
) -> tuple[int, int]:
    """Create a user in ``workspace`` (created if missing); returns (user id, workspace id).

    The user's address joins the workspace's notification emails, so the completion email
    of a backfill reaches someone who can log in and read the report.
    """
    address = normalise_email(email)
    problem = password_problem(password)
    if problem:
        raise FieldError(problem, field="password")
    if not workspace.strip():
        raise FieldError("the workspace name must not be empty", field="workspace")
    exists = conn.execute(sa.select(web_users.c.id).where(web_users.c.email == address)).first()
    if exists is not None:
        raise FieldError(f"a user with the email {address} already exists", field="email")
    workspace_id = _workspace_by_name(conn, workspace.strip())
    user_id = insert_user(
        conn, address=address, password=password, workspace_id=workspace_id, now=now
    )
    return user_id, workspace_id


LoginFailure = Literal["unknown_account", "wrong_password"]


@dataclass(frozen=True)
class LoginCheck:
    """The user id when the email and password match, else why not (for the audit log
    only: the caller answers both failures alike)."""

    user_id: int | None
    failure: LoginFailure | None = None


def authenticate(conn: sa.Connection, email: str, password: str, *, now: datetime) -> LoginCheck:
    """Check the email and password; an unknown email costs the same scrypt run as a wrong
    password (against ``DUMMY_HASH``), so timing does not tell which accounts exist."""
    address = email.strip().lower()
    row = conn.execute(
        sa.select(web_users.c.id, web_users.c.password_hash).where(web_users.c.email == address)
    ).first()
    if row is None:
        verify_password(password, DUMMY_HASH)
        return LoginCheck(None, "unknown_account")
    if not verify_password(password, row.password_hash):
        return LoginCheck(None, "wrong_password")
    conn.execute(sa.update(web_users).where(web_users.c.id == row.id).values(last_login_at=now))
    return LoginCheck(int(row.id))


def open_session(conn: sa.Connection, user_id: int, *, now: datetime) -> str:
    """A new session for the user; returns its token (only its digest is stored)."""
    token = new_token()
    conn.execute(
        sa.insert(web_sessions).values(
            user_id=user_id,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + timedelta(days=SESSION_DAYS),
        )
    )
    conn.execute(
        sa.delete(web_sessions).where(web_sessions.c.expires_at < now - EXPIRED_SESSION_KEPT)
    )
    return token


def session_principal(conn: sa.Connection, token: str, *, now: datetime) -> Principal | None:
    row = conn.execute(
        sa.select(
            web_sessions.c.id,
            web_sessions.c.expires_at,
            web_users.c.id.label("user_id"),
            web_users.c.email,
            web_users.c.workspace_id,
            workspaces.c.name,
        )
        .join(web_users, web_users.c.id == web_sessions.c.user_id)
        .join(workspaces, workspaces.c.id == web_users.c.workspace_id)
        .where(web_sessions.c.token_hash == digest(token))
    ).first()
    if row is None or row.expires_at <= now:
        return None
    return Principal(
        kind="session",
        workspace_id=int(row.workspace_id),
        workspace_name=row.name,
        user_id=int(row.user_id),
        email=row.email,
        session_id=int(row.id),
        session_token=token,
    )


def close_session(conn: sa.Connection, token: str) -> None:
    conn.execute(sa.delete(web_sessions).where(web_sessions.c.token_hash == digest(token)))


# ----------------------------------------------------------------------------- API keys


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked": self.revoked_at is not None,
        }


def create_api_key(
    conn: sa.Connection, workspace_id: int, name: str, *, now: datetime
) -> tuple[ApiKey, str]:
    """A new key for the workspace and its secret value, returned this once only."""
    label = KEY_NAME.check(name.strip())
    if not label:
        raise FieldError("Give the key a name saying what it is for.", field="name")
    secret = API_KEY_PREFIX + new_token()
    prefix = secret[: len(API_KEY_PREFIX) + 6]
    key_id = conn.execute(
        sa.insert(api_keys)
        .values(
            workspace_id=workspace_id,
            name=label,
            prefix=prefix,
            key_hash=digest(secret),
            created_at=now,
        )
        .returning(api_keys.c.id)
    ).scalar_one()
    return ApiKey(int(key_id), label, prefix, now, None, None), secret


def list_api_keys(conn: sa.Connection, workspace_id: int) -> list[ApiKey]:
    rows = conn.execute(
        sa.select(api_keys).where(api_keys.c.workspace_id == workspace_id).order_by(api_keys.c.id)
    )
    return [
        ApiKey(int(r.id), r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at)
        for r in rows
    ]


def revoke_api_key(conn: sa.Connection, workspace_id: int, key_id: int, *, now: datetime) -> None:
    found = conn.execute(
        sa.select(api_keys.c.id).where(
            api_keys.c.id == key_id, api_keys.c.workspace_id == workspace_id
        )
    ).first()
    if found is None:
        raise NotFound(f"API key {key_id} not found")
    conn.execute(
        sa.update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def api_key_principal(conn: sa.Connection, secret: str, *, now: datetime) -> Principal | None:
    if not secret.startswith(API_KEY_PREFIX):
        return None
    row = conn.execute(
        sa.select(
            api_keys.c.id, api_keys.c.workspace_id, api_keys.c.last_used_at, workspaces.c.name
        )
        .join(workspaces, workspaces.c.id == api_keys.c.workspace_id)
        .where(api_keys.c.key_hash == digest(secret), api_keys.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        conn.execute(sa.update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now))
    return Principal(
        kind="api_key",
        workspace_id=int(row.workspace_id),
        workspace_name=row.name,
        api_key_id=int(row.id),
    )
