"""The only place that turns Settings into concrete adapters (engine, cipher, ...).

Interfaces (CLI, web, workers) call ``build_services`` once and pass the result down;
nothing else creates engines or reads key files, so tests can build isolated services
side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopify_backfill.backfill.preview import SectionProvider
from shopify_backfill.backfill.runner import AfterBatchHook, CompletionNote, RunOptions
from shopify_backfill.campaigns import trigger_hook
from shopify_backfill.campaigns.report import resume_offer_for, risk_section_provider
from shopify_backfill.config import Settings
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.db import create_engine, upgrade
from shopify_backfill.profiles.schema import shop_connections, workspaces
from shopify_backfill.profiles.workspaces import create_workspace
from shopify_backfill.shopify.connections import TokenCipher

DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    cipher: TokenCipher

    def dispose(self) -> None:
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    """Engine migrated to the latest schema, and the token cipher."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url())
    upgrade(engine)
    return Services(settings=settings, engine=engine, cipher=TokenCipher.from_settings(settings))


def workspace_id_by_name(conn: sa.Connection, name: str, *, create: bool = True) -> int:
    """The id of the (oldest) workspace called ``name``; the CLI works in one by name."""
    found = conn.execute(
        sa.select(workspaces.c.id).where(workspaces.c.name == name).order_by(workspaces.c.id)
    ).first()
    if found is not None:
        return int(found[0])
    if not create:
        raise InputError(f"no workspace named {name!r}")
    return create_workspace(conn, name)


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
