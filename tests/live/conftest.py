"""The backfill fixtures: an in-process emulator store and isolated services."""

from __future__ import annotations

from backfill.conftest import make_services, make_shop

__all__ = ["make_services", "make_shop"]
