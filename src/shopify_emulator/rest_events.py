"""``events.json`` and ``events/count.json``: what happened in the shop, derived from it.

The store keeps no event log, but every order and customer carries the times of what
happened to it: a customer was created, an order was placed, closed or cancelled. Each
becomes one Event (https://shopify.dev/docs/api/admin-rest/2026-07/resources/event)
with Shopify's verbs (``create`` for customers; ``placed``, ``closed``, ``cancelled`` for
orders). Event ids grow with time (creation second, then kind, then subject), as
Shopify's do, so ``since_id`` and the id-ordered cursor pages mean what they mean there.

Parameters: ``limit`` (1-250), ``since_id``, ``created_at_min``/``created_at_max``,
``filter`` (subject types, comma-separated: ``Order,Customer``), ``verb``, ``fields``;
``page_info`` cursors in the ``Link`` header as for the other lists. Order events need
``read_orders`` (and respect the 60-day window without ``read_all_orders``), customer
events ``read_customers``; a token with neither sees an empty list.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from starlette.requests import Request

from shopify_emulator.rest_params import (
    PAGE_INFO_COMPANIONS,
    BadParamError,
    parse_fields,
    parse_limit,
    parse_time,
    select_fields,
)
from shopify_emulator.rest_shapes import time

if TYPE_CHECKING:
    from shopify_emulator.runtime import EmulatorRuntime
    from shopify_emulator.tokens import Grant

SECOND_SPAN = 10**7
KIND_SPAN = 10**6
ID_STRIDE = 32_768
KINDS = {
    ("Customer", "create"): 1,
    ("Order", "placed"): 2,
    ("Order", "closed"): 3,
    ("Order", "cancelled"): 4,
}
MESSAGES = {
    "create": "{name} was created.",
    "placed": "Order {name} was placed.",
    "closed": "Order {name} was archived.",
    "cancelled": "Order {name} was cancelled.",
}


def _event_id(at: str, kind: int) -> str:
    return f"({at} * {SECOND_SPAN} + {kind * KIND_SPAN} + (id / {ID_STRIDE}) % {KIND_SPAN})"


CUSTOMER_EVENTS = (
    f"SELECT {_event_id('created_at', 1)} AS eid, 'Customer' AS subject_type, "  # noqa: S608
    "'create' AS verb, id AS subject_id, created_at AS at, "
    "TRIM(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')) AS label, "
    "created_at AS placed FROM customers"
)
ORDER_EVENTS = (
    f"SELECT {_event_id('created_at', 2)} AS eid, 'Order', 'placed', id, created_at, name, "  # noqa: S608
    "created_at FROM orders "
    f"UNION ALL SELECT {_event_id('closed_at', 3)}, 'Order', 'closed', id, closed_at, name, "
    "created_at FROM orders WHERE closed_at IS NOT NULL AND cancelled_at IS NULL "
    f"UNION ALL SELECT {_event_id('cancelled_at', 4)}, 'Order', 'cancelled', id, cancelled_at, "
    "name, created_at FROM orders WHERE cancelled_at IS NOT NULL"
)


@dataclass(frozen=True)
class EventQuery:
    """The filters of one events request (kept in ``page_info`` cursors)."""

    since_id: int | None = None
    created_min: int | None = None
    created_max: int | None = None
    subjects: tuple[str, ...] = ()
    verb: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "since_id": self.since_id,
            "created_min": self.created_min,
            "created_max": self.created_max,
            "subjects": list(self.subjects),
            "verb": self.verb,
        }


def _filters(params: dict[str, str]) -> EventQuery:
    since = params.get("since_id")
    if since is not None and not since.strip().isdigit():
        raise BadParamError("since_id", "must be a number")
    bounds = [
        int(parse_time(name, params[name]).timestamp()) if name in params else None
        for name in ("created_at_min", "created_at_max")
    ]
    subjects = tuple(
        part.strip().lower().rstrip("s")
        for part in params.get("filter", "").split(",")
        if part.strip()
    )
    verb = params.get("verb", "").strip().lower() or None
    return EventQuery(int(since) if since else None, bounds[0], bounds[1], subjects, verb)


def _sql(runtime: EmulatorRuntime, grant: Grant, query: EventQuery) -> tuple[str, list[Any]]:
    sources = []
    params: list[Any] = []
    if grant.allows("read_customers"):
        sources.append(CUSTOMER_EVENTS)
    if grant.allows("read_orders"):
        sources.append(ORDER_EVENTS)
    if not sources:
        return "SELECT * FROM (SELECT 0 AS eid) WHERE 0", []
    where = ["1"]
    since = runtime.visible_since(grant)
    if since is not None:
        where.append("(subject_type != 'Order' OR placed >= ?)")
        params.append(int(since.timestamp()))
    if query.since_id is not None:
        where.append("eid > ?")
        params.append(query.since_id)
    if query.created_min is not None:
        where.append("at >= ?")
        params.append(query.created_min)
    if query.created_max is not None:
        where.append("at <= ?")
        params.append(query.created_max)
    if query.subjects:
        where.append(f"LOWER(subject_type) IN ({', '.join('?' for _ in query.subjects)})")
        params.extend(query.subjects)
    if query.verb is not None:
        where.append("verb = ?")
        params.append(query.verb)
    union = " UNION ALL ".join(sources)
    sql = (
        "SELECT eid, subject_type, verb, subject_id, at, label FROM "  # noqa: S608 - constants
        f"({union}) WHERE {' AND '.join(where)}"
    )
    return sql, params


def _event(row: tuple[Any, ...], zone: ZoneInfo) -> dict[str, Any]:
    eid, subject_type, verb, subject_id, at, label = row
    name = label or ("Customer" if subject_type == "Customer" else "")
    if subject_type == "Customer" and label:
        name = f"Customer {label}"
    created = time(_iso(at), zone)
    path = f"/admin/{subject_type.lower()}s/{subject_id}"
    return {
        "id": eid,
        "subject_id": subject_id,
        "created_at": created,
        "subject_type": subject_type,
        "verb": verb,
        "arguments": [label] if label else [],
        "body": None,
        "message": MESSAGES[verb].format(name=name),
        "author": "Shopify",
        "description": MESSAGES[verb].format(name=name),
        "path": path,
    }


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode(direction: str, cursor: int, query: EventQuery) -> str:
    raw = orjson.dumps({"direction": direction, "cursor": cursor, "query": query.as_json()})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> tuple[str, int, EventQuery]:
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        query = payload["query"]
        return (
            str(payload["direction"]),
            int(payload["cursor"]),
            EventQuery(
                query["since_id"],
                query["created_min"],
                query["created_max"],
                tuple(query["subjects"]),
                query["verb"],
            ),
        )
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise BadParamError("page_info", "Invalid value.") from error


def events_work(
    runtime: EmulatorRuntime, grant: Grant, request: Request
) -> tuple[dict[str, Any], list[str]]:
    params = dict(request.query_params)
    limit = parse_limit(params)
    fields = parse_fields(params)
    direction, cursor = "next", None
    if "page_info" in params:
        extra = set(params) - PAGE_INFO_COMPANIONS
        if extra:
            raise BadParamError("page_info", f"cannot be combined with {', '.join(sorted(extra))}")
        direction, cursor, query = _decode(params["page_info"])
    else:
        query = _filters(params)
    sql, args = _sql(runtime, grant, query)
    if cursor is not None:
        sql += " AND eid > ?" if direction == "next" else " AND eid < ?"
        args.append(cursor)
    order = "ASC" if direction == "next" else "DESC"
    rows = (
        runtime.store.connection()
        .execute(f"{sql} ORDER BY eid {order} LIMIT ?", [*args, limit + 1])
        .fetchall()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if direction == "prev":
        rows.reverse()
    has_next = more if direction == "next" else cursor is not None
    has_prev = (cursor is not None) if direction == "next" else more
    zone = ZoneInfo(runtime.store.timezone)
    events = [select_fields(_event(tuple(row), zone), fields) for row in rows]
    base = f"{str(request.base_url).rstrip('/')}{request.url.path}"
    kept: dict[str, Any] = {"limit": limit}
    if fields is not None:
        kept["fields"] = ",".join(fields)
    links = []
    if rows and has_prev:
        page = _encode("prev", rows[0][0], query)
        links.append(f'<{base}?{urlencode({**kept, "page_info": page})}>; rel="previous"')
    if rows and has_next:
        page = _encode("next", rows[-1][0], query)
        links.append(f'<{base}?{urlencode({**kept, "page_info": page})}>; rel="next"')
    return {"events": events}, links


def count_work(
    runtime: EmulatorRuntime, grant: Grant, request: Request
) -> tuple[dict[str, Any], list[str]]:
    """``events/count.json`` honours ``created_at_min``/``created_at_max`` (and the
    list's other filters, which Shopify's count accepts too)."""
    sql, args = _sql(runtime, grant, _filters(dict(request.query_params)))
    counting = f"SELECT COUNT(*) FROM ({sql})"  # noqa: S608 - built from constants
    count = runtime.store.connection().execute(counting, args).fetchone()
    return {"count": int(count[0])}, []
