"""Emails and phones held by many profiles: resolved from the store on demand.

``tests/profiles/test_idempotence.py`` checks, on random data, that resolving every key on
demand gives the full preload's store; these cases pin the situations by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from test_load_batch import customer, email, order

from conftest import Store
from shopify_backfill.profiles import identity, insert_profile
from shopify_backfill.profiles.schema import aliases, custom_events

PHONE = "+16135550142"
SHARED = "family@example.com"


@pytest.fixture
def limits() -> Iterator[None]:
    saved = identity.HOT_KEY_LIMIT, identity.HOT_PAGE
    yield
    identity.HOT_KEY_LIMIT, identity.HOT_PAGE = saved


def _alias_owner(store: Store, label: str, name: str) -> int | None:
    with store.engine.connect() as conn:
        return conn.execute(
            sa.select(aliases.c.user_id).where(
                aliases.c.workspace_id == store.workspace_id,
                aliases.c.label == label,
                aliases.c.name == name,
            )
        ).scalar_one_or_none()


def test_a_phone_shared_by_hundreds_reads_a_page_not_all_of_them(
    store: Store, limits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.engine.begin() as conn:
        for number in range(300):
            insert_profile(
                conn,
                store.workspace_id,
                attributes={"phone": PHONE},
                alias_names={"shopify_customer_id": str(90_000 + number)},
            )
        unbound = insert_profile(
            conn, store.workspace_id, external_id="crm-7", attributes={"phone": PHONE}
        )
    built: list[int] = []
    original = identity._loaded_profile

    def counting(row: Any) -> identity.Profile:
        built.append(row.id)
        return original(row)

    monkeypatch.setattr(identity, "_loaded_profile", counting)
    result = store.load([customer(1, defaultPhoneNumber={"phoneNumber": PHONE})])
    assert result.counts.customers_matched_by_phone == 1
    assert _alias_owner(store, "shopify_customer_id", "1") == unbound
    assert built == [unbound], "only the chosen profile is read whole, not the 301 holders"


@pytest.mark.parametrize("limit", [32, 1, 0])
def test_a_better_stored_profile_beats_an_eligible_one_in_memory(
    store: Store, limits: None, limit: int
) -> None:
    """The guest's email reaches a profile through its alias (so it is in memory) and a
    better one, with an ``external_id``, only through the stored email."""
    identity.HOT_KEY_LIMIT, identity.HOT_PAGE = limit, 1
    with store.engine.begin() as conn:
        insert_profile(
            conn,
            store.workspace_id,
            attributes={"email": SHARED},
            alias_names={"shopify_email": SHARED},
        )
        crm = insert_profile(
            conn, store.workspace_id, external_id="crm-1", attributes={"email": SHARED}
        )
    store.load([order(5, email=SHARED)])
    with store.engine.connect() as conn:
        owners = conn.execute(
            sa.select(custom_events.c.user_id).where(
                custom_events.c.workspace_id == store.workspace_id
            )
        ).scalars()
        assert list(owners) == [crm]


@pytest.mark.parametrize("limit", [32, 0])
def test_customers_sharing_a_hot_email_each_get_their_own_profile(
    store: Store, limits: None, limit: int
) -> None:
    identity.HOT_KEY_LIMIT, identity.HOT_PAGE = limit, 1
    records = [customer(n, defaultEmailAddress=email(SHARED)) for n in range(1, 5)]
    for record in records:
        store.load([record])
    store.load(records)
    owners = {_alias_owner(store, "shopify_customer_id", str(n)) for n in range(1, 5)}
    assert len(owners) == 4 and None not in owners
