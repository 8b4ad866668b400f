"""Where a completed backfill's results live on the partner page, and what they are called.

One place for the paths, because two things link to them: the report page (relative
links) and the completion email (absolute links on ``SHOPIFY_BACKFILL_APP_URL``, the
app's configured public URL: an email is read far from the request that made it).
"""

from __future__ import annotations

from shopify_backfill.window import Window

PROFILES_PATH = "/profiles"
SEGMENT_SLUG = "bought-in-window"


def report_path(backfill_id: int) -> str:
    return f"/backfills/{backfill_id}"


def segment_path(backfill_id: int) -> str:
    """The ready-made segment of the profiles that bought in the backfill's window."""
    return f"/backfills/{backfill_id}/segments/{SEGMENT_SLUG}"


def absolute(app_url: str, path: str) -> str:
    """``path`` on the app's public URL (``https://partner.example.com/profiles``)."""
    return f"{app_url.rstrip('/')}{path}"


def window_days(window: Window) -> int:
    return round((window.end - window.start).total_seconds() / 86400)


def segment_name(window: Window) -> str:
    """ "Bought in the 90 days": the window's length, as the merchant chose nothing else."""
    return f"Bought in the {window_days(window)} days"
