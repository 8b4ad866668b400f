"""A small, faithful stand-in for Braze's REST API: ``/users/track`` and ``/users/export/ids``.

It exists so that the Braze destination is tested, demonstrated and benchmarked with
no Braze account and no network: it validates as Braze documents (object cap, one
identifier per object, ``time`` formats, alias-only users only with
``_update_existing_only: false``), enforces a per-workspace rate limit with Braze's
headers, injects faults (5xx, resets, 429 storms, latency, ``queued``, and a reset
*after* applying a request), and records what it received and the users it holds, so a
test can compare them with the embedded store. See ``docs/braze-emulator.md``.
"""

from __future__ import annotations

from braze_emulator.app import create_app
from braze_emulator.workspace import (
    BrazeEvent,
    BrazeFaults,
    BrazePurchase,
    BrazeStats,
    BrazeUser,
    BrazeWorkspace,
)

__all__ = [
    "BrazeEvent",
    "BrazeFaults",
    "BrazePurchase",
    "BrazeStats",
    "BrazeUser",
    "BrazeWorkspace",
    "create_app",
]
