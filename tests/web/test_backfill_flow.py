"""The wizard and the job through the API and the pages: preview, audit fixes, start
(once, even when racing), live progress, report, notifications, failure and resume."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.shards import NewShard, add_shards
from shopify_backfill.backfill.tables import backfill_shards, backfills, notifications
from shopify_backfill.campaigns import list_campaigns

from .conftest import User, Web

START = {"enable": True, "acknowledge_runs_once": True}


def NOW() -> datetime:  # noqa: N802 - reads like the constant it stands for
    return datetime.now(UTC)


RISKY = (
    {
        "name": "Order follow-up",
        "start_at": "2026-01-01T00:00:00Z",
        "trigger": {"type": "perform_custom_event", "event_name": "shopify_created_order"},
    },
    {
        "name": "Order count changed",
        "start_at": "2026-01-01T00:00:00Z",
        "trigger": {"type": "change_custom_attribute_value", "attribute": "shopify_order_count"},
    },
)


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def start(user: User, store_id: int) -> Any:
    return user.post(f"/api/v1/stores/{store_id}/backfill", json=START)


def test_preview_audit_and_one_click_fixes(web: Web) -> None:
    store = web.connect(web.alice)
    web.add_campaigns(web.alice, *RISKY)
    preview = web.alice.get(f"/api/v1/stores/{store['id']}/preview").json()
    assert preview["can_start"] is True
    assert preview["orders_in_window"] > 0 and preview["customers_in_window"] > 0
    assert preview["data_points_estimate"]["total"] > 0
    assert preview["estimated_duration"]["seconds"] >= 0
    assert preview["window"]["end"][:19] == store["connected_at"][:19]
    audit = preview["risk_audit"]
    assert audit["predicted_messages"] > 0
    fixes = {c["name"]: c["fix"]["action"] for c in audit["campaigns"]}
    assert fixes == {"Order follow-up": "move_start", "Order count changed": "pause"}

    page = web.alice.get(f"/stores/{store['id']}/wizard?backfill=on")
    assert "Apply all fixes" in page.text and "Order follow-up" in page.text
    assert 'name="acknowledge_runs_once"' in page.text

    applied = web.alice.form(f"/stores/{store['id']}/wizard/fixes", {})
    assert applied.status_code == 303 and "notice=fixes_applied" in applied.headers["location"]
    with web.services.engine.connect() as conn:
        statuses = {c.name: c.status for c in list_campaigns(conn, web.alice.workspace_id)}
    assert statuses == {"Order follow-up": "active", "Order count changed": "paused"}
    after = web.alice.get(f"/api/v1/stores/{store['id']}/preview").json()
    assert after["risk_audit"]["predicted_messages"] == 0
    assert {f["campaign"] for f in after["applied_fixes"]} == {
        "Order follow-up",
        "Order count changed",
    }
    again = web.alice.post(f"/api/v1/stores/{store['id']}/audit/fixes")
    assert again.status_code == 200 and again.json() == {"applied": []}
    campaigns = web.alice.get("/api/v1/campaigns").json()["campaigns"]
    assert {c["name"] for c in campaigns} == {"Order follow-up", "Order count changed"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enable": False, "acknowledge_runs_once": True}, "enable"),
        ({"enable": True, "acknowledge_runs_once": False}, "acknowledge_runs_once"),
        ({"enable": True}, "acknowledge_runs_once"),
        ({"enable": "maybe", "acknowledge_runs_once": True}, "enable"),
    ],
)
def test_start_needs_the_toggle_and_the_acknowledgement(
    web: Web, body: dict[str, Any], field: str
) -> None:
    store = web.connect(web.alice)
    response = web.alice.post(f"/api/v1/stores/{store['id']}/backfill", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    status = web.alice.get(f"/api/v1/stores/{store['id']}").json()["backfill"]["status"]
    assert status == "not_started"


def test_wizard_without_the_toggle_starts_nothing(web: Web) -> None:
    store = web.connect(web.alice)
    skipped = web.alice.get(f"/stores/{store['id']}/wizard?step=enable")
    assert skipped.status_code == 303 and "notice=not_enabled" in skipped.headers["location"]
    posted = web.alice.form(f"/stores/{store['id']}/wizard/next", {"acknowledge_runs_once": "on"})
    assert posted.status_code == 303 and "notice=not_enabled" in posted.headers["location"]
    no_ack = web.alice.form(f"/stores/{store['id']}/wizard/next", {"enable": "on"})
    assert no_ack.status_code == 422 and "acknowledge_runs_once" in no_ack.text
    status = web.alice.get(f"/api/v1/stores/{store['id']}").json()["backfill"]["status"]
    assert status == "not_started"
    assert all(
        b["status"] == "not_started" for b in web.alice.get("/api/v1/backfills").json()["backfills"]
    )


def test_racing_starts_make_one_backfill_that_completes(web: Web) -> None:
    store = web.connect(web.alice)
    web.add_campaigns(web.alice, *RISKY)
    assert web.alice.post(f"/api/v1/stores/{store['id']}/audit/fixes").status_code == 200
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: start(web.alice, store["id"]), range(4)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [202, 409, 409, 409], [a.text for a in answers]
    backfill_id = next(a for a in answers if a.status_code == 202).json()["backfill_id"]
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["error"]["code"] == "invalid_state"

    stream = web.alice.get(f"/api/v1/backfills/{backfill_id}/events")
    assert stream.headers["content-type"].startswith("text/event-stream")
    received = events(stream.text)
    assert received[-1][0] == "end" and received[-1][1]["status"] == "completed"
    assert all(event == "progress" for event, _ in received[:-1])
    web.wait()

    with web.services.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(backfills)).scalar() == 1
        kinds = conn.execute(sa.select(notifications.c.kind)).scalars().all()
    assert sorted(kinds) == ["completed", "started"]

    view = web.alice.get(f"/api/v1/backfills/{backfill_id}").json()
    assert view["status"] == "completed" and view["report"]["orders"]["imported"] > 0
    assert view["emails"][0]["status"] == "written" and "delivered_to" not in view["emails"][0]
    assert [fix["campaign"] for fix in view["paused_by_audit"]] == ["Order count changed"]
    page = web.alice.get(f"/backfills/{backfill_id}")
    assert "Completed" in page.text and "Quarantine and partial imports" in page.text
    assert "Resume these campaigns" in page.text
    assert "data-unread>2<" in page.text

    again = start(web.alice, store["id"])
    assert again.status_code == 409 and "already completed" in again.json()["error"]["message"]
    assert web.alice.post(f"/api/v1/backfills/{backfill_id}/resume").status_code == 409

    resumed = web.alice.form(f"/backfills/{backfill_id}/campaigns/resume", {})
    assert resumed.status_code == 303
    with web.services.engine.connect() as conn:
        statuses = {c.name: c.status for c in list_campaigns(conn, web.alice.workspace_id)}
    assert statuses["Order count changed"] == "active"
    nothing = web.alice.post(f"/api/v1/backfills/{backfill_id}/campaigns/resume").json()
    assert nothing == {"resolved": []}

    bell = web.alice.get("/api/v1/notifications").json()
    assert bell["unread"] == 2 and {n["kind"] for n in bell["notifications"]} == {
        "started",
        "completed",
    }
    listing = web.alice.get("/notifications")
    assert "Open the report" in listing.text
    completed_id = next(n["id"] for n in bell["notifications"] if n["kind"] == "completed")
    assert web.alice.form("/notifications/read", {"ids": completed_id}).status_code == 303
    assert web.alice.get("/api/v1/notifications?unread_only=true").json()["unread"] == 1
    assert web.alice.post("/api/v1/notifications/read", json={}).json() == {"marked": 1}
    assert web.alice.get("/api/v1/notifications").json()["unread"] == 0
    wizard = web.alice.get(f"/stores/{store['id']}/wizard")
    assert wizard.status_code == 303 and wizard.headers["location"] == f"/backfills/{backfill_id}"


def test_progress_page_while_running_and_double_submitted_next(web: Web) -> None:
    store = web.connect(web.alice)
    first = web.alice.form(
        f"/stores/{store['id']}/wizard/next", {"enable": "on", "acknowledge_runs_once": "on"}
    )
    second = web.alice.form(
        f"/stores/{store['id']}/wizard/next", {"enable": "on", "acknowledge_runs_once": "on"}
    )
    assert first.status_code == second.status_code == 303
    assert first.headers["location"].endswith("?notice=started")
    backfill_id = int(first.headers["location"].split("/")[2].split("?")[0])
    assert second.headers["location"] == f"/backfills/{backfill_id}"
    page = web.alice.get(f"/backfills/{backfill_id}")
    assert page.status_code == 200
    assert "In Progress" in page.text or "Completed" in page.text
    if "In Progress" in page.text:
        assert f'data-events-url="/api/v1/backfills/{backfill_id}/events"' in page.text
    web.wait()
    assert len(web.alice.get("/api/v1/backfills").json()["backfills"]) == 1


def test_failed_backfill_shows_its_reason_and_resumes_from_checkpoint(web: Web) -> None:
    store = web.connect(web.alice)
    web.shop.transport.refuse_orders = True
    started = start(web.alice, store["id"])
    assert started.status_code == 202
    backfill_id = started.json()["backfill_id"]
    web.wait()
    failed = web.alice.get(f"/api/v1/backfills/{backfill_id}").json()
    assert failed["status"] == "failed" and failed["resumable"] is True
    assert failed["failure_reason"]
    assert failed["customers"]["done"] > 0  # the customers committed before the failure
    page = web.alice.get(f"/backfills/{backfill_id}")
    assert "Failed - resumable" in page.text and 'data-action="resume"' in page.text
    listed = web.alice.get("/stores").text
    assert "Failed - resumable" in listed

    web.shop.transport.refuse_orders = False
    resumed = web.alice.form(f"/backfills/{backfill_id}/resume", {})
    assert resumed.status_code == 303
    web.wait()
    done = web.alice.get(f"/api/v1/backfills/{backfill_id}").json()
    assert done["status"] == "completed" and done["attempts"] == 2
    assert done["window"] == failed["window"]
    kinds = [n["kind"] for n in web.alice.get("/api/v1/notifications").json()["notifications"]]
    assert sorted(kinds) == ["completed", "failed", "resumed", "started"]


def test_backfill_orphaned_by_a_restart_is_offered_for_resume(web: Web) -> None:
    """Started by a web process that died before any worker took it: Resume, not a hang."""
    store = web.connect(web.alice)
    with web.services.engine.begin() as conn:
        row = requests.open_backfill(
            conn, workspace_id=web.alice.workspace_id, shop_domain=web.shop.domain, now=NOW()
        )
        requests.start(conn, row, now=NOW() - timedelta(minutes=5))
    view = web.alice.get(f"/api/v1/backfills/{row.id}").json()
    assert view["status"] == "in_progress" and view["resumable"] is True
    stream = events(web.alice.get(f"/api/v1/backfills/{row.id}/events").text)
    assert [event for event, _ in stream] == ["end"]
    page = web.alice.get(f"/backfills/{row.id}")
    assert "No worker is running this backfill" in page.text
    assert "data-events-url" not in page.text
    resumed = web.alice.post(f"/api/v1/backfills/{row.id}/resume")
    assert resumed.status_code == 202
    web.wait()
    done = web.alice.get(f"/api/v1/stores/{store['id']}").json()["backfill"]
    assert done["status"] == "completed"


def test_a_sharded_backfill_shows_its_parts_while_they_read_shopify(web: Web) -> None:
    """Sharded runs load nothing until every slice is read: the page says how far the
    reading got (the figures come from the shard rows the workers keep)."""
    web.connect(web.alice)
    now = NOW()
    start, middle = now - timedelta(days=90), now - timedelta(days=45)
    with web.services.engine.begin() as conn:
        row = requests.open_backfill(
            conn, workspace_id=web.alice.workspace_id, shop_domain=web.shop.domain, now=now
        )
        requests.start(conn, row, now=now)
        add_shards(
            conn,
            row.id,
            [
                NewShard("extract", "customers", 0, start, now, 120),
                NewShard("extract", "orders", 0, start, middle, 900),
                NewShard("extract", "orders", 1, middle, now, 1100),
            ],
            now=now,
        )
        conn.execute(
            sa.update(backfill_shards)
            .where(backfill_shards.c.backfill_id == row.id, backfill_shards.c.kind == "customers")
            .values(state="done", done=120)
        )
        conn.execute(
            sa.update(backfill_shards)
            .where(backfill_shards.c.backfill_id == row.id, backfill_shards.c.position == 0)
            .where(backfill_shards.c.kind == "orders")
            .values(state="running", done=1234)
        )
    view = web.alice.get(f"/api/v1/backfills/{row.id}").json()
    assert view["parallel"] == {
        "parts": 3,
        "parts_done": 1,
        "running": 1,
        "read": {"customers": 120, "orders": 1234},
    }
    assert [shard["state"] for shard in view["shards"]] == ["done", "running", "pending"]
    page = web.alice.get(f"/backfills/{row.id}").text
    assert (
        "Split into 3 parts run side by side: 1 done, 1 running; 120 customers and 1,234 "
        "orders read from Shopify so far."
    ) in page
