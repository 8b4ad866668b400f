"""Access tokens, their scopes, and single-use OAuth codes, kept in the store's database.

They live in ``emu_*`` tables next to the synthetic shop so a served emulator keeps its
installs across restarts, and so the token a test minted is visible from every thread
(the bulk workers check scopes too).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)

TokenKind = Literal["custom_app", "oauth", "legacy"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS emu_access_tokens (
    token TEXT PRIMARY KEY,
    scopes TEXT NOT NULL,
    kind TEXT NOT NULL,
    client_id TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS emu_oauth_codes (
    code TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token may do."""

    token: str
    scopes: tuple[str, ...]
    kind: TokenKind

    def allows(self, scope: str) -> bool:
        """``write_x`` implies ``read_x``, as on Shopify."""
        if scope in self.scopes:
            return True
        return scope.startswith("read_") and "write_" + scope[5:] in self.scopes


def parse_scopes(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"read_a, read_b"`` or a list -> ordered, de-duplicated scope names."""
    items = text.split(",") if isinstance(text, str) else list(text)
    seen: dict[str, None] = {}
    for item in items:
        name = item.strip()
        if name:
            seen[name] = None
    return tuple(seen)


def granted(requested: Iterable[str], grantable: Iterable[str]) -> tuple[str, ...]:
    """Requested scopes the store lets an app have, in request order."""
    allowed = set(grantable)
    return tuple(scope for scope in parse_scopes(requested) if scope in allowed)


class TokenStore:
    """Token and code bookkeeping over one per-thread SQLite connection factory."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        wall_clock: Callable[[], float],
    ) -> None:
        self._connect = connect
        self._wall_clock = wall_clock
        connection = connect()
        connection.executescript(_SCHEMA)
        connection.commit()

    def mint(
        self,
        scopes: Iterable[str],
        kind: TokenKind,
        *,
        client_id: str | None = None,
        token: str | None = None,
    ) -> Grant:
        """Create (or replace) a token with exactly ``scopes``."""
        value = token or "shpat_" + secrets.token_hex(16)
        names = parse_scopes(scopes)
        connection = self._connect()
        connection.execute(
            "INSERT OR REPLACE INTO emu_access_tokens VALUES (?, ?, ?, ?, ?)",
            (value, ",".join(names), kind, client_id, datetime.now(UTC).isoformat()),
        )
        connection.commit()
        return Grant(value, names, kind)

    def revoke(self, token: str) -> bool:
        """Forget a token, as when the merchant uninstalls the app; ``False`` if unknown."""
        connection = self._connect()
        cursor = connection.execute("DELETE FROM emu_access_tokens WHERE token = ?", (token,))
        connection.commit()
        return cursor.rowcount > 0

    def revoke_all(self) -> int:
        """Forget every token (the app was uninstalled from the shop); returns how many."""
        connection = self._connect()
        cursor = connection.execute("DELETE FROM emu_access_tokens")
        connection.commit()
        return cursor.rowcount

    def lookup(self, token: str | None) -> Grant | None:
        if not token:
            return None
        row = (
            self._connect()
            .execute("SELECT scopes, kind FROM emu_access_tokens WHERE token = ?", (token,))
            .fetchone()
        )
        if row is None:
            return None
        return Grant(token, parse_scopes(row[0]), row[1])

    def issue_code(self, client_id: str, scopes: Iterable[str], ttl_seconds: int) -> str:
        """A single-use authorization code for the OAuth callback."""
        code = secrets.token_hex(16)
        connection = self._connect()
        connection.execute(
            "INSERT INTO emu_oauth_codes (code, client_id, scopes, expires_at) VALUES (?,?,?,?)",
            (code, client_id, ",".join(parse_scopes(scopes)), self._wall_clock() + ttl_seconds),
        )
        connection.commit()
        return code

    def redeem_code(self, code: str, client_id: str) -> tuple[str, ...] | str:
        """Scopes of a valid code (now spent), or a message saying why it is refused."""
        connection = self._connect()
        cursor = connection.execute(
            "UPDATE emu_oauth_codes SET used = 1 "
            "WHERE code = ? AND client_id = ? AND used = 0 AND expires_at > ?",
            (code, client_id, self._wall_clock()),
        )
        connection.commit()
        if cursor.rowcount == 1:
            row = connection.execute(
                "SELECT scopes FROM emu_oauth_codes WHERE code = ?", (code,)
            ).fetchone()
            return parse_scopes(row[0])
        row = connection.execute(
            "SELECT used, expires_at, client_id FROM emu_oauth_codes WHERE code = ?", (code,)
        ).fetchone()
        if row is None or row[2] != client_id:
            return "authorization code was not found or was already used"
        if row[0]:
            return "authorization code was not found or was already used"
        return "authorization code has expired"


SCOPE_BY_TYPE: dict[str, str] = {
    "Order": "read_orders",
    "OrderConnection": "read_orders",
    "Customer": "read_customers",
    "CustomerConnection": "read_customers",
}
SCOPE_BY_FIELD: dict[str, str] = {
    "ordersCount": "read_orders",
    "customersCount": "read_customers",
}
PROTECTED_TYPES = frozenset({"Customer", "CustomerConnection"})
ACCESS_SCOPES_DOC = "https://shopify.dev/api/usage/access-scopes"


@dataclass(frozen=True, slots=True)
class Denial:
    """One field the token may not read, with what Shopify says about it."""

    path: tuple[str, ...]
    node: FieldNode
    field_name: str
    scope: str | None
    """Missing access scope; ``None`` means protected customer data is not approved."""


def access_denials(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    grant: Grant,
    *,
    customer_data_approved: bool,
) -> list[Denial]:
    """Fields of a document refused to ``grant``: missing scopes, then protected data."""
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    denials: list[Denial] = []
    if root is not None:
        _deny(
            schema,
            root,
            operation.selection_set,
            fragments,
            grant,
            customer_data_approved,
            (),
            denials,
        )
    return denials


def _deny(
    schema: GraphQLSchema,
    parent: Any,
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    grant: Grant,
    approved: bool,
    path: tuple[str, ...],
    out: list[Denial],
) -> None:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, InlineFragmentNode):
            target = (
                schema.get_type(selection.type_condition.name.value)
                if selection.type_condition
                else parent
            )
            _deny(schema, target, selection.selection_set, fragments, grant, approved, path, out)
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                target = schema.get_type(fragment.type_condition.name.value)
                _deny(schema, target, fragment.selection_set, fragments, grant, approved, path, out)
            continue
        if not isinstance(selection, FieldNode):
            continue
        fields = getattr(parent, "fields", None) or {}
        field = fields.get(selection.name.value)
        if field is None:
            continue
        named = get_named_type(field.type)
        key = selection.alias.value if selection.alias else selection.name.value
        here = (*path, key)
        scope = SCOPE_BY_FIELD.get(selection.name.value) or SCOPE_BY_TYPE.get(named.name)
        if scope is not None and not grant.allows(scope):
            out.append(Denial(here, selection, selection.name.value, scope))
            continue
        if named.name in PROTECTED_TYPES and not approved:
            out.append(Denial(here, selection, selection.name.value, None))
            continue
        _deny(schema, named, selection.selection_set, fragments, grant, approved, here, out)
