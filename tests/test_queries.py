"""Every query text the product sends validates against the real 2026-07 schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import GraphQLSchema

from shopify_backfill.shopify import queries
from shopify_backfill.shopify.schema import validation_errors

SRC = Path(queries.__file__).resolve().parents[1]


@pytest.mark.parametrize(("name", "text"), list(queries.all_query_texts()))
def test_query_validates(admin_schema: GraphQLSchema, name: str, text: str) -> None:
    errors = validation_errors(admin_schema, text)
    assert errors == [], f"{name}: {[e.message for e in errors]}"


def test_no_query_text_outside_queries_module() -> None:
    """Query texts live in shopify/queries.py only, so the test above sees all of them."""
    pattern = re.compile(r"\b(query|mutation)\s+[A-Z]\w*\s*[({]")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "queries.py"
        and "emulator" not in path.parts
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_invalid_query_is_reported(admin_schema: GraphQLSchema) -> None:
    errors = validation_errors(admin_schema, "{ orders(first: 1) { nodes { nope } } }")
    assert errors
    assert "nope" in errors[0].message
