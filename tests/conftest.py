"""Shared fixtures: settings in a temporary data folder and the real Admin schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema

from shopify_backfill.config import Settings
from shopify_backfill.shopify.schema import load_schema

SCHEMA_CACHE = Path(__file__).resolve().parent.parent / "var" / "cache"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated in a per-test data folder."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def admin_schema() -> GraphQLSchema:
    """The real 2026-07 Admin schema, built once per test session (cached across runs)."""
    return load_schema(Settings().schema_path(), SCHEMA_CACHE)
