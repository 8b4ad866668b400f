"""The words the partner page shows a marketer for statuses, campaign kinds and report rows.

One place, so a backfill's status reads the same on the store card, the backfill page and
the wizard ("In Progress", "Completed"), and so labels built from data do not repeat
themselves: a Canvas named "Order placed canvas" was shown as "Order placed canvas
canvas", and the report listed "Purchases" twice (the purchases written, then the data
points they cost).
"""

from __future__ import annotations

from typing import Any

from shopify_backfill.backfill.states import LABELS, NOT_STARTED
from shopify_backfill.campaigns.report import names_kind

NOT_STARTED_LABEL = "Backfill not started"
_LABELS: dict[str, str] = {str(status): label for status, label in LABELS.items()}


def status_label(status: str) -> str:
    """The four statuses in the page's words; an interrupted run is shown by its status
    ("In Progress" with a Resume button, or "Failed - resumable"), as on the store card."""
    if status == NOT_STARTED:
        return NOT_STARTED_LABEL
    return _LABELS.get(status, status.replace("_", " ").capitalize())


KIND_LABELS = {"campaign": "Campaign", "canvas": "Canvas"}


def kind_tag(name: str, kind: str) -> str | None:
    """The kind ("Canvas", "Campaign") shown beside a name, unless the name says it."""
    if names_kind(name, kind):
        return None
    return KIND_LABELS.get(kind, kind.capitalize())


DATA_POINT_SOURCES = {
    "attributes": "from customer attributes",
    "events": "from events",
    "event_properties": "from event properties",
    "purchases": "from purchases",
    "purchase_properties": "from purchase properties",
}
"""The data-point categories (``profiles.datapoints.CATEGORIES``) as rows under "Data
points": worded as its parts, so they do not repeat the rows counting what was written."""


def data_point_source(category: str) -> str:
    return DATA_POINT_SOURCES.get(category, "from " + category.replace("_", " "))


GLOBALS: dict[str, Any] = {
    "status_label": status_label,
    "kind_tag": kind_tag,
    "data_point_source": data_point_source,
}
"""What the templates call (installed as Jinja globals by ``create_app``)."""
