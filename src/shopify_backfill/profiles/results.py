"""What ``load_batch`` reports: counts, issues and the changes it applied."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Literal

from shopify_backfill.mapping.intents import RecordKind
from shopify_backfill.profiles.changes import Change

Outcome = Literal["quarantined", "unattributable", "partial"]


@dataclass(slots=True)
class LoadCounts:
    """Per-batch tallies; a customer seen several times in one batch counts once."""

    customers_created: int = 0
    customers_matched_by_alias: int = 0
    customers_matched_by_email: int = 0
    customers_matched_by_phone: int = 0
    customers_updated: int = 0
    customers_unchanged: int = 0
    customers_quarantined: int = 0
    guest_profiles_created: int = 0
    guest_orders_matched_by_email: int = 0
    guest_orders_matched_by_phone: int = 0
    orders_imported: int = 0
    orders_already_imported: int = 0
    orders_skipped_test: int = 0
    orders_unattributable: int = 0
    orders_quarantined: int = 0
    events_written: int = 0
    purchases_written: int = 0
    data_points: int = 0

    def add(self, other: LoadCounts) -> None:
        """Accumulate another batch's counts (the job's running totals)."""
        for spec in fields(self):
            setattr(self, spec.name, getattr(self, spec.name) + getattr(other, spec.name))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Issue:
    """A record not imported (``quarantined``/``unattributable``) or imported in part."""

    record_kind: RecordKind
    shopify_id: str
    outcome: Outcome
    reason: str
    excerpt: str = ""


@dataclass(slots=True)
class LoadResult:
    counts: LoadCounts = field(default_factory=LoadCounts)
    issues: list[Issue] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    data_points_by_category: dict[str, int] = field(default_factory=dict)

    @property
    def quarantined(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.outcome == "quarantined"]

    @property
    def unattributable(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.outcome == "unattributable"]
