"""One count of "profiles this backfill writes", worded the same everywhere.

The preview, the risk audit, the live progress, the report and the completion email
used to give different figures for the same store (customers created in the window,
users a campaign would reach, customers plus guest profiles). This is the one figure
they now share, with its words:

    profiles this backfill writes = the Shopify customers it imports (created in the
    window, plus the buyers of its orders created earlier, each once) + the guest-order
    profiles it reaches (orders without a customer, one profile per email or phone).

Exact figures come from the backfill's sightings (``profiles.sightings``: what committed
batches met, each once); the preview's is an estimate and says so, with its tolerance.
It lives here, under both the backfill and the campaigns, so both word it alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopify_backfill.profiles.sightings import SightingCounts

PROFILES_WRITTEN = "profiles this backfill writes"
"""The figure's name, identical in every interface (tests compare the text)."""


@dataclass(frozen=True, slots=True)
class ProfileCount:
    """Distinct profiles a backfill writes: Shopify customers and guest-order profiles.

    ``tolerance`` is set on estimates only (the preview's): the relative error the
    estimate promises, e.g. 0.1 for "within 10%".
    """

    customers: int
    guests: int
    tolerance: float | None = None

    @property
    def total(self) -> int:
        return self.customers + self.guests

    @property
    def estimated(self) -> bool:
        return self.tolerance is not None

    def sentence(self, *, so_far: bool = False) -> str:
        """``profiles this backfill writes: 1,033 (903 Shopify customers, 130 guest-order
        profiles)``; an estimate reads ``~1,033, an estimate within ±10% (...)``."""
        approx = "~" if self.estimated else ""
        figure = f"{approx}{self.total:,}"
        if self.tolerance is not None:
            figure += f", an estimate within ±{self.tolerance:.0%}"
        if so_far:
            figure += " so far"
        return (
            f"{PROFILES_WRITTEN}: {figure} ({approx}{self.customers:,} Shopify customers, "
            f"{approx}{self.guests:,} guest-order profiles)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "label": PROFILES_WRITTEN,
            "total": self.total,
            "customers": self.customers,
            "guests": self.guests,
            "estimated": self.estimated,
            "tolerance": self.tolerance,
            "sentence": self.sentence(),
        }


def from_sightings(seen: SightingCounts) -> ProfileCount:
    """The exact count of what a backfill's committed batches (or a dry run) met."""
    customers = (
        seen.customers_created
        + seen.customers_matched_by_alias
        + seen.customers_matched_by_email
        + seen.customers_matched_by_phone
    )
    guests = (
        seen.guest_profiles_created
        + seen.guest_profiles_matched_by_email
        + seen.guest_profiles_matched_by_phone
    )
    return ProfileCount(customers=customers, guests=guests)


def from_report(report: dict[str, Any]) -> ProfileCount:
    """The count of a stored report (also reports written before the figure existed)."""
    customers = report["customers"]
    guests = report["guests"]
    return ProfileCount(
        customers=int(customers["created"])
        + int(customers["matched_by_alias"])
        + int(customers["matched_by_email"])
        + int(customers["matched_by_phone"]),
        guests=int(guests["profiles_created"])
        + int(guests["matched_by_email"])
        + int(guests["matched_by_phone"]),
    )
