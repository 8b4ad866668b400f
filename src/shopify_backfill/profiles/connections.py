"""A store's stored connection to a workspace: encrypted token, grant, a fixed connected_at.

Proving a token works is the source's job (``shopify.verify``); this module keeps what
was proven, in the profile store's ``shop_connections`` table.

``connected_at`` is the first successful connection and never moves: the backfill window
is measured from it, and a reconnect (new token, re-authorized scopes) must not open a
second window. Tokens are stored encrypted with Fernet and only decrypted in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from shopify_backfill.clock import Clock
from shopify_backfill.config import Settings
from shopify_backfill.errors import ConfigError, InputError
from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.profiles.workspaces import create_shop_connection, ensure_subscription_groups
from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.oauth import validate_shop_domain


class TokenCipher:
    """Fernet encryption of access tokens at rest."""

    def __init__(self, key: SecretStr) -> None:
        try:
            self._fernet = Fernet(key.get_secret_value().encode())
        except (ValueError, TypeError):
            raise ConfigError(
                "SHOPIFY_BACKFILL_FERNET_KEY is not a valid Fernet key (32 url-safe base64 "
                "bytes); generate one with `python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'`"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        """The configured key, or one generated once into ``data_dir`` (mode 0600)."""
        if settings.fernet_key is not None:
            return cls(settings.fernet_key)
        path = settings.data_dir / "fernet.key"
        if not path.exists():
            _write_private(path, Fernet.generate_key())
        return cls(SecretStr(path.read_text(encoding="ascii").strip()))

    def encrypt(self, token: SecretStr) -> bytes:
        return self._fernet.encrypt(token.get_secret_value().encode())

    def decrypt(self, blob: bytes) -> SecretStr:
        try:
            return SecretStr(self._fernet.decrypt(blob).decode())
        except InvalidToken:
            raise ConfigError(
                "the stored access token cannot be decrypted with the configured key; "
                "restore the original SHOPIFY_BACKFILL_FERNET_KEY or reconnect the store"
            ) from None


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@dataclass(frozen=True)
class ShopConnection:
    """A stored connection with its token decrypted for use (never printed)."""

    id: int
    workspace_id: int
    shop_domain: str
    granted_scopes: tuple[str, ...]
    api_version: str
    api_url: str
    connected_at: datetime
    token: SecretStr

    def client(
        self, *, transport: httpx.BaseTransport | None = None, clock: Clock | None = None
    ) -> AdminClient:
        return AdminClient(
            api_url=self.api_url,
            token=self.token,
            api_version=self.api_version,
            transport=transport,
            clock=clock,
        )


def default_api_url(shop_domain: str) -> str:
    return f"https://{shop_domain}"


def save_connection(
    conn: sa.Connection,
    cipher: TokenCipher,
    *,
    workspace_id: int,
    shop_domain: str,
    token: SecretStr,
    scopes: tuple[str, ...],
    api_url: str,
    api_version: str,
    now: datetime | None = None,
) -> int:
    """Insert or refresh the workspace's connection to the shop; keeps ``connected_at``."""
    domain = validate_shop_domain(shop_domain)
    existing = conn.execute(
        sa.select(shop_connections.c.id).where(
            shop_connections.c.workspace_id == workspace_id,
            shop_connections.c.shop_domain == domain,
        )
    ).scalar_one_or_none()
    encrypted = cipher.encrypt(token)
    if existing is None:
        return create_shop_connection(
            conn,
            workspace_id,
            domain,
            connected_at=now or datetime.now(UTC),
            granted_scopes=list(scopes),
            api_version=api_version,
            api_base_url=api_url,
            access_token_encrypted=encrypted,
        )
    conn.execute(
        sa.update(shop_connections)
        .where(shop_connections.c.id == existing)
        .values(
            granted_scopes=list(scopes),
            api_version=api_version,
            api_base_url=api_url,
            access_token_encrypted=encrypted,
        )
    )
    ensure_subscription_groups(conn, workspace_id, int(existing))
    return int(existing)


def connection_id_of(conn: sa.Connection, workspace_id: int, shop_domain: str) -> int | None:
    """The id of the workspace's stored connection to the shop, or ``None`` (read-only)."""
    found = conn.execute(
        sa.select(shop_connections.c.id).where(
            shop_connections.c.workspace_id == workspace_id,
            shop_connections.c.shop_domain == validate_shop_domain(shop_domain),
        )
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def load_connection(
    conn: sa.Connection, cipher: TokenCipher, *, workspace_id: int, shop_domain: str
) -> ShopConnection:
    """The workspace's connection to the shop, or an error telling how to connect it."""
    domain = validate_shop_domain(shop_domain)
    row = conn.execute(
        sa.select(shop_connections).where(
            shop_connections.c.workspace_id == workspace_id,
            shop_connections.c.shop_domain == domain,
        )
    ).one_or_none()
    if row is None:
        raise InputError(
            f"{domain} is not connected to this workspace; run "
            f"`shopify-backfill connect --shop {domain} --token ...` or `--oauth` first"
        )
    if row.access_token_encrypted is None:
        raise InputError(f"{domain} has no stored access token; connect it again")
    return ShopConnection(
        id=int(row.id),
        workspace_id=workspace_id,
        shop_domain=domain,
        granted_scopes=tuple(row.granted_scopes),
        api_version=row.api_version,
        api_url=row.api_base_url,
        connected_at=_utc(row.connected_at),
        token=cipher.decrypt(row.access_token_encrypted),
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
