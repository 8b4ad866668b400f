"""Backfill fixtures: an in-process emulator, isolated services, a connected store.

The shop helpers live in ``tests/shop_fixtures.py`` (shared with the campaign tests) and
are re-exported here for the test modules of this folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema

from shop_fixtures import (
    FAST_BULK,
    FAST_RETRY,
    RECIPIENTS,
    STORE_NOW,
    Shop,
    close_shop,
    connect,
    open_shop,
    start_and_run,
)
from shopify_backfill.config import Settings
from shopify_backfill.wiring import Services, build_services
from store_engines import POSTGRES_URL

__all__ = [
    "FAST_BULK",
    "FAST_RETRY",
    "POSTGRES_URL",
    "RECIPIENTS",
    "STORE_NOW",
    "Shop",
    "connect",
    "fast_settings",
    "start_and_run",
]


@pytest.fixture
def make_shop(admin_schema: GraphQLSchema) -> Iterator[Any]:
    opened: list[Shop] = []

    def factory(**kwargs: Any) -> Shop:
        shop = open_shop(admin_schema, **kwargs)
        opened.append(shop)
        return shop

    yield factory
    for shop in opened:
        close_shop(shop)


def fast_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "batch_size": 50,
        "bulk_poll_seconds": 0.02,
        "bulk_poll_max_seconds": 0.1,
        "lease_seconds": 5,
        "mail_backoff_seconds": 0.01,
        "smtp_host": None,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_services(tmp_path: Path) -> Iterator[Any]:
    built: list[Services] = []

    def factory(**overrides: Any) -> Services:
        services = build_services(fast_settings(tmp_path / f"data{len(built)}", **overrides))
        built.append(services)
        return services

    yield factory
    for services in built:
        services.dispose()
