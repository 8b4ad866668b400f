"""Objects into ``/users/track`` bodies: never more than the destination's cap per request.

Braze counts attributes, events and purchases together against one cap (75 by default,
50 on some contracts) and refuses a bigger request whole, so the cap is enforced here,
where the bodies are made, not discovered from a 400
(https://www.braze.com/docs/api/api_limits/).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from shopify_backfill.destinations.braze.objects import ArrayName, BrazeObject

MAX_OBJECTS: Final = 75
ARRAYS: Final[tuple[ArrayName, ...]] = ("attributes", "events", "purchases")


@dataclass(frozen=True, slots=True)
class TrackBody:
    """One request's arrays, with their sizes for the ledger and the report."""

    arrays: dict[ArrayName, list[BrazeObject]]

    def count(self, name: ArrayName) -> int:
        return len(self.arrays.get(name, ()))

    @property
    def size(self) -> int:
        return sum(len(items) for items in self.arrays.values())


def pack(objects: Sequence[tuple[ArrayName, BrazeObject]], max_objects: int) -> list[TrackBody]:
    """Consecutive runs of at most ``max_objects`` objects, order kept."""
    if not 1 <= max_objects <= MAX_OBJECTS:
        raise ValueError(f"max_objects must be 1..{MAX_OBJECTS}, not {max_objects}")
    bodies: list[TrackBody] = []
    for start in range(0, len(objects), max_objects):
        arrays: dict[ArrayName, list[BrazeObject]] = {}
        for name, obj in objects[start : start + max_objects]:
            arrays.setdefault(name, []).append(obj)
        bodies.append(TrackBody({name: arrays[name] for name in ARRAYS if name in arrays}))
    return bodies
