"""Batched identity resolution (SPEC §3.1).

A batch first loads every profile it could touch with a few ``IN (...)`` queries (by
alias, email and phone), then resolves its records in memory, in record order. The
in-memory index is updated as the batch goes, so a record sees the profiles created or
re-keyed by the records before it, exactly as if records were loaded one by one: this is
what makes any batch split produce the same store.

Rules beyond the spec (docs/mapping.md):
- a profile bound to another ``shopify_customer_id`` is never a candidate for a
  different Shopify customer (two customers sharing an email stay two profiles);
- ties between candidates: ``external_id`` first, then most recent ``last_activity``,
  then the oldest profile;
- a profile holds at most one alias per label; an alias name already held by another
  profile is not moved (the first holder keeps it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from shopify_backfill.mapping.intents import (
    ALIAS_CUSTOMER_ID,
    ALIAS_EMAIL,
    ALIAS_PHONE,
    CUSTOM_ATTRIBUTES,
    STANDARD_ATTRIBUTES,
    AttributeValue,
    CustomerIntent,
    GuestIntent,
    SubscriptionState,
)
from shopify_backfill.profiles.schema import aliases, user_subscriptions, users

IN_CHUNK: Final = 500
"""Values per ``IN (...)`` list: far below SQLite's and PostgreSQL's parameter limits."""

PG_ARRAY_CHUNK: Final = 10_000

Match = Literal["alias", "email", "phone", "created"]
T = TypeVar("T")


def chunked(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def rows_in(
    conn: sa.Connection,
    query: sa.Select[Any],
    column: sa.ColumnElement[Any],
    values: Sequence[Any],
) -> Iterator[sa.Row[Any]]:
    """Run ``query`` with ``column IN (...)`` over ``values``, a chunk at a time.

    PostgreSQL gets one array parameter (``= ANY(:keys)``) instead of one parameter per
    value: same plan, far less statement text to build and parse.
    """
    if conn.dialect.name == "postgresql":
        for part in chunked(values, PG_ARRAY_CHUNK):
            keys = sa.bindparam("keys", value=list(part), type_=postgresql.ARRAY(column.type))
            yield from conn.execute(query.where(column == sa.any_(keys)))
        return
    for part in chunked(values):
        yield from conn.execute(query.where(column.in_(part)))


def same_value(left: object, right: object) -> bool:
    """Equality that does not confuse ``True`` with ``1`` or ``"1"`` with ``1``.

    Numbers compare by value across ``int`` and ``Decimal`` (a stored ``100`` equals a
    new ``Decimal("100.0")``), since JSON keeps no distinction between them.
    """
    if isinstance(left, bool | str) or isinstance(right, bool | str):
        return type(left) is type(right) and left == right
    return left == right


@dataclass(slots=True, eq=False)
class Profile:
    """A profile as the batch sees it: loaded from the store, or created by the batch."""

    key: int
    """Store id; negative (provisional) until a profile created by the batch is inserted."""
    rank: tuple[int, int]
    """Creation order for tie-breaks: existing profiles by id, then new ones by sequence."""
    external_id: str | None
    attributes: dict[str, AttributeValue]
    other_custom: dict[str, Any]
    """Custom attributes this product does not own; carried through untouched."""
    last_activity: datetime | None
    created_by_backfill: int | None
    created_at: datetime | None
    aliases: dict[str, str]
    subscriptions: dict[int, SubscriptionState] = field(default_factory=dict)
    is_new: bool = False
    dirty: bool = False
    removed_aliases: set[str] = field(default_factory=set)
    added_aliases: set[str] = field(default_factory=set)

    def bound_to_other_customer(self, shopify_customer_id: str) -> bool:
        bound = self.aliases.get(ALIAS_CUSTOMER_ID)
        return bound is not None and bound != shopify_customer_id


class IdentityIndex:
    """The batch's view of the profiles it may touch, kept current while resolving."""

    def __init__(self) -> None:
        self.profiles: dict[int, Profile] = {}
        self.alias_owner: dict[tuple[str, str], Profile] = {}
        self.by_email: dict[str, list[Profile]] = {}
        self.by_phone: dict[str, list[Profile]] = {}
        self._next_provisional = -1
        self._created = 0

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        conn: sa.Connection,
        workspace_id: int,
        *,
        customer_ids: Iterable[str],
        emails: Iterable[str],
        phones: Iterable[str],
        subscriptions_for_backfill: int | None,
    ) -> IdentityIndex:
        """Load every profile any of these keys could resolve to, with its aliases."""
        index = cls()
        ids, mails, numbers = sorted(set(customer_ids)), sorted(set(emails)), sorted(set(phones))
        user_ids: set[int] = set()
        for label, names in (
            (ALIAS_CUSTOMER_ID, ids),
            (ALIAS_EMAIL, mails),
            (ALIAS_PHONE, numbers),
        ):
            query = sa.select(aliases.c.user_id).where(
                aliases.c.workspace_id == workspace_id, aliases.c.label == label
            )
            user_ids.update(row.user_id for row in rows_in(conn, query, aliases.c.name, names))
        in_workspace = sa.select(users).where(users.c.workspace_id == workspace_id)
        rows: dict[int, sa.Row[Any]] = {}
        for column, values in (
            (users.c.id, sorted(user_ids)),
            (users.c.email, mails),
            (users.c.phone, numbers),
        ):
            rows.update((row.id, row) for row in rows_in(conn, in_workspace, column, values))
        alias_rows: dict[int, dict[str, str]] = {user_id: {} for user_id in rows}
        query = sa.select(aliases.c.user_id, aliases.c.label, aliases.c.name)
        for row in rows_in(conn, query, aliases.c.user_id, sorted(rows)):
            alias_rows[row.user_id][row.label] = row.name
        for user_id in sorted(rows):
            index._add(_profile_from_row(rows[user_id], alias_rows[user_id]))
        if subscriptions_for_backfill is not None:
            owned = sorted(
                p.key
                for p in index.profiles.values()
                if p.created_by_backfill == subscriptions_for_backfill
            )
            query = sa.select(
                user_subscriptions.c.user_id,
                user_subscriptions.c.group_id,
                user_subscriptions.c.state,
            )
            for row in rows_in(conn, query, user_subscriptions.c.user_id, owned):
                index.profiles[row.user_id].subscriptions[row.group_id] = row.state
        return index

    def _add(self, profile: Profile) -> None:
        self.profiles[profile.key] = profile
        for label, name in profile.aliases.items():
            self.alias_owner[(label, name)] = profile
        self._index_value(self.by_email, profile.attributes.get("email"), profile)
        self._index_value(self.by_phone, profile.attributes.get("phone"), profile)

    @staticmethod
    def _index_value(index: dict[str, list[Profile]], value: object, profile: Profile) -> None:
        if isinstance(value, str):
            index.setdefault(value, []).append(profile)

    @staticmethod
    def _unindex_value(index: dict[str, list[Profile]], value: object, profile: Profile) -> None:
        if isinstance(value, str) and value in index:
            index[value] = [p for p in index[value] if p is not profile]

    # -- resolution ----------------------------------------------------------------------

    def resolve_customer(self, intent: CustomerIntent) -> tuple[Profile, Match] | None:
        """Alias, then email, then phone; ``None`` means a new profile is needed."""
        owner = self.alias_owner.get((ALIAS_CUSTOMER_ID, intent.shopify_customer_id))
        if owner is not None:
            return owner, "alias"
        for match, index, key in (
            ("email", self.by_email, intent.email),
            ("phone", self.by_phone, intent.phone_e164),
        ):
            if key is None:
                continue
            candidates = [
                p
                for p in index.get(key, ())
                if not p.bound_to_other_customer(intent.shopify_customer_id)
            ]
            if candidates:
                return _best(candidates), match  # type: ignore[return-value]
        return None

    def resolve_guest(self, guest: GuestIntent) -> tuple[Profile, Match] | None:
        """A guest order's profile: same email, then same phone (any profile qualifies)."""
        for match, index, key in (
            ("email", self.by_email, guest.email),
            ("phone", self.by_phone, guest.phone_e164),
        ):
            if key is not None and index.get(key):
                return _best(index[key]), match  # type: ignore[return-value]
        return None

    def create(self, *, created_by_backfill: int | None) -> Profile:
        """A new alias-only profile, provisional until the batch is written."""
        profile = Profile(
            key=self._next_provisional,
            rank=(1, self._created),
            external_id=None,
            attributes={},
            other_custom={},
            last_activity=None,
            created_by_backfill=created_by_backfill,
            created_at=None,
            aliases={},
            is_new=True,
            dirty=True,
        )
        self._next_provisional -= 1
        self._created += 1
        self._add(profile)
        return profile

    # -- mutation ------------------------------------------------------------------------

    def set_attribute(
        self, profile: Profile, name: str, value: AttributeValue
    ) -> tuple[bool, AttributeValue | None]:
        """Set one attribute; returns whether it changed, and the old value."""
        old = profile.attributes.get(name)
        if old is not None and same_value(old, value):
            return False, old
        if name == "email":
            self._unindex_value(self.by_email, old, profile)
            self._index_value(self.by_email, value, profile)
        elif name == "phone":
            self._unindex_value(self.by_phone, old, profile)
            self._index_value(self.by_phone, value, profile)
        profile.attributes[name] = value
        profile.dirty = True
        return True, old

    def claim_alias(
        self, profile: Profile, label: str, name: str
    ) -> Literal["unchanged", "added", "replaced", "taken"]:
        """Give ``profile`` the alias ``label:name`` unless another profile holds it."""
        owner = self.alias_owner.get((label, name))
        if owner is profile:
            return "unchanged"
        if owner is not None:
            return "taken"
        previous = profile.aliases.get(label)
        if previous is not None:
            del self.alias_owner[(label, previous)]
            if label not in profile.added_aliases:
                profile.removed_aliases.add(label)
        profile.aliases[label] = name
        profile.added_aliases.add(label)
        self.alias_owner[(label, name)] = profile
        return "added" if previous is None else "replaced"

    def note_activity(self, profile: Profile, time: datetime) -> None:
        if profile.last_activity is None or time > profile.last_activity:
            profile.last_activity = time
            profile.dirty = True


def _best(candidates: list[Profile]) -> Profile:
    """``external_id`` first, then most recently active, then the oldest profile."""

    def sort_key(p: Profile) -> tuple[int, int, float, tuple[int, int]]:
        activity = p.last_activity.timestamp() if p.last_activity else 0.0
        return (
            0 if p.external_id else 1,
            0 if p.last_activity else 1,
            -activity,
            p.rank,
        )

    return min(candidates, key=sort_key)


def _profile_from_row(row: sa.Row[Any], alias_map: dict[str, str]) -> Profile:
    attributes: dict[str, AttributeValue] = {
        name: getattr(row, name) for name in STANDARD_ATTRIBUTES if getattr(row, name) is not None
    }
    custom = dict(row.custom_attributes or {})
    other = {name: value for name, value in custom.items() if name not in CUSTOM_ATTRIBUTES}
    for name in CUSTOM_ATTRIBUTES:
        if custom.get(name) is not None:
            attributes[name] = custom[name]
    return Profile(
        key=row.id,
        rank=(0, row.id),
        external_id=row.external_id,
        attributes=attributes,
        other_custom=other,
        last_activity=row.last_activity,
        created_by_backfill=row.created_by_backfill,
        created_at=row.created_at,
        aliases=alias_map,
    )
