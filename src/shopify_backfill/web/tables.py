"""The partner page's tables, on the profile store's ``metadata`` (revisions 0004, 0009).

Nothing secret is stored in a form that could be replayed: passwords are scrypt hashes
with a per-user salt, session tokens, API keys and OAuth state nonces are SHA-256
digests of high-entropy random values (a stolen database row cannot be presented back).
Every row that grants access carries the workspace it is confined to.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)

from shopify_backfill.profiles.schema import Id, metadata
from shopify_backfill.profiles.types import UtcDateTime

OAUTH_PURPOSES = ("connect", "reauthorize")
ACCOUNT_TOKEN_PURPOSES = ("invite", "reset")

web_users = Table(
    "web_users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_login_at", UtcDateTime, nullable=True),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("web_users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index("ix_api_keys_workspace", "workspace_id"),
)

oauth_states = Table(
    "oauth_states",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", Id, ForeignKey("web_sessions.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("nonce_hash", String(64), nullable=False, unique=True),
    Column("purpose", String(16), nullable=False),
    Column("shop_domain", String(255), nullable=False),
    Column("api_url", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    CheckConstraint("purpose IN ('connect', 'reauthorize')", name="purpose"),
)

account_tokens = Table(
    "account_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("purpose", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("web_users.id", ondelete="CASCADE"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    CheckConstraint("purpose IN ('invite', 'reset')", name="purpose"),
    Index("ix_account_tokens_workspace", "workspace_id"),
)
"""One-time links sent or handed to a person (revision 0009): an invitation into
``workspace_id`` (``user_id``: who created it) or a password reset of ``user_id``. Only
the SHA-256 of the token is stored; ``used_at`` is set by the one conditional update that
redeems it, so a link works once even when clicked twice."""
