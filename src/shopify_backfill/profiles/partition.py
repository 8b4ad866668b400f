"""Cutting a backfill's records into load partitions that can never touch the same profile.

Identity resolution is order-dependent by design (SPEC §3.1: the first holder of an email
keeps it, ties go to the most recent activity, attribute diffs depend on what is stored).
Two workers loading records that may meet on one profile would give a store that
depends on their interleaving. So the records are grouped first: two records belong to
the same group when they share an identity key (a Shopify customer id, an email, a
phone), directly or through a chain of records, or through a profile already in the
store that holds keys of both. A group is loaded by one worker in the single-process
order; groups share no profile, so loading them in parallel gives exactly the store that
one process gives, whatever the interleaving, with no lock held across groups.

A hot key (a shop's own phone typed on a thousand orders) makes one large group: that is
the price of exactness, and the partition balances the rest around it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Final

import sqlalchemy as sa

from shopify_backfill.mapping.intents import (
    ALIAS_CUSTOMER_ID,
    ALIAS_EMAIL,
    ALIAS_PHONE,
    CustomerIntent,
    MappedRecord,
    OrderIntent,
    Rejected,
)
from shopify_backfill.profiles.identity import rows_in
from shopify_backfill.profiles.schema import aliases, users

CUSTOMER: Final = "c:"
EMAIL: Final = "e:"
PHONE: Final = "p:"

_ALIAS_PREFIX: Final = {ALIAS_CUSTOMER_ID: CUSTOMER, ALIAS_EMAIL: EMAIL, ALIAS_PHONE: PHONE}


def _customer_keys(customer: CustomerIntent | None, into: set[str]) -> None:
    if customer is None:
        return
    into.add(CUSTOMER + customer.shopify_customer_id)
    if customer.email:
        into.add(EMAIL + customer.email)
    if customer.phone_e164:
        into.add(PHONE + customer.phone_e164)


def record_keys(item: MappedRecord) -> list[str]:
    """Every key identity resolution could look a profile up by for this record (the
    same ones ``writes._Batch._preload`` loads), sorted."""
    keys: set[str] = set()
    if isinstance(item, CustomerIntent):
        _customer_keys(item, keys)
    elif isinstance(item, OrderIntent):
        _customer_keys(item.customer, keys)
        if item.guest is not None:
            if item.guest.email:
                keys.add(EMAIL + item.guest.email)
            if item.guest.phone_e164:
                keys.add(PHONE + item.guest.phone_e164)
    elif isinstance(item, Rejected):
        _customer_keys(item.customer, keys)
    return sorted(keys)


class KeyUnion:
    """Union-find over keys (path halving, union by size)."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._size: dict[str, int] = {}

    def find(self, key: str) -> str:
        parent = self._parent
        if key not in parent:
            parent[key] = key
            self._size[key] = 1
            return key
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        root = self.find(keys[0])
        for key in keys[1:]:
            other = self.find(key)
            if other == root:
                continue
            if self._size[other] > self._size[root]:
                root, other = other, root
            self._parent[other] = root
            self._size[root] += self._size[other]

    def __contains__(self, key: str) -> bool:
        return key in self._parent


def _profiles_holding(conn: sa.Connection, workspace_id: int, keys: Sequence[str]) -> set[int]:
    by_prefix: dict[str, list[str]] = {CUSTOMER: [], EMAIL: [], PHONE: []}
    for key in keys:
        by_prefix[key[:2]].append(key[2:])
    found: set[int] = set()
    for label, prefix in _ALIAS_PREFIX.items():
        query = sa.select(aliases.c.user_id).where(
            aliases.c.workspace_id == workspace_id, aliases.c.label == label
        )
        found.update(row.user_id for row in rows_in(conn, query, aliases.c.name, by_prefix[prefix]))
    for column, prefix in ((users.c.email, EMAIL), (users.c.phone, PHONE)):
        query = sa.select(users.c.id).where(users.c.workspace_id == workspace_id)
        found.update(row.id for row in rows_in(conn, query, column, by_prefix[prefix]))
    return found


def _keys_of_profiles(
    conn: sa.Connection, workspace_id: int, user_ids: Sequence[int]
) -> dict[int, set[str]]:
    held: dict[int, set[str]] = {user_id: set() for user_id in user_ids}
    query = sa.select(users.c.id, users.c.email, users.c.phone).where(
        users.c.workspace_id == workspace_id
    )
    for row in rows_in(conn, query, users.c.id, user_ids):
        if row.email:
            held[row.id].add(EMAIL + row.email)
        if row.phone:
            held[row.id].add(PHONE + row.phone)
    query = sa.select(aliases.c.user_id, aliases.c.label, aliases.c.name).where(
        aliases.c.workspace_id == workspace_id, aliases.c.label.in_(list(_ALIAS_PREFIX))
    )
    for row in rows_in(conn, query, aliases.c.user_id, user_ids):
        held[row.user_id].add(_ALIAS_PREFIX[row.label] + row.name)
    return held


def link_existing_profiles(
    conn: sa.Connection, workspace_id: int, union: KeyUnion, keys: Iterable[str]
) -> int:
    """Join the keys that one stored profile holds together, to a fixpoint: a profile
    found by one key may hold others that lead to further profiles. Returns how many
    stored profiles were linked."""
    frontier = sorted(set(keys))
    seen_profiles: set[int] = set()
    known = set(frontier)
    while frontier:
        holders = sorted(_profiles_holding(conn, workspace_id, frontier) - seen_profiles)
        if not holders:
            break
        seen_profiles.update(holders)
        fresh: set[str] = set()
        for held in _keys_of_profiles(conn, workspace_id, holders).values():
            union.union(sorted(held))
            fresh.update(held - known)
        known.update(fresh)
        frontier = sorted(fresh)
    return len(seen_profiles)


def assign_partitions(
    conn: sa.Connection, workspace_id: int, keys_per_record: Sequence[Sequence[str]], parts: int
) -> list[int]:
    """The load partition (``0 .. parts-1``) of each record, in the input's order.

    Records that share a group share a partition; groups are placed largest first on the
    least loaded partition (ties: the lowest partition, then the group met first), so the
    plan is deterministic and the largest partition is as small as the groups allow.
    """
    if parts < 1:
        raise ValueError("parts must be at least 1")
    union = KeyUnion()
    for keys in keys_per_record:
        union.union(keys)
    link_existing_profiles(
        conn, workspace_id, union, (key for keys in keys_per_record for key in keys)
    )
    groups: dict[str, list[int]] = {}
    loose: list[int] = []
    for index, keys in enumerate(keys_per_record):
        if keys:
            groups.setdefault(union.find(keys[0]), []).append(index)
        else:
            loose.append(index)
    members = sorted(groups.values(), key=lambda group: (-len(group), group[0]))
    members.extend([index] for index in loose)
    load = [(0, part) for part in range(parts)]
    placed = [0] * len(keys_per_record)
    for group in members:
        size, part = heapq.heappop(load)
        for index in group:
            placed[index] = part
        heapq.heappush(load, (size + len(group), part))
    return placed
