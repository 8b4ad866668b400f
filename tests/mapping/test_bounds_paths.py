"""Property bounding takes a path-free walk unless something is cut: same result."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shopify_backfill.mapping.bounds import PROPERTY_TEXT, _bound, bounded_properties

_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
_values = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), _values, max_size=6))
def test_the_fast_walk_gives_what_the_careful_one_gives(properties: dict[str, Any]) -> None:
    notes: list[str] = []
    cuts: list[str] = []
    assert bounded_properties(properties, "order", notes) == _bound(dict(properties), "", cuts)
    assert notes == [] and cuts == []


def test_a_cut_still_names_its_path() -> None:
    notes: list[str] = []
    properties = {"items": [{"title": "ok"}, {"title": "x" * (PROPERTY_TEXT + 5)}], "a": "\x00b"}
    bounded = bounded_properties(properties, "order", notes)
    assert bounded["a"] == "b"
    assert len(bounded["items"][1]["title"]) == PROPERTY_TEXT
    assert notes == [f"order properties cut to {PROPERTY_TEXT:,} characters: items[1].title"]
