"""Campaigns and Canvases, the trigger engine with start times, and the backfill risk audit.

The engine plugs into any loader as an after-batch hook (``trigger_hook``); the audit
predicts, exactly, what a backfill would trigger and applies the seed's fixes.
"""

from __future__ import annotations

from shopify_backfill.campaigns.audit import (
    AuditFix,
    CampaignRisk,
    Fix,
    RiskAudit,
    apply_fix,
    apply_fixes,
    audit_backfill,
    fix_choices,
    moved_by_audit,
    paused_by_audit,
    resume_paused_by_audit,
    undo_fix,
)
from shopify_backfill.campaigns.files import load_campaign_file, parse_campaign_set
from shopify_backfill.campaigns.mode import (
    RISK_MODES,
    RiskMode,
    parse_risk_mode,
    risk_mode,
    set_risk_mode,
)
from shopify_backfill.campaigns.model import (
    TRIGGER_TYPES,
    Campaign,
    CampaignSpec,
    TriggerType,
    parse_spec,
)
from shopify_backfill.campaigns.repository import (
    add_campaign,
    add_campaigns,
    get_campaign,
    list_campaigns,
    pause_campaign,
    resume_campaign,
    set_start,
)
from shopify_backfill.campaigns.triggers import (
    Policy,
    Reach,
    TriggeredMessage,
    outbox_reach,
    record_triggers,
    trigger_hook,
)

__all__ = [
    "RISK_MODES",
    "TRIGGER_TYPES",
    "AuditFix",
    "Campaign",
    "CampaignRisk",
    "CampaignSpec",
    "Fix",
    "Policy",
    "Reach",
    "RiskAudit",
    "RiskMode",
    "TriggerType",
    "TriggeredMessage",
    "add_campaign",
    "add_campaigns",
    "apply_fix",
    "apply_fixes",
    "audit_backfill",
    "fix_choices",
    "get_campaign",
    "list_campaigns",
    "load_campaign_file",
    "moved_by_audit",
    "outbox_reach",
    "parse_campaign_set",
    "parse_risk_mode",
    "parse_spec",
    "pause_campaign",
    "paused_by_audit",
    "record_triggers",
    "resume_campaign",
    "resume_paused_by_audit",
    "risk_mode",
    "set_risk_mode",
    "set_start",
    "trigger_hook",
    "undo_fix",
]
