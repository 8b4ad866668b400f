"""The words the partner page shows a marketer for statuses, campaign kinds and report rows.

One place, so a backfill's status reads the same on the store card, the backfill page and
the wizard ("In Progress", "Completed"), and so labels built from data do not repeat
themselves: a Canvas named "Order placed canvas" was shown as "Order placed canvas
canvas", and the report listed "Purchases" twice (the purchases written, then the data
points they cost).
"""

from __future__ import annotations

import re
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


SCOPE_WORDS = {
    "read_customers": "read customers",
    "read_orders": "read orders",
    "read_all_orders": "read all orders, not only the last 60 days",
    "write_customers": "read and change customers",
    "write_orders": "read and change orders",
}
"""Shopify's access scopes in words; the page shows these, with the scope's name beside
it only for whoever has to match it against Shopify's admin."""


def scope_words(scope: str) -> str:
    return SCOPE_WORDS.get(scope, scope.removeprefix("read_").replace("_", " "))


_ALIAS_REASON = re.compile(
    r"alias (?P<label>\w+)=\S+ already belongs to another profile(?:; not added)?"
)
ALIAS_REASONS = {
    "shopify_email": "the same email is already on another customer's profile; kept there",
    "shopify_phone": "the same phone number is already on another customer's profile; kept there",
    "shopify_customer_id": "this Shopify customer is already linked to another profile; kept there",
}
_CLI_HINT = re.compile(r"`?shopify-backfill [^`;.]*`?")
_PREFLIGHT = re.compile(r"\bpreflight( checks?)?\b", re.IGNORECASE)


def plain(text: Any) -> str:
    """A message from the engine as the page says it: no shell commands (the page has its
    own buttons for them), no internal step names, aliases in words."""
    if text is None:
        return ""
    message = _ALIAS_REASON.sub(
        lambda m: ALIAS_REASONS.get(m["label"], "already on another profile; kept there"),
        str(text),
    )
    message = _PREFLIGHT.sub("the access check", message)
    clauses = re.split(r"(?<=[;.])\s+|,\s+(?=or\b)", message)
    kept = [clause for clause in clauses if not _CLI_HINT.search(clause)]
    if not kept:
        return _CLI_HINT.sub("the page's buttons", message)
    joined = " ".join(kept).strip()
    joined = re.sub(r"[;,:]\s*$", ".", joined)
    for label in ALIAS_REASONS:
        joined = joined.replace(label, label.removeprefix("shopify_").replace("_", " "))
    return joined


GLOBALS: dict[str, Any] = {
    "status_label": status_label,
    "kind_tag": kind_tag,
    "data_point_source": data_point_source,
    "scope_words": scope_words,
}
"""What the templates call (installed as Jinja globals by ``create_app``)."""
