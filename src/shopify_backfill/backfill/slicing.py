"""Where a sharded backfill cuts its window: slices of equal work, not of equal time.

Orders are not spread evenly over 90 days (a sale week can hold a third of them), so equal
time slices would leave one worker with most of the work. The window is first cut into
``FINE_PER_SLICE`` times more equal-time pieces than slices, each counted with
``customersCount`` / ``ordersCount`` (one cheap query each, exact with ``limit: null``),
then the pieces are grouped, in time order, into contiguous slices whose counts are as
even as the pieces allow. Each stream gets its own grouping from the same counts.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shopify_backfill.shopify.client import AdminClient
from shopify_backfill.shopify.preflight import window_counts

FINE_PER_SLICE = 4


@dataclass(frozen=True)
class Slice:
    start: datetime
    end: datetime
    expected: int


def fine_edges(start: datetime, end: datetime, pieces: int) -> list[datetime]:
    """``pieces + 1`` instants from ``start`` to ``end``, equally spaced (whole seconds)."""
    span = (end - start) / pieces
    edges = [start + span * index for index in range(pieces)]
    edges = [edge.replace(microsecond=0) for edge in edges]
    edges[0] = start
    return [*edges, end]


def balanced_slices(edges: Sequence[datetime], counts: Sequence[int], parts: int) -> list[Slice]:
    """Group consecutive pieces ``[edges[i], edges[i+1])`` into at most ``parts`` slices,
    cutting before or after the piece that crosses each ``k / parts`` of the whole,
    whichever lands nearer. A
    slice that would be empty joins its neighbour, so the slices always cover the window
    and a window with 3 orders gets at most 3 order slices."""
    total = sum(counts)
    made: list[Slice] = []
    start_index = 0
    running = 0
    taken = 0

    def target() -> float:
        return total * (len(made) + 1) / parts

    for index, count in enumerate(counts):
        after = running + count
        if (
            len(made) < parts - 1
            and running > taken
            and after > target()
            and target() - running < after - target()
        ):
            # Cutting before this piece lands nearer the target than after it (a sale
            # day): close the slice here and let the piece start the next one.
            made.append(Slice(edges[start_index], edges[index], running - taken))
            start_index, taken = index, running
        running = after
        if index == len(counts) - 1 or (len(made) < parts - 1 and running >= target()):
            made.append(Slice(edges[start_index], edges[index + 1], running - taken))
            start_index, taken = index + 1, running
    merged: list[Slice] = []
    for piece in made:
        if merged and (piece.expected == 0 or merged[-1].expected == 0):
            previous = merged.pop()
            merged.append(Slice(previous.start, piece.end, previous.expected + piece.expected))
        else:
            merged.append(piece)
    return merged


def plan_slices(
    client: AdminClient, start: datetime, end: datetime, parts: int
) -> dict[str, list[Slice]]:
    """The customers' and the orders' slices of ``[start, end)``, from Shopify's counts."""
    edges = fine_edges(start, end, max(1, parts * FINE_PER_SLICE))
    customers: list[int] = []
    orders: list[int] = []
    for low, high in itertools.pairwise(edges):
        counted = window_counts(client, low, high)
        customers.append(counted[0] or 0)
        orders.append(counted[1] or 0)
    return {
        "customers": balanced_slices(edges, customers, parts),
        "orders": balanced_slices(edges, orders, parts),
    }
