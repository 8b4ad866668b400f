"""The workspace's risk mode: whether backfilled (historical) data can trigger campaigns.

Stored as ``workspaces.trigger_historical`` and read by the engine once per batch
(``triggers.workspace_policy``). Two modes, one sentence each, so the CLI and the wizard
explain them with the same words. Switching is one conditional ``UPDATE``: a concurrent
switch to the same mode is reported as "no change", never written twice. Whether a
switch is allowed right now (no backfill running) is the caller's rule, since the
campaigns know no backfill table (``wiring.risk.switch_risk_mode``).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import sqlalchemy as sa

from shopify_backfill.errors import InputError
from shopify_backfill.profiles.schema import workspaces

RiskMode = Literal["silent", "seed_compatible"]
RISK_MODES: Final[tuple[RiskMode, ...]] = get_args(RiskMode)

MODE_NAMES: Final[dict[RiskMode, str]] = {
    "silent": "Silent backfill (default)",
    "seed_compatible": "Seed-compatible",
}
MODE_SENTENCES: Final[dict[RiskMode, str]] = {
    "silent": "Historical data written by the backfill triggers no campaign or Canvas at all; "
    "only live data does.",
    "seed_compatible": "Historical data triggers campaigns and Canvases like live data: only "
    "their start times and pauses protect them.",
}


def parse_risk_mode(text: str) -> RiskMode:
    """``silent`` or ``seed-compatible`` (``seed_compatible`` too); anything else refused."""
    value = text.strip().lower().replace("-", "_")
    for mode in RISK_MODES:
        if value == mode:
            return mode
    raise InputError(
        f"unknown risk mode {text[:32]!r}: choose 'silent' (the default: historical data "
        "triggers nothing) or 'seed-compatible' (only start times and pauses protect campaigns)"
    )


def risk_mode(conn: sa.Connection, workspace_id: int) -> RiskMode:
    """The workspace's current mode."""
    flag = conn.execute(
        sa.select(workspaces.c.trigger_historical).where(workspaces.c.id == workspace_id)
    ).scalar_one_or_none()
    if flag is None:
        raise InputError(f"workspace {workspace_id} does not exist")
    return "seed_compatible" if flag else "silent"


def set_risk_mode(conn: sa.Connection, workspace_id: int, mode: RiskMode) -> bool:
    """Switch to ``mode``; true when this call changed it (false: it already was)."""
    if mode not in RISK_MODES:
        raise InputError(f"unknown risk mode {mode!r}")
    risk_mode(conn, workspace_id)  # an unknown workspace is refused, not silently ignored
    target = mode == "seed_compatible"
    changed = conn.execute(
        sa.update(workspaces)
        .where(workspaces.c.id == workspace_id, workspaces.c.trigger_historical == (not target))
        .values(trigger_historical=target)
    )
    return changed.rowcount == 1
