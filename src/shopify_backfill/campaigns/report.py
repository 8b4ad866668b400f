"""The risk audit in words: CLI and preview text, the post-backfill offer.

One wording for every interface, so the merchant reads the same numbers and the same
fix in the wizard, in ``shopify-backfill audit`` and on the completion report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa

from shopify_backfill.campaigns.audit import AuditFix, RiskAudit, paused_by_audit

MODE_LABELS = {
    "silent": "silent backfill (default): historical data triggers nothing",
    "seed_compatible": "seed-compatible: historical data triggers campaigns unless start "
    "times or pauses prevent it",
}


def names_kind(name: str, kind: str) -> bool:
    """Whether ``name`` already says what it is ("Order placed canvas" is a Canvas), so a
    label beside it would only repeat the word ("Order placed canvas canvas")."""
    return re.search(rf"\b{re.escape(kind)}(es|s)?\b", name, flags=re.IGNORECASE) is not None


def audit_lines(audit: RiskAudit) -> list[str]:
    lines = [f"mode: {MODE_LABELS[audit.mode]}"]
    if not audit.window_read:
        lines.append(
            "no active action-based campaign or Canvas: nothing can trigger "
            "(the window was not dry-run)"
        )
        return lines
    lines.append(
        f"window read: {audit.customers_read} customers, {audit.orders_read} orders "
        f"({audit.changes} profile changes in a dry run)"
    )
    if audit.profiles is not None:
        lines.append(audit.profiles.sentence())
    if not audit.risks:
        lines.append("no active action-based campaign or Canvas matches the backfilled data")
        return lines
    lines.append(
        f"{len(audit.risks)} active campaign(s)/Canvas(es) match backfilled data; "
        f"messages the backfill will trigger now: {audit.predicted_messages}"
    )
    for risk in audit.risks:
        kind = "" if names_kind(risk.name, risk.kind) else f"{risk.kind}, "
        head = f"- {risk.name} [{kind}{risk.trigger_type}]"
        now = f"now: {risk.predicted.users} users / {risk.predicted.messages} messages"
        seed = (
            f"seed-compatible: {risk.seed_compatible.users} users / "
            f"{risk.seed_compatible.messages} messages"
        )
        matching = f"matching data: {risk.matching.messages} items"
        lines.append(f"{head}: {now}; {seed}; {matching}")
        if risk.fix is not None:
            lines.append(f"    fix: {risk.fix.describe()} ({risk.fix.reason})")
        elif risk.seed_compatible.messages == 0:
            lines.append("    safe: its start/end times already exclude the backfilled data")
    if audit.fixes:
        lines.append(
            f"apply every fix with: shopify-backfill audit --shop {audit.shop_domain} --apply"
        )
    return lines


def resume_offer(fixes: Sequence[AuditFix], shop_domain: str) -> str | None:
    """The completion report's offer to resume what the audit paused, or ``None``."""
    if not fixes:
        return None
    names = ", ".join(fix.campaign_name for fix in fixes)
    return (
        f"The risk audit paused {len(fixes)} campaign(s) for this backfill: {names}. "
        f"Resume exactly those with `shopify-backfill campaigns resume-paused --shop "
        f"{shop_domain}`."
    )


def resume_offer_for(
    conn: sa.Connection, workspace_id: int, connection_id: int, shop_domain: str
) -> str | None:
    """``resume_offer`` for a store, read from the audit's records."""
    return resume_offer(paused_by_audit(conn, workspace_id, connection_id), shop_domain)
