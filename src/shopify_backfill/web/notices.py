"""The one-time notices a redirect asks for (``?notice=...``), and where each applies.

The query string is the user's to edit and a bookmark outlives the moment it was made:
``?notice=not_enabled`` once put "not enabled" above a completed backfill. So a notice
names the page it belongs to and the state it describes, and one that does not match the
page being shown is ignored rather than shown out of place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shopify_backfill.backfill.states import COMPLETED, FAILED, IN_PROGRESS, NOT_STARTED

Values = Mapping[str, Any]


def _always(_: Values) -> bool:
    return True


def _store_not_started(values: Values) -> bool:
    store = values.get("store")
    return store is not None and store.status == NOT_STARTED


def _store_authorized(values: Values) -> bool:
    store = values.get("store")
    return store is not None and not store.reauthorization_required


def _preview_shown(values: Values) -> bool:
    return values.get("wiz") is not None


def _backfill_is(status: str) -> Callable[[Values], bool]:
    def applies(values: Values) -> bool:
        view = values.get("view")
        return view is not None and view.get("status") == status

    return applies


@dataclass(frozen=True)
class Notice:
    """A notice's text, the template it belongs to, and whether the page's state fits."""

    text: str
    template: str
    applies: Callable[[Values], bool] = _always


NOTICES: dict[str, Notice] = {
    "connected": Notice("Store connected.", "store.html"),
    "welcome": Notice(
        "Your account is ready. Connect your Shopify store below to import its history.",
        "stores.html",
    ),
    "connect_cancelled": Notice(
        "The installation was cancelled on Shopify: nothing was connected and no access "
        "was granted. Connect again below when you are ready.",
        "stores.html",
    ),
    "reauthorized": Notice(
        "Access reauthorized: the store granted the full scope list.",
        "store.html",
        _store_authorized,
    ),
    "not_enabled": Notice(
        "The backfill was not enabled; nothing was imported. You can start it later from "
        "this page.",
        "store.html",
        _store_not_started,
    ),
    "fixes_applied": Notice("The audit's fixes were applied.", "wizard.html", _preview_shown),
    "no_fixes": Notice("There was no fix to apply.", "wizard.html", _preview_shown),
    "mode_silent": Notice(
        "Risk mode switched to silent backfill: the audit below was run again, and the "
        "backfill's historical data will trigger nothing.",
        "wizard.html",
        _preview_shown,
    ),
    "mode_seed_compatible": Notice(
        "Risk mode switched to seed-compatible: the audit below was run again; choose a fix "
        "for each campaign it flags.",
        "wizard.html",
        _preview_shown,
    ),
    "mode_unchanged": Notice(
        "The workspace was already in that risk mode.", "wizard.html", _preview_shown
    ),
    "fix_applied": Notice(
        "The fix was applied; the audit below was run again with it.", "wizard.html", _preview_shown
    ),
    "campaign_left": Notice(
        "The campaign was left as it is: the audit below shows what it will receive.",
        "wizard.html",
        _preview_shown,
    ),
    "fix_undone": Notice("The fix was undone.", "wizard.html", _preview_shown),
    "fix_stale": Notice(
        "The campaign had been changed since the fix, so it was left as it is now; the fix "
        "is no longer listed.",
        "wizard.html",
        _preview_shown,
    ),
    "destination_added": Notice(
        "Braze workspace added: Braze accepted the API key, which is stored encrypted. It is "
        "chosen as this backfill's destination below.",
        "wizard.html",
        _preview_shown,
    ),
    "started": Notice(
        "The backfill started. You can leave this page; you will be notified.",
        "backfill.html",
        _backfill_is(IN_PROGRESS),
    ),
    "resumed": Notice(
        "The backfill resumes from its last checkpoint.",
        "backfill.html",
        _backfill_is(IN_PROGRESS),
    ),
    "key_replaced": Notice(
        "Braze accepted the new API key; it is stored encrypted. Resume the backfill to send "
        "what Braze has not accepted yet.",
        "backfill.html",
        _backfill_is(FAILED),
    ),
    "campaigns_resumed": Notice(
        "The campaigns the audit paused were resumed.",
        "backfill.html",
        _backfill_is(COMPLETED),
    ),
    "read": Notice("Notifications marked as read.", "notifications.html"),
    "key_revoked": Notice("The API key was revoked.", "api_keys.html"),
}


def notice_for(key: str | None, template: str, values: Values) -> str | None:
    """The text of notice ``key`` if it belongs on ``template`` in this state, else None."""
    notice = NOTICES.get(key or "")
    if notice is None or notice.template != template or not notice.applies(values):
        return None
    return notice.text
