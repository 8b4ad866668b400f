"""The only place that turns Settings into concrete adapters (engine, cipher, ...).

Interfaces (CLI, web, workers) call ``build_services`` once and pass the result down;
nothing else creates engines or reads key files, so tests can build isolated services
side by side. Below this layer nobody knows ``Services`` itself: the job takes the
``JobServices`` protocol it defines (settings, engine, cipher), and the lower layers take
the one part they use.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopify_backfill.config import Settings
from shopify_backfill.errors import InputError
from shopify_backfill.profiles.connections import TokenCipher
from shopify_backfill.profiles.db import create_engine, upgrade
from shopify_backfill.profiles.schema import workspaces
from shopify_backfill.profiles.workspaces import create_workspace

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
        raise InputError(
            f"no workspace named {name!r}: no store is connected to it yet; connect one with "
            f"`shopify-backfill connect --shop STORE.myshopify.com --token shpat_...` (or "
            f"`--oauth`), adding `--workspace {name!r}` for a workspace other than the default"
        )
    return create_workspace(conn, name)
