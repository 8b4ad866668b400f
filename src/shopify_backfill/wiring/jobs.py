"""The job as every interface runs it: its plug-ins chosen once, its preview built once.

The CLI, the partner page, the demo and the workers all start runs with ``job_options``
and show ``make_preview``; this is where the campaigns (trigger engine, risk audit,
resume offer) and the destination are plugged into the job, which knows them only by the
shapes in ``backfill.ports``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
import sqlalchemy as sa
from pydantic import SecretStr

from shopify_backfill.backfill.ports import AfterBatchHook, CompletionNote, PacerFactory
from shopify_backfill.backfill.preview import Preview, SectionProvider, build_preview
from shopify_backfill.backfill.runner import RunOptions
from shopify_backfill.backfill.store import BackfillRow
from shopify_backfill.campaigns import trigger_hook
from shopify_backfill.campaigns.report import resume_offer_for
from shopify_backfill.clock import Clock
from shopify_backfill.destinations import EmbeddedDestination
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.connections import load_connection
from shopify_backfill.profiles.db import dry_run_connection
from shopify_backfill.profiles.schema import shop_connections
from shopify_backfill.shopify.errors import ScopeError
from shopify_backfill.shopify.pacing import Pacer
from shopify_backfill.shopify.shared_pacing import RedisCostPacer, bucket_key
from shopify_backfill.wiring.destinations import braze_destinations
from shopify_backfill.wiring.risk import risk_section_provider
from shopify_backfill.wiring.services import Services


def after_batch_hooks(services: Services) -> Sequence[AfterBatchHook]:
    """What runs inside each batch's transaction: the campaign trigger engine."""
    del services
    return (trigger_hook,)


def completion_notes(services: Services) -> Sequence[CompletionNote]:
    """Follow-up lines for the completion report: resume what the risk audit paused."""
    del services

    def resume_offer(conn: sa.Connection, workspace_id: int, connection_id: int) -> str | None:
        shop = conn.execute(
            sa.select(shop_connections.c.shop_domain).where(shop_connections.c.id == connection_id)
        ).scalar_one()
        return resume_offer_for(conn, workspace_id, connection_id, shop)

    return (resume_offer,)


def preview_sections(
    services: Services, options: RunOptions | None = None
) -> Sequence[SectionProvider]:
    """Extra preview sections: the exact campaign risk audit, reaching Shopify like the run."""
    return (
        risk_section_provider(
            services,
            transport=options.transport if options else None,
            clock=options.clock if options else None,
            bulk_policy=options.bulk_policy if options else None,
        ),
    )


def shared_pacer_factory(redis_url: str | None) -> PacerFactory | None:
    """One bucket mirror per shop in Redis for every worker, or ``None``: pace in process."""
    if redis_url is None:
        return None
    client = redis.Redis.from_url(redis_url, socket_timeout=10)

    def factory(shop_domain: str, token: SecretStr, clock: Clock) -> Pacer:
        key = bucket_key(shop_domain, token.get_secret_value())
        return RedisCostPacer(client, key, clock)

    return factory


def job_options(services: Services, **overrides: Any) -> RunOptions:
    """The run options the CLI, the demo, the web and the workers use."""
    values: dict[str, Any] = {
        "destination": EmbeddedDestination(),
        "destinations": braze_destinations(services),
        "hooks": tuple(after_batch_hooks(services)),
        "completion_notes": tuple(completion_notes(services)),
        "pacer": shared_pacer_factory(services.settings.pacing_redis_url),
    }
    values.update(overrides)
    return RunOptions(**values)


def make_preview(
    services: Services, row: BackfillRow, options: RunOptions | None = None
) -> Preview:
    """Preflight, counts, estimate and extra sections for ``row``'s store.

    Runs on ``dry_run_connection``: the risk audit's dry run can last as long as the
    backfill, and on SQLite a transaction on the live file would hold its only write lock
    all that time, so every other writer (another store's running backfill, the web's
    sessions) would wait and then fail.
    """
    transport = options.transport if options else None
    with dry_run_connection(services.engine) as conn:
        connection = load_connection(
            conn, services.cipher, workspace_id=row.workspace_id, shop_domain=row.shop_domain
        )
        with connection.client(transport=transport) as client:
            return build_preview(
                conn,
                services.settings,
                client,
                workspace_id=row.workspace_id,
                connection_id=connection.id,
                shop_domain=row.shop_domain,
                api_url=connection.api_url,
                token=connection.token,
                window=row.window,
                status=row.status,
                transport=transport,
                sections=preview_sections(services, options),
            )


def refuse_missing_scopes(preview: Preview) -> None:
    """Starting needs every scope and no access problem; the error says how to fix it."""
    report = preview.preflight
    if report.missing_scopes:
        raise ScopeError(
            f"cannot start: the store's grant lacks {', '.join(report.missing_scopes)} "
            f"(the 90-day window needs read_all_orders); re-authorize at "
            f"{report.reauthorize_url} then run start again",
            missing=report.missing_scopes,
            reauth_url=report.reauthorize_url,
        )
    if report.problems:
        raise InputError("cannot start: " + "; ".join(report.problems))
