"""Which Admin API versions exist, which are served, and how a request's version resolves.

Shopify's rules (https://shopify.dev/docs/api/usage/versioning):

- a stable version is released every quarter, named for its month (``YYYY-01``, ``-04``,
  ``-07``, ``-10``), on the 1st of that month at 17:00 UTC;
- each stable version is supported for (at least) 12 months: ``2023-01``, released on
  January 1, 2023, is supported until January 1, 2024. The emulator takes the minimum
  literally: a version stops being supported at the moment the version four quarters
  newer is released (17:00 UTC, 12 months after its own release), so exactly four stable
  versions are supported at any moment, overlapping by nine months;
- the release candidate is the next quarter's version, and ``unstable`` is always there;
- a request to a stable version that is no longer supported "falls forward": it is
  served by the oldest supported stable version, and ``X-Shopify-API-Version`` names the
  version that served it;
- anything else (a version that never existed: a month that is not a quarter, a quarter
  later than the release candidate, a date before Shopify versioned its API, ``latest``)
  is answered 404.

Everything is computed from the *store's* clock (``ShopStore.now``), not the wall
clock: a synthetic store dated 2026-12-06 serves what Shopify served on that day,
whenever the test or demo runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

UNSTABLE = "unstable"
FIRST_VERSION = "2019-04"
"""Shopify's first versioned Admin API release; nothing older ever existed."""
RELEASE_HOUR_UTC = 17
SUPPORTED_QUARTERS = 4
"""Stable versions supported at once: 12 months of support, one release a quarter."""
GROUP_OBJECTS_DEFAULT_UNTIL = "2026-01"
"""First version where ``bulkOperationRunQuery(groupObjects:)`` defaults to ``false``.

https://shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false
(effective 2026-01); before it, grouped output was the default (and, before 2025-07
introduced the argument, the only layout)."""

_VERSION = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_MONTHS = (1, 4, 7, 10)


def is_version_name(text: str) -> bool:
    """``YYYY-MM`` with a quarter month: the shape of every stable version name."""
    match = _VERSION.match(text)
    return match is not None and int(match.group(2)) in _QUARTER_MONTHS


def release_moment(version: str) -> datetime:
    """When ``version`` became (or becomes) stable: the 1st of its month, 17:00 UTC."""
    year, month = (int(part) for part in version.split("-"))
    return datetime(year, month, 1, RELEASE_HOUR_UTC, tzinfo=UTC)


def _shift(version: str, quarters: int) -> str:
    year, month = (int(part) for part in version.split("-"))
    index = year * 4 + (month - 1) // 3 + quarters
    return f"{index // 4:04d}-{(index % 4) * 3 + 1:02d}"


def latest_stable(now: datetime) -> str:
    """The newest stable version released at ``now``."""
    moment = now.astimezone(UTC)
    candidate = f"{moment.year:04d}-{(moment.month - 1) // 3 * 3 + 1:02d}"
    if release_moment(candidate) > moment:
        candidate = _shift(candidate, -1)
    return candidate


@dataclass(frozen=True)
class VersionSet:
    """The versions Shopify serves at one moment."""

    stable: tuple[str, ...]
    """Supported stable versions, oldest first."""
    release_candidate: str | None

    @property
    def oldest(self) -> str:
        return self.stable[0]

    @property
    def served(self) -> tuple[str, ...]:
        """Every name answered as itself: stable, release candidate, ``unstable``."""
        extra = (self.release_candidate,) if self.release_candidate else ()
        return (*self.stable, *extra, UNSTABLE)

    def resolve(self, requested: str) -> str | None:
        """The version that serves ``requested``; ``None`` means 404 (never existed)."""
        if requested in self.served:
            return requested
        if is_version_name(requested) and FIRST_VERSION <= requested < self.oldest:
            return self.oldest
        return None


def versions_at(now: datetime) -> VersionSet:
    """Shopify's supported versions at ``now`` (see the module docstring for the rule)."""
    newest = latest_stable(now)
    stable = tuple(_shift(newest, -back) for back in reversed(range(SUPPORTED_QUARTERS)))
    return VersionSet(stable=stable, release_candidate=_shift(newest, 1))


def configured_versions(versions: tuple[str, ...]) -> VersionSet:
    """An explicit ``EmulatorConfig.api_versions``: those stable versions, no candidate.

    Lets a test pin the served set regardless of the store's date; ``unstable`` and the
    fall-forward of older versions behave as with the computed set.
    """
    stable = tuple(sorted(v for v in versions if v != UNSTABLE))
    if not stable:
        raise ValueError("api_versions must name at least one stable version (YYYY-MM)")
    return VersionSet(stable=stable, release_candidate=None)


def groups_objects_by_default(version: str | None) -> bool:
    """``bulkOperationRunQuery``'s ``groupObjects`` default for requests served by ``version``.

    ``true`` before 2026-01, ``false`` from 2026-01 on (``unstable`` is newest of all);
    https://shopify.dev/docs/api/usage/bulk-operations/queries.
    """
    if version is None or version == UNSTABLE:
        return False
    return version < GROUP_OBJECTS_DEFAULT_UNTIL
