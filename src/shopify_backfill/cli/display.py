"""Following a run on a terminal (Rich bars) or in a log (plain lines).

Whatever runs the job, the display reads the stored progress through a fresh database
connection, exactly as another process would: the figures shown are the committed ones.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from shopify_backfill.backfill.notify import Delivery
from shopify_backfill.backfill.progress import progress_line
from shopify_backfill.backfill.report import render_report
from shopify_backfill.backfill.status import read_status

POLL_SECONDS = 0.2
PLAIN_EVERY_SECONDS = 1.0
STALL_SECONDS = 5.0
"""After this long with no new stored progress, say what the run is waiting for (and
again as often), so a slow Shopify is never minutes of silence."""


def stall_text(view: dict[str, Any], seconds: float) -> str:
    """What a run with no news for ``seconds`` is doing; it is still running."""
    waiting_for = "the mail server" if view["phase"] == "finishing" else "Shopify"
    doing = view["phase_label"]
    bulk = view["bulk"]
    if bulk and view["phase"].startswith("extracting"):
        doing += f", bulk operation {bulk['status']} ({bulk['objects']} objects)"
    return (
        f"still running, waiting for {waiting_for}: {doing}; no new progress for "
        f"{seconds:.0f} s (it retries on its own; Ctrl-C stops after the current batch)"
    )


def follow(
    engine: sa.Engine,
    backfill_id: int,
    done: Callable[[], bool],
    *,
    plain_stream: TextIO | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Show progress until ``done()``; returns the last status read.

    Rich bars when stdout is a terminal; otherwise one plain line per second (to
    ``plain_stream``, default stdout) when something changed. ``quiet`` shows nothing.
    """
    console = Console()
    if quiet:
        while not done():
            time.sleep(POLL_SECONDS)
        return _read(engine, backfill_id)
    if console.is_terminal and plain_stream is None:
        return _follow_rich(engine, backfill_id, done, console)
    return _follow_plain(engine, backfill_id, done, plain_stream or sys.stdout)


def _read(engine: sa.Engine, backfill_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return read_status(conn, backfill_id)


def _follow_plain(
    engine: sa.Engine, backfill_id: int, done: Callable[[], bool], stream: TextIO
) -> dict[str, Any]:
    last_line = ""
    last_time = 0.0
    last_news = last_stall = time.monotonic()
    last_state: object = None
    while True:
        finished = done()
        view = _read(engine, backfill_id)
        line = progress_line(view)
        moment = time.monotonic()
        if line != last_line and (finished or moment - last_time >= PLAIN_EVERY_SECONDS):
            print(line, file=stream, flush=True)
            last_line, last_time = line, moment
        state = _news(view)
        if state != last_state:
            last_state, last_news = state, moment
        elif (
            not finished
            and moment - last_news >= STALL_SECONDS
            and moment - last_stall >= STALL_SECONDS
        ):
            print(stall_text(view, moment - last_news), file=stream, flush=True)
            last_stall = moment
        if finished:
            return view
        time.sleep(POLL_SECONDS)


def _follow_rich(
    engine: sa.Engine, backfill_id: int, done: Callable[[], bool], console: Console
) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
    )
    with Progress(*columns, console=console) as bars:
        tasks: dict[str, TaskID] = {
            kind: bars.add_task(kind, total=None, info="") for kind in ("customers", "orders")
        }
        last_news = time.monotonic()
        last_state: object = None
        while True:
            finished = done()
            view = _read(engine, backfill_id)
            info = _info(view)
            state = _news(view)
            if state != last_state:
                last_state, last_news = state, time.monotonic()
            elif (quiet_for := time.monotonic() - last_news) >= STALL_SECONDS:
                info += f" · waiting, no news for {quiet_for:.0f}s"
            for kind, task in tasks.items():
                figures = view[kind]
                total = figures["total"]
                if total is not None:
                    total = max(total, figures["done"])
                bars.update(task, completed=figures["done"], total=total, info=info)
            if finished:
                return view
            time.sleep(POLL_SECONDS)


def _news(view: dict[str, Any]) -> object:
    """What changes when a run makes progress (the rate and ETA drift on their own)."""
    return (
        view["status"],
        view["phase"],
        view["customers"]["done"],
        view["orders"]["done"],
        view["bulk"],
        view["updated_at"],
    )


def _info(view: dict[str, Any]) -> str:
    parts = [view["phase_label"]]
    bulk = view["bulk"]
    if bulk and view["phase"].startswith("extracting"):
        parts.append(f"bulk {bulk['status'].lower()} {bulk['objects']} objects")
    if view["records_per_second"] is not None:
        parts.append(f"{view['records_per_second']:.0f}/s")
    if view["eta_seconds"] is not None:
        parts.append(f"ETA {view['eta_seconds']:.0f}s")
    parts.append(f"{view['data_points']:,} dp")
    if view.get("profiles"):
        parts.append(f"{view['profiles']['total']:,} profiles written so far")
    return " · ".join(parts)


def email_lines(deliveries: list[dict[str, Any]] | tuple[Delivery, ...]) -> list[str]:
    lines = []
    for item in deliveries:
        data = item if isinstance(item, dict) else _delivery_dict(item)
        to = ", ".join(data["to"]) or "nobody"
        if data["status"] == "written":
            lines.append(
                f"email ({data['kind']}) to {to}: no SMTP host configured, written to "
                f"{data['delivered_to']}"
            )
        elif data["status"] == "sent":
            lines.append(f"email ({data['kind']}) to {to}: sent via {data['delivered_to']}")
        elif data["status"] == "no_recipients":
            lines.append(
                f"email ({data['kind']}): the workspace has no notification addresses; not sent"
            )
        else:
            lines.append(
                f"email ({data['kind']}) to {to}: {data['status']} after {data['attempts']} "
                f"attempt(s): {data['last_error']}"
            )
    return lines


def _delivery_dict(delivery: Delivery) -> dict[str, Any]:
    return {
        "kind": delivery.kind,
        "status": delivery.status,
        "to": list(delivery.recipients),
        "attempts": delivery.attempts,
        "delivered_to": delivery.delivered_to,
        "last_error": delivery.last_error,
    }


def outcome_text(view: dict[str, Any]) -> str:
    """The report when completed, else the status and the reason."""
    lines: list[str] = []
    if view["status"] == "completed" and view.get("report"):
        lines.append(render_report(view["report"]))
    else:
        lines.append(progress_line(view))
        if view["status"] == "failed" or view.get("interrupted"):
            lines.append(
                f"the backfill is {view['status_label']}; resume it with "
                f"`shopify-backfill backfill resume --shop {view['shop']}`"
            )
    lines.extend(email_lines(view.get("emails", [])))
    return "\n".join(lines)
