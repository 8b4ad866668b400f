"""One wrong-typed line in a bulk result file is quarantined; the rest imports (issue 13, #4).

The emulator renders correct files, so the test spoils one line on its way to the client,
as a proxy would: the download passes through a transport that rewrites one field of one
line (a number where Shopify sends a string, an object where it sends a list). The run
must complete, the spoilt record must be in the quarantine with its reason and an excerpt
of the raw line, and every other record must be in the store exactly as in a clean run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.runner import run_backfill
from shopify_backfill.backfill.store import get_backfill
from shopify_backfill.profiles.quarantine import list_issues
from shopify_emulator.transport import EmulatorTransport

from .conftest import Shop, connect, start_and_run

DOWNLOAD = "/emulator/bulk-operation-outputs/"
Spoil = Callable[[bytes], bytes]


class SpoilingTransport(httpx.BaseTransport):
    """The emulator's transport, with ``spoil`` applied to each bulk result body."""

    def __init__(self, inner: EmulatorTransport, spoil: Spoil) -> None:
        self.inner = inner
        self.spoil = spoil
        self.spoilt: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if DOWNLOAD not in request.url.path or response.status_code != 200:
            return response
        body = self.spoil(response.read())
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, stream=httpx.ByteStream(body))


def _first_line(pattern: bytes, replacement: bytes, seen: list[bytes]) -> Spoil:
    """Rewrite ``pattern`` in the first line holding it; remember that line's original."""

    def spoil(body: bytes) -> bytes:
        lines = body.split(b"\n")
        for index, line in enumerate(lines):
            if re.search(pattern, line) and not seen:
                seen.append(line)
                lines[index] = re.sub(pattern, replacement, line, count=1)
        return b"\n".join(lines)

    return spoil


CASES = {
    # A root order line: a number where the order's name (a string) belongs.
    "order_name_number": (rb'"name":"#\d+"', b'"name":1234', "order"),
    # A root customer line (the customers file is read first): an object for the tags list.
    "customer_tags_object": (rb'"tags":\[[^\]]*\]', b'"tags":{"a":1}', "customer"),
    # A child line: a string where a line item's quantity (an integer) belongs.
    "line_item_quantity_string": (rb'"quantity":\d+', b'"quantity":"three"', "order"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_wrong_typed_line_is_quarantined_and_the_rest_imported(
    make_shop: Any, make_services: Any, case: str
) -> None:
    pattern, replacement, kind = CASES[case]
    clean_shop: Shop = make_shop(customers=40, orders=120, seed=21)
    clean = make_services(extraction_mode="bulk")
    clean_outcome = start_and_run(clean, connect(clean, clean_shop), clean_shop.options())
    assert clean_outcome.status == "completed", clean_outcome.failure_reason

    shop: Shop = make_shop(customers=40, orders=120, seed=21)
    seen: list[bytes] = []
    transport = SpoilingTransport(shop.transport, _first_line(pattern, replacement, seen))
    services = make_services(extraction_mode="bulk")
    row = connect(services, shop)
    outcome = start_and_run(services, row, shop.options(transport=transport))

    assert seen, f"the pattern {pattern!r} matched no bulk line: the test spoilt nothing"
    assert outcome.status == "completed", outcome.failure_reason
    with services.engine.connect() as conn:
        issues = [i for i in list_issues(conn, row.workspace_id) if i.outcome == "quarantined"]
    assert len(issues) == 1, issues
    issue = issues[0]
    assert issue.record_kind == kind
    assert "unexpected shape" in issue.reason
    assert issue.excerpt and len(issue.excerpt) <= 201
    assert issue.excerpt.rstrip("…") in seen[0].decode() or seen[0].decode().startswith(
        issue.excerpt.rstrip("…")[:40]
    )

    assert clean_outcome.report is not None and outcome.report is not None
    bucket = "orders" if kind == "order" else "customers"
    assert outcome.report[bucket]["quarantined"] == 1
    before = clean_outcome.report["orders"]["imported"]
    after = outcome.report["orders"]["imported"]
    assert after == before - (1 if kind == "order" else 0)
    with clean.engine.connect() as a, services.engine.connect() as b:
        clean_events = a.execute(sa.text("SELECT count(*) FROM custom_events")).scalar_one()
        events = b.execute(sa.text("SELECT count(*) FROM custom_events")).scalar_one()
    assert events == clean_events - (1 if kind == "order" else 0)


def test_a_result_file_that_is_not_jsonl_fails_with_a_named_error_and_resumes(
    make_shop: Any, make_services: Any
) -> None:
    """An HTML page where the JSONL file belongs (a proxy's answer) stops the run with an
    error that says the file is not JSONL and how to go on; once the file is right again,
    resume completes."""
    shop: Shop = make_shop(customers=20, orders=40, seed=22)
    page = b"<!DOCTYPE html>\n<html><body>Access denied by proxy</body></html>\n"
    broken = True

    def spoil(body: bytes) -> bytes:
        return page if broken else body

    transport = SpoilingTransport(shop.transport, spoil)
    services = make_services(extraction_mode="bulk")
    row = connect(services, shop)
    outcome = start_and_run(services, row, shop.options(transport=transport))

    assert outcome.status == "failed"
    reason = outcome.failure_reason or ""
    assert "bulk result file is not JSONL" in reason
    assert "<!DOCTYPE html>" in reason
    assert f"shopify-backfill backfill resume --shop {shop.domain}" in reason

    broken = False
    with services.engine.begin() as conn:
        requests.resume(conn, get_backfill(conn, row.id), now=datetime.now(UTC))
    resumed = run_backfill(services, row.id, shop.options(transport=transport))
    assert resumed.status == "completed", resumed.failure_reason
    assert resumed.report is not None and resumed.report["orders"]["imported"] > 0
