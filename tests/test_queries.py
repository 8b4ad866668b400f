"""Every query text the product sends validates against the real 2026-07 schema."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from graphql import GraphQLError, GraphQLSchema, parse

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


INVALID_ON_PURPOSE = {
    ("tests/emulator/test_app.py", "Cannot query field 'nope'"),
    ("tests/emulator/test_app.py", "is never used"),
    ("tests/emulator/test_bulk.py", "Cannot query field 'nope'"),
    ("tests/test_queries.py", "Cannot query field 'nope'"),
    ("tests/emulator/test_webhooks.py", "ORDERS_EXPLODE"),
}
"""Texts that test how validation errors are answered; anything else must be valid."""


def _graphql_literals() -> list[tuple[str, str]]:
    """Every string literal in the repository's Python that is a GraphQL document."""
    found = []
    root = SRC.parents[1]
    for folder in (root / "src", root / "bench", root / "tests"):
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                    continue
                text = node.value.strip()
                if not text.startswith(("{", "query", "mutation", "#graphql")):
                    continue
                try:
                    parse(text)
                except GraphQLError:
                    continue
                found.append((f"{path.relative_to(root)}:{node.lineno}", text))
    return found


LITERALS = _graphql_literals()


def test_the_literal_scan_sees_the_emulator_and_bench_queries() -> None:
    places = {place.split(":")[0] for place, _ in LITERALS}
    assert "src/shopify_emulator/selfcheck.py" in places
    assert "bench/emulator_bulk_export.py" in places
    assert any(place.startswith("tests/") for place in places)


@pytest.mark.parametrize(("place", "text"), LITERALS, ids=[place for place, _ in LITERALS])
def test_every_graphql_literal_validates(
    admin_schema: GraphQLSchema, place: str, text: str
) -> None:
    errors = validation_errors(admin_schema, text)
    path = place.split(":", maxsplit=1)[0]
    if errors and any(
        path == known and fragment in errors[0].message for known, fragment in INVALID_ON_PURPOSE
    ):
        return
    assert errors == [], f"{place}: {[e.message for e in errors]}"
