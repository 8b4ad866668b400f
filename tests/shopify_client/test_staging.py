"""The staging file's lookups stay index lookups, whatever the file's size."""

from __future__ import annotations

from pathlib import Path

from shopify_backfill.shopify.staging import Staging, StreamState, children_sql


def test_children_lookup_uses_the_parent_index(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "s.db")
    lines = [b'{"id":"gid://shopify/Order/1","createdAt":"2026-01-01T00:00:00Z"}']
    lines += [
        b'{"id":"gid://shopify/LineItem/%d","__parentId":"gid://shopify/Order/1"}' % n
        for n in range(50)
    ]
    staging.append("orders", lines, 100, StreamState())
    plan = staging._db.execute(
        "EXPLAIN QUERY PLAN " + children_sql(2), ("orders", "a", "b")
    ).fetchall()
    assert any("lines_parent" in str(step) and "parent=?" in str(step) for step in plan), plan
    found = staging.children("orders", ["gid://shopify/Order/1"])
    assert len(found["gid://shopify/Order/1"]) == 50
    staging.close()
