"""Load partitions never share a profile: records linked by a key, by a chain of keys or
by a profile already in the store land in one partition, and the plan is deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from shopify_backfill.mapping.intents import CustomerIntent
from shopify_backfill.profiles.partition import KeyUnion, assign_partitions, record_keys
from shopify_backfill.profiles.schema import aliases, users
from shopify_backfill.profiles.workspaces import create_workspace
from store_engines import BACKENDS, migrated_engine

NOW = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    with migrated_engine(request.param, tmp_path, "partition") as built:
        yield built


def _customer(customer_id: str, email: str | None, phone: str | None) -> CustomerIntent:
    return CustomerIntent(customer_id, email, phone, {}, None, None, None)


def _profile(conn: sa.Connection, workspace_id: int, email: str, phone: str) -> int:
    user_id = conn.execute(
        sa.insert(users)
        .values(
            workspace_id=workspace_id,
            email=email,
            phone=phone,
            custom_attributes={},
            created_at=NOW,
            updated_at=NOW,
        )
        .returning(users.c.id)
    ).scalar_one()
    conn.execute(
        sa.insert(aliases).values(
            workspace_id=workspace_id,
            user_id=user_id,
            label="shopify_customer_id",
            name="900",
            created_at=NOW,
        )
    )
    return int(user_id)


def test_record_keys_are_what_resolution_looks_up() -> None:
    assert record_keys(_customer("1", "a@x.io", "+15550001")) == ["c:1", "e:a@x.io", "p:+15550001"]
    assert record_keys(_customer("2", None, None)) == ["c:2"]


def test_linked_records_share_a_partition(engine: sa.Engine) -> None:
    keys = [
        ["c:1", "e:a@x.io"],
        ["c:2", "e:b@x.io"],
        ["e:a@x.io", "p:+1555"],  # a guest with 1's email
        ["c:3", "p:+1555"],  # shares the guest's phone: 1, guest and 3 are one group
        ["c:4"],
        [],  # an unreadable record: no key, anywhere
    ]
    with engine.begin() as conn:
        workspace_id = create_workspace(conn, "w")
        placed = assign_partitions(conn, workspace_id, keys, 3)
        again = assign_partitions(conn, workspace_id, keys, 3)
    assert placed == again, "the same records always get the same plan"
    assert placed[0] == placed[2] == placed[3]
    assert len({placed[0], placed[1], placed[4]}) == 3, "independent groups spread out"
    assert all(0 <= part < 3 for part in placed)


def test_a_stored_profile_links_the_keys_it_holds(engine: sa.Engine) -> None:
    """A profile holding email E and phone P: a record with E and one with P may both
    resolve to it, so they must be loaded by one worker, in order."""
    keys = [["c:10", "e:e@x.io"], ["c:11", "p:+1999"], ["c:12", "e:other@x.io"]]
    with engine.begin() as conn:
        workspace_id = create_workspace(conn, "w")
        loose = assign_partitions(conn, workspace_id, keys, 3)
        _profile(conn, workspace_id, "e@x.io", "+1999")
        linked = assign_partitions(conn, workspace_id, keys, 3)
    assert loose[0] != loose[1]
    assert linked[0] == linked[1] != linked[2]


def test_key_union_joins_chains() -> None:
    union = KeyUnion()
    union.union(["a", "b"])
    union.union(["c"])
    union.union(["b", "d"])
    assert union.find("a") == union.find("d") != union.find("c")
    assert "a" in union and "z" not in union
