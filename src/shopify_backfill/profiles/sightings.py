"""Who a backfill met, each once: the report's customer and guest figures.

``load_batch`` records, in each batch's transaction, one ``backfill_sightings`` row per
Shopify customer it saw and per profile a guest order reached (see ``schema``); this
module turns them into figures. Summing per-batch counts instead would count a customer
again in every batch that sees it (customers come back inline on each of their orders),
and calling the repeats "matched by alias" would describe the backfill's own profiles
as existing ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shopify_backfill.profiles.schema import backfill_sightings


@dataclass(frozen=True, slots=True)
class SightingCounts:
    """Distinct Shopify customers and guest profiles of one backfill, by first sighting.

    ``customers_created``: a new profile (also when a guest order of the same backfill
    created it first). ``customers_matched_by_*``: a profile that existed before the
    backfill, by the rule that found it; of those, ``customers_updated`` had an attribute,
    alias or subscription changed by the backfill, ``customers_unchanged`` nothing.
    Guests: profiles created for guest orders (unless a customer of the same backfill
    claimed the profile later, by email or phone: then it is that customer's, counted
    once as created), and profiles that existed before the backfill that guest orders
    reached by email or phone.
    """

    customers_created: int = 0
    customers_matched_by_alias: int = 0
    customers_matched_by_email: int = 0
    customers_matched_by_phone: int = 0
    customers_updated: int = 0
    customers_unchanged: int = 0
    guest_profiles_created: int = 0
    guest_profiles_matched_by_email: int = 0
    guest_profiles_matched_by_phone: int = 0


def sighting_counts(conn: sa.Connection, workspace_id: int, backfill_id: int) -> SightingCounts:
    """The figures of one backfill, from what its committed batches recorded."""
    bs = backfill_sightings
    query = (
        sa.select(bs.c.kind, bs.c.outcome, bs.c.changed, sa.func.count())
        .where(bs.c.workspace_id == workspace_id, bs.c.backfill_id == backfill_id)
        .group_by(bs.c.kind, bs.c.outcome, bs.c.changed)
    )
    figures: dict[str, int] = {}

    def add(name: str, amount: int) -> None:
        figures[name] = figures.get(name, 0) + amount

    for kind, outcome, changed, count in conn.execute(query):
        amount = int(count)
        if kind == "guest":
            add(
                "guest_profiles_created"
                if outcome == "created"
                else f"guest_profiles_matched_by_{outcome}",
                amount,
            )
        elif outcome == "created":
            add("customers_created", amount)
        else:
            add(f"customers_matched_by_{outcome}", amount)
            add("customers_updated" if changed else "customers_unchanged", amount)
    return SightingCounts(**figures)
