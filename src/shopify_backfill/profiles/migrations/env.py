"""Alembic entry point, driven programmatically by ``profiles.db.upgrade``.

The caller hands over an open connection (``config.attributes["connection"]``) so the
migration runs inside its transaction, under its lock; running ``alembic`` from the
command line is supported too, given ``-x url=...``.
"""

from __future__ import annotations

from alembic import context

from shopify_backfill.profiles.db import create_engine
from shopify_backfill.profiles.schema import metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        msg = "pass the store URL: alembic -x url=sqlite:///var/backfill.db upgrade head"
        raise SystemExit(msg)
    engine = create_engine(url)
    with engine.begin() as opened:
        _run(opened)
    engine.dispose()


_main()
