"""Risk handling in the open: the workspace's risk mode switched from the wizard, one fix
per at-risk campaign (move the start time, pause, leave it) confirmed first, undone before
the backfill, resumed after it; refused for another workspace, without CSRF, once started."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.errors import BackfillStateError
from shopify_backfill.backfill.tables import notifications
from shopify_backfill.campaigns import list_campaigns, risk_mode
from shopify_backfill.campaigns.tables import audit_fixes
from shopify_backfill.wiring.risk import switch_risk_mode

from .conftest import Web, store_now
from .test_backfill_flow import RISKY, START


def _mode(web: Web, workspace_id: int) -> str:
    with web.services.engine.connect() as conn:
        return risk_mode(conn, workspace_id)


def _campaigns(web: Web) -> dict[str, Any]:
    with web.services.engine.connect() as conn:
        return {c.name: c for c in list_campaigns(conn, web.alice.workspace_id)}


def _fix_rows(web: Web) -> list[Any]:
    with web.services.engine.connect() as conn:
        return list(conn.execute(sa.select(audit_fixes).order_by(audit_fixes.c.id)))


def _silent_store(web: Web) -> int:
    store = web.connect(web.alice)
    web.add_campaigns(web.alice, *RISKY, seed_compatible=False)
    return int(store["id"])


def _switch(web: Web, store_id: int, mode: str) -> Any:
    return web.alice.form(f"/stores/{store_id}/wizard/risk-mode", {"mode": mode})


def test_switching_the_mode_runs_the_audit_again_and_is_notified(web: Web) -> None:
    store_id = _silent_store(web)
    page = web.alice.get(f"/stores/{store_id}/wizard?backfill=on")
    assert 'data-risk-mode="silent"' in page.text
    assert "triggers no campaign or Canvas at all" in page.text  # both sentences, one each
    assert "only their start times and pauses protect them" in page.text
    assert 'data-fix="pause"' not in page.text  # no per-campaign fix in silent mode
    before = web.alice.get(f"/api/v1/stores/{store_id}/preview").json()
    assert before["risk_mode"]["mode"] == "silent"
    assert before["risk_audit"]["predicted_messages"] == 0

    switched = _switch(web, store_id, "seed-compatible")
    assert switched.status_code == 303
    assert "notice=mode_seed_compatible" in switched.headers["location"]
    assert _mode(web, web.alice.workspace_id) == "seed_compatible"
    after = web.alice.get(f"/api/v1/stores/{store_id}/preview").json()
    assert after["risk_mode"]["mode"] == "seed_compatible"
    assert after["risk_audit"]["mode"] == "seed_compatible"
    assert after["risk_audit"]["predicted_messages"] > 0
    choices = {c["name"]: c["choices"] for c in after["risk_audit"]["campaigns"]}
    assert choices == {
        "Order follow-up": ["move_start", "pause", "leave"],
        "Order count changed": ["pause", "leave"],
    }
    page = web.alice.get(f"/stores/{store_id}/wizard?backfill=on&notice=mode_seed_compatible")
    assert "Risk mode switched to seed-compatible" in page.text
    assert 'data-risk-mode="seed_compatible"' in page.text
    assert (
        page.text.count('data-fix="leave"') == 2 and page.text.count('data-fix="move_start"') == 1
    )

    again = _switch(web, store_id, "seed_compatible")
    assert "notice=mode_unchanged" in again.headers["location"]
    with web.services.engine.connect() as conn:
        posted = conn.execute(
            sa.select(notifications.c.kind, notifications.c.body).where(
                notifications.c.workspace_id == web.alice.workspace_id
            )
        ).all()
    assert [kind for kind, _ in posted] == ["risk_mode"]  # one switch, one record
    assert posted[0][1].startswith("alice@acme.example switched")
    assert web.alice.get("/api/v1/notifications").json()["unread"] == 1

    back = web.alice.post(f"/api/v1/stores/{store_id}/risk-mode", json={"mode": "silent"})
    assert back.status_code == 200 and back.json() == {"mode": "silent", "changed": True}
    assert _mode(web, web.alice.workspace_id) == "silent"


def test_a_bad_mode_is_refused_with_its_field(web: Web) -> None:
    store_id = _silent_store(web)
    refused = _switch(web, store_id, "loud")
    assert refused.status_code == 422 and "unknown risk mode &#39;loud&#39;" in refused.text
    api = web.alice.post(f"/api/v1/stores/{store_id}/risk-mode", json={"mode": "loud"})
    assert api.status_code == 422 and api.json()["error"]["field"] == "mode"
    assert _mode(web, web.alice.workspace_id) == "silent"


def test_switching_needs_the_csrf_token_and_the_workspace_s_own_user(web: Web) -> None:
    store_id = _silent_store(web)
    no_csrf = web.alice.client.post(
        f"/stores/{store_id}/wizard/risk-mode", data={"mode": "seed_compatible"}
    )
    assert no_csrf.status_code == 403
    other = web.bob.form(f"/stores/{store_id}/wizard/risk-mode", {"mode": "seed_compatible"})
    assert other.status_code == 404
    other_api = web.bob.post(
        f"/api/v1/stores/{store_id}/risk-mode", json={"mode": "seed_compatible"}
    )
    assert other_api.status_code == 404
    assert _mode(web, web.alice.workspace_id) == "silent"
    assert _mode(web, web.bob.workspace_id) == "silent"

    assert _switch(web, store_id, "seed_compatible").status_code == 303
    campaign_id = _campaigns(web)["Order count changed"].id
    url = f"/stores/{store_id}/wizard/campaigns/{campaign_id}/fix"
    assert web.bob.get(f"{url}?action=pause").status_code == 404
    assert web.bob.form(url, {"action": "pause"}).status_code == 404
    assert web.alice.client.post(url, data={"action": "pause"}).status_code == 403
    assert _campaigns(web)["Order count changed"].status == "active" and not _fix_rows(web)


def test_each_fix_kind_is_confirmed_applied_and_undone(web: Web) -> None:
    store_id = _silent_store(web)
    _switch(web, store_id, "seed_compatible")
    campaigns = _campaigns(web)
    follow_up, counted = campaigns["Order follow-up"], campaigns["Order count changed"]
    connected_at = web.alice.get(f"/api/v1/stores/{store_id}").json()["connected_at"]

    base = f"/stores/{store_id}/wizard/campaigns"
    confirm = web.alice.get(f"{base}/{follow_up.id}/fix?action=move_start")
    assert confirm.status_code == 200
    assert "The start time of Order follow-up moves from 2026-01-01 00:00 UTC" in confirm.text
    assert 'data-action="confirm-fix"' in confirm.text
    assert _campaigns(web)["Order follow-up"].start_at == follow_up.start_at  # nothing yet

    moved = web.alice.form(f"{base}/{follow_up.id}/fix", {"action": "move_start"})
    assert moved.status_code == 303 and "notice=fix_applied" in moved.headers["location"]
    assert _campaigns(web)["Order follow-up"].start_at.isoformat()[:19] == connected_at[:19]

    refused = web.alice.form(f"{base}/{counted.id}/fix", {"action": "move_start"})
    assert refused.status_code == 422 and "cannot protect" in refused.text
    assert (
        "paused now and stays paused" in web.alice.get(f"{base}/{counted.id}/fix?action=pause").text
    )
    paused = web.alice.form(f"{base}/{counted.id}/fix", {"action": "pause"})
    assert paused.status_code == 303 and _campaigns(web)["Order count changed"].status == "paused"
    rows = _fix_rows(web)
    assert [(r.campaign_id, r.action) for r in rows] == [
        (follow_up.id, "moved_start"),
        (counted.id, "paused"),
    ]
    preview = web.alice.get(f"/api/v1/stores/{store_id}/preview").json()
    assert preview["risk_audit"]["predicted_messages"] == 0
    assert len(preview["applied_fixes"]) == 2
    page = web.alice.get(f"/stores/{store_id}/wizard?backfill=on")
    assert page.text.count('data-action="undo-fix"') == 2

    for row in rows:
        undone = web.alice.form(f"/stores/{store_id}/wizard/fixes/{row.id}/undo", {})
        assert undone.status_code == 303 and "notice=fix_undone" in undone.headers["location"]
    after = _campaigns(web)
    assert after["Order follow-up"].start_at == follow_up.start_at
    assert after["Order count changed"].status == "active"
    assert [r.resolution for r in _fix_rows(web)] == ["restored", "resumed"]
    assert (
        web.alice.form(f"/stores/{store_id}/wizard/fixes/{rows[0].id}/undo", {}).status_code == 404
    )

    confirm_leave = web.alice.get(f"{base}/{counted.id}/fix?action=leave")
    assert "stays active with its start time unchanged" in confirm_leave.text
    left = web.alice.form(f"{base}/{counted.id}/fix", {"action": "leave"})
    assert left.status_code == 303 and "notice=campaign_left" in left.headers["location"]
    assert len(_fix_rows(web)) == 2 and _campaigns(web)["Order count changed"].status == "active"
    api = web.alice.post(
        f"/api/v1/stores/{store_id}/audit/campaigns/{counted.id}/fix", json={"action": "pause"}
    )
    assert api.status_code == 200 and api.json()["applied"]["action"] == "paused"
    fix_id = api.json()["applied"]["id"]
    assert web.bob.post(f"/api/v1/stores/{store_id}/audit/fixes/{fix_id}/undo").status_code == 404
    undo = web.alice.post(f"/api/v1/stores/{store_id}/audit/fixes/{fix_id}/undo")
    assert undo.status_code == 200 and undo.json()["undone"]["resolution"] == "resumed"
    bad = web.alice.form(f"{base}/{counted.id}/fix", {"action": "delete"})
    assert bad.status_code == 422


def test_once_started_nothing_switches_or_undoes_and_paused_ones_resume_after(web: Web) -> None:
    store_id = _silent_store(web)
    _switch(web, store_id, "seed_compatible")
    counted = _campaigns(web)["Order count changed"]
    web.alice.form(f"/stores/{store_id}/wizard/campaigns/{counted.id}/fix", {"action": "pause"})
    fix_id = _fix_rows(web)[0].id
    started = web.alice.post(f"/api/v1/stores/{store_id}/backfill", json=START)
    assert started.status_code == 202, started.text
    backfill_id = started.json()["backfill_id"]
    web.wait()

    refused = _switch(web, store_id, "silent")
    assert refused.status_code == 409 and _mode(web, web.alice.workspace_id) == "seed_compatible"
    assert web.alice.form(f"/stores/{store_id}/wizard/fixes/{fix_id}/undo", {}).status_code == 409
    assert (
        web.alice.get(
            f"/stores/{store_id}/wizard/campaigns/{counted.id}/fix?action=leave"
        ).status_code
        == 409
    )
    assert _campaigns(web)["Order count changed"].status == "paused"

    view = web.alice.get(f"/api/v1/backfills/{backfill_id}").json()
    assert view["status"] == "completed"
    assert [f["campaign"] for f in view["paused_by_audit"]] == ["Order count changed"]
    assert "Resume these campaigns" in web.alice.get(f"/backfills/{backfill_id}").text
    resumed = web.alice.form(f"/backfills/{backfill_id}/campaigns/resume", {})
    assert resumed.status_code == 303
    assert _campaigns(web)["Order count changed"].status == "active"
    assert _fix_rows(web)[0].resolution == "resumed"


def test_no_switch_while_any_backfill_of_the_workspace_runs(web: Web) -> None:
    """The engine reads the mode per batch: a switch mid-run would change the run halfway."""
    _silent_store(web)
    with web.services.engine.begin() as conn:
        row = requests.open_backfill(
            conn, workspace_id=web.alice.workspace_id, shop_domain=web.shop.domain, now=store_now()
        )
        requests.start(conn, row, now=store_now())
        with pytest.raises(BackfillStateError, match="while a backfill is in progress"):
            switch_risk_mode(
                conn,
                workspace_id=web.alice.workspace_id,
                mode="seed_compatible",
                actor="a test",
                now=store_now(),
            )
        assert risk_mode(conn, web.alice.workspace_id) == "silent"
