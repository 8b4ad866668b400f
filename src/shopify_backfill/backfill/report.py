"""The final report: what the backfill did, in figures a merchant can check.

Built once, in the completing transaction, from the running counts committed with each
batch and from the store's own records: the ledger and quarantine (so the data points
are the ones actually metered) and the backfill's sightings (so each Shopify customer and
each guest profile counts once, however many batches saw it). Stored as JSON on the
backfill row; ``render_report`` prints it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shopify_backfill.profiles.datapoints import datapoint_breakdown, datapoint_total
from shopify_backfill.profiles.quarantine import list_issues
from shopify_backfill.profiles.sightings import sighting_counts
from shopify_backfill.profiles.written import from_report, from_sightings

EXAMPLES_PER_REASON = 3
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|(?<==)[^\s;,)]+")


def reason_group(reason: str) -> str:
    """A reason without its quoted values, so "'abc' is not ..." and "'x1' is not ..." group."""
    return _QUOTED.sub("'…'", reason)


def build_report(
    conn: sa.Connection,
    *,
    backfill_id: int,
    workspace_id: int,
    shop_domain: str,
    window_start: datetime,
    window_end: datetime,
    mode: str | None,
    counts: dict[str, int],
    started_at: datetime | None,
    finished_at: datetime,
    attempts: int,
) -> dict[str, Any]:
    def c(name: str) -> int:
        return int(counts.get(name, 0))

    seen = sighting_counts(conn, workspace_id, backfill_id)
    issues = list_issues(conn, workspace_id, backfill_id=backfill_id)
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for issue in issues:
        key = (issue.outcome, issue.record_kind, reason_group(issue.reason))
        groups[key].append(issue.shopify_id)
    reasons = [
        {
            "outcome": outcome,
            "record_kind": kind,
            "reason": reason,
            "count": len(ids),
            # The oldest records (smallest ids), not the first met: the same report
            # however the run was split into batches or shards.
            "examples": sorted(ids, key=lambda gid: (len(gid), gid))[:EXAMPLES_PER_REASON],
        }
        for (outcome, kind, reason), ids in sorted(
            groups.items(), key=lambda item: (-len(item[1]), item[0])
        )
    ]
    duration = (finished_at - started_at).total_seconds() if started_at else None
    return {
        "backfill_id": backfill_id,
        "shop": shop_domain,
        "window": {"start": window_start.isoformat(), "end": window_end.isoformat()},
        "extraction_mode": mode,
        "profiles": from_sightings(seen).to_json(),
        "customers": {
            "created": seen.customers_created,
            "matched_by_alias": seen.customers_matched_by_alias,
            "matched_by_email": seen.customers_matched_by_email,
            "matched_by_phone": seen.customers_matched_by_phone,
            "updated": seen.customers_updated,
            "unchanged": seen.customers_unchanged,
            "quarantined": c("customers_quarantined"),
        },
        "guests": {
            "profiles_created": seen.guest_profiles_created,
            "matched_by_email": seen.guest_profiles_matched_by_email,
            "matched_by_phone": seen.guest_profiles_matched_by_phone,
        },
        "orders": {
            "imported": c("orders_imported"),
            "already_imported": c("orders_already_imported"),
            "skipped_test": c("orders_skipped_test"),
            "unattributable": c("orders_unattributable"),
            "quarantined": c("orders_quarantined"),
        },
        "events": c("events_written"),
        "purchases": c("purchases_written"),
        "data_points": {
            "total": datapoint_total(conn, workspace_id, backfill_id=backfill_id),
            "by_category": datapoint_breakdown(conn, workspace_id, backfill_id=backfill_id),
        },
        "issues": {
            "total": len(issues),
            "partial": sum(1 for issue in issues if issue.outcome == "partial"),
            "reasons": reasons,
        },
        "started_at": started_at.isoformat() if started_at else None,
        "finished_at": finished_at.isoformat(),
        "duration_ms": round(duration * 1000) if duration is not None else None,
        "attempts": attempts,
    }


def render_report(report: dict[str, Any]) -> str:
    """The report as aligned plain text (also the body of the completion email)."""
    customers = report["customers"]
    orders = report["orders"]
    guests = report["guests"]
    points = report["data_points"]
    duration_ms = report.get("duration_ms")
    lines = [
        f"Shopify historical backfill of {report['shop']}: completed",
        f"window          {report['window']['start']} -> {report['window']['end']}",
        f"extraction      {report['extraction_mode']}",
        f"duration        {duration_ms / 1000:.1f} s over {report['attempts']} attempt(s)"
        if duration_ms is not None
        else f"attempts        {report['attempts']}",
        "",
        from_report(report).sentence(),
        "",
        "customers (each Shopify customer once)",
        f"  created                 {customers['created']:>9}",
        f"  matched by alias        {customers['matched_by_alias']:>9}",
        f"  matched by email        {customers['matched_by_email']:>9}",
        f"  matched by phone        {customers['matched_by_phone']:>9}",
        f"    of which updated      {customers['updated']:>9}",
        f"    of which unchanged    {customers['unchanged']:>9}",
        f"  quarantined             {customers['quarantined']:>9}",
        "guest-order profiles (each once)",
        f"  created                 {guests['profiles_created']:>9}",
        f"  matched by email        {guests['matched_by_email']:>9}",
        f"  matched by phone        {guests['matched_by_phone']:>9}",
        "orders",
        f"  imported                {orders['imported']:>9}",
        f"  already imported        {orders['already_imported']:>9}",
        f"  skipped (test orders)   {orders['skipped_test']:>9}",
        f"  unattributable          {orders['unattributable']:>9}",
        f"  quarantined             {orders['quarantined']:>9}",
        f"events (shopify_created_order) {report['events']:>9}",
        f"purchases                      {report['purchases']:>9}",
        f"data points                    {points['total']:>9}",
    ]
    for category, amount in sorted(points["by_category"].items()):
        lines.append(f"  {category:<28} {amount:>9}")
    lines.extend(_delivery_lines(report.get("delivery")))
    for line in report.get("follow_up", ()):
        lines.extend(("", line))
    issues = report["issues"]
    if issues["reasons"]:
        lines.append("")
        lines.append(f"issues ({issues['total']}; records not imported or imported in part)")
        for group in issues["reasons"]:
            examples = ", ".join(group["examples"])
            lines.append(
                f"  {group['count']:>5} x {group['outcome']} {group['record_kind']}: "
                f"{group['reason']} (e.g. {examples})"
            )
    return "\n".join(lines)


def _delivery_lines(delivery: dict[str, Any] | None) -> list[str]:
    """Where the data went when not the embedded store, and what may not have arrived."""
    if not delivery:
        return []
    target = delivery["destination"]
    sent = delivery["sent"]
    uncertain = delivery["uncertain"]
    rejected = delivery["rejected"]
    lines = [
        "",
        f"delivered to Braze ({target['name']}, {target['rest_endpoint']})",
        f"  requests accepted       {sent['requests']:>9}"
        f"   ({delivery['queued_requests']} of them queued by Braze)",
        f"  attribute objects       {sent['attributes']:>9}",
        f"  events                  {sent['events']:>9}",
        f"  purchases               {sent['purchases']:>9}",
        f"  object errors           {delivery['object_errors']:>9}",
    ]
    for example in delivery["object_error_examples"][:5]:
        lines.append(
            f"    request {example['request']} {example['array']}[{example['index']}]: "
            f"{example['type']}"
        )
    if rejected["requests"]:
        lines.append(
            f"  refused by Braze        {rejected['requests']:>9} requests "
            f"({rejected['events']} events, {rejected['purchases']} purchases)"
        )
    if uncertain["requests"]:
        lines.append(
            f"  in flight at a crash    {uncertain['requests']:>9} requests "
            f"({uncertain['events']} events, {uncertain['purchases']} purchases): Braze may "
            "or may not have them; not resent, so nothing is doubled"
        )
    return lines
