"""The numbers a merchant reads agree: one profile count everywhere, calibrated estimates.

Two seeded stand-in stores of different sizes are previewed (with a listening campaign,
so the risk audit dry-runs the window) and then backfilled through the real services.
For each: the preview's estimate of "profiles this backfill writes" is within the
tolerance it states of the run's count, and the audit, the live status, the report and
the completion email give that count in the same words. The data-point estimate is
within 25% of the metered total, and so is the duration estimate of the measured wall
time of the test's own run. The first store is estimated with the default rate (nothing
measured yet); the second, in the same installation, with the rate the first run
measured, as a real installation's second preview would be.
"""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema

from shopify_backfill.backfill.status import read_status
from shopify_backfill.campaigns import add_campaigns, load_campaign_file
from shopify_backfill.config import Settings
from shopify_backfill.profiles.written import PROFILES_WRITTEN
from shopify_backfill.web.estimate import estimate_duration
from shopify_backfill.wiring import Services, build_services, make_preview

from .conftest import Shop, connect, start_and_run

CAMPAIGN_SET = Path(__file__).parents[1] / "campaigns" / "campaign_set.yaml"
STORES = ((400, 2_400, 5), (2_000, 12_000, 6))
"""(customers, orders, seed): about 1,100 and 5,400 orders in the window."""
ESTIMATE_TOLERANCE = 0.25


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """Production settings (batch size, bulk polls) but bulk forced: paginated reads are
    paced by the stand-in's cost bucket in real time, which would make the test slow."""
    built = build_services(
        Settings(data_dir=tmp_path / "data", smtp_host=None, extraction_mode="bulk")
    )
    yield built
    built.dispose()


def _within(estimate: float, actual: float, tolerance: float) -> bool:
    return abs(estimate - actual) <= tolerance * actual


def _email_parts(services: Services) -> tuple[str, str]:
    """The plain-text and HTML parts of the last completion email written."""
    files = sorted((services.settings.data_dir / "outbox").glob("*.eml"))
    message = email.message_from_bytes(files[-1].read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    parts = [message.get_body(kind) for kind in ("plain", "html")]
    texts = [part.get_content() for part in parts if isinstance(part, EmailMessage)]
    assert len(texts) == 2
    return texts[0], texts[1]


def test_one_profile_count_and_calibrated_estimates(
    make_shop: Any, services: Services, admin_schema: GraphQLSchema
) -> None:
    seen: list[dict[str, Any]] = []
    for index, (customers, orders, seed) in enumerate(STORES):
        shop: Shop = make_shop(customers=customers, orders=orders, seed=seed)
        row = connect(services, shop, workspace=f"store{index}")
        with services.engine.begin() as conn:
            add_campaigns(conn, row.workspace_id, load_campaign_file(CAMPAIGN_SET))
        preview = make_preview(services, row, shop.options())
        report = preview.preflight
        with services.engine.connect() as conn:
            duration = estimate_duration(
                conn,
                mode=preview.mode,
                customers=report.customers_in_window or 0,
                orders=report.orders_in_window or 0,
            )
        assert duration.measured == (index > 0), "the second store uses the first's rate"
        estimate = preview.profiles
        assert estimate is not None and estimate.tolerance is not None
        (audit,) = [s for s in preview.sections if s.key == "campaign_risk"]

        began = time.monotonic()
        outcome = start_and_run(services, row, shop.options(bulk_policy=None))
        wall = time.monotonic() - began
        assert outcome.status == "completed", outcome.failure_reason

        with services.engine.connect() as conn:
            status = read_status(conn, row.id, workspace_id=row.workspace_id)
        final = status["report"]["profiles"]
        total = final["total"]
        sentence = final["sentence"]
        assert sentence.startswith(f"{PROFILES_WRITTEN}: {total:,} (")
        # The same count, in the same words, everywhere.
        assert audit.data["profiles"]["total"] == total
        assert sentence in audit.lines
        assert status["profiles"]["total"] == total
        assert status["profiles"]["sentence"] == sentence
        plain, html = _email_parts(services)
        assert sentence in plain
        assert sentence in html
        # The preview says it is an estimate, and holds to what it says.
        assert estimate.sentence().startswith(f"{PROFILES_WRITTEN}: ~")
        assert "an estimate within" in estimate.sentence()
        assert _within(estimate.total, total, estimate.tolerance), (estimate, final)

        points = status["report"]["data_points"]["total"]
        seen.append(
            {
                "profiles": (estimate.total, total),
                "points": (preview.estimate.total, points),
                "seconds": (round(duration.seconds, 2), round(wall, 2)),
                "basis": duration.to_json()["basis"],
            }
        )
    print(seen)  # the calibration figures, for docs/backfill.md
    for figures in seen:
        assert _within(*figures["points"], ESTIMATE_TOLERANCE), figures
        assert _within(*figures["seconds"], ESTIMATE_TOLERANCE), figures
