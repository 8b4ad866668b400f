"""A workspace's Braze destinations: added once, the key encrypted, loaded per run.

Adding a destination also creates its mirror workspace (see ``tables``). Adding it
again under the same name replaces the endpoint, key and options and keeps the mirror:
that is how a revoked key is replaced before ``resume``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from shopify_backfill.destinations.braze.packing import MAX_OBJECTS
from shopify_backfill.destinations.braze.tables import braze_destinations
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.connections import TokenCipher
from shopify_backfill.profiles.workspaces import create_workspace

MIN_OBJECTS: Final = 1
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_GROUP: Final = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_d = braze_destinations.c


@dataclass(frozen=True)
class BrazeTarget:
    """A destination as a run needs it: where, with which key, into which mirror."""

    id: int
    workspace_id: int
    name: str
    rest_endpoint: str
    api_key: SecretStr
    max_objects: int
    sms_group_id: str | None
    mirror_workspace_id: int

    def public(self) -> dict[str, Any]:
        """What may be shown: everything but the key."""
        return {
            "id": self.id,
            "name": self.name,
            "rest_endpoint": self.rest_endpoint,
            "max_objects": self.max_objects,
            "sms_group_id": self.sms_group_id,
        }


def validate_endpoint(value: str) -> str:
    """``https://rest.<cluster>.braze.com`` style: https, a host, no path; http only to
    this machine (the stand-in)."""
    text = value.strip().rstrip("/")
    if not text or len(text) > 255:
        raise InputError("the Braze REST endpoint must be a URL of at most 255 characters")
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        raise InputError(f"the Braze REST endpoint {text[:80]!r} is not a URL") from None
    loopback = url.host in _LOOPBACK
    if url.scheme != "https" and not (url.scheme == "http" and loopback):
        raise InputError(
            "the Braze REST endpoint must use https (for example https://rest.iad-01.braze.com,"
            " shown in Braze under Settings > APIs and Identifiers)"
        )
    if not url.host or url.path not in ("", "/") or url.query or url.fragment:
        raise InputError(
            f"the Braze REST endpoint {text[:80]!r} must be a scheme and host only, "
            "like https://rest.iad-01.braze.com"
        )
    return text


def validate_key(value: SecretStr) -> SecretStr:
    key = value.get_secret_value().strip()
    if not key or len(key) > 200 or any(ch.isspace() for ch in key):
        raise InputError(
            "the Braze REST API key must be one word of at most 200 characters "
            "(create one in Braze under Settings > APIs and Identifiers, with users.track)"
        )
    return SecretStr(key)


def add_destination(
    conn: sa.Connection,
    cipher: TokenCipher,
    *,
    workspace_id: int,
    name: str,
    rest_endpoint: str,
    api_key: SecretStr,
    max_objects: int = MAX_OBJECTS,
    sms_group_id: str | None = None,
    now: datetime | None = None,
) -> BrazeTarget:
    """Create or replace the named destination; returns it as a run would load it."""
    if not _NAME.match(name):
        raise InputError(
            f"a destination name is 1-64 letters, digits, '.', '_' or '-', not {name[:80]!r}"
        )
    if not MIN_OBJECTS <= max_objects <= MAX_OBJECTS:
        raise InputError(
            f"--max-objects must be between {MIN_OBJECTS} and {MAX_OBJECTS} (Braze's cap per "
            f"request; 50 on some contracts), not {max_objects}"
        )
    if sms_group_id is not None and not _GROUP.match(sms_group_id):
        raise InputError("the SMS subscription group id is Braze's id: letters, digits, '-'")
    endpoint = validate_endpoint(rest_endpoint)
    key = validate_key(api_key)
    moment = now or datetime.now(UTC)
    values = {
        "rest_endpoint": endpoint,
        "api_key_encrypted": cipher.encrypt(key),
        "max_objects": max_objects,
        "sms_group_id": sms_group_id,
        "updated_at": moment,
    }
    found = conn.execute(
        sa.select(_d.id).where(_d.workspace_id == workspace_id, _d.name == name)
    ).scalar_one_or_none()
    if found is None:
        mirror = create_workspace(conn, f"braze mirror: {name} ({workspace_id})", now=moment)
        found = conn.execute(
            sa.insert(braze_destinations)
            .values(
                workspace_id=workspace_id,
                name=name,
                mirror_workspace_id=mirror,
                created_at=moment,
                **values,
            )
            .returning(_d.id)
        ).scalar_one()
    else:
        conn.execute(sa.update(braze_destinations).where(_d.id == found).values(**values))
    return load_destination(conn, cipher, int(found), workspace_id=workspace_id)


def load_destination(
    conn: sa.Connection, cipher: TokenCipher, destination_id: int, *, workspace_id: int
) -> BrazeTarget:
    """The destination, refusing another workspace's."""
    row = conn.execute(
        sa.select(braze_destinations).where(
            _d.id == destination_id, _d.workspace_id == workspace_id
        )
    ).one_or_none()
    if row is None:
        raise InputError(f"this workspace has no Braze destination #{destination_id}")
    return BrazeTarget(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        rest_endpoint=row.rest_endpoint,
        api_key=cipher.decrypt(row.api_key_encrypted),
        max_objects=row.max_objects,
        sms_group_id=row.sms_group_id,
        mirror_workspace_id=row.mirror_workspace_id,
    )


def find_destination(conn: sa.Connection, workspace_id: int, name: str) -> int:
    """The id of the workspace's destination called ``name``."""
    found = conn.execute(
        sa.select(_d.id).where(_d.workspace_id == workspace_id, _d.name == name)
    ).scalar_one_or_none()
    if found is None:
        raise InputError(
            f"this workspace has no Braze destination named {name[:64]!r}; add it with "
            "`shopify-backfill destinations add braze --name NAME --rest-endpoint URL`"
        )
    return int(found)


def list_destinations(conn: sa.Connection, workspace_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(_d.id, _d.name, _d.rest_endpoint, _d.max_objects, _d.sms_group_id)
        .where(_d.workspace_id == workspace_id)
        .order_by(_d.name)
    ).all()
    return [dict(row._mapping) for row in rows]
