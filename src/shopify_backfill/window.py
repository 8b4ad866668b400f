"""The backfill window: the 90 days before the store was first connected (SPEC §2).

Measured from ``connected_at``, never from when the backfill runs, so a merchant who
starts it a week after connecting still gets exactly the 90 days before connecting (the
week in between is live data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

WINDOW_DAYS = 90


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def window_for(connected_at: datetime) -> Window:
    """``[connected_at - 90 days, connected_at)`` in UTC, truncated to whole seconds."""
    end = connected_at.astimezone(UTC).replace(microsecond=0)
    return Window(start=end - timedelta(days=WINDOW_DAYS), end=end)
