"""Where a sharded backfill cuts its window: contiguous slices of even work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from shopify_backfill.backfill.slicing import Slice, balanced_slices, fine_edges

START = datetime(2026, 6, 1, tzinfo=UTC)
END = START + timedelta(days=90)


def _covers(slices: list[Slice]) -> bool:
    return (
        slices[0].start == START
        and slices[-1].end == END
        and all(left.end == right.start for left, right in pairwise(slices))
    )


def test_fine_edges_are_even_whole_seconds_from_start_to_end() -> None:
    edges = fine_edges(START, END, 7)
    assert len(edges) == 8 and edges[0] == START and edges[-1] == END
    assert all(edge.microsecond == 0 for edge in edges)
    assert all(left < right for left, right in pairwise(edges))


def test_a_sale_week_gets_its_own_slices() -> None:
    """Equal time slices would give one worker most of the orders; these are even."""
    edges = fine_edges(START, END, 16)
    counts = [10] * 16
    counts[12] = 600  # a sale
    slices = balanced_slices(edges, counts, 4)
    assert _covers(slices)
    assert sum(piece.expected for piece in slices) == sum(counts)
    assert any(piece.start == edges[12] and piece.end == edges[13] for piece in slices)


def test_empty_pieces_join_their_neighbours() -> None:
    edges = fine_edges(START, END, 8)
    slices = balanced_slices(edges, [0, 0, 3, 0, 0, 0, 0, 0], 4)
    assert _covers(slices)
    assert [piece.expected for piece in slices] == [3]


def test_an_empty_window_is_one_slice() -> None:
    slices = balanced_slices(fine_edges(START, END, 8), [0] * 8, 4)
    assert slices == [Slice(START, END, 0)]


@given(
    st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=40), st.integers(1, 16)
)
def test_slices_always_cover_the_window_and_keep_every_record(
    counts: list[int], parts: int
) -> None:
    slices = balanced_slices(fine_edges(START, END, len(counts)), counts, parts)
    assert _covers(slices)
    assert len(slices) <= parts
    assert sum(piece.expected for piece in slices) == sum(counts)
    assert all(piece.expected > 0 for piece in slices) or len(slices) == 1
