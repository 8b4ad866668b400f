"""Backfill statuses and the transitions between them: the single source of these names.

The database enforces the transitions (``UPDATE ... WHERE status IN (allowed sources)``);
this table says which sources are allowed so that the store, the CLI and the web agree.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Status = Literal["not_started", "in_progress", "completed", "failed"]
STATUSES: Final[tuple[Status, ...]] = get_args(Status)

NOT_STARTED: Final[Status] = "not_started"
IN_PROGRESS: Final[Status] = "in_progress"
COMPLETED: Final[Status] = "completed"
FAILED: Final[Status] = "failed"

INTERRUPTED_PREFIX: Final = "interrupted by the operator"
"""How the reason of a run stopped by Ctrl-C starts: such a ``failed`` row is shown as
interrupted, not as a failure (no migration needed for a separate status)."""


Phase = Literal[
    "not_started",
    "queued",
    "preflight",
    "extracting_customers",
    "extracting_orders",
    "loading_customers",
    "loading_orders",
    "finishing",
    "done",
    "failed",
]
"""Where a run is; ``extracting_*`` covers waiting for Shopify (bulk job status), and
``loading_*`` the batches flowing into the store."""
PHASES: Final[tuple[Phase, ...]] = get_args(Phase)

PHASE_LABELS: Final[dict[Phase, str]] = {
    "not_started": "not started",
    "queued": "queued for a worker",
    "preflight": "checking access and counting",
    "extracting_customers": "extracting customers",
    "extracting_orders": "extracting orders",
    "loading_customers": "loading customers",
    "loading_orders": "loading orders",
    "finishing": "finishing",
    "done": "done",
    "failed": "failed",
}

TRANSITIONS: Final[dict[Status, frozenset[Status]]] = {
    NOT_STARTED: frozenset({IN_PROGRESS}),
    # in_progress -> in_progress is a resume after the lease holder died.
    IN_PROGRESS: frozenset({IN_PROGRESS, COMPLETED, FAILED}),
    FAILED: frozenset({IN_PROGRESS}),
    COMPLETED: frozenset(),
}

LABELS: Final[dict[Status, str]] = {
    NOT_STARTED: "Not started",
    IN_PROGRESS: "In Progress",
    COMPLETED: "Completed",
    FAILED: "Failed - resumable",
}


def sources_of(target: Status) -> tuple[Status, ...]:
    """Statuses from which ``target`` may be reached, for the conditional UPDATE."""
    return tuple(source for source in STATUSES if target in TRANSITIONS[source])


def can_transition(source: Status, target: Status) -> bool:
    return target in TRANSITIONS[source]


def is_terminal(status: Status) -> bool:
    return not TRANSITIONS[status]
