"""What every page has and says: notices only where they apply, the navigation on error
pages, a favicon, and plain, consistent words (statuses, campaign kinds, report rows)."""

from __future__ import annotations

import re

from .conftest import Web

START = {"enable": True, "acknowledge_runs_once": True}
NOT_ENABLED = "The backfill was not enabled"


def notice(page: str) -> str | None:
    found = re.search(r'<div class="notice" role="status">([^<]*)</div>', page)
    return found.group(1) if found else None


def test_a_notice_shows_only_where_it_applies(web: Web) -> None:
    store = web.connect(web.alice)
    fresh = web.alice.get(f"/stores/{store['id']}?notice=not_enabled").text
    assert NOT_ENABLED in (notice(fresh) or "")
    assert notice(web.alice.get(f"/stores/{store['id']}?notice=key_revoked").text) is None
    assert notice(web.alice.get("/stores?notice=not_enabled").text) is None
    assert notice(web.alice.get("/notifications?notice=connected").text) is None

    started = web.alice.post(f"/api/v1/stores/{store['id']}/backfill", json=START)
    assert started.status_code == 202
    web.wait()
    backfill_id = started.json()["backfill_id"]
    done = web.alice.get(f"/stores/{store['id']}?notice=not_enabled").text
    assert "View report" in done and notice(done) is None
    report = web.alice.get(f"/backfills/{backfill_id}?notice=started").text
    assert 'id="report-heading">Completed' in report and notice(report) is None
    assert notice(web.alice.get(f"/backfills/{backfill_id}?notice=resumed").text) is None
    resumed = web.alice.get(f"/backfills/{backfill_id}?notice=campaigns_resumed").text
    assert notice(resumed) == "The campaigns the audit paused were resumed."
