"""The campaign risk audit as a preview section: where the campaigns meet the job.

Also the switch of the workspace's risk mode, which needs both sides: the campaigns
store the mode, and only the backfills know whether one is running (the engine reads
the mode per batch, so a switch mid-run would change the run halfway).

The preview (``backfill``) knows sections only as ``SectionProvider`` callables, and the
audit (``campaigns``) knows nothing of previews; this adapter, in the composition layer,
runs the audit with the same Shopify reader the run will use and words it as a section.
"""

from __future__ import annotations

from datetime import datetime

import httpx
import sqlalchemy as sa

from shopify_backfill.backfill.errors import BackfillStateError
from shopify_backfill.backfill.notify import post_notification
from shopify_backfill.backfill.preview import Preview, PreviewSection, SectionProvider
from shopify_backfill.backfill.states import IN_PROGRESS
from shopify_backfill.backfill.store import find_backfill, list_backfills
from shopify_backfill.campaigns.audit import RiskAudit, audit_backfill
from shopify_backfill.campaigns.mode import MODE_NAMES, MODE_SENTENCES, RiskMode, set_risk_mode
from shopify_backfill.campaigns.report import audit_lines
from shopify_backfill.campaigns.source import window_records
from shopify_backfill.clock import Clock
from shopify_backfill.profiles.connections import load_connection
from shopify_backfill.shopify.bulk import BulkPolicy
from shopify_backfill.wiring.services import Services


def audit_section(audit: RiskAudit) -> PreviewSection:
    """The preview's risk block; highlighted when the backfill would trigger messages."""
    return PreviewSection(
        key="campaign_risk",
        title="Campaign risk audit",
        lines=tuple(audit_lines(audit)),
        data=audit.to_json(),
        warning=audit.predicted_messages > 0,
    )


def backfill_id_of(conn: sa.Connection, workspace_id: int, shop_domain: str) -> int | None:
    """The store's backfill row, if one exists, so the dry run loads as the run will."""
    row = find_backfill(conn, workspace_id, shop_domain)
    return row.id if row is not None else None


def risk_section_provider(
    services: Services,
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Clock | None = None,
    bulk_policy: BulkPolicy | None = None,
) -> SectionProvider:
    """A preview section provider running the exact audit (one read of the window).

    Runs only before the backfill starts: afterwards the data is in the store and the
    audit has nothing left to predict.
    """

    def provide(conn: sa.Connection, preview: Preview) -> PreviewSection | None:
        if preview.status != "not_started":
            return None
        if not preview.preflight.ok:
            return PreviewSection(
                key="campaign_risk",
                title="Campaign risk audit",
                lines=("unavailable until the store's access problems above are fixed",),
            )
        connection = load_connection(
            conn,
            services.cipher,
            workspace_id=preview.workspace_id,
            shop_domain=preview.shop_domain,
        )
        with connection.client(transport=transport, clock=clock) as client:
            audit = audit_backfill(
                conn,
                workspace_id=preview.workspace_id,
                connection_id=preview.connection_id,
                backfill_id=backfill_id_of(conn, preview.workspace_id, preview.shop_domain),
                batches=window_records(
                    client,
                    preview.window,
                    preview.mode,
                    services.settings,
                    clock=clock,
                    bulk_policy=bulk_policy,
                ),
            )
        return audit_section(audit)

    return provide


def switch_risk_mode(
    conn: sa.Connection, *, workspace_id: int, mode: RiskMode, actor: str, now: datetime
) -> bool:
    """Switch the workspace's risk mode and post it to the bell; true when it changed.

    Refused while any backfill of the workspace is in progress: its remaining batches
    would be judged under another mode than the audit the merchant accepted. ``actor``
    (an email, "the CLI") says who switched, in the notification.
    """
    running = [row for row in list_backfills(conn, workspace_id) if row.status == IN_PROGRESS]
    if running:
        shops = ", ".join(row.shop_domain for row in running)
        raise BackfillStateError(
            f"the risk mode cannot change while a backfill is in progress ({shops}): the "
            "rest of that run would be judged under another mode; switch once it has finished"
        )
    if not set_risk_mode(conn, workspace_id, mode):
        return False
    post_notification(
        conn,
        workspace_id=workspace_id,
        backfill_id=None,
        kind="risk_mode",
        level="info",
        title=f"Risk mode: {MODE_NAMES[mode]}",
        body=f"{actor} switched the workspace's risk mode. {MODE_SENTENCES[mode]}",
        now=now,
    )
    return True
