"""Batched identity resolution (SPEC §3.1).

A batch first loads every profile it could touch with a few ``IN (...)`` queries (by
alias, email and phone), then resolves its records in memory, in record order. The
in-memory index is updated as the batch goes, so a record sees the profiles created or
re-keyed by the records before it, exactly as if records were loaded one by one: this is
what makes any batch split produce the same store. The one exception to "load everything
first" is an email or phone held by more than ``HOT_KEY_LIMIT`` profiles: its stored
holders are read ranked, on demand, as far as resolution needs (``_candidate``).

Rules beyond the spec (docs/mapping.md):
- a profile bound to another ``shopify_customer_id`` is never a candidate for a
  different Shopify customer (two customers sharing an email stay two profiles);
- ties between candidates: ``external_id`` first, then most recent ``last_activity``,
  then the oldest profile;
- a profile holds at most one alias per label; an alias name already held by another
  profile is not moved (the first holder keeps it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
from shopify_backfill.profiles.schema import aliases, users
from shopify_backfill.profiles.types import json_dumps

PG_ARRAY_CHUNK: Final = 10_000
"""Keys per PostgreSQL array parameter: bounds one statement's work and memory."""

HOT_KEY_LIMIT = 32
"""Profiles sharing one email or phone beyond which the preload stops reading them all.

A number typed in for many customers (a shop's own phone, a household's) would bring
every profile that holds it into every batch that mentions it. Above this many, a key is
resolved from the store on demand instead: its candidates ranked as resolution ranks
them, read a page at a time, only as far as the batch needs."""

HOT_PAGE = 8
"""Candidates read per page of a hot key's ranking."""

Match = Literal["alias", "email", "phone", "created"]
T = TypeVar("T")


def chunked(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def restricted(
    conn: sa.Connection,
    query: sa.Select[Any],
    column: sa.ColumnElement[Any],
    values: Sequence[Any],
    name: str = "wanted",
) -> sa.Select[Any]:
    """``query`` restricted to the rows whose ``column`` is one of ``values``.

    The values travel as one parameter, so the statement text is the same whatever
    their number (both drivers cache prepared statements by text) and no parameter
    limit applies:

    * SQLite: ``column IN (SELECT value FROM json_each(:json))``; SQLite runs the list
      once and probes the index on ``column`` with each value.
    * PostgreSQL: ``unnest(:array)`` joined to ``LATERAL (query AND column = key
      OFFSET 0)``, which pins the plan to one index probe per key. The obvious
      ``column = ANY(:array)`` was measured scanning the workspace's whole index range
      and filtering the array (70 ms a batch instead of 2) on tables without statistics
      yet, a first backfill's case (and a new workspace's on a large table with stale
      statistics): a per-batch cost growing with the store instead of the batch.
      ``OFFSET 0`` keeps the planner from flattening the lateral subquery back into an
      ordinary join.

    Pass distinct values: on PostgreSQL a repeated value repeats its rows.
    """
    if conn.dialect.name == "postgresql":
        array = sa.bindparam(None, value=list(values), type_=postgresql.ARRAY(column.type))
        keys = sa.func.unnest(array).table_valued("key").render_derived(name=f"{name}_keys")
        probe = query.where(column == keys.c.key).offset(0).lateral(name)
        return sa.select(probe).select_from(keys.join(probe, sa.true()))
    document = sa.bindparam(None, value=json_dumps(list(values)), type_=sa.Text)
    each = sa.func.json_each(document).table_valued(sa.column("value", column.type))
    return query.where(column.in_(sa.select(each.c.value)))


def rows_in(
    conn: sa.Connection,
    query: sa.Select[Any],
    column: sa.ColumnElement[Any],
    values: Sequence[Any],
) -> Iterator[sa.Row[Any]]:
    """Run ``query`` restricted to ``column IN values`` (see ``restricted``)."""
    if not values:
        return
    if conn.dialect.name != "postgresql":
        yield from conn.execute(restricted(conn, query, column, values))
        return
    for part in chunked(values, PG_ARRAY_CHUNK):
        yield from conn.execute(restricted(conn, query, column, part))


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
    aliases: dict[str, str]
    subscriptions: dict[int, SubscriptionState] = field(default_factory=dict)
    is_new: bool = False
    dirty: bool = False
    version: int = 0
    """Bumped by every change of attributes, aliases or subscriptions (see ``writes``)."""
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
        self.hot: set[tuple[str, str]] = set()
        """``("email" | "phone", key)`` pairs resolved on demand (``HOT_KEY_LIMIT``)."""
        self._store: _StoreReader | None = None

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
        """Load every profile any of these keys could resolve to, with its aliases.

        One statement: the profiles reached by alias, email or phone, each with its
        aliases (and, for profiles this backfill created, its subscription states)
        aggregated as JSON, so that a profile found by several keys is read once.
        """
        index = cls()
        ids, mails, numbers = sorted(set(customer_ids)), sorted(set(emails)), sorted(set(phones))
        if not (ids or mails or numbers):
            return index
        store = index._store = _StoreReader(conn, workspace_id, subscriptions_for_backfill)
        hot_mails = store.hot_keys(users.c.email, mails)
        hot_numbers = store.hot_keys(users.c.phone, numbers)
        index.hot = {("email", k) for k in hot_mails} | {("phone", k) for k in hot_numbers}
        values = (
            ids,
            mails,
            numbers,
            [m for m in mails if m not in hot_mails],
            [n for n in numbers if n not in hot_numbers],
        )
        postgres = conn.dialect.name == "postgresql"
        keys = values if postgres else tuple(json_dumps(v) for v in values)
        statement = _profiles_statement(conn.dialect.name)
        parameters = {
            "workspace_id": workspace_id,
            "backfill_id": subscriptions_for_backfill,
            "customer_ids": keys[0],
            "emails": keys[1],
            "phones": keys[2],
            "attribute_emails": keys[3],
            "attribute_phones": keys[4],
        }
        for row in conn.execute(statement, parameters):
            index._add(_loaded_profile(row))
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
        customer_id = intent.shopify_customer_id
        owner = self.alias_owner.get((ALIAS_CUSTOMER_ID, customer_id))
        if owner is not None:
            return owner, "alias"
        for match, key in (("email", intent.email), ("phone", intent.phone_e164)):
            if key is None:
                continue
            found = self._candidate(
                match, key, lambda p: not p.bound_to_other_customer(customer_id), unbound=True
            )
            if found is not None:
                return found, match  # type: ignore[return-value]
        return None

    def resolve_guest(self, guest: GuestIntent) -> tuple[Profile, Match] | None:
        """A guest order's profile: same email, then same phone (any profile qualifies)."""
        for match, key in (("email", guest.email), ("phone", guest.phone_e164)):
            if key is None:
                continue
            found = self._candidate(match, key, lambda p: True, unbound=False)
            if found is not None:
                return found, match  # type: ignore[return-value]
        return None

    def _candidate(
        self, field: str, key: str, eligible: Callable[[Profile], bool], *, unbound: bool
    ) -> Profile | None:
        """The best eligible profile holding ``key``: among those in memory and, for a hot
        key, the best of the store's that are not (its ranking, read on demand).

        A profile in memory is judged by its current state only; one not in memory is
        untouched by the batch, so its stored state, which ranked it, is current.
        ``unbound`` ranks only stored profiles without a Shopify customer: the others are
        bound to a different customer (this customer's own would be in memory, by alias).
        """
        index = self.by_email if field == "email" else self.by_phone
        candidates = [p for p in index.get(key, ()) if eligible(p)]
        best = _best(candidates) if candidates else None
        if self._store is None or (field, key) not in self.hot:
            return best
        stored = self._store.next_candidate(field, key, unbound, self.profiles)
        if stored is not None and (best is None or stored[0] < _profile_key(best)):
            best = self._store.profile(stored[1])
            self._add(best)
        return best

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
        profile.version += 1
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
        profile.version += 1
        self.alias_owner[(label, name)] = profile
        return "added" if previous is None else "replaced"

    def note_activity(self, profile: Profile, time: datetime) -> None:
        if profile.last_activity is None or time > profile.last_activity:
            profile.last_activity = time
            profile.dirty = True


_PROFILE_COLUMNS: Final = (
    "id",
    "external_id",
    *STANDARD_ATTRIBUTES,
    "custom_attributes",
    "last_activity",
    "created_by_backfill",
)


_PG_SELECT: Final = """
SELECT users.id, users.external_id, users.email, users.first_name, users.last_name, users.phone,
    users.home_city, users.country, users.custom_attributes, users.last_activity,
    users.created_by_backfill,
    (SELECT jsonb_object_agg(label, name) FROM aliases
        WHERE aliases.user_id = users.id) AS alias_map,
    CASE WHEN users.created_by_backfill = :backfill_id THEN
        (SELECT jsonb_object_agg(group_id, state) FROM user_subscriptions
            WHERE user_subscriptions.user_id = users.id)
    END AS subscription_map
"""

_PG_PROFILES: Final = (
    _PG_SELECT  # noqa: S608 - constant texts; values are bound parameters
    + """
FROM (
    SELECT hit.user_id AS id FROM unnest(CAST(:customer_ids AS text[])) AS k(key)
        CROSS JOIN LATERAL (SELECT user_id FROM aliases WHERE workspace_id = :workspace_id
            AND label = :customer_label AND name = k.key OFFSET 0) AS hit
    UNION
    SELECT hit.user_id FROM unnest(CAST(:emails AS text[])) AS k(key)
        CROSS JOIN LATERAL (SELECT user_id FROM aliases WHERE workspace_id = :workspace_id
            AND label = :email_label AND name = k.key OFFSET 0) AS hit
    UNION
    SELECT hit.user_id FROM unnest(CAST(:phones AS text[])) AS k(key)
        CROSS JOIN LATERAL (SELECT user_id FROM aliases WHERE workspace_id = :workspace_id
            AND label = :phone_label AND name = k.key OFFSET 0) AS hit
    UNION
    SELECT hit.id FROM unnest(CAST(:attribute_emails AS text[])) AS k(key)
        CROSS JOIN LATERAL (SELECT id FROM users WHERE workspace_id = :workspace_id
            AND email = k.key OFFSET 0) AS hit
    UNION
    SELECT hit.id FROM unnest(CAST(:attribute_phones AS text[])) AS k(key)
        CROSS JOIN LATERAL (SELECT id FROM users WHERE workspace_id = :workspace_id
            AND phone = k.key OFFSET 0) AS hit
) AS wanted
CROSS JOIN LATERAL (SELECT * FROM users
    WHERE users.id = wanted.id AND users.workspace_id = :workspace_id OFFSET 0) AS users
ORDER BY users.id
"""
)

_SQLITE_SELECT: Final = """
SELECT users.id, users.external_id, users.email, users.first_name, users.last_name, users.phone,
    users.home_city, users.country, users.custom_attributes, users.last_activity,
    users.created_by_backfill,
    (SELECT json_group_object(label, name) FROM aliases
        WHERE aliases.user_id = users.id) AS alias_map,
    CASE WHEN users.created_by_backfill = :backfill_id THEN
        (SELECT json_group_object(group_id, state) FROM user_subscriptions
            WHERE user_subscriptions.user_id = users.id)
    END AS subscription_map
"""

_SQLITE_PROFILES: Final = (
    _SQLITE_SELECT  # noqa: S608 - constant texts; values are bound parameters
    + """
FROM (
    SELECT user_id AS id FROM aliases WHERE workspace_id = :workspace_id
        AND label = :customer_label AND name IN (SELECT value FROM json_each(:customer_ids))
    UNION
    SELECT user_id FROM aliases WHERE workspace_id = :workspace_id
        AND label = :email_label AND name IN (SELECT value FROM json_each(:emails))
    UNION
    SELECT user_id FROM aliases WHERE workspace_id = :workspace_id
        AND label = :phone_label AND name IN (SELECT value FROM json_each(:phones))
    UNION
    SELECT id FROM users WHERE workspace_id = :workspace_id
        AND email IN (SELECT value FROM json_each(:attribute_emails))
    UNION
    SELECT id FROM users WHERE workspace_id = :workspace_id
        AND phone IN (SELECT value FROM json_each(:attribute_phones))
) AS wanted
CROSS JOIN users ON users.id = wanted.id AND users.workspace_id = :workspace_id
ORDER BY users.id
"""
)


@functools.lru_cache(maxsize=2)
def _profiles_statement(backend: str) -> sa.TextClause:
    """The identity preload: every profile reachable by one of the batch's keys.

    Profiles found by alias (customer id, email, phone), by ``users.email`` or by
    ``users.phone``, each read once, with its aliases (and, for profiles created by the
    given backfill, its subscription states) aggregated as JSON objects. Fixed text, so
    the driver and SQLAlchemy reuse it batch after batch; each key list travels as one
    parameter, probed as ``restricted`` explains. Both versions are driven by the ids
    found (SQLite: ``CROSS JOIN``, which fixes the join order): with ``users.id IN
    (...) AND users.workspace_id = ?`` SQLite chose to walk the workspace's users and
    test each id, a cost growing with the workspace instead of the batch.
    """
    postgres = backend == "postgresql"
    key_type: sa.types.TypeEngine[Any] = postgresql.ARRAY(sa.Text) if postgres else sa.Text()
    statement = sa.text(_PG_PROFILES if postgres else _SQLITE_PROFILES).bindparams(
        sa.bindparam("workspace_id", type_=sa.BigInteger),
        sa.bindparam("backfill_id", type_=sa.BigInteger),
        sa.bindparam("customer_label", ALIAS_CUSTOMER_ID, type_=sa.Text),
        sa.bindparam("email_label", ALIAS_EMAIL, type_=sa.Text),
        sa.bindparam("phone_label", ALIAS_PHONE, type_=sa.Text),
        *[
            sa.bindparam(name, type_=key_type)
            for name in ("customer_ids", "emails", "phones", "attribute_emails", "attribute_phones")
        ],
    )
    return _typed(statement)


@functools.lru_cache(maxsize=2)
def _profile_by_id_statement(backend: str) -> sa.TextClause:
    """One profile by id, read as the preload reads it (a hot key's candidate on demand)."""
    select = _PG_SELECT if backend == "postgresql" else _SQLITE_SELECT
    statement = sa.text(
        select + "FROM users WHERE users.id = :user_id AND users.workspace_id = :workspace_id"
    ).bindparams(
        sa.bindparam("workspace_id", type_=sa.BigInteger),
        sa.bindparam("backfill_id", type_=sa.BigInteger),
        sa.bindparam("user_id", type_=sa.BigInteger),
    )
    return _typed(statement)


def _typed(statement: sa.TextClause) -> sa.TextClause:
    return statement.columns(
        *[users.c[name] for name in _PROFILE_COLUMNS],
        sa.column("alias_map", sa.JSON),
        sa.column("subscription_map", sa.JSON),
    )  # type: ignore[return-value]


SortKey = tuple[int, int, float, tuple[int, int]]


def _sort_key(
    has_external_id: bool, last_activity: datetime | None, rank: tuple[int, int]
) -> SortKey:
    """``external_id`` first, then most recently active, then the oldest profile."""
    activity = last_activity.timestamp() if last_activity else 0.0
    return (0 if has_external_id else 1, 0 if last_activity else 1, -activity, rank)


def _profile_key(p: Profile) -> SortKey:
    return _sort_key(bool(p.external_id), p.last_activity, p.rank)


def _best(candidates: list[Profile]) -> Profile:
    return min(candidates, key=_profile_key)


def _loaded_profile(row: sa.Row[Any]) -> Profile:
    """A profile as the preload statement (or its by-id variant) returns it."""
    profile = _profile_from_row(row, dict(row.alias_map or {}))
    for group_id, state in (row.subscription_map or {}).items():
        profile.subscriptions[int(group_id)] = state
    return profile


@dataclass(slots=True)
class _Ranking:
    """A hot key's stored candidates, best first, as far as they have been read."""

    entries: list[tuple[SortKey, int]] = field(default_factory=list)
    exhausted: bool = False
    skip: int = 0
    """Entries before this one are in memory already (profiles never leave memory)."""


class _StoreReader:
    """What a batch reads from the store after its preload: hot keys, on demand."""

    def __init__(self, conn: sa.Connection, workspace_id: int, backfill_id: int | None) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.backfill_id = backfill_id
        self.rankings: dict[tuple[str, str, bool], _Ranking] = {}

    def hot_keys(self, column: sa.ColumnElement[Any], values: Sequence[str]) -> set[str]:
        """Which of ``values`` more than ``HOT_KEY_LIMIT`` profiles hold (one statement)."""
        if not values:
            return set()
        base = sa.select(column.label("held")).where(users.c.workspace_id == self.workspace_id)
        held = restricted(self.conn, base, column, values).subquery()
        query = sa.select(held.c.held).group_by(held.c.held).having(sa.func.count() > HOT_KEY_LIMIT)
        return {str(value) for value in self.conn.execute(query).scalars()}

    def next_candidate(
        self, field: str, key: str, unbound: bool, loaded: Mapping[int, Profile]
    ) -> tuple[SortKey, int] | None:
        """The best stored candidate not in memory: (its sort key, its id), or ``None``."""
        ranking = self.rankings.setdefault((field, key, unbound), _Ranking())
        while True:
            entries = ranking.entries
            while ranking.skip < len(entries) and entries[ranking.skip][1] in loaded:
                ranking.skip += 1
            if ranking.skip < len(entries):
                return entries[ranking.skip]
            if ranking.exhausted:
                return None
            self._read_page(field, key, unbound, ranking)

    def _read_page(self, field: str, key: str, unbound: bool, ranking: _Ranking) -> None:
        column = users.c.email if field == "email" else users.c.phone
        has_external = sa.and_(users.c.external_id.is_not(None), users.c.external_id != "")
        query = (
            sa.select(users.c.id, has_external.label("has_external"), users.c.last_activity)
            .where(users.c.workspace_id == self.workspace_id, column == key)
            .order_by(
                sa.case((has_external, 0), else_=1),
                sa.case((users.c.last_activity.is_(None), 1), else_=0),
                users.c.last_activity.desc(),
                users.c.id,
            )
            .limit(HOT_PAGE)
            .offset(len(ranking.entries))
        )
        if unbound:
            bound = sa.exists().where(
                aliases.c.user_id == users.c.id, aliases.c.label == ALIAS_CUSTOMER_ID
            )
            query = query.where(~bound)
        rows = self.conn.execute(query).all()
        ranking.entries.extend(
            (_sort_key(bool(row.has_external), row.last_activity, (0, int(row.id))), int(row.id))
            for row in rows
        )
        ranking.exhausted = len(rows) < HOT_PAGE

    def profile(self, user_id: int) -> Profile:
        statement = _profile_by_id_statement(self.conn.dialect.name)
        parameters = {
            "workspace_id": self.workspace_id,
            "backfill_id": self.backfill_id,
            "user_id": user_id,
        }
        return _loaded_profile(self.conn.execute(statement, parameters).one())


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
        aliases=alias_map,
    )
