"""The wizard's destination step with a Braze stand-in: adding a workspace (the key proven
on Braze, then stored encrypted and never shown), the refusals on the form, starting a
backfill to it from the page and the API, and its delivery on the backfill page."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.store import find_backfill
from shopify_backfill.destinations.braze.registry import list_destinations
from shopify_backfill.destinations.braze.tables import braze_destinations

from .conftest import BRAZE_KEY, BRAZE_NO_TRACK_KEY, BRAZE_URL, BrazeWeb, User, Web
from .test_backfill_flow import events
from .test_pages import report_rows, text_of

GOOD = {
    "name": "prod",
    "rest_endpoint": BRAZE_URL,
    "api_key": BRAZE_KEY,
    "max_objects": "50",
    "sms_group_id": "sms-group-1",
}


def add(user: User, store_id: int, **fields: str) -> Any:
    return user.form(f"/stores/{store_id}/wizard/destinations", {**GOOD, **fields})


def track_requests(web: BrazeWeb) -> int:
    return sum(web.braze.stats().requests.values())


def stored(web: Web, user: User) -> list[dict[str, Any]]:
    with web.services.engine.connect() as conn:
        return list_destinations(conn, user.workspace_id)


def field_value(page: str, field_id: str) -> str | None:
    match = re.search(rf'<input id="{field_id}"[^>]*>', page, flags=re.DOTALL)
    assert match, f"the page has the {field_id} field"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def destination_line(page: str) -> str:
    """The backfill page's "Delivering to ..." line as read (tags out, spaces collapsed)."""
    match = re.search(r'<p data-destination="braze">(.*?)</p>', page, flags=re.DOTALL)
    assert match, "the page names the Braze destination"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def field_error(page: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error"[^>]*>([^<]*)<', page)
    assert match, f"{field_id} shows an error"
    return match.group(1)


def test_adding_a_braze_workspace_proves_the_key_then_stores_it_encrypted(
    braze_web: BrazeWeb, caplog: pytest.LogCaptureFixture
) -> None:
    store = braze_web.connect(braze_web.alice)
    wizard = braze_web.alice.get(f"/stores/{store['id']}/wizard?backfill=on")
    assert "This platform's profile store" in wizard.text
    assert 'id="destination-embedded" type="radio" name="destination_kind" value="embedded"' in (
        wizard.text
    )
    assert re.search(r'id="destination-embedded"[^>]*checked', wizard.text)
    assert "No Braze workspace added yet" in wizard.text
    braze_points = re.search(r'data-figure="braze-data-points">~([\d,]+) in a Braze', wizard.text)
    platform_points = re.search(r'data-figure="data-points">~([\d,]+)<', wizard.text)
    assert braze_points and platform_points, "both estimates are shown"
    braze_total = int(braze_points.group(1).replace(",", ""))
    assert 0 < braze_total < int(platform_points.group(1).replace(",", ""))

    caplog.set_level(logging.DEBUG)
    added = add(braze_web.alice, store["id"])
    assert added.status_code == 303, added.text
    assert added.headers["location"] == (
        f"/stores/{store['id']}/wizard?backfill=on&destination=prod"
        "&notice=destination_added#destination"
    )
    # The check: one empty /users/track, refused for its content (400) after the key passed.
    assert braze_web.braze.stats().requests == {400: 1}
    assert braze_web.braze.users() == []
    assert BRAZE_KEY not in caplog.text

    with braze_web.services.engine.connect() as conn:
        row = conn.execute(sa.select(braze_destinations)).one()
    assert row.name == "prod" and row.rest_endpoint == BRAZE_URL
    assert row.max_objects == 50 and row.sms_group_id == "sms-group-1"
    assert BRAZE_KEY.encode() not in row.api_key_encrypted
    assert braze_web.services.cipher.decrypt(row.api_key_encrypted).get_secret_value() == BRAZE_KEY

    page = braze_web.alice.get(added.headers["location"])
    assert "Braze workspace added: Braze accepted the API key" in page.text
    assert re.search(r'id="destination-braze"[^>]*checked', page.text)
    option = r'<option value="prod" selected>prod: rest.stand-in.braze.test \(50 objects'
    assert re.search(option, page.text)
    assert field_value(page.text, "braze-key") is None
    listed = braze_web.alice.get("/api/v1/destinations").json()["destinations"]
    assert listed == [
        {
            "id": row.id,
            "name": "prod",
            "rest_endpoint": BRAZE_URL,
            "host": "rest.stand-in.braze.test",
            "max_objects": 50,
            "sms_group_id": "sms-group-1",
        }
    ]
    for url in ("/stores", f"/stores/{store['id']}", "/api/v1/destinations", "/api/v1/stores"):
        assert BRAZE_KEY not in braze_web.alice.get(url).text, url
    assert braze_web.bob.get("/api/v1/destinations").json() == {"destinations": []}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"api_key": "wrong-key-0000"}, "braze-key", "Braze refused this API key (401)"),
        (
            {"api_key": BRAZE_NO_TRACK_KEY},
            "braze-key",
            "lacks the users.track permission (403)",
        ),
    ],
)
def test_a_key_braze_refuses_is_not_stored_and_not_given_back(
    braze_web: BrazeWeb, fields: dict[str, str], field: str, message: str
) -> None:
    store = braze_web.connect(braze_web.alice)
    page = add(braze_web.alice, store["id"], **fields)
    assert page.status_code == 422
    assert message in field_error(page.text, field)
    assert stored(braze_web, braze_web.alice) == []
    # The other values come back for correction; the key never does, nor Braze's quote of it.
    assert field_value(page.text, "braze-name") == "prod"
    assert field_value(page.text, "braze-endpoint") == BRAZE_URL
    assert field_value(page.text, "braze-sms") == "sms-group-1"
    assert '<option value="50" selected>' in page.text
    assert field_value(page.text, "braze-key") is None
    assert fields["api_key"] not in page.text and "Invalid API key" not in page.text
    assert re.search(r'id="destination-braze"[^>]*checked', page.text)
    assert "<details open data-add-braze>" in page.text


def test_braze_unreachable_or_not_braze_is_said_on_the_form(braze_web: BrazeWeb) -> None:
    store = braze_web.connect(braze_web.alice)
    braze_web.braze.faults.fail_next = 3
    braze_web.braze.faults.fail_status = 503
    down = add(braze_web.alice, store["id"])
    assert down.status_code == 503
    error = field_error(down.text, "braze-endpoint")
    assert "Braze could not be reached to check the key" in error and "HTTP 503" in error
    assert "Nothing was stored" in error
    assert stored(braze_web, braze_web.alice) == []
    assert BRAZE_KEY not in down.text

    not_braze = add(
        braze_web.alice, store["id"], rest_endpoint="https://rest.stand-in.braze.test/v1"
    )
    assert not_braze.status_code == 422
    assert "is not a Braze REST endpoint" in field_error(not_braze.text, "braze-endpoint")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "braze-name", "Give the destination a name"),
        ({"name": "my prod"}, "braze-name", "can have only letters, digits"),
        ({"name": "n" * 65}, "braze-name", "is 65 characters long; it can have at most 64"),
        ({"rest_endpoint": ""}, "braze-endpoint", "Enter the workspace's REST endpoint"),
        ({"rest_endpoint": "http://rest.iad-01.braze.com"}, "braze-endpoint", "not a Braze REST"),
        ({"api_key": ""}, "braze-key", "Paste a REST API key"),
        ({"api_key": "two words"}, "braze-key", "one word, without spaces"),
        ({"api_key": "k" * 201}, "braze-key", "201 characters long; it can have at most 200"),
        ({"max_objects": "100"}, "braze-max-objects", "75 (Braze's cap) or 50"),
        ({"rest_endpoint": "https://" + "e" * 248}, "braze-endpoint", "at most 255"),
        ({"sms_group_id": "no/slash"}, "braze-sms", "is not a Braze id"),
        ({"sms_group_id": "g" * 65}, "braze-sms", "65 characters long; it can have at most 64"),
    ],
)
def test_each_field_is_checked_before_braze_is_asked(
    braze_web: BrazeWeb, fields: dict[str, str], field: str, message: str
) -> None:
    store = braze_web.connect(braze_web.alice)
    page = add(braze_web.alice, store["id"], **fields)
    assert page.status_code == 422
    assert message in field_error(page.text, field).replace("&#39;", "'")
    assert track_requests(braze_web) == 0
    assert stored(braze_web, braze_web.alice) == []
    assert "k" * 201 not in page.text and "two words" not in page.text


def test_a_name_keeps_its_braze_workspace_and_its_key_can_be_replaced(
    braze_web: BrazeWeb,
) -> None:
    store = braze_web.connect(braze_web.alice)
    assert add(braze_web.alice, store["id"]).status_code == 303
    moved = add(braze_web.alice, store["id"], rest_endpoint="https://rest.elsewhere.braze.test")
    assert moved.status_code == 422
    assert f"already delivers to {BRAZE_URL}" in field_error(moved.text, "braze-name")
    braze_web.braze.add_key("braze-web-key-rotated")
    rotated = add(braze_web.alice, store["id"], api_key="braze-web-key-rotated")
    assert rotated.status_code == 303
    with braze_web.services.engine.connect() as conn:
        row = conn.execute(sa.select(braze_destinations)).one()
    assert braze_web.services.cipher.decrypt(row.api_key_encrypted).get_secret_value() == (
        "braze-web-key-rotated"
    )


def test_the_endpoint_must_be_braze_s_own_when_the_server_reaches_the_network(web: Web) -> None:
    """Without a stand-in transport the server would post wherever the form says: only
    Braze's hosts are accepted (and loopback only when the page itself is local)."""
    store = web.connect(web.alice)
    for endpoint in ("https://intranet.example", "http://127.0.0.1:6379", "https://braze.com.evil"):
        page = add(web.alice, store["id"], rest_endpoint=endpoint)
        assert page.status_code == 422, endpoint
        assert "is not one of Braze" in field_error(page.text, "braze-endpoint"), endpoint
    assert stored(web, web.alice) == []


def test_adding_needs_the_csrf_token_and_the_own_store(braze_web: BrazeWeb) -> None:
    store = braze_web.connect(braze_web.alice)
    forged = braze_web.alice.client.post(f"/stores/{store['id']}/wizard/destinations", data=GOOD)
    assert forged.status_code == 403
    assert add(braze_web.bob, store["id"]).status_code == 404
    assert track_requests(braze_web) == 0
    assert stored(braze_web, braze_web.alice) == stored(braze_web, braze_web.bob) == []


def test_next_with_braze_chosen_needs_a_destination(braze_web: BrazeWeb) -> None:
    store = braze_web.connect(braze_web.alice)
    page = braze_web.alice.form(
        f"/stores/{store['id']}/wizard/next",
        {"enable": "on", "acknowledge_runs_once": "on", "destination_kind": "braze"},
    )
    assert page.status_code == 422
    assert "Choose the Braze workspace to deliver to" in field_error(page.text, "destination-name")
    unknown = braze_web.alice.form(
        f"/stores/{store['id']}/wizard/next",
        {
            "enable": "on",
            "acknowledge_runs_once": "on",
            "destination_kind": "braze",
            "destination": "nope",
        },
    )
    assert unknown.status_code == 422
    assert "no Braze destination named &#39;nope&#39;" in unknown.text
    status = braze_web.alice.get(f"/api/v1/stores/{store['id']}").json()["backfill"]["status"]
    assert status == "not_started"


def test_a_backfill_started_in_the_wizard_is_delivered_to_braze_and_reported(
    braze_web: BrazeWeb,
) -> None:
    store = braze_web.connect(braze_web.alice)
    assert add(braze_web.alice, store["id"]).status_code == 303
    started = braze_web.alice.form(
        f"/stores/{store['id']}/wizard/next",
        {
            "enable": "on",
            "acknowledge_runs_once": "on",
            "destination_kind": "braze",
            "destination": "prod",
        },
    )
    assert started.status_code == 303 and started.headers["location"].endswith("?notice=started")
    backfill_id = int(started.headers["location"].split("/")[2].split("?")[0])

    stream = braze_web.alice.get(f"/api/v1/backfills/{backfill_id}/events")
    received = events(stream.text)
    assert received[-1][0] == "end" and received[-1][1]["status"] == "completed"
    assert all("braze" in view for _, view in received)  # live figures in every event
    braze_web.wait()

    view = braze_web.alice.get(f"/api/v1/backfills/{backfill_id}").json()
    assert view["status"] == "completed", view["failure_reason"]
    assert view["destination"]["kind"] == "braze" and view["destination"]["name"] == "prod"
    delivery = view["report"]["delivery"]
    users = braze_web.braze.users()
    assert users and delivery["sent"]["requests"] > 0
    assert view["braze"]["sent_requests"] == delivery["sent"]["requests"]
    assert view["braze"]["pending_requests"] == view["braze"]["uncertain_requests"] == 0
    assert sum(len(user.events) for user in users) == delivery["sent"]["events"]
    assert braze_web.braze.stats().max_objects_seen <= 50  # the destination's own cap

    page = braze_web.alice.get(f"/backfills/{backfill_id}")
    text = page.text
    assert destination_line(text) == "Delivered to Braze workspace prod (rest.stand-in.braze.test)"
    assert "Delivered to Braze workspace prod (rest.stand-in.braze.test)" in text
    requests_shown = re.search(r'data-delivery-figure="requests">([^<]*)<', text)
    assert requests_shown and requests_shown.group(1) == f"{delivery['sent']['requests']:,}"
    events_shown = re.search(r'data-delivery-figure="events">([^<]*)<', text)
    assert events_shown and events_shown.group(1) == f"{delivery['sent']['events']:,}"
    assert "No request was in flight at a crash" in text
    rows = report_rows(text) + [  # the delivery's rows do not repeat the report's own
        text_of(label).lower()
        for label in re.findall(r'<span class="hbar-label">(.*?)</span>', text, re.S)
    ]
    assert rows.count("purchases") == 1 and rows.count("purchase objects sent") == 1, rows
    assert "event objects sent" in rows and "order created events" in rows, rows
    assert BRAZE_KEY not in text and BRAZE_KEY not in stream.text


def test_the_progress_page_names_the_braze_workspace_and_its_figures(braze_web: BrazeWeb) -> None:
    """An in-progress Braze backfill (nobody running it): the destination and the
    delivery's live figures, which the script updates from the same JSON."""
    store = braze_web.connect(braze_web.alice)
    assert add(braze_web.alice, store["id"]).status_code == 303
    destination_id = stored(braze_web, braze_web.alice)[0]["id"]
    with braze_web.services.engine.begin() as conn:
        row = requests.open_backfill(
            conn,
            workspace_id=braze_web.alice.workspace_id,
            shop_domain=braze_web.shop.domain,
            now=datetime.now(UTC),
        )
        requests.start(conn, row, now=datetime.now(UTC), braze_destination_id=destination_id)
        backfill = find_backfill(conn, braze_web.alice.workspace_id, braze_web.shop.domain)
    assert backfill is not None
    page = braze_web.alice.get(f"/backfills/{backfill.id}").text
    assert destination_line(page) == "Delivering to Braze workspace prod (rest.stand-in.braze.test)"
    for figure in ("sent", "pending", "objects", "uncertain", "rejected"):
        assert f'data-braze="{figure}">0<' in page, figure
    script = braze_web.alice.get("/static/app.js").text
    assert "braze.sent_requests" in script and "braze.uncertain_requests" in script


def test_the_api_starts_a_backfill_to_a_named_destination(braze_web: BrazeWeb) -> None:
    store = braze_web.connect(braze_web.alice)
    url = f"/api/v1/stores/{store['id']}/backfill"
    body = {"enable": True, "acknowledge_runs_once": True}
    unknown = braze_web.alice.post(url, json={**body, "destination": "staging"})
    assert unknown.status_code == 422
    error = unknown.json()["error"]
    assert error["field"] == "destination"
    assert "no Braze destination named 'staging' (it has none yet)" in error["message"]
    assert f"/stores/{store['id']}/wizard?backfill=on" in error["message"]
    assert "destinations add braze" in error["message"]
    too_long = braze_web.alice.post(url, json={**body, "destination": "d" * 65})
    assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "destination"

    assert add(braze_web.alice, store["id"]).status_code == 303
    still_unknown = braze_web.alice.post(url, json={**body, "destination": "staging"})
    assert "(it has prod)" in still_unknown.json()["error"]["message"]
    assert braze_web.alice.get(f"/api/v1/stores/{store['id']}").json()["backfill"]["status"] == (
        "not_started"
    )
    # Another workspace's name is unknown here.
    bob_store = braze_web.connect(braze_web.bob)
    foreign = braze_web.bob.post(
        f"/api/v1/stores/{bob_store['id']}/backfill", json={**body, "destination": "prod"}
    )
    assert foreign.status_code == 422 and "it has none yet" in foreign.json()["error"]["message"]

    started = braze_web.alice.post(url, json={**body, "destination": "prod"})
    assert started.status_code == 202, started.text
    assert started.json()["destination"]["name"] == "prod"
    braze_web.wait()
    view = braze_web.alice.get(started.headers["location"]).json()
    assert view["status"] == "completed", view["failure_reason"]
    assert view["report"]["delivery"]["destination"]["name"] == "prod"
    assert braze_web.braze.users()


def test_the_api_without_a_destination_keeps_the_profile_store(braze_web: BrazeWeb) -> None:
    store = braze_web.connect(braze_web.alice)
    assert add(braze_web.alice, store["id"]).status_code == 303
    started = braze_web.alice.post(
        f"/api/v1/stores/{store['id']}/backfill",
        json={"enable": True, "acknowledge_runs_once": True, "destination": None},
    )
    assert started.status_code == 202
    assert started.json()["destination"] == {"kind": "embedded"}
    braze_web.wait()
    view = braze_web.alice.get(started.headers["location"]).json()
    assert view["status"] == "completed" and "delivery" not in view["report"]
    assert "braze" not in view
    assert braze_web.braze.users() == []
    assert "Braze workspace" not in braze_web.alice.get(f"/backfills/{view['backfill_id']}").text


def test_a_run_stopped_by_a_revoked_key_takes_a_new_key_on_its_page_then_resumes(
    braze_web: BrazeWeb,
) -> None:
    store = braze_web.connect(braze_web.alice)
    assert add(braze_web.alice, store["id"]).status_code == 303
    braze_web.braze.revoke_key(BRAZE_KEY)  # revoked in Braze after it was added
    started = braze_web.alice.post(
        f"/api/v1/stores/{store['id']}/backfill",
        json={"enable": True, "acknowledge_runs_once": True, "destination": "prod"},
    )
    assert started.status_code == 202
    backfill_id = started.json()["backfill_id"]
    braze_web.wait()
    failed = braze_web.alice.get(f"/api/v1/backfills/{backfill_id}").json()
    assert failed["status"] == "failed" and "Braze refused the API key" in failed["failure_reason"]
    page = braze_web.alice.get(f"/backfills/{backfill_id}").text
    assert "data-replace-key" in page and "New REST API key for prod" in page

    url = f"/backfills/{backfill_id}/destination/key"
    wrong = braze_web.alice.form(url, {"api_key": BRAZE_KEY})  # still revoked
    assert wrong.status_code == 422
    assert "Braze refused this API key (401)" in field_error(wrong.text, "braze-new-key")
    assert BRAZE_KEY not in wrong.text
    assert braze_web.bob.form(url, {"api_key": "braze-web-key-new"}).status_code == 404

    braze_web.braze.add_key("braze-web-key-new")
    replaced = braze_web.alice.form(url, {"api_key": "braze-web-key-new"})
    assert replaced.status_code == 303
    assert replaced.headers["location"] == f"/backfills/{backfill_id}?notice=key_replaced#resume"
    notice = braze_web.alice.get(replaced.headers["location"]).text
    assert "Braze accepted the new API key" in notice and "braze-web-key-new" not in notice
    with braze_web.services.engine.connect() as conn:
        row = conn.execute(sa.select(braze_destinations)).one()
    assert row.rest_endpoint == BRAZE_URL and row.max_objects == 50  # options kept
    assert braze_web.services.cipher.decrypt(row.api_key_encrypted).get_secret_value() == (
        "braze-web-key-new"
    )

    assert braze_web.alice.form(f"/backfills/{backfill_id}/resume", {}).status_code == 303
    braze_web.wait()
    done = braze_web.alice.get(f"/api/v1/backfills/{backfill_id}").json()
    assert done["status"] == "completed", done["failure_reason"]
    assert done["report"]["delivery"]["sent"]["requests"] > 0 and braze_web.braze.users()
    again = braze_web.alice.form(url, {"api_key": "braze-web-key-new"})
    assert again.status_code == 409  # only while stopped
