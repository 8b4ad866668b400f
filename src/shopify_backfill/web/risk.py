"""The wizard's risk handling in the open: the workspace's risk mode and one fix per campaign.

Composed from the campaigns module's services (the same the CLI uses) and the backfill's
state: nothing here writes SQL. Every change is allowed only while this store's backfill
has not started: before it, a fix can be chosen, confirmed and undone; once it runs, the
mode and the fixes are what the run is judged under, and after it the paused campaigns
are resumed from the backfill page (``wizard.resume_campaigns``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.preview import choose_mode
from shopify_backfill.campaigns.audit import AuditFix, FixAction, apply_fix, undo_fix
from shopify_backfill.campaigns.mode import RiskMode, parse_risk_mode
from shopify_backfill.campaigns.model import Campaign
from shopify_backfill.campaigns.repository import list_campaigns
from shopify_backfill.errors import InputError
from shopify_backfill.web.accounts import Principal
from shopify_backfill.web.context import WebContext, utcnow
from shopify_backfill.web.errors import FieldError, NotFound
from shopify_backfill.web.stores import StoreView
from shopify_backfill.web.wizard import live_preflight, open_store, run_audit
from shopify_backfill.wiring.risk import switch_risk_mode

Choice = Literal["move_start", "pause", "leave"]
CHOICES: tuple[Choice, ...] = ("move_start", "pause", "leave")


def parse_mode(text: str) -> RiskMode:
    """The form's or the API's ``mode``, refused with the field named."""
    try:
        return parse_risk_mode(text)
    except InputError as error:
        raise FieldError(str(error), field="mode") from None


def parse_choice(text: str) -> Choice:
    for choice in CHOICES:
        if text == choice:
            return choice
    raise FieldError(
        "choose a fix: 'move_start' (move its start time to the connection), 'pause' (pause "
        "it during the backfill) or 'leave' (leave it as it is)",
        field="action",
    )


def switch_mode(context: WebContext, principal: Principal, store_id: int, mode: RiskMode) -> bool:
    """Switch the workspace's risk mode from this store's wizard; true when it changed."""
    _, row = open_store(context, principal, store_id)
    requests.refuse_unless_not_started(row)
    with context.services.engine.begin() as conn:
        return switch_risk_mode(
            conn,
            workspace_id=principal.workspace_id,
            mode=mode,
            actor=principal.email or "An API key",
            now=utcnow(),
        )


def campaign_of(context: WebContext, principal: Principal, campaign_id: int) -> Campaign:
    """One of the workspace's campaigns; another workspace's id is not found (404)."""
    with context.services.engine.connect() as conn:
        found = [c for c in list_campaigns(conn, principal.workspace_id) if c.id == campaign_id]
    if not found:
        raise NotFound(f"campaign {campaign_id} not found")
    return found[0]


@dataclass(frozen=True)
class Confirmation:
    """What choosing a fix will do, said before it is done."""

    store: StoreView
    campaign: Campaign
    choice: Choice

    @property
    def sentence(self) -> str:
        name, connected = self.campaign.name, _when(self.store.connected_at)
        if self.choice == "move_start":
            return (
                f"The start time of {name} moves from {_when(self.campaign.start_at)} to "
                f"{connected}, when {self.store.shop_domain} was connected. Every order and "
                "event the backfill writes is older, so none triggers it; it stays active for "
                "live data. You can undo this until the backfill starts."
            )
        if self.choice == "pause":
            return (
                f"{name} is paused now and stays paused during the backfill, so nothing the "
                "backfill writes triggers it; it sends nothing to anyone until it is resumed. "
                "You can undo this until the backfill starts, and resume it from the report "
                "once the backfill has completed."
            )
        return (
            f"{name} stays active with its start time unchanged: the backfilled data that "
            "matches its trigger will trigger it, as the audit predicts, and those messages "
            "cannot be taken back."
        )


def confirmation(
    context: WebContext, principal: Principal, store_id: int, campaign_id: int, choice: Choice
) -> Confirmation:
    store, row = open_store(context, principal, store_id)
    requests.refuse_unless_not_started(row)
    return Confirmation(store, campaign_of(context, principal, campaign_id), choice)


def apply_choice(
    context: WebContext, principal: Principal, store_id: int, campaign_id: int, choice: Choice
) -> AuditFix | None:
    """Apply one campaign's chosen fix after a fresh audit (``None`` for "leave it")."""
    store, row = open_store(context, principal, store_id)
    requests.refuse_unless_not_started(row)
    campaign_of(context, principal, campaign_id)
    if choice == "leave":
        return None
    action: FixAction = choice
    report = live_preflight(context, principal, store, row)
    audit = run_audit(
        context,
        workspace_id=principal.workspace_id,
        shop_domain=store.shop_domain,
        window=row.window,
        mode=choose_mode(context.services.settings, report.orders_in_window),
    )
    with context.services.engine.begin() as conn:
        return apply_fix(conn, audit, campaign_id, action, now=utcnow())


def undo(context: WebContext, principal: Principal, store_id: int, fix_id: int) -> AuditFix:
    """Take back one applied fix, only before the backfill starts (404 for a fix that is
    not this store's outstanding one)."""
    store, row = open_store(context, principal, store_id)
    requests.refuse_unless_not_started(row)
    with context.services.engine.begin() as conn:
        try:
            return undo_fix(conn, principal.workspace_id, store.id, fix_id, now=utcnow())
        except InputError:
            raise NotFound(f"fix {fix_id} not found among this store's applied fixes") from None


def _when(moment: datetime | None) -> str:
    return "no start time" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"
