"""The delivery ledger: which ``/users/track`` requests Braze has, and which it may have.

States of a request (``tables.braze_requests``):

- ``pending``: stored with its batch (and the batch's checkpoint), not sent yet;
- ``sending``: claimed by a sender in its own commit, then posted;
- ``sent``: Braze answered 2xx (201 processed, 202 queued); never sent again;
- ``rejected``: Braze refused it whole (a 4xx other than 401/403/429); never resent;
- ``uncertain``: found ``sending`` after a crash. Braze may or may not have it, and
  Braze neither deduplicates events and purchases nor lets a client ask whether one
  arrived. Its events and purchases are **not** resent (at most once: a lost order is
  reported, a doubled one would not be); its attributes are queued again on their own
  (setting an attribute twice is harmless). The report
  counts what is uncertain, so the one unavoidable window is measured, never hidden.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa

from shopify_backfill.destinations.braze.objects import ArrayName, BrazeObject
from shopify_backfill.destinations.braze.packing import ARRAYS, TrackBody, pack
from shopify_backfill.destinations.braze.tables import REQUEST_STATES, braze_requests
from shopify_backfill.profiles.types import json_dumps, json_loads

MAX_ERRORS_KEPT: Final = 20
"""Per-object errors kept per request (Braze names each by array and index)."""

_r = braze_requests.c


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    body: bytes
    dedupe_sensitive: bool
    """It holds events or purchases, which Braze would store twice if sent twice."""


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of one claimed request."""

    id: int
    state: str
    detail: dict[str, Any]


def enqueue(
    conn: sa.Connection,
    *,
    destination_id: int,
    backfill_id: int,
    objects: Sequence[tuple[ArrayName, BrazeObject]],
    max_objects: int,
    now: datetime,
) -> None:
    """Store a batch's objects ``pending`` on the batch's own transaction.

    The last request of the previous batch is filled up first (it waits unsent while
    it is not full), so requests hold ``max_objects`` each except the very last one.
    """
    if not objects:
        return
    objects = list(objects)
    size = _r.attributes + _r.events + _r.purchases
    open_request = conn.execute(
        sa.select(_r.id, _r.body)
        .where(_r.backfill_id == backfill_id, _r.state == "pending", size < max_objects)
        .order_by(_r.id.desc())
        .limit(1)
        .with_for_update()
    ).one_or_none()
    if open_request is not None:
        arrays: dict[ArrayName, list[BrazeObject]] = json_loads(bytes(open_request.body))
        room = max_objects - sum(len(items) for items in arrays.values())
        for name, obj in objects[:room]:
            arrays.setdefault(name, []).append(obj)
        objects = objects[room:]
        body = TrackBody({name: arrays[name] for name in ARRAYS if name in arrays})
        conn.execute(
            sa.update(braze_requests).where(_r.id == open_request.id).values(**_columns(body))
        )
    bodies = pack(objects, max_objects)
    if bodies:
        rows = [
            {
                "destination_id": destination_id,
                "backfill_id": backfill_id,
                "state": "pending",
                "created_at": now,
                **_columns(body),
            }
            for body in bodies
        ]
        conn.execute(sa.insert(braze_requests), rows)


def _columns(body: TrackBody) -> dict[str, Any]:
    return {
        "body": json_dumps(body.arrays).encode(),
        "attributes": body.count("attributes"),
        "events": body.count("events"),
        "purchases": body.count("purchases"),
    }


def claim(
    engine: sa.Engine, backfill_id: int, limit: int, *, full: int | None = None
) -> list[Claimed]:
    """Mark up to ``limit`` pending requests ``sending`` and commit, oldest first;
    with ``full``, only requests of at least that many objects (the last, still being
    filled, waits).

    Several workers may deliver one backfill: on PostgreSQL each skips the rows another
    has locked, so no request is claimed twice.
    """
    return settle_and_claim(engine, (), datetime.now(UTC), backfill_id, limit, full=full)


def settle(engine: sa.Engine, outcomes: Iterable[Settled], now: datetime) -> None:
    """Record what Braze said, in one commit; ``pending`` puts a request back."""
    outcomes = list(outcomes)
    if outcomes:
        with engine.begin() as conn:
            _settle(conn, outcomes, now)


def settle_and_claim(
    engine: sa.Engine,
    outcomes: Iterable[Settled],
    now: datetime,
    backfill_id: int,
    limit: int,
    *,
    full: int | None = None,
) -> list[Claimed]:
    """``settle`` then ``claim`` in one commit: the sender's one transaction per group
    of answers (the database, not Braze, was what kept the sender under its ceiling)."""
    with engine.begin() as conn:
        _settle(conn, list(outcomes), now)
        if limit <= 0:
            return []
        params: dict[str, Any] = {"backfill_id": backfill_id}
        if full is not None:
            params["full"] = full
        rows = conn.execute(_claim_query(limit, full is not None), params).all()
        if rows:
            conn.execute(_MARK_SENDING, [{"request_id": row.id} for row in rows])
    return [Claimed(row.id, bytes(row.body), bool(row.events or row.purchases)) for row in rows]


@functools.cache
def _claim_query(limit: int, only_full: bool) -> sa.Select[Any]:
    """Built once per shape: constructing the statement cost more than running it."""
    pending = (_r.backfill_id == sa.bindparam("backfill_id")) & (_r.state == "pending")
    if only_full:
        pending = pending & (_r.attributes + _r.events + _r.purchases >= sa.bindparam("full"))
    return (
        sa.select(_r.id, _r.body, _r.events, _r.purchases)
        .where(pending)
        .order_by(_r.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


_MARK_SENDING = (
    sa.update(braze_requests).where(_r.id == sa.bindparam("request_id")).values(state="sending")
)
_SETTLE = (
    sa.update(braze_requests)
    .where(_r.id == sa.bindparam("request_id"))
    .values(
        state=sa.bindparam("new_state"),
        body=sa.bindparam("new_body"),
        sent_at=sa.bindparam("new_sent_at"),
        errors=sa.bindparam("new_errors"),
    )
)
_PUT_BACK = (
    sa.update(braze_requests).where(_r.id == sa.bindparam("request_id")).values(state="pending")
)


def _settle(conn: sa.Connection, outcomes: list[Settled], now: datetime) -> None:
    if not outcomes:
        return
    unsure = [outcome.id for outcome in outcomes if outcome.state == "uncertain"]
    _resend_attributes(conn, unsure, now)
    done = [
        {
            "request_id": outcome.id,
            "new_state": outcome.state,
            "new_body": None,
            "new_sent_at": now,
            "new_errors": outcome.detail or None,
        }
        for outcome in outcomes
        if outcome.state in ("sent", "rejected", "uncertain")
    ]
    back = [{"request_id": outcome.id} for outcome in outcomes if outcome.state == "pending"]
    if done:
        conn.execute(_SETTLE, done)
    if back:
        conn.execute(_PUT_BACK, back)


def _resend_attributes(conn: sa.Connection, request_ids: Sequence[int], now: datetime) -> None:
    """The attributes of requests of unknown fate, queued again on their own.

    Setting an attribute twice changes nothing in Braze, so only the events and
    purchases of such a request are at most once; its users' attributes and consent
    always arrive.
    """
    if not request_ids:
        return
    rows = conn.execute(
        sa.select(_r.destination_id, _r.backfill_id, _r.body).where(
            _r.id.in_(request_ids), _r.attributes > 0, _r.body.is_not(None)
        )
    ).all()
    again = []
    for row in rows:
        attributes = json_loads(bytes(row.body)).get("attributes", [])
        again.append(
            {
                "destination_id": row.destination_id,
                "backfill_id": row.backfill_id,
                "state": "pending",
                "body": json_dumps({"attributes": attributes}).encode(),
                "attributes": len(attributes),
                "events": 0,
                "purchases": 0,
                "created_at": now,
            }
        )
    if again:
        conn.execute(sa.insert(braze_requests), again)


def recover(conn: sa.Connection, backfill_id: int, now: datetime) -> int:
    """After a crash: requests left ``sending`` become ``uncertain`` or ``pending``.

    Returns how many became uncertain (see the module docstring for the rule); their
    attributes are queued again on their own.
    """
    sending = (_r.backfill_id == backfill_id) & (_r.state == "sending")
    conn.execute(
        sa.update(braze_requests)
        .where(sending, _r.events == 0, _r.purchases == 0)
        .values(state="pending")
    )
    unsure = [int(i) for i in conn.execute(sa.select(_r.id).where(sending)).scalars()]
    _resend_attributes(conn, unsure, now)
    if unsure:
        conn.execute(
            sa.update(braze_requests)
            .where(_r.id.in_(unsure))
            .values(state="uncertain", body=None, errors={"message": "in flight at a crash"})
        )
    return len(unsure)


def unfinished(conn: sa.Connection, backfill_id: int) -> int:
    """Requests not yet settled (pending or in flight)."""
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(braze_requests)
            .where(_r.backfill_id == backfill_id, _r.state.in_(("pending", "sending")))
        ).scalar_one()
    )


def progress(conn: sa.Connection, backfill_id: int) -> dict[str, int]:
    """Live delivery figures: requests by state and the objects Braze accepted."""
    rows = conn.execute(
        sa.select(
            _r.state,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(_r.attributes + _r.events + _r.purchases), 0),
        )
        .where(_r.backfill_id == backfill_id)
        .group_by(_r.state)
    ).all()
    by_state = {state: (int(count), int(objects)) for state, count, objects in rows}
    view = {f"{state}_requests": by_state.get(state, (0, 0))[0] for state in REQUEST_STATES}
    view["objects_sent"] = by_state.get("sent", (0, 0))[1]
    return view


def summary(conn: sa.Connection, backfill_id: int) -> dict[str, Any]:
    """The report's delivery section: requests and objects by state, object errors."""
    rows = conn.execute(
        sa.select(
            _r.state,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(_r.attributes), 0),
            sa.func.coalesce(sa.func.sum(_r.events), 0),
            sa.func.coalesce(sa.func.sum(_r.purchases), 0),
        )
        .where(_r.backfill_id == backfill_id)
        .group_by(_r.state)
    ).all()
    states: dict[str, dict[str, int]] = {
        state: {
            "requests": int(count),
            "attributes": int(attrs),
            "events": int(events),
            "purchases": int(bought),
        }
        for state, count, attrs, events, bought in rows
    }
    details = conn.execute(
        sa.select(_r.id, _r.state, _r.errors)
        .where(_r.backfill_id == backfill_id, _r.errors.is_not(None))
        .order_by(_r.id)
    ).all()
    object_errors: list[dict[str, Any]] = []
    queued = 0
    rejected: list[dict[str, Any]] = []
    for row in details:
        detail = row.errors or {}
        queued += 1 if detail.get("status") == 202 else 0
        if row.state == "rejected":
            rejected.append({"request": row.id, "message": detail.get("message", "")})
        for error in detail.get("errors", []):
            object_errors.append({"request": row.id, **_error_fields(error)})
    empty = {"requests": 0, "attributes": 0, "events": 0, "purchases": 0}
    return {
        "sent": states.get("sent", empty),
        "queued_requests": queued,
        "uncertain": states.get("uncertain", empty),
        "rejected": states.get("rejected", empty),
        "unsent": {
            key: states.get("pending", empty)[key] + states.get("sending", empty)[key]
            for key in empty
        },
        "rejected_requests": rejected[:MAX_ERRORS_KEPT],
        "object_errors": len(object_errors),
        "object_error_examples": object_errors[:MAX_ERRORS_KEPT],
        "delivery": "at most once per request holding events or purchases",
    }


def _error_fields(error: Any) -> dict[str, Any]:
    if isinstance(error, dict):
        return {
            "type": str(error.get("type", ""))[:300],
            "array": str(error.get("input_array", "")),
            "index": error.get("index"),
        }
    return {"type": str(error)[:300], "array": "", "index": None}
