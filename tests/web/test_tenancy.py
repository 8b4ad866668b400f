"""A user never sees or acts on another workspace's stores, backfills, notifications,
campaigns or API keys: every id of the other tenant is "not found", nothing leaks."""

from __future__ import annotations

import sqlalchemy as sa

from shopify_backfill.campaigns import list_campaigns
from shopify_backfill.web.tables import api_keys

from .conftest import Web

START = {"enable": True, "acknowledge_runs_once": True}


def test_other_workspace_ids_are_not_found(web: Web) -> None:
    alice, bob = web.alice, web.bob
    store = web.connect(alice)
    web.add_campaigns(
        alice,
        {
            "name": "Acme secret campaign",
            "start_at": "2026-01-01T00:00:00Z",
            "trigger": {"type": "change_custom_attribute_value", "attribute": "shopify_tags"},
        },
    )
    alice.post(f"/api/v1/stores/{store['id']}/audit/fixes")
    started = alice.post(f"/api/v1/stores/{store['id']}/backfill", json=START)
    assert started.status_code == 202
    backfill_id = started.json()["backfill_id"]
    web.wait()
    key_id = alice.post("/api/v1/api-keys", json={"name": "acme"}).json()["id"]
    notification_ids = [n["id"] for n in alice.get("/api/v1/notifications").json()["notifications"]]
    assert notification_ids

    sid, bid = store["id"], backfill_id
    attempts = [
        bob.get(f"/api/v1/stores/{sid}"),
        bob.get(f"/api/v1/stores/{sid}/preview"),
        bob.post(f"/api/v1/stores/{sid}/audit/fixes"),
        bob.post(f"/api/v1/stores/{sid}/backfill", json=START),
        bob.post(f"/api/v1/stores/{sid}/reauthorize"),
        bob.get(f"/api/v1/backfills/{bid}"),
        bob.get(f"/api/v1/backfills/{bid}/events"),
        bob.post(f"/api/v1/backfills/{bid}/resume"),
        bob.post(f"/api/v1/backfills/{bid}/campaigns/resume"),
        bob.delete(f"/api/v1/api-keys/{key_id}"),
        bob.get(f"/stores/{sid}"),
        bob.get(f"/stores/{sid}/wizard?backfill=on"),
        bob.form(f"/stores/{sid}/reauthorize", {}),
        bob.form(f"/stores/{sid}/wizard/fixes", {}),
        bob.form(f"/stores/{sid}/wizard/next", {"enable": "on", "acknowledge_runs_once": "on"}),
        bob.get(f"/backfills/{bid}"),
        bob.form(f"/backfills/{bid}/resume", {}),
        bob.form(f"/backfills/{bid}/campaigns/resume", {}),
        bob.form(f"/settings/api-keys/{key_id}/revoke", {}),
    ]
    for response in attempts:
        assert response.status_code == 404, (response.request.url, response.status_code)
        assert web.shop.domain not in response.text
        assert "Acme" not in response.text

    assert bob.post("/api/v1/notifications/read", json={"ids": notification_ids}).json() == {
        "marked": 0
    }
    bob.form("/notifications/read", {"ids": notification_ids[0]})
    assert alice.get("/api/v1/notifications").json()["unread"] == len(notification_ids)

    listings = [
        bob.get("/api/v1/stores").json(),
        bob.get("/api/v1/backfills").json(),
        bob.get("/api/v1/notifications").json(),
        bob.get("/api/v1/campaigns").json(),
        bob.get("/api/v1/api-keys").json(),
    ]
    assert listings == [
        {"stores": []},
        {"backfills": []},
        {"unread": 0, "notifications": []},
        {"campaigns": []},
        {"api_keys": []},
    ]
    for page in ("/stores", "/notifications", "/settings/api-keys"):
        text = bob.get(page).text
        assert web.shop.domain not in text and "Acme secret campaign" not in text

    with web.services.engine.connect() as conn:
        revoked = conn.execute(sa.select(api_keys.c.revoked_at)).scalar_one()
        campaigns = list_campaigns(conn, alice.workspace_id)
    assert revoked is None
    assert [c.status for c in campaigns] == ["paused"]  # bob could not resume it


def test_api_keys_are_confined_to_their_workspace(web: Web) -> None:
    web.connect(web.alice)
    secret = web.bob.post("/api/v1/api-keys", json={"name": "globex"}).json()["secret"]
    scripted = web.anonymous()
    headers = {"Authorization": f"Bearer {secret}"}
    assert scripted.get("/api/v1/stores", headers=headers).json() == {"stores": []}
    assert scripted.get("/api/v1/stores/1", headers=headers).status_code == 404
