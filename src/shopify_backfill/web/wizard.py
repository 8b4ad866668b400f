"""The wizard's services: preview with the risk audit, one-click fixes, start, resume.

Composed from the backfill and campaigns modules' public functions; nothing here decides
a state transition or predicts a trigger. Two things are the page's own: the audit runs
on ``dry_run_connection`` (a snapshot on SQLite), so the server keeps answering while it
reads the whole window, and the start requires the explicit "runs only once"
acknowledgement before the state machine is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from shopify_backfill.backfill import requests
from shopify_backfill.backfill.preview import (
    Preview,
    PreviewSection,
    choose_mode,
    reauthorize_url,
)
from shopify_backfill.backfill.runner import RunOptions
from shopify_backfill.backfill.states import COMPLETED, IN_PROGRESS
from shopify_backfill.backfill.status import read_status
from shopify_backfill.backfill.store import BackfillRow, get_backfill, owner_is_dead
from shopify_backfill.campaigns.audit import (
    AuditFix,
    FixAction,
    RiskAudit,
    apply_fixes,
    audit_backfill,
    fix_choices,
    moved_by_audit,
    paused_by_audit,
    resume_paused_by_audit,
)
from shopify_backfill.campaigns.mode import MODE_NAMES, MODE_SENTENCES, RiskMode, risk_mode
from shopify_backfill.campaigns.report import resume_offer
from shopify_backfill.campaigns.source import window_records
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.connections import load_connection
from shopify_backfill.profiles.db import dry_run_connection
from shopify_backfill.shopify.daily import OrdersPerDay, orders_per_day
from shopify_backfill.shopify.errors import ScopeError
from shopify_backfill.shopify.extract import ExtractionMode
from shopify_backfill.shopify.preflight import PreflightReport, run_preflight
from shopify_backfill.web.accounts import Principal
from shopify_backfill.web.charts import DayChart, day_chart
from shopify_backfill.web.context import WebContext, utcnow
from shopify_backfill.web.destinations import destination_id, destination_view
from shopify_backfill.web.errors import Conflict, FieldError, NotFound
from shopify_backfill.web.estimate import DurationEstimate, estimate_duration
from shopify_backfill.web.stores import StoreView, get_store
from shopify_backfill.window import Window
from shopify_backfill.wiring import make_preview
from shopify_backfill.wiring.risk import audit_section, backfill_id_of

RISK_KEY = "campaign_risk"


@dataclass(frozen=True)
class WizardPreview:
    store: StoreView
    backfill: BackfillRow
    preview: Preview
    risk: PreviewSection | None
    audit: RiskAudit | None
    duration: DurationEstimate
    fixes: tuple[AuditFix, ...]
    mode: RiskMode = "silent"
    orders_per_day: OrdersPerDay | None = None
    """Counted by Shopify when the preflight passed (see ``shopify.daily`` for the cost)."""

    @property
    def chart(self) -> DayChart | None:
        return day_chart(self.orders_per_day) if self.orders_per_day else None

    @property
    def can_start(self) -> bool:
        return self.preview.can_start

    @property
    def modes(self) -> list[dict[str, str]]:
        """Both risk modes in one plain sentence each, for the page's switch."""
        return [
            {"mode": mode, "name": MODE_NAMES[mode], "sentence": MODE_SENTENCES[mode]}
            for mode in MODE_NAMES
        ]

    def choices(self, campaign: dict[str, Any]) -> tuple[FixAction, ...]:
        """The fixes the page offers one audited campaign (its JSON), besides leaving it."""
        fix = campaign.get("fix")
        return fix_choices(fix["action"] if fix else None)

    def to_json(self) -> dict[str, Any]:
        payload = self.preview.to_json()
        payload["sections"] = [s for s in payload["sections"] if s["key"] != RISK_KEY]
        payload["store_id"] = self.store.id
        payload["backfill_id"] = self.backfill.id
        payload["estimated_duration"] = self.duration.to_json()
        payload["risk_audit"] = (
            None
            if self.risk is None
            else {
                "title": self.risk.title,
                "lines": list(self.risk.lines),
                "warning": self.risk.warning,
                **dict(self.risk.data),
            }
        )
        payload["applied_fixes"] = [fix.to_json() for fix in self.fixes]
        payload["risk_mode"] = {
            "mode": self.mode,
            "name": MODE_NAMES[self.mode],
            "sentence": MODE_SENTENCES[self.mode],
        }
        audit = payload["risk_audit"]
        if audit is not None and audit.get("campaigns") is not None:
            audit["campaigns"] = [  # copies: the section's own data stays as the audit made it
                {**c, "choices": [*self.choices(c), "leave"] if c["fix"] else []}
                for c in audit["campaigns"]
            ]
        payload["orders_per_day"] = (
            None
            if self.orders_per_day is None
            else {
                "exact": self.orders_per_day.exact,
                "days": [
                    {"start": d.start.isoformat(), "end": d.end.isoformat(), "orders": d.orders}
                    for d in self.orders_per_day.days
                ],
            }
        )
        payload.pop("reauthorize_url", None)  # the page's own re-authorization is session-bound
        return payload


def open_store(
    context: WebContext, principal: Principal, store_id: int
) -> tuple[StoreView, BackfillRow]:
    with context.services.engine.begin() as conn:
        store = get_store(conn, principal.workspace_id, store_id)
        row = requests.open_backfill(
            conn, workspace_id=principal.workspace_id, shop_domain=store.shop_domain, now=utcnow()
        )
    return store, row


def _outstanding_fixes(
    context: WebContext, workspace_id: int, store_id: int
) -> tuple[AuditFix, ...]:
    with context.services.engine.connect() as conn:
        return (
            *paused_by_audit(conn, workspace_id, store_id),
            *moved_by_audit(conn, workspace_id, store_id),
        )


def run_audit(
    context: WebContext,
    *,
    workspace_id: int,
    shop_domain: str,
    window: Window,
    mode: ExtractionMode,
) -> RiskAudit:
    """The exact risk audit of the window, on a snapshot of the store (see module doc)."""
    services = context.services
    with services.engine.connect() as conn:
        connection = load_connection(
            conn, services.cipher, workspace_id=workspace_id, shop_domain=shop_domain
        )
    with (
        connection.client(transport=context.transport) as client,
        dry_run_connection(services.engine) as conn,
    ):
        return audit_backfill(
            conn,
            workspace_id=workspace_id,
            connection_id=connection.id,
            backfill_id=backfill_id_of(conn, workspace_id, shop_domain),
            batches=window_records(client, window, mode, services.settings),
        )


def build_wizard(context: WebContext, principal: Principal, store_id: int) -> WizardPreview:
    """Window, counts, data points, duration and the risk audit, before anything is written."""
    store, row = open_store(context, principal, store_id)
    preview = make_preview(context.services, row, RunOptions(transport=context.transport))
    risk = next((s for s in preview.sections if s.key == RISK_KEY), None)
    audit = None
    if risk is None and preview.can_start:  # the page's own audit when none was provided
        audit = run_audit(
            context,
            workspace_id=principal.workspace_id,
            shop_domain=store.shop_domain,
            window=preview.window,
            mode=preview.mode,
        )
        risk = audit_section(audit)
    report = preview.preflight
    daily = (
        count_orders_per_day(context, principal.workspace_id, store.shop_domain, preview.window)
        if report.ok
        else None
    )
    with context.services.engine.connect() as conn:
        mode = risk_mode(conn, principal.workspace_id)
        duration = estimate_duration(
            conn,
            mode=preview.mode,
            customers=report.customers_in_window or 0,
            orders=report.orders_in_window or 0,
        )
    return WizardPreview(
        store=store,
        backfill=row,
        preview=preview,
        risk=risk,
        audit=audit,
        duration=duration,
        fixes=_outstanding_fixes(context, principal.workspace_id, store.id),
        mode=mode,
        orders_per_day=daily,
    )


def count_orders_per_day(
    context: WebContext, workspace_id: int, shop_domain: str, window: Window
) -> OrdersPerDay:
    """The chart's counts, asked of Shopify through the connection's paced client."""
    services = context.services
    with services.engine.connect() as conn:
        connection = load_connection(
            conn, services.cipher, workspace_id=workspace_id, shop_domain=shop_domain
        )
    with connection.client(transport=context.transport) as client:
        return orders_per_day(client, window.start, window.end)


def apply_audit_fixes(context: WebContext, principal: Principal, store_id: int) -> list[AuditFix]:
    """Audit again (campaigns may have changed since the preview) and apply every fix."""
    store, row = open_store(context, principal, store_id)
    requests.refuse_unless_not_started(row)
    report = live_preflight(context, principal, store, row)
    audit = run_audit(
        context,
        workspace_id=principal.workspace_id,
        shop_domain=store.shop_domain,
        window=row.window,
        mode=choose_mode(context.services.settings, report.orders_in_window),
    )
    with context.services.engine.begin() as conn:
        return apply_fixes(conn, audit)


def start_backfill(
    context: WebContext,
    principal: Principal,
    store_id: int,
    *,
    enable: bool,
    acknowledge_runs_once: bool,
    destination: str | None = None,
) -> BackfillRow:
    """Next: move ``not_started -> in_progress`` (one caller wins) and queue the run.

    ``destination`` names one of the workspace's Braze destinations; ``None`` keeps the
    embedded profile store.
    """
    if not enable:
        raise FieldError(
            "turn on 'Backfill historical Shopify data' to start the backfill", field="enable"
        )
    if not acknowledge_runs_once:
        raise FieldError(
            "confirm that you understand the backfill runs only once for this store",
            field="acknowledge_runs_once",
        )
    store, row = open_store(context, principal, store_id)
    braze_id = None
    if destination is not None:
        with context.services.engine.connect() as conn:
            braze_id = destination_id(conn, principal.workspace_id, destination, store_id=store.id)
    requests.refuse_unless_not_started(row)
    if store.missing_scopes:
        raise ScopeError(
            f"reauthorize access first: the grant of {store.shop_domain} lacks "
            f"{', '.join(store.missing_scopes)}",
            missing=store.missing_scopes,
        )
    live_preflight(context, principal, store, row)
    with context.services.engine.begin() as conn:
        started = requests.start(conn, row, now=utcnow(), braze_destination_id=braze_id)
    context.jobs.submit(started.id)
    return started


def live_preflight(
    context: WebContext, principal: Principal, store: StoreView, row: BackfillRow
) -> PreflightReport:
    """The stored grant can be stale (scopes revoked in Shopify): ask Shopify itself."""
    services = context.services
    with services.engine.connect() as conn:
        connection = load_connection(
            conn,
            services.cipher,
            workspace_id=principal.workspace_id,
            shop_domain=store.shop_domain,
        )
    with connection.client(transport=context.transport) as client:
        report = run_preflight(
            client,
            token=connection.token,
            window_start=row.window.start,
            window_end=row.window.end,
            reauthorize_url=reauthorize_url(
                services.settings, store.shop_domain, connection.api_url
            ),
            transport=context.transport,
        )
    if report.missing_scopes:
        raise ScopeError(
            f"reauthorize access first: Shopify reports that the grant of {store.shop_domain} "
            f"lacks {', '.join(report.missing_scopes)}",
            missing=report.missing_scopes,
        )
    if report.problems:
        raise InputError("cannot start: " + "; ".join(report.problems))
    return report


def backfill_of(conn: sa.Connection, principal: Principal, backfill_id: int) -> BackfillRow:
    try:
        return get_backfill(conn, backfill_id, workspace_id=principal.workspace_id)
    except InputError:
        raise NotFound(f"backfill {backfill_id} not found") from None


def resumable(context: WebContext, row: BackfillRow) -> bool:
    """Failed, or in progress with nobody alive running it (the web process restarted)."""
    if row.status == "failed":
        return True
    if row.status != IN_PROGRESS or context.jobs.running_here(row.id):
        return False
    now = utcnow()
    if row.lease_owner is None:
        stale = row.progress.updated_at is None or now - row.progress.updated_at > timedelta(
            seconds=context.services.settings.lease_seconds
        )
        return stale
    expired = row.lease_expires_at is not None and row.lease_expires_at <= now
    return expired or owner_is_dead(row.lease_owner)


def resume_backfill(context: WebContext, principal: Principal, backfill_id: int) -> BackfillRow:
    """Continue from the last checkpoint (same window); never a second backfill."""
    with context.services.engine.begin() as conn:
        row = backfill_of(conn, principal, backfill_id)
        if row.status == IN_PROGRESS and not resumable(context, row):
            raise Conflict(f"the backfill of {row.shop_domain} is running; follow its progress")
        resumed = requests.resume(conn, row, now=utcnow())
    context.jobs.submit(resumed.id)
    return resumed


def status_of(context: WebContext, principal: Principal, backfill_id: int) -> dict[str, Any]:
    """The backfill's live status and report, plus what the audit paused for it."""
    with context.services.engine.connect() as conn:
        row = backfill_of(conn, principal, backfill_id)
        view = read_status(conn, backfill_id, workspace_id=principal.workspace_id)
        paused = (
            paused_by_audit(conn, principal.workspace_id, row.connection_id)
            if row.connection_id is not None
            else []
        )
        view["destination"] = destination_view(conn, row)
    for email in view.get("emails", []):
        email.pop("delivered_to", None)  # a path or server on this host: not the merchant's concern
    view["store_id"] = row.connection_id
    view["resumable"] = resumable(context, row)
    view["paused_by_audit"] = [fix.to_json() for fix in paused]
    view["resume_offer"] = (
        resume_offer(paused, row.shop_domain) if row.status == COMPLETED else None
    )
    return view


def resume_campaigns(context: WebContext, principal: Principal, backfill_id: int) -> list[AuditFix]:
    """Resume exactly the campaigns the audit paused, once the backfill has completed."""
    with context.services.engine.begin() as conn:
        row = backfill_of(conn, principal, backfill_id)
        if row.status != COMPLETED or row.connection_id is None:
            raise Conflict(
                f"the backfill of {row.shop_domain} is {row.status_label}; resuming the paused "
                "campaigns now would let its historical data trigger them"
            )
        return resume_paused_by_audit(conn, principal.workspace_id, row.connection_id)
