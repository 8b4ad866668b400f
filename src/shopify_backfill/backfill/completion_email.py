"""The completion email's two parts: the plain-text report with its links, and HTML.

Composed when the email is sent, not when it is queued: the links are absolute URLs on
the app's configured public URL (``SHOPIFY_BACKFILL_APP_URL``), which is a setting of
the sending process, and the queued row keeps only the text report (the outbox's
format is unchanged). Every value in the HTML comes from the store or the shop (a shop
domain, a reason quoting a record) and is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill.links import (
    PROFILES_PATH,
    absolute,
    report_path,
    segment_name,
    segment_path,
)
from shopify_backfill.backfill.store import BackfillRow, get_backfill
from shopify_backfill.profiles.browse import segment_size
from shopify_backfill.profiles.written import from_report


@dataclass(frozen=True)
class CompletionParts:
    text: str
    html: str


def live_sync_line(row: BackfillRow) -> str:
    """What happens to the orders after the connection, today: nothing imports them."""
    connected = row.window.end.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Orders placed after {connected}, when the store was connected, are not imported: "
        "nothing syncs them yet. A live sync through Shopify webhooks is planned; until it "
        "ships, the profiles hold the backfill window only."
    )


def completion_parts(
    conn: sa.Connection, app_url: str, backfill_id: int, text_report: str
) -> CompletionParts | None:
    """Both parts of backfill ``backfill_id``'s completion email, or ``None`` when it has
    no report (the plain text alone is then sent, as queued)."""
    row = get_backfill(conn, backfill_id)
    report = row.report
    if report is None:
        return None
    report_url = absolute(app_url, report_path(row.id))
    links = [("Report", report_url)]
    segment: tuple[str, int, str] | None = None
    if row.braze_destination_id is None:
        links.append(("Imported profiles", absolute(app_url, PROFILES_PATH)))
        size = segment_size(conn, row.workspace_id, row.window)
        segment = (segment_name(row.window), size, absolute(app_url, segment_path(row.id)))
        links.append((f"{segment[0]} ({size} profiles)", segment[2]))
    live = live_sync_line(row)
    text = "\n".join(
        [
            text_report.rstrip("\n"),
            "",
            *(f"{label}: {url}" for label, url in links),
            "",
            live,
            "",
        ]
    )
    return CompletionParts(text=text, html=_html(report, report_url, links, segment, live))


def _figure(label: str, value: Any) -> str:
    return (
        f'<tr><td style="padding:2px 16px 2px 0">{escape(label)}</td>'
        f'<td style="text-align:right;font-variant-numeric:tabular-nums">'
        f"{int(value):,}</td></tr>"
    )


def _html(
    report: dict[str, Any],
    report_url: str,
    links: list[tuple[str, str]],
    segment: tuple[str, int, str] | None,
    live: str,
) -> str:
    customers = report["customers"]
    orders = report["orders"]
    profiles = from_report(report)
    figures = [
        ("Customers created", customers["created"]),
        (
            "Customers matched",
            customers["matched_by_alias"]
            + customers["matched_by_email"]
            + customers["matched_by_phone"],
        ),
        ("Guest profiles created", report["guests"]["profiles_created"]),
        ("Orders imported", orders["imported"]),
        ("Order Created events", report["events"]),
        ("Purchases", report["purchases"]),
        ("Data points", report["data_points"]["total"]),
        ("Records quarantined or imported in part", report["issues"]["total"]),
    ]
    shop = escape(str(report["shop"]))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Shopify backfill of {shop} completed</title></head>",
        '<body style="font-family:system-ui,sans-serif;color:#1d2433;line-height:1.5">',
        f'<h1 style="font-size:20px">Shopify backfill of {shop}: completed</h1>',
        f"<p>Window {escape(str(report['window']['start']))} to "
        f"{escape(str(report['window']['end']))}.</p>",
        f"<p data-profiles><strong>{escape(profiles.sentence())}</strong></p>",
        '<table role="presentation">',
        *(_figure(label, value) for label, value in figures),
        "</table>",
    ]
    if report.get("delivery"):
        target = report["delivery"]["destination"]
        parts.append(
            f"<p>Delivered to Braze workspace {escape(str(target['name']))} "
            f"({escape(str(target['rest_endpoint']))}).</p>"
        )
    parts.append(f'<p><a href="{escape(report_url)}">Open the full report</a></p>')
    if segment is not None:
        name, size, url = segment
        parts.append(
            f'<p><a href="{escape(dict(links)["Imported profiles"])}">Open the imported '
            "profiles</a>: search them by email, phone or Shopify customer id.</p>"
        )
        parts.append(
            f'<p>Ready-made segment: <a href="{escape(url)}">{escape(name)}</a>, '
            f"{size:,} profiles with a purchase or an order in the window.</p>"
        )
    for line in report.get("follow_up", ()):
        parts.append(f"<p>{escape(str(line))}</p>")
    parts.append(f'<p style="color:#5b6475">{escape(live)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
