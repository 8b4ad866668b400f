"""Jinja filters: how dates, durations and counts read on the partner page."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

from shopify_backfill.live.state import elapsed_words
from shopify_backfill.profiles.types import json_dumps
from shopify_backfill.web.labels import plain, scope_words


def when(value: Any) -> str:
    """``2026-07-01 12:00 UTC`` from a datetime or an ISO string; "-" for nothing."""
    if value is None or value == "":
        return "-"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def ago(moment: datetime | None, now: datetime) -> str:
    """``5 minutes ago`` (``just now`` under a minute; ``in ...`` for a clock ahead)."""
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    if abs(seconds) < 60:
        return "just now"
    return f"{elapsed_words(seconds)} ago" if seconds > 0 else f"in {elapsed_words(-seconds)}"


def day(value: Any) -> str:
    if value is None or value == "":
        return "-"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.strftime("%b %-d, %Y")


def duration(seconds: Any) -> str:
    """``1 h 02 min``, ``3 min 05 s``, ``12 s``; "-" when unknown."""
    if seconds is None:
        return "-"
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def number(value: Any) -> str:
    if value is None:
        return "-"
    return f"{int(value):,}"


def percent(done: Any, total: Any) -> int:
    if not total:
        return 0
    return max(0, min(100, int(100 * int(done or 0) / int(total))))


def progress_text(kind: str, done: Any, total: Any) -> str:
    """What a screen reader says of a stream's bar: "12 of 60 orders (20%)"."""
    if not total:
        return f"{int(done or 0):,} {kind}, total not known yet"
    return f"{int(done or 0):,} of {int(total):,} {kind} ({percent(done, total)}%)"


def host(url: Any) -> str:
    """``rest.iad-01.braze.com`` from its URL (the port too when it has one)."""
    text = str(url or "")
    return urlsplit(text).netloc or text


def install(env: Environment) -> None:
    env.filters["host"] = host
    env.filters["json"] = json_dumps  # exact Decimals, as the store holds them
    env.filters["when"] = when
    env.filters["day"] = day
    env.filters["duration"] = duration
    env.filters["number"] = number
    env.globals["ago"] = ago
    env.globals["percent"] = percent
    env.globals["progress_text"] = progress_text
    env.filters["plain"] = plain
    env.filters["scope_words"] = scope_words
